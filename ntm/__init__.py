"""Neural Turing Machines in JAX.

The maths lives in pure functions: one core (``ntm.core``: controller, output layer, learned initial
state, scan) and two memory access modules, the NTM's (``ntm.ntm_access`` over ``ntm.heads``,
``ntm.addressing``, ``ntm.memory``) and the DNC's (``ntm.dnc_access`` over ``ntm.dnc``).
``ntm.NTMCell``/``ntm.DNCCell`` (Flax Linen) and ``ntm.nnx.NTMCell``/``ntm.nnx.DNCCell`` (Flax NNX) wrap
them as recurrent cells.
"""

from ntm import addressing, baseline, controllers, core, dnc, dnc_access, heads, memory, ntm_access
from ntm.compiler import compiler_options
from ntm.core import NTMSpec
from ntm.dnc_access import DNCSpec
from ntm.linen import DNCCell, NTMCell, Sequence, StackedLSTMCell
from ntm.state import (
    DNCInterface,
    DNCState,
    DNCTrace,
    LSTMState,
    NTMState,
    ReadHeadParams,
    StepTrace,
    WriteHeadParams,
)

__version__ = "0.1.0"

__all__ = [
    "DNCCell",
    "DNCInterface",
    "DNCSpec",
    "DNCState",
    "DNCTrace",
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
    "dnc_access",
    "heads",
    "memory",
    "ntm_access",
]
