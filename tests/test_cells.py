"""The Linen and NNX cells: transformations, batching, padding, parity, dtypes and errors."""

import dataclasses

import chex
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

import ntm
import ntm.nnx as ntm_nnx
from ntm import core

F, OUT = 5, 4
SMALL = dict(memory_size=12, word_size=6, controller_size=16)


def _cell(**kw):
    return ntm.NTMCell(output_size=OUT, **{**SMALL, **kw})


def _inputs(shape, seed=0):
    return jnp.asarray(np.random.default_rng(seed).normal(size=shape).astype(np.float32))


def _init_cell(cell, x):
    carry = cell.initialize_carry(jax.random.key(1), x.shape)
    variables = jax.jit(cell.init)(jax.random.key(0), carry, x)
    return variables, carry


def _init(model, x):
    return jax.jit(model.init)(jax.random.key(0), x)


def test_cell_step_shapes_and_carry_types():
    cell = _cell(num_read_heads=2, num_write_heads=3, controller_layers=2)
    x = _inputs((3, F))
    variables, carry = _init_cell(cell, x)
    new_carry, y = jax.jit(cell.apply)(variables, carry, x)
    assert y.shape == (3, OUT)
    assert isinstance(new_carry, ntm.NTMState)
    chex.assert_shape(new_carry.memory, (3, 12, 6))
    chex.assert_shape(new_carry.read_weights, (3, 2, 12))
    chex.assert_shape(new_carry.write_weights, (3, 3, 12))
    chex.assert_shape(new_carry.read_vectors, (3, 2, 6))
    assert len(new_carry.controller) == 2
    chex.assert_trees_all_equal_shapes(carry, new_carry)
    assert cell.num_feature_axes == 1


def test_jit_equals_eager():
    cell = _cell()
    x = _inputs((2, F))
    variables, carry = _init_cell(cell, x)
    eager = cell.apply(variables, carry, x)
    jitted = jax.jit(cell.apply)(variables, carry, x)
    chex.assert_trees_all_close(eager, jitted, rtol=1e-5, atol=1e-6)


def test_vmap_of_unbatched_cell_equals_batched_cell():
    cell = _cell(num_read_heads=2)
    xs = _inputs((4, F))
    variables, carry = _init_cell(cell, xs)
    carry = carry._replace(memory=_inputs(carry.memory.shape, seed=3))  # examples differ
    batched = jax.jit(cell.apply)(variables, carry, xs)
    vmapped = jax.jit(jax.vmap(cell.apply, in_axes=(None, 0, 0)))(variables, carry, xs)
    chex.assert_trees_all_close(batched, vmapped, rtol=1e-5, atol=1e-6)


def test_any_number_of_leading_batch_dimensions():
    cell = _cell()
    x = _inputs((2, 3, F))
    variables, carry = _init_cell(cell, x)
    apply = jax.jit(cell.apply)
    _, y = apply(variables, carry, x)
    assert y.shape == (2, 3, OUT)
    _, y0 = apply(variables, jax.tree.map(lambda a: a[1, 2], carry), x[1, 2])
    np.testing.assert_allclose(y[1, 2], y0, rtol=1e-5, atol=1e-6)
    # And no batch dimension at all.
    unbatched_carry = cell.initialize_carry(jax.random.key(1), (F,))
    assert unbatched_carry.memory.shape == (12, 6)
    _, y_unbatched = apply(variables, unbatched_carry, x[0, 0])
    assert y_unbatched.shape == (OUT,)


def test_grad_is_finite_and_nonzero_for_every_parameter_group():
    cell = _cell()
    x = _inputs((2, 7, F))
    model = ntm.Sequence(cell)
    variables = _init(model, x)
    grads = jax.jit(jax.grad(lambda v: jnp.sum(model.apply(v, x) ** 2)))(variables)
    chex.assert_tree_all_finite(grads)
    for group in ("controller", "heads", "output", "initial"):
        norm = optax_global_norm(grads["params"]["cell"][group])
        assert norm > 0, group


def optax_global_norm(tree):
    return float(jnp.sqrt(sum(jnp.sum(g**2) for g in jax.tree.leaves(tree))))


def test_unroll_equals_step_by_step():
    cell = _cell(num_read_heads=2)
    x = _inputs((3, 6, F))
    model = ntm.Sequence(cell)
    variables = _init(model, x)
    logits, trace = jax.jit(model.apply, static_argnames="return_trace")(variables, x, return_trace=True)
    cell_vars = {"params": variables["params"]["cell"]}
    state = cell.apply(cell_vars, (3,), method=ntm.NTMCell.initial_state)
    step = jax.jit(cell.apply)
    for t in range(6):
        state, y = step(cell_vars, state, x[:, t])
        np.testing.assert_allclose(logits[:, t], y, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(trace.read_weights[:, t], state.read_weights, atol=1e-6)
        np.testing.assert_allclose(trace.memory[:, t], state.memory, atol=1e-6)
    assert trace.write_weights.shape == (3, 6, 1, 12)
    assert trace.erase.shape == (3, 6, 1, 6)


def test_second_call_with_new_values_does_not_retrace():
    cell = _cell()
    model = ntm.Sequence(cell)
    x = _inputs((2, 5, F))
    variables = model.init(jax.random.key(0), x)

    @jax.jit
    @chex.assert_max_traces(n=1)
    def loss(v, x):
        return jnp.mean(model.apply(v, x) ** 2)

    loss(variables, x)
    loss(jax.tree.map(lambda a: a + 0.01, variables), _inputs((2, 5, F), seed=9))


def test_rnn_with_seq_lengths_ignores_padding():
    cell = _cell()
    lengths = jnp.array([3, 5])
    x = _inputs((2, 5, F))
    padded = x.at[0, 3:].set(100.0)  # junk past the first sequence's length
    rnn = nn.RNN(cell, return_carry=True)
    variables = jax.jit(rnn.init)(jax.random.key(0), x, seq_lengths=lengths)
    apply = jax.jit(rnn.apply)
    carry_pad, y_pad = apply(variables, padded, seq_lengths=lengths)
    carry_short, y_short = apply(variables, x[:1, :3])
    np.testing.assert_allclose(y_pad[0, :3], y_short[0], rtol=1e-5, atol=1e-6)
    chex.assert_trees_all_close(
        jax.tree.map(lambda a: a[0], carry_pad),
        jax.tree.map(lambda a: a[0], carry_short),
        rtol=1e-5,
        atol=1e-6,
    )


def test_learned_initial_state_through_a_parent_module():
    class Model(nn.Module):
        @nn.compact
        def __call__(self, x):
            cell = _cell()
            carry = cell.initial_state(x.shape[:1])
            return nn.RNN(cell)(x, initial_carry=carry)

    x = _inputs((2, 4, F))
    variables = _init(Model(), x)
    initial = variables["params"]["NTMCell_0"]["initial"]
    # Moving the learned initial read vector changes the output: it is used.
    apply = jax.jit(Model().apply)
    y0 = apply(variables, x)
    moved = jax.tree.map(lambda a: a, variables)
    moved["params"]["NTMCell_0"]["initial"] = {
        **initial,
        "read_vectors": initial["read_vectors"] + 1.0,
    }
    y1 = apply(moved, x)
    assert not np.allclose(y0, y1)
    grads = jax.jit(jax.grad(lambda v: jnp.sum(apply(v, x))))(variables)
    assert np.any(grads["params"]["NTMCell_0"]["initial"]["read_weight_logits"] != 0)


def test_output_depends_on_memory():
    cell = _cell()
    x = _inputs((2, F))
    variables, carry = _init_cell(cell, x)
    other = carry._replace(memory=_inputs(carry.memory.shape, seed=5))
    apply = jax.jit(cell.apply)
    _, y_a = apply(variables, carry, x)
    _, y_b = apply(variables, other, x)
    assert np.max(np.abs(y_a - y_b)) > 1e-3
    g = jax.jit(jax.grad(lambda m: jnp.sum(apply(variables, carry._replace(memory=m), x)[1])))(other.memory)
    assert np.max(np.abs(g)) > 0


@pytest.mark.parametrize("memory_init", ["constant", "learned", "random"])
def test_memory_init_modes(memory_init):
    cell = _cell(memory_init=memory_init)
    x = _inputs((2, 3, F))
    model = ntm.Sequence(cell)
    variables = _init(model, x)
    params = variables["params"]["cell"]
    state = cell.apply({"params": params}, (2,), method=ntm.NTMCell.initial_state)
    if memory_init == "constant":
        assert "memory" not in params["initial"]
        np.testing.assert_allclose(state.memory, 1e-6)
        return
    np.testing.assert_allclose(state.memory[1], params["initial"]["memory"])
    grads = jax.jit(jax.grad(lambda v: jnp.sum(model.apply(v, x) ** 2)))(variables)
    memory_grad = grads["params"]["cell"]["initial"]["memory"]
    if memory_init == "learned":
        assert np.max(np.abs(memory_grad)) > 0
    else:  # random: a fixed draw, never trained
        np.testing.assert_array_equal(memory_grad, 0.0)


def test_linen_and_nnx_cells_agree():
    kw = dict(SMALL, num_read_heads=2, controller_layers=2)
    nnx_cell = ntm_nnx.NTMCell(F, OUT, **kw, rngs=nnx.Rngs(3))
    linen_model = ntm.Sequence(ntm.NTMCell(output_size=OUT, **kw))
    x = _inputs((2, 6, F))
    variables = _init(linen_model, x)
    linen_params = variables["params"]["cell"]
    # Copy the NNX parameters into the Linen tree; the layouts must match exactly.
    nnx_params = nnx_cell.param_values()
    chex.assert_trees_all_equal_shapes(linen_params, nnx_params)
    copied = {"params": {"cell": nnx_params}}
    linen_out = jax.jit(linen_model.apply)(copied, x)
    nnx_out = nnx.jit(lambda c, x: nnx.RNN(c)(x))(nnx_cell, x)
    np.testing.assert_allclose(linen_out, nnx_out, rtol=1e-5, atol=1e-5)
    _, unrolled, _ = nnx.jit(lambda c, x: c.unroll(x))(nnx_cell, x)
    np.testing.assert_allclose(unrolled, nnx_out, rtol=1e-5, atol=1e-5)


def test_nnx_cell_under_jit_and_grad():
    cell = ntm_nnx.NTMCell(F, OUT, **SMALL, rngs=nnx.Rngs(0))
    x = _inputs((2, 4, F))

    @nnx.jit
    def loss_and_grad(cell, x):
        return nnx.value_and_grad(lambda c: jnp.mean(nnx.RNN(c)(x) ** 2))(cell)

    loss, grads = loss_and_grad(cell, x)
    assert np.isfinite(loss)
    chex.assert_tree_all_finite(nnx.state(grads))


def test_bfloat16_keeps_addressing_in_float32():
    cell = _cell(dtype=jnp.bfloat16)
    x = _inputs((2, 6, F))
    model = ntm.Sequence(cell)
    variables = _init(model, x)
    logits, trace = jax.jit(model.apply, static_argnames="return_trace")(variables, x, return_trace=True)
    assert logits.dtype == jnp.bfloat16
    assert trace.read_weights.dtype == jnp.float32
    assert trace.memory.dtype == jnp.float32
    np.testing.assert_allclose(trace.read_weights.sum(-1), 1.0, rtol=1e-5)
    ref = jax.jit(ntm.Sequence(_cell()).apply)(variables, x)
    np.testing.assert_allclose(logits.astype(np.float32), ref, atol=0.1)


def test_param_dtype():
    variables = _init(ntm.Sequence(_cell(param_dtype=jnp.bfloat16)), _inputs((1, 2, F)))
    assert all(leaf.dtype == jnp.bfloat16 for leaf in jax.tree.leaves(variables))


def test_feedforward_controller_and_baseline_share_the_interface():
    x = _inputs((2, 5, F))
    for cell in (
        _cell(controller="feedforward", controller_layers=2),
        ntm.StackedLSTMCell(OUT, 8, 2),
    ):
        model = ntm.Sequence(cell)
        variables = _init(model, x)
        assert jax.jit(model.apply)(variables, x).shape == (2, 5, OUT)
    ff_carry = _cell(controller="feedforward").initialize_carry(jax.random.key(0), (2, F))
    assert ff_carry.controller == ()


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(memory_size=0), "memory_size must be an integer >= 1, got 0"),
        (dict(word_size=2.5), "word_size must be an integer >= 1, got 2.5"),
        (dict(controller="gru"), "controller must be one of .* got 'gru'"),
        (dict(memory_init="zeros"), "memory_init must be one of .* got 'zeros'"),
        (dict(shift_range=3, memory_size=4), "shift_range=3 allows 7 shifts"),
        (dict(clip_value=-1.0), "clip_value must be > 0, got -1.0"),
        (dict(clip_mode="soft"), "clip_mode must be one of .* got 'soft'"),
        (dict(memory_backward="manual"), "memory_backward must be one of .* got 'manual'"),
        (dict(memory_backward=True), "memory_backward must be one of .* got True"),
    ],
)
def test_bad_configuration_names_the_value(kwargs, message):
    with pytest.raises(ValueError, match=message):
        core.NTMSpec(output_size=OUT, **kwargs)
    with pytest.raises(ValueError, match=message):
        ntm.Sequence(_cell(**kwargs)).init(jax.random.key(0), _inputs((1, 2, F)))


@pytest.mark.parametrize("controller", ["lstm", "feedforward"])
def test_first_layer_has_an_input_kernel_and_a_read_kernel(controller):
    # The input size is the input kernel's rows; the read vectors have a kernel of their own. Both are cut
    # from one LeCun-normal draw over the combined fan-in F + R*M: the numbers of the single kernel before.
    spec = core.NTMSpec(
        output_size=OUT, num_read_heads=2, controller=controller, controller_layers=2, **SMALL
    )
    params = core.init_params(spec, jax.random.key(0), F)
    first = params["controller"]["layer_0"]
    width = ntm.controllers.gate_width(controller, spec.controller_size)
    assert first["kernel"].shape == (F, width)
    assert first["read_kernel"].shape == (spec.read_size, width)
    key = jax.random.split(jax.random.key(0), 4)[0]  # the controller's key in init_params
    whole = ntm.controllers.init_controller(key, controller, F + spec.read_size, spec.controller_size, 2)
    np.testing.assert_array_equal(
        np.concatenate([first["kernel"], first["read_kernel"]]), whole["layer_0"]["kernel"]
    )
    np.testing.assert_array_equal(params["controller"]["layer_1"]["kernel"], whole["layer_1"]["kernel"])
    assert "read_kernel" not in params["controller"]["layer_1"]
    linen = _init(
        ntm.Sequence(_cell(num_read_heads=2, controller=controller, controller_layers=2)), _inputs((1, 2, F))
    )
    chex.assert_trees_all_equal_shapes(linen["params"]["cell"], params)


def test_wrong_input_width_is_a_clear_error():
    model = ntm.Sequence(_cell())
    variables = model.init(jax.random.key(0), _inputs((1, 2, F)))
    with pytest.raises(ValueError, match="inputs have 7 features, but the parameters were made for 5"):
        model.apply(variables, _inputs((1, 2, 7)))
    with pytest.raises(ValueError, match=r"inputs must be \[..., T, F\]"):
        model.apply(variables, _inputs((F,)))


def test_compiler_options_keep_the_maths():
    options = ntm.compiler_options()
    if jax.default_backend() == "cpu":
        assert options == {"xla_cpu_experimental_ynn_fusion_type": ""}
    assert ntm.compiler_options("gpu") is None
    model = ntm.Sequence(_cell())
    x = _inputs((3, 6, F))
    variables = _init(model, x)

    def loss(v):
        return jnp.sum(model.apply(v, x) ** 2)

    plain = jax.jit(jax.value_and_grad(loss))(variables)
    tuned = jax.jit(jax.value_and_grad(loss), compiler_options=options)(variables)
    chex.assert_trees_all_close(plain, tuned, rtol=1e-5, atol=1e-6)


def test_inside_nn_scan():
    cell = _cell()
    x = _inputs((5, 2, F))  # time-major for nn.scan
    scan = nn.scan(
        ntm.NTMCell,
        variable_broadcast="params",
        split_rngs={"params": False},
        in_axes=0,
        out_axes=0,
    )(output_size=OUT, **SMALL)
    carry = cell.initialize_carry(jax.random.key(1), x.shape[1:])
    variables = jax.jit(scan.init)(jax.random.key(0), carry, x)
    _, ys = jax.jit(scan.apply)(variables, carry, x)
    step = jax.jit(cell.apply)
    state = carry
    for t in range(5):
        state, y = step(variables, state, x[t])
        np.testing.assert_allclose(ys[t], y, rtol=1e-5, atol=1e-6)


def test_every_memory_backward_keeps_the_gradients():
    model = ntm.Sequence(_cell(num_read_heads=2))
    x = _inputs((2, 7, F))  # 7 steps: chunks of 3, the last one padded
    variables = _init(model, x)

    def grads(model):
        return jax.jit(jax.grad(lambda v: jnp.sum(model.apply(v, x) ** 2)))(variables)

    def primitives(model):  # jax.checkpoint and custom_vjp calls in the traced forward pass
        text = str(jax.make_jaxpr(model.apply)(variables, x))
        return text.count(remat_primitive + "["), text.count("custom_vjp_call")

    remat_primitive = jax.make_jaxpr(jax.checkpoint(jnp.sin))(1.0).eqns[0].primitive.name
    models = {
        backward: ntm.Sequence(_cell(num_read_heads=2, memory_backward=backward))
        for backward in core.MEMORY_BACKWARDS
    }
    assert model.cell.memory_backward == "custom"  # the default
    # The option is what decides.
    # "custom": the memory step's backward, inside the scan whose weight gradients are hoisted.
    assert primitives(models["custom"]) == (0, 2)
    assert primitives(models["remat"]) == (1, 0)
    assert primitives(models["autodiff"]) == (0, 0)
    plain = grads(models["autodiff"])
    for backward in ("custom", "remat"):
        chex.assert_trees_all_close(grads(models[backward]), plain, rtol=1e-5, atol=1e-6)
    # The default backward inside the checkpointed scan too.
    remat_all = grads(ntm.Sequence(models["custom"].cell, remat=True))
    chex.assert_trees_all_close(remat_all, plain, rtol=1e-5, atol=1e-6)


def test_checkpointed_scan_equals_scan_for_any_length():
    def body(carry, x):
        carry = jnp.tanh(carry * 1.1 + x)
        return carry, carry**2

    for length in (1, 5, 9, 10):
        xs = _inputs((length, 3), seed=length)
        expected = jax.lax.scan(body, jnp.ones(3), xs)
        for chunk in (None, 1, 4, 20):
            got = core.checkpointed_scan(body, jnp.ones(3), xs, chunk)
            chex.assert_trees_all_close(got, expected, rtol=1e-6, atol=1e-6)
        grad = jax.grad(lambda xs: jnp.sum(core.checkpointed_scan(body, jnp.ones(3), xs)[1]))(xs)
        expected_grad = jax.grad(lambda xs: jnp.sum(jax.lax.scan(body, jnp.ones(3), xs)[1]))(xs)
        np.testing.assert_allclose(grad, expected_grad, rtol=1e-5, atol=1e-6)


def test_bound_values_and_gradients_past_the_bound():
    x = jnp.array([-30.0, -5.0, 0.0, 5.0, 25.0])
    np.testing.assert_allclose(core.bound(x, 20.0, "hard"), [-20, -5, 0, 5, 20])
    np.testing.assert_allclose(core.bound(x, 20.0, "tanh"), 20 * np.tanh(np.array(x) / 20), rtol=1e-6)
    hard = jax.grad(lambda v: core.bound(v, 20.0, "hard").sum())(x)
    smooth = jax.grad(lambda v: core.bound(v, 20.0, "tanh").sum())(x)
    np.testing.assert_array_equal(hard, [0, 1, 1, 1, 0])  # the hard clip: no gradient past +-20
    np.testing.assert_allclose(smooth, 1 - np.tanh(np.array(x) / 20) ** 2, rtol=1e-6)
    assert smooth[-1] > 0.2  # a logit of 25: the tanh bound still passes about a quarter of the gradient


@pytest.mark.parametrize("clip_mode, has_gradient", [("hard", False), ("tanh", True)])
def test_saturated_wrong_logit_gets_a_gradient_only_with_the_tanh_bound(clip_mode, has_gradient):
    # An output bias of 25 makes every logit confidently 1 where the target is 0: the loss is large, and
    # only the smooth bound lets its gradient through.
    model = ntm.Sequence(_cell(clip_mode=clip_mode, clip_value=20.0))
    x = _inputs((2, 3, F))
    params = _init(model, x)["params"]
    params["cell"]["output"]["bias"] = jnp.full((OUT,), 25.0)

    def loss(p):
        logits = model.apply({"params": p}, x)
        return jnp.mean(optax.sigmoid_binary_cross_entropy(logits, jnp.zeros_like(logits)))

    grad_bias = jax.jit(jax.grad(loss))(params)["cell"]["output"]["bias"]
    assert jax.jit(loss)(params) > 15.0  # 20 nats (hard) or 20 tanh(1.25) = 17 nats (tanh)
    if has_gradient:
        assert bool(jnp.all(jnp.abs(grad_bias) > 0.01))
    else:
        np.testing.assert_array_equal(grad_bias, 0.0)


@pytest.mark.parametrize("memory_init", ["constant", "learned", "random"])
def test_rnn_without_initial_carry_starts_from_the_parameters_memory(memory_init):
    # Before training, nn.RNN(cell) (which calls initialize_carry) and ntm.Sequence(cell) (which reads the
    # learned initial state) start from the same state, whatever key initialize_carry is given.
    class Plain(nn.Module):
        @nn.compact
        def __call__(self, x):
            return nn.RNN(_cell(memory_init=memory_init))(x)

    x = _inputs((2, 5, F))
    variables = _init(Plain(), x)
    (params,) = variables["params"].values()
    rnn_out = Plain().apply(variables, x)
    sequence = ntm.Sequence(_cell(memory_init=memory_init))
    np.testing.assert_allclose(rnn_out, sequence.apply({"params": {"cell": params}}, x), rtol=1e-5, atol=1e-6)


def test_cells_take_every_spec_option():
    # The Linen cell's fields are the spec's, with the spec's defaults; the NNX cell passes any option on.
    spec = {f.name: f.default for f in dataclasses.fields(core.NTMSpec)}
    linen = {f.name: f.default for f in dataclasses.fields(ntm.NTMCell) if f.name not in ("parent", "name")}
    assert linen == {**spec, "output_size": linen["output_size"], "param_dtype": jnp.float32}
    cell = ntm_nnx.NTMCell(3, 2, memory_size=8, word_size=4, memory_init_value=0.5, rngs=nnx.Rngs(0))
    assert cell.spec.memory_init_value == 0.5 and cell.spec.memory_size == 8
    with pytest.raises(TypeError, match="memory_sise"):
        ntm_nnx.NTMCell(3, 2, memory_sise=8, rngs=nnx.Rngs(0))
