"""Train an NTM (or the stacked-LSTM baseline) on one of the paper's tasks.

    python -m experiments.train --task copy                       # the task's default config
    python -m experiments.train --task copy --seeds 5 --steps 3000
    python -m experiments.train --task copy --workdir runs/copy --resume

Every flag is a field of ``experiments.config.TrainConfig``; ``--help`` lists them. A run directory holds
``config.json``, ``metrics.jsonl`` (training), ``eval.jsonl`` (evaluations), ``summary.json``, and Orbax
checkpoints under ``checkpoints/``. K seeds (``--seeds K``) are trained in one compiled program: the
parameters, optimiser states and batches carry a leading seed axis and the step is ``vmap``-ed over it.
The devices (``--num-devices``; every process's, for a run of several processes, see
``experiments.distributed``) form a mesh of a "seed" axis, over which the seeds are spread, and a "data"
axis, over which each seed's batch is sharded.

This module is the model, the optimiser, the compiled steps, the data of a run (``Trainer``) and the loop
(``train``); the run directory is ``experiments.rundir``, the logs ``experiments.runlog``, checkpoints
``experiments.checkpoints`` and convergence ``experiments.convergence``.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import math
import os
import sys
import time
import zlib
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

import ntm
import tasks
from experiments import checkpoints, distributed
from experiments import config as config_lib
from experiments.config import TrainConfig
from experiments.convergence import Convergence
from experiments.rundir import RunDir, read_jsonl
from experiments.runlog import RunLog, StopRequest, run_summary, skipped_updates
from tasks import buckets as buckets_lib
from tasks import metrics

# Evaluation batches are drawn from this seed (and the split's index), the same for every run.
EVAL_SEED = 10**6


class TrainState(NamedTuple):
    """Training state; every leaf of the params, best params and optimiser state has a seed axis [K, ...]."""

    step: jax.Array  # [], steps done
    params: dict
    opt_state: optax.OptState
    best_params: dict  # per seed, the params of the evaluation with the lowest cost so far
    best_cost: jax.Array  # [K], that evaluation's cost (bits per sequence); inf before any


# --------------------------------------------------------------------------------------------------
# Model, optimiser, devices


# The NTMSpec and DNCSpec fields set from the TrainConfig field of the same name.
NTM_OPTIONS = tuple(
    f.name for f in dataclasses.fields(ntm.core.NTMSpec) if f.name not in ("output_size", "dtype")
)
DNC_OPTIONS = tuple(f.name for f in dataclasses.fields(ntm.DNCSpec) if f.name not in ("output_size", "dtype"))


def build_model(config: TrainConfig, task: tasks.Task) -> ntm.Sequence:
    """The whole-sequence model the config asks for."""
    dtype = jnp.bfloat16 if config.dtype == "bfloat16" else jnp.float32
    if config.model == "lstm":
        cell = ntm.StackedLSTMCell(
            output_size=task.output_size,
            hidden_size=config.lstm_hidden_size,
            num_layers=config.lstm_layers,
            clip_value=config.clip_value,
            clip_mode=config.clip_mode,
            dtype=dtype,
        )
    else:
        # Every option of the NTM's and the DNC's specs is a TrainConfig field of the same name
        # (tests/test_train.py).
        cell_type, names = (ntm.DNCCell, DNC_OPTIONS) if config.model == "dnc" else (ntm.NTMCell, NTM_OPTIONS)
        options = {name: getattr(config, name) for name in names}
        cell = cell_type(output_size=task.output_size, dtype=dtype, **options)
    return ntm.Sequence(cell, remat=config.remat)


def learning_rate(config: TrainConfig) -> optax.Schedule | float:
    """The constant learning rate, or a schedule: with ``lr_half_life`` one that halves every so many
    sequences, ``lr(update) = lr_0 * max(0.5 ** (update * batch_size / half_life), 0.1)``; with
    ``lr_drops`` one that is constant between drops, ``lr(update) = LR_k`` from update ``S_k // batch_size``
    on (``lr_0`` before the first).

    A schedule counts the updates the optimiser applied (a skipped non-finite one does not count).
    """
    drops = config_lib.parse_lr_drops(config.lr_drops)
    if drops:
        starts = jnp.asarray([sequences // config.batch_size for sequences, _ in drops])
        rates = jnp.asarray([config.learning_rate, *(rate for _, rate in drops)], jnp.float32)
        return lambda count: rates[jnp.searchsorted(starts, count, side="right")]
    if not config.lr_half_life:
        return config.learning_rate
    half_life_updates = config.lr_half_life / config.batch_size

    def schedule(count):
        return config.learning_rate * jnp.maximum(0.5 ** (count / half_life_updates), 0.1)

    return schedule


# Updates whose gradients hold a NaN or an infinity are skipped (optax.apply_if_finite), however many in a
# row: in float32 the backward pass through the weighting recurrence (interpolate, shift, sharpen) can
# overflow where the float64 gradient is small (a saved n-gram state: largest component 3e19 in float32,
# 7.8 in float64), and one such step used to turn a seed's parameters into NaN for good. Each seed's
# count of skipped updates is logged ("skipped_updates").
NEVER_GIVE_UP = 2**31 - 1


def build_optimizer(config: TrainConfig) -> optax.GradientTransformation:
    """Clipping (elementwise, then global norm) followed by Adam or Graves' RMSProp; updates with a
    non-finite gradient are skipped."""
    lr = learning_rate(config)
    chain = []
    if config.clip_elementwise > 0:
        chain.append(optax.clip(config.clip_elementwise))
    if config.clip_global_norm > 0:
        chain.append(optax.clip_by_global_norm(config.clip_global_norm))
    if config.optimizer == "adam":
        chain.append(optax.adam(lr))
    else:
        # Graves (2013): centred RMSProp with momentum, epsilon 1e-4 inside the square root.
        chain.append(
            optax.rmsprop(
                lr,
                decay=config.rmsprop_decay,
                eps=1e-4,
                centered=True,
                momentum=config.momentum,
            )
        )
    return optax.apply_if_finite(optax.chain(*chain), max_consecutive_errors=NEVER_GIVE_UP)


def make_mesh(num_devices: int, seeds: int = 1) -> Mesh:
    """A ("seed", "data") mesh over the first ``num_devices`` devices (0: all; in a run of several
    processes, all of every process's).

    The seed axis is as long as the largest number of devices that divides both the device count and
    ``seeds`` (so 2 seeds on 2 devices run one seed per device); the rest of the devices shard the batch.
    """
    devices = jax.devices()
    if num_devices > len(devices):
        raise ValueError(f"num_devices={num_devices}, but only {len(devices)} device(s) are visible")
    if jax.process_count() > 1 and num_devices not in (0, len(devices)):
        raise ValueError(
            f"num_devices={num_devices}: a run of {jax.process_count()} processes uses all "
            f"{len(devices)} devices of all of them (--num-devices 0)"
        )
    devices = devices[: num_devices or len(devices)]
    return Mesh(np.array(devices).reshape(mesh_shape(len(devices), seeds)), ("seed", "data"))


def make_host_devices(wanted: int) -> None:
    """Ask JAX's CPU backend for ``wanted`` devices (as ``JAX_NUM_CPU_DEVICES`` would) where it would make
    fewer, so that ``--num-devices 2`` alone spreads a run over a 2-core CPU's cores.

    Only possible before JAX starts its backends (a program's first computation); after that the count
    stays as it is, and :func:`make_mesh` names it if it is too small. Other platforms' devices are not
    touched.
    """
    if wanted > 1 and jax.config.jax_num_cpu_devices < wanted:
        try:
            jax.config.update("jax_num_cpu_devices", wanted)
        except RuntimeError:  # the backend has started: make_mesh's check says how many there are
            pass


def mesh_shape(devices: int, seeds: int) -> tuple[int, int]:
    """``(seed devices, data devices)`` of :func:`make_mesh`'s mesh over ``devices`` devices: the largest
    number that divides both ``devices`` and ``seeds`` on the seed axis, the rest on the data axis."""
    seed_devices = math.gcd(devices, seeds)
    return seed_devices, devices // seed_devices


def state_shardings(mesh: Mesh, state: TrainState):
    """The step count replicated; every other leaf (all with a leading seed axis) split over "seed"."""
    return jax.tree.map(lambda x: NamedSharding(mesh, P() if np.ndim(x) == 0 else P("seed")), state)


# --------------------------------------------------------------------------------------------------
# The compiled steps: plain functions of (state or params, batch), built once per run


def sequence_metrics(model: ntm.Sequence, params, batch: tasks.Batch):
    """One seed's mean cost (bits) and bit errors per sequence of ``batch``."""
    logits = model.apply({"params": params}, batch.inputs).astype(jnp.float32)
    bits = metrics.bits_per_sequence(logits, batch.targets, batch.mask)
    errors = metrics.bit_errors_per_sequence(logits, batch.targets, batch.mask)
    return jnp.mean(bits), jnp.mean(errors)


def make_train_step(model: ntm.Sequence, optimizer: optax.GradientTransformation, out_shardings=None):
    """``(state, batch) -> (state, stats)``: one update of every seed, jitted (the state is donated).

    ``out_shardings``: of ``(state, stats)``, for a run over a mesh (default: as XLA infers).
    """

    def loss(params, batch):
        cost, errors = sequence_metrics(model, params, batch)
        # Mean over sequences of the cross-entropy in nats summed over the scored bits.
        return cost * math.log(2.0), (cost, errors)

    def one_seed(params, opt_state, batch):
        grads, (cost, errors) = jax.grad(loss, has_aux=True)(params, batch)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        params = optax.apply_updates(params, updates)
        stats = {"cost": cost, "bit_errors": errors, "grad_norm": optax.tree.norm(grads)}
        return params, opt_state, {**stats, "skipped_updates": skipped_updates(opt_state)}

    def step(state: TrainState, batch: tasks.Batch):
        params, opt_state, stats = jax.vmap(one_seed)(state.params, state.opt_state, batch)
        return state._replace(step=state.step + 1, params=params, opt_state=opt_state), stats

    options = ntm.compiler_options()
    if out_shardings is None:
        return jax.jit(step, donate_argnums=0, compiler_options=options)
    return jax.jit(step, donate_argnums=0, compiler_options=options, out_shardings=out_shardings)


def make_eval_step(model: ntm.Sequence, out_shardings=None):
    """``(params, batch) -> (cost [K], bit_errors [K])``: every seed's params on one batch, jitted."""
    one_seed = functools.partial(sequence_metrics, model)
    options = ntm.compiler_options()
    if out_shardings is None:
        return jax.jit(jax.vmap(one_seed, in_axes=(0, None)), compiler_options=options)
    return jax.jit(
        jax.vmap(one_seed, in_axes=(0, None)), compiler_options=options, out_shardings=out_shardings
    )


@functools.partial(jax.jit, donate_argnums=0)
def _keep_best(state: TrainState, cost: jax.Array) -> TrainState:
    better = cost < state.best_cost  # [K]

    def pick(new, old):
        return jnp.where(better.reshape((-1,) + (1,) * (new.ndim - 1)), new, old)

    best = jax.tree.map(pick, state.params, state.best_params)
    return state._replace(best_params=best, best_cost=jnp.where(better, cost, state.best_cost))


def keep_best(state: TrainState, cost, sharding=None) -> TrainState:
    """``state`` with each seed's best params replaced where ``cost [K]`` is below its best (donated);
    ``sharding``: where to put ``cost`` (a replicated sharding of the state's mesh)."""
    cost = np.asarray(cost, np.float32)
    return _keep_best(state, jnp.asarray(cost) if sharding is None else distributed.to_global(cost, sharding))


# --------------------------------------------------------------------------------------------------
# The pieces of one run


class Trainer:
    """The task, model, optimiser, devices, data and compiled steps of one run (any number of seeds)."""

    def __init__(self, config: TrainConfig):
        self.config = config
        self.task = tasks.get(config.task, **config.task_options)
        self.model = build_model(config, self.task)
        self.optimizer = build_optimizer(config)
        self.mesh = make_mesh(config.num_devices, config.seeds)
        self.seeds = [config.seed + k for k in range(config.seeds)]
        devices = self.mesh.shape["data"]
        if config.batch_size % devices:
            raise ValueError(
                f"batch_size={config.batch_size} must be divisible by the {devices} devices it is "
                f"sharded over (set --num-devices)"
            )
        self.replicated = NamedSharding(self.mesh, P())
        self.data_sharding = NamedSharding(self.mesh, P("seed", "data"))  # [K, B, ...]
        # Training batches run at one of a few lengths (tasks.buckets); None pads them all to the longest.
        self.buckets = None
        if config.length_buckets > 1:
            self.buckets = buckets_lib.Buckets(self.task, config.length_buckets)
        # The curriculum's stages as (first update, task, buckets), and the task itself before the first
        # stage if that starts later; the last stage holds to the end (a curriculum ends on the task by
        # giving its options last). A stage no longer than the task is padded to the task's lengths (its
        # bucket edges, or its longest), so that the stages add no compiled shapes.
        self.stages = []
        previous = None  # the sequences from which the stage before holds
        for sequences, options in config_lib.curriculum_stages(config.curriculum):
            stage = self._stage_task(sequences, options)
            buckets = None
            if self.buckets is not None:
                edges = self.buckets.edges if stage.num_steps <= self.task.num_steps else None
                buckets = buckets_lib.Buckets(stage, config.length_buckets, edges=edges)
            start = sequences // config.batch_size
            if self.stages and start == self.stages[-1][0]:
                raise ValueError(
                    f"curriculum: the stages from {previous} and {sequences} sequences both "
                    f"begin at update {start} at batch size {config.batch_size}: the first is never drawn"
                )
            previous = sequences
            self.stages.append((start, stage, buckets))
        if not self.stages or self.stages[0][0] > 0:
            self.stages.insert(0, (0, self.task, self.buckets))
        self.eval_tasks = self.task.evaluation()
        if config.eval_splits:
            wanted = [name.strip() for name in config.eval_splits.split(",")]
            unknown = [name for name in wanted if name not in self.eval_tasks]
            if unknown or "train" not in wanted:
                raise ValueError(
                    f"eval_splits={config.eval_splits!r} must name 'train' and only splits of "
                    f"{config.task}: {', '.join(self.eval_tasks)}"
                )
            self.eval_tasks = {name: self.eval_tasks[name] for name in wanted}
        # Each seed's statistics stay on its own devices: replicating them made every step wait for every
        # device (README, "Several seeds on several CPU devices"). A run of several processes replicates
        # them, so that each can read all of them.
        stats_sharding = self.replicated if jax.process_count() > 1 else NamedSharding(self.mesh, P("seed"))
        self.train_step = make_train_step(
            self.model, self.optimizer, (state_shardings(self.mesh, self.abstract_state()), stats_sharding)
        )
        self.eval_step = make_eval_step(self.model, self.replicated)
        # Evaluation batches (and the task's reference figures on them, like the n-gram optimum) are
        # fixed for a run: made on first use.
        self._eval_batches: dict[str, tasks.Batch] = {}
        self._eval_parts: dict[str, list[tasks.Batch]] = {}
        self._reference: dict[str, dict[str, float]] = {}

    def _stage_task(self, sequences: int, options: dict) -> tasks.Task:
        """The task of the curriculum stage from ``sequences`` on; a ValueError names the stage."""
        try:
            stage = tasks.get(self.config.task, **{**self.config.task_options, **options})
        except (TypeError, ValueError) as err:
            raise ValueError(f"curriculum stage from {sequences} sequences ({options}): {err}") from None
        if (stage.input_size, stage.output_size) != (self.task.input_size, self.task.output_size):
            raise ValueError(
                f"curriculum stage from {sequences} sequences ({options}) has {stage.input_size} inputs and "
                f"{stage.output_size} outputs, the task {self.task.input_size} and {self.task.output_size}: "
                "a stage may change what is drawn, not the model's shapes"
            )
        return stage

    def stage(self, step: int) -> tuple[tasks.Task, buckets_lib.Buckets | None]:
        """The task (and its length buckets) that the training batch of ``step`` is drawn from."""
        starts = [start for start, _, _ in self.stages]
        _, task, buckets = self.stages[int(np.searchsorted(starts, step, side="right")) - 1]
        return task, buckets

    @property
    def task_from(self) -> int:
        """The first update drawn from the task's own distribution: that of the curriculum's last stage (0
        without a curriculum)."""
        return self.stages[-1][0]

    def abstract_state(self) -> TrainState:
        """The training state's shapes and dtypes (nothing computed)."""
        return jax.eval_shape(self._init_host_state)

    def init_state(self) -> TrainState:
        """Fresh parameters and optimiser state for every seed, spread over the mesh's seed axis."""
        state = jax.device_get(self._init_host_state())
        return distributed.to_global(state, state_shardings(self.mesh, state))

    def _init_host_state(self) -> TrainState:
        dummy = jnp.zeros((1, self.task.num_steps, self.task.input_size))
        # One seed at a time, then stacked: jit(vmap(init)) of the 3 x 256 LSTM baseline over two seeds
        # hung in XLA's CPU runtime (batched QRs of the orthogonal initialiser, three layers at once).
        init = jax.jit(lambda key: self.model.init(key, dummy)["params"])
        per_seed = [init(jax.random.key(s)) for s in self.seeds]
        params = jax.tree.map(lambda *leaves: jnp.stack(leaves), *per_seed)
        opt_state = jax.jit(jax.vmap(self.optimizer.init))(params)
        best_cost = jnp.full((len(self.seeds),), jnp.inf, jnp.float32)
        best = jax.tree.map(jnp.copy, params)  # buffers of their own: the step donates the state
        return TrainState(jnp.zeros((), jnp.int32), params, opt_state, best, best_cost)

    def batch(self, step: int, bucket: int | None = None) -> tasks.Batch:
        """The training batch of ``step`` for every seed, ``[K, B, T', ...]``: a function of (seed, step).

        With length buckets, ``T'`` is the edge of a bucket drawn from ``step`` alone (the same for every
        seed), or of bucket number ``bucket`` if given, and each seed's sequences are drawn from
        (seed, step) within it.
        """
        size = self.config.batch_size
        task, buckets = self.stage(step)
        if buckets is None:
            if bucket is not None:
                raise ValueError(f"bucket={bucket}, but this run has no length buckets")
        elif bucket is None:
            bucket = buckets.bucket((step,))
        drawn: dict[int, tasks.Batch] = {}

        def seed_batch(k: int) -> tasks.Batch:  # only the seeds whose shards live on this process
            if k not in drawn:
                seed = self.seeds[k]
                if bucket is None:
                    drawn[k] = task.sample((seed, step), size)
                    if task.num_steps < self.task.num_steps:  # a curriculum stage: the task's shape
                        drawn[k] = buckets_lib.pad(drawn[k], self.task.num_steps)
                else:
                    drawn[k] = buckets.sample((seed, step), size, bucket)
            return drawn[k]

        shapes = seed_batch(self._first_local_seed)

        def field_array(i: int):
            def shard(index):  # index: (seeds, batch, ...) slices of this shard
                return np.stack([seed_batch(k)[i][index[1:]] for k in range(len(self.seeds))[index[0]]])

            global_shape = (len(self.seeds), *shapes[i].shape)
            return jax.make_array_from_callback(global_shape, self.data_sharding, shard)

        return tasks.Batch(*(field_array(i) for i in range(len(shapes))))

    @functools.cached_property
    def _first_local_seed(self) -> int:
        """The first seed whose shards live on one of this process's devices."""
        rows = self.mesh.devices  # [seed devices, data devices]
        mine = [i for i, row in enumerate(rows) if any(d.process_index == jax.process_index() for d in row)]
        return mine[0] * (len(self.seeds) // len(rows))

    def eval_batch(self, name: str) -> tasks.Batch:
        """The evaluation batch of split ``name`` (host arrays): the same every evaluation, sampled once
        per run from a seed that depends on the split's name only."""
        if name not in self._eval_batches:
            index = zlib.crc32(name.encode())  # not the split's position in --eval-splits
            batch = self.eval_tasks[name].sample((EVAL_SEED, index), self.config.eval_batch_size)
            self._eval_batches[name] = batch
        return self._eval_batches[name]

    def eval_parts(self, name: str) -> list[tasks.Batch]:
        """The evaluation batch of ``name`` split by length into trimmed parts, on the devices."""
        if name not in self._eval_parts:
            parts = buckets_lib.split(self.eval_batch(name), self.config.length_buckets)
            devices = self.mesh.shape["data"]
            self._eval_parts[name] = [
                distributed.to_global(
                    part, NamedSharding(self.mesh, P("data") if len(part.inputs) % devices == 0 else P())
                )
                for part in parts
            ]
        return self._eval_parts[name]

    def evaluate(self, params, names=None) -> dict[str, dict[str, list[float]]]:
        """Cost and bit errors per sequence for every seed on each named evaluation split (None: all)."""
        results = {}
        for name in list(self.eval_tasks) if names is None else names:
            parts = self.eval_parts(name)
            total = sum(len(part.mask) for part in parts)
            cost = errors = 0.0
            for part in parts:  # means over sequences, weighted by the part's share
                part_cost, part_errors = self.eval_step(params, part)
                weight = len(part.mask) / total
                cost = cost + weight * np.asarray(part_cost, np.float64)
                errors = errors + weight * np.asarray(part_errors, np.float64)
            results[name] = {"cost": np.asarray(cost).tolist(), "bit_errors": np.asarray(errors).tolist()}
            if name not in self._reference:  # the task's own figures on this batch, e.g. an optimum
                self._reference[name] = self.eval_tasks[name].reference_metrics(self.eval_batch(name))
            results[name].update(self._reference[name])
        return results


# --------------------------------------------------------------------------------------------------
# The loop


def train(config: TrainConfig, workdir: str | os.PathLike, resume: bool = False, progress: bool = True):
    """Train per ``config`` in ``workdir``; returns the run summary (also written to summary.json)."""
    run = RunDir(workdir, writes=distributed.is_main())
    trainer = Trainer(config)
    earlier = run.start_session(config, resume)  # wall seconds of the run's earlier sessions
    manager = checkpoints.checkpoint_manager(run, config.checkpoint_every)
    state, step = trainer.init_state(), 0
    if resume:
        if manager.latest_step() is None:
            raise ValueError(f"--resume: {run.checkpoints} holds no complete checkpoint")
        state = checkpoints.restore_checkpoint(manager, state)
        step = int(state.step)
        if run.writes:
            print(f"resumed from step {step} ({run.checkpoints})", flush=True)
    run.truncate_logs(step)
    # Every process replays the same records (process 0 may not have truncated the file yet).
    evals = [record for record in read_jsonl(run.evals) if record["step"] <= step]
    convergence = Convergence.from_log(evals, config.seeds, config)
    distributed.barrier("session started")
    log = RunLog(run, config, step, progress)
    wall_start = time.perf_counter()
    deadline = wall_start + 60 * config.max_minutes if config.max_minutes else math.inf
    stopped_by, stop, stopping = "steps", StopRequest(), False
    # Processes agree on stopping (time budget, a signal to any of them) every log_every steps.
    several = jax.process_count() > 1
    try:
        while step < config.steps and not stopping:
            state, stats = trainer.train_step(state, trainer.batch(step))
            step += 1
            out_of_time = False
            if not several or step % config.log_every == 0:
                out_of_time = distributed.agree(time.perf_counter() >= deadline)
                stopping = distributed.agree(stop.signal)
            last = step == config.steps or out_of_time  # ends with every split evaluated
            log.train(step, stats, write=step % config.log_every == 0 or last)
            if step % config.eval_every == 0 or last:
                with log.pause(state):
                    every = config.generalisation_every
                    names = None if (every and step % every == 0) or last else ["train"]
                    results = trainer.evaluate(state.params, names)
                    state = keep_best(state, results["train"]["cost"], trainer.replicated)
                    convergence.update(step, results["train"]["bit_errors"])
                    if config.stop_when_converged and distributed.agree(convergence.all_converged):
                        log.write(
                            f"every seed converged ({config.converged_evals} evaluations in a row) by {step}"
                        )
                        stopped_by = "converged"
                        if names is not None:  # end with every split evaluated (train only once)
                            others = [name for name in trainer.eval_tasks if name not in results]
                            results.update(trainer.evaluate(state.params, others))
                    log.evaluation(step, results)
                if stopped_by == "converged":
                    break
            log.paused += checkpoints.save(manager, step, state)  # every checkpoint_every steps
            if out_of_time and step < config.steps:
                log.write(f"time budget of {config.max_minutes} min spent at step {step}")
                stopped_by = "time budget"
                break
        if stopping:
            log.write(f"interrupted at step {step}: saving a checkpoint")
    finally:
        stop.restore()
        log.close()
        try:  # whole: signals only stop the loop between steps
            checkpoints.save(manager, int(state.step), state, force=True)
        except RuntimeError as err:  # a second signal cut a step short and its state is gone
            print(f"no final checkpoint ({err}); the last periodic one stands", file=sys.stderr)
        manager.close()
    if stopping:
        raise KeyboardInterrupt
    summary = run_summary(run, config, state, step, convergence, time.perf_counter() - wall_start, earlier)
    summary["stopped_by"] = stopped_by
    if run.writes:
        run.summary.write_text(json.dumps(summary, indent=2))
    return summary


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m experiments.train", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    config_lib.add_config_flags(parser)
    parser.add_argument("--workdir", default=None, help="run directory (default runs/<task>-<model>)")
    parser.add_argument("--resume", action="store_true", help="continue from the latest checkpoint")
    parser.add_argument("--smoke", action="store_true", help="start from the task's cheap smoke config")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    group = parser.add_argument_group("several processes (experiments.distributed)")
    group.add_argument("--coordinator", default=None, help="host:port of process 0's coordinator")
    group.add_argument("--num-processes", type=int, default=None, help="processes in the run")
    group.add_argument("--process-id", type=int, default=None, help="this process's index, 0 .. N-1")
    group.add_argument(
        "--distributed", action="store_true", help="join the processes from a cluster launcher's environment"
    )
    args = parser.parse_args(argv)
    if args.coordinator is None and not args.distributed:  # several processes: every device of each
        make_host_devices(args.num_devices or 0)
    try:
        distributed.initialize(args.coordinator, args.num_processes, args.process_id, args.distributed)
        config = config_lib.resolve(args, smoke=args.smoke)
        workdir = args.workdir or os.path.join("runs", f"{config.task}-{config.model}")
        summary = train(config, workdir, resume=args.resume, progress=not args.no_progress)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("stopped; resume with --resume", file=sys.stderr)
        return 130
    print(
        f"done: {summary['steps']} steps, {summary['num_converged']}/{len(summary['seeds'])} seed(s) "
        f"converged; run directory {workdir}",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
