"""Masked metrics per sequence: cost in bits and bit errors (work on numpy or JAX arrays, under jit).

``logits`` are pre-sigmoid outputs ``[B, T, C]``; ``targets`` are 0/1 ``[B, T, C]``; ``mask`` is
``[B, T]`` with 1 on the scored steps. Every function returns one value per sequence, ``[B]``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np


def binary_cross_entropy(logits: jax.Array, targets: jax.Array) -> jax.Array:
    """-[y log sigmoid(x) + (1 - y) log(1 - sigmoid(x))] in nats, elementwise and overflow-free."""
    logits = jnp.asarray(logits, jnp.float32)
    return jnp.maximum(logits, 0) - logits * targets + jnp.log1p(jnp.exp(-jnp.abs(logits)))


def _check(logits, targets, mask):
    if logits.shape != targets.shape:
        raise ValueError(f"logits shape {logits.shape} does not match targets shape {targets.shape}")
    if mask.shape != logits.shape[:-1]:
        raise ValueError(
            f"mask shape {mask.shape} must be logits shape without channels, {logits.shape[:-1]}"
        )


def bits_per_sequence(logits, targets, mask) -> jax.Array:
    """Sum over scored steps and channels of the binary cross-entropy in bits: ``[B]``."""
    _check(logits, targets, mask)
    per_step = jnp.sum(binary_cross_entropy(logits, targets), axis=-1) / np.log(2.0)
    return jnp.sum(per_step * mask, axis=-1)


def bit_errors_per_sequence(logits, targets, mask) -> jax.Array:
    """Number of scored bits whose thresholded output (logit > 0) differs from the target: ``[B]``."""
    _check(logits, targets, mask)
    wrong = (jnp.asarray(logits) > 0) != (jnp.asarray(targets) > 0.5)
    return jnp.sum(jnp.sum(wrong, axis=-1) * mask, axis=-1).astype(jnp.float32)


def summary(logits, targets, mask) -> dict[str, jax.Array]:
    """Means over sequences: ``{"cost": bits per sequence, "bit_errors": bit errors per sequence}``."""
    return {
        "cost": jnp.mean(bits_per_sequence(logits, targets, mask)),
        "bit_errors": jnp.mean(bit_errors_per_sequence(logits, targets, mask)),
    }
