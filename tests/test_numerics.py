"""No NaN or Inf, forward and backward, in the cases that broke other implementations."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import ntm
from ntm import addressing


@pytest.fixture(autouse=True)
def debug_nans():
    jax.config.update("jax_debug_nans", True)
    yield
    jax.config.update("jax_debug_nans", False)


def _model_and_vars(x, **kw):
    cell = ntm.NTMCell(output_size=3, **{"memory_size": 16, "word_size": 5, **kw})
    model = ntm.Sequence(cell)
    return cell, model, jax.jit(model.init)(jax.random.key(0), x)


def _loss_and_grads(model, variables, x):
    def loss(v):
        return jnp.mean(jax.nn.sigmoid(model.apply(v, x)) ** 2)

    return jax.jit(jax.value_and_grad(loss))(variables)


def test_zero_memory_rows():
    x = jnp.ones((2, 4, 3))
    cell, model, variables = _model_and_vars(x, memory_init="learned")
    params = variables["params"]["cell"]
    memory = params["initial"]["memory"].at[::2].set(0.0)  # half the rows exactly zero
    params = {**params, "initial": {**params["initial"], "memory": memory}}
    loss, grads = _loss_and_grads(model, {"params": {"cell": params}}, x)
    assert np.isfinite(loss)
    chex.assert_tree_all_finite(grads)
    # And an all-zero memory through the pure content addressing.
    g = jax.jit(jax.grad(lambda m: jnp.sum(addressing.content_weights(m, jnp.ones(5), 3.0) ** 2)))(
        jnp.zeros((16, 5))
    )
    chex.assert_tree_all_finite(g)


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_controller_outputs_of_1e3(sign):
    x = jnp.ones((2, 5, 3))
    cell, model, variables = _model_and_vars(x)
    params = variables["params"]["cell"]
    rng = np.random.default_rng(0)
    bias = sign * 1e3 * rng.choice([-1.0, 1.0], size=params["heads"]["bias"].shape)
    params = {
        **params,
        "heads": {**params["heads"], "bias": jnp.asarray(bias, jnp.float32)},
        "output": {**params["output"], "bias": jnp.full_like(params["output"]["bias"], sign * 1e3)},
    }
    loss, grads = _loss_and_grads(model, {"params": {"cell": params}}, x)
    assert np.isfinite(loss)
    chex.assert_tree_all_finite(grads)


def test_gamma_50_on_weights_near_1e3():
    rng = np.random.default_rng(1)
    w = jnp.asarray((1e-3 * (1 + 0.1 * rng.uniform(size=(4, 128)))).astype(np.float32))
    out, grad = jax.jit(jax.value_and_grad(lambda w: jnp.sum(addressing.sharpen(w, 50.0)[:, 0])))(w)
    assert np.isfinite(out)
    chex.assert_tree_all_finite(grad)


def test_1000_random_steps_forward_and_backward():
    rng = np.random.default_rng(2)
    x = jnp.asarray(rng.normal(scale=3.0, size=(2, 1000, 3)).astype(np.float32))
    cell, model, variables = _model_and_vars(x, memory_size=32, word_size=8, num_read_heads=2)
    loss, grads = _loss_and_grads(model, variables, x)
    assert np.isfinite(loss)
    chex.assert_tree_all_finite(grads)
    _, trace = jax.jit(model.apply, static_argnames="return_trace")(variables, x, return_trace=True)
    chex.assert_tree_all_finite(trace)
    np.testing.assert_allclose(trace.read_weights[:, -1].sum(-1), 1.0, rtol=1e-4)
