"""Addressing: how a head turns its parameters into a weighting over memory rows.

One equation of Graves et al. (2014, section 3.3) per function. Every function accepts any number of
leading batch dimensions (written ``...``); arguments broadcast over them like ordinary jnp arithmetic.

The full pipeline for one head is::

    w_c = content_weights(memory, key, strength)        # eq. (5), (6)
    w_g = interpolate(w_c, previous_weights, gate)      # eq. (7)
    w_s = shift(w_g, shift_weights)                     # eq. (8)
    w   = sharpen(w_s, gamma)                           # eq. (9)

which is what :func:`address` computes.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

# Added to squared norms before the square root in cosine similarity, so that an all-zero memory row or
# key has a finite similarity (0) and finite gradients.
NORM_EPSILON = 1e-8
# Added to weights before the logarithm in sharpening, so that a weight of exactly 0 stays finite.
LOG_EPSILON = 1e-20


def cosine_similarity(memory: jax.Array, key: jax.Array) -> jax.Array:
    """K(k, M(i)) = k . M(i) / (|k| |M(i)|), eq. (6).

    Computed as one dot product and two sums of squares; norms are ``sqrt(sum x^2 + NORM_EPSILON)``.

    Args:
      memory: ``[..., N, M]``.
      key: ``[..., M]``.

    Returns:
      ``[..., N]`` similarities in ``[-1, 1]``.
    """
    dot = jnp.einsum("...nm,...m->...n", memory, key)
    memory_norm = jnp.sqrt(jnp.sum(memory * memory, axis=-1) + NORM_EPSILON)
    key_norm = jnp.sqrt(jnp.sum(key * key, axis=-1, keepdims=True) + NORM_EPSILON)
    return dot / (memory_norm * key_norm)


def content_weights(memory: jax.Array, key: jax.Array, strength: jax.Array) -> jax.Array:
    """w^c(i) = softmax_i(beta K(k, M(i))), eq. (5).

    Args:
      memory: ``[..., N, M]``.
      key: ``[..., M]``.
      strength: ``[...]``, beta >= 0.

    Returns:
      ``[..., N]`` weights, non-negative, summing to 1.
    """
    similarity = cosine_similarity(memory, key)
    return jax.nn.softmax(jnp.asarray(strength)[..., None] * similarity, axis=-1)


def interpolate(content_weights: jax.Array, previous_weights: jax.Array, gate: jax.Array) -> jax.Array:
    """w^g = g w^c + (1 - g) w_{t-1}, eq. (7).

    Args:
      content_weights: ``[..., N]``.
      previous_weights: ``[..., N]``, the same head's weighting at the previous step.
      gate: ``[...]``, g in [0, 1].

    Returns:
      ``[..., N]``.
    """
    gate = jnp.asarray(gate)[..., None]
    return gate * content_weights + (1.0 - gate) * previous_weights


def shift(weights: jax.Array, shift_weights: jax.Array) -> jax.Array:
    """Circular convolution w~(i) = sum_j w(j) s(i - j), eq. (8).

    Args:
      weights: ``[..., N]``.
      shift_weights: ``[..., 2S + 1]``; entry ``k`` weights a shift by ``k - S`` rows. A shift of +1
        moves weight from row ``i`` to row ``i + 1`` (mod N).

    Returns:
      ``[..., N]``.
    """
    num_shifts = shift_weights.shape[-1]
    if num_shifts % 2 != 1:
        raise ValueError(f"shift_weights needs an odd last dimension 2S+1, got {num_shifts}")
    if num_shifts > weights.shape[-1]:
        raise ValueError(
            f"shift_weights has {num_shifts} shifts, more than the {weights.shape[-1]} memory rows"
        )
    s = num_shifts // 2
    rolled = jnp.stack([jnp.roll(weights, k - s, axis=-1) for k in range(num_shifts)], axis=-1)
    return jnp.einsum("...nk,...k->...n", rolled, shift_weights)


def sharpen(weights: jax.Array, gamma: jax.Array) -> jax.Array:
    """w(i) = w~(i)^gamma / sum_j w~(j)^gamma, eq. (9).

    Computed as ``softmax(gamma * log(w~ + LOG_EPSILON))``, which is the same quantity but cannot
    underflow to 0/0 for tiny weights and large gamma.

    Args:
      weights: ``[..., N]``, non-negative.
      gamma: ``[...]``, gamma >= 1.

    Returns:
      ``[..., N]``, non-negative, summing to 1.
    """
    return jax.nn.softmax(jnp.asarray(gamma)[..., None] * jnp.log(weights + LOG_EPSILON), axis=-1)


def address(
    memory: jax.Array,
    previous_weights: jax.Array,
    key: jax.Array,
    strength: jax.Array,
    gate: jax.Array,
    shift_weights: jax.Array,
    gamma: jax.Array,
) -> jax.Array:
    """The whole addressing pipeline of one head (content, interpolation, shift, sharpening).

    Args:
      memory: ``[..., N, M]``.
      previous_weights: ``[..., N]``.
      key: ``[..., M]``.
      strength, gate, gamma: ``[...]``.
      shift_weights: ``[..., 2S + 1]``.

    Returns:
      ``[..., N]`` the head's weighting at this step.
    """
    w = content_weights(memory, key, strength)
    w = interpolate(w, previous_weights, gate)
    w = shift(w, shift_weights)
    return sharpen(w, gamma)
