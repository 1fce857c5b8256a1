"""Each addressing equation against hand-computed numbers, its invariants, and its gradients."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

from ntm import addressing

W = np.array([0.1, 0.2, 0.3, 0.4], np.float32)


def test_cosine_similarity_hand_values():
    memory = np.array([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0], [-3.0, 0.0]], np.float32)
    key = np.array([2.0, 0.0], np.float32)
    got = addressing.cosine_similarity(memory, key)
    np.testing.assert_allclose(got, [1.0, 0.0, 1 / np.sqrt(2), -1.0], atol=1e-6)


def test_cosine_similarity_of_zero_row_is_zero_not_nan():
    memory = np.zeros((3, 4), np.float32)
    got = addressing.cosine_similarity(memory, np.ones(4, np.float32))
    np.testing.assert_array_equal(got, np.zeros(3))


def test_content_weights_hand_values():
    memory = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], np.float32)
    key = np.array([1.0, 0.0], np.float32)
    beta = 3.0
    sim = np.array([1.0, 0.0, 1 / np.sqrt(2)])
    expected = np.exp(beta * sim) / np.exp(beta * sim).sum()
    got = addressing.content_weights(memory, key, jnp.float32(beta))
    np.testing.assert_allclose(got, expected, rtol=1e-5)


def test_content_weights_batched_and_normalised():
    rng = np.random.default_rng(0)
    memory = rng.normal(size=(2, 3, 8, 5)).astype(np.float32)
    key = rng.normal(size=(2, 3, 5)).astype(np.float32)
    beta = rng.uniform(0, 10, size=(2, 3)).astype(np.float32)
    got = addressing.content_weights(memory, key, beta)
    assert got.shape == (2, 3, 8)
    assert np.all(got >= 0)
    np.testing.assert_allclose(got.sum(-1), 1.0, rtol=1e-6)
    # The batched call equals one call per example.
    one = addressing.content_weights(memory[1, 2], key[1, 2], beta[1, 2])
    np.testing.assert_allclose(got[1, 2], one, rtol=1e-6)


def test_interpolate_hand_values_and_gate_limits():
    wc = np.array([1.0, 0.0, 0.0, 0.0], np.float32)
    got = addressing.interpolate(wc, W, jnp.float32(0.25))
    np.testing.assert_allclose(got, 0.25 * wc + 0.75 * W, rtol=1e-6)
    np.testing.assert_array_equal(addressing.interpolate(wc, W, jnp.float32(0.0)), W)
    np.testing.assert_array_equal(addressing.interpolate(wc, W, jnp.float32(1.0)), wc)


def test_shift_hand_values():
    # s weights shifts (-1, 0, +1) by (0.2, 0.5, 0.3); w~(i) = sum_j w(j) s(i - j).
    s = np.array([0.2, 0.5, 0.3], np.float32)
    got = addressing.shift(W, s)
    np.testing.assert_allclose(got, [0.21, 0.19, 0.29, 0.31], rtol=1e-5)


@pytest.mark.parametrize("shift_by", [-2, -1, 0, 1, 2])
def test_one_hot_shift_equals_roll(shift_by):
    s = np.zeros(5, np.float32)
    s[shift_by + 2] = 1.0
    w = np.random.default_rng(1).dirichlet(np.ones(7)).astype(np.float32)
    np.testing.assert_allclose(addressing.shift(w, s), np.roll(w, shift_by), rtol=1e-6)


def test_shift_plus_one_moves_focus_to_next_row_circularly():
    w = np.zeros(5, np.float32)
    w[4] = 1.0
    got = addressing.shift(w, np.array([0.0, 0.0, 1.0], np.float32))
    np.testing.assert_array_equal(got, [1.0, 0, 0, 0, 0])


def test_shift_rejects_even_or_too_many_shifts():
    with pytest.raises(ValueError, match="odd"):
        addressing.shift(W, np.ones(2, np.float32) / 2)
    with pytest.raises(ValueError, match="more than the 4 memory rows"):
        addressing.shift(W, np.ones(5, np.float32) / 5)


def test_sharpen_hand_values():
    got = addressing.sharpen(W, jnp.float32(2.0))
    np.testing.assert_allclose(got, W**2 / np.sum(W**2), rtol=1e-5)


def test_sharpen_with_gamma_one_is_identity():
    w = np.random.default_rng(2).dirichlet(np.ones(16)).astype(np.float32)
    np.testing.assert_allclose(addressing.sharpen(w, jnp.float32(1.0)), w, rtol=1e-5, atol=1e-7)


def test_sharpen_stays_finite_for_tiny_weights_and_large_gamma():
    # The direct form w^50 underflows to 0 for every entry here and gives 0/0.
    w = np.full(128, 1e-3, np.float32)
    w[7] = 1.2e-3
    got = addressing.sharpen(w, jnp.float32(50.0))
    assert np.all(np.isfinite(got))
    np.testing.assert_allclose(got.sum(), 1.0, rtol=1e-5)
    expected = (w.astype(np.float64) / 1e-3) ** 50
    np.testing.assert_allclose(got, expected / expected.sum(), rtol=1e-4)
    # Exact zeros stay finite too.
    w0 = np.zeros(8, np.float32)
    w0[3] = 1.0
    np.testing.assert_allclose(addressing.sharpen(w0, jnp.float32(50.0)), w0, atol=1e-7)


def test_address_pipeline_is_a_distribution():
    rng = np.random.default_rng(3)
    memory = rng.normal(size=(4, 16, 6)).astype(np.float32)
    prev = rng.dirichlet(np.ones(16), size=4).astype(np.float32)
    w = addressing.address(
        memory,
        prev,
        rng.normal(size=(4, 6)).astype(np.float32),
        np.float32([0.0, 1.0, 5.0, 50.0]),
        np.float32([0.0, 0.3, 0.7, 1.0]),
        rng.dirichlet(np.ones(3), size=4).astype(np.float32),
        np.float32([1.0, 2.0, 10.0, 50.0]),
    )
    assert w.shape == (4, 16)
    assert np.all(w >= 0)
    np.testing.assert_allclose(w.sum(-1), 1.0, rtol=1e-5)


def test_addressing_gradients_float64():
    with jax.enable_x64(True):
        rng = np.random.default_rng(4)
        memory = jnp.asarray(rng.normal(size=(2, 6, 3)))
        prev = jnp.asarray(rng.dirichlet(np.ones(6), size=2))
        key = jnp.asarray(rng.normal(size=(2, 3)))
        beta = jnp.asarray([0.5, 2.0])
        gate = jnp.asarray([0.3, 0.8])
        s = jnp.asarray(rng.dirichlet(np.ones(3), size=2))
        gamma = jnp.asarray([1.5, 3.0])
        args = (memory, prev, key, beta, gate, s, gamma)
        check_grads(jax.jit(addressing.address), args, order=2, modes=["rev", "fwd"], eps=1e-5)
        check_grads(jax.jit(addressing.cosine_similarity), (memory, key), order=1, eps=1e-5)
        check_grads(jax.jit(addressing.sharpen), (prev, gamma), order=1, eps=1e-6)
        check_grads(jax.jit(addressing.shift), (prev, s), order=1, eps=1e-5)
