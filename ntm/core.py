"""The model every memory shares, as pure functions of a parameter dict: the one implementation behind
the Linen and NNX cells of the NTM and of the DNC.

The core is the controller, the interface layer, the output layer, the learned initial state and the
scan. What differs between memories is the memory access: how the interface vector becomes weightings,
reads and writes, and what state that carries. It is the spec's ``access`` module: ``ntm.ntm_access``
for :class:`NTMSpec` (heads with content and location addressing), ``ntm.dnc_access`` for
:class:`ntm.dnc_access.DNCSpec` (allocation through usage, temporal links); ``ntm.ntm_access``'s
docstring lists the functions an access module provides.

Parameters are a nested dict::

    {
      "controller": {                                  # see ntm.controllers
        "layer_0": {
          "kernel": [F, G],                            # external input -> first layer (G = 4H or H)
          "read_kernel": [R*M, G],                     # previous read vectors -> first layer
          "recurrent_kernel": [H, G], "bias": [G],     # ("recurrent_kernel" for an LSTM only)
        },
        "layer_1": {...}, ...,
      },
      "heads":  {"kernel": [H, P], "bias": [P]},       # controller output -> interface vector
      "output": {"kernel": [H + R*M, O], "bias": [O]}, # [controller output, read vectors] -> logits
      "initial": {                                     # learned initial state (biases)
        "read_vectors": [R, M],
        "read_weight_logits": [R, N], "write_weight_logits": [W, N],   # the NTM's access only
        "controller_hidden": [L, H], "controller_cell": [L, H],   # LSTM controller only
        "memory": [N, M],                              # memory_init "learned" or "random" only
      },
    }

At each step the controller sees the external input and the previous step's read vectors; the memory
access writes and then reads memory (for the NTM: the write heads address and write, the read heads
address and read the written memory), and the output is a linear function of the controller output and
the new read vectors. The interface vector (for the NTM, the raw head parameters) and the output logits
are kept within ``+-clip_value`` (:func:`bound`).

The first controller layer's input is ``[x, read vectors]``; its two kernels are kept apart, so that F
is the rows of ``layer_0/kernel`` (as for the stacked-LSTM baseline, which has no reads). They are drawn
as one LeCun-normal matrix over the combined fan-in F + R*M and then cut by rows. The interface vector of
width P is parsed by the access module: for the NTM by :class:`ntm.heads.HeadLayout`
(:attr:`NTMSpec.head_layout`), for the DNC by :func:`ntm.dnc_access.split_interface`.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import Any

import jax
import jax.numpy as jnp

from ntm import controllers, heads, ntm_access
from ntm.state import LSTMState, NTMState, StepTrace

MEMORY_INITS = ("constant", "learned", "random")
# How head parameters and output logits are kept within +-clip_value.
CLIP_MODES = ("hard", "tanh")
# How the backward pass of each step's memory side is computed (NTMSpec.memory_backward).
MEMORY_BACKWARDS = ("custom", "remat", "autodiff")
# The top-level groups of the parameter dict.
PARAM_GROUPS = ("controller", "heads", "output", "initial")
# Standard deviation of the draw for memory_init "random" and "learned".
RANDOM_MEMORY_STDDEV = 0.5
# ... drawn once from this seed, the same for every model (see init_initial).
MEMORY_DRAW_SEED = 20141020


def _check_positive(name: str, value, minimum: int = 1) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")


@dataclasses.dataclass(frozen=True)
class NTMSpec:
    """Static configuration of an NTM (hashable, so it can be a static argument under jit).

    Attributes:
      output_size: O, the width of the output logits.
      memory_size: N, number of memory rows.
      word_size: M, width of a memory row.
      num_read_heads: R.
      num_write_heads: W.
      shift_range: S; a head may shift by -S..S rows.
      controller: ``"lstm"`` or ``"feedforward"``.
      controller_size: H, units per controller layer.
      controller_layers: L, number of controller layers.
      clip_value: raw head parameters and output logits are kept within ``+-clip_value``.
      clip_mode: how (:func:`bound`): ``"hard"`` clips (no gradient past the bound), ``"tanh"`` squashes
        smoothly (``c * tanh(x / c)``: the gradient never vanishes).
      memory_init: ``"constant"`` (every entry ``memory_init_value``), ``"learned"`` (a trained bias,
        initialised from N(0, 0.5^2)) or ``"random"`` (a fixed, untrained draw from N(0, 0.5^2)); the
        draw is the same for every parameter key, so that Linen's ``initialize_carry`` agrees with it.
      memory_init_value: the constant for ``memory_init="constant"``.
      dtype: computation dtype of the controller and output layer; memory and addressing stay float32.
      memory_backward: how the memory side of each step (write-head addressing, write, read-head
        addressing, read) is differentiated; the numbers are the same either way, up to rounding.
        ``"custom"``: the hand-written backward pass of :mod:`ntm.memory_step`, which keeps the step's
        inputs and recomputes each forward value once (the fastest, under a plain ``jax.jit`` and with
        :func:`ntm.compiler_options` alike; no forward-mode ``jax.jvp``); :func:`unroll` then also
        carries the memory through its scan in that module's column layout ``[..., M, N]``, and
        computes the gradients of the first controller layer's and the head layer's weights once per
        sequence, after the backward loop, instead of adding them up step by step in it
        (``_scan_hoisted``; not with ``remat`` or ``return_trace``, which keep the plain scan).
        ``"remat"``: autodiff of the rematerialised step (``jax.checkpoint``), which keeps the same inputs
        and recomputes the rest.
        ``"autodiff"``: plain autodiff, which keeps several memory-sized values per step
        (experiments/benchmark.py measures all three).
    """

    output_size: int
    memory_size: int = 128
    word_size: int = 20
    num_read_heads: int = 1
    num_write_heads: int = 1
    shift_range: int = 1
    controller: str = "lstm"
    controller_size: int = 100
    controller_layers: int = 1
    clip_value: float = 20.0
    clip_mode: str = "tanh"
    memory_init: str = "constant"
    memory_init_value: float = 1e-6
    dtype: Any = jnp.float32
    memory_backward: str = "custom"

    # The memory access: how the interface vector becomes reads and writes (see ntm.ntm_access).
    access = ntm_access

    def __post_init__(self):
        check_core_fields(self)
        _check_positive("num_write_heads", self.num_write_heads)
        _check_positive("shift_range", self.shift_range, minimum=0)
        if 2 * self.shift_range + 1 > self.memory_size:
            raise ValueError(
                f"shift_range={self.shift_range} allows {2 * self.shift_range + 1} shifts, more than "
                f"memory_size={self.memory_size} rows"
            )
        if self.memory_backward not in MEMORY_BACKWARDS:
            raise ValueError(
                f"memory_backward must be one of {MEMORY_BACKWARDS}, got {self.memory_backward!r}"
            )

    @property
    def read_size(self) -> int:
        """R * M, the width of all read vectors together."""
        return self.num_read_heads * self.word_size

    @property
    def head_layout(self) -> heads.HeadLayout:
        """Where each head parameter lies in the raw head-parameter vector."""
        return heads.HeadLayout(self.num_read_heads, self.num_write_heads, self.word_size, self.shift_range)

    @property
    def head_params_size(self) -> int:
        """P, the width of the raw head-parameter vector."""
        return self.head_layout.size


def check_core_fields(spec) -> None:
    """Raise a ValueError naming the first bad field of those every memory's spec shares with the core:
    output_size, memory_size, word_size, num_read_heads, controller, controller_size, controller_layers,
    clip_value, clip_mode and memory_init."""
    for name in ("output_size", "memory_size", "word_size", "num_read_heads"):
        _check_positive(name, getattr(spec, name))
    _check_positive("controller_size", spec.controller_size)
    _check_positive("controller_layers", spec.controller_layers)
    if spec.controller not in controllers.CONTROLLERS:
        raise ValueError(f"controller must be one of {controllers.CONTROLLERS}, got {spec.controller!r}")
    if spec.memory_init not in MEMORY_INITS:
        raise ValueError(f"memory_init must be one of {MEMORY_INITS}, got {spec.memory_init!r}")
    check_clip(spec.clip_value, spec.clip_mode)


def check_clip(clip_value, clip_mode) -> None:
    """Raise a ValueError naming a bad ``clip_value`` or ``clip_mode``."""
    if not clip_value > 0:
        raise ValueError(f"clip_value must be > 0, got {clip_value!r}")
    if clip_mode not in CLIP_MODES:
        raise ValueError(f"clip_mode must be one of {CLIP_MODES}, got {clip_mode!r}")


def bound(x: jax.Array, limit: float, mode: str) -> jax.Array:
    """``x`` kept within ``+-limit``: ``clip(x, -c, c)`` (``"hard"``) or ``c * tanh(x / c)`` (``"tanh"``).

    The hard clip has zero gradient past the bound, so a confidently wrong logit gets no signal; the tanh
    bound is smooth and its gradient ``1 - tanh^2(x / c)`` is never zero. Any shape.
    """
    if mode == "tanh":
        return limit * jnp.tanh(x / limit)
    return jnp.clip(x, -limit, limit)


# ---------------------------------------------------------------------------------------------------
# Parameters


def _dense(key, fan_in: int, fan_out: int, dtype) -> dict:
    return {
        "kernel": jax.nn.initializers.lecun_normal()(key, (fan_in, fan_out), dtype),
        "bias": jnp.zeros((fan_out,), dtype),
    }


def init_initial(spec: NTMSpec, key: jax.Array, dtype=jnp.float32) -> dict:
    """Initial values of the learned initial state (the ``"initial"`` group): the core's (read vectors,
    controller state, memory) and the memory access's own (``spec.access.init_initial``)."""
    group = {
        "read_vectors": jnp.zeros((spec.num_read_heads, spec.word_size), dtype),
        **spec.access.init_initial(spec, dtype),
    }
    if spec.controller == "lstm":
        shape = (spec.controller_layers, spec.controller_size)
        group["controller_hidden"] = jnp.zeros(shape, dtype)
        group["controller_cell"] = jnp.zeros(shape, dtype)
    if spec.memory_init != "constant":
        # One fixed draw, whatever the key: Linen's initialize_carry, which cannot read parameters, then
        # starts from the same memory as the parameters do.
        del key
        shape = (spec.memory_size, spec.word_size)
        draw = jax.random.normal(jax.random.key(MEMORY_DRAW_SEED), shape, jnp.float32)
        group["memory"] = (RANDOM_MEMORY_STDDEV * draw).astype(dtype)
    return group


def init_params(spec: NTMSpec, key: jax.Array, input_size: int, dtype=jnp.float32) -> dict:
    """All parameters of an NTM reading ``input_size`` features per step (see the module docstring)."""
    _check_positive("input_size", input_size)
    k_ctrl, k_heads, k_out, k_init = jax.random.split(key, 4)
    h = spec.controller_size
    controller = controllers.init_controller(
        k_ctrl, spec.controller, input_size + spec.read_size, h, spec.controller_layers, dtype
    )
    # One draw over the first layer's whole input [x, read vectors] (fan-in F + R*M), cut by rows.
    first = controller["layer_0"]
    first["kernel"], first["read_kernel"] = first["kernel"][:input_size], first["kernel"][input_size:]
    return {
        "controller": controller,
        "heads": _dense(k_heads, h, spec.access.interface_size(spec), dtype),
        "output": _dense(k_out, h + spec.read_size, spec.output_size, dtype),
        "initial": init_initial(spec, k_init, dtype),
    }


# ---------------------------------------------------------------------------------------------------
# State


def initial_state(spec: NTMSpec, initial: dict, batch_shape: tuple[int, ...]):
    """The state at the start of a sequence, from the ``"initial"`` parameter group.

    Args:
      spec: the configuration (an NTM's or a DNC's).
      initial: the ``"initial"`` group of the parameters (or of ``init_initial``).
      batch_shape: leading batch dimensions, e.g. ``(B,)`` or ``()``.

    Returns:
      the access's state (``NTMState``, ``DNCState``) with the leading dimensions ``batch_shape``.
    """
    batch_shape = tuple(batch_shape)

    def tile(x):
        return jnp.broadcast_to(x, batch_shape + x.shape)

    f32 = jnp.float32
    if spec.memory_init == "constant":
        memory = jnp.full((spec.memory_size, spec.word_size), spec.memory_init_value, f32)
    elif spec.memory_init == "random":
        memory = jax.lax.stop_gradient(initial["memory"]).astype(f32)
    else:
        memory = initial["memory"].astype(f32)
    if spec.controller == "lstm":
        ctrl = tuple(
            LSTMState(
                hidden=tile(initial["controller_hidden"][i].astype(spec.dtype)),
                cell=tile(initial["controller_cell"][i].astype(spec.dtype)),
            )
            for i in range(spec.controller_layers)
        )
    else:
        ctrl = ()
    read_vectors = tile(initial["read_vectors"].astype(f32))
    return spec.access.initial_state(spec, initial, tile(memory), read_vectors, ctrl)


# ---------------------------------------------------------------------------------------------------
# One step, and a whole sequence


def _cast(tree, dtype):
    return jax.tree.map(lambda x: jnp.asarray(x, dtype), tree)


def project_inputs(params: dict, spec: NTMSpec, inputs: jax.Array) -> jax.Array:
    """The external input's contribution to the first controller layer: ``[..., F] -> [..., G]``."""
    kernel = params["controller"]["layer_0"]["kernel"]
    if inputs.shape[-1] != kernel.shape[0]:
        raise ValueError(
            f"inputs have {inputs.shape[-1]} features, but the parameters were made for {kernel.shape[0]}"
        )
    return inputs.astype(spec.dtype) @ kernel.astype(spec.dtype)


def step_projected(params: dict, spec: NTMSpec, state, projected: jax.Array, **access_options):
    """One time step, given the projected external input.

    The controller reads the projected input and the previous read vectors; its output becomes the
    bounded interface vector, which the memory access (``spec.access``) turns into reads and writes.

    Args:
      params: all parameters.
      spec: the configuration.
      state: the state after the previous step (``NTMState``, ``DNCState``), batch dimensions ``...``.
      projected: ``[..., G]`` from :func:`project_inputs`.
      access_options: passed on to ``spec.access.step`` (the NTM's ``memory_columns``).

    Returns:
      ``(state, features [..., H + R*M], trace)``; the features feed :func:`readout`.
    """
    ctrl_params = _cast(params["controller"], spec.dtype)
    batch = state.read_vectors.shape[:-2]
    reads = state.read_vectors.reshape(*batch, spec.read_size).astype(spec.dtype)
    projected = projected + reads @ ctrl_params["layer_0"]["read_kernel"]
    h, ctrl_state = controllers.controller_step(ctrl_params, spec.controller, state.controller, projected)
    head_params = _cast(params["heads"], spec.dtype)
    raw = h @ head_params["kernel"] + head_params["bias"]
    interface = bound(raw, spec.clip_value, spec.clip_mode)
    new_state, trace = spec.access.step(spec, state, interface, **access_options)
    new_state = new_state._replace(controller=ctrl_state)
    read_vectors = new_state.read_vectors.reshape(*batch, spec.read_size).astype(spec.dtype)
    features = jnp.concatenate([h, read_vectors], axis=-1)
    return new_state, features, trace


def readout(params: dict, spec: NTMSpec, features: jax.Array) -> jax.Array:
    """Output logits, bounded by :func:`bound`: ``[..., H + R*M] -> [..., O]``."""
    out = _cast(params["output"], spec.dtype)
    logits = features @ out["kernel"] + out["bias"]
    return bound(logits, spec.clip_value, spec.clip_mode)


def step(params: dict, spec: NTMSpec, state: NTMState, x: jax.Array) -> tuple[NTMState, jax.Array]:
    """One time step: ``x [..., F]`` -> ``(state, logits [..., O])``."""
    state, features, _ = step_projected(params, spec, state, project_inputs(params, spec, x))
    return state, readout(params, spec, features)


def checkpointed_scan(body, carry, xs, chunk: int | None = None):
    """``lax.scan(body, carry, xs)`` storing the carry only every ``chunk`` steps for the backward pass.

    The sequence is cut into chunks of ``chunk`` steps (default ``ceil(sqrt(T))``); each chunk is a
    ``jax.checkpoint``-ed inner scan, so the backward pass keeps ``T / chunk`` carries plus one chunk's
    intermediates at a time instead of every step's: training memory grows like ``sqrt(T)``, for about one
    extra forward pass. Steps that pad the last chunk leave the carry unchanged and their outputs are
    dropped, so the result equals the plain scan for any ``T``.

    Args:
      body: ``(carry, x) -> (carry, y)``.
      carry: the initial carry.
      xs: a pytree of arrays with leading time axis ``T``.
      chunk: steps per chunk.

    Returns:
      ``(final_carry, ys)`` as ``lax.scan``.
    """
    length = jax.tree.leaves(xs)[0].shape[0]
    chunk = chunk or max(1, math.ceil(math.sqrt(length)))
    num_chunks = -(-length // chunk)
    pad = num_chunks * chunk - length

    def to_chunks(x):
        x = jnp.concatenate([x, jnp.zeros((pad, *x.shape[1:]), x.dtype)]) if pad else x
        return x.reshape(num_chunks, chunk, *x.shape[1:])

    valid = (jnp.arange(num_chunks * chunk) < length).reshape(num_chunks, chunk)

    def masked_body(carry, inputs):
        x, ok = inputs
        new_carry, y = body(carry, x)
        return jax.tree.map(lambda new, old: jnp.where(ok, new, old), new_carry, carry), y

    @jax.checkpoint
    def chunk_body(carry, inputs):
        return jax.lax.scan(masked_body, carry, inputs)

    carry, ys = jax.lax.scan(chunk_body, carry, (jax.tree.map(to_chunks, xs), valid))
    ys = jax.tree.map(lambda y: y.reshape(num_chunks * chunk, *y.shape[2:])[:length], ys)
    return carry, ys


def unroll(
    params: dict,
    spec: NTMSpec,
    state: NTMState,
    inputs: jax.Array,
    return_trace: bool = False,
    remat: bool = False,
) -> tuple[NTMState, jax.Array, StepTrace | None]:
    """Run a whole sequence with ``lax.scan``; time-major.

    The input projection and the output layer are applied to the whole sequence at once, outside the
    loop; the result equals calling :func:`step` at every time step.

    Args:
      params, spec: as for :func:`step`.
      state: initial state, batch dimensions ``...``.
      inputs: ``[T, ..., F]``.
      return_trace: also return the per-step :class:`StepTrace`, stacked over time.
      remat: use :func:`checkpointed_scan`, so that training memory grows like ``sqrt(T)`` rather than
        ``T``; for long sequences.

    Returns:
      ``(final_state, logits [T, ..., O], trace or None)``.
    """
    projected = project_inputs(params, spec, inputs)

    def body(carry, proj):
        carry, features, trace = step_projected(params, spec, carry, proj)
        return carry, (features, trace if return_trace else None)

    if remat:
        state, (features, trace) = checkpointed_scan(body, state, projected)
    elif getattr(spec, "memory_backward", None) == "custom" and not return_trace:
        state, features = _scan_hoisted(spec, _looped(params), state, projected)
        trace = None
    else:
        state, (features, trace) = jax.lax.scan(body, state, projected)
    return state, readout(params, spec, features), trace


# ---------------------------------------------------------------------------------------------------
# The scan with the weight gradients of its per-step products computed once, after the backward loop


def _looped(params: dict) -> dict:
    """The parameter groups the scan uses (the controller and the head layer)."""
    return {"controller": params["controller"], "heads": params["heads"]}


def _hoisted_inputs(spec, state, features: jax.Array, h_prev: jax.Array | None):
    """What the first controller layer and the head layer multiplied their weights by at each step.

    Returns ``(reads_prev [T, ..., R*M], h_prev [T, ..., H] or None, h [T, ..., H])``: the read vectors and
    the first layer's hidden state entering each step, and the controller output at each step.
    """
    h_size = spec.controller_size
    batch = state.read_vectors.shape[:-2]
    reads_0 = state.read_vectors.reshape(*batch, spec.read_size).astype(spec.dtype)
    steps = features.shape[0]  # [:steps]: none for an empty sequence
    reads_prev = jnp.concatenate([reads_0[None], features[:-1, ..., h_size:]])[:steps]
    if spec.controller == "lstm" and h_prev is None:  # one layer: its hidden state is the output
        h_0 = state.controller[0].hidden
        h_prev = jnp.concatenate([h_0[None].astype(features.dtype), features[:-1, ..., :h_size]])[:steps]
    return reads_prev, h_prev, features[..., :h_size]


def _outer_sum(a: jax.Array, b: jax.Array, dtype) -> jax.Array:
    """``sum_t a_t^T b_t`` over every leading axis: ``[..., I], [..., O] -> [I, O]`` (in float32)."""
    a = a.reshape(-1, a.shape[-1]).astype(jnp.float32)
    b = b.reshape(-1, b.shape[-1]).astype(jnp.float32)
    return (a.T @ b).astype(dtype)


def _leading_sum(x: jax.Array, dtype) -> jax.Array:
    """``[..., O] -> [O]``, summed over every leading axis (in float32)."""
    return x.reshape(-1, x.shape[-1]).astype(jnp.float32).sum(0).astype(dtype)


@functools.partial(jax.custom_vjp, nondiff_argnums=(0,))
def _scan_hoisted(spec, params: dict, state, projected: jax.Array):
    """``lax.scan`` of :func:`step_projected` over ``projected [T, ..., G]``: ``(final state, features
    [T, ..., H + R*M])``, for the controller and head groups ``params`` (:func:`_looped`).

    Its backward pass is the scan's autodiff except for the weights and biases of the first controller
    layer (``read_kernel``, ``recurrent_kernel``, ``bias``) and of the head layer: autodiff would add
    their gradient into an accumulator at every step of the backward loop, one small product each; here
    the loop gives the cotangents of those layers' outputs at every step (of ``projected``, which the
    first layer adds to its products, and of an added zero bias of the head layer) and each gradient is
    one product over the whole sequence afterwards. The numbers are autodiff's up to rounding. For the
    NTM's access the scan carries the memory in the column layout of :mod:`ntm.memory_step`
    (:func:`_in_columns`); the final state's memory is in rows, as given.
    """

    def body(carry, proj):
        carry, features, _ = step_projected(params, spec, carry, proj, **_column_options(spec))
        return carry, features

    return _in_columns(spec, lambda state: jax.lax.scan(body, state, projected), state)


def _column_options(spec) -> dict:
    """The access step's options for a state carried by :func:`_in_columns`: ``memory_columns`` for the
    NTM's access (``ntm.ntm_access``), none for another."""
    return {"memory_columns": True} if spec.access is ntm_access else {}


def _in_columns(spec, scan, state):
    """``scan(state) -> (final state, ys)`` run, for the NTM's access, on the state's memory in the column
    layout of :mod:`ntm.memory_step` (``[..., M, N]``), the final state's memory given back in rows: one
    transpose each way per sequence, where the step on rows transposes in and out at every step. Another
    access's scan runs on the state as it is."""
    if not _column_options(spec):
        return scan(state)
    columns = state._replace(memory=jnp.swapaxes(state.memory, -1, -2))
    final, ys = scan(columns)
    return final._replace(memory=jnp.swapaxes(final.memory, -1, -2)), ys


def _scan_hoisted_fwd(spec, params, state, projected):
    layer_0, head_layer = params["controller"]["layer_0"], params["heads"]
    multi_layer_lstm = spec.controller == "lstm" and spec.controller_layers > 1

    def scan(params, state, projected, head_offsets):
        # The hoisted weights are constants here (closed over), so that the loop keeps no gradient of them.
        layer = {**params["controller"]["layer_0"]}
        layer.update(
            {name: layer_0[name] for name in ("read_kernel", "recurrent_kernel", "bias") if name in layer}
        )
        controller = {**params["controller"], "layer_0": layer}

        def body(carry, xs):
            proj, offset = xs
            # The head layer's bias plus a zero offset: the offset's cotangent is the head layer's output's.
            heads_t = {"kernel": head_layer["kernel"], "bias": head_layer["bias"] + offset}
            h_prev = carry.controller[0].hidden if multi_layer_lstm else None
            carry, features, _ = step_projected(
                {"controller": controller, "heads": heads_t}, spec, carry, proj, **_column_options(spec)
            )
            return carry, (features, h_prev)

        final, (features, h_prev) = _in_columns(
            spec, lambda state: jax.lax.scan(body, state, (projected, head_offsets)), state
        )
        return (final, features), h_prev

    head_offsets = jnp.zeros(projected.shape[:-1] + head_layer["bias"].shape, head_layer["bias"].dtype)
    out, vjp, h_prev = jax.vjp(scan, params, state, projected, head_offsets, has_aux=True)
    reads_prev, h_prev, h = _hoisted_inputs(spec, state, out[1], h_prev)
    return out, (vjp, reads_prev, h_prev, h)


def _scan_hoisted_bwd(spec, saved, cotangents):
    vjp, reads_prev, h_prev, h = saved
    # The hoisted weights' cotangents from the loop are zeros (constants there) of the parameters' dtypes.
    d_params, d_state, d_projected, d_heads_out = vjp(cotangents)
    layer, heads = {**d_params["controller"]["layer_0"]}, d_params["heads"]
    layer["read_kernel"] = _outer_sum(reads_prev, d_projected, layer["read_kernel"].dtype)
    layer["bias"] = _leading_sum(d_projected, layer["bias"].dtype)
    if "recurrent_kernel" in layer:
        layer["recurrent_kernel"] = _outer_sum(h_prev, d_projected, layer["recurrent_kernel"].dtype)
    heads = {
        "kernel": _outer_sum(h, d_heads_out, heads["kernel"].dtype),
        "bias": _leading_sum(d_heads_out, heads["bias"].dtype),
    }
    d_params = {"controller": {**d_params["controller"], "layer_0": layer}, "heads": heads}
    return d_params, d_state, d_projected


_scan_hoisted.defvjp(_scan_hoisted_fwd, _scan_hoisted_bwd)


def unroll_batch_major(
    pure, params: dict, spec, inputs: jax.Array, initial_state=None, return_trace=False, remat=False
):
    """``pure.unroll`` (``ntm.core`` or ``ntm.baseline``) on batch-major inputs, for the Flax cells.

    Args:
      pure: the module whose ``initial_state`` and ``unroll`` to use.
      params, spec: its parameters and spec.
      inputs: ``[..., T, F]``.
      initial_state: defaults to the learned initial state in ``params["initial"]``.
      return_trace, remat: as for :func:`unroll`.

    Returns:
      ``(final_state, logits [..., T, O], trace with fields [..., T, ...] or None)``.
    """
    if inputs.ndim < 2:
        raise ValueError(f"inputs must be [..., T, F], got shape {inputs.shape}")
    batch_shape = inputs.shape[:-2]
    if initial_state is None:
        initial_state = pure.initial_state(spec, params["initial"], batch_shape)
    state, logits, trace = pure.unroll(
        params, spec, initial_state, jnp.moveaxis(inputs, -2, 0), return_trace, remat=remat
    )
    if trace is not None:
        trace = jax.tree.map(lambda x: jnp.moveaxis(x, 0, len(batch_shape)), trace)
    return state, jnp.moveaxis(logits, 0, -2), trace
