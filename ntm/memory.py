"""Reading from and writing to the memory matrix (Graves et al. 2014, section 3.1 and 3.2).

Memory is ``[..., N, M]``: N rows (locations) of M numbers. Leading dimensions broadcast.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def read(memory: jax.Array, weights: jax.Array) -> jax.Array:
    """r = sum_i w(i) M(i), eq. (2).

    Args:
      memory: ``[..., N, M]``.
      weights: ``[..., N]``. For H read heads pass ``weights [..., H, N]`` and ``memory[..., None, :, :]``.

    Returns:
      ``[..., M]``.
    """
    return jnp.einsum("...n,...nm->...m", weights, memory)


def erase_factor(weights: jax.Array, erase: jax.Array) -> jax.Array:
    """prod_h (1 - w_h(i) e_h), the erase of eq. (3) for H heads at once (erases multiply).

    Args:
      weights: ``[..., H, N]``.
      erase: ``[..., H, M]``, entries in [0, 1].

    Returns:
      ``[..., N, M]``, the factor each memory entry is multiplied by.
    """
    return jnp.prod(1.0 - weights[..., :, :, None] * erase[..., :, None, :], axis=-3)


def add_term(weights: jax.Array, add: jax.Array) -> jax.Array:
    """sum_h w_h(i) a_h, the add of eq. (4) for H heads at once (adds sum).

    Args:
      weights: ``[..., H, N]``.
      add: ``[..., H, M]``.

    Returns:
      ``[..., N, M]``.
    """
    return jnp.einsum("...hn,...hm->...nm", weights, add)


def _check_write_shapes(memory, weights, erase, add, heads: bool) -> None:
    """Raise a ValueError naming the mismatch, instead of letting broadcasting mix batch and heads."""
    name = "write_heads" if heads else "write"
    n, m = memory.shape[-2:]
    if weights.shape[-1] != n:
        raise ValueError(f"{name}: weights {weights.shape} must end in N={n} (memory {memory.shape})")
    for label, x in (("erase", erase), ("add", add)):
        if x.shape[-1] != m:
            raise ValueError(f"{name}: {label} {x.shape} must end in M={m} (memory {memory.shape})")
        if x.shape[:-1] != weights.shape[:-1]:
            raise ValueError(
                f"{name}: {label} {x.shape} and weights {weights.shape} must agree on every axis but the last"
            )
    lead = weights.shape[:-2] if heads else weights.shape[:-1]
    if heads and weights.ndim < 2:
        raise ValueError(f"write_heads: weights {weights.shape} need a head axis, [..., H, N]")
    if lead != memory.shape[:-2]:
        raise ValueError(
            f"{name}: the batch axes of weights {weights.shape} ({lead}) and memory {memory.shape} "
            f"({memory.shape[:-2]}) differ" + ("" if heads else "; for several heads at once use write_heads")
        )


def write(memory: jax.Array, weights: jax.Array, erase: jax.Array, add: jax.Array) -> jax.Array:
    """One head's write, erase then add: M_t = M_{t-1} * (1 - w e) + w a, eq. (3) and (4).

    Args:
      memory: ``[..., N, M]``.
      weights: ``[..., N]``, the same batch axes as memory.
      erase: ``[..., M]``, entries in [0, 1].
      add: ``[..., M]``.

    Returns:
      ``[..., N, M]``, the memory after the write. Mismatched shapes raise a ``ValueError``; for
      several heads use :func:`write_heads`.
    """
    _check_write_shapes(memory, weights, erase, add, heads=False)
    return write_heads(memory, weights[..., None, :], erase[..., None, :], add[..., None, :])


def write_heads(memory: jax.Array, weights: jax.Array, erase: jax.Array, add: jax.Array) -> jax.Array:
    """H heads' writes at once: M_t = M_{t-1} * prod_h (1 - w_h e_h) + sum_h w_h a_h.

    The erases multiply and the adds sum, so the order of the heads does not matter.

    Args:
      memory: ``[..., N, M]``.
      weights: ``[..., H, N]``, the same batch axes as memory.
      erase: ``[..., H, M]``, entries in [0, 1].
      add: ``[..., H, M]``.

    Returns:
      ``[..., N, M]``, the memory after the writes.
    """
    _check_write_shapes(memory, weights, erase, add, heads=True)
    return memory * erase_factor(weights, erase) + add_term(weights, add)
