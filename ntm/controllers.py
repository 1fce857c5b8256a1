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
    gates = projected + state.hidden @ params["recurrent_kernel"] + params["bias"]
    i, f, g, o = jnp.split(gates, 4, axis=-1)
    cell = jax.nn.sigmoid(f) * state.cell + jax.nn.sigmoid(i) * jnp.tanh(g)
    hidden = jax.nn.sigmoid(o) * jnp.tanh(cell)
    return LSTMState(hidden=hidden, cell=cell)


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
