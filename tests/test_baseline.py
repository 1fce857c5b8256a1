"""The LSTM baseline's layer-at-a-time unroll and the hand-written backward of lstm_sequence."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ntm import baseline, controllers
from ntm.state import LSTMState

H = 5


def _scan_layer(params, state, projected):
    """The reference: lstm_layer scanned by jax.lax.scan, differentiated by JAX."""

    def body(carry, proj):
        carry = controllers.lstm_layer(params, carry, proj)
        return carry, carry.hidden

    return jax.lax.scan(body, state, projected)


def _layer_inputs(rng, batch, steps=7, dtype=np.float64):
    def normal(*shape, scale=1.0):
        return jnp.asarray(scale * rng.normal(size=shape).astype(dtype))

    params = {"recurrent_kernel": normal(H, 4 * H, scale=0.5), "bias": normal(4 * H)}
    state = LSTMState(hidden=normal(*batch, H), cell=normal(*batch, H))
    return params, state, normal(steps, *batch, 4 * H)


@pytest.mark.parametrize("batch", [(), (3,), (2, 3)])
def test_lstm_sequence_values_and_gradients_match_autodiff_float64(batch):
    with jax.enable_x64(True):
        params, state, projected = _layer_inputs(np.random.default_rng(len(batch)), batch)
        # Cotangents on every output: the hiddens and both parts of the final state.
        rng = np.random.default_rng(10)
        w_h = jnp.asarray(rng.normal(size=projected.shape[:-1] + (H,)))
        w_final = jnp.asarray(rng.normal(size=(2,) + batch + (H,)))

        def loss(fn, p, s, x):
            final, hiddens = fn(p, s, x)
            return (
                jnp.sum(w_h * hiddens) + jnp.sum(w_final[0] * final.hidden) + jnp.sum(w_final[1] * final.cell)
            )

        got_final, got_h = controllers.lstm_sequence(params, state, projected)
        want_final, want_h = _scan_layer(params, state, projected)
        np.testing.assert_allclose(got_h, want_h, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(got_final.cell, want_final.cell, rtol=1e-12, atol=1e-12)

        got = jax.grad(lambda *a: loss(controllers.lstm_sequence, *a), argnums=(0, 1, 2))(
            params, state, projected
        )
        want = jax.grad(lambda *a: loss(_scan_layer, *a), argnums=(0, 1, 2))(params, state, projected)
        for g, w in zip(jax.tree.leaves(got), jax.tree.leaves(want), strict=True):
            assert g.shape == w.shape
            np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-10)


def test_lstm_sequence_broadcasts_an_unbatched_initial_state():
    """A learned initial state ``[H]`` with a batched sequence: the state's gradient is summed back."""
    with jax.enable_x64(True):
        params, state, projected = _layer_inputs(np.random.default_rng(3), (4,))
        state = LSTMState(hidden=state.hidden[0], cell=state.cell[0])

        def loss(fn, s):
            return jnp.sum(jnp.sin(fn(params, s, projected)[1]))

        got = jax.grad(lambda s: loss(controllers.lstm_sequence, s))(state)
        want = jax.grad(lambda s: loss(_scan_layer, LSTMState(*(jnp.broadcast_to(v, (4, H)) for v in s))))(
            state
        )
        assert got.hidden.shape == (H,)
        np.testing.assert_allclose(got.hidden, want.hidden, rtol=1e-10)
        np.testing.assert_allclose(got.cell, want.cell, rtol=1e-10)


def _stepwise_unroll(params, spec, state, inputs):
    """The baseline one time step at a time (``baseline.step`` scanned): all layers inside one loop."""

    def body(carry, x):
        carry, logits = baseline.step(params, spec, carry, x)
        return carry, logits

    return jax.lax.scan(body, state, inputs)


def test_baseline_unroll_matches_its_single_step_and_gradients_float64():
    with jax.enable_x64(True):
        spec = baseline.LSTMSpec(
            output_size=3, hidden_size=6, num_layers=3, clip_mode="tanh", dtype=jnp.float64
        )
        params = jax.tree.map(
            lambda a: a.astype(jnp.float64), baseline.init_params(spec, jax.random.key(0), input_size=4)
        )
        inputs = jnp.asarray(np.random.default_rng(0).normal(size=(9, 2, 4)))
        state = baseline.initial_state(spec, params["initial"], (2,))

        final, logits, trace = baseline.unroll(params, spec, state, inputs)
        want_final, want_logits = _stepwise_unroll(params, spec, state, inputs)
        assert trace is None and logits.shape == (9, 2, 3)
        np.testing.assert_allclose(logits, want_logits, rtol=1e-12, atol=1e-12)
        for got_layer, want_layer in zip(final, want_final, strict=True):
            np.testing.assert_allclose(got_layer.hidden, want_layer.hidden, rtol=1e-12, atol=1e-12)
            np.testing.assert_allclose(got_layer.cell, want_layer.cell, rtol=1e-12, atol=1e-12)

        def loss(fn, p):
            s = baseline.initial_state(spec, p["initial"], (2,))
            out = fn(p, spec, s, inputs)[1]
            return jnp.sum(jnp.cos(out))

        want = jax.jit(jax.grad(lambda p: loss(_stepwise_unroll, p)))(params)
        for remat in (False, True):  # remat: the stepwise scan, checkpointed
            unroll = functools.partial(baseline.unroll, remat=remat)
            got = jax.jit(jax.grad(lambda p, unroll=unroll: loss(unroll, p)))(params)
            for (path, g), w in zip(jax.tree.leaves_with_path(got), jax.tree.leaves(want), strict=True):
                np.testing.assert_allclose(g, w, rtol=1e-9, atol=1e-11, err_msg=jax.tree_util.keystr(path))


def test_baseline_unroll_under_vmap_matches_the_batched_call():
    spec = baseline.LSTMSpec(output_size=2, hidden_size=4, num_layers=2)
    params = baseline.init_params(spec, jax.random.key(1), input_size=3)
    inputs = jnp.asarray(np.random.default_rng(1).normal(size=(5, 3, 3)).astype(np.float32))

    def run(x):  # x [T, F] unbatched
        state = baseline.initial_state(spec, params["initial"], ())
        return baseline.unroll(params, spec, state, x)[1]

    batched = baseline.unroll(params, spec, baseline.initial_state(spec, params["initial"], (3,)), inputs)[1]
    np.testing.assert_allclose(jax.vmap(run, in_axes=1, out_axes=1)(inputs), batched, rtol=1e-5, atol=1e-6)


def test_lstm_sequence_gradients_under_vmap_with_per_seed_parameters():
    """The training path: vmap over seeds, each with its own parameters, of the gradient."""
    params, state, projected = _layer_inputs(np.random.default_rng(4), (2,), dtype=np.float32)
    seeds = jax.tree.map(lambda x: jnp.stack([x, 0.5 * x]), (params, state, projected))

    def grads(fn, p, s, x):
        return jax.grad(lambda p: jnp.sum(jnp.tanh(fn(p, s, x)[1])))(p)

    got = jax.vmap(lambda *a: grads(controllers.lstm_sequence, *a))(*seeds)
    want = jax.vmap(lambda *a: grads(_scan_layer, *a))(*seeds)
    for g, w in zip(jax.tree.leaves(got), jax.tree.leaves(want), strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-5)


def test_lstm_sequence_computes_in_the_sequence_dtype():
    params, state, projected = _layer_inputs(np.random.default_rng(5), (2,), dtype=np.float32)
    projected = projected.astype(jnp.bfloat16)  # float32 parameters and state, bfloat16 inputs

    def loss(p):
        return jnp.sum(controllers.lstm_sequence(p, state, projected)[1].astype(jnp.float32))

    grads = jax.jit(jax.grad(loss))(params)
    assert grads["recurrent_kernel"].dtype == jnp.float32 and np.isfinite(grads["recurrent_kernel"]).all()
    assert controllers.lstm_sequence(params, state, projected)[1].dtype == jnp.bfloat16


def test_lstm_sequence_names_a_state_that_does_not_fit_the_sequence():
    params, state, projected = _layer_inputs(np.random.default_rng(6), (3,))
    with pytest.raises(
        ValueError, match=r"state's hidden \(3, 5\) does not broadcast to .* batch shape \(\)"
    ):
        controllers.lstm_sequence(params, state, projected[:, 0])
