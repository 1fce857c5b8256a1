"""XLA compile options that make NTM training faster, per backend.

Pass them to ``jax.jit``: ``jax.jit(train_step, compiler_options=ntm.compiler_options())``.

On CPU, XLA's YNN library fusions run memory-sized reductions of the NTM's backward pass slowly;
turning them off (``xla_cpu_experimental_ynn_fusion_type=""``) matters most for autodiff of the memory
step: with ``NTMSpec(memory_backward="remat")`` the paper's copy model's batch-32 training step took
0.41x its plain-jit time with these options on a 2-core CPU. With the default hand-written backward
(``memory_backward="custom"``), whose sums over the memory rows are grouped into few reductions, a plain
``jax.jit`` is as fast within the noise: the options take it to 0.91-0.98x of its own plain-jit time at
batch 32 and to 0.99-1.03x at batch 1 (experiments/benchmark.py --sections ablation; ratios of steps
timed interleaved in one process). Other backends get no options.
"""

from __future__ import annotations

import functools

import jax

_CPU_OPTIONS = {"xla_cpu_experimental_ynn_fusion_type": ""}


@functools.cache
def _supported(backend: str, name: str, value: str) -> bool:
    try:
        x = jax.device_put(0.0, jax.local_devices(backend=backend)[0])
        jax.jit(lambda x: x + 1, compiler_options={name: value})(x)
    except Exception:  # noqa: BLE001 - an XLA that does not know the option rejects it
        return False
    return True


def compiler_options(backend: str | None = None) -> dict[str, str] | None:
    """The options for ``backend`` (default: JAX's default backend) that this XLA accepts, or None."""
    backend = backend or jax.default_backend()
    if backend != "cpu":
        return None
    options = {k: v for k, v in _CPU_OPTIONS.items() if _supported(backend, k, v)}
    return options or None
