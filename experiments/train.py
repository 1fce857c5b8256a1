"""Train an NTM (or the stacked-LSTM baseline) on one of the paper's tasks.

    python -m experiments.train --task copy                       # the task's default config
    python -m experiments.train --task copy --seeds 5 --steps 3000
    python -m experiments.train --task copy --workdir runs/copy --resume

Every flag is a field of ``experiments.config.TrainConfig``; ``--help`` lists them. A run directory holds
``config.json``, ``metrics.jsonl`` (training), ``eval.jsonl`` (evaluations), ``summary.json``, and Orbax
checkpoints under ``checkpoints/``. K seeds (``--seeds K``) are trained in one compiled program: the
parameters, optimiser states and batches carry a leading seed axis and the step is ``vmap``-ed over it.
The batch axis is sharded over the visible devices (``--num-devices``).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import pathlib
import signal
import sys
import threading
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
from experiments import checkpoints
from experiments import config as config_lib
from experiments.config import TrainConfig
from experiments.convergence import Convergence
from experiments.rundir import RunDir, read_jsonl
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


# The NTMSpec fields set from the TrainConfig field of the same name.
NTM_OPTIONS = tuple(
    f.name for f in dataclasses.fields(ntm.core.NTMSpec) if f.name not in ("output_size", "dtype")
)


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
        # Every option of the NTM's spec is a TrainConfig field of the same name (tests/test_train.py).
        options = {name: getattr(config, name) for name in NTM_OPTIONS}
        cell = ntm.NTMCell(output_size=task.output_size, dtype=dtype, **options)
    return ntm.Sequence(cell, remat=config.remat)


def learning_rate(config: TrainConfig) -> optax.Schedule | float:
    """The constant learning rate, or with ``lr_half_life`` one that halves every so many sequences.

    ``lr(update) = lr_0 * max(0.5 ** (update * batch_size / half_life), 0.1)``.
    """
    if not config.lr_half_life:
        return config.learning_rate
    half_life_updates = config.lr_half_life / config.batch_size

    def schedule(count):
        return config.learning_rate * jnp.maximum(0.5 ** (count / half_life_updates), 0.1)

    return schedule


def build_optimizer(config: TrainConfig) -> optax.GradientTransformation:
    """Clipping (elementwise, then global norm) followed by Adam or Graves' RMSProp."""
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
    return optax.chain(*chain)


def make_mesh(num_devices: int) -> Mesh:
    """A one-axis ("data") mesh over the first ``num_devices`` devices (0: all)."""
    devices = jax.devices()
    if num_devices > len(devices):
        raise ValueError(f"num_devices={num_devices}, but only {len(devices)} device(s) are visible")
    return Mesh(np.array(devices[: num_devices or len(devices)]), ("data",))


class Trainer:
    """Builds the model, optimiser, data and compiled steps of one run (any number of seeds)."""

    def __init__(self, config: TrainConfig):
        self.config = config
        self.task = tasks.get(config.task, **config.task_options)
        self.model = build_model(config, self.task)
        self.optimizer = build_optimizer(config)
        self.mesh = make_mesh(config.num_devices)
        self.seeds = [config.seed + k for k in range(config.seeds)]
        devices = self.mesh.devices.size
        if config.batch_size % devices:
            raise ValueError(
                f"batch_size={config.batch_size} must be divisible by the {devices} devices it is "
                f"sharded over (set --num-devices)"
            )
        self.replicated = NamedSharding(self.mesh, P())
        self.data_sharding = NamedSharding(self.mesh, P(None, "data"))  # [K, B, ...]
        # Training batches run at one of a few lengths (tasks.buckets); None pads them all to the longest.
        self.buckets = None
        if config.length_buckets > 1:
            self.buckets = buckets_lib.Buckets(self.task, config.length_buckets)
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
        options = ntm.compiler_options()
        self._train_step = jax.jit(self._step, donate_argnums=0, compiler_options=options)
        self._evaluate = jax.jit(self._eval, compiler_options=options)
        self._keep_best = jax.jit(_keep_best, donate_argnums=0)
        # Evaluation batches (and the task's reference figures on them, like the n-gram optimum) are
        # fixed for a run: made on first use.
        self._eval_batches: dict[str, tasks.Batch] = {}
        self._eval_parts: dict[str, list[tasks.Batch]] = {}
        self._reference: dict[str, dict[str, float]] = {}

    # -- pure functions ------------------------------------------------------------------------------

    def _loss(self, params, batch: tasks.Batch):
        logits = self.model.apply({"params": params}, batch.inputs).astype(jnp.float32)
        bits = metrics.bits_per_sequence(logits, batch.targets, batch.mask)
        errors = metrics.bit_errors_per_sequence(logits, batch.targets, batch.mask)
        # Mean over sequences of the cross-entropy in nats summed over the scored bits.
        return jnp.mean(bits) * math.log(2.0), (jnp.mean(bits), jnp.mean(errors))

    def _step_one_seed(self, params, opt_state, batch):
        grads, (cost, errors) = jax.grad(self._loss, has_aux=True)(params, batch)
        updates, opt_state = self.optimizer.update(grads, opt_state, params)
        params = optax.apply_updates(params, updates)
        return params, opt_state, {"cost": cost, "bit_errors": errors, "grad_norm": optax.tree.norm(grads)}

    def _step(self, state: TrainState, batch: tasks.Batch):
        params, opt_state, stats = jax.vmap(self._step_one_seed)(state.params, state.opt_state, batch)
        return state._replace(step=state.step + 1, params=params, opt_state=opt_state), stats

    def _eval(self, params, batch: tasks.Batch):
        def one(params, batch):
            logits = self.model.apply({"params": params}, batch.inputs).astype(jnp.float32)
            return (
                jnp.mean(metrics.bits_per_sequence(logits, batch.targets, batch.mask)),
                jnp.mean(metrics.bit_errors_per_sequence(logits, batch.targets, batch.mask)),
            )

        return jax.vmap(one, in_axes=(0, None))(params, batch)

    # -- state and data ------------------------------------------------------------------------------

    def init_state(self) -> TrainState:
        """Fresh parameters and optimiser state for every seed, replicated over the devices."""
        dummy = jnp.zeros((1, self.task.num_steps, self.task.input_size))
        # One seed at a time, then stacked: jit(vmap(init)) of the 3 x 256 LSTM baseline over two seeds
        # hung in XLA's CPU runtime (batched QRs of the orthogonal initialiser, three layers at once).
        init = jax.jit(lambda key: self.model.init(key, dummy)["params"])
        per_seed = [init(jax.random.key(s)) for s in self.seeds]
        params = jax.tree.map(lambda *leaves: jnp.stack(leaves), *per_seed)
        opt_state = jax.jit(jax.vmap(self.optimizer.init))(params)
        best_cost = jnp.full((len(self.seeds),), jnp.inf, jnp.float32)
        best = jax.tree.map(jnp.copy, params)  # buffers of their own: the step donates the state
        state = TrainState(jnp.zeros((), jnp.int32), params, opt_state, best, best_cost)
        return jax.device_put(state, self.replicated)

    def batch(self, step: int) -> tasks.Batch:
        """The training batch of ``step`` for every seed, ``[K, B, T', ...]``: a function of (seed, step).

        With length buckets, ``T'`` is the edge of a bucket drawn from ``step`` alone (the same for every
        seed), and each seed's sequences are drawn from (seed, step) within it.
        """
        size = self.config.batch_size
        if self.buckets is None:
            per_seed = [self.task.sample((seed, step), size) for seed in self.seeds]
        else:
            bucket = self.buckets.bucket((step,))
            per_seed = [self.buckets.sample((seed, step), size, bucket) for seed in self.seeds]
        stacked = tasks.Batch(*(np.stack(field) for field in zip(*per_seed, strict=True)))
        return jax.device_put(stacked, self.data_sharding)

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
            devices = self.mesh.devices.size
            self._eval_parts[name] = [
                jax.device_put(
                    part, NamedSharding(self.mesh, P("data") if len(part.inputs) % devices == 0 else P())
                )
                for part in parts
            ]
        return self._eval_parts[name]

    def train_step(self, state: TrainState, batch: tasks.Batch):
        return self._train_step(state, batch)

    def keep_best(self, state: TrainState, cost) -> TrainState:
        """``state`` with each seed's best params replaced where ``cost [K]`` is below its best."""
        return self._keep_best(state, jnp.asarray(cost, jnp.float32))

    def evaluate(self, params, names=None) -> dict[str, dict[str, list[float]]]:
        """Cost and bit errors per sequence for every seed on each named evaluation split."""
        results = {}
        for name in names or list(self.eval_tasks):
            parts = self.eval_parts(name)
            total = sum(len(part.mask) for part in parts)
            cost = errors = 0.0
            for part in parts:  # means over sequences, weighted by the part's share
                part_cost, part_errors = self._evaluate(params, part)
                weight = len(part.mask) / total
                cost = cost + weight * np.asarray(part_cost, np.float64)
                errors = errors + weight * np.asarray(part_errors, np.float64)
            results[name] = {"cost": np.asarray(cost).tolist(), "bit_errors": np.asarray(errors).tolist()}
            if name not in self._reference:  # the task's own figures on this batch, e.g. an optimum
                self._reference[name] = self.eval_tasks[name].reference_metrics(self.eval_batch(name))
            results[name].update(self._reference[name])
        return results


def _keep_best(state: TrainState, cost: jax.Array) -> TrainState:
    better = cost < state.best_cost  # [K]

    def pick(new, old):
        return jnp.where(better.reshape((-1,) + (1,) * (new.ndim - 1)), new, old)

    best = jax.tree.map(pick, state.params, state.best_params)
    return state._replace(best_params=best, best_cost=jnp.where(better, cost, state.best_cost))


# --------------------------------------------------------------------------------------------------
# Run directory: config, logs, checkpoints


# Fields that may differ between a run and its resumption.
RESUMABLE_FIELDS = {
    "steps",
    "max_minutes",
    "eval_every",
    "generalisation_every",
    "log_every",
    "checkpoint_every",
    "stop_when_converged",
    "num_devices",
    "eval_batch_size",
    "eval_splits",
    "remat",
}


def check_resumable(saved: TrainConfig, config: TrainConfig) -> None:
    diffs = [
        f"{f.name}: checkpoint has {getattr(saved, f.name)!r}, command line has {getattr(config, f.name)!r}"
        for f in dataclasses.fields(TrainConfig)
        if f.name not in RESUMABLE_FIELDS and getattr(saved, f.name) != getattr(config, f.name)
    ]
    if diffs:
        raise ValueError("the config does not match the checkpoint's:\n  " + "\n  ".join(diffs))


class _TensorBoard:
    """Scalars to TensorBoard when ``tensorboardX`` is installed; nothing otherwise."""

    def __init__(self, path: pathlib.Path):
        try:
            from tensorboardX import SummaryWriter
        except ImportError:
            self.writer = None
        else:
            self.writer = SummaryWriter(str(path / "tensorboard"))

    def scalars(self, prefix: str, values: dict, step: int) -> None:
        if self.writer is None:
            return
        for name, value in values.items():
            for k, v in enumerate(np.atleast_1d(value)):
                self.writer.add_scalar(f"{prefix}/{name}/seed_{k}", float(v), step)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


# --------------------------------------------------------------------------------------------------
# The loop


def train(config: TrainConfig, workdir: str | os.PathLike, resume: bool = False, progress: bool = True):
    """Train per ``config`` in ``workdir``; returns the run summary (also written to summary.json)."""
    run = RunDir(workdir)
    if run.path.exists() and not run.path.is_dir():
        raise ValueError(f"--workdir {run.path} is a file, not a directory")
    trainer = Trainer(config)
    has_checkpoint = run.checkpoints.is_dir() and any(run.checkpoints.iterdir())
    if has_checkpoint and not resume:
        raise ValueError(f"{run.path} already holds checkpoints: pass --resume, or choose a new --workdir")
    if resume and not has_checkpoint:
        raise ValueError(f"--resume: {run.path} holds no checkpoint to resume from (check --workdir)")
    try:
        run.path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ValueError(f"--workdir {run.path}: cannot create it ({err.strerror})") from err
    if resume and run.config.exists():
        check_resumable(config_lib.read_config(run.config), config)
    # Wall time of earlier sessions of this run, from the summary the last one wrote (a session killed
    # before writing one is not counted).
    earlier = 0.0
    if resume and run.summary.exists():
        previous = json.loads(run.summary.read_text())
        earlier = previous.get("wall_seconds", previous.get("wall_seconds_this_session", 0.0))
    run.config.write_text(config.to_json())
    manager = checkpoints.checkpoint_manager(run, config.checkpoint_every)
    state = trainer.init_state()
    start = 0
    if resume:
        if manager.latest_step() is None:
            raise ValueError(f"--resume: {run.checkpoints} holds no complete checkpoint")
        state = checkpoints.restore_checkpoint(manager, state)
        start = int(state.step)
        print(f"resumed from step {start} ({run.checkpoints})", flush=True)
    run.truncate_logs(start)

    convergence = Convergence.from_log(read_jsonl(run.evals), len(trainer.seeds), config)
    tensorboard = _TensorBoard(run.path)
    bar = _progress(config, start, progress)
    window, window_start, wall_start = [], time.perf_counter(), time.perf_counter()
    paused = 0.0  # seconds of evaluation and checkpointing inside the current log window
    step = start
    deadline = wall_start + 60 * config.max_minutes if config.max_minutes else math.inf
    stopped_by = "steps"
    stop = _StopRequest()
    try:
        while step < config.steps and not stop.signal:
            batch = trainer.batch(step)
            state, stats = trainer.train_step(state, batch)
            step += 1
            window.append(stats)
            out_of_time = time.perf_counter() >= deadline
            last = step == config.steps or out_of_time  # ends with every split evaluated
            if step % config.log_every == 0 or last:
                record = _log_window(run, window, step, config, window_start, paused)
                tensorboard.scalars("train", {k: record[k] for k in ("cost", "bit_errors")}, step)
                bar.set_postfix(
                    cost=f"{np.median(record['cost']):.2f}",
                    bit_errors=f"{np.median(record['bit_errors']):.2f}",
                    seq_s=f"{record['sequences_per_second']:.0f}",
                )
                window, window_start, paused = [], time.perf_counter(), 0.0
            bar.update(1)
            if step % config.eval_every == 0 or last:
                jax.block_until_ready(state)  # so the pause holds no training
                pause_start = time.perf_counter()
                every = config.generalisation_every
                names = None if (every and step % every == 0) or last else ["train"]
                results = trainer.evaluate(state.params, names)
                state = trainer.keep_best(state, results["train"]["cost"])
                convergence.update(step, results["train"]["bit_errors"])
                if config.stop_when_converged and convergence.all_converged:
                    bar.write(
                        f"every seed converged ({config.converged_evals} evaluations in a row) by {step}"
                    )
                    stopped_by = "converged"
                    if names is not None:  # end with every split evaluated (train only once)
                        others = [name for name in trainer.eval_tasks if name not in results]
                        results.update(trainer.evaluate(state.params, others) if others else {})
                _log_eval(run, tensorboard, results, step, config)
                if stopped_by == "converged":
                    break
                paused += time.perf_counter() - pause_start
            paused += checkpoints.save(manager, step, state)  # every checkpoint_every steps
            if out_of_time and step < config.steps:
                bar.write(f"time budget of {config.max_minutes} min spent at step {step}")
                stopped_by = "time budget"
                break
        if stop.signal:
            bar.write(f"interrupted at step {step}: saving a checkpoint")
    finally:
        stop.restore()
        bar.close()
        try:  # whole: signals only stop the loop between steps
            checkpoints.save(manager, int(state.step), state, force=True)
        except RuntimeError as err:  # a second signal cut a step short and its state is gone
            print(f"no final checkpoint ({err}); the last periodic one stands", file=sys.stderr)
        manager.close()
        tensorboard.close()
    if stop.signal:
        raise KeyboardInterrupt
    summary = _summary(run, state, config, step, convergence, time.perf_counter() - wall_start, earlier)
    summary["stopped_by"] = stopped_by
    run.summary.write_text(json.dumps(summary, indent=2))
    return summary


class _StopRequest:
    """Turns SIGINT and SIGTERM into a flag that the training loop checks between steps.

    Raising from the handler instead could land between a step that has consumed (donated) the old state
    and the assignment of the new one, leaving nothing whole to checkpoint.
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self):
        self.signal = None
        self.previous = {}
        if threading.current_thread() is threading.main_thread():
            self.previous = {s: signal.signal(s, self._handle) for s in self.SIGNALS}

    def _handle(self, signum, frame):
        if self.signal is not None:  # a second signal: stop now, as the default handler would
            raise KeyboardInterrupt
        self.signal = signum

    def restore(self) -> None:
        for signum, handler in self.previous.items():
            signal.signal(signum, handler)


def _progress(config: TrainConfig, start: int, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(
        total=config.steps,
        initial=start,
        disable=not enabled,
        desc=f"{config.task} {config.model} x{config.seeds}",
        unit="step",
        dynamic_ncols=True,
    )


def _log_window(run: RunDir, window, step: int, config: TrainConfig, since: float, paused: float) -> dict:
    stats = jax.device_get(window)  # waits for the window's steps to finish
    elapsed = time.perf_counter() - since - paused
    record = {"step": step, "sequences": step * config.batch_size}
    for name in ("cost", "bit_errors", "grad_norm"):
        record[name] = np.mean([s[name] for s in stats], axis=0).tolist()
    record["sequences_per_second"] = len(stats) * config.batch_size * config.seeds / elapsed
    record["time"] = time.time()
    run.append(run.metrics, record)
    return record


def _log_eval(run: RunDir, tensorboard, results: dict, step: int, config: TrainConfig) -> None:
    for name, values in results.items():
        run.append(run.evals, {"step": step, "sequences": step * config.batch_size, "split": name, **values})
        tensorboard.scalars(f"eval_{name}", {k: values[k] for k in ("cost", "bit_errors")}, step)
    train = results.get("train")
    if train is not None:
        print(
            f"step {step}: eval cost {np.median(train['cost']):.3f} bits/seq, "
            f"bit errors {np.median(train['bit_errors']):.3f}/seq (median over {len(train['cost'])} seed(s))",
            flush=True,
        )


def _sequences(steps: list[int | None], config: TrainConfig) -> list[int | None]:
    return [None if s is None else s * config.batch_size for s in steps]


def _summary(run, state, config, step, convergence: Convergence, wall, earlier: float) -> dict:
    last = {}
    for record in read_jsonl(run.evals):
        if record["step"] == step:
            last[record["split"]] = {
                k: v for k, v in record.items() if k not in ("step", "sequences", "split")
            }
    return {
        "task": config.task,
        "model": config.model,
        "seeds": [config.seed + k for k in range(config.seeds)],
        "steps": step,
        "sequences": step * config.batch_size,
        "wall_seconds_this_session": wall,
        "wall_seconds": earlier + wall,  # every session that wrote a summary, this one included
        "converged_evals": config.converged_evals,
        "converged_at_step": convergence.converged_at,
        "converged_at_sequences": _sequences(convergence.converged_at, config),
        "num_converged": sum(c is not None for c in convergence.converged_at),
        "first_below_at_sequences": _sequences(convergence.first_below, config),
        "relapses": convergence.relapses,
        "worst_bit_errors_after_first_below": convergence.worst_after,
        "best_eval_cost": np.asarray(state.best_cost).tolist(),
        "final_eval": last,
        "parameters": sum(x.size for x in jax.tree.leaves(state.params)) // config.seeds,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m experiments.train", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    config_lib.add_config_flags(parser)
    parser.add_argument("--workdir", default=None, help="run directory (default runs/<task>-<model>)")
    parser.add_argument("--resume", action="store_true", help="continue from the latest checkpoint")
    parser.add_argument("--smoke", action="store_true", help="start from the task's cheap smoke config")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    try:
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
