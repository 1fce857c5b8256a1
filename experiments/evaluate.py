"""Evaluate a run: the generalisation table and the figures.

    python -m experiments.evaluate runs/copy-ntm

Restores the latest checkpoint of RUN_DIR, evaluates every seed on each of the task's evaluation splits
(the paper's generalisation lengths) with the last params (``--params best``: each seed's params at its
best evaluation on the training distribution, kept beside them; chosen on that same evaluation batch, so
their "train" row is optimistic), and writes into RUN_DIR:

- ``generalisation.json`` and ``generalisation.csv`` (``generalisation_best.*`` with ``--params best``):
  cost and bit errors per sequence, per split and seed;
- ``learning_curve.png``: eval cost and bit errors against sequences seen, per seed and their median;
- ``memory.png``: read and write weightings over time for one sequence (fixed colour scale);
- ``outputs.png``: targets beside outputs for one sequence of each split;
the last two for the seed with the fewest bit errors on the training distribution.
"""

from __future__ import annotations

import argparse
import csv
import json
import pathlib
import sys

import jax
import numpy as np

from experiments import plotting
from experiments.checkpoints import checkpoint_manager, restore_checkpoint
from experiments.config import read_config
from experiments.rundir import RunDir, read_jsonl
from experiments.train import Trainer

# The memory picture shows this sequence of this split.
PICTURE_SPLIT = "train"


def load_run(path, which: str = "last") -> tuple[RunDir, Trainer, dict]:
    """The run directory, a Trainer for its config, and the params of its latest checkpoint: the last
    params (``which="last"``) or each seed's best-evaluated ones (``"best"``)."""
    if which not in ("last", "best"):
        raise ValueError(f"params must be 'last' or 'best', got {which!r}")
    run = RunDir(path)
    if not run.path.is_dir():
        raise ValueError(f"run directory {run.path} does not exist")
    if not run.config.exists():
        raise ValueError(f"{run.path} has no config.json: is it a run directory?")
    config = read_config(run.config)
    trainer = Trainer(config)
    manager = checkpoint_manager(run)
    try:
        if manager.latest_step() is None:
            raise ValueError(f"{run.checkpoints} holds no complete checkpoint")
        state = restore_checkpoint(manager, trainer.init_state())
    finally:
        manager.close()
    return run, trainer, state.best_params if which == "best" else state.params


def format_table(results: dict[str, dict]) -> str:
    lines = [f"{'split':<16}{'cost (bits/seq)':>18}{'bit errors/seq':>18}   per seed (bit errors)"]
    for name, values in results.items():
        per_seed = " ".join(f"{v:.2f}" for v in values["bit_errors"])
        extra = f"   optimum {values['optimal_cost']:.2f}" if "optimal_cost" in values else ""
        lines.append(
            f"{name:<16}{np.median(values['cost']):>18.3f}{np.median(values['bit_errors']):>18.3f}"
            f"   {per_seed}{extra}"
        )
    return "\n".join(lines)


def write_table(run: RunDir, results: dict[str, dict], suffix: str = "") -> None:
    """``generalisation{suffix}.json`` and ``.csv`` (suffix ``"_best"`` for the best params)."""
    (run.path / f"generalisation{suffix}.json").write_text(json.dumps(results, indent=2))
    with open(run.path / f"generalisation{suffix}.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["split", "seed", "cost", "bit_errors"])
        for name, values in results.items():
            for k, (cost, errors) in enumerate(zip(values["cost"], values["bit_errors"], strict=True)):
                writer.writerow([name, k, f"{cost:.6f}", f"{errors:.6f}"])


def _one_sequence(trainer: Trainer, params, split: str, seed_index: int = 0):
    """Inputs, targets, mask, output probabilities and trace of one sequence of ``split``."""
    batch = trainer.eval_tasks[split].sample((0, 0), 1)
    one_seed = jax.tree.map(lambda x: x[seed_index], params)
    apply = jax.jit(lambda p, x: trainer.model.apply({"params": p}, x, return_trace=True))
    logits, trace = apply(one_seed, batch.inputs)
    outputs = jax.nn.sigmoid(np.asarray(logits[0], np.float32))
    trace = None if trace is None else jax.tree.map(lambda x: np.asarray(x[0]), trace)
    return batch.inputs[0], batch.targets[0], batch.mask[0], np.asarray(outputs), trace


def figures(run: RunDir, trainer: Trainer, params, results: dict) -> list[pathlib.Path]:
    """The learning curve over all seeds; memory and outputs of the seed with the fewest bit errors."""
    config = trainer.config
    made = []
    title = f"{config.task.replace('_', ' ')}, {config.model_label}"
    best = int(np.argmin(results["train"]["bit_errors"]))
    records = [r for r in read_jsonl(run.evals) if r["split"] == "train"]
    curve = plotting.learning_curve(
        records, run.path / "learning_curve.png", title, threshold=config.converged_bit_errors
    )
    made += [curve] if curve else []
    title += f", seed {trainer.seeds[best]}"
    inputs, targets, mask, outputs, trace = _one_sequence(trainer, params, PICTURE_SPLIT, best)
    if trace is not None:
        made.append(plotting.memory_picture(trace, inputs, targets, outputs, run.path / "memory.png", title))
    examples = []
    for split in trainer.eval_tasks:
        _, targets, mask, outputs, _ = _one_sequence(trainer, params, split, best)
        scored = mask > 0
        examples.append((split, targets[scored], outputs[scored]))
    made.append(plotting.targets_and_outputs(examples, run.path / "outputs.png", title))
    return made


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m experiments.evaluate", description=__doc__)
    parser.add_argument("run_dir", help="a directory written by experiments.train")
    parser.add_argument("--no-figures", action="store_true", help="only the table")
    parser.add_argument(
        "--params",
        choices=("last", "best"),
        default="last",
        help="the last params (default) or each seed's best-evaluated ones; the table's file names say which",
    )
    args = parser.parse_args(argv)
    try:
        run, trainer, params = load_run(args.run_dir, args.params)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    results = trainer.evaluate(params)
    write_table(run, results, "" if args.params == "last" else "_best")
    print(format_table(results))
    if not args.no_figures and args.params == "last":  # the figures always show the last params
        for path in figures(run, trainer, params, results):
            print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
