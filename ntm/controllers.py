"""Controllers as pure functions over parameter dicts: a stacked LSTM and a feedforward network.

A controller's parameters are ``{"layer_0": {...}, "layer_1": {...}, ...}``; each LSTM layer has
``kernel [in, 4H]``, ``recurrent_kernel [H, 4H]`` and ``bias [4H]`` (gates in the order input, forget,
cell, output), each feedforward layer ``kernel [in, H]`` and ``bias [H]`` with a tanh. The NTM's first
layer also has a ``read_kernel`` for the read vectors (see ``ntm.core``); this module never reads it.

The first layer's input projection is passed in already computed (``projected [..., 4H]`` or
``[..., H]``), so that a caller can compute the part that depends only on the external input for a whole
sequence in one matrix product, outside the time loop.
"""

from __future__ import annotations

from typing import Literal

import jax
import jax.numpy as jnp

from ntm.state import ControllerState, LSTMState

ControllerKind = Literal["lstm", "feedforward"]
CONTROLLERS = ("lstm", "feedforward")

# Added to the forget gate's bias at initialisation, so that the cell state is kept by default.
FORGET_BIAS = 1.0


def gate_width(kind: str, size: int) -> int:
    """Width of one layer's pre-activation: 4H for an LSTM (four gates), H for feedforward."""
    return 4 * size if kind == "lstm" else size


def init_controller(
    key: jax.Array, kind: str, input_size: int, size: int, num_layers: int, dtype=jnp.float32
) -> dict:
    """Initial parameters: LeCun-normal kernels, orthogonal recurrent kernels, zero biases.

    Args:
      key: PRNG key.
      kind: ``"lstm"`` or ``"feedforward"``.
      input_size: width of the first layer's input.
      size: H, the width of every layer.
      num_layers: number of stacked layers.
    """
    params = {}
    width = gate_width(kind, size)
    for i, k in enumerate(jax.random.split(key, num_layers)):
        k_in, k_rec = jax.random.split(k)
        fan_in = input_size if i == 0 else size
        # Drawn in float32 (the orthogonal initialiser needs a QR that bfloat16 lacks), then cast.
        layer = {
            "kernel": jax.nn.initializers.lecun_normal()(k_in, (fan_in, width)),
            "bias": jnp.zeros((width,)),
        }
        if kind == "lstm":
            layer["recurrent_kernel"] = jax.nn.initializers.orthogonal()(k_rec, (size, width))
            layer["bias"] = layer["bias"].at[size : 2 * size].set(FORGET_BIAS)
        layer = {name: value.astype(dtype) for name, value in layer.items()}
        params[f"layer_{i}"] = layer
    return params


def lstm_layer(params: dict, state: LSTMState, projected: jax.Array) -> LSTMState:
    """One LSTM layer: gates = projected + h W_h + b; c = f c + i g; h = o tanh(c).

    Args:
      params: ``{"recurrent_kernel": [H, 4H], "bias": [4H]}`` (the kernel is already applied).
      state: ``LSTMState`` with fields ``[..., H]``.
      projected: ``[..., 4H]``, the layer's input times its kernel.

    Returns:
      The new ``LSTMState``; its ``hidden`` is the layer's output.
    """
    return lstm_update(state, lstm_gates(params, state, projected))


def lstm_gates(params: dict, state: LSTMState, projected: jax.Array) -> tuple[jax.Array, ...]:
    """The gate activations of :func:`lstm_layer`: ``(sigmoid(i), sigmoid(f), tanh(g), sigmoid(o))``, each
    ``[..., H]``, from ``gates = projected + h W_h + b``."""
    gates = projected + state.hidden @ params["recurrent_kernel"] + params["bias"]
    i, f, g, o = jnp.split(gates, 4, axis=-1)
    return jax.nn.sigmoid(i), jax.nn.sigmoid(f), jnp.tanh(g), jax.nn.sigmoid(o)


def lstm_update(state: LSTMState, gates: tuple[jax.Array, ...]) -> LSTMState:
    """The new state from the gate activations (:func:`lstm_gates`): c = f c + i g; h = o tanh(c)."""
    i, f, g, o = gates
    cell = f * state.cell + i * g
    return LSTMState(hidden=o * jnp.tanh(cell), cell=cell)


def feedforward_layer(params: dict, projected: jax.Array) -> jax.Array:
    """One feedforward layer: h = tanh(x W + b), with ``projected = x W`` given; ``[..., H]``."""
    return jnp.tanh(projected + params["bias"])


def controller_step(
    params: dict, kind: str, state: ControllerState, projected: jax.Array
) -> tuple[jax.Array, ControllerState]:
    """Run every layer of the controller for one time step.

    Args:
      params: the controller's parameter dict.
      kind: ``"lstm"`` or ``"feedforward"``.
      state: one ``LSTMState`` per layer, or ``()`` for feedforward.
      projected: ``[..., 4H]`` or ``[..., H]``, the first layer's input times its kernel.

    Returns:
      ``(output [..., H], new_state)``.
    """
    num_layers = len(params)
    new_state = []
    h = None
    for i in range(num_layers):
        layer = params[f"layer_{i}"]
        if i > 0:
            projected = h @ layer["kernel"]
        if kind == "lstm":
            layer_state = lstm_layer(layer, state[i], projected)
            new_state.append(layer_state)
            h = layer_state.hidden
        else:
            h = feedforward_layer(layer, projected)
    return h, tuple(new_state)


# --------------------------------------------------------------------------------------------------
# One LSTM layer over a whole sequence, with a hand-written backward pass


def _lstm_forward(recurrent_kernel, bias, state: LSTMState, projected):
    """The scan of :func:`lstm_sequence`; also returns what its backward pass needs.

    Returns ``(final_state, hiddens [T, ..., H], residuals)`` with residuals ``(previous hidden
    [T, ..., H], previous cell [T, ..., H], gate activations [T, ..., 4H], tanh of the cell [T, ..., H])``.
    """
    params = {"recurrent_kernel": recurrent_kernel, "bias": bias}

    def body(carry, proj):
        gates = lstm_gates(params, carry, proj)
        new = lstm_update(carry, gates)
        acts = jnp.concatenate(gates, -1)
        return new, (new.hidden, (carry.hidden, carry.cell, acts, jnp.tanh(new.cell)))

    final, (hiddens, residuals) = jax.lax.scan(body, state, projected)
    return final, hiddens, residuals


@jax.custom_vjp
def _lstm_sequence(recurrent_kernel, bias, state: LSTMState, projected):
    final, hiddens, _ = _lstm_forward(recurrent_kernel, bias, state, projected)
    return final, hiddens


def _lstm_sequence_fwd(recurrent_kernel, bias, state, projected):
    final, hiddens, residuals = _lstm_forward(recurrent_kernel, bias, state, projected)
    return (final, hiddens), (recurrent_kernel, residuals)


def _lstm_sequence_bwd(saved, cotangents):
    """Backward through time for the gates only; the weights' cotangents are one product each after it.

    JAX's transpose of a scan adds each step's outer product ``h_{t-1}^T dgates_t`` into the recurrent
    kernel's cotangent inside the loop (a read and a write of ``[H, 4H]`` per step); here the loop emits
    ``dgates [T, ..., 4H]`` and one matrix product over all steps gives the kernel's cotangent.
    """
    recurrent_kernel, (h_prev, c_prev, acts, tanh_c) = saved
    d_final, d_hiddens = cotangents

    def body(carry, step):
        dh, dc = carry
        dh_out, h_p, c_p, act, tc = step
        i, f, g, o = jnp.split(act, 4, axis=-1)
        dh = dh + dh_out
        dc = dc + dh * o * (1 - tc * tc)  # h = o tanh(c)
        d_gates = jnp.concatenate(
            [dc * g * i * (1 - i), dc * c_p * f * (1 - f), dc * i * (1 - g * g), dh * tc * o * (1 - o)], -1
        )
        return (d_gates @ recurrent_kernel.T, dc * f), d_gates

    (dh0, dc0), d_gates = jax.lax.scan(
        body, (d_final.hidden, d_final.cell), (d_hiddens, h_prev, c_prev, acts, tanh_c), reverse=True
    )
    flat_gates = d_gates.reshape(-1, d_gates.shape[-1])  # [T * batch, 4H]
    d_kernel = h_prev.reshape(-1, h_prev.shape[-1]).T @ flat_gates
    d_bias = jnp.sum(flat_gates, axis=0)
    return d_kernel, d_bias, LSTMState(hidden=dh0, cell=dc0), d_gates


_lstm_sequence.defvjp(_lstm_sequence_fwd, _lstm_sequence_bwd)


def lstm_sequence(params: dict, state: LSTMState, projected: jax.Array) -> tuple[LSTMState, jax.Array]:
    """One LSTM layer (:func:`lstm_layer`) over a whole time-major sequence.

    The same values as scanning :func:`lstm_layer`; its gradient is computed by a hand-written backward
    pass that makes the recurrent kernel's cotangent one matrix product over all steps instead of one
    outer product per step (the 3 x 256 baseline's gradient on one 200-step n-gram sequence: 111 ms with
    autodiff of one scan over all layers, 29 ms this way, on a 2-core CPU; ``tests/test_baseline.py``
    checks it against autodiff of the plain scan in float64). It keeps ``O(T H)`` values for the backward,
    as autodiff of a scan does; :func:`ntm.baseline.unroll` with ``remat`` uses the stepwise scan instead.

    Args:
      params: ``{"recurrent_kernel": [H, 4H], "bias": [4H]}``.
      state: the initial ``LSTMState``, fields ``[..., H]``.
      projected: ``[T, ..., 4H]``, the layer's input times its kernel, per step.

    Returns:
      ``(final_state, hiddens [T, ..., H])``.
    """
    batch_shape = projected.shape[1:-1]
    for name, value in zip(LSTMState._fields, state, strict=True):
        if jnp.broadcast_shapes(value.shape[:-1], batch_shape) != batch_shape:
            raise ValueError(
                f"lstm_sequence: the state's {name} {value.shape} does not broadcast to the sequence's "
                f"batch shape {batch_shape} (projected {projected.shape}, time first)"
            )
    # One dtype throughout (the hand-written backward returns cotangents in it).
    state = LSTMState(
        *(jnp.broadcast_to(s, batch_shape + s.shape[-1:]).astype(projected.dtype) for s in state)
    )
    kernel, bias = (params[k].astype(projected.dtype) for k in ("recurrent_kernel", "bias"))
    return _lstm_sequence(kernel, bias, state, projected)
