"""Read and write heads: from the controller's raw output to head parameters, and one memory step.

The raw vector of each head is laid out as ``[key (M), strength, gate, shift (2S+1), gamma]`` for a
read head and the same followed by ``[erase (M), add (M)]`` for a write head; read heads come first.
Activations follow Collier & Beel (2018): key tanh, strength softplus, gate sigmoid, shift softmax,
gamma 1 + softplus, erase sigmoid, add tanh.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from ntm import addressing
from ntm import memory as memory_ops
from ntm.state import ReadHeadParams, WriteHeadParams


def read_head_size(word_size: int, shift_range: int) -> int:
    """Number of raw controller outputs one read head consumes: M + 2S + 4."""
    return word_size + 2 * shift_range + 4


def write_head_size(word_size: int, shift_range: int) -> int:
    """Number of raw controller outputs one write head consumes: 3M + 2S + 4."""
    return read_head_size(word_size, shift_range) + 2 * word_size


def head_params_size(num_read: int, num_write: int, word_size: int, shift_range: int) -> int:
    """Total raw size for all heads."""
    return num_read * read_head_size(word_size, shift_range) + num_write * write_head_size(
        word_size, shift_range
    )


def _addressing_params(raw: jax.Array, word_size: int, shift_range: int):
    """Split ``raw [..., K, D]`` into activated key, strength, gate, shift, gamma."""
    m, s = word_size, 2 * shift_range + 1
    key = jnp.tanh(raw[..., :m])
    strength = jax.nn.softplus(raw[..., m])
    gate = jax.nn.sigmoid(raw[..., m + 1])
    shift = jax.nn.softmax(raw[..., m + 2 : m + 2 + s], axis=-1)
    gamma = 1.0 + jax.nn.softplus(raw[..., m + 2 + s])
    return key, strength, gate, shift, gamma


def split_head_params(
    raw: jax.Array, num_read: int, num_write: int, word_size: int, shift_range: int
) -> tuple[ReadHeadParams, WriteHeadParams]:
    """Turn the controller's raw head output into activated parameters, in float32.

    Args:
      raw: ``[..., P]`` with ``P = head_params_size(...)``.

    Returns:
      Read parameters with a head axis of size ``num_read`` and write parameters with one of size
      ``num_write``.
    """
    expected = head_params_size(num_read, num_write, word_size, shift_range)
    if raw.shape[-1] != expected:
        raise ValueError(f"raw head parameters have size {raw.shape[-1]}, expected {expected}")
    raw = raw.astype(jnp.float32)
    rsize = read_head_size(word_size, shift_range)
    wsize = write_head_size(word_size, shift_range)
    batch = raw.shape[:-1]
    read_raw = raw[..., : num_read * rsize].reshape(*batch, num_read, rsize)
    write_raw = raw[..., num_read * rsize :].reshape(*batch, num_write, wsize)
    read = ReadHeadParams(*_addressing_params(read_raw, word_size, shift_range))
    m = word_size
    write = WriteHeadParams(
        *_addressing_params(write_raw, word_size, shift_range),
        erase=jax.nn.sigmoid(write_raw[..., rsize : rsize + m]),
        add=jnp.tanh(write_raw[..., rsize + m :]),
    )
    return read, write


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
