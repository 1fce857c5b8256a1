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


def write(memory: jax.Array, weights: jax.Array, erase: jax.Array, add: jax.Array) -> jax.Array:
    """Erase, then add: M_t = M_{t-1} * prod_h (1 - w_h e_h) + sum_h w_h a_h, eq. (3) and (4).

    With several write heads the erases multiply and the adds sum, so the order of the heads does not
    matter. For one head use ``H = 1`` (``weights[..., None, :]``).

    Args:
      memory: ``[..., N, M]``.
      weights: ``[..., H, N]``.
      erase: ``[..., H, M]``, entries in [0, 1].
      add: ``[..., H, M]``.

    Returns:
      ``[..., N, M]``, the memory after the write.
    """
    return memory * erase_factor(weights, erase) + add_term(weights, add)
