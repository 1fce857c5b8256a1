"""Flax NNX cells over the same pure core as the Linen ones.

Example::

    from flax import nnx
    import ntm.nnx

    cell = ntm.nnx.NTMCell(in_features=9, output_size=8, rngs=nnx.Rngs(0))
    rnn = nnx.RNN(cell)
    logits = rnn(x)                                   # x: [batch, time, 9] -> [batch, time, 8]

Unlike Linen, NNX's ``initialize_carry`` can read parameters, so ``nnx.RNN`` starts every sequence from
the learned initial state. The parameter tree equals the Linen cell's ``params`` collection.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from flax import nnx

from ntm import baseline, core, dnc_access


class _PureCell(nnx.RNNCellBase):
    _pure = None

    def __init__(self, spec, in_features: int, param_dtype, rngs: nnx.Rngs):
        self.spec = spec
        self.in_features = in_features
        values = self._pure.init_params(spec, rngs.params(), in_features, param_dtype)
        self.params = nnx.data(jax.tree.map(nnx.Param, values))

    def param_values(self) -> dict:
        """The parameters as a plain dict of arrays (the Linen cell's ``params`` layout)."""
        return jax.tree.map(lambda p: p[...], self.params, is_leaf=lambda x: isinstance(x, nnx.Variable))

    def __call__(self, carry, x: jax.Array):
        """One step: ``(carry, x [..., F]) -> (carry, logits [..., O])``."""
        return self._pure.step(self.param_values(), self.spec, carry, x)

    def initialize_carry(self, input_shape: tuple[int, ...], rngs=None, carry_init=None):
        """The learned initial state for ``input_shape = (..., F)``."""
        del rngs, carry_init
        initial = self.param_values()["initial"]
        return self._pure.initial_state(self.spec, initial, tuple(input_shape[:-1]))

    @property
    def num_feature_axes(self) -> int:
        return 1

    def unroll(self, inputs: jax.Array, initial_state=None, return_trace: bool = False, remat: bool = False):
        """Run ``inputs [..., T, F]`` in one ``lax.scan``; see ``ntm.NTMCell.unroll``."""
        return core.unroll_batch_major(
            self._pure, self.param_values(), self.spec, inputs, initial_state, return_trace, remat
        )


class NTMCell(_PureCell):
    """A Neural Turing Machine as a Flax NNX recurrent cell; see ``ntm.NTMCell`` for the attributes.

    Args:
      in_features: F, input features per step.
      output_size: O.
      rngs: ``nnx.Rngs`` for the parameter initialisation.
      param_dtype: parameter dtype.
      options: any other field of :class:`ntm.core.NTMSpec` (``memory_size``, ``word_size``, ...), with
        its default there.
    """

    _pure = core

    def __init__(
        self,
        in_features: int,
        output_size: int,
        *,
        param_dtype: Any = jnp.float32,
        rngs: nnx.Rngs,
        **options,
    ):
        spec = core.NTMSpec(output_size=output_size, **options)
        super().__init__(spec, in_features, param_dtype, rngs)


class DNCCell(_PureCell):
    """A Differentiable Neural Computer as a Flax NNX recurrent cell; see ``ntm.DNCCell``.

    Args:
      in_features: F, input features per step.
      output_size: O.
      rngs: ``nnx.Rngs`` for the parameter initialisation.
      param_dtype: parameter dtype.
      options: any other field of :class:`ntm.dnc_access.DNCSpec`, with its default there.
    """

    _pure = core

    def __init__(
        self,
        in_features: int,
        output_size: int,
        *,
        param_dtype: Any = jnp.float32,
        rngs: nnx.Rngs,
        **options,
    ):
        spec = dnc_access.DNCSpec(output_size=output_size, **options)
        super().__init__(spec, in_features, param_dtype, rngs)


class StackedLSTMCell(_PureCell):
    """The stacked-LSTM baseline as an NNX cell; see ``ntm.StackedLSTMCell``."""

    _pure = baseline

    def __init__(
        self,
        in_features: int,
        output_size: int,
        *,
        hidden_size: int = 256,
        num_layers: int = 3,
        clip_value: float = 20.0,
        clip_mode: str = "tanh",
        dtype: Any = jnp.float32,
        param_dtype: Any = jnp.float32,
        rngs: nnx.Rngs,
    ):
        spec = baseline.LSTMSpec(output_size, hidden_size, num_layers, clip_value, clip_mode, dtype)
        super().__init__(spec, in_features, param_dtype, rngs)
