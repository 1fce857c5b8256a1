"""Read and write heads: from the controller's raw output to head parameters, and one memory step.

The raw vector of each head is laid out as ``[key (M), strength, gate, shift (2S+1), gamma]`` for a
read head and the same followed by ``[erase (M), add (M)]`` for a write head; read heads come first.
Activations follow Collier & Beel (2018): key tanh, strength softplus, gate sigmoid, shift softmax,
gamma 1 + softplus, erase sigmoid, add tanh.

:class:`HeadLayout` turns this order and the sizes into named slices; the split and the sizes both come
from it, so no offset is computed anywhere else.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from ntm import addressing
from ntm import memory as memory_ops
from ntm.state import ReadHeadParams, WriteHeadParams

# The raw parameters of one head, in their order in its raw vector (see the module docstring).
READ_FIELDS = ("key", "strength", "gate", "shift", "gamma")
WRITE_FIELDS = READ_FIELDS + ("erase", "add")
# Fields of one entry per head (the others are vectors of their own width).
SCALAR_FIELDS = ("strength", "gate", "gamma")

# The activation of each field, on the raw values (float32).
ACTIVATIONS = {
    "key": jnp.tanh,
    "strength": jax.nn.softplus,
    "gate": jax.nn.sigmoid,
    "shift": lambda x: jax.nn.softmax(x, axis=-1),
    "gamma": lambda x: 1.0 + jax.nn.softplus(x),
    "erase": jax.nn.sigmoid,
    "add": jnp.tanh,
}


@dataclasses.dataclass(frozen=True)
class HeadLayout:
    """Where each head parameter lies in the raw head-parameter vector ``[..., P]``.

    The vector holds ``num_read`` read heads of :meth:`head_size` ``("read")`` entries, then ``num_write``
    write heads of ``head_size("write")``; within a head, the fields of :data:`READ_FIELDS` or
    :data:`WRITE_FIELDS` follow each other in that order, each :meth:`width` entries wide.

    Attributes:
      num_read: R, read heads.
      num_write: W, write heads.
      word_size: M.
      shift_range: S.
    """

    num_read: int
    num_write: int
    word_size: int
    shift_range: int

    def width(self, name: str) -> int:
        """Raw entries of one field of one head: M for key, erase and add, 2S+1 for shift, else 1."""
        if name == "shift":
            return 2 * self.shift_range + 1
        if name in ("key", "erase", "add"):
            return self.word_size
        if name in SCALAR_FIELDS:
            return 1
        raise ValueError(f"no head parameter {name!r}; the fields are {WRITE_FIELDS}")

    def fields(self, kind: str) -> dict[str, slice]:
        """Each field's slice within one head's raw vector, in order; ``kind`` is "read" or "write"."""
        if kind not in ("read", "write"):
            raise ValueError(f"kind must be 'read' or 'write', got {kind!r}")
        slices, start = {}, 0
        for name in READ_FIELDS if kind == "read" else WRITE_FIELDS:
            slices[name] = slice(start, start + self.width(name))
            start += self.width(name)
        return slices

    def head_size(self, kind: str) -> int:
        """Raw entries of one head of ``kind``: M + 2S + 4 (read) or 3M + 2S + 4 (write)."""
        return sum(self.width(name) for name in self.fields(kind))

    def block(self, kind: str) -> slice:
        """The slice of the raw vector that holds every head of ``kind``."""
        reads = self.num_read * self.head_size("read")
        if kind == "read":
            return slice(0, reads)
        return slice(reads, reads + self.num_write * self.head_size("write"))

    @property
    def size(self) -> int:
        """P, the width of the whole raw vector."""
        return self.block("write").stop

    def slices(self) -> list[tuple[str, int, str, slice]]:
        """``(kind, head, field, slice of the raw vector)`` for every field of every head, in order."""
        out = []
        for kind, count in (("read", self.num_read), ("write", self.num_write)):
            size, offset = self.head_size(kind), self.block(kind).start
            for head in range(count):
                start = offset + head * size
                for name, part in self.fields(kind).items():
                    out.append((kind, head, name, slice(start + part.start, start + part.stop)))
        return out

    def split(self, raw: jax.Array) -> tuple[ReadHeadParams, WriteHeadParams]:
        """Turn the controller's raw head output ``[..., P]`` into activated parameters, in float32.

        Returns read parameters with a head axis of size ``num_read`` and write parameters with one of
        size ``num_write``; scalar fields are ``[..., K]``, the others ``[..., K, width]``.
        """
        if raw.shape[-1] != self.size:
            raise ValueError(f"raw head parameters have size {raw.shape[-1]}, expected {self.size}")
        raw = raw.astype(jnp.float32)
        batch = raw.shape[:-1]
        params = []
        for kind, count, cls in (
            ("read", self.num_read, ReadHeadParams),
            ("write", self.num_write, WriteHeadParams),
        ):
            heads_raw = raw[..., self.block(kind)].reshape(*batch, count, self.head_size(kind))
            values = {}
            for name, part in self.fields(kind).items():
                field = heads_raw[..., part]
                if name in SCALAR_FIELDS:
                    field = field[..., 0]
                values[name] = ACTIVATIONS[name](field)
            params.append(cls(**values))
        return params[0], params[1]


def read_head_size(word_size: int, shift_range: int) -> int:
    """Number of raw controller outputs one read head consumes: M + 2S + 4."""
    return HeadLayout(1, 0, word_size, shift_range).head_size("read")


def write_head_size(word_size: int, shift_range: int) -> int:
    """Number of raw controller outputs one write head consumes: 3M + 2S + 4."""
    return HeadLayout(0, 1, word_size, shift_range).head_size("write")


def head_params_size(num_read: int, num_write: int, word_size: int, shift_range: int) -> int:
    """Total raw size for all heads (:attr:`HeadLayout.size`)."""
    return HeadLayout(num_read, num_write, word_size, shift_range).size


def split_head_params(
    raw: jax.Array, num_read: int, num_write: int, word_size: int, shift_range: int
) -> tuple[ReadHeadParams, WriteHeadParams]:
    """Turn the controller's raw head output into activated parameters, in float32.

    Args:
      raw: ``[..., P]`` with ``P = head_params_size(...)``.

    Returns:
      Read parameters with a head axis of size ``num_read`` and write parameters with one of size
      ``num_write`` (:meth:`HeadLayout.split`).
    """
    return HeadLayout(num_read, num_write, word_size, shift_range).split(raw)


def address_heads(memory: jax.Array, previous_weights: jax.Array, params) -> jax.Array:
    """Address memory with every head of one kind.

    Args:
      memory: ``[..., N, M]``.
      previous_weights: ``[..., K, N]``, each head's own previous weighting.
      params: ReadHeadParams or WriteHeadParams with head axis K.

    Returns:
      ``[..., K, N]``.
    """
    return addressing.address(
        memory[..., None, :, :],
        previous_weights,
        params.key,
        params.strength,
        params.gate,
        params.shift,
        params.gamma,
    )


def memory_step(
    memory: jax.Array,
    previous_read_weights: jax.Array,
    previous_write_weights: jax.Array,
    read_params: ReadHeadParams,
    write_params: WriteHeadParams,
) -> tuple[jax.Array, jax.Array, jax.Array, jax.Array]:
    """One step of the memory side: the write heads address and write, then the read heads read.

    Args:
      memory: ``[..., N, M]``, memory before this step.
      previous_read_weights: ``[..., R, N]``.
      previous_write_weights: ``[..., W, N]``.
      read_params, write_params: head parameters of this step.

    Returns:
      ``(memory [..., N, M], read_weights [..., R, N], write_weights [..., W, N],
      read_vectors [..., R, M])``.
    """
    write_weights = address_heads(memory, previous_write_weights, write_params)
    memory = memory_ops.write_heads(memory, write_weights, write_params.erase, write_params.add)
    read_weights = address_heads(memory, previous_read_weights, read_params)
    read_vectors = memory_ops.read(memory[..., None, :, :], read_weights)
    return memory, read_weights, write_weights, read_vectors
