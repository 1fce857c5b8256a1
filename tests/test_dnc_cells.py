"""The DNC on the shared core: its interface vector, one access step against the equations composed by
hand, a write-then-follow scenario worked out by hand, the Linen and NNX cells (transformations, padding,
parity, gradients, errors) and a tiny copy task whose loss falls."""

import types

import chex
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx
from jax.test_util import check_grads

import ntm
import ntm.nnx as ntm_nnx
import tasks
from ntm import addressing, core, dnc, dnc_access, memory

F, OUT = 5, 4
N, M, R = 8, 4, 2
SMALL = dict(memory_size=N, word_size=M, num_read_heads=R, controller_size=16)


def _inputs(shape, seed=0):
    return jnp.asarray(np.random.default_rng(seed).normal(size=shape).astype(np.float32))


def _spec(**kw):
    return ntm.DNCSpec(output_size=OUT, **{**SMALL, **kw})


def _random_state(spec, batch, seed):
    """A reachable-looking state: usage and weightings in [0, 1], weightings summing to at most 1."""
    rng = np.random.default_rng(seed)
    n, r, m = spec.memory_size, spec.num_read_heads, spec.word_size

    def weights(*shape):
        w = rng.uniform(size=(*batch, *shape, n))
        return w / (w.sum(-1, keepdims=True) * 1.25)

    links = rng.uniform(size=(*batch, n, n)) / n
    links = links * (1 - np.eye(n))
    return ntm.DNCState(
        memory=jnp.asarray(rng.normal(size=(*batch, n, m))),
        usage=jnp.asarray(rng.uniform(size=(*batch, n))),
        links=jnp.asarray(links),
        precedence=jnp.asarray(weights()),
        read_weights=jnp.asarray(weights(r)),
        write_weights=jnp.asarray(weights()),
        read_vectors=jnp.asarray(rng.normal(size=(*batch, r, m))),
        controller=(),
    )


# ---------------------------------------------------------------------------------------------------------
# The interface vector


def test_interface_width_and_field_order():
    # R*M + 3M + 5R + 3 (DeepMind's formula, W = word size): 2*4 + 12 + 10 + 3 = 33.
    assert dnc_access.interface_width(R, M) == 33
    assert dnc_access.interface_size(_spec()) == 33
    raw = jnp.arange(33.0) / 10 - 1.6  # distinct values, so each field's slice is identifiable
    iface = dnc_access.split_interface(raw, R, M)
    np.testing.assert_allclose(iface.read_keys, raw[0:8].reshape(2, 4), rtol=1e-6)
    np.testing.assert_allclose(iface.read_strengths, 1 + jax.nn.softplus(raw[8:10]), rtol=1e-6)
    np.testing.assert_allclose(iface.write_key, raw[10:14], rtol=1e-6)
    np.testing.assert_allclose(iface.write_strength, 1 + jax.nn.softplus(raw[14]), rtol=1e-6)
    np.testing.assert_allclose(iface.erase, jax.nn.sigmoid(raw[15:19]), rtol=1e-6)
    np.testing.assert_allclose(iface.write_vector, raw[19:23], rtol=1e-6)
    np.testing.assert_allclose(iface.free_gates, jax.nn.sigmoid(raw[23:25]), rtol=1e-6)
    np.testing.assert_allclose(iface.allocation_gate, jax.nn.sigmoid(raw[25]), rtol=1e-6)
    np.testing.assert_allclose(iface.write_gate, jax.nn.sigmoid(raw[26]), rtol=1e-6)
    np.testing.assert_allclose(iface.read_modes, jax.nn.softmax(raw[27:33].reshape(2, 3), -1), rtol=1e-6)
    # oneplus at 0 is 1 + log 2, by hand.
    assert float(dnc_access.oneplus(jnp.float32(0.0))) == pytest.approx(1 + np.log(2), rel=1e-6)


def test_wrong_interface_width_is_a_clear_error():
    with pytest.raises(ValueError, match="the DNC interface vector has size 32, expected 33"):
        dnc_access.split_interface(jnp.zeros(32), R, M)


# ---------------------------------------------------------------------------------------------------------
# One access step


def test_access_step_equals_the_equations_composed_by_hand():
    spec = _spec()
    state = _random_state(spec, (3,), seed=1)
    state = jax.tree.map(lambda x: jnp.asarray(x, jnp.float32), state)
    raw = _inputs((3, 33), seed=2)
    new, trace = dnc_access.step(spec, state, raw)
    # The paper's order, each equation once, with the documented activations and field order.
    keys, strengths = raw[:, 0:8].reshape(3, 2, 4), 1 + jax.nn.softplus(raw[:, 8:10])
    wkey, wstrength = raw[:, 10:14], 1 + jax.nn.softplus(raw[:, 14])
    erase, vector = jax.nn.sigmoid(raw[:, 15:19]), raw[:, 19:23]
    free, g_a, g_w = jax.nn.sigmoid(raw[:, 23:25]), jax.nn.sigmoid(raw[:, 25]), jax.nn.sigmoid(raw[:, 26])
    modes = jax.nn.softmax(raw[:, 27:33].reshape(3, 2, 3), -1)
    usage = dnc.update_usage(state.usage, state.write_weights, dnc.retention(free, state.read_weights))
    c_w = addressing.content_weights(state.memory, wkey, wstrength)
    w_w = dnc.write_weights(dnc.allocation_weights(usage), c_w, g_a, g_w)
    mem = memory.write(state.memory, w_w, erase, vector)
    links = dnc.update_links(state.links, state.precedence, w_w)
    fwd, bwd = dnc.directional_weights(links, state.read_weights)
    c_r = addressing.content_weights(mem[:, None], keys, strengths)
    w_r = dnc.read_weights(c_r, fwd, bwd, modes)
    want = ntm.DNCState(
        mem,
        usage,
        links,
        dnc.update_precedence(state.precedence, w_w),
        w_r,
        w_w,
        memory.read(mem[:, None], w_r),
        (),
    )
    chex.assert_trees_all_close(new, want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(trace.write_weights[:, 0], w_w, rtol=1e-6)
    np.testing.assert_allclose(trace.usage, usage, rtol=1e-6)
    np.testing.assert_allclose(trace.read_modes, modes, rtol=1e-6)


def _interface(*, write_vector, allocate, read_mode, free=0.0, write=True):
    """A saturated raw interface for one read head: allocate (or write by content) ``write_vector``,
    read with one mode (0 backward, 1 content, 2 forward)."""
    big = 30.0  # sigmoid(30) and softmax over +-30 are 1 and 0 to float32 precision
    fields = {
        "read_keys": np.zeros(M),
        "read_strengths": np.zeros(1),
        "write_key": np.zeros(M),
        "write_strength": np.zeros(1),
        "erase": np.full(M, big),  # erase fully, then add: the row becomes the write vector
        "write_vector": np.asarray(write_vector, float),
        "free_gates": np.full(1, big if free else -big),
        "allocation_gate": np.full(1, big if allocate else -big),
        "write_gate": np.full(1, big if write else -big),
        "read_modes": np.where(np.arange(3) == read_mode, big, -big),
    }
    return jnp.asarray(np.concatenate([fields[name] for name in dnc_access.INTERFACE_FIELDS]), jnp.float32)


def test_allocation_writes_successive_rows_and_the_forward_mode_follows_them():
    """Worked by hand: an empty memory allocates row 0, then row 1 (row 0's usage is now 1), then row 2; the
    links then hold 1 -> 0 and 2 -> 1, so a read head on row 0 in forward mode moves to row 1, then 2."""
    spec = ntm.DNCSpec(output_size=1, memory_size=N, word_size=M, num_read_heads=1)
    state = core.initial_state(spec, core.init_initial(spec, jax.random.key(0)), ())
    words = np.eye(M)[:3]
    for t, word in enumerate(words):
        state, _ = dnc_access.step(spec, state, _interface(write_vector=word, allocate=True, read_mode=1))
        np.testing.assert_allclose(state.write_weights, np.eye(N)[t], atol=1e-6)
    # Usage counts the writes before this step's (u_t uses w_{t-1}): rows 0 and 1 so far.
    np.testing.assert_allclose(state.usage, [1, 1, 0, 0, 0, 0, 0, 0], atol=1e-6)
    np.testing.assert_allclose(state.memory[:3], words, atol=1e-6)
    np.testing.assert_allclose(state.precedence, np.eye(N)[2], atol=1e-6)
    want_links = np.zeros((N, N))
    want_links[1, 0] = want_links[2, 1] = 1.0
    np.testing.assert_allclose(state.links, want_links, atol=1e-6)
    # Put the read head on row 0, then follow the links forward without writing.
    state = state._replace(read_weights=jnp.asarray(np.eye(N)[None, 0], jnp.float32))
    for row in (1, 2):
        no_write = _interface(write_vector=np.zeros(M), allocate=True, read_mode=2, write=False)
        state, _ = dnc_access.step(spec, state, no_write)
        np.testing.assert_allclose(state.read_weights[0], np.eye(N)[row], atol=1e-6)
        np.testing.assert_allclose(state.read_vectors[0], words[row], atol=1e-6)
    # Backward from row 2 leads to row 1.
    back = _interface(write_vector=np.zeros(M), allocate=True, read_mode=0, write=False)
    state, _ = dnc_access.step(spec, state, back)
    np.testing.assert_allclose(state.read_weights[0], np.eye(N)[1], atol=1e-6)


def test_freeing_the_read_row_lets_allocation_reuse_it():
    """Usage 1 on rows 0-2 with the read head on row 1: a free gate of 1 drops row 1's usage to 0, so the
    next allocation writes row 1 (the lowest-usage row, before the untouched row 3)."""
    spec = ntm.DNCSpec(output_size=1, memory_size=4, word_size=M, num_read_heads=1)
    state = core.initial_state(spec, core.init_initial(spec, jax.random.key(0)), ())
    state = state._replace(
        usage=jnp.asarray([1.0, 1.0, 1.0, 0.5]), read_weights=jnp.asarray([[0.0, 1.0, 0.0, 0.0]])
    )
    state, _ = dnc_access.step(
        spec, state, _interface(write_vector=np.ones(M), allocate=True, read_mode=1, free=1)
    )
    np.testing.assert_allclose(state.write_weights, [0, 1, 0, 0], atol=1e-6)
    np.testing.assert_allclose(state.usage, [1, 0, 1, 0.5], atol=1e-6)


def test_access_step_gradients_float64(monkeypatch):
    """check_grads of one access step with respect to the interface, memory and usage, in float64 (the
    module's float32 is float64 here)."""
    patched = types.SimpleNamespace(**{n: getattr(jnp, n) for n in dir(jnp) if not n.startswith("_")})
    patched.float32 = jnp.float64
    monkeypatch.setattr(dnc_access, "jnp", patched)
    with jax.enable_x64(True):
        spec = _spec()
        state = _random_state(spec, (1,), seed=4)
        raw = jnp.asarray(np.random.default_rng(5).normal(size=(1, 33)))

        def f(raw, memory_, usage):
            new, _ = dnc_access.step(spec, state._replace(memory=memory_, usage=usage), raw)
            return (
                jnp.sum(new.read_vectors**2) + jnp.sum(new.memory * new.usage[..., None]) + jnp.sum(new.links)
            )

        check_grads(
            jax.jit(f), (raw, state.memory, state.usage), order=1, modes=("rev",), atol=1e-6, rtol=1e-6
        )


# ---------------------------------------------------------------------------------------------------------
# The cells


def _linen(**kw):
    return ntm.DNCCell(output_size=OUT, **{**SMALL, **kw})


def test_cell_step_shapes_and_carry_types():
    cell = _linen(controller_layers=2)
    x = _inputs((3, F))
    carry = cell.initialize_carry(jax.random.key(1), x.shape)
    variables = jax.jit(cell.init)(jax.random.key(0), carry, x)
    new_carry, y = jax.jit(cell.apply)(variables, carry, x)
    assert y.shape == (3, OUT) and isinstance(new_carry, ntm.DNCState)
    chex.assert_shape(new_carry.links, (3, N, N))
    chex.assert_shape(new_carry.read_weights, (3, R, N))
    chex.assert_shape(new_carry.write_weights, (3, N))
    chex.assert_trees_all_equal_shapes_and_dtypes(carry, new_carry)
    eager = cell.apply(variables, carry, x)
    chex.assert_trees_all_close(eager, (new_carry, y), rtol=1e-5, atol=1e-6)


def test_vmap_equals_batch_and_leading_dimensions():
    model = ntm.Sequence(_linen())
    x = _inputs((2, 3, 6, F))
    variables = jax.jit(model.init)(jax.random.key(0), x)
    batched = jax.jit(model.apply)(variables, x)
    vmapped = jax.jit(jax.vmap(jax.vmap(model.apply, (None, 0)), (None, 0)))(variables, x)
    np.testing.assert_allclose(batched, vmapped, rtol=1e-5, atol=1e-6)
    assert batched.shape == (2, 3, 6, OUT)


def test_rnn_with_seq_lengths_ignores_padding():
    cell = _linen()
    lengths = jnp.array([3, 5])
    x = _inputs((2, 5, F))
    padded = x.at[0, 3:].set(100.0)
    rnn = nn.RNN(cell, return_carry=True)
    variables = jax.jit(rnn.init)(jax.random.key(0), x, seq_lengths=lengths)
    carry_pad, y_pad = jax.jit(rnn.apply)(variables, padded, seq_lengths=lengths)
    carry_short, y_short = jax.jit(rnn.apply)(variables, x[:1, :3])
    np.testing.assert_allclose(y_pad[0, :3], y_short[0], rtol=1e-5, atol=1e-6)
    chex.assert_trees_all_close(
        jax.tree.map(lambda a: a[0], carry_pad),
        jax.tree.map(lambda a: a[0], carry_short),
        rtol=1e-5,
        atol=1e-6,
    )


def test_trace_holds_usage_and_read_modes():
    model = ntm.Sequence(_linen())
    x = _inputs((2, 7, F))
    variables = jax.jit(model.init)(jax.random.key(0), x)
    logits, trace = model.apply(variables, x, return_trace=True)
    assert isinstance(trace, ntm.DNCTrace)
    chex.assert_shape(trace.usage, (2, 7, N))
    chex.assert_shape(trace.read_modes, (2, 7, R, 3))
    chex.assert_shape(trace.write_weights, (2, 7, 1, N))
    np.testing.assert_allclose(trace.read_modes.sum(-1), 1.0, rtol=1e-5)
    assert float(trace.usage.min()) >= 0.0 and float(trace.usage.max()) <= 1.0 + 1e-6


def test_linen_and_nnx_cells_agree():
    kw = dict(SMALL, controller_layers=2)
    nnx_cell = ntm_nnx.DNCCell(F, OUT, **kw, rngs=nnx.Rngs(3))
    linen_model = ntm.Sequence(ntm.DNCCell(output_size=OUT, **kw))
    x = _inputs((2, 6, F))
    linen_params = jax.jit(linen_model.init)(jax.random.key(0), x)["params"]["cell"]
    nnx_params = nnx_cell.param_values()
    chex.assert_trees_all_equal_shapes(linen_params, nnx_params)
    linen_out = jax.jit(linen_model.apply)({"params": {"cell": nnx_params}}, x)
    nnx_out = nnx.jit(lambda c, x: nnx.RNN(c)(x))(nnx_cell, x)
    np.testing.assert_allclose(linen_out, nnx_out, rtol=1e-5, atol=1e-5)


def test_grad_is_finite_and_reaches_every_parameter_group():
    model = ntm.Sequence(_linen())
    x = _inputs((2, 6, F))
    variables = jax.jit(model.init)(jax.random.key(0), x)
    grads = jax.jit(jax.grad(lambda v: jnp.mean(model.apply(v, x) ** 2)))(variables)
    chex.assert_tree_all_finite(grads)
    for group, value in grads["params"]["cell"].items():
        assert any(float(jnp.abs(g).max()) > 0 for g in jax.tree.leaves(value)), group


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"memory_size": 0}, "memory_size must be an integer >= 1, got 0"),
        ({"num_read_heads": 1.5}, "num_read_heads must be an integer >= 1, got 1.5"),
        ({"controller": "gru"}, "controller must be one of"),
        ({"clip_value": 0.0}, "clip_value must be > 0, got 0.0"),
        ({"memory_init": "zeros"}, "memory_init must be one of"),
    ],
)
def test_bad_configuration_names_the_value(kwargs, message):
    with pytest.raises(ValueError, match=message):
        _spec(**kwargs)


def test_tiny_dnc_learns_copy():
    """A few hundred Adam steps on copy of lengths 1-3 bring the loss well below its start."""
    task = tasks.get("copy", num_bits=3, min_length=1, max_length=3)
    model = ntm.Sequence(
        ntm.DNCCell(output_size=task.output_size, memory_size=8, word_size=6, controller_size=32)
    )
    batches = [task.sample(seed, 16) for seed in range(8)]
    params = jax.jit(model.init)(jax.random.key(0), batches[0].inputs)["params"]
    optimizer = optax.adam(3e-3)

    def loss(params, batch):
        logits = model.apply({"params": params}, batch.inputs)
        bits = optax.sigmoid_binary_cross_entropy(logits, batch.targets)
        return jnp.sum(bits * batch.mask[..., None]) / jnp.sum(batch.mask)

    @jax.jit
    def update(params, opt_state, batch):
        value, grads = jax.value_and_grad(loss)(params, batch)
        updates, opt_state = optimizer.update(grads, opt_state)
        return optax.apply_updates(params, updates), opt_state, value

    opt_state, losses = optimizer.init(params), []
    for step in range(400):
        params, opt_state, value = update(params, opt_state, batches[step % len(batches)])
        losses.append(float(value))
    assert np.mean(losses[-20:]) < 0.5 * np.mean(losses[:20]), (losses[:5], losses[-5:])


def test_access_module_over_1000_random_steps_stays_finite_and_in_range():
    """The real access step (not a copy of its equations) on random saturating interfaces, under
    jax_debug_nans, forward and backward: usage in [0, 1], weightings non-negative summing to at most 1,
    a zero link diagonal."""
    spec = _spec()
    state = core.initial_state(spec, core.init_initial(spec, jax.random.key(0)), (2,))
    raw = 3.0 * jax.random.normal(jax.random.key(1), (1000, 2, dnc_access.interface_size(spec)))

    def run(raw):
        def body(carry, x):
            new, _ = dnc_access.step(spec, carry, x)
            return new, new

        final, states = jax.lax.scan(body, state, raw)
        return jnp.sum(final.read_vectors**2) + jnp.sum(final.memory), states

    with jax.debug_nans(True):
        (_, states), grads = jax.jit(jax.value_and_grad(run, has_aux=True))(raw)
        jax.block_until_ready(grads)
    chex.assert_tree_all_finite((states, grads))
    eps = 1e-5
    assert float(states.usage.min()) >= 0 and float(states.usage.max()) <= 1 + eps
    for w in (states.write_weights, states.read_weights, states.precedence):
        assert float(w.min()) >= -eps and float(w.sum(-1).max()) <= 1 + eps
    np.testing.assert_allclose(jnp.diagonal(states.links, axis1=-2, axis2=-1), 0.0, atol=0)
