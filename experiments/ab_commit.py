"""The copy training step of this checkout's library against the same step of the library at another commit,
timed interleaved in one process (with the controller-only step for the ratio the speed targets use).

    python -m experiments.ab_commit --commit 1f73853 --batch-size 1 8 32 --runs 3 --out ab.json

The other commit's ``ntm`` package is taken with ``git archive`` into a temporary folder and imported under
another name (its own imports of ``ntm`` renamed), so both versions are compiled in one process and each
timed round runs every step once in turn: their ratio shares the machine's state, which drifts by up to 2x
between sittings on a shared CPU. The step is ``experiments.benchmark``'s: forward, backward and Adam on a
copy batch of lengths 1-20 padded to 41 steps, the paper's copy model, ``ntm.core.unroll`` under a plain
``jax.jit``; only the public core API (``NTMSpec``, ``init_params``, ``initial_state``, ``unroll``) is used,
so that any commit that has it can be compared.
"""

from __future__ import annotations

import argparse
import importlib
import json
import pathlib
import re
import statistics
import subprocess
import sys
import tempfile
import time

import jax
import jax.numpy as jnp
import optax

import tasks
from experiments import benchmark
from ntm import core
from tasks import metrics

REPO = pathlib.Path(__file__).resolve().parent.parent


def import_at(commit: str, folder: str):
    """The ``ntm.core`` module of ``commit``, imported as ``ntm_<sha>.core`` from ``folder``."""
    sha = subprocess.run(
        ["git", "rev-parse", "--short", commit], cwd=REPO, check=True, capture_output=True, text=True
    ).stdout.strip()
    name = f"ntm_{sha}"
    archive = subprocess.run(["git", "archive", sha, "ntm"], cwd=REPO, check=True, capture_output=True)
    subprocess.run(["tar", "-x", "-C", folder], input=archive.stdout, check=True)
    package = pathlib.Path(folder) / name
    (pathlib.Path(folder) / "ntm").rename(package)
    for path in package.glob("*.py"):
        text = re.sub(r"^(\s*)(from|import) ntm\b", rf"\1\2 {name}", path.read_text(), flags=re.M)
        path.write_text(text)
    sys.path.insert(0, folder)
    try:  # the package imports all its modules on import; the folder need not stay on the path
        return importlib.import_module(f"{name}.core"), sha
    finally:
        sys.path.remove(folder)


def build(core_module, batch_size: int, heads: int = 1, controller_size: int = 100):
    """The benchmark's copy training step, written against ``core_module``'s public API (``heads`` read and
    as many write heads)."""
    task = tasks.get("copy", max_length=20)
    spec = core_module.NTMSpec(
        output_size=task.output_size,
        num_read_heads=heads,
        num_write_heads=heads,
        controller_size=controller_size,
    )
    params = core_module.init_params(spec, jax.random.key(0), task.input_size)
    optimizer = optax.chain(optax.clip_by_global_norm(50.0), optax.adam(1e-3))

    def loss(params, batch):
        state = core_module.initial_state(spec, params["initial"], batch.inputs.shape[:1])
        _, logits, _ = core_module.unroll(params, spec, state, jnp.moveaxis(batch.inputs, 1, 0))
        logits = jnp.moveaxis(logits, 0, 1)
        return jnp.mean(metrics.bits_per_sequence(logits, batch.targets, batch.mask))

    def step(params, opt_state, batch):
        updates, opt_state = optimizer.update(jax.grad(loss)(params, batch), opt_state, params)
        return optax.apply_updates(params, updates), opt_state

    batch = jax.device_put(task.sample((0, 0), batch_size))
    return params, optimizer.init(params), batch, step


def measure(
    cores: dict, batch_sizes, repeats: int, runs: int, heads: int = 1, controller_size: int = 100
) -> list[dict]:
    """Per run and batch size, the median step time of each version and of the controller-only step (the
    paper's copy model's, 100 units, whatever ``controller_size``)."""
    runners = []
    for b in batch_sizes:
        for name, core_module in cores.items():
            runners.append((b, name, *build(core_module, b, heads, controller_size)))
        case = benchmark.Case(batch_size=b, heads=heads, controller_only=True, default_compiler=True)
        _, params, opt_state, batches, step, _ = benchmark.build(case, jnp.float32)
        runners.append((b, "controller only", params, opt_state, batches[0], step))
    compiled = []
    for b, name, params, opt_state, batch, step in runners:
        fn = jax.jit(step).lower(params, opt_state, batch).compile()
        for _ in range(3):
            jax.block_until_ready(fn(params, opt_state, batch))
        compiled.append((b, name, fn, params, opt_state, batch))
    results = []
    for run in range(runs):
        times = {(b, name): [] for b, name, *_ in compiled}
        for _ in range(repeats):
            for b, name, fn, params, opt_state, batch in compiled:
                start = time.perf_counter()
                jax.block_until_ready(fn(params, opt_state, batch))
                times[(b, name)].append(time.perf_counter() - start)
        for b in batch_sizes:
            ms = {name: 1e3 * statistics.median(times[(b, name)]) for bb, name, *_ in compiled if bb == b}
            results.append({"run": run, "batch_size": b, "step_ms": ms})
    return results


def report(results: list[dict], names: list[str]) -> str:
    old, new = names
    header = f"{'run':>4} {'batch':>6} {old:>14} {new:>14} {'ctrl':>8} {'new/old':>8}"
    lines = [header + f" {'old/ctrl':>9} {'new/ctrl':>9}"]
    for r in results:
        ms = r["step_ms"]
        ctrl = ms["controller only"]
        lines.append(
            f"{r['run']:>4} {r['batch_size']:>6} {ms[old]:>11.2f} ms {ms[new]:>11.2f} ms {ctrl:>5.2f} ms "
            f"{ms[new] / ms[old]:>8.3f} {ms[old] / ctrl:>9.2f} {ms[new] / ctrl:>9.2f}"
        )
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m experiments.ab_commit", description=__doc__)
    parser.add_argument("--commit", required=True, help="the other version (any git revision)")
    parser.add_argument("--batch-size", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--repeats", type=int, default=25, help="timed rounds per run (median)")
    parser.add_argument("--runs", type=int, default=3, help="runs of --repeats rounds, each reported")
    parser.add_argument("--heads", type=int, default=1, help="read heads, and as many write heads")
    parser.add_argument("--controller-size", type=int, default=100, help="LSTM units")
    parser.add_argument("--out", default=None, help="where to write the JSON results")
    args = parser.parse_args(argv)
    if min(args.batch_size) < 1 or min(args.repeats, args.runs, args.heads, args.controller_size) < 1:
        parser.error("--batch-size, --repeats, --runs, --heads and --controller-size must be >= 1")
    with tempfile.TemporaryDirectory() as folder:
        other, sha = import_at(args.commit, folder)
        names = [f"at {sha}", "this checkout"]
        cores = dict(zip(names, (other, core), strict=True))
        results = measure(cores, args.batch_size, args.repeats, args.runs, args.heads, args.controller_size)
    print(report(results, names))
    if args.out:
        info = {
            "commit": sha,
            "device": str(jax.devices()[0]),
            "repeats": args.repeats,
            "heads": args.heads,
            "controller_size": args.controller_size,
            "results": results,
        }
        pathlib.Path(args.out).write_text(json.dumps(info, indent=1))
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
