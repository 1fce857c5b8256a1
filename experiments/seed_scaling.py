"""How many sequences per second ``--seeds K`` trains, against one seed: the training step of
``experiments.train`` (vmapped over seeds, length buckets on), timed in one process, interleaved.

    python -m experiments.seed_scaling --task copy --seeds 1 2 4 8 --out experiments/results/seed_scaling.json

Each round times ``--steps`` consecutive training steps of every K in turn (after a warm-up that compiles
every bucket), so that a busy machine slows all K alike; the figures are medians over ``--rounds``
rounds. ``speedup`` is K seeds' sequences per second over one seed's: K would be perfect scaling.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import pathlib
import platform
import statistics
import sys
import time

import jax

from experiments import config as config_lib
from experiments import train


def _time_steps(trainer: train.Trainer, state, start: int, steps: int):
    batches = [trainer.batch(start + i) for i in range(steps)]  # sampling is not what is timed
    jax.block_until_ready(batches)
    begin = time.perf_counter()
    for batch in batches:
        state, _ = trainer.train_step(state, batch)
    jax.block_until_ready(state)
    return state, time.perf_counter() - begin


def run(task: str, seeds: list[int], batch_size: int, steps: int, rounds: int) -> dict:
    trainers, states = {}, {}
    for k in seeds:
        config = dataclasses.replace(config_lib.task_config(task), seeds=k, batch_size=batch_size)
        trainers[k] = train.Trainer(config)
        states[k] = trainers[k].init_state()
        for step in range(4 * len(trainers[k].buckets.edges) if trainers[k].buckets else 2):  # compile
            states[k], _ = trainers[k].train_step(states[k], trainers[k].batch(step))
    times = {k: [] for k in seeds}
    for r in range(rounds):
        for k in seeds:
            states[k], seconds = _time_steps(trainers[k], states[k], 1000 + r * steps, steps)
            times[k].append(seconds)
    rows = []
    for k in seeds:
        per_step = statistics.median(times[k]) / steps
        throughput = k * batch_size / per_step
        rows.append({"seeds": k, "step_ms": 1e3 * per_step, "sequences_per_second": throughput})
    one = rows[0]["sequences_per_second"] if seeds[0] == 1 else None
    for row in rows:
        row["speedup"] = None if one is None else row["sequences_per_second"] / one
    return {
        "task": task,
        "batch_size": batch_size,
        "steps_per_round": steps,
        "rounds": rounds,
        "device": str(jax.devices()[0]),
        "machine": platform.machine(),
        "rows": rows,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m experiments.seed_scaling", description=__doc__)
    parser.add_argument("--task", default="copy")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--batch-size", type=int, default=1)
    parser.add_argument("--steps", type=int, default=200, help="steps timed per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--out", default=None, help="write the JSON here")
    args = parser.parse_args(argv)
    if any(k < 1 for k in args.seeds) or args.steps < 1 or args.rounds < 1:
        print("error: --seeds, --steps and --rounds must be >= 1", file=sys.stderr)
        return 2
    result = run(args.task, sorted(set(args.seeds)), args.batch_size, args.steps, args.rounds)
    print(f"{'seeds':>6}{'step ms':>10}{'seq/s':>10}{'x one seed':>12}")
    for row in result["rows"]:
        speedup = "-" if row["speedup"] is None else f"{row['speedup']:.2f}"
        print(f"{row['seeds']:>6}{row['step_ms']:>10.2f}{row['sequences_per_second']:>10.0f}{speedup:>12}")
    if args.out:
        pathlib.Path(args.out).write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
