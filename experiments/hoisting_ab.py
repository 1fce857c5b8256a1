"""The training step with and without the hoisted weight gradients (``ntm.core._scan_hoisted``), timed
interleaved in one process on the same batches: ``experiments.train``'s own step (each task's config, 4
length buckets, one seed) at batch 1 and 32, the plain scan's autodiff swapped in for the other.

    python -m experiments.hoisting_ab --task copy repeat_copy \
        --out experiments/results/throughput_hoisting_cpu.json

Each case draws 50 training batches, compiles every bucket, then times 7 rounds of the 50 steps, the two
variants in turn; figures are medians over the rounds, and ``ratio`` is hoisted over plain.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time

import jax
import numpy as np

from experiments import config as config_lib
from experiments import train
from ntm import core

BATCHES, ROUNDS = 50, 7


def measure(task: str, batch_size: int) -> dict:
    config = dataclasses.replace(
        config_lib.task_config(task), batch_size=batch_size, seeds=1, length_buckets=4
    )
    variants, hoisted = {}, core._scan_hoisted
    try:
        # The custom_vjp's own function is the plain scan, which autodiff then differentiates.
        for name, scan in (("plain", hoisted.fun), ("hoisted", hoisted)):
            core._scan_hoisted = scan  # read by core.unroll when the step is traced, here
            trainer = train.Trainer(config)
            first = trainer.task_from  # the task's own distribution, after any curriculum
            batches = [trainer.batch(first + step) for step in range(BATCHES)]
            state = trainer.init_state()
            for batch in batches:  # compiles every bucket drawn
                state, _ = trainer.train_step(state, batch)
            variants[name] = [trainer, jax.block_until_ready(state), batches]
    finally:
        core._scan_hoisted = hoisted
    times = {name: [] for name in variants}
    for _ in range(ROUNDS):
        for name, (trainer, state, batches) in variants.items():
            start = time.perf_counter()
            for batch in batches:
                state, _ = trainer.train_step(state, batch)
            variants[name][1] = jax.block_until_ready(state)
            times[name].append((time.perf_counter() - start) / len(batches))
    ms = {name: 1e3 * float(np.median(t)) for name, t in times.items()}
    return {
        "task": task,
        "batch_size": batch_size,
        "plain_step_ms": ms["plain"],
        "hoisted_step_ms": ms["hoisted"],
        "ratio": ms["hoisted"] / ms["plain"],
        "plain_sequences_per_second": 1e3 * batch_size / ms["plain"],
        "hoisted_sequences_per_second": 1e3 * batch_size / ms["hoisted"],
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m experiments.hoisting_ab", description=__doc__)
    parser.add_argument("--task", nargs="+", default=["copy", "repeat_copy"])
    parser.add_argument("--batch-size", type=int, nargs="+", default=[1, 32])
    parser.add_argument("--out", default=None, help="where to write the JSON rows")
    args = parser.parse_args(argv)
    rows = []
    for task in args.task:
        for batch_size in args.batch_size:
            rows.append(measure(task, batch_size))
            print(json.dumps(rows[-1]), flush=True)
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"rounds": ROUNDS, "batches": BATCHES, "rows": rows}, f, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
