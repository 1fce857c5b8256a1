"""The DNC's memory-access equations against hand-computed numbers, their invariants and gradients, and
the whole access chain (usage, allocation, write, links, read) over many steps."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

from ntm import addressing, dnc, memory
from ntm.state import DNCState

# ---------------------------------------------------------------------------------------------------------
# Hand values, one equation at a time.


def test_retention_hand_values():
    free = np.array([0.5, 1.0], np.float32)
    w = np.array([[0.2, 0.8, 0.0], [0.0, 0.5, 0.5]], np.float32)
    # head 0: 1 - 0.5 * [0.2, 0.8, 0] = [0.9, 0.6, 1.0]; head 1: 1 - [0, 0.5, 0.5] = [1.0, 0.5, 0.5].
    np.testing.assert_allclose(dnc.retention(free, w), [0.9, 0.3, 0.5], rtol=1e-6)
    # Closed free gates retain everything, whatever was read.
    np.testing.assert_array_equal(dnc.retention(np.zeros(2, np.float32), w), np.ones(3))


def test_update_usage_hand_values():
    u = np.array([0.5, 0.0, 1.0], np.float32)
    w = np.array([0.5, 1.0, 0.2], np.float32)
    psi = np.array([0.9, 0.3, 0.5], np.float32)
    # u + w - u w = [0.75, 1.0, 1.0]; times psi = [0.675, 0.3, 0.5].
    np.testing.assert_allclose(dnc.update_usage(u, w, psi), [0.675, 0.3, 0.5], rtol=1e-6)
    # Nothing written and nothing freed: usage unchanged.
    np.testing.assert_array_equal(dnc.update_usage(u, np.zeros(3, np.float32), np.ones(3, np.float32)), u)


def test_allocation_hand_values():
    usage = np.array([0.4, 0.1, 0.9, 0.2], np.float32)
    # Free list phi = rows (1, 3, 0, 2), usages (0.1, 0.2, 0.4, 0.9):
    #   a[1] = 0.9
    #   a[3] = 0.8 * 0.1             = 0.08
    #   a[0] = 0.6 * 0.1 * 0.2       = 0.012
    #   a[2] = 0.1 * 0.1 * 0.2 * 0.4 = 0.0008      (sum 0.9928 = 1 - 0.1 * 0.2 * 0.4 * 0.9)
    np.testing.assert_allclose(dnc.allocation_weights(usage), [0.012, 0.9, 0.0008, 0.08], rtol=1e-5)
    # A free row (usage 0) takes all of the allocation: phi starts with row 3, and every later product
    # contains u[3] = 0.
    usage = np.array([0.4, 0.1, 0.9, 0.0], np.float32)
    np.testing.assert_array_equal(dnc.allocation_weights(usage), [0.0, 0.0, 0.0, 1.0])


def test_allocation_ties_go_to_the_lower_row_first():
    usage = np.array([0.5, 0.2, 0.5, 0.2], np.float32)
    # Stable sort: phi = rows (1, 3, 0, 2).
    #   a[1] = 0.8, a[3] = 0.8 * 0.2 = 0.16, a[0] = 0.5 * 0.04 = 0.02, a[2] = 0.5 * 0.02 = 0.01.
    # Ties ordered by descending row would give [0.01, 0.16, 0.02, 0.8].
    np.testing.assert_allclose(dnc.allocation_weights(usage), [0.02, 0.8, 0.01, 0.16], rtol=1e-5)


def test_allocation_of_full_and_of_empty_memory():
    np.testing.assert_array_equal(dnc.allocation_weights(np.ones((2, 5), np.float32)), np.zeros((2, 5)))
    # All rows free: a tie everywhere, so all of the mass goes to row 0.
    expected = np.zeros((2, 3, 5))
    expected[..., 0] = 1.0
    np.testing.assert_array_equal(dnc.allocation_weights(np.zeros((2, 3, 5), np.float32)), expected)


def test_allocation_batched_equals_per_example():
    usage = np.random.default_rng(0).uniform(size=(2, 3, 7)).astype(np.float32)
    got = dnc.allocation_weights(usage)
    for i in range(2):
        for j in range(3):
            np.testing.assert_allclose(got[i, j], dnc.allocation_weights(usage[i, j]), rtol=1e-6)
    np.testing.assert_allclose(got.sum(-1), 1.0 - usage.prod(-1), rtol=1e-5)


def test_write_weights_hand_values_and_gate_limits():
    a = np.array([0.9, 0.1, 0.0], np.float32)
    c = np.array([0.2, 0.3, 0.5], np.float32)
    # 0.25 a + 0.75 c = [0.375, 0.25, 0.375]; times 0.8 = [0.3, 0.2, 0.3].
    got = dnc.write_weights(a, c, jnp.float32(0.25), jnp.float32(0.8))
    np.testing.assert_allclose(got, [0.3, 0.2, 0.3], rtol=1e-6)
    np.testing.assert_array_equal(dnc.write_weights(a, c, jnp.float32(1.0), jnp.float32(1.0)), a)
    np.testing.assert_array_equal(dnc.write_weights(a, c, jnp.float32(0.0), jnp.float32(1.0)), c)
    np.testing.assert_array_equal(dnc.write_weights(a, c, jnp.float32(0.5), jnp.float32(0.0)), np.zeros(3))
    # Gates [...] broadcast over the rows of each example.
    got = dnc.write_weights(
        np.stack([a, a]), np.stack([c, c]), np.float32([1.0, 0.0]), np.float32([1.0, 0.5])
    )
    np.testing.assert_allclose(got, [a, 0.5 * c], rtol=1e-6)


def test_links_and_precedence_over_successive_writes():
    n = 3
    links = np.zeros((n, n), np.float32)
    p = np.zeros(n, np.float32)

    def write(w):
        nonlocal links, p
        links = dnc.update_links(links, p, np.asarray(w, np.float32))  # uses p_{t-1}
        p = dnc.update_precedence(p, np.asarray(w, np.float32))

    # Write to row 0: no earlier write, so no link; p = e_0.
    write([1.0, 0.0, 0.0])
    np.testing.assert_array_equal(links, np.zeros((n, n)))
    np.testing.assert_array_equal(p, [1.0, 0.0, 0.0])
    # Write to row 2: L[2, 0] = w[2] p[0] = 1 (row 2 was written after row 0); p = (1 - 1) p + e_2.
    write([0.0, 0.0, 1.0])
    expected = np.zeros((n, n))
    expected[2, 0] = 1.0
    np.testing.assert_array_equal(links, expected)
    np.testing.assert_array_equal(p, [0.0, 0.0, 1.0])
    # Half a write to row 1: L[1, 2] = 0.5 p[2] = 0.5, L[2, 0] kept (factor 1 - 0 - 0);
    # p = 0.5 [0, 0, 1] + [0, 0.5, 0].
    write([0.0, 0.5, 0.0])
    np.testing.assert_allclose(links, [[0, 0, 0], [0, 0, 0.5], [1.0, 0, 0]], atol=1e-7)
    np.testing.assert_allclose(p, [0.0, 0.5, 0.5], atol=1e-7)
    # Half a write to row 0: L[2, 0] = (1 - 0 - 0.5) 1 = 0.5, L[1, 2] = (1 - 0 - 0) 0.5 = 0.5,
    # L[0, j] = 0.5 p[j] = [0 (diagonal), 0.25, 0.25]; p = 0.5 [0, 0.5, 0.5] + [0.5, 0, 0].
    write([0.5, 0.0, 0.0])
    np.testing.assert_allclose(links, [[0, 0.25, 0.25], [0, 0, 0.5], [0.5, 0, 0]], atol=1e-7)
    np.testing.assert_allclose(p, [0.5, 0.25, 0.25], atol=1e-7)


def test_links_diagonal_is_zero_when_a_row_is_rewritten():
    # Writing row 0 again right after row 0: w[0] p[0] = 1 would land on the diagonal.
    e0 = np.array([1.0, 0.0, 0.0], np.float32)
    links = dnc.update_links(np.zeros((3, 3), np.float32), e0, e0)
    np.testing.assert_array_equal(links, np.zeros((3, 3)))


def test_precedence_hand_values():
    p = np.array([0.5, 0.5, 0.0], np.float32)
    w = np.array([0.0, 0.1, 0.3], np.float32)
    # (1 - 0.4) p + w = [0.3, 0.4, 0.3].
    np.testing.assert_allclose(dnc.update_precedence(p, w), [0.3, 0.4, 0.3], rtol=1e-6)
    np.testing.assert_array_equal(dnc.update_precedence(p, np.zeros(3, np.float32)), p)


LINKS = np.array([[0, 0.25, 0.25], [0, 0, 0.5], [0.5, 0, 0]], np.float32)


def test_directional_weights_hand_values():
    w = np.array([[1.0, 0.0, 0.0], [0.0, 0.4, 0.6]], np.float32)
    forward, backward = dnc.directional_weights(LINKS, w)
    # forward = L w: column 0 of L, and 0.4 L[:, 1] + 0.6 L[:, 2] = [0.1 + 0.15, 0.3, 0].
    np.testing.assert_allclose(forward, [[0.0, 0.0, 0.5], [0.25, 0.3, 0.0]], atol=1e-7)
    # backward = L^T w: row 0 of L, and 0.4 L[1] + 0.6 L[2] = [0.3, 0, 0.2].
    np.testing.assert_allclose(backward, [[0.0, 0.25, 0.25], [0.3, 0.0, 0.2]], atol=1e-7)


def test_directional_weights_follow_the_order_of_writes():
    # Write rows 0, 2, 1 in that order; reading row 2, forward goes to row 1 and backward to row 0.
    n = 3
    links, p = np.zeros((n, n), np.float32), np.zeros(n, np.float32)
    for row in (0, 2, 1):
        w = np.eye(n, dtype=np.float32)[row]
        links, p = dnc.update_links(links, p, w), dnc.update_precedence(p, w)
    forward, backward = dnc.directional_weights(links, np.eye(n, dtype=np.float32)[None, 2])
    np.testing.assert_array_equal(forward, [[0.0, 1.0, 0.0]])
    np.testing.assert_array_equal(backward, [[1.0, 0.0, 0.0]])


def test_read_weights_mixing():
    c = np.array([[0.1, 0.2, 0.7], [0.3, 0.3, 0.4]], np.float32)
    f = np.array([[0.0, 0.0, 1.0], [0.0, 1.0, 0.0]], np.float32)
    b = np.array([[1.0, 0.0, 0.0], [0.5, 0.0, 0.5]], np.float32)
    modes = np.array([[0.2, 0.5, 0.3], [0.0, 0.0, 1.0]], np.float32)
    # head 0: 0.2 b + 0.5 c + 0.3 f = [0.25, 0.1, 0.65]; head 1: its forward weighting.
    got = dnc.read_weights(c, f, b, modes)
    np.testing.assert_allclose(got, [[0.25, 0.1, 0.65], [0.0, 1.0, 0.0]], rtol=1e-6)
    # The modes are ordered (backward, content, forward).
    for k, expected in enumerate((b, c, f)):
        one_hot = np.broadcast_to(np.eye(3, dtype=np.float32)[k], (2, 3))
        np.testing.assert_array_equal(dnc.read_weights(c, f, b, one_hot), expected)


# ---------------------------------------------------------------------------------------------------------
# The whole access chain: one step of a DNC's memory, driven by random interface values.

B, N, M, R = 3, 8, 5, 2


def initial_state(batch=(B,)) -> DNCState:
    return DNCState(
        memory=jnp.zeros((*batch, N, M)),
        usage=jnp.zeros((*batch, N)),
        links=jnp.zeros((*batch, N, N)),
        precedence=jnp.zeros((*batch, N)),
        read_weights=jnp.zeros((*batch, R, N)),
        write_weights=jnp.zeros((*batch, N)),
        read_vectors=jnp.zeros((*batch, R, M)),
        controller=(),
    )


def random_interface(key, steps, batch=(B,), scale=3.0):
    """Raw interface values for ``steps`` steps; ``scale`` large enough that gates saturate."""
    sizes = {
        "free": (R,),
        "write_key": (M,),
        "write_strength": (),
        "allocation_gate": (),
        "write_gate": (),
        "erase": (M,),
        "add": (M,),
        "read_keys": (R, M),
        "read_strengths": (R,),
        "read_modes": (R, 3),
    }
    keys = jax.random.split(key, len(sizes))
    return {
        name: scale * jax.random.normal(k, (steps, *batch, *shape))
        for k, (name, shape) in zip(keys, sizes.items(), strict=True)
    }


def access(state: DNCState, x) -> tuple[DNCState, dict]:
    """One step of the DNC's memory access, in the paper's order (see the ``ntm.dnc`` docstring)."""
    psi = dnc.retention(jax.nn.sigmoid(x["free"]), state.read_weights)
    usage = dnc.update_usage(state.usage, state.write_weights, psi)
    allocation = dnc.allocation_weights(usage)
    write_content = addressing.content_weights(
        state.memory, jnp.tanh(x["write_key"]), jax.nn.softplus(x["write_strength"])
    )
    w_write = dnc.write_weights(
        allocation, write_content, jax.nn.sigmoid(x["allocation_gate"]), jax.nn.sigmoid(x["write_gate"])
    )
    mem = memory.write(state.memory, w_write, jax.nn.sigmoid(x["erase"]), jnp.tanh(x["add"]))
    links = dnc.update_links(state.links, state.precedence, w_write)
    precedence = dnc.update_precedence(state.precedence, w_write)
    read_content = addressing.content_weights(
        mem[..., None, :, :], jnp.tanh(x["read_keys"]), jax.nn.softplus(x["read_strengths"])
    )
    forward, backward = dnc.directional_weights(links, state.read_weights)
    w_read = dnc.read_weights(read_content, forward, backward, jax.nn.softmax(x["read_modes"], axis=-1))
    read_vectors = memory.read(mem[..., None, :, :], w_read)
    new = DNCState(mem, usage, links, precedence, w_read, w_write, read_vectors, state.controller)
    trace = {
        "retention": psi,
        "allocation": allocation,
        "forward": forward,
        "backward": backward,
    }
    return new, trace


def run_chain(state, xs):
    def step(carry, x):
        new, trace = access(carry, x)
        return new, (new, trace)

    return jax.lax.scan(step, state, xs)


# Compiled once per shape and shared by the tests below (compilation, not running, is what takes time).
chain = jax.jit(run_chain)

STEPS = 1000


@pytest.fixture(scope="module")
def long_run():
    """STEPS steps of the chain and the gradient of its last reads, as one jitted scan with debug_nans."""
    xs = random_interface(jax.random.key(0), STEPS)

    def loss(xs):
        final, (states, traces) = run_chain(initial_state(), xs)
        return jnp.sum(final.read_vectors**2) + jnp.sum(final.memory), (states, traces)

    with jax.debug_nans(True):
        (_, (states, traces)), grads = jax.jit(jax.value_and_grad(loss, has_aux=True))(xs)
        jax.block_until_ready(grads)
    return states, traces, grads


def test_chain_has_no_nan_or_inf_over_many_steps(long_run):
    states, traces, grads = long_run
    for name, x in {**states._asdict(), **traces}.items():
        if name != "controller":
            assert np.all(np.isfinite(x)), name
    for name, g in grads.items():
        assert np.all(np.isfinite(g)), f"gradient of {name}"
    # The run did exercise the memory: rows were used and freed, links were made, and the gradient
    # reached the allocation gate.
    assert np.max(states.usage) > 0.8 and np.min(states.usage[STEPS // 2 :]) < 0.1
    assert np.max(states.links) > 0.3
    assert np.any(grads["allocation_gate"] != 0)


def test_chain_invariants_over_many_steps(long_run):
    s, t, _ = long_run
    tol = 1e-6
    for name, x in (
        ("retention", t["retention"]),
        ("usage", s.usage),
        ("allocation", t["allocation"]),
        ("links", s.links),
    ):
        assert np.all(x >= 0) and np.all(x <= 1 + tol), name
    for name, w in (
        ("allocation", t["allocation"]),
        ("write", s.write_weights),
        ("precedence", s.precedence),
        ("forward", t["forward"]),
        ("backward", t["backward"]),
        ("read", s.read_weights),
    ):
        assert np.all(w >= 0), name
        assert np.all(w.sum(-1) <= 1 + tol), name
    # Each row and each column of L is a weighting too, and the diagonal is exactly zero.
    assert np.all(s.links.sum(-1) <= 1 + tol) and np.all(s.links.sum(-2) <= 1 + tol)
    np.testing.assert_array_equal(np.diagonal(s.links, axis1=-2, axis2=-1), 0.0)


def test_chain_jit_equals_eager():
    xs = random_interface(jax.random.key(2), 6)
    jitted, _ = chain(initial_state(), xs)
    state = initial_state()
    for t in range(6):
        state, _ = access(state, jax.tree.map(lambda x, t=t: x[t], xs))
    for name, a, b in zip(DNCState._fields, jitted, state, strict=True):
        if name != "controller":
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6, err_msg=name)


def test_chain_vmap_equals_batch_equals_per_example():
    xs = random_interface(jax.random.key(3), 6)
    batched, _ = chain(initial_state(), xs)
    # vmap over the batch axis (axis 1 of the inputs, which are [steps, B, ...]) of the unbatched chain.
    vmapped, _ = jax.jit(jax.vmap(run_chain, in_axes=(0, 1)))(initial_state(), xs)
    for name, a, b in zip(DNCState._fields, batched, vmapped, strict=True):
        if name != "controller":
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6, err_msg=name)
    for i in range(B):
        one, _ = chain(initial_state(batch=()), jax.tree.map(lambda x, i=i: x[:, i], xs))
        for name, a, b in zip(DNCState._fields, batched, one, strict=True):
            if name != "controller":
                np.testing.assert_allclose(a[i], b, rtol=1e-5, atol=1e-6, err_msg=f"{name}[{i}]")
    # Two leading batch axes give the same numbers as one.
    two, _ = chain(initial_state(batch=(1, B)), jax.tree.map(lambda x: x[:, None], xs))
    np.testing.assert_allclose(two.read_vectors[0], batched.read_vectors, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(two.links[0], batched.links, rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------------------------------------------------
# Gradients in float64.


def test_gradients_float64():
    with jax.enable_x64(True):
        rng = np.random.default_rng(4)
        n, r = 5, 2
        f = jnp.asarray(rng.uniform(size=(2, r)))
        w_read = jnp.asarray(rng.dirichlet(np.ones(n), size=(2, r)))
        u = jnp.asarray(rng.uniform(size=(2, n)))
        w = jnp.asarray(0.9 * rng.dirichlet(np.ones(n), size=2))
        psi = jnp.asarray(rng.uniform(size=(2, n)))
        c = jnp.asarray(rng.dirichlet(np.ones(n), size=2))
        g_a, g_w = jnp.asarray([0.3, 0.7]), jnp.asarray([0.9, 0.4])
        p = jnp.asarray(0.8 * rng.dirichlet(np.ones(n), size=2))
        links = jnp.asarray(rng.uniform(size=(2, n, n)) / n)
        c_read = jnp.asarray(rng.dirichlet(np.ones(n), size=(2, r)))
        fwd, bwd = jnp.asarray(rng.uniform(size=(2, 2, r, n)) / n)
        modes = jnp.asarray(rng.dirichlet(np.ones(3), size=(2, r)))
        # Jitted, so that the finite differences reuse one compiled program per function.
        kw = {"order": 1, "modes": ["fwd", "rev"], "eps": 1e-5}
        check_grads(jax.jit(dnc.retention), (f, w_read), **kw)
        check_grads(jax.jit(dnc.update_usage), (u, w, psi), **kw)
        check_grads(jax.jit(dnc.write_weights), (u, c, g_a, g_w), **kw)
        check_grads(jax.jit(dnc.update_precedence), (p, w), **kw)
        check_grads(jax.jit(dnc.update_links), (links, p, w), **kw)
        check_grads(jax.jit(dnc.directional_weights), (links, w_read), **kw)
        check_grads(jax.jit(dnc.read_weights), (c_read, fwd, bwd, modes), **kw)
        # Allocation away from ties (usages at least 0.1 apart, far more than eps), so the free list
        # does not change within the finite differences.
        usage = jnp.asarray([[0.45, 0.15, 0.95, 0.3, 0.6], [0.2, 0.9, 0.05, 0.7, 0.5]])
        check_grads(jax.jit(dnc.allocation_weights), (usage,), **kw)


def test_allocation_gradient_is_finite_and_exact_at_zero_and_full_usage():
    # phi = (0, 1, 2): a[0] = 1 - u0, a[1] = (1 - u1) u0, a[2] = (1 - u2) u0 u1. At u = (0, 0.5, 1):
    #   da[0]/du = [-1, 0, 0]; da[1]/du = [1 - u1, -u0, 0] = [0.5, 0, 0];
    #   da[2]/du = [(1 - u2) u1, (1 - u2) u0, -u0 u1] = [0, 0, 0].
    usage = jnp.asarray([0.0, 0.5, 1.0])
    expected = [[-1.0, 0.0, 0.0], [0.5, 0.0, 0.0], [0.0, 0.0, 0.0]]
    for jacobian in (jax.jacfwd, jax.jacrev):
        with jax.debug_nans(True):
            np.testing.assert_allclose(jacobian(dnc.allocation_weights)(usage), expected, atol=1e-7)
