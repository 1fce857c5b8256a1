"""Training throughput of ``experiments.train``'s own step on each task's real training distribution:
batch sizes, several seeds in one program (``--seeds K``) against one, and length buckets against padding.

    python -m experiments.throughput --task copy repeat_copy associative_recall ngrams priority_sort \\
        --batch-size 1 8 32 --seeds 1 --length-buckets 4     # every task's figures
    python -m experiments.throughput --task copy --seeds 1 2 4 8 --length-buckets 4
    python -m experiments.throughput --task repeat_copy --seeds 1 --length-buckets 1 4 6
    python -m experiments.throughput --task copy --seeds 1 2 4 --num-devices 1 2   # seeds over devices
    python -m experiments.throughput --task copy --batch-size 1 32 --per-bucket    # update vs time step

Every combination of ``--task``, ``--batch-size``, ``--length-buckets``, ``--seeds`` and ``--num-devices``
(one device by default; on CPU the script makes the host devices asked for) is a Trainer with the task's
default config, except those whose batch the device mesh cannot split (``fits``; named on stderr). Its
training step is compiled for every bucket first (``compile_seconds``, all buckets together;
``peak_bytes`` is XLA's estimate for the longest one). Each round then times ``--steps`` consecutive
training steps of every combination in turn, so that a busy machine slows all alike; figures are medians
over ``--rounds`` rounds. The batches are drawn as training draws them once the task's own distribution
is reached (from the curriculum's last stage on, where the config has a curriculum: ``Trainer.task_from``).
Sampling them is not timed (it overlaps the step in training).
``x_first`` is a row's sequences per second over the first row of the same task and batch size.

``--per-bucket`` also times, each round, ``--steps`` steps of each length bucket alone
(``bucket_step_ms``, per edge) and fits the line ``step = fixed + per_step * length`` through them
(``fixed_ms``: what an update costs whatever its length; ``per_time_step_us``: each time step), for tasks
with two buckets or more.
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
import numpy as np

import tasks
from experiments import benchmark, train
from experiments import config as config_lib


@dataclasses.dataclass
class _Case:
    trainer: train.Trainer
    state: train.TrainState
    compiled: dict  # padded length -> the compiled training step for batches of that length
    compile_seconds: float
    peak_bytes: int | None
    times: list = dataclasses.field(default_factory=list)
    padded_steps: list = dataclasses.field(default_factory=list)
    bucket_times: dict = dataclasses.field(default_factory=dict)  # edge -> [seconds per step, per round]


def _compile_every_bucket(trainer: train.Trainer, state) -> tuple[dict, float]:
    """The training step compiled for each bucket's padded length, and the seconds that took."""
    edges = trainer.buckets.edges if trainer.buckets else (trainer.task.num_steps,)
    sample = trainer.batch(0)  # [K, B, T, ...]: time is axis 2 of every field
    begin = time.perf_counter()
    compiled = {}
    for length in edges:
        abstract = jax.tree.map(
            lambda x, n=length: jax.ShapeDtypeStruct(
                x.shape[:2] + (n,) + x.shape[3:], x.dtype, sharding=x.sharding
            ),
            sample,
        )
        compiled[length] = trainer.train_step.lower(state, abstract).compile()
    return compiled, time.perf_counter() - begin


def _time_steps(case: _Case, start: int, steps: int) -> float:
    batches = [case.trainer.batch(start + i) for i in range(steps)]
    case.padded_steps += [b.inputs.shape[2] for b in batches]
    return _time_batches(case, batches)


def fixed_and_per_step(lengths: list[int], seconds: list[float]) -> tuple[float, float]:
    """The least-squares line ``seconds = fixed + per_step * length`` through (length, seconds)."""
    per_step, fixed = np.polyfit(np.asarray(lengths, float), np.asarray(seconds, float), 1)
    return float(fixed), float(per_step)


def _time_batches(case: _Case, batches: list[tasks.Batch]) -> float:
    jax.block_until_ready(batches)
    state = case.state
    begin = time.perf_counter()
    for batch in batches:
        state, _ = case.compiled[batch.inputs.shape[2]](state, batch)
    jax.block_until_ready(state)
    case.state = state
    return time.perf_counter() - begin


def fits(batch_size: int, seeds: int, devices: int) -> bool:
    """Whether a run of ``seeds`` seeds at ``batch_size`` can use ``devices`` devices: each seed's batch
    is split over the mesh's data axis (``train.mesh_shape``)."""
    return batch_size % train.mesh_shape(devices, seeds)[1] == 0


def run(
    task_names: list[str],
    seeds: list[int],
    buckets: list[int],
    batch_sizes: list[int],
    steps: int,
    rounds: int,
    smoke: bool = False,
    per_bucket: bool = False,
    num_devices: tuple[int, ...] = (1,),
) -> dict:
    keys = [
        (task, b, n, k, d)
        for task, b, n, k, d in itertools.product(task_names, batch_sizes, buckets, seeds, num_devices)
        if fits(b, k, d)
    ]
    cases = {}
    for key in keys:
        task, b, n, k, d = key
        config = dataclasses.replace(
            config_lib.task_config(task, smoke=smoke), seeds=k, batch_size=b, length_buckets=n, num_devices=d
        )
        trainer = train.Trainer(config)
        state = trainer.init_state()
        compiled, seconds = _compile_every_bucket(trainer, state)
        case = _Case(trainer, state, compiled, seconds, benchmark.peak_bytes(compiled[max(compiled)]))
        _time_steps(case, 0, 2)  # two untimed steps first
        case.padded_steps.clear()
        cases[key] = case
    for r in range(rounds):
        for key in keys:
            case = cases[key]
            full = case.trainer.task_from  # not an easier curriculum stage
            case.times.append(_time_steps(case, full + 10_000 + r * steps, steps))
            if per_bucket and case.trainer.buckets is not None and len(case.trainer.buckets.edges) > 1:
                for i, edge in enumerate(case.trainer.buckets.edges):
                    start = full + 20_000 + r * steps
                    batches = [case.trainer.batch(start + j, bucket=i) for j in range(steps)]
                    case.bucket_times.setdefault(edge, []).append(_time_batches(case, batches) / steps)
    rows = []
    for (task, b, n, k, d), case in cases.items():
        per_step = statistics.median(case.times) / steps
        rows.append(
            {
                "task": task,
                "batch_size": b,
                "length_buckets": n,
                "edges": sorted(case.compiled),
                "seeds": k,
                "num_devices": d,
                "mean_padded_steps": statistics.mean(case.padded_steps),
                "step_ms": 1e3 * per_step,
                "sequences_per_second": k * b / per_step,
                "updates_per_second_per_seed": 1 / per_step,
                "compile_seconds": case.compile_seconds,
                "peak_bytes": case.peak_bytes,
            }
        )
        if case.bucket_times:
            medians = {edge: statistics.median(t) for edge, t in sorted(case.bucket_times.items())}
            fixed, slope = fixed_and_per_step(list(medians), list(medians.values()))
            rows[-1]["bucket_step_ms"] = {str(edge): 1e3 * t for edge, t in medians.items()}
            rows[-1]["fixed_ms"] = 1e3 * fixed  # the line through them: the cost of an update ...
            rows[-1]["per_time_step_us"] = 1e6 * slope  # ... and of each time step in it
    for row in rows:
        first = next(r for r in rows if (r["task"], r["batch_size"]) == (row["task"], row["batch_size"]))
        row["x_first"] = row["sequences_per_second"] / first["sequences_per_second"]
    return {
        "steps_per_round": steps,
        "rounds": rounds,
        "device": str(jax.devices()[0]),
        "machine": platform.machine(),
        "rows": rows,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m experiments.throughput",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--task", nargs="+", default=["copy"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--length-buckets", type=int, nargs="+", default=[4])
    parser.add_argument("--batch-size", type=int, nargs="+", default=[1])
    parser.add_argument(
        "--num-devices",
        type=int,
        nargs="+",
        default=[1],
        help="devices per run; on CPU the script makes that many host devices (JAX_NUM_CPU_DEVICES)",
    )
    parser.add_argument("--steps", type=int, default=200, help="steps timed per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--out", default=None, help="write the JSON here")
    parser.add_argument("--smoke", action="store_true", help="the task's tiny smoke model (for tests)")
    parser.add_argument(
        "--per-bucket",
        action="store_true",
        help="also time steps of each bucket alone, and fit the cost of an update and of a time step",
    )
    args = parser.parse_args(argv)
    numbers = [*args.seeds, *args.length_buckets, *args.batch_size, *args.num_devices]
    numbers += [args.steps, args.rounds]
    if min(numbers) < 1:
        print(
            "error: --seeds, --length-buckets, --batch-size, --num-devices, --steps and --rounds must be "
            ">= 1",
            file=sys.stderr,
        )
        return 2
    unknown = [t for t in args.task if t not in tasks.names()]
    if unknown:
        print(
            f"error: unknown --task {', '.join(unknown)}; known: {', '.join(tasks.names())}",
            file=sys.stderr,
        )
        return 2
    wanted = max(args.num_devices)
    train.make_host_devices(wanted)
    if jax.device_count() < wanted:
        print(
            f"error: --num-devices {wanted}, but {jax.device_count()} device(s) are visible", file=sys.stderr
        )
        return 2
    combinations = itertools.product(args.batch_size, args.seeds, args.num_devices)
    skipped = [(b, k, d) for b, k, d in combinations if not fits(b, k, d)]
    for b, k, d in skipped:
        print(f"skipped: batch {b} of {k} seed(s) cannot be split over {d} devices", file=sys.stderr)
    if len(skipped) == len(args.batch_size) * len(args.seeds) * len(args.num_devices):
        print("error: no combination of --batch-size, --seeds and --num-devices fits", file=sys.stderr)
        return 2
    result = run(
        args.task,
        args.seeds,
        args.length_buckets,
        args.batch_size,
        args.steps,
        args.rounds,
        args.smoke,
        args.per_bucket,
        tuple(args.num_devices),
    )
    print(
        f"{'task':>20}{'batch':>6}{'buckets':>8}{'seeds':>6}{'devs':>5}{'steps':>7}{'step ms':>10}"
        f"{'seq/s':>10}{'x first':>9}{'compile s':>11}{'peak MiB':>10}"
    )
    for row in result["rows"]:
        peak = "-" if row["peak_bytes"] is None else f"{row['peak_bytes'] / 2**20:.1f}"
        print(
            f"{row['task']:>20}{row['batch_size']:>6}{row['length_buckets']:>8}{row['seeds']:>6}"
            f"{row['num_devices']:>5}"
            f"{row['mean_padded_steps']:>7.1f}{row['step_ms']:>10.2f}{row['sequences_per_second']:>10.0f}"
            f"{row['x_first']:>9.2f}{row['compile_seconds']:>11.1f}{peak:>10}"
        )
        if "bucket_step_ms" in row:
            per_edge = ", ".join(f"{edge} steps {ms:.2f} ms" for edge, ms in row["bucket_step_ms"].items())
            print(
                f"{'':>20}per bucket: {per_edge}; {row['fixed_ms']:.2f} ms per update "
                f"+ {row['per_time_step_us']:.1f} us per time step"
            )
    if args.out:
        pathlib.Path(args.out).write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
