"""The Differentiable Neural Computer's memory access (Graves et al. 2016): the second access module of
``ntm.core``, beside ``ntm.ntm_access`` (whose docstring lists what an access module provides).

The core (controller, output layer, learned initial state, scan) is the NTM's; what the DNC changes is
how the interface vector becomes weightings: one write head that writes where memory was freed
(allocation through usage, ``ntm.dnc.allocation_weights``) or by content, and R read heads that read by
content or follow the order of writes forwards or backwards (temporal links). The equations are in
``ntm.dnc``; this module parses the interface vector and runs them in the paper's order.

Interface vector (width ``R*M + 3M + 5R + 3``), in this order, with the paper's activations::

    read_keys [R*M]        unconstrained       write_vector [M]      unconstrained
    read_strengths [R]     oneplus (1 + softplus)    free_gates [R]  sigmoid
    write_key [M]          unconstrained       allocation_gate [1]   sigmoid
    write_strength [1]     oneplus             write_gate [1]        sigmoid
    erase [M]              sigmoid             read_modes [3R]       softmax over 3 per head

The raw vector is first kept within ``+-clip_value`` by the core (``ntm.core.bound``), so keys and the
write vector are bounded too.

Differences from DeepMind's release, on purpose: usage enters the allocation as it is (see
``ntm.dnc.allocation_weights``), and there is one write head, as in the paper. As for the NTM, the
interface vector and the output are read from the last controller layer only (the paper's DNC reads
every layer's output).
"""

from __future__ import annotations

import dataclasses
import math
import sys
from typing import Any

import jax
import jax.numpy as jnp

from ntm import addressing, core, dnc
from ntm import memory as memory_ops
from ntm.state import DNCInterface, DNCState, DNCTrace

# The fields of the interface vector, in their order (see the module docstring).
INTERFACE_FIELDS = DNCInterface._fields


def oneplus(x: jax.Array) -> jax.Array:
    """``1 + softplus(x)``: a strength in [1, inf)."""
    return 1.0 + jax.nn.softplus(x)


ACTIVATIONS = {
    "read_keys": lambda x: x,
    "read_strengths": oneplus,
    "write_key": lambda x: x,
    "write_strength": oneplus,
    "erase": jax.nn.sigmoid,
    "write_vector": lambda x: x,
    "free_gates": jax.nn.sigmoid,
    "allocation_gate": jax.nn.sigmoid,
    "write_gate": jax.nn.sigmoid,
    "read_modes": lambda x: jax.nn.softmax(x, axis=-1),
}


def field_shapes(num_read_heads: int, word_size: int) -> dict[str, tuple[int, ...]]:
    """The shape of each interface field after the batch dimensions, in order."""
    r, m = num_read_heads, word_size
    return {
        "read_keys": (r, m),
        "read_strengths": (r,),
        "write_key": (m,),
        "write_strength": (),
        "erase": (m,),
        "write_vector": (m,),
        "free_gates": (r,),
        "allocation_gate": (),
        "write_gate": (),
        "read_modes": (r, 3),
    }


def interface_width(num_read_heads: int, word_size: int) -> int:
    """P = R*M + 3M + 5R + 3, the width of the raw interface vector."""
    return sum(math.prod(shape) for shape in field_shapes(num_read_heads, word_size).values())


def split_interface(raw: jax.Array, num_read_heads: int, word_size: int) -> DNCInterface:
    """The raw interface vector ``[..., P]`` as activated fields, in float32 (shapes in ``DNCInterface``)."""
    shapes = field_shapes(num_read_heads, word_size)
    width = interface_width(num_read_heads, word_size)
    if raw.shape[-1] != width:
        raise ValueError(f"the DNC interface vector has size {raw.shape[-1]}, expected {width}")
    raw = raw.astype(jnp.float32)
    batch, start, fields = raw.shape[:-1], 0, {}
    for name, shape in shapes.items():
        size = math.prod(shape)  # 1 for a scalar field
        fields[name] = ACTIVATIONS[name](raw[..., start : start + size].reshape(*batch, *shape))
        start += size
    return DNCInterface(**fields)


@dataclasses.dataclass(frozen=True)
class DNCSpec:
    """Static configuration of a DNC (hashable, so it can be a static argument under jit).

    The fields are the NTM's (:class:`ntm.NTMSpec`) where they mean the same; there is one write head and
    no shift range.

    Attributes:
      output_size: O, the width of the output logits.
      memory_size: N, memory rows; the link matrix is N x N per sequence, so state and step cost grow
        like N^2 (the NTM's like N).
      word_size: M, width of a memory row.
      num_read_heads: R.
      controller, controller_size, controller_layers: as for the NTM.
      clip_value, clip_mode: the interface vector and the output logits are kept within ``+-clip_value``
        (:func:`ntm.core.bound`).
      memory_init, memory_init_value: the initial memory, as for the NTM.
      dtype: computation dtype of the controller and output layer; memory and weightings stay float32.
    """

    output_size: int
    memory_size: int = 128
    word_size: int = 20
    num_read_heads: int = 1
    controller: str = "lstm"
    controller_size: int = 100
    controller_layers: int = 1
    clip_value: float = 20.0
    clip_mode: str = "tanh"
    memory_init: str = "constant"
    memory_init_value: float = 1e-6
    dtype: Any = jnp.float32

    def __post_init__(self):
        core.check_core_fields(self)

    @property
    def read_size(self) -> int:
        """R * M, the width of all read vectors together."""
        return self.num_read_heads * self.word_size

    # The memory access: this module.
    access = sys.modules[__name__]


def interface_size(spec: DNCSpec) -> int:
    """P, the width of the raw interface vector."""
    return interface_width(spec.num_read_heads, spec.word_size)


def init_initial(spec: DNCSpec, dtype=jnp.float32) -> dict:
    """None: the DNC's usage, links, precedence and weightings start at zero (the core learns the
    initial read vectors and controller state)."""
    del spec, dtype
    return {}


def initial_state(spec: DNCSpec, initial: dict, memory, read_vectors, controller) -> DNCState:
    """The DNC's state at the start of a sequence: nothing used, linked or read yet."""
    del initial
    batch_shape = read_vectors.shape[:-2]
    n, f32 = spec.memory_size, jnp.float32
    return DNCState(
        memory=memory,
        usage=jnp.zeros((*batch_shape, n), f32),
        links=jnp.zeros((*batch_shape, n, n), f32),
        precedence=jnp.zeros((*batch_shape, n), f32),
        read_weights=jnp.zeros((*batch_shape, spec.num_read_heads, n), f32),
        write_weights=jnp.zeros((*batch_shape, n), f32),
        read_vectors=read_vectors,
        controller=controller,
    )


def step(spec: DNCSpec, state: DNCState, interface: jax.Array) -> tuple[DNCState, DNCTrace]:
    """One step of memory access in the paper's order (``ntm.dnc``'s docstring): free, allocate, write,
    link, then read.

    Args:
      spec: the configuration.
      state: the state after the previous step, batch dimensions ``...``.
      interface: ``[..., P]``, the bounded raw interface vector.

    Returns:
      ``(state, trace)``; the state's controller field is ``state.controller`` unchanged.
    """
    iface = split_interface(interface, spec.num_read_heads, spec.word_size)
    psi = dnc.retention(iface.free_gates, state.read_weights)
    usage = dnc.update_usage(state.usage, state.write_weights, psi)
    allocation = dnc.allocation_weights(usage)
    write_content = addressing.content_weights(state.memory, iface.write_key, iface.write_strength)
    write_w = dnc.write_weights(allocation, write_content, iface.allocation_gate, iface.write_gate)
    memory = memory_ops.write(state.memory, write_w, iface.erase, iface.write_vector)
    links = dnc.update_links(state.links, state.precedence, write_w)
    precedence = dnc.update_precedence(state.precedence, write_w)
    read_content = addressing.content_weights(memory[..., None, :, :], iface.read_keys, iface.read_strengths)
    forward, backward = dnc.directional_weights(links, state.read_weights)
    read_w = dnc.read_weights(read_content, forward, backward, iface.read_modes)
    read_vectors = memory_ops.read(memory[..., None, :, :], read_w)
    new_state = DNCState(memory, usage, links, precedence, read_w, write_w, read_vectors, state.controller)
    trace = DNCTrace(
        read_weights=read_w,
        write_weights=write_w[..., None, :],
        erase=iface.erase[..., None, :],
        add=iface.write_vector[..., None, :],
        read_vectors=read_vectors,
        memory=memory,
        usage=usage,
        read_modes=iface.read_modes,
        allocation_gate=iface.allocation_gate,
        write_gate=iface.write_gate,
        free_gates=iface.free_gates,
    )
    return new_state, trace
