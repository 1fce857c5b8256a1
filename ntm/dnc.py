"""The Differentiable Neural Computer's memory access (Graves et al. 2016, Nature, Methods section).

One equation of the Methods section per function. N is the number of memory rows, R the number of read
heads; there is one write head. Every function accepts any number of leading batch dimensions (written
``...``); arguments broadcast over them like ordinary jnp arithmetic.

One step of memory access, in the paper's order (``_prev`` is the value carried from step t-1)::

    psi   = retention(free_gates, read_weights_prev)                    # [..., N]
    u     = update_usage(usage_prev, write_weights_prev, psi)           # [..., N]
    a     = allocation_weights(u)                                       # [..., N]
    c_w   = addressing.content_weights(memory_prev, write_key, beta_w)  # [..., N]
    w_w   = write_weights(a, c_w, allocation_gate, write_gate)          # [..., N]
    mem   = memory.write(memory_prev, w_w, erase, add)                  # [..., N, M]
    L     = update_links(links_prev, precedence_prev, w_w)              # [..., N, N]
    p     = update_precedence(precedence_prev, w_w)                     # [..., N]
    c_r   = addressing.content_weights(mem[..., None, :, :], read_keys, beta_r)  # [..., R, N]
    f, b  = directional_weights(L, read_weights_prev)                   # [..., R, N] each
    w_r   = read_weights(c_r, f, b, read_modes)                         # [..., R, N]
    r     = memory.read(mem[..., None, :, :], w_r)                      # [..., R, M]

Content weighting is the NTM's (``ntm.addressing.content_weights``: softmax of a strength times cosine
similarity, as the paper's C(M, k, beta)) and reading and writing are the NTM's erase-then-add
(``ntm.memory``); this module holds only what the DNC adds: dynamic allocation through usage, and
temporal links through precedence. The state carried between steps is ``ntm.state.DNCState``.

Layout of the link matrix: ``links[..., i, j]`` is the degree to which row i was written to just after
row j, so row i of L holds the rows written *before* i and column j the rows written *after* j.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def retention(free_gates: jax.Array, prev_read_weights: jax.Array) -> jax.Array:
    """psi = prod_i (1 - f_i w^r_{t-1,i}), the memory retention vector.

    Args:
      free_gates: ``[..., R]``, f_i in [0, 1]: may read head i's last locations be freed?
      prev_read_weights: ``[..., R, N]``, the read weightings of the previous step.

    Returns:
      ``[..., N]``, in [0, 1]: how much of each row is retained (not freed).
    """
    return jnp.prod(1.0 - jnp.asarray(free_gates)[..., None] * prev_read_weights, axis=-2)


def update_usage(prev_usage: jax.Array, prev_write_weights: jax.Array, retention: jax.Array) -> jax.Array:
    """u_t = (u_{t-1} + w^w_{t-1} - u_{t-1} * w^w_{t-1}) * psi_t, the usage vector.

    Args:
      prev_usage: ``[..., N]``, u_{t-1} in [0, 1].
      prev_write_weights: ``[..., N]``, the write head's weighting of the previous step.
      retention: ``[..., N]``, psi_t from :func:`retention`.

    Returns:
      ``[..., N]``, in [0, 1] when the inputs are.
    """
    return (prev_usage + prev_write_weights - prev_usage * prev_write_weights) * retention


def allocation_weights(usage: jax.Array) -> jax.Array:
    """a[phi_j] = (1 - u[phi_j]) prod_{i<j} u[phi_i], the allocation weighting.

    phi is the free list: the row indices sorted by ascending usage, so the least used row comes first.
    The sort is stable, so rows of equal usage are ordered by row index (the lower index is allocated
    first). The product over the rows before j is an exclusive cumulative product in sorted order, and
    the result is scattered back to row order.

    Gradients: the permutation phi is a function of usage that is piecewise constant, and it is not
    differentiated (the sort only yields indices); the usage *values* are gathered through it and are
    differentiated, so the gradient is that of the formula with the free list held fixed. At ties the
    allocation is continuous (swapping two equal usages gives the same values) but not differentiable;
    the gradient there is the one for the stable order.

    Usage is used as it is, not first mapped into [eps, 1] as in DeepMind's release (which computes
    ``eps + (1 - eps) u`` with eps = 1e-6 "to ensure values are not too small prior to cumprod"; in
    TensorFlow the gradient of a cumulative product divides by its input, which is not finite at 0). In
    JAX the derivative of ``jnp.cumprod`` is built from products only, so it is finite and exact at
    usages of exactly 0 or 1 (tested); without the map, an empty memory allocates exactly row 0, a full
    one allocates exactly nothing, and the paper's equation holds as written. A product that underflows
    to 0 in float32 is the right limit, not an error.

    Args:
      usage: ``[..., N]``, u_t in [0, 1].

    Returns:
      ``[..., N]``, non-negative, summing to ``1 - prod_i u[i]`` (<= 1); all 0 when every row is used.
    """
    order = jnp.argsort(usage, axis=-1, stable=True)  # phi: integers, no gradient
    sorted_usage = jnp.take_along_axis(usage, order, axis=-1)
    cumulative = jnp.cumprod(sorted_usage, axis=-1)
    exclusive = jnp.concatenate([jnp.ones_like(cumulative[..., :1]), cumulative[..., :-1]], axis=-1)
    sorted_allocation = (1.0 - sorted_usage) * exclusive
    return jnp.put_along_axis(
        jnp.zeros_like(sorted_allocation), order, sorted_allocation, axis=-1, inplace=False
    )


def write_weights(
    allocation: jax.Array, write_content_weights: jax.Array, allocation_gate: jax.Array, write_gate: jax.Array
) -> jax.Array:
    """w^w = g^w (g^a a + (1 - g^a) c^w), the write weighting.

    Args:
      allocation: ``[..., N]``, a_t from :func:`allocation_weights`.
      write_content_weights: ``[..., N]``, c^w_t, content weights of the write key on M_{t-1}.
      allocation_gate: ``[...]``, g^a in [0, 1]: allocate (1) or write by content (0).
      write_gate: ``[...]``, g^w in [0, 1]: write at all?

    Returns:
      ``[..., N]``, non-negative, summing to at most 1.
    """
    g_a = jnp.asarray(allocation_gate)[..., None]
    g_w = jnp.asarray(write_gate)[..., None]
    return g_w * (g_a * allocation + (1.0 - g_a) * write_content_weights)


def update_precedence(prev_precedence: jax.Array, write_weights: jax.Array) -> jax.Array:
    """p_t = (1 - sum_i w^w_t[i]) p_{t-1} + w^w_t, the precedence weighting.

    p_t[i] is the degree to which row i was the last one written to; p_0 = 0.

    Args:
      prev_precedence: ``[..., N]``, p_{t-1}.
      write_weights: ``[..., N]``, w^w_t.

    Returns:
      ``[..., N]``, non-negative, summing to at most 1.
    """
    return (1.0 - jnp.sum(write_weights, axis=-1, keepdims=True)) * prev_precedence + write_weights


def update_links(prev_links: jax.Array, prev_precedence: jax.Array, write_weights: jax.Array) -> jax.Array:
    """L_t[i, j] = (1 - w[i] - w[j]) L_{t-1}[i, j] + w[i] p_{t-1}[j], and L_t[i, i] = 0, the link matrix.

    Args:
      prev_links: ``[..., N, N]``, L_{t-1}; L_0 = 0.
      prev_precedence: ``[..., N]``, p_{t-1} (the precedence *before* this step's write).
      write_weights: ``[..., N]``, w^w_t.

    Returns:
      ``[..., N, N]``, entries in [0, 1], zero diagonal.
    """
    w_i = write_weights[..., :, None]
    w_j = write_weights[..., None, :]
    links = (1.0 - w_i - w_j) * prev_links + w_i * prev_precedence[..., None, :]
    n = links.shape[-1]
    return links * (1.0 - jnp.eye(n, dtype=links.dtype))


def directional_weights(links: jax.Array, prev_read_weights: jax.Array) -> tuple[jax.Array, jax.Array]:
    """f_i = L_t w^r_{t-1,i} and b_i = L_t^T w^r_{t-1,i}, the forward and backward weightings.

    Forward moves each read head to the rows written just after the ones it read; backward to the rows
    written just before.

    Args:
      links: ``[..., N, N]``, L_t.
      prev_read_weights: ``[..., R, N]``, the read weightings of the previous step.

    Returns:
      ``(forward, backward)``, each ``[..., R, N]``.
    """
    forward = jnp.einsum("...ij,...rj->...ri", links, prev_read_weights)
    backward = jnp.einsum("...ji,...rj->...ri", links, prev_read_weights)
    return forward, backward


def read_weights(
    read_content_weights: jax.Array, forward: jax.Array, backward: jax.Array, read_modes: jax.Array
) -> jax.Array:
    """w^r_i = pi_i[1] b_i + pi_i[2] c^r_i + pi_i[3] f_i, the read weightings.

    Args:
      read_content_weights: ``[..., R, N]``, c^r_i, content weights of each read key on M_t.
      forward, backward: ``[..., R, N]``, from :func:`directional_weights`.
      read_modes: ``[..., R, 3]``, pi_i, already a softmax, ordered (backward, content, forward) as in
        the paper.

    Returns:
      ``[..., R, N]``.
    """
    pi_backward = read_modes[..., 0:1]
    pi_content = read_modes[..., 1:2]
    pi_forward = read_modes[..., 2:3]
    return pi_backward * backward + pi_content * read_content_weights + pi_forward * forward
