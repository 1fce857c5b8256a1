"""Training throughput of ``experiments.train``'s own step on a task's real training distribution:
several seeds in one program (``--seeds K``) against one, and length buckets against full padding.

    python -m experiments.throughput --task copy --seeds 1 2 4 8 --length-buckets 4
    python -m experiments.throughput --task repeat_copy --seeds 1 --length-buckets 1 4 6

Every combination of ``--seeds`` and ``--length-buckets`` is a Trainer with the task's default config
(batch size from ``--batch-size``). Each round times ``--steps`` consecutive training steps of every
combination in turn, after a warm-up that compiles every bucket, so that a busy machine slows all alike;
figures are medians over ``--rounds`` rounds. Sampling the batches is not timed (it overlaps the step in
training). ``x first`` is a row's sequences per second over the first row's.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
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
    batches = [trainer.batch(start + i) for i in range(steps)]
    jax.block_until_ready(batches)
    begin = time.perf_counter()
    for batch in batches:
        state, _ = trainer.train_step(state, batch)
    jax.block_until_ready(state)
    return state, time.perf_counter() - begin


def run(
    task: str, seeds: list[int], buckets: list[int], batch_size: int, steps: int, rounds: int, smoke=False
) -> dict:
    cases = list(itertools.product(buckets, seeds))
    trainers, states, compile_seconds = {}, {}, {}
    for n, k in cases:
        config = dataclasses.replace(
            config_lib.task_config(task, smoke=smoke), seeds=k, batch_size=batch_size, length_buckets=n
        )
        trainer = train.Trainer(config)
        state = trainer.init_state()
        begin = time.perf_counter()
        warm = 8 * len(trainer.buckets.edges) if trainer.buckets else 1
        for step in range(warm):  # every bucket compiled (drawn with high probability)
            state, _ = trainer.train_step(state, trainer.batch(step))
        jax.block_until_ready(state)
        compile_seconds[(n, k)] = time.perf_counter() - begin
        trainers[(n, k)], states[(n, k)] = trainer, state
    times = {case: [] for case in cases}
    for r in range(rounds):
        for case in cases:
            states[case], seconds = _time_steps(trainers[case], states[case], 10_000 + r * steps, steps)
            times[case].append(seconds)
    rows = []
    for n, k in cases:
        per_step = statistics.median(times[(n, k)]) / steps
        edges = (
            trainers[(n, k)].buckets.edges if trainers[(n, k)].buckets else (trainers[(n, k)].task.num_steps,)
        )
        rows.append(
            {
                "length_buckets": n,
                "edges": list(edges),
                "seeds": k,
                "step_ms": 1e3 * per_step,
                "sequences_per_second": k * batch_size / per_step,
                "updates_per_second_per_seed": 1 / per_step,
                "warm_up_seconds": compile_seconds[(n, k)],
            }
        )
    for row in rows:
        row["x_first"] = row["sequences_per_second"] / rows[0]["sequences_per_second"]
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
    parser = argparse.ArgumentParser(prog="python -m experiments.throughput", description=__doc__)
    parser.add_argument("--task", default="copy")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--length-buckets", type=int, nargs="+", default=[4])
    parser.add_argument("--batch-size", type=int, default=1)
    parser.add_argument("--steps", type=int, default=200, help="steps timed per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--out", default=None, help="write the JSON here")
    parser.add_argument("--smoke", action="store_true", help="the task's tiny smoke model (for tests)")
    args = parser.parse_args(argv)
    if min(args.seeds + args.length_buckets + [args.steps, args.rounds, args.batch_size]) < 1:
        print(
            "error: --seeds, --length-buckets, --steps, --rounds and --batch-size must be >= 1",
            file=sys.stderr,
        )
        return 2
    result = run(
        args.task, args.seeds, args.length_buckets, args.batch_size, args.steps, args.rounds, args.smoke
    )
    print(f"{'buckets':>8}{'seeds':>6}{'step ms':>10}{'seq/s':>10}{'x first':>9}{'warm-up s':>11}")
    for row in result["rows"]:
        print(
            f"{row['length_buckets']:>8}{row['seeds']:>6}{row['step_ms']:>10.2f}"
            f"{row['sequences_per_second']:>10.0f}{row['x_first']:>9.2f}{row['warm_up_seconds']:>11.1f}"
        )
    if args.out:
        pathlib.Path(args.out).write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
