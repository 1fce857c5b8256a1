"""The NTM's memory access: how the controller's interface vector becomes weightings, reads and writes.

``ntm.core`` is the model shared by every memory (controller, output layer, learned initial state,
scan); a memory access module is what differs. This one is the NTM's (Graves et al. 2014): R read and W
write heads with content and location addressing (``ntm.heads``, ``ntm.addressing``), erase-then-add
writes (``ntm.memory``), and a state of memory, weightings and read vectors (:class:`ntm.NTMState`).
``ntm.dnc_access`` is the Differentiable Neural Computer's.

An access module provides, for its spec:

- ``interface_size(spec)``: P, the width of the raw interface vector the controller emits per step;
- ``init_initial(spec, dtype)``: its own learned initial-state parameters (merged into ``"initial"``);
- ``initial_state(spec, initial, memory, read_vectors, controller)``: the state at the start of a
  sequence, from the ``"initial"`` group, the initial memory ``[..., N, M]``, read vectors
  ``[..., R, M]`` and controller state, all already broadcast to the batch shape;
- ``step(spec, state, interface)``: one step of memory access, ``interface [..., P]`` (already bounded)
  -> ``(state, trace)``, the new state with its controller field untouched, and what to plot. (This
  module's also takes ``memory_columns``, which :func:`ntm.core.unroll` passes to it alone.)
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from ntm import heads
from ntm import memory_step as custom_memory_step
from ntm.state import NTMState, StepTrace

# Logit of row 0 above the others in the initial weightings, so that location-based addressing has a
# starting point (a uniform weighting is a fixed point of shift and sharpen).
INITIAL_WEIGHT_PEAK = 10.0


def interface_size(spec) -> int:
    """P, the width of the raw head-parameter vector (:attr:`ntm.NTMSpec.head_params_size`)."""
    return spec.head_params_size


def init_initial(spec, dtype=jnp.float32) -> dict:
    """The learned initial weightings' logits: ``read_weight_logits [R, N]``, ``write_weight_logits
    [W, N]``, peaked at row 0."""
    peaked = jnp.full((spec.memory_size,), -INITIAL_WEIGHT_PEAK).at[0].set(0.0)
    return {
        "read_weight_logits": jnp.tile(peaked, (spec.num_read_heads, 1)).astype(dtype),
        "write_weight_logits": jnp.tile(peaked, (spec.num_write_heads, 1)).astype(dtype),
    }


def initial_state(spec, initial: dict, memory, read_vectors, controller) -> NTMState:
    """The NTM's state at the start of a sequence (see the module docstring)."""
    batch_shape = read_vectors.shape[:-2]

    def weights(logits):
        w = jax.nn.softmax(logits.astype(jnp.float32), axis=-1)
        return jnp.broadcast_to(w, batch_shape + w.shape)

    return NTMState(
        memory=memory,
        read_weights=weights(initial["read_weight_logits"]),
        write_weights=weights(initial["write_weight_logits"]),
        read_vectors=read_vectors,
        controller=controller,
    )


def memory_step(spec):
    """The memory side of one step as :attr:`ntm.NTMSpec.memory_backward` differentiates it, on the
    activated head parameters: the signature and outputs of :func:`ntm.heads.memory_step`. (:func:`step`
    calls :func:`ntm.memory_step.memory_step_from_interface` for ``"custom"``, the same step from the raw
    vector.)"""
    if spec.memory_backward == "custom":
        return custom_memory_step.memory_step
    if spec.memory_backward == "remat":
        return jax.checkpoint(heads.memory_step)
    return heads.memory_step


def step(
    spec, state: NTMState, interface: jax.Array, memory_columns: bool = False
) -> tuple[NTMState, StepTrace]:
    """One step: the write heads address and write, then the read heads address and read.

    Args:
      spec: an :class:`ntm.NTMSpec`.
      state: the state after the previous step, batch dimensions ``...``.
      interface: ``[..., P]``, the raw head parameters, within ``+-spec.clip_value`` (as
        :func:`ntm.core.bound` keeps them; the content addressing counts on it).
      memory_columns: whether ``state.memory`` (and the new state's) is in the column layout
        ``[..., M, N]`` of :mod:`ntm.memory_step`, as :func:`ntm.core.unroll` carries it through its
        scan; with ``memory_backward="custom"`` only. The trace's memory is then in columns too.

    Returns:
      ``(state, trace)``; the state's controller field is ``state.controller`` unchanged.
    """
    if memory_columns and spec.memory_backward != "custom":
        raise ValueError(f"memory_columns needs memory_backward='custom', not {spec.memory_backward!r}")
    read_p, write_p = spec.head_layout.split(interface)  # for "custom", only the trace's (else unused)
    previous = (state.memory, state.read_weights, state.write_weights)
    if spec.memory_backward == "custom":  # the activations inside the hand-written step
        outputs = custom_memory_step.memory_step_from_interface(
            *previous, interface, spec.head_layout, columns=memory_columns, raw_bound=spec.clip_value
        )
    else:
        outputs = memory_step(spec)(*previous, read_p, write_p)
    memory, read_w, write_w, read_vectors = outputs
    new_state = NTMState(memory, read_w, write_w, read_vectors, state.controller)
    return new_state, StepTrace(read_w, write_w, write_p.erase, write_p.add, read_vectors, memory)
