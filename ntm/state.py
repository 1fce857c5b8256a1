"""Typed state carried from one time step to the next, and the head parameters of one step.

Shapes use ``...`` for any number of leading batch dimensions, N for memory rows, M for the word size,
R and W for the numbers of read and write heads, S for the shift range and H for the controller size.
"""

from __future__ import annotations

from typing import NamedTuple

import jax


class LSTMState(NamedTuple):
    """State of one LSTM layer."""

    hidden: jax.Array  # [..., H]
    cell: jax.Array  # [..., H]


# One LSTMState per layer for an LSTM controller; the empty tuple for a feedforward one.
ControllerState = tuple[LSTMState, ...]


class NTMState(NamedTuple):
    """Everything an NTM carries between time steps. Memory and weightings are always float32."""

    memory: jax.Array  # [..., N, M]
    read_weights: jax.Array  # [..., R, N], each head's weighting after the last step
    write_weights: jax.Array  # [..., W, N]
    read_vectors: jax.Array  # [..., R, M], what each read head read at the last step
    controller: ControllerState


class ReadHeadParams(NamedTuple):
    """Parameters of all read heads at one step, after their activations."""

    key: jax.Array  # [..., R, M], tanh
    strength: jax.Array  # [..., R], softplus, >= 0
    gate: jax.Array  # [..., R], sigmoid, in (0, 1)
    shift: jax.Array  # [..., R, 2S+1], softmax over allowed shifts
    gamma: jax.Array  # [..., R], 1 + softplus, >= 1


class WriteHeadParams(NamedTuple):
    """Parameters of all write heads at one step, after their activations."""

    key: jax.Array  # [..., W, M]
    strength: jax.Array  # [..., W]
    gate: jax.Array  # [..., W]
    shift: jax.Array  # [..., W, 2S+1]
    gamma: jax.Array  # [..., W]
    erase: jax.Array  # [..., W, M], sigmoid, in (0, 1)
    add: jax.Array  # [..., W, M], tanh


class StepTrace(NamedTuple):
    """What one step did to memory, for plots (stacked over time by ``unroll(return_trace=True)``)."""

    read_weights: jax.Array  # [..., R, N]
    write_weights: jax.Array  # [..., W, N]
    erase: jax.Array  # [..., W, M]
    add: jax.Array  # [..., W, M]
    read_vectors: jax.Array  # [..., R, M]
    memory: jax.Array  # [..., N, M], after the write


class DNCState(NamedTuple):
    """Everything a Differentiable Neural Computer carries between time steps (one write head)."""

    memory: jax.Array  # [..., N, M]
    usage: jax.Array  # [..., N], u_t in [0, 1]
    links: jax.Array  # [..., N, N], L_t[i, j]: row i was written just after row j; zero diagonal
    precedence: jax.Array  # [..., N], p_t: how much each row was the last one written
    read_weights: jax.Array  # [..., R, N], each read head's weighting after the last step
    write_weights: jax.Array  # [..., N], the write head's weighting after the last step
    read_vectors: jax.Array  # [..., R, M], what each read head read at the last step
    controller: ControllerState


class DNCInterface(NamedTuple):
    """The DNC's interface vector at one step, after its activations (Graves et al. 2016, Methods)."""

    read_keys: jax.Array  # [..., R, M], unconstrained
    read_strengths: jax.Array  # [..., R], oneplus, >= 1
    write_key: jax.Array  # [..., M], unconstrained
    write_strength: jax.Array  # [...], oneplus, >= 1
    erase: jax.Array  # [..., M], sigmoid, in (0, 1)
    write_vector: jax.Array  # [..., M], unconstrained
    free_gates: jax.Array  # [..., R], sigmoid
    allocation_gate: jax.Array  # [...], sigmoid
    write_gate: jax.Array  # [...], sigmoid
    read_modes: jax.Array  # [..., R, 3], softmax over (backward, content, forward)


class DNCTrace(NamedTuple):
    """What one DNC step did, for plots; the NTM's :class:`StepTrace` fields (with W = 1) and more."""

    read_weights: jax.Array  # [..., R, N]
    write_weights: jax.Array  # [..., 1, N]
    erase: jax.Array  # [..., 1, M]
    add: jax.Array  # [..., 1, M], the write vector
    read_vectors: jax.Array  # [..., R, M]
    memory: jax.Array  # [..., N, M], after the write
    usage: jax.Array  # [..., N], u_t (before this step's write, as the allocation saw it)
    read_modes: jax.Array  # [..., R, 3], (backward, content, forward)
    allocation_gate: jax.Array  # [...]
    write_gate: jax.Array  # [...]
    free_gates: jax.Array  # [..., R]
