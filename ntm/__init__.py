"""Neural Turing Machines in JAX.

The maths lives in pure functions (``ntm.addressing``, ``ntm.memory``, ``ntm.heads``, ``ntm.core``);
``ntm.NTMCell`` (Flax Linen) and ``ntm.nnx.NTMCell`` (Flax NNX) wrap them as recurrent cells.
"""

from ntm import addressing, baseline, controllers, core, dnc, heads, memory
from ntm.compiler import compiler_options
from ntm.core import NTMSpec
from ntm.linen import NTMCell, Sequence, StackedLSTMCell
from ntm.state import LSTMState, NTMState, ReadHeadParams, StepTrace, WriteHeadParams

__version__ = "0.1.0"

__all__ = [
    "LSTMState",
    "NTMCell",
    "NTMSpec",
    "NTMState",
    "ReadHeadParams",
    "Sequence",
    "StackedLSTMCell",
    "StepTrace",
    "WriteHeadParams",
    "addressing",
    "baseline",
    "compiler_options",
    "controllers",
    "core",
    "dnc",
    "heads",
    "memory",
]
