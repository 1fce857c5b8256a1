"""Flax Linen cells over the pure core: :class:`NTMCell`, :class:`DNCCell`, :class:`StackedLSTMCell` and
:class:`Sequence`.

Example, an NTM inside your own model::

    import flax.linen as nn
    import ntm

    class Model(nn.Module):
        @nn.compact
        def __call__(self, x):                                # x: [batch, time, features]
            cell = ntm.NTMCell(output_size=8, memory_size=32, word_size=8)
            carry = cell.initial_state(x.shape[:1])           # learned initial state
            return nn.RNN(cell)(x, initial_carry=carry)       # [batch, time, 8]
"""

from __future__ import annotations

import dataclasses
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from ntm import baseline, core, dnc_access


class _PureCell(nn.RNNCellBase):
    """Shared plumbing: a Linen cell whose maths is a pure module (``ntm.core`` or ``ntm.baseline``)."""

    # Subclasses set these: the pure module and its spec dataclass, whose fields the cell repeats.
    _pure = None
    _spec_type = None

    @property
    def spec(self):
        """The cell's static configuration, as the pure module's spec."""
        fields = {f.name for f in dataclasses.fields(self._spec_type)}
        return self._spec_type(**{name: getattr(self, name) for name in fields})

    @nn.compact
    def _params(self, input_size: int | None) -> dict:
        """Creates (at init) or fetches the parameter groups; without ``input_size`` only ``initial``.

        This is the cell's one compact method, so that ``__call__``, :meth:`initial_state` and
        :meth:`unroll` can all be called from a parent module and share the same parameters.
        """
        spec = self.spec
        params = {}
        for name in self._pure.PARAM_GROUPS:
            if name == "initial":
                init = lambda key: self._pure.init_initial(spec, key, self.param_dtype)  # noqa: E731
            elif input_size is None:
                # Linen's param() traces its initialiser to check shapes, which needs input_size.
                if self.has_variable("params", name):
                    params[name] = self.get_variable("params", name)
                continue
            else:
                self._check_input_size(input_size)
                init = lambda key, name=name: self._pure.init_params(  # noqa: E731
                    spec, key, input_size, self.param_dtype
                )[name]
            params[name] = self.param(name, init)
        return params

    def _check_input_size(self, input_size: int) -> None:
        if not self.has_variable("params", "controller"):
            return
        # The first layer's external-input kernel, in the NTM's and the baseline's layouts alike.
        expected = self.get_variable("params", "controller")["layer_0"]["kernel"].shape[0]
        if input_size != expected:
            raise ValueError(
                f"inputs have {input_size} features, but the parameters were made for {expected}"
            )

    def __call__(self, carry, x: jax.Array):
        """One time step.

        Args:
          carry: the state (``NTMState`` for the NTM), batch dimensions ``...``.
          x: ``[..., F]``.

        Returns:
          ``(carry, logits [..., O])``.
        """
        return self._pure.step(self._params(x.shape[-1]), self.spec, carry, x)

    def initial_state(self, batch_shape: tuple[int, ...]):
        """The learned initial state, broadcast to ``batch_shape`` (creates the ``initial`` params)."""
        initial = self._params(None)["initial"]
        return self._pure.initial_state(self.spec, initial, tuple(batch_shape))

    @nn.nowrap
    def initialize_carry(self, rng: jax.Array, input_shape: tuple[int, ...]):
        """The initial state at the learned biases' starting values, for ``input_shape = (..., F)``.

        Linen's ``initialize_carry`` cannot read parameters, so this is what a run gets before any
        training; use :meth:`initial_state` for the learned one.
        """
        initial = self._pure.init_initial(self.spec, rng, self.param_dtype)
        return self._pure.initial_state(self.spec, initial, tuple(input_shape[:-1]))

    @property
    def num_feature_axes(self) -> int:
        return 1

    def unroll(self, inputs: jax.Array, initial_state=None, return_trace: bool = False, remat: bool = False):
        """Run a whole sequence in one ``lax.scan``.

        Args:
          inputs: ``[..., T, F]``, batch-major.
          initial_state: defaults to :meth:`initial_state`.
          return_trace: also return the per-step trace, ``[..., T, ...]`` per field.
          remat: checkpoint the scan in chunks of sqrt(T) steps, so that training memory grows like
            sqrt(T) (``ntm.core.checkpointed_scan``); for long sequences.

        Returns:
          ``(final_state, logits [..., T, O], trace or None)``.
        """
        params = self._params(inputs.shape[-1] if inputs.ndim else None)
        return core.unroll_batch_major(
            self._pure, params, self.spec, inputs, initial_state, return_trace, remat
        )


class NTMCell(_PureCell):
    """A Neural Turing Machine (Graves et al. 2014) as a Flax Linen recurrent cell.

    Works inside ``nn.RNN`` (with ``seq_lengths``), ``nn.scan``, ``jax.jit``, ``jax.grad`` and
    ``jax.vmap``, with any number of leading batch dimensions. The carry is an :class:`ntm.NTMState`.

    Learned initial state: Linen's ``initialize_carry`` cannot create parameters, so it returns the
    values the learned initial state starts from. To train the initial read vectors, weightings,
    controller state (and memory, for ``memory_init="learned"``), call ``cell.initial_state(batch_shape)``
    inside your module and pass it on: ``nn.RNN(cell)(x, initial_carry=cell.initial_state(x.shape[:1]))``.
    :class:`Sequence` does this for you. Memory is reset to its initial value for every sequence
    started this way; to carry memory across sequences, pass the final carry back in as the initial one.

    Attributes:
      output_size: O, the number of output logits per step.
      memory_size: N, memory rows.
      word_size: M, row width.
      num_read_heads: R.
      num_write_heads: W.
      shift_range: S, the largest shift a head may make.
      controller: ``"lstm"`` or ``"feedforward"``.
      controller_size: units per controller layer.
      controller_layers: number of controller layers.
      clip_value: bound of the raw head parameters and the output logits.
      clip_mode: ``"hard"`` (clip) or ``"tanh"`` (smooth; see :func:`ntm.core.bound`).
      memory_init: ``"constant"``, ``"learned"`` or ``"random"`` (see :class:`ntm.core.NTMSpec`).
      memory_init_value: the constant for ``memory_init="constant"``.
      dtype: computation dtype of the controller and output; addressing and memory stay float32.
      memory_backward: how the memory side of each step is differentiated: ``"custom"`` (a hand-written
        backward pass), ``"remat"`` (autodiff, recomputing the step) or ``"autodiff"``; the same numbers
        up to rounding (see :class:`ntm.core.NTMSpec`).
      param_dtype: parameter dtype.
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
    param_dtype: Any = jnp.float32

    _pure = core
    _spec_type = core.NTMSpec


class StackedLSTMCell(_PureCell):
    """The stacked-LSTM baseline with a linear output, as a Linen cell with the NTM cell's interface.

    Attributes:
      output_size: O.
      hidden_size: units per layer.
      num_layers: number of layers.
      clip_value: bound of the output logits.
      clip_mode: ``"hard"`` or ``"tanh"``.
      dtype, param_dtype: computation and parameter dtypes.
    """

    output_size: int
    hidden_size: int = 256
    num_layers: int = 3
    clip_value: float = 20.0
    clip_mode: str = "tanh"
    dtype: Any = jnp.float32
    param_dtype: Any = jnp.float32

    _pure = baseline
    _spec_type = baseline.LSTMSpec


class Sequence(nn.Module):
    """A whole-sequence model: runs ``cell`` over ``[..., T, F]`` from its learned initial state.

    Attributes:
      cell: an :class:`NTMCell`, :class:`DNCCell` or :class:`StackedLSTMCell`.
      remat: recompute each time step in the backward pass (see :meth:`NTMCell.unroll`).
    """

    cell: _PureCell
    remat: bool = False

    def __call__(self, inputs: jax.Array, return_trace: bool = False):
        """Returns ``logits [..., T, O]``, and the per-step trace too if ``return_trace``."""
        _, logits, trace = self.cell.unroll(inputs, return_trace=return_trace, remat=self.remat)
        return (logits, trace) if return_trace else logits


class DNCCell(_PureCell):
    """A Differentiable Neural Computer (Graves et al. 2016) as a Flax Linen recurrent cell.

    The NTM cell's core (controller, output layer, learned initial state) with the DNC's memory access
    (``ntm.dnc_access``): one write head that allocates free rows or writes by content, R read heads that
    read by content or along the temporal links. The interface of :class:`NTMCell` (``nn.RNN``, ``jit``,
    ``grad``, ``vmap``, :meth:`initial_state`, :meth:`unroll`); the carry is an :class:`ntm.DNCState`,
    the trace an :class:`ntm.state.DNCTrace` (usage and read modes as well as the weightings).

    Attributes:
      output_size, memory_size, word_size, num_read_heads, controller, controller_size,
      controller_layers, clip_value, clip_mode, memory_init, memory_init_value, dtype, param_dtype: as for
        :class:`NTMCell` (see :class:`ntm.dnc_access.DNCSpec`).
    """

    output_size: int
    memory_size: int = 128
    word_size: int = 20
    num_read_heads: int = 1
    controller: str = "lstm"
    controller_size: int = 100
    controller_layers: int = 1
    clip_value: float = 20.0
    clip_mode: str = "tanh"
    memory_init: str = "constant"
    memory_init_value: float = 1e-6
    dtype: Any = jnp.float32
    param_dtype: Any = jnp.float32

    _pure = core
    _spec_type = dnc_access.DNCSpec
