"""The stacked-LSTM baseline of the paper's comparisons, as pure functions with the NTM core's API.

Parameters::

    {
      "controller": {"layer_0": {...}, ...},                 # see ntm.controllers
      "output": {"kernel": [H, O], "bias": [O]},
      "initial": {"controller_hidden": [L, H], "controller_cell": [L, H]},
    }
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp

from ntm import controllers
from ntm.core import _cast, _check_positive, _dense, bound, check_clip, checkpointed_scan
from ntm.state import ControllerState, LSTMState

PARAM_GROUPS = ("controller", "output", "initial")


@dataclasses.dataclass(frozen=True)
class LSTMSpec:
    """Static configuration of the baseline.

    Attributes:
      output_size: O, the width of the output logits.
      hidden_size: H, units per layer (the paper's copy baseline: 256).
      num_layers: L (the paper: 3).
      clip_value: output logits are kept within ``+-clip_value``.
      clip_mode: ``"hard"`` or ``"tanh"`` (:func:`ntm.core.bound`).
      dtype: computation dtype.
    """

    output_size: int
    hidden_size: int = 256
    num_layers: int = 3
    clip_value: float = 20.0
    clip_mode: str = "tanh"
    dtype: Any = jnp.float32

    def __post_init__(self):
        _check_positive("output_size", self.output_size)
        _check_positive("hidden_size", self.hidden_size)
        _check_positive("num_layers", self.num_layers)
        check_clip(self.clip_value, self.clip_mode)


def init_initial(spec: LSTMSpec, key: jax.Array, dtype=jnp.float32) -> dict:
    """Initial values of the learned initial state (zeros)."""
    del key
    shape = (spec.num_layers, spec.hidden_size)
    return {
        "controller_hidden": jnp.zeros(shape, dtype),
        "controller_cell": jnp.zeros(shape, dtype),
    }


def init_params(spec: LSTMSpec, key: jax.Array, input_size: int, dtype=jnp.float32) -> dict:
    """All parameters of the baseline for ``input_size`` input features."""
    _check_positive("input_size", input_size)
    k_ctrl, k_out, k_init = jax.random.split(key, 3)
    return {
        "controller": controllers.init_controller(
            k_ctrl, "lstm", input_size, spec.hidden_size, spec.num_layers, dtype
        ),
        "output": _dense(k_out, spec.hidden_size, spec.output_size, dtype),
        "initial": init_initial(spec, k_init, dtype),
    }


def initial_state(spec: LSTMSpec, initial: dict, batch_shape: tuple[int, ...]) -> ControllerState:
    """One ``LSTMState`` per layer, broadcast to ``batch_shape``."""
    batch_shape = tuple(batch_shape)
    return tuple(
        LSTMState(
            hidden=jnp.broadcast_to(
                initial["controller_hidden"][i], batch_shape + (spec.hidden_size,)
            ).astype(spec.dtype),
            cell=jnp.broadcast_to(initial["controller_cell"][i], batch_shape + (spec.hidden_size,)).astype(
                spec.dtype
            ),
        )
        for i in range(spec.num_layers)
    )


def _readout(params: dict, spec: LSTMSpec, h: jax.Array) -> jax.Array:
    out = _cast(params["output"], spec.dtype)
    return bound(h @ out["kernel"] + out["bias"], spec.clip_value, spec.clip_mode)


def _project(params: dict, spec: LSTMSpec, inputs: jax.Array) -> jax.Array:
    kernel = params["controller"]["layer_0"]["kernel"]
    if inputs.shape[-1] != kernel.shape[0]:
        raise ValueError(
            f"inputs have {inputs.shape[-1]} features, but the parameters were made for {kernel.shape[0]}"
        )
    return inputs.astype(spec.dtype) @ kernel.astype(spec.dtype)


def step(params: dict, spec: LSTMSpec, state: ControllerState, x: jax.Array):
    """One time step: ``x [..., F]`` -> ``(state, logits [..., O])``."""
    ctrl = _cast(params["controller"], spec.dtype)
    h, state = controllers.controller_step(ctrl, "lstm", state, _project(params, spec, x))
    return state, _readout(params, spec, h)


def unroll(
    params: dict, spec: LSTMSpec, state, inputs: jax.Array, return_trace: bool = False, remat: bool = False
):
    """A whole time-major sequence ``[T, ..., F]``; returns ``(state, logits [T, ..., O], None)``.

    Runs one layer at a time over the whole sequence (:func:`ntm.controllers.lstm_sequence`), so that each
    layer's input projection is one matrix product outside the time loop and the recurrent kernels'
    gradients one product each after it. The baseline has no memory, so its trace is always ``None``.
    ``remat``: as in ``ntm.core.unroll``, all layers step by step in one :func:`ntm.core.checkpointed_scan`,
    so that training memory grows like ``sqrt(T)`` (slower: each step is recomputed, and the kernels'
    gradients are summed inside the loop).
    """
    del return_trace
    ctrl = _cast(params["controller"], spec.dtype)
    if remat:

        def body(carry, proj):
            h, carry = controllers.controller_step(ctrl, "lstm", carry, proj)
            return carry, h

        state, hs = checkpointed_scan(body, state, _project(params, spec, inputs))
        return state, _readout(params, spec, hs), None
    sequence = _project(params, spec, inputs)
    final = []
    for i in range(spec.num_layers):
        layer = ctrl[f"layer_{i}"]
        if i > 0:
            sequence = sequence @ layer["kernel"]
        layer_state, sequence = controllers.lstm_sequence(layer, state[i], sequence)
        final.append(layer_state)
    return tuple(final), _readout(params, spec, sequence), None
