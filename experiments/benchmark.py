"""Benchmark the NTM training step: throughput, per-step time, compile time, scaling and peak memory.

    python -m experiments.benchmark             # the full table (a few minutes on 2 CPU cores)
    python -m experiments.benchmark --quick     # a one-minute subset
    python -m experiments.benchmark --sections dnc --out dnc.json   # the DNC against the NTM only
    python -m experiments.benchmark --device gpu --dtype bfloat16 --out results.json

A training step is forward + backward + Adam update on a batch of the copy task's training distribution
(lengths 1-20, padded to 41 steps) with the paper's copy model (LSTM 100, memory 128 x 20, one read and
one write head). Times are medians over repeated runs after a warm-up. The controller-only model is the
same network without the memory (controller, head projections and output layer): the floor the NTM's
memory cost is measured against, as a ratio taken in the same process.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import statistics
import sys
import time
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax

import ntm
import tasks
from ntm import controllers, core
from tasks import metrics


@dataclasses.dataclass(frozen=True)
class Case:
    """One benchmarked configuration."""

    batch_size: int = 32
    memory_size: int = 128
    max_length: int = 20  # copy lengths 1..max_length, padded to 2 * max_length + 1 steps
    heads: int = 1  # read heads = write heads (the DNC: read heads, and its one write head)
    model: str = "ntm"  # or "dnc": the same core with the DNC's memory access
    controller_only: bool = False
    remat: bool = False
    # Ablations: undo one of the speed-ups to measure what it buys.
    memory_backward: str = core.NTMSpec.memory_backward  # or the others of core.MEMORY_BACKWARDS
    default_compiler: bool = False  # XLA's default options (no ntm.compiler_options())
    cell: bool = False  # the NTM as a user's Linen model: nn.RNN(ntm.NTMCell(...)), not core.unroll


def controller_only_unroll(params, spec: core.NTMSpec, state, inputs):
    """The NTM's step without memory: controller, head projection and output layer (same sizes)."""
    projected = core.project_inputs(params, spec, inputs)

    def body(ctrl_state, proj):
        h, ctrl_state = controllers.controller_step(params["controller"], spec.controller, ctrl_state, proj)
        raw = jnp.clip(h @ params["heads"]["kernel"] + params["heads"]["bias"], -20, 20)
        reads = jnp.tanh(raw[..., : spec.read_size])  # stand-in read vectors of the right width
        return ctrl_state, jnp.concatenate([h, reads], axis=-1)

    _, features = jax.lax.scan(body, state.controller, projected)
    return core.readout(params, spec, features)


class _CellModel(nn.Module):
    """What a user who drops the cell into a Linen model writes: ``nn.RNN`` over ``ntm.NTMCell``, from
    the cell's learned initial state."""

    output_size: int
    memory_size: int
    heads: int
    memory_backward: str
    dtype: Any

    @nn.compact
    def __call__(self, inputs):
        cell = ntm.NTMCell(
            self.output_size,
            memory_size=self.memory_size,
            num_read_heads=self.heads,
            num_write_heads=self.heads,
            memory_backward=self.memory_backward,
            dtype=self.dtype,
        )
        return nn.RNN(cell)(inputs, initial_carry=cell.initial_state(inputs.shape[:1]))


def build(case: Case, dtype):
    task = tasks.get("copy", max_length=case.max_length)
    if case.model == "dnc":
        spec = ntm.DNCSpec(
            output_size=task.output_size, memory_size=case.memory_size, num_read_heads=case.heads, dtype=dtype
        )
    else:
        spec = core.NTMSpec(
            output_size=task.output_size,
            memory_size=case.memory_size,
            num_read_heads=case.heads,
            num_write_heads=case.heads,
            dtype=dtype,
            memory_backward=case.memory_backward,
        )
    optimizer = optax.chain(optax.clip_by_global_norm(50.0), optax.adam(1e-3))
    if case.cell:
        if case.model != "ntm" or case.controller_only or case.remat:
            raise ValueError(f"cell=True times the NTM's Linen cell only, not {case}")
        cell_model = _CellModel(task.output_size, case.memory_size, case.heads, case.memory_backward, dtype)
        params = cell_model.init(jax.random.key(0), jnp.zeros((1, task.num_steps, task.input_size)))
    else:
        params = core.init_params(spec, jax.random.key(0), task.input_size)

    def forward(params, inputs):
        if case.cell:
            return cell_model.apply(params, inputs).astype(jnp.float32)
        state = core.initial_state(spec, params["initial"], inputs.shape[:1])
        time_major = jnp.moveaxis(inputs, 1, 0)
        if case.controller_only:
            logits = controller_only_unroll(params, spec, state, time_major)
        else:
            _, logits, _ = core.unroll(params, spec, state, time_major, remat=case.remat)
        return jnp.moveaxis(logits, 0, 1).astype(jnp.float32)

    def loss(params, batch):
        return jnp.mean(metrics.bits_per_sequence(forward(params, batch.inputs), batch.targets, batch.mask))

    def train_step(params, opt_state, batch):
        grads = jax.grad(loss)(params, batch)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state

    batches = [
        jax.device_put(task.sample((0, i), case.batch_size)) for i in range(4)
    ]  # a few, reused: sampling is not what is measured
    return task, params, optimizer.init(params), batches, train_step, forward


def _median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(fn())
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def peak_bytes(compiled) -> int | None:
    """XLA's estimate of a compiled program's peak memory: temporaries, arguments and outputs, less what
    donation lets outputs reuse (None where the backend gives no analysis)."""
    memory = compiled.memory_analysis()
    if memory is None:
        return None
    return int(
        memory.temp_size_in_bytes
        + memory.argument_size_in_bytes
        + memory.output_size_in_bytes
        - memory.alias_size_in_bytes
    )


def measure(case: Case, dtype, repeats: int, forward_only: bool = False) -> dict:
    task, params, opt_state, batches, train_step, forward = build(case, dtype)
    options = None if case.default_compiler else ntm.compiler_options()
    step = jax.jit(train_step, donate_argnums=(0, 1), compiler_options=options)
    start = time.perf_counter()
    compiled = step.lower(params, opt_state, batches[0]).compile()
    compile_seconds = time.perf_counter() - start
    peak = peak_bytes(compiled)
    state = {"params": params, "opt_state": opt_state, "i": 0}

    def run_step():
        state["params"], state["opt_state"] = compiled(
            state["params"], state["opt_state"], batches[state["i"] % len(batches)]
        )
        state["i"] += 1
        return state["params"]

    for _ in range(3):  # warm-up
        jax.block_until_ready(run_step())
    seconds = _median_time(run_step, repeats)
    result = {
        **dataclasses.asdict(case),
        "steps_per_sequence": task.num_steps,
        "compile_seconds": compile_seconds,
        "train_step_ms": 1e3 * seconds,
        "sequences_per_second": case.batch_size / seconds,
        "us_per_time_step": 1e6 * seconds / task.num_steps,
        "peak_bytes": peak,
    }
    if forward_only:
        fwd = jax.jit(forward, compiler_options=options)
        params = state["params"]  # the originals were donated to the training step
        jax.block_until_ready(fwd(params, batches[0].inputs))
        result["forward_ms"] = 1e3 * _median_time(lambda: fwd(params, batches[0].inputs), repeats)
    return result


def measure_interleaved(cases: list[Case], dtype, repeats: int) -> list[dict]:
    """Median step times of several cases timed in turn, so that their ratios share the machine's state."""
    runners = []
    for case in cases:
        task, params, opt_state, batches, train_step, _ = build(case, dtype)
        options = None if case.default_compiler else ntm.compiler_options()
        step = jax.jit(train_step, compiler_options=options)
        compiled = step.lower(params, opt_state, batches[0]).compile()
        for _ in range(3):
            jax.block_until_ready(compiled(params, opt_state, batches[0]))
        runners.append((case, compiled, params, opt_state, batches[0], []))
    for _ in range(repeats):
        for _, compiled, params, opt_state, batch, times in runners:
            start = time.perf_counter()
            jax.block_until_ready(compiled(params, opt_state, batch))
            times.append(time.perf_counter() - start)
    rows = []
    for case, *_, times in runners:
        seconds = statistics.median(times)
        rows.append({**dataclasses.asdict(case), "train_step_ms": 1e3 * seconds})
    return rows


def run_dnc(dtype, repeats: int) -> list[dict]:
    """The DNC's step against the NTM's, timed interleaved, at batch 1 and 32 and over memory rows N (its
    link matrix is N x N, the NTM's largest per-step value N x M)."""
    rows = []
    for b, n in ((1, 128), (32, 32), (32, 128), (32, 256), (32, 512)):
        pair = [Case(batch_size=b, memory_size=n), Case(batch_size=b, memory_size=n, model="dnc")]
        rows += measure_interleaved(pair, dtype, repeats)
    return rows


SECTIONS = ("throughput", "ablation", "scaling", "dnc")


def run(args) -> dict:
    dtype = jnp.bfloat16 if args.dtype == "bfloat16" else jnp.float32
    repeats = 5 if args.quick else args.repeats
    batches = (1, 32) if args.quick else (1, 8, 32, 128)
    rows = {"throughput": [], "ablation": [], "memory_rows": [], "length": [], "heads": [], "dnc": []}
    sections = args.sections or SECTIONS
    if "dnc" in sections:
        rows["dnc"] = run_dnc(dtype, repeats)
    for b in batches if "throughput" in sections else ():
        for controller_only in (False, True):
            rows["throughput"].append(
                measure(
                    Case(batch_size=b, controller_only=controller_only), dtype, repeats, forward_only=True
                )
            )
    for b in (1, 32) if "ablation" in sections else ():
        # The shipped step first, then each memory backward with and without the compiler options.
        shipped = Case(batch_size=b)
        cases = [shipped] + [
            Case(batch_size=b, memory_backward=backward, default_compiler=default_compiler)
            for backward in core.MEMORY_BACKWARDS
            for default_compiler in (False, True)
            if (backward, default_compiler) != (shipped.memory_backward, shipped.default_compiler)
        ]
        # And the floor, the controller-only step, both ways: the NTM / controller ratio under plain jit;
        # and the cell in a user's nn.RNN under plain jit, which has no scan of the library's own.
        cases += [Case(batch_size=b, controller_only=True, default_compiler=plain) for plain in (False, True)]
        cases += [Case(batch_size=b, cell=True, default_compiler=True)]
        rows["ablation"] += measure_interleaved(cases, dtype, repeats)
    if not args.quick and "scaling" in sections:
        for n in (32, 128, 512, 1024):
            rows["memory_rows"].append(measure(Case(memory_size=n), dtype, repeats))
        for length in (10, 50, 100, 250, 500):
            rows["length"].append(measure(Case(max_length=length, batch_size=8), dtype, max(3, repeats // 3)))
            rows["length"].append(
                measure(Case(max_length=length, batch_size=8, remat=True), dtype, max(3, repeats // 3))
            )
        for heads in (1, 2, 4, 8):
            rows["heads"].append(measure(Case(heads=heads), dtype, repeats))
    return rows


def plain_jit_ratios(ablation: list[dict], cell: bool = False) -> dict[int, float]:
    """Per batch size, the default NTM step (``core.unroll``'s, or with ``cell`` the Linen cell's in
    ``nn.RNN``) over the controller-only step, both under a plain jax.jit."""
    plain = {}
    for r in ablation:
        default = r["memory_backward"] == Case.memory_backward and r.get("cell", False) == cell
        if r["default_compiler"] and (r["controller_only"] or default):
            plain.setdefault(r["batch_size"], {})[r["controller_only"]] = r["train_step_ms"]
    return {b: v[False] / v[True] for b, v in plain.items() if len(v) == 2}


def _fmt_bytes(n):
    return "-" if n is None else f"{n / 2**20:.1f} MiB"


def report(rows: dict) -> str:
    lines = []
    if rows.get("dnc"):
        lines.append("DNC against NTM, same core and sizes, one read head (timed interleaved; medians)")
        for ntm_row, dnc_row in zip(rows["dnc"][::2], rows["dnc"][1::2], strict=True):
            a, b = ntm_row["train_step_ms"], dnc_row["train_step_ms"]
            lines.append(
                f"  batch {ntm_row['batch_size']:>3} N={ntm_row['memory_size']:>4}: NTM {a:8.2f} ms, "
                f"DNC {b:8.2f} ms  ({b / a:.2f}x)"
            )
    throughput = rows["throughput"]
    if throughput:
        lines.append("Training step on copy (lengths 1-20, 41 steps), paper's model; medians")
        lines.append(
            f"{'batch':>6} {'model':<16} {'step ms':>9} {'seq/s':>8} {'us/t-step':>10} "
            f"{'fwd ms':>8} {'compile s':>10} {'peak':>10}"
        )
        for r in throughput:
            model = "controller only" if r["controller_only"] else "NTM"
            lines.append(
                f"{r['batch_size']:>6} {model:<16} {r['train_step_ms']:>9.2f} "
                f"{r['sequences_per_second']:>8.0f} "
                f"{r['us_per_time_step']:>10.1f} {r['forward_ms']:>8.2f} {r['compile_seconds']:>10.1f} "
                f"{_fmt_bytes(r['peak_bytes']):>10}"
            )
        by_batch = {}
        for r in throughput:
            by_batch.setdefault(r["batch_size"], {})[r["controller_only"]] = r["train_step_ms"]
        lines.append(
            "NTM / controller-only step time: "
            + ", ".join(f"batch {b}: {v[False] / v[True]:.2f}x" for b, v in by_batch.items())
        )
    if rows["ablation"]:
        lines.append("\nWhat each speed-up buys (timed interleaved; ratio to the shipped step)")
        shipped = {}
        for r in rows["ablation"]:
            key = r["batch_size"]
            first = key not in shipped  # each batch's first row is the shipped step
            shipped.setdefault(key, r["train_step_ms"])
            options = "plain jax.jit" if r["default_compiler"] else "ntm.compiler_options()"
            model = "controller only" if r["controller_only"] else f"memory_backward={r['memory_backward']!r}"
            model = "nn.RNN(ntm.NTMCell)" if r.get("cell") else model
            name = f"{model}, {options}" + (" (shipped)" if first else "")
            ms = r["train_step_ms"]
            lines.append(f"  batch {key:>3} {name:<66} {ms:8.2f} ms  {ms / shipped[key]:.2f}x")
        for key, ratio in plain_jit_ratios(rows["ablation"]).items():
            lines.append(f"  batch {key:>3}: NTM / controller-only step under plain jax.jit: {ratio:.2f}x")
        for key, ratio in plain_jit_ratios(rows["ablation"], cell=True).items():
            lines.append(f"  batch {key:>3}: the same for nn.RNN(ntm.NTMCell): {ratio:.2f}x")
    if rows["memory_rows"]:
        lines.append("\nScaling with memory rows N (batch 32)")
        for r in rows["memory_rows"]:
            lines.append(
                f"  N={r['memory_size']:>5}: {r['train_step_ms']:8.2f} ms  peak {_fmt_bytes(r['peak_bytes'])}"
            )
        lines.append("\nScaling with sequence length (batch 8; copy of length L is 2L+1 steps)")
        for r in rows["length"]:
            tag = "remat" if r["remat"] else "plain"
            lines.append(
                f"  L={r['max_length']:>4} ({r['steps_per_sequence']:>4} steps) {tag}: "
                f"{r['train_step_ms']:9.2f} ms  peak {_fmt_bytes(r['peak_bytes'])}"
            )
        lines.append("\nScaling with heads (read = write heads, batch 32)")
        for r in rows["heads"]:
            lines.append(f"  heads={r['heads']}: {r['train_step_ms']:8.2f} ms")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m experiments.benchmark", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="batch 1 and 32 only, fewer repeats")
    parser.add_argument("--repeats", type=int, default=20, help="timed runs per case (median)")
    parser.add_argument("--device", default=None, help="cpu, gpu or tpu (default: JAX's default)")
    parser.add_argument("--dtype", default="float32", choices=("float32", "bfloat16"))
    parser.add_argument(
        "--sections", nargs="*", choices=SECTIONS, default=None, help="run only these (default: all)"
    )
    parser.add_argument("--out", default="benchmark.json", help="where to write the JSON results")
    args = parser.parse_args(argv)
    if args.device:
        jax.config.update("jax_platforms", args.device)
    rows = run(args)
    result = {
        "device": str(jax.devices()[0]),
        "device_count": jax.device_count(),
        "platform": platform.platform(),
        "jax": jax.__version__,
        "ntm": ntm.__version__,
        "dtype": args.dtype,
        "quick": args.quick,
        **rows,
        "ntm_over_controller_plain_jit": plain_jit_ratios(rows["ablation"]),
        "cell_over_controller_plain_jit": plain_jit_ratios(rows["ablation"], cell=True),
    }
    with open(args.out, "w") as f:
        json.dump(result, f, indent=2)
    print(report(rows))
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
