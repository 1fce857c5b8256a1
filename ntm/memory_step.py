"""The memory side of one time step with a hand-written backward pass (``jax.custom_vjp``).

:func:`memory_step` has the signature and the outputs of :func:`ntm.heads.memory_step`: the write heads
address and write memory, then the read heads address and read the written memory. It computes the same
values (to float rounding) with this module's equations; only its backward pass is its own.
:func:`memory_step_from_interface` is the same step from the raw head parameters, the activations
included: the step of ``NTMSpec(memory_backward="custom")``.

Under ``jax.grad`` the forward keeps the step's inputs (the memory before the write, the previous
weightings and the head parameters, or the raw vector they come from), as ``jax.checkpoint`` would,
and each kind of heads' cosine similarities and memory row norms (``[..., K, N]`` and ``[..., N]``):
recomputing them was four memory-sized passes (two dot products, two sums of squares over the word,
~10-25 us each at batch 32). Keeping them and grouping the sums of :func:`address_vjp` made the copy
model's training step 0.82-0.83x the time at batch 32 and 0.90-0.91x at batch 1 under a plain
``jax.jit`` (0.96x and 0.85x with ``ntm.compiler_options()``; interleaved A/B against this module at
commit ce817c4, which kept only the inputs and summed each field on its own, nothing else running).
The backward recomputes the rest of the addressing and the written memory, and goes back through the
equations in reverse order: read, read-head addressing (sharpening, shift, interpolation, content),
write, write-head addressing. Unlike autodiff of the rematerialised step it computes each forward value
once in the backward, and needs none of autodiff's memory-sized intermediates.

The column layout: inside this module the memory is ``[..., M, N]``, the transpose of
:class:`ntm.NTMState`'s ``[..., N, M]``, so that the N rows are the contiguous axis (128 floats for the
paper's memory, where a row of the word has 20). Every elementwise pass over the memory then runs along
vectors of N, and the sums over the word (the row norms) add whole vectors of N. With the memory in
columns, the copy model's training step took 0.78x the time at batch 1 and 8 and 0.80-0.81x at batch 32
under a plain ``jax.jit`` (interleaved A/B in one process, 2026-12-06). :func:`memory_step` and
:func:`memory_step_from_interface` transpose the memory in and out (one copy each way, and their
transposes in the backward); :func:`ntm.core.unroll` carries the memory in columns through its scan
(``columns=True``) and transposes once per sequence.

Keeping all of the addressing's intermediates (about ten ``[..., K, N]`` arrays) made the copy model's
batch-32 training step 1.3-1.4x slower: inside ``lax.scan`` every kept value becomes a stack over the
time steps, written and read back by kernels of its own. (Keeping three more per kind of heads, the
content weights and the shifted and sharpened weightings, so that the backward need not recompute the
addressing: 0.90x at batch 1 but 1.36-1.38x at batch 32, 2026-12-06.) The four kept here (the
similarities and the row norms of each kind of heads) each replace a memory-sized pass.

Each equation's vector-Jacobian product is a function of its own, named after the forward function of
:mod:`ntm.addressing` or :mod:`ntm.memory` it differentiates: given the forward's inputs (and values of the
forward, recomputed), and the cotangent ``d_out`` of its output, it returns the cotangent of each input,
or, for a parameter that is a sum over the memory rows, the terms of that sum, so that
:func:`address_vjp` can take several sums in one reduction.

Shapes: ``...`` any leading batch dimensions, N memory rows, M the word size (the memory ``[..., M, N]``
in the functions below, unless said otherwise), K the heads of one kind (R read or W write heads), S the
shift range. Forward-mode differentiation (``jax.jvp``) is not defined for a ``custom_vjp`` function:
use ``NTMSpec(memory_backward="remat")`` or ``"autodiff"`` for that.
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp

from ntm import addressing, heads
from ntm.addressing import LOG_EPSILON, NORM_EPSILON
from ntm.state import ReadHeadParams, WriteHeadParams

# ---------------------------------------------------------------------------------------------------
# One VJP per equation


def softmax_vjp(out: jax.Array, d_out: jax.Array) -> jax.Array:
    """VJP of ``out = softmax(logits, axis=-1)``: ``d_logits = out * (d_out - sum(out * d_out))``.

    Args:
      out, d_out: ``[..., N]``.

    Returns:
      ``d_logits [..., N]``.
    """
    return out * (d_out - jnp.sum(out * d_out, axis=-1, keepdims=True))


class Content(NamedTuple):
    """What the forward of :func:`content_weights` keeps for its VJP, for K heads."""

    similarity: jax.Array  # [..., K, N], K(k, M(i)) of eq. (6)
    memory_norm: jax.Array  # [..., N], sqrt(|M(i)|^2 + NORM_EPSILON)
    key_norm: jax.Array  # [..., K], sqrt(|k|^2 + NORM_EPSILON)
    weights: jax.Array  # [..., K, N], w^c of eq. (5)


# The largest strength bound for which the content softmax subtracts the strength, not its max: the logits
# beta K lie in [-beta, beta] (|K| <= 1), so beta (K - 1) lies in [-2 beta, 0]; at 2 beta <= 80 every
# exponential is at least exp(-80), above float32's smallest normal number (~exp(-87.3)).
UNSHIFTED_STRENGTH_LIMIT = 40.0


def strength_bound(raw_bound: float) -> float:
    """``softplus(raw_bound)``: the largest key strength that a raw value within ``+-raw_bound`` gives."""
    return max(raw_bound, 0.0) + math.log1p(math.exp(-abs(raw_bound)))


def content_weights(
    memory: jax.Array,
    key: jax.Array,
    strength: jax.Array,
    kept: tuple[jax.Array, jax.Array] | None = None,
    strength_bound: float | None = None,
) -> Content:
    """Eq. (5) and (6) for K heads at once, as :func:`ntm.addressing.content_weights` computes them.

    The similarity is one dot product over the memory and a sum of squares per row and per key. With a
    ``strength_bound`` of at most :data:`UNSHIFTED_STRENGTH_LIMIT`, the softmax subtracts each head's
    strength from its logits instead of their maximum over the rows, the same weights (softmax does not
    change under a shift) without a reduction: 0.88-0.93x the copy model's training step at batch 1 and
    0.985-0.988x at batch 32 under a plain ``jax.jit`` (interleaved A/B, 2026-12-06).

    Args:
      memory: ``[..., M, N]`` (the column layout: see the module docstring), shared by the K heads.
      key: ``[..., K, M]``.
      strength: ``[..., K]``.
      kept: ``(similarity [..., K, N], memory_norm [..., N])`` of these arguments, if the forward kept
        them: then neither is computed again from the memory.
      strength_bound: a bound every ``strength`` is known to keep (static), or None.

    Returns:
      :class:`Content`; its ``weights`` are the output.
    """
    key_norm = jnp.sqrt(jnp.sum(key * key, axis=-1) + NORM_EPSILON)
    if kept is None:
        dot = jnp.einsum("...mn,...km->...kn", memory, key)
        memory_norm = jnp.sqrt(jnp.sum(memory * memory, axis=-2) + NORM_EPSILON)
        similarity = dot / (memory_norm[..., None, :] * key_norm[..., None])
    else:
        similarity, memory_norm = kept
    if strength_bound is not None and strength_bound <= UNSHIFTED_STRENGTH_LIMIT:
        unnormalised = jnp.exp(strength[..., None] * (similarity - 1.0))
        weights = unnormalised / jnp.sum(unnormalised, axis=-1, keepdims=True)
    else:
        weights = jax.nn.softmax(strength[..., None] * similarity, axis=-1)
    return Content(similarity, memory_norm, key_norm, weights)


def content_weights_vjp(
    memory: jax.Array,
    key: jax.Array,
    strength: jax.Array,
    content: Content,
    d_out: jax.Array,
    sums: jax.Array,
) -> tuple[jax.Array, jax.Array, jax.Array]:
    """VJP of :func:`content_weights`.

    With ``z = beta K``, ``K = dot / (|M| |k|)``: ``d_z = w^c (d_out - sum_i w^c d_out)`` (the softmax
    VJP), ``d_beta = sum_i d_z K = sum_i w^c d_out K - (sum_i w^c d_out) (sum_i w^c K)``, ``d_K = beta d_z``,
    ``d_dot = d_K / (|M| |k|)``, ``d|M|(i) = -sum_h d_K K / |M|(i)``, ``d|k| = -sum_i d_K K / |k| =
    -beta d_beta / |k|``, and the norms pass back ``d|x| x / |x|``.

    Args:
      memory: ``[..., M, N]``.
      key: ``[..., K, M]``.
      strength: ``[..., K]``.
      content: what the forward kept.
      d_out: ``[..., K, N]``, the cotangent of the content weights.
      sums: ``[..., K, 3]``, the sums over the rows of ``w^c d_out``, ``w^c d_out K`` and ``w^c K``,
        which need no cotangent but ``d_out`` (:func:`address_vjp` takes them in one reduction with
        the other fields' sums): with them, ``d_beta`` needs no sum over the rows of its own.

    Returns:
      ``(d_memory [..., M, N] (summed over the heads), d_key [..., K, M], d_strength [..., K])``.
    """
    weighted_sum, weighted_similarity, mean_similarity = sums[..., 0], sums[..., 1], sums[..., 2]
    d_logits = content.weights * (d_out - weighted_sum[..., None])
    d_strength = weighted_similarity - weighted_sum * mean_similarity
    d_similarity = strength[..., None] * d_logits
    d_dot = d_similarity / (content.memory_norm[..., None, :] * content.key_norm[..., None])
    memory_scale = -jnp.sum(d_similarity * content.similarity, axis=-2) / (
        content.memory_norm * content.memory_norm
    )  # [..., N]
    key_scale = -strength * d_strength / (content.key_norm * content.key_norm)  # [..., K]
    d_memory = jnp.einsum("...kn,...km->...mn", d_dot, key) + memory_scale[..., None, :] * memory
    d_key = jnp.einsum("...kn,...mn->...km", d_dot, memory) + key_scale[..., None] * key
    return d_memory, d_key, d_strength


def interpolate_vjp(
    content: jax.Array, previous: jax.Array, gate: jax.Array, d_out: jax.Array
) -> tuple[jax.Array, jax.Array, jax.Array]:
    """VJP of eq. (7), ``w^g = g w^c + (1 - g) w_{t-1}`` (:func:`ntm.addressing.interpolate`).

    Args:
      content, previous: ``[..., K, N]``.
      gate: ``[..., K]``.
      d_out: ``[..., K, N]``.

    Returns:
      ``(d_content [..., K, N], d_previous [..., K, N], gate_terms [..., K, N])``; ``d_gate`` is
      ``gate_terms`` summed over the rows (:func:`address_vjp` sums it with the other heads' fields).
    """
    g = gate[..., None]
    return g * d_out, (1.0 - g) * d_out, d_out * (content - previous)


def rolls(x: jax.Array, s: int) -> list[jax.Array]:
    """``[jnp.roll(x, r, axis=-1) for r in -s..s]``, each a slice of one wrap-padded copy of ``x``.

    Each ``jnp.roll`` is a concatenation of two slices; XLA CPU left each as kernels of their own
    (three per roll) in front of the fusion that used them. In :func:`shift` these slices made the
    copy model's training step 0.92-0.96x the time at batch 1 and 1.00x at batch 32 (plain
    ``jax.jit``, interleaved A/B, 2026-12-06).

    Args:
      x: ``[..., N]``, with ``s <= N``.

    Returns:
      ``2s + 1`` arrays ``[..., N]``; entry ``s + r`` has ``x(i - r)`` at ``i`` (indices mod N).
    """
    n = x.shape[-1]
    if not 0 <= s <= n:
        raise ValueError(f"rolls: s={s} must be in [0, N={n}]")
    padded = jnp.concatenate([x[..., n - s :], x, x[..., :s]], axis=-1)  # padded(j) = x(j - s)
    return [padded[..., s - r : s - r + n] for r in range(-s, s + 1)]


def shift(weights: jax.Array, shift_weights: jax.Array) -> jax.Array:
    """Eq. (8), ``w~(i) = sum_k w(i - k + S) s(k)``, as :func:`ntm.addressing.shift`.

    Args:
      weights: ``[..., K, N]``.
      shift_weights: ``[..., K, 2S + 1]``.

    Returns:
      ``[..., K, N]``.
    """
    s = shift_weights.shape[-1] // 2
    return sum(r * shift_weights[..., k, None] for k, r in enumerate(rolls(weights, s)))


def shift_vjp(weights: jax.Array, shift_weights: jax.Array, d_out: jax.Array) -> tuple[jax.Array, jax.Array]:
    """VJP of :func:`shift`: ``d_w(j) = sum_k d_out(j + k - S) s(k)`` and
    ``d_s(k) = sum_i d_out(i) w(i - k + S)``.

    Args:
      weights: ``[..., K, N]``, the interpolated weighting.
      shift_weights: ``[..., K, 2S + 1]``.
      d_out: ``[..., K, N]``.

    Returns:
      ``(d_weights [..., K, N], shift_terms [..., K, 2S + 1, N])``; ``d_shift_weights`` is
      ``shift_terms`` summed over the rows.
    """
    s = shift_weights.shape[-1] // 2
    shifts = range(2 * s + 1)
    # jnp.roll here, where :func:`rolls` made the copy model's step 1.11-1.17x slower at batch 32.
    d_weights = sum(jnp.roll(d_out, s - k, axis=-1) * shift_weights[..., k, None] for k in shifts)
    terms = jnp.stack([d_out * jnp.roll(weights, k - s, axis=-1) for k in shifts], axis=-2)
    return d_weights, terms


def sharpen_vjp(
    weights: jax.Array, gamma: jax.Array, out: jax.Array, d_out: jax.Array
) -> tuple[jax.Array, jax.Array]:
    """VJP of :func:`ntm.addressing.sharpen`: with ``z = gamma log(w~ + eps)``,
    ``d_gamma = sum_i d_z log(w~ + eps)`` and ``d_w~ = gamma d_z / (w~ + eps)``.

    Args:
      weights: ``[..., K, N]``, the shifted weighting w~.
      gamma: ``[..., K]``.
      out: ``[..., K, N]``, the sharpened weighting (the forward's output).
      d_out: ``[..., K, N]``.

    Returns:
      ``(d_weights [..., K, N], gamma_terms [..., K, N])``; ``d_gamma`` is ``gamma_terms`` summed over
      the rows.
    """
    d_logits = softmax_vjp(out, d_out)
    shifted = weights + LOG_EPSILON
    return gamma[..., None] * d_logits / shifted, d_logits * jnp.log(shifted)


def erase_factors(weights: jax.Array, erase: jax.Array) -> list[jax.Array]:
    """``1 - w_h(i) e_h`` for each of H heads (the factors of eq. (3)), a list of ``[..., M, N]``.

    Args:
      weights: ``[..., H, N]``.
      erase: ``[..., H, M]``.
    """
    return [1.0 - erase[..., h, :, None] * weights[..., h, None, :] for h in range(weights.shape[-2])]


def _product(factors: list[jax.Array]) -> jax.Array:
    out = factors[0]
    for factor in factors[1:]:
        out = out * factor
    return out


def write_heads_vjp(
    memory: jax.Array,
    weights: jax.Array,
    erase: jax.Array,
    add: jax.Array,
    factors: list[jax.Array],
    d_out: jax.Array,
) -> tuple[jax.Array, jax.Array, jax.Array, jax.Array]:
    """VJP of eq. (3) and (4) for H heads, ``M_t = M_{t-1} prod_h (1 - w_h e_h) + sum_h w_h a_h``
    (:func:`ntm.memory.write_heads`).

    With ``G_h = d_out M_{t-1} prod_{h' != h} (1 - w_h' e_h')``: ``d_w_h(i) = sum_m (d_out a_h - G_h e_h)``
    and ``d_e_h = -sum_i G_h w_h(i)``. The products over the other heads are taken as prefix and suffix
    products, not by dividing, so that a factor of exactly 0 (``w e = 1``) is no problem.

    Args:
      memory: ``[..., M, N]``, before the write.
      weights: ``[..., H, N]``.
      erase, add: ``[..., H, M]``.
      factors: :func:`erase_factors` of ``weights`` and ``erase``.
      d_out: ``[..., M, N]``, the cotangent of the written memory.

    Returns:
      ``(d_memory [..., M, N], d_weights [..., H, N], d_erase [..., H, M], d_add [..., H, M])``.
    """
    num_heads = len(factors)
    d_memory = d_out * _product(factors)
    d_factors = d_out * memory  # the cotangent of the whole erase factor
    if num_heads == 1:
        # [d_out, -d_factors] side by side: d_add and d_erase are one product with the weighting, d_weights
        # one with [add, erase]; two products over a memory-sized array where there were four.
        word = memory.shape[-2]
        both = jnp.concatenate([d_out, -d_factors], axis=-2)  # [..., 2M, N]
        sums = jnp.einsum("...hn,...xn->...hx", weights, both)
        d_weights = jnp.einsum("...xn,...hx->...hn", both, jnp.concatenate([add, erase], axis=-1))
        return d_memory, d_weights, sums[..., word:], sums[..., :word]
    d_add = jnp.einsum("...hn,...mn->...hm", weights, d_out)
    prefix = [None] * num_heads  # prefix[h] = prod_{h' < h}, suffix[h] = prod_{h' > h}
    suffix = [None] * num_heads
    for h in range(1, num_heads):
        prefix[h] = factors[0] if h == 1 else prefix[h - 1] * factors[h - 1]
    for h in range(num_heads - 2, -1, -1):
        suffix[h] = factors[-1] if h == num_heads - 2 else suffix[h + 1] * factors[h + 1]
    others = [_product([f for f in (prefix[h], suffix[h]) if f is not None]) for h in range(num_heads)]
    d_each = jnp.stack([d_factors * other for other in others], axis=-3)  # [..., H, M, N]
    # Two dots (for H heads: d_out is shared, d_each is not); one reduction (not a dot) over the word of
    # both terms was 1.08x the copy step at batch 32 (0.97x at 1).
    d_weights = jnp.einsum("...mn,...hm->...hn", d_out, add)
    d_weights = d_weights - jnp.einsum("...hmn,...hm->...hn", d_each, erase)
    d_erase = -jnp.einsum("...hmn,...hn->...hm", d_each, weights)
    return d_memory, d_weights, d_erase, d_add


def read_vjp(memory: jax.Array, weights: jax.Array, d_out: jax.Array) -> tuple[jax.Array, jax.Array]:
    """VJP of eq. (2) for R heads, ``r_h = sum_i w_h(i) M(i)`` (:func:`ntm.memory.read`).

    Args:
      memory: ``[..., M, N]``.
      weights: ``[..., R, N]``.
      d_out: ``[..., R, M]``.

    Returns:
      ``(d_memory [..., M, N] (summed over the heads), d_weights [..., R, N])``.
    """
    d_memory = jnp.einsum("...rn,...rm->...mn", weights, d_out)
    d_weights = jnp.einsum("...rm,...mn->...rn", d_out, memory)
    return d_memory, d_weights


# ---------------------------------------------------------------------------------------------------
# The addressing of K heads: forward with what the backward needs, and its VJP


class Addressing(NamedTuple):
    """The values of one kind of heads' addressing that :func:`address_vjp` needs (every field
    ``[..., K, N]`` or smaller)."""

    content: Content
    interpolated: jax.Array  # [..., K, N], w^g
    shifted: jax.Array  # [..., K, N], w~
    weights: jax.Array  # [..., K, N], the final weighting


def address(
    memory: jax.Array,
    previous: jax.Array,
    params,
    kept: tuple[jax.Array, jax.Array] | None = None,
    strength_bound: float | None = None,
) -> Addressing:
    """Eq. (5)-(9) for the K heads of ``params`` (ReadHeadParams or WriteHeadParams), as
    :func:`ntm.heads.address_heads` computes them.

    Args:
      memory: ``[..., M, N]``.
      previous: ``[..., K, N]``, each head's previous weighting.
      params: head parameters with head axis K.
      kept: the content addressing's ``(similarity, memory_norm)``, if kept (:func:`content_weights`).
      strength_bound: as for :func:`content_weights`.

    Returns:
      :class:`Addressing`; its ``weights [..., K, N]`` are the output.
    """
    content = content_weights(memory, params.key, params.strength, kept, strength_bound)
    gate = params.gate[..., None]
    interpolated = gate * content.weights + (1.0 - gate) * previous
    shifted = shift(interpolated, params.shift)
    return Addressing(content, interpolated, shifted, addressing.sharpen(shifted, params.gamma))


def address_vjp(memory: jax.Array, previous: jax.Array, params, kept: Addressing, d_out: jax.Array):
    """VJP of :func:`address`: sharpening, shift, interpolation and content in reverse order.

    Each sum over the N rows is a kernel of its own (two on CPU, where XLA splits sums over more than
    32 entries), so the sums are taken together where they can be: once the sharpening's softmax VJP is
    known, the cotangents of gamma, the shift weights and the gate and the content VJP's sums (its
    softmax VJP's and those that give the strength's cotangent) need only elementwise work, and are
    one reduction of a stacked ``[..., K, 2S + 6, N]`` array. Two reductions over the rows in all,
    where one per sum made 2S + 7 (nine at S = 1). The copy model's training step under a plain
    ``jax.jit``, timed interleaved against one sum per field: 0.87-0.90x at batch 32, 0.96-0.98x at
    batch 1 (with ``ntm.compiler_options()``: 0.96-1.04x, within the noise). The strength's two sums
    in the stack as well, against a reduction of their own after the softmax VJP's: 0.90-0.92x at
    batch 1, 0.97-0.99x at batch 32 (2026-12-06).

    Args:
      memory: ``[..., M, N]``.
      previous: ``[..., K, N]``.
      params: the heads' parameters.
      kept: what :func:`address` returned for these inputs.
      d_out: ``[..., K, N]``, the cotangent of the final weighting.

    Returns:
      ``(d_memory [..., M, N], d_previous [..., K, N], d_fields)``, ``d_fields`` a dict of the
      cotangents of ``key``, ``strength``, ``gate``, ``shift`` and ``gamma``.
    """
    d_shifted, gamma_terms = sharpen_vjp(kept.shifted, params.gamma, kept.weights, d_out)
    d_interpolated, shift_terms = shift_vjp(kept.interpolated, params.shift, d_shifted)
    d_content, d_previous, gate_terms = interpolate_vjp(
        kept.content.weights, previous, params.gate, d_interpolated
    )
    weighted = kept.content.weights * d_content
    terms = [
        gamma_terms,
        gate_terms,
        weighted,
        weighted * kept.content.similarity,
        kept.content.weights * kept.content.similarity,
    ]
    stacked = jnp.concatenate([t[..., None, :] for t in terms] + [shift_terms], axis=-2)
    sums = jnp.sum(stacked, axis=-1)  # [..., K, 2S + 6]
    d_memory, d_key, d_strength = content_weights_vjp(
        memory, params.key, params.strength, kept.content, d_content, sums[..., 2:5]
    )
    d_fields = dict(
        key=d_key, strength=d_strength, gate=sums[..., 1], shift=sums[..., 5:], gamma=sums[..., 0]
    )
    return d_memory, d_previous, d_fields


# ---------------------------------------------------------------------------------------------------
# The memory step


def write(
    memory: jax.Array, weights: jax.Array, params: WriteHeadParams
) -> tuple[jax.Array, list[jax.Array]]:
    """Eq. (3) and (4) for W heads, as :func:`ntm.memory.write_heads`.

    Args:
      memory: ``[..., M, N]``.
      weights: ``[..., W, N]``.
      params: the write heads' parameters (``erase``, ``add``: ``[..., W, M]``).

    Returns:
      ``(written [..., M, N], factors)``, ``factors`` the :func:`erase_factors`.
    """
    factors = erase_factors(weights, params.erase)
    return memory * _product(factors) + jnp.einsum("...hn,...hm->...mn", weights, params.add), factors


def _core_shapes(memory, previous_read, previous_write, read_params, write_params) -> tuple:
    """The trailing (non-batch) shape each input of :func:`memory_step` takes in the step (the memory's
    in rows, ``(N, M)``)."""
    n, m = memory.shape[-2:]

    def heads_(params, k):
        one = (k,)
        fields = {
            "key": (k, m),
            "strength": one,
            "gate": one,
            "shift": (k, params.shift.shape[-1]),
            "gamma": one,
        }
        if isinstance(params, WriteHeadParams):
            fields.update(erase=(k, m), add=(k, m))
        return type(params)(**fields)

    r, w = previous_read.shape[-2], previous_write.shape[-2]
    return (n, m), (r, n), (w, n), heads_(read_params, r), heads_(write_params, w)


def _broadcast(args: tuple, cores: tuple) -> tuple:
    """``args`` with every leaf broadcast to the batch shape they share; ``cores`` gives each argument's
    trailing (non-batch) shape, one tuple per leaf."""
    leaves, tree = jax.tree.flatten(args)
    cores = tree.flatten_up_to(cores)
    batch = jnp.broadcast_shapes(
        *(jnp.shape(x)[: max(jnp.ndim(x) - len(c), 0)] for x, c in zip(leaves, cores, strict=True))
    )
    leaves = [jnp.broadcast_to(x, batch + c) for x, c in zip(leaves, cores, strict=True)]
    return jax.tree.unflatten(tree, leaves)


def _transpose(memory: jax.Array) -> jax.Array:
    """``[..., N, M] <-> [..., M, N]``: between the row layout of :class:`ntm.NTMState` and the columns."""
    return jnp.swapaxes(memory, -1, -2)


def memory_step(
    memory: jax.Array,
    previous_read_weights: jax.Array,
    previous_write_weights: jax.Array,
    read_params: ReadHeadParams,
    write_params: WriteHeadParams,
) -> tuple[jax.Array, jax.Array, jax.Array, jax.Array]:
    """:func:`ntm.heads.memory_step`, differentiated by the hand-written backward of this module.

    The inputs' batch dimensions broadcast against each other, as in :func:`ntm.heads.memory_step`
    (an unbatched previous weighting with a batched memory, say); each input is broadcast to the common
    batch shape before the hand-written step, so that JAX sums its cotangent back to the input's shape.
    The memory is transposed into the column layout and back (see the module docstring).

    Args:
      memory: ``[..., N, M]``, memory before this step.
      previous_read_weights: ``[..., R, N]``.
      previous_write_weights: ``[..., W, N]``.
      read_params, write_params: head parameters of this step (head axes R and W).

    Returns:
      ``(memory [..., N, M], read_weights [..., R, N], write_weights [..., W, N],
      read_vectors [..., R, M])``.
    """
    args = (memory, previous_read_weights, previous_write_weights, read_params, write_params)
    jax.eval_shape(heads.memory_step, *args)  # its shape checks (clear errors), at trace time only
    memory, *rest = _broadcast(args, _core_shapes(*args))
    written, *outputs = _memory_step(_transpose(memory), *rest)
    return (_transpose(written), *outputs)


def memory_step_from_interface(
    memory: jax.Array,
    previous_read_weights: jax.Array,
    previous_write_weights: jax.Array,
    interface: jax.Array,
    layout: heads.HeadLayout,
    columns: bool = False,
    raw_bound: float | None = None,
) -> tuple[jax.Array, jax.Array, jax.Array, jax.Array]:
    """:func:`memory_step` from the raw head parameters: ``layout.split(interface)`` (the activations)
    is part of the hand-written step.

    Under ``jax.grad`` the step then keeps the raw vector ``[..., P]``, one array, where
    :func:`memory_step` keeps each activated field of each kind of heads (twelve), and its backward
    ends in the activations' own (autodiff of :meth:`ntm.heads.HeadLayout.split`, in the backward
    pass): one cotangent ``[..., P]``. Inside ``lax.scan`` every kept value is a stack over the time
    steps, written and read back by kernels of its own. This is the step of ``NTMSpec(memory_backward=
    "custom")``; :func:`ntm.core.unroll` calls it with ``columns=True`` on the memory it carries in
    the column layout.

    Args:
      memory: ``[..., N, M]``, memory before this step; ``[..., M, N]`` if ``columns``.
      previous_read_weights: ``[..., R, N]``.
      previous_write_weights: ``[..., W, N]``.
      interface: ``[..., P]``, the raw head parameters (``P = layout.size``); batch dimensions broadcast
        as in :func:`memory_step`.
      layout: where each head parameter lies in ``interface`` (R, W, M and S).
      columns: whether the memory, given and returned, is in the column layout ``[..., M, N]``; if not,
        it is transposed into it and back (one memory-sized copy each way, and one each way in the
        backward).
      raw_bound: a bound the raw vector keeps, ``|interface| <= raw_bound`` (static), as
        :func:`ntm.core.bound` keeps it within ``clip_value``; the strengths then keep ``softplus(raw_bound)``
        and, if that is at most :data:`UNSHIFTED_STRENGTH_LIMIT` (``raw_bound`` up to ~40), the content
        softmax needs no maximum (:func:`content_weights`). A raw vector past the bound given can then
        give NaN weights; None assumes no bound.

    Returns:
      ``(memory [..., N, M] (or [..., M, N]), read_weights [..., R, N], write_weights [..., W, N],
      read_vectors [..., R, M])``.
    """
    if raw_bound is not None and not (isinstance(raw_bound, (int, float)) and 0 < raw_bound < math.inf):
        raise ValueError(f"raw_bound must be a positive number or None, got {raw_bound!r}")
    args = (memory, previous_read_weights, previous_write_weights)
    rows = memory  # for the shape checks: the memory as ntm.heads takes it
    if columns and jnp.ndim(memory) >= 2:
        shape = jnp.shape(memory)
        rows = jax.ShapeDtypeStruct(shape[:-2] + shape[:-3:-1], jnp.result_type(memory))
    if jnp.ndim(memory) >= 2 and jnp.shape(rows)[-1] != layout.word_size:
        given = "columns [..., M, N]" if columns else "rows [..., N, M]"
        raise ValueError(
            f"memory {jnp.shape(memory)}, in {given}, has words of {jnp.shape(rows)[-1]}; the head "
            f"layout's are {layout.word_size}"
        )
    params = jax.eval_shape(layout.split, interface)  # a clear error for a vector of the wrong size
    for name, weights, count in (
        ("previous_read_weights", previous_read_weights, layout.num_read),
        ("previous_write_weights", previous_write_weights, layout.num_write),
    ):
        if jnp.ndim(weights) >= 2 and jnp.shape(weights)[-2] != count:
            raise ValueError(
                f"{name} {jnp.shape(weights)} has {jnp.shape(weights)[-2]} heads; the layout has {count}"
            )
    jax.eval_shape(heads.memory_step, rows, *args[1:], *params)  # and the step's shape checks
    (n, m), (r, _), (w, _), _, _ = _core_shapes(rows, *args[1:], *params)
    memory, *rest = _broadcast(
        (*args, interface), ((m, n) if columns else (n, m), (r, n), (w, n), (layout.size,))
    )
    bound = None if raw_bound is None else strength_bound(raw_bound)
    written, *outputs = _from_interface(layout, bound, memory if columns else _transpose(memory), *rest)
    return (written if columns else _transpose(written), *outputs)


def _address_and_write(
    memory, previous_read, previous_write, read_params, write_params, contents=(None, None), bound=None
) -> tuple[Addressing, jax.Array, list[jax.Array], Addressing]:
    """The write heads' addressing, the written memory and its erase factors, and the read heads'
    addressing of it; ``contents`` the two kinds' kept ``(similarity, memory_norm)``, if kept."""
    write_ = address(memory, previous_write, write_params, contents[0], bound)
    written, factors = write(memory, write_.weights, write_params)
    return write_, written, factors, address(written, previous_read, read_params, contents[1], bound)


def _forward(args: tuple, bound: float | None = None) -> tuple[tuple, tuple]:
    """The step's outputs and the two kinds' content ``(similarity, memory_norm)``, from its inputs
    ``(memory, previous_read, previous_write, read_params, write_params)`` of one batch shape."""
    write_, written, _, read_ = _address_and_write(*args, bound=bound)
    read_vectors = jnp.einsum("...rn,...mn->...rm", read_.weights, written)
    contents = tuple((a.content.similarity, a.content.memory_norm) for a in (write_, read_))
    return (written, read_.weights, write_.weights, read_vectors), contents


def _backward(args: tuple, contents: tuple, cotangents: tuple, bound: float | None = None) -> tuple:
    """The cotangents of ``args`` (as :func:`_forward` takes them), from those of its outputs."""
    memory, previous_read, previous_write, read_params, write_params = args
    d_written, d_read_weights, d_write_weights, d_read_vectors = cotangents
    # The forward again, from what it kept.
    write_, written, factors, read_ = _address_and_write(*args, contents=contents, bound=bound)
    # Read, then the read heads' addressing of the written memory.
    d_memory_read, d_weights = read_vjp(written, read_.weights, d_read_vectors)
    d_memory_address, d_previous_read, d_read_fields = address_vjp(
        written, previous_read, read_params, read_, d_read_weights + d_weights
    )
    d_written = d_written + d_memory_read + d_memory_address
    # Write, then the write heads' addressing of the memory before it.
    d_memory, d_weights, d_erase, d_add = write_heads_vjp(
        memory, write_.weights, write_params.erase, write_params.add, factors, d_written
    )
    d_memory_address, d_previous_write, d_write_fields = address_vjp(
        memory, previous_write, write_params, write_, d_write_weights + d_weights
    )
    return (
        d_memory + d_memory_address,
        d_previous_read,
        d_previous_write,
        ReadHeadParams(**d_read_fields),
        WriteHeadParams(**d_write_fields, erase=d_erase, add=d_add),
    )


@jax.custom_vjp
def _memory_step(memory, previous_read_weights, previous_write_weights, read_params, write_params):
    """:func:`memory_step` on inputs of one batch shape, the memory in columns."""
    args = (memory, previous_read_weights, previous_write_weights, read_params, write_params)
    return _forward(args)[0]


def _memory_step_fwd(*args):
    outputs, contents = _forward(args)
    return outputs, (args, contents)


def _memory_step_bwd(kept, cotangents):
    args, contents = kept
    return _backward(args, contents, cotangents)


_memory_step.defvjp(_memory_step_fwd, _memory_step_bwd)


@functools.partial(jax.custom_vjp, nondiff_argnums=(0, 1))
def _from_interface(layout, bound, memory, previous_read_weights, previous_write_weights, interface):
    """:func:`memory_step_from_interface` on inputs of one batch shape, the memory in columns."""
    args = (memory, previous_read_weights, previous_write_weights, *layout.split(interface))
    return _forward(args, bound)[0]


def _from_interface_fwd(layout, bound, memory, previous_read_weights, previous_write_weights, interface):
    args = (memory, previous_read_weights, previous_write_weights, *layout.split(interface))
    outputs, contents = _forward(args, bound)
    return outputs, (memory, previous_read_weights, previous_write_weights, interface, contents)


def _from_interface_bwd(layout, bound, kept, cotangents):
    memory, previous_read, previous_write, interface, contents = kept
    params, split_vjp = jax.vjp(layout.split, interface)
    d_memory, d_previous_read, d_previous_write, *d_params = _backward(
        (memory, previous_read, previous_write, *params), contents, cotangents, bound
    )
    (d_interface,) = split_vjp(tuple(d_params))
    return d_memory, d_previous_read, d_previous_write, d_interface


_from_interface.defvjp(_from_interface_fwd, _from_interface_bwd)
