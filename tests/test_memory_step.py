"""The hand-written backward pass of ntm.memory_step against autodiff of ntm.heads.memory_step."""

import types

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

from ntm import core, heads, ntm_access
from ntm import memory_step as ms
from ntm.state import ReadHeadParams, WriteHeadParams

# (leading batch dimensions, R, W, S)
CASES = [((), 1, 1, 1), ((), 2, 3, 2), ((3,), 1, 1, 2), ((2, 3), 2, 3, 1)]


def _inputs(rng, batch, n, m, r, w, s, dtype=np.float64):
    """Random memory-step inputs in the ranges the head activations give."""

    def normal(*shape):
        return jnp.asarray(rng.normal(size=batch + shape).astype(dtype))

    def params(cls, k, **extra):
        return cls(
            key=jnp.tanh(normal(k, m)),
            strength=3.0 * jax.nn.softplus(normal(k)),
            gate=jax.nn.sigmoid(normal(k)),
            shift=jax.nn.softmax(normal(k, 2 * s + 1), axis=-1),
            gamma=1.0 + jax.nn.softplus(normal(k)),
            **extra,
        )

    read = params(ReadHeadParams, r)
    write = params(WriteHeadParams, w, erase=jax.nn.sigmoid(normal(w, m)), add=jnp.tanh(normal(w, m)))
    memory = normal(n, m)
    return memory, jax.nn.softmax(normal(r, n), -1), jax.nn.softmax(normal(w, n), -1), read, write


def _relative_errors(got, want):
    """Per leaf, the largest absolute difference over the largest absolute value of ``want``."""
    return jax.tree.map(lambda g, w: float(jnp.max(jnp.abs(g - w)) / jnp.max(jnp.abs(w))), got, want)


def _vjps(args, seed):
    """The custom and the autodiff VJP of one memory step for the same random cotangents of every output,
    in one jitted program (one compile, where op-by-op dispatch compiles every operation)."""
    shapes = jax.eval_shape(ms.memory_step, *args)
    rng = np.random.default_rng(seed)
    cotangents = jax.tree.map(lambda x: jnp.asarray(rng.normal(size=x.shape).astype(x.dtype)), shapes)

    @jax.jit
    def both(args, cotangents):
        out, custom_vjp = jax.vjp(ms.memory_step, *args)
        want_out, autodiff_vjp = jax.vjp(heads.memory_step, *args)
        return out, want_out, custom_vjp(cotangents), autodiff_vjp(cotangents)

    return both(args, cotangents)


@pytest.mark.parametrize("batch, r, w, s", CASES)
def test_gradients_equal_autodiff_in_float64(batch, r, w, s):
    with jax.enable_x64(True):
        args = _inputs(np.random.default_rng(0), batch, 10, 4, r, w, s)
        out, want_out, got, want = _vjps(args, seed=1)
        chex.assert_trees_all_close(out, want_out, rtol=1e-12, atol=1e-14)  # the same forward
        chex.assert_trees_all_equal_shapes_and_dtypes(got, want)
        errors = _relative_errors(got, want)
        assert max(jax.tree.leaves(errors)) < 1e-10, errors


@pytest.mark.parametrize("batch, r, w, s", CASES[:2])
def test_check_grads(batch, r, w, s):
    with jax.enable_x64(True):
        args = _inputs(np.random.default_rng(2), batch, 7, 3, r, w, s)
        check_grads(jax.jit(ms.memory_step), args, order=1, modes=["rev"], eps=1e-6)


def test_under_vmap_and_jit():
    with jax.enable_x64(True):
        args = _inputs(np.random.default_rng(3), (4,), 9, 5, 2, 3, 2)
        rng = np.random.default_rng(4)
        # A scalar loss of every output, so that each gets a cotangent.
        weights = jax.tree.map(lambda x: jnp.asarray(rng.normal(size=x.shape[1:])), heads.memory_step(*args))

        def loss(step):
            def f(*one):
                return sum(jnp.sum(o * c) for o, c in zip(step(*one), weights, strict=True))

            return f

        argnums = tuple(range(5))
        want = jax.jit(jax.vmap(jax.grad(loss(heads.memory_step), argnums)))(*args)
        got = jax.jit(jax.vmap(jax.grad(loss(ms.memory_step), argnums)))(*args)
        assert max(jax.tree.leaves(_relative_errors(got, want))) < 1e-10
        # vmap of the custom step outside the gradient too, and jit inside.
        grad_sum = jax.jit(jax.grad(lambda *a: jnp.sum(jax.vmap(jax.jit(loss(ms.memory_step)))(*a)), argnums))
        assert max(jax.tree.leaves(_relative_errors(grad_sum(*args), want))) < 1e-10


def _float64_model(monkeypatch):
    """The model computes memory and addressing in float32 by design; for a float64 comparison of the
    whole model, its modules' float32 is float64 here."""
    names = [name for name in dir(jnp) if not name.startswith("_")]
    patched = types.SimpleNamespace(**{name: getattr(jnp, name) for name in names})
    patched.float32 = jnp.float64
    monkeypatch.setattr(heads, "jnp", patched)
    monkeypatch.setattr(core, "jnp", patched)
    monkeypatch.setattr(ntm_access, "jnp", patched)


# The controllers' branches of the hoisted weight gradients (core._scan_hoisted): one LSTM layer (its
# hidden state is the output), two (the first layer's is kept apart), feedforward (no recurrent kernel).
@pytest.mark.parametrize(
    "r, w, s, controller, layers", [(1, 1, 1, "lstm", 1), (2, 3, 2, "lstm", 2), (1, 2, 1, "feedforward", 2)]
)
def test_model_gradients_equal_autodiff_in_float64(monkeypatch, r, w, s, controller, layers):
    with jax.enable_x64(True):
        _float64_model(monkeypatch)
        spec = dict(
            output_size=3, memory_size=10, word_size=4, controller_size=8, dtype=jnp.float64,
            num_read_heads=r, num_write_heads=w, shift_range=s, controller=controller,
            controller_layers=layers,
        )  # fmt: skip
        params = core.init_params(core.NTMSpec(**spec), jax.random.key(0), 5, jnp.float64)
        inputs = jnp.asarray(np.random.default_rng(5).normal(size=(10, 2, 5)))  # 10 steps, batch 2
        # Weights of the final memory in the loss: [N, M], so that a final memory in another layout fails.
        memory_weights = jnp.asarray(np.random.default_rng(6).normal(size=(10, 4)))

        def grads(backward):
            model = core.NTMSpec(**spec, memory_backward=backward)

            def loss(params):
                state = core.initial_state(model, params["initial"], (2,))
                final, logits, _ = core.unroll(params, model, state, inputs)
                assert final.memory.shape == (2, 10, 4)  # rows, as the state was given
                final_state = jnp.sum(final.memory * memory_weights) + jnp.sum(final.read_vectors)
                if controller == "lstm":  # and the backward from the final controller state
                    final_state += jnp.sum(jnp.cos(final.controller[0].hidden)) + jnp.sum(
                        final.controller[-1].cell
                    )
                return jnp.sum(jnp.sin(logits)) + final_state

            return jax.jit(jax.value_and_grad(loss))(params)

        (value, got), (want_value, want) = grads("custom"), grads("autodiff")
        assert got["heads"]["kernel"].dtype == jnp.float64
        np.testing.assert_allclose(value, want_value, rtol=1e-12)
        errors = _relative_errors(got, want)
        assert max(jax.tree.leaves(errors)) < 1e-10, errors
        chex.assert_trees_all_close(grads("remat")[1], want, rtol=1e-10, atol=1e-12)


def test_float32_gradients_on_the_papers_copy_size():
    # The copy model's memory step: 128 x 20 memory, one read and one write head, batch 4.
    args = _inputs(np.random.default_rng(6), (4,), 128, 20, 1, 1, 1, dtype=np.float32)
    _, _, got, want = _vjps(args, seed=7)
    errors = _relative_errors(got, want)
    assert max(jax.tree.leaves(errors)) < 1e-5, errors
    with jax.enable_x64(True):  # and as close to the float64 gradients
        _, _, exact, _ = _vjps(jax.tree.map(lambda x: x.astype(jnp.float64), args), seed=7)
        got = jax.tree.map(lambda x: x.astype(jnp.float64), got)
        assert max(jax.tree.leaves(_relative_errors(got, exact))) < 1e-5
    # And the whole copy model's parameter gradients over a few steps.
    spec = core.NTMSpec(output_size=9)
    params = core.init_params(spec, jax.random.key(1), 10)
    inputs = jnp.asarray(np.random.default_rng(8).normal(size=(6, 2, 10)).astype(np.float32))

    def grads(backward):
        model = core.NTMSpec(output_size=9, memory_backward=backward)

        def loss(params):
            state = core.initial_state(model, params["initial"], (2,))
            _, logits, _ = core.unroll(params, model, state, inputs)
            return jnp.sum(jnp.sin(logits))

        return jax.jit(jax.grad(loss))(params)

    errors = _relative_errors(grads("custom"), grads("autodiff"))
    assert max(jax.tree.leaves(errors)) < 1e-5, errors


@pytest.fixture
def debug_nans():
    jax.config.update("jax_debug_nans", True)
    yield
    jax.config.update("jax_debug_nans", False)


def _finite_grads(args):
    def loss(*a):
        memory, read_w, write_w, reads = ms.memory_step(*a)
        return jnp.sum(memory**2) + jnp.sum(jnp.sin(read_w)) + jnp.sum(write_w[..., 0]) + jnp.sum(reads)

    grads = jax.jit(jax.grad(loss, argnums=tuple(range(5))))(*args)
    chex.assert_tree_all_finite(grads)
    return grads


def test_no_nan_at_the_edges(debug_nans):
    rng = np.random.default_rng(9)
    memory, read_w, write_w, read, write = _inputs(rng, (2,), 16, 5, 2, 2, 1, dtype=np.float32)
    # Zero memory rows (and an all-zero memory), a zero key.
    _finite_grads((memory.at[:, ::2].set(0.0), read_w, write_w, read, write))
    zero_key = read._replace(key=jnp.zeros_like(read.key))
    _finite_grads((jnp.zeros_like(memory), read_w, write_w, zero_key, write))
    # gamma 50 on weights near 1e-3, and a weighting with exact zeros.
    flat = (1e-3 * (1 + 0.1 * rng.uniform(size=read_w.shape))).astype(np.float32)
    sharp = read._replace(gamma=jnp.full_like(read.gamma, 50.0), gate=jnp.zeros_like(read.gate))
    _finite_grads((memory, flat, write_w.at[..., 1:].set(0.0), sharp, write._replace(gamma=write.gamma + 49)))
    # Huge strengths, and an erase of exactly 1 on a weighting of exactly 1 (an erase factor of 0).
    one_hot = jnp.zeros_like(write_w).at[..., 3].set(1.0)
    strong = write._replace(
        strength=jnp.full_like(write.strength, 1e4),
        erase=jnp.ones_like(write.erase),
        gate=jnp.zeros_like(write.gate),
        shift=jnp.zeros_like(write.shift).at[..., 1].set(1.0),
        gamma=jnp.ones_like(write.gamma),
    )
    grads = _finite_grads((memory, read_w, one_hot, read._replace(strength=read.strength * 1e4), strong))
    assert np.all(np.asarray(grads[0])[:, 3] == 0.0)  # row 3 was wholly erased by both heads


def test_bad_shapes_are_clear_errors_under_grad_too():
    # 2S + 1 = 5 shifts on 3 memory rows: the plain call and its gradient both name the problem.
    args = _inputs(np.random.default_rng(10), (), 3, 4, 1, 1, 2, dtype=np.float32)
    with pytest.raises(ValueError, match="5 shifts, more than the 3 memory rows"):
        ms.memory_step(*args)
    with pytest.raises(ValueError, match="5 shifts, more than the 3 memory rows"):
        jax.grad(lambda m: jnp.sum(ms.memory_step(m, *args[1:])[0]))(args[0])


def test_inputs_of_different_batch_shapes_broadcast_and_their_gradients_sum_back():
    # Unbatched previous weightings with a batched memory, and unbatched read-head parameters: the
    # gradients have each input's own shape and equal autodiff's (summed over the broadcast axes).
    with jax.enable_x64(True):
        memory, read_w, write_w, read_p, write_p = _inputs(np.random.default_rng(11), (3,), 6, 4, 2, 1, 1)
        cases = [
            (memory, read_w[0], write_w[0], read_p, write_p),  # unbatched previous weightings
            (memory, read_w, write_w, jax.tree.map(lambda x: x[0], read_p), write_p),  # unbatched read heads
            (memory, read_w, write_w, read_p._replace(strength=jnp.asarray(2.0)), write_p),  # one strength
        ]
        for args in cases:

            def loss(fn, *a):
                outputs = fn(*a)
                return sum(jnp.sum(jnp.sin(o * (i + 1))) for i, o in enumerate(outputs))

            # One jitted program for both (op-by-op dispatch compiles every operation).
            got, want = jax.jit(
                lambda *a: tuple(
                    jax.grad(lambda *b, fn=fn: loss(fn, *b), argnums=(0, 1, 2, 3, 4))(*a)
                    for fn in (ms.memory_step, heads.memory_step)
                )
            )(*args)
            for g, w, x in zip(
                jax.tree.leaves(got), jax.tree.leaves(want), jax.tree.leaves(args), strict=True
            ):
                assert g.shape == x.shape
                np.testing.assert_allclose(g, w, rtol=1e-9, atol=1e-12)


def test_inputs_of_one_batch_shape_are_not_broadcast():
    """The wrapper adds nothing to the traced step but the memory's transposes when the shapes already
    agree."""
    args = _inputs(np.random.default_rng(12), (2,), 5, 3, 1, 1, 1, dtype=np.float32)
    jaxpr = jax.make_jaxpr(ms.memory_step)(*args)
    assert [eqn.primitive.name for eqn in jaxpr.jaxpr.eqns] == ["transpose", "custom_vjp_call", "transpose"]


def test_an_empty_sequence_has_autodiffs_gradients():
    """T = 0 through the hoisted weight gradients: the initial state's gradient, and zeros for the weights."""

    def grads(backward):
        spec = core.NTMSpec(
            output_size=3, memory_size=8, word_size=4, controller_size=6, memory_backward=backward
        )
        params = core.init_params(spec, jax.random.key(0), 5)

        def loss(params):
            state = core.initial_state(spec, params["initial"], (2,))
            final, logits, _ = core.unroll(params, spec, state, jnp.zeros((0, 2, 5)))
            return (
                jnp.sum(jnp.sin(final.controller[0].hidden)) + jnp.sum(final.read_vectors) + jnp.sum(logits)
            )

        return jax.grad(loss)(params)

    got, want = grads("custom"), grads("autodiff")
    chex.assert_trees_all_close(got, want)
    assert float(jnp.abs(got["initial"]["controller_hidden"]).sum()) > 0
    assert float(jnp.abs(got["heads"]["kernel"]).sum()) == 0


def _interface_inputs(rng, batch, n, m, r, w, s):
    """Random inputs of memory_step_from_interface: raw head parameters of scale 2 (the bound is 20)."""
    layout = heads.HeadLayout(r, w, m, s)
    memory, read_w, write_w, *_ = _inputs(rng, batch, n, m, r, w, s)
    interface = jnp.asarray(2.0 * rng.normal(size=batch + (layout.size,)))
    return (memory, read_w, write_w, interface), layout


def _reference_step(layout):
    """The step from the raw vector with autodiff throughout: the activations, then ntm.heads'."""

    def step(memory, read_w, write_w, interface):
        return heads.memory_step(memory, read_w, write_w, *layout.split(interface))

    return step


@pytest.mark.parametrize("batch, r, w, s", CASES)
def test_from_interface_gradients_equal_autodiff_in_float64(monkeypatch, batch, r, w, s):
    with jax.enable_x64(True):
        _float64_model(monkeypatch)  # HeadLayout.split computes in float32 by design
        args, layout = _interface_inputs(np.random.default_rng(13), batch, 10, 4, r, w, s)

        def custom(*a):
            return ms.memory_step_from_interface(*a, layout)

        shapes = jax.eval_shape(custom, *args)
        rng = np.random.default_rng(14)
        cotangents = jax.tree.map(lambda x: jnp.asarray(rng.normal(size=x.shape)), shapes)

        @jax.jit
        def both(args, cotangents):
            out, custom_vjp = jax.vjp(custom, *args)
            want_out, autodiff_vjp = jax.vjp(_reference_step(layout), *args)
            return out, want_out, custom_vjp(cotangents), autodiff_vjp(cotangents)

        out, want_out, got, want = both(args, cotangents)
        chex.assert_trees_all_close(out, want_out, rtol=1e-12, atol=1e-14)
        chex.assert_trees_all_equal_shapes_and_dtypes(got, want)
        errors = _relative_errors(got, want)
        assert max(jax.tree.leaves(errors)) < 1e-10, errors
        assert got[3].dtype == jnp.float64 and got[3].shape == batch + (layout.size,)

        # The same step on the memory in columns: the same numbers, the memory's transposed.
        def transposed(tree):
            return (jnp.swapaxes(tree[0], -1, -2), *tree[1:])

        def in_columns(*a):
            return ms.memory_step_from_interface(*a, layout, columns=True)

        out_c, vjp_c = jax.vjp(in_columns, *transposed(args))
        chex.assert_trees_all_close(transposed(out_c), out, rtol=1e-14, atol=1e-15)
        chex.assert_trees_all_close(transposed(vjp_c(transposed(cotangents))), got, rtol=1e-14, atol=1e-15)

        # And with the raw vector's bound (|raw| < 20 here), whose content softmax subtracts the strength.
        def bounded(*a):
            return ms.memory_step_from_interface(*a, layout, raw_bound=20.0)

        out_b, vjp_b = jax.vjp(bounded, *args)
        chex.assert_trees_all_close(out_b, out, rtol=1e-12, atol=1e-14)
        chex.assert_trees_all_close(vjp_b(cotangents), got, rtol=1e-10, atol=1e-12)


def test_from_interface_broadcasts_and_sums_gradients_back(monkeypatch):
    # Unbatched previous weightings with a batched memory and raw vector: each gradient has its input's
    # shape and equals autodiff's, summed over the broadcast axis.
    with jax.enable_x64(True):
        _float64_model(monkeypatch)
        (memory, read_w, write_w, interface), layout = _interface_inputs(
            np.random.default_rng(15), (3,), 6, 4, 2, 1, 1
        )

        def loss(fn, *a):
            return sum(jnp.sum(jnp.sin(o * (i + 1))) for i, o in enumerate(fn(*a)))

        def custom(*a):
            return ms.memory_step_from_interface(*a, layout)

        for args in ((memory, read_w[0], write_w[0], interface), (memory, read_w, write_w[0], interface)):
            got, want = (
                jax.jit(jax.grad(lambda *a, fn=fn: loss(fn, *a), argnums=(0, 1, 2, 3)))(*args)
                for fn in (custom, _reference_step(layout))
            )
            for g, w, x in zip(got, want, args, strict=True):
                assert g.shape == x.shape
                np.testing.assert_allclose(g, w, rtol=1e-9, atol=1e-12)


def test_from_interface_in_columns_is_one_custom_step_and_checks_its_inputs():
    (memory, read_w, write_w, interface), layout = _interface_inputs(
        np.random.default_rng(16), (2,), 5, 3, 1, 1, 1
    )
    args = (memory.astype(jnp.float32), read_w, write_w, interface.astype(jnp.float32))
    columns = (jnp.swapaxes(args[0], -1, -2), *args[1:])

    def names(fn, *a):
        return [eqn.primitive.name for eqn in jax.make_jaxpr(fn)(*a).jaxpr.eqns]

    assert names(lambda *a: ms.memory_step_from_interface(*a, layout, columns=True), *columns) == [
        "custom_vjp_call"
    ]
    assert names(lambda *a: ms.memory_step_from_interface(*a, layout), *args) == [
        "transpose",
        "custom_vjp_call",
        "transpose",
    ]
    with pytest.raises(ValueError, match=f"raw head parameters have size {layout.size + 1}, expected"):
        ms.memory_step_from_interface(*args[:3], jnp.zeros((2, layout.size + 1)), layout)
    # A memory in rows (5 x 3) passed as columns: words of 5 where the layout's are 3.
    with pytest.raises(
        ValueError, match=r"in columns \[..., M, N\], has words of 5; the head layout's are 3"
    ):
        ms.memory_step_from_interface(*args, layout, columns=True)


@pytest.mark.parametrize("n, s", [(1, 0), (5, 0), (5, 1), (5, 2), (3, 1), (4, 4)])
def test_rolls_are_jnp_roll(n, s):
    x = jnp.arange(2 * n, dtype=jnp.float32).reshape(2, n) ** 2
    got = ms.rolls(x, s)
    assert len(got) == 2 * s + 1
    for r, rolled in zip(range(-s, s + 1), got, strict=True):
        np.testing.assert_array_equal(rolled, jnp.roll(x, r, axis=-1))


def test_bad_inputs_of_the_step_from_the_raw_vector_are_clear_errors():
    (memory, read_w, write_w, interface), layout = _interface_inputs(
        np.random.default_rng(17), (2,), 6, 3, 1, 2, 1
    )
    args = (memory.astype(jnp.float32), read_w, write_w, interface.astype(jnp.float32))
    two_reads = jnp.concatenate([read_w, read_w], axis=-2)
    with pytest.raises(ValueError, match=r"previous_read_weights \(2, 2, 6\) has 2 heads; the layout has 1"):
        ms.memory_step_from_interface(args[0], two_reads, *args[2:], layout)
    with pytest.raises(ValueError, match=r"previous_write_weights \(2, 1, 6\) has 1 heads; the layout has 2"):
        ms.memory_step_from_interface(*args[:2], write_w[..., :1, :], args[3], layout)
    with pytest.raises(ValueError, match=r"rolls: s=4 must be in \[0, N=3\]"):
        ms.rolls(jnp.zeros((2, 3)), 4)
    spec = core.NTMSpec(output_size=2, memory_size=6, word_size=3, num_write_heads=2, memory_backward="remat")
    state = ntm_access.initial_state(
        spec, ntm_access.init_initial(spec), memory, jnp.zeros((2, 1, 3)), controller=()
    )
    with pytest.raises(ValueError, match="memory_columns needs memory_backward='custom', not 'remat'"):
        ntm_access.step(spec, state, args[3], memory_columns=True)


def test_float32_strength_gradient_at_large_strengths():
    # The strength's cotangent is a difference of two sums (sum w d K - (sum w d)(sum w K)); with content
    # weightings made sharp by large strengths it stays as close to the float64 gradient as the rest.
    memory, read_w, write_w, read, write = _inputs(
        np.random.default_rng(6), (4,), 128, 20, 1, 1, 1, np.float32
    )
    read, write = (p._replace(strength=30.0 * p.strength) for p in (read, write))
    args = (memory, read_w, write_w, read, write)
    _, _, got, _ = _vjps(args, seed=7)
    with jax.enable_x64(True):
        _, _, exact, _ = _vjps(jax.tree.map(lambda x: x.astype(jnp.float64), args), seed=7)
        for g, e in ((got[3].strength, exact[3].strength), (got[4].strength, exact[4].strength)):
            error = np.max(np.abs(np.asarray(g, np.float64) - np.asarray(e))) / np.max(np.abs(np.asarray(e)))
            assert error < 1e-4, error


def test_content_softmax_without_its_max_only_where_the_strength_bound_allows():
    assert ms.strength_bound(20.0) == pytest.approx(20.0 + np.log1p(np.exp(-20.0)), rel=1e-15)
    assert ms.strength_bound(0.0) == pytest.approx(np.log(2.0)) and ms.strength_bound(1e3) == 1e3
    # Every row at similarity -1 to the key, strength 40: the shifted logits are -80, still normal floats.
    memory = jnp.ones((2, 3, 16), jnp.float32)  # [M, N] columns: every row (1, 1, 1)
    key = -jnp.ones((2, 1, 3), jnp.float32)
    strength = jnp.full((2, 1), 40.0, jnp.float32)
    for bound in (None, 40.0):
        weights = ms.content_weights(memory, key, strength, strength_bound=bound).weights
        np.testing.assert_allclose(weights, 1 / 16, rtol=1e-6)
    # Past the limit the softmax keeps its max: strength 60 at similarity -1 is exp(-120) unshifted.
    strong = jnp.full((2, 1), 60.0, jnp.float32)
    weights = ms.content_weights(memory, key, strong, strength_bound=60.0).weights
    np.testing.assert_allclose(weights, 1 / 16, rtol=1e-6)
    (memory, read_w, write_w, interface), layout = _interface_inputs(
        np.random.default_rng(18), (2,), 5, 3, 1, 1, 1
    )
    for bad in (0.0, -1.0, float("inf"), "20"):
        with pytest.raises(ValueError, match="raw_bound must be a positive number or None, got"):
            ms.memory_step_from_interface(memory, read_w, write_w, interface, layout, raw_bound=bad)
