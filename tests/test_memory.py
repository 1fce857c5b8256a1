"""Read and write against hand-computed numbers, their invariants and gradients."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

from ntm import memory

MEM = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], np.float32)


def test_read_hand_values():
    w = np.array([0.5, 0.25, 0.25], np.float32)
    np.testing.assert_allclose(memory.read(MEM, w), [0.5 + 0.75 + 1.25, 1.0 + 1.0 + 1.5])


def test_one_hot_read_returns_the_row():
    for i in range(3):
        np.testing.assert_array_equal(memory.read(MEM, np.eye(3, dtype=np.float32)[i]), MEM[i])


def test_read_with_head_axis_broadcasts_memory():
    w = np.eye(3, dtype=np.float32)[[2, 0]]  # two heads
    got = memory.read(MEM[None], w)
    np.testing.assert_array_equal(got, MEM[[2, 0]])


def test_write_hand_values_one_head():
    w = np.array([0.5, 0.0, 1.0], np.float32)
    erase = np.array([1.0, 0.5], np.float32)
    add = np.array([10.0, -2.0], np.float32)
    expected = np.array(
        [
            [1.0 * (1 - 0.5) + 5.0, 2.0 * (1 - 0.25) - 1.0],
            [3.0, 4.0],
            [5.0 * 0.0 + 10.0, 6.0 * 0.5 - 2.0],
        ]
    )
    np.testing.assert_allclose(memory.write(MEM, w, erase, add), expected, rtol=1e-6)
    np.testing.assert_allclose(memory.write_heads(MEM, w[None], erase[None], add[None]), expected, rtol=1e-6)


def test_erase_one_with_one_hot_weighting_clears_that_row():
    w = np.array([0.0, 1.0, 0.0], np.float32)
    got = memory.write(MEM, w, np.ones(2, np.float32), np.zeros(2, np.float32))
    np.testing.assert_array_equal(got, [[1.0, 2.0], [0.0, 0.0], [5.0, 6.0]])


def test_two_heads_erases_multiply_adds_sum_and_order_does_not_matter():
    rng = np.random.default_rng(0)
    w = rng.dirichlet(np.ones(3), size=2).astype(np.float32)
    erase = rng.uniform(size=(2, 2)).astype(np.float32)
    add = rng.normal(size=(2, 2)).astype(np.float32)
    got = memory.write_heads(MEM, w, erase, add)
    expected = MEM * (1 - np.outer(w[0], erase[0])) * (1 - np.outer(w[1], erase[1]))
    expected = expected + np.outer(w[0], add[0]) + np.outer(w[1], add[1])
    np.testing.assert_allclose(got, expected, rtol=1e-5)
    swapped = memory.write_heads(MEM, w[::-1], erase[::-1], add[::-1])
    np.testing.assert_allclose(swapped, got, rtol=1e-6)


def test_write_batched_equals_per_example():
    rng = np.random.default_rng(1)
    mem = rng.normal(size=(4, 5, 3)).astype(np.float32)
    w = rng.dirichlet(np.ones(5), size=(4, 2)).astype(np.float32)
    e = rng.uniform(size=(4, 2, 3)).astype(np.float32)
    a = rng.normal(size=(4, 2, 3)).astype(np.float32)
    got = memory.write_heads(mem, w, e, a)
    for b in range(4):
        np.testing.assert_allclose(got[b], memory.write_heads(mem[b], w[b], e[b], a[b]), rtol=1e-6)
    # One head per example, batched the way read is: [B, N, M], [B, N], [B, M], [B, M].
    one = memory.write(mem, w[:, 0], e[:, 0], a[:, 0])
    for b in range(4):
        expected = mem[b] * (1 - np.outer(w[b, 0], e[b, 0])) + np.outer(w[b, 0], a[b, 0])
        np.testing.assert_allclose(one[b], expected, rtol=1e-5)
    # Two leading batch axes.
    two = memory.write(
        mem.reshape(2, 2, 5, 3), w[:, 0].reshape(2, 2, 5), e[:, 0].reshape(2, 2, 3), a[:, 0].reshape(2, 2, 3)
    )
    np.testing.assert_allclose(two.reshape(4, 5, 3), one, rtol=1e-6)


@pytest.mark.parametrize(
    "call, message",
    [
        # Several heads' weights given to the one-head write: it would mix them as a batch.
        (
            lambda m, w, e, a: memory.write(m[0], w[0], e[0], a[0]),
            r"batch axes of weights \(2, 5\).*write_heads",
        ),
        (
            lambda m, w, e, a: memory.write(m, w[:, 0, :4], e[:, 0], a[:, 0]),
            r"weights \(4, 4\) must end in N=5",
        ),
        (
            lambda m, w, e, a: memory.write(m, w[:, 0], e[:, 0, :2], a[:, 0]),
            r"erase \(4, 2\) must end in M=3",
        ),
        (
            lambda m, w, e, a: memory.write_heads(m, w[:, 0], e[:, 0], a[:, 0]),
            r"batch axes of weights \(4, 5\)",
        ),
        (
            lambda m, w, e, a: memory.write_heads(m, w, e[:, :1], a),
            r"erase \(4, 1, 3\) and weights \(4, 2, 5\)",
        ),
    ],
)
def test_write_with_mismatched_shapes_names_them(call, message):
    rng = np.random.default_rng(1)
    mem = rng.normal(size=(4, 5, 3)).astype(np.float32)
    w = rng.dirichlet(np.ones(5), size=(4, 2)).astype(np.float32)
    e = rng.uniform(size=(4, 2, 3)).astype(np.float32)
    a = rng.normal(size=(4, 2, 3)).astype(np.float32)
    with pytest.raises(ValueError, match=message):
        call(mem, w, e, a)


def test_write_gradients_float64():
    with jax.enable_x64(True):
        rng = np.random.default_rng(2)
        mem = jnp.asarray(rng.normal(size=(5, 3)))
        w = jnp.asarray(rng.dirichlet(np.ones(5), size=2))
        e = jnp.asarray(rng.uniform(size=(2, 3)))
        a = jnp.asarray(rng.normal(size=(2, 3)))
        check_grads(jax.jit(memory.write_heads), (mem, w, e, a), order=2, modes=["rev", "fwd"], eps=1e-5)
        check_grads(jax.jit(memory.read), (mem, w[0]), order=1, eps=1e-5)
