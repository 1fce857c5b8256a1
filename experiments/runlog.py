"""What a training session writes and shows besides checkpoints: the training windows of ``metrics.jsonl``,
the evaluation records of ``eval.jsonl``, ``summary.json``, the console lines, the progress bar and
TensorBoard; and the SIGINT/SIGTERM handling that lets the loop stop between steps."""

from __future__ import annotations

import contextlib
import pathlib
import signal
import threading
import time

import jax
import numpy as np

from experiments import distributed
from experiments.config import TrainConfig
from experiments.convergence import Convergence
from experiments.rundir import RunDir, read_jsonl


class RunLog:
    """The logs of one session of a run, from step ``start``.

    Training statistics are kept per step and written as one ``metrics.jsonl`` record per window of
    ``log_every`` steps; its ``sequences_per_second`` leaves out the time spent in :meth:`pause` (and
    added to :attr:`paused`), that is evaluation and checkpointing.
    """

    def __init__(self, run: RunDir, config: TrainConfig, start: int, progress: bool = True):
        from tqdm.auto import tqdm

        self.run, self.config = run, config
        self.tensorboard = TensorBoard(run.path if run.writes else None)
        self.bar = tqdm(
            total=config.steps,
            initial=start,
            disable=not (progress and run.writes),
            desc=f"{config.task} {config.model} x{config.seeds}",
            unit="step",
            dynamic_ncols=True,
        )
        self.window: list[dict] = []
        self.window_start = time.perf_counter()
        self.paused = 0.0  # seconds of evaluation and checkpointing inside the current window

    def train(self, step: int, stats: dict, write: bool) -> None:
        """Take the statistics of training step ``step``; with ``write``, log the window it ends."""
        self.window.append(stats)
        if write:
            record = self._window_record(step)
            self.run.append(self.run.metrics, record)
            self.tensorboard.scalars("train", {k: record[k] for k in ("cost", "bit_errors")}, step)
            self.bar.set_postfix(
                cost=f"{np.median(record['cost']):.2f}",
                bit_errors=f"{np.median(record['bit_errors']):.2f}",
                seq_s=f"{record['sequences_per_second']:.0f}",
            )
            self.window, self.window_start, self.paused = [], time.perf_counter(), 0.0
        self.bar.update(1)

    def _window_record(self, step: int) -> dict:
        config = self.config
        stats = jax.device_get(self.window)  # waits for the window's steps to finish
        elapsed = time.perf_counter() - self.window_start - self.paused
        record = {"step": step, "sequences": step * config.batch_size}
        for name in ("cost", "bit_errors", "grad_norm"):
            record[name] = np.mean([s[name] for s in stats], axis=0).tolist()
        record["skipped_updates"] = np.asarray(stats[-1]["skipped_updates"]).tolist()  # so far, per seed
        record["sequences_per_second"] = len(stats) * config.batch_size * config.seeds / elapsed
        record["time"] = time.time()
        return record

    @contextlib.contextmanager
    def pause(self, state):
        """Time the block as a pause in training, once the steps that made ``state`` are done."""
        jax.block_until_ready(state)  # so the pause holds no training
        start = time.perf_counter()
        try:
            yield
        finally:
            self.paused += time.perf_counter() - start

    def evaluation(self, step: int, results: dict) -> None:
        """One ``eval.jsonl`` record per split of ``results``, and a console line for "train"."""
        for name, values in results.items():
            record = {"step": step, "sequences": step * self.config.batch_size, "split": name, **values}
            self.run.append(self.run.evals, record)
            self.tensorboard.scalars(f"eval_{name}", {k: values[k] for k in ("cost", "bit_errors")}, step)
        train = results.get("train")
        if train is not None and self.run.writes:
            print(
                f"step {step}: eval cost {np.median(train['cost']):.3f} bits/seq, "
                f"bit errors {np.median(train['bit_errors']):.3f}/seq (median over {len(train['cost'])} "
                "seed(s))",
                flush=True,
            )

    def write(self, message: str) -> None:
        """A console line that keeps the progress bar below it (process 0 only)."""
        if self.run.writes:
            self.bar.write(message)

    def close(self) -> None:
        self.bar.close()
        self.tensorboard.close()


def skipped_updates(opt_state):
    """Updates skipped so far for a non-finite gradient: the count of ``optax.apply_if_finite``, which
    ``experiments.train.build_optimizer`` wraps around the optimiser (any seed axis)."""
    return opt_state.total_notfinite


def run_summary(
    run: RunDir, config: TrainConfig, state, step: int, convergence: Convergence, wall: float, earlier: float
) -> dict:
    """The run summary after ``step`` steps: convergence, the last evaluation of every split, wall time
    (``wall`` seconds this session, ``earlier`` in the sessions before)."""

    def sequences(steps: list[int | None]) -> list[int | None]:
        return [None if s is None else s * config.batch_size for s in steps]

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
        "converged_at_sequences": sequences(convergence.converged_at),
        "num_converged": sum(c is not None for c in convergence.converged_at),
        "first_below_at_sequences": sequences(convergence.first_below),
        "relapses": convergence.relapses,
        "worst_bit_errors_after_first_below": convergence.worst_after,
        "best_eval_cost": distributed.host(state.best_cost).tolist(),
        "skipped_updates": distributed.host(skipped_updates(state.opt_state)).tolist(),
        "final_eval": last,
        "parameters": sum(x.size for x in jax.tree.leaves(state.params)) // config.seeds,
    }


class TensorBoard:
    """Scalars to TensorBoard when ``tensorboardX`` is installed (and ``path`` is not None); else nothing."""

    def __init__(self, path: pathlib.Path | None):
        self.writer = None
        if path is None:
            return
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


class StopRequest:
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
