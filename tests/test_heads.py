"""Heads: parameter layout and activations, and the regression tests for silent head bugs.

Other implementations passed one head's previous weighting to another, returned the content weighting
instead of the final one, or produced outputs that did not depend on memory. These tests catch each.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ntm import heads
from ntm.state import ReadHeadParams, WriteHeadParams

N, M, S = 8, 4, 1


def _params(cls, k, gate, shift_onehot, gamma=1.0, **extra):
    shift = np.zeros((k, 2 * S + 1), np.float32)
    shift[:, shift_onehot + S] = 1.0
    return cls(
        key=jnp.ones((k, M)),
        strength=jnp.full((k,), 5.0),
        gate=jnp.full((k,), gate),
        shift=jnp.asarray(shift),
        gamma=jnp.full((k,), gamma),
        **extra,
    )


def test_sizes_and_split_layout():
    assert heads.read_head_size(M, S) == M + 2 * S + 4
    assert heads.write_head_size(M, S) == 3 * M + 2 * S + 4
    p = heads.head_params_size(2, 1, M, S)
    raw = jnp.zeros((3, p))
    read, write = heads.split_head_params(raw, 2, 1, M, S)
    assert read.key.shape == (3, 2, M) and read.shift.shape == (3, 2, 2 * S + 1)
    assert write.erase.shape == (3, 1, M) and write.add.shape == (3, 1, M)
    # Activations at zero: tanh 0, softplus log 2, sigmoid 1/2, uniform shift, gamma 1 + log 2.
    np.testing.assert_allclose(read.strength, np.log(2.0), rtol=1e-6)
    np.testing.assert_allclose(read.gate, 0.5)
    np.testing.assert_allclose(read.shift, 1 / 3, rtol=1e-6)
    np.testing.assert_allclose(read.gamma, 1 + np.log(2.0), rtol=1e-6)
    np.testing.assert_allclose(write.erase, 0.5)
    np.testing.assert_allclose(write.add, 0.0)


def test_split_puts_each_value_in_its_field():
    p = heads.head_params_size(1, 1, M, S)
    raw = np.zeros(p, np.float32)
    r = heads.read_head_size(M, S)
    raw[M] = 30.0  # read strength
    raw[r + M + 1] = -30.0  # write gate
    raw[r + r : r + r + M] = 30.0  # write erase
    read, write = heads.split_head_params(jnp.asarray(raw), 1, 1, M, S)
    np.testing.assert_allclose(read.strength, [30.0], rtol=1e-6)
    np.testing.assert_allclose(write.gate, [0.0], atol=1e-6)
    np.testing.assert_allclose(write.erase, 1.0, atol=1e-6)
    np.testing.assert_allclose(write.add, 0.0)


def test_split_rejects_wrong_width():
    with pytest.raises(ValueError, match="raw head parameters have size 5, expected"):
        heads.split_head_params(jnp.zeros(5), 1, 1, M, S)


def test_each_head_receives_its_own_previous_weighting():
    # Gate 0 ignores content, shift +1 with gamma 1: each head's result is its own previous weighting
    # rolled by one row. A head given another head's weighting, or the content weighting, fails this.
    rng = np.random.default_rng(0)
    memory = jnp.asarray(rng.normal(size=(N, M)).astype(np.float32))
    prev_read = jnp.asarray(np.eye(N, dtype=np.float32)[[1, 4, 6]])
    prev_write = jnp.asarray(np.eye(N, dtype=np.float32)[[2, 5]])
    read_p = _params(ReadHeadParams, 3, gate=0.0, shift_onehot=1)
    write_p = _params(
        WriteHeadParams, 2, gate=0.0, shift_onehot=1, erase=jnp.zeros((2, M)), add=jnp.zeros((2, M))
    )
    mem, read_w, write_w, reads = heads.memory_step(memory, prev_read, prev_write, read_p, write_p)
    np.testing.assert_allclose(read_w, np.roll(prev_read, 1, axis=-1), atol=1e-6)
    np.testing.assert_allclose(write_w, np.roll(prev_write, 1, axis=-1), atol=1e-6)
    np.testing.assert_allclose(reads, np.asarray(memory)[[2, 5, 7]], rtol=1e-5)
    np.testing.assert_allclose(mem, memory)  # erase 0, add 0


def test_reads_see_this_steps_write():
    memory = jnp.zeros((N, M))
    onehot = jnp.asarray(np.eye(N, dtype=np.float32)[[3]])
    add = jnp.arange(1.0, M + 1)[None]
    write_p = _params(WriteHeadParams, 1, gate=0.0, shift_onehot=0, erase=jnp.ones((1, M)), add=add)
    read_p = _params(ReadHeadParams, 1, gate=0.0, shift_onehot=0)
    mem, _, _, reads = heads.memory_step(memory, onehot, onehot, read_p, write_p)
    np.testing.assert_allclose(mem[3], add[0], rtol=1e-5)
    np.testing.assert_allclose(reads[0], add[0], rtol=1e-5)


def test_returned_weighting_is_the_sharpened_one():
    rng = np.random.default_rng(1)
    memory = jnp.asarray(rng.normal(size=(N, M)).astype(np.float32))
    prev = jnp.asarray(rng.dirichlet(np.ones(N), size=1).astype(np.float32))
    p = _params(ReadHeadParams, 1, gate=0.5, shift_onehot=0, gamma=3.0)
    got = heads.address_heads(memory, prev, p)
    content = jax.nn.softmax(5.0 * _cos(memory, np.ones(M)))
    expected = (0.5 * content + 0.5 * prev[0]) ** 3
    np.testing.assert_allclose(got[0], expected / expected.sum(), rtol=1e-4)


def _cos(memory, key):
    memory = np.asarray(memory)
    return memory @ key / (np.linalg.norm(memory, axis=-1) * np.linalg.norm(key))


def test_layout_slices_cover_the_raw_vector_once_in_the_documented_order():
    # The module docstring's order, written out by hand: read heads [key, strength, gate, shift, gamma],
    # then write heads with [erase, add] after the same five.
    layout = heads.HeadLayout(num_read=2, num_write=2, word_size=M, shift_range=S)
    read = [("key", M), ("strength", 1), ("gate", 1), ("shift", 2 * S + 1), ("gamma", 1)]
    write = read + [("erase", M), ("add", M)]
    expected = [("read", h, name, width) for h in range(2) for name, width in read]
    expected += [("write", h, name, width) for h in range(2) for name, width in write]
    got = layout.slices()
    assert [(kind, head, name, s.stop - s.start) for kind, head, name, s in got] == expected
    covered = np.concatenate([np.arange(layout.size)[part] for *_, part in got])
    np.testing.assert_array_equal(covered, np.arange(layout.size))  # contiguous, no gap, no overlap
    assert layout.size == heads.head_params_size(2, 2, M, S) == 2 * (M + 2 * S + 4) + 2 * (3 * M + 2 * S + 4)
    assert layout.head_size("read") == heads.read_head_size(M, S)
    assert layout.head_size("write") == heads.write_head_size(M, S)


def test_split_takes_each_field_from_its_named_slice():
    # Each slice of the layout, alone set away from zero, moves exactly its own head's own field.
    layout = heads.HeadLayout(num_read=2, num_write=2, word_size=M, shift_range=S)
    zero = layout.split(jnp.zeros(layout.size))

    def moved_heads(new, old):  # [K]: which heads' values of one field differ
        diff = np.asarray(new) != np.asarray(old)
        return diff if diff.ndim == 1 else diff.any(axis=-1)

    for kind, head, name, part in layout.slices():
        raw = np.zeros(layout.size, np.float32)
        raw[part] = np.linspace(2.0, 3.0, part.stop - part.start)
        for got_kind, got, old in zip(("read", "write"), layout.split(jnp.asarray(raw)), zero, strict=True):
            for field in got._fields:
                moved = moved_heads(getattr(got, field), getattr(old, field))
                expected = (np.arange(2) == head) & (got_kind == kind and field == name)
                np.testing.assert_array_equal(moved, expected, err_msg=f"{kind} head {head} {name}: {field}")


def test_layout_rejects_unknown_names():
    layout = heads.HeadLayout(1, 1, M, S)
    with pytest.raises(ValueError, match="kind must be 'read' or 'write', got 'erase'"):
        layout.fields("erase")
    with pytest.raises(ValueError, match="no head parameter 'beta'"):
        layout.width("beta")
