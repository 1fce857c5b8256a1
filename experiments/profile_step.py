"""Where the NTM's training step spends its time: XLA's own per-kernel times, from JAX's profiler.

    python -m experiments.profile_step --batch-size 32                  # the benchmark's copy step
    python -m experiments.profile_step --batch-size 1 32 --plain-jit    # without ntm.compiler_options()
    python -m experiments.profile_step --batch-size 32 --controller-only --top 20 --out profile.json

The step is ``experiments.benchmark``'s (forward, backward and Adam on a copy batch of lengths 1-L padded
to 2L + 1 steps, L = 20 unless ``--max-length`` says otherwise, the paper's copy model). It is compiled,
run a few times, then run ``--steps`` times under ``jax.profiler.trace``; every event the trace gives an
HLO instruction of the compiled program is summed per instruction and divided by the steps. Each row is
one instruction (a fusion is one kernel): its time per training step, its calls per step (2L + 1 inside a
time loop), its share of all the instructions' time, the computation it belongs to (``loop N``: the body
of the program's N-th while loop, in the order the program text gives them; ``outside``: everything else)
and its HLO text, shortened. The instructions' times can sum to more than the step's wall time, which is
also given (median over the profiled steps): XLA's CPU runtime runs independent kernels side by side on
its threads. The trace costs each kernel about a microsecond (at batch 1, about 11,000 kernels a step,
the step took 16.5 ms traced and about 2 untraced): profile batch 8 and up, and read batch 1's rows for
their calls. Per-kernel times need a quiet machine as much as any timing.
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import glob
import gzip
import json
import re
import statistics
import sys
import tempfile
import time

import jax
import jax.numpy as jnp

import ntm
from experiments import benchmark

_INSTRUCTION = re.compile(r"\s*(?:ROOT )?%([\w.\-]+) = (.*)")
_COMPUTATION = re.compile(r"^(?:ENTRY )?%([\w.\-]+) .*\{$")


def instructions(hlo_text: str) -> dict[str, tuple[str, str]]:
    """Instruction name -> (its computation's name, its text without metadata), from a compiled module."""
    found, computation = {}, None
    for line in hlo_text.splitlines():
        start = _COMPUTATION.match(line)
        if start:
            computation = start.group(1)
            continue
        match = _INSTRUCTION.match(line)
        if match and computation is not None:
            text = re.sub(r",? ?metadata=\{[^}]*\}|, backend_config=.*", "", match.group(2))
            found.setdefault(match.group(1), (computation, text))
    return found


def loop_bodies(hlo_text: str) -> list[str]:
    """The while loops' body computations, in the order the module's text gives the loops."""
    return list(dict.fromkeys(re.findall(r"while\(.*?body=%?([\w.\-]+)", hlo_text)))


def trace_events(log_dir: str) -> list[dict]:
    """The complete ("X") events of the Perfetto trace that ``jax.profiler.trace`` wrote under log_dir."""
    (path,) = glob.glob(f"{log_dir}/**/*.trace.json.gz", recursive=True)
    with gzip.open(path) as f:
        trace = json.load(f)
    events = trace["traceEvents"] if isinstance(trace, dict) else trace
    return [e for e in events if e.get("ph") == "X"]


def per_instruction(events: list[dict], hlo_text: str, steps: int) -> list[dict]:
    """One row per HLO instruction the events name: microseconds and calls per step, sorted by time."""
    known = instructions(hlo_text)
    loops = {body: f"loop {i}" for i, body in enumerate(loop_bodies(hlo_text))}
    micros, calls = collections.Counter(), collections.Counter()
    for e in events:
        # A while loop's own event spans its body's kernels, which have events of their own.
        if e["name"] in known and not re.search(r"\) (while|call|conditional)\(", known[e["name"]][1]):
            micros[e["name"]] += e.get("dur", 0.0)
            calls[e["name"]] += 1
    total = sum(micros.values()) or 1.0
    rows = []
    for name, us in micros.most_common():
        computation, text = known[name]
        rows.append(
            {
                "instruction": name,
                "us_per_step": us / steps,
                "calls_per_step": calls[name] / steps,
                "share": us / total,
                "where": loops.get(computation, "outside"),
                "hlo": text[:160],
            }
        )
    return rows


def profile(case: benchmark.Case, steps: int = 5) -> dict:
    """Profile ``steps`` training steps of ``case``; returns the step's median wall time and the rows."""
    task, params, opt_state, batches, train_step, _ = benchmark.build(case, jnp.float32)
    options = None if case.default_compiler else ntm.compiler_options()
    compiled = jax.jit(train_step, compiler_options=options).lower(params, opt_state, batches[0]).compile()
    for _ in range(3):
        jax.block_until_ready(compiled(params, opt_state, batches[0]))
    seconds = []
    with tempfile.TemporaryDirectory() as log_dir:
        with jax.profiler.trace(log_dir, create_perfetto_trace=True):
            for _ in range(steps):
                start = time.perf_counter()
                jax.block_until_ready(compiled(params, opt_state, batches[0]))
                seconds.append(time.perf_counter() - start)
        events = trace_events(log_dir)
    rows = per_instruction(events, compiled.as_text(), steps)
    by_where = collections.Counter()
    for r in rows:
        by_where[r["where"]] += r["us_per_step"]
    return {
        **dataclasses.asdict(case),
        "steps_per_sequence": task.num_steps,
        "profiled_steps": steps,
        "step_ms": 1e3 * statistics.median(seconds),
        "kernels_per_step": sum(r["calls_per_step"] for r in rows),
        "us_per_step_by_where": dict(by_where),
        "rows": rows,
    }


def report(result: dict, top: int) -> str:
    kind = (
        "controller only"
        if result["controller_only"]
        else f"NTM, memory backward {result['memory_backward']}"
    )
    jit = "plain jax.jit" if result["default_compiler"] else "ntm.compiler_options()"
    lines = [
        f"batch {result['batch_size']}, {kind}, {jit}: step {result['step_ms']:.2f} ms (median of "
        f"{result['profiled_steps']}), {result['kernels_per_step']:.0f} kernels per step; "
        "kernel time per step: "
        + ", ".join(
            f"{where} {us / 1e3:.2f} ms" for where, us in sorted(result["us_per_step_by_where"].items())
        ),
        f"{'us/step':>9} {'calls':>6} {'share':>6}  {'where':<8} instruction",
    ]
    for r in result["rows"][:top]:
        lines.append(
            f"{r['us_per_step']:9.0f} {r['calls_per_step']:6.0f} {100 * r['share']:5.1f}%  {r['where']:<8} "
            f"{r['instruction']} = {r['hlo'][:110]}"
        )
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m experiments.profile_step",
        description=__doc__,
        formatter_class=argparse.RawTextHelpFormatter,
    )
    parser.add_argument("--batch-size", type=int, nargs="+", default=[32])
    parser.add_argument("--controller-only", action="store_true", help="the same network without memory")
    parser.add_argument("--plain-jit", action="store_true", help="without ntm.compiler_options()")
    parser.add_argument(
        "--memory-backward", default=benchmark.Case.memory_backward, choices=ntm.core.MEMORY_BACKWARDS
    )
    parser.add_argument(
        "--max-length",
        type=int,
        default=benchmark.Case.max_length,
        help="copy lengths 1..L, padded to 2L + 1",
    )
    parser.add_argument("--steps", type=int, default=5, help="training steps profiled")
    parser.add_argument("--top", type=int, default=30, help="rows printed per batch size")
    parser.add_argument("--out", default=None, help="write every row as JSON here")
    args = parser.parse_args(argv)
    bad = [
        f"--{name} {value}"
        for name, values in (
            ("steps", [args.steps]),
            ("max-length", [args.max_length]),
            ("batch-size", args.batch_size),
        )
        for value in values
        if value < 1
    ]
    if bad or args.top < 0:
        print(
            f"error: {', '.join(bad) or f'--top {args.top}'}: --steps, --max-length and --batch-size "
            "must be >= 1, --top >= 0",
            file=sys.stderr,
        )
        return 2
    results = []
    for batch_size in args.batch_size:
        case = benchmark.Case(
            batch_size=batch_size,
            max_length=args.max_length,
            controller_only=args.controller_only,
            memory_backward=args.memory_backward,
            default_compiler=args.plain_jit,
        )
        results.append(profile(case, args.steps))
        print(report(results[-1], args.top), flush=True)
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"device": str(jax.devices()[0]), "results": results}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
