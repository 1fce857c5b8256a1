"""Dynamic n-grams (section 4.4): predict the next bit of a sequence drawn from a random 6-gram model.

For each sequence a table of 2^5 = 32 probabilities P(1 | previous five bits) is drawn from
Beta(1/2, 1/2); the first five bits are fair coins and every later bit follows the table. At step t
the input is bit t-1 (channel 0; zero at t = 0) and a start flag (channel 1, set at t = 0 only); the
target is bit t. Every one of the ``length`` steps is scored.

The Bayes-optimal predictor, knowing the generating process but not the table, predicts
P(bit = 1) = (N1 + 1/2) / (N1 + N0 + 1), where N1 and N0 count the ones and zeros that followed the
same five-bit context earlier in the sequence (0.5 before five bits are known).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from tasks import base


@dataclasses.dataclass(frozen=True)
class NgramConfig:
    """Dynamic n-grams.

    Attributes:
      context: bits of context; the n-gram order is context + 1 (the paper: 6-grams, context 5).
      length: bits per sequence (200).
      beta: both parameters of the Beta prior on the table entries (1/2).
      pad_to: pad to this many steps (default ``length``).
    """

    context: int = 5
    length: int = 200
    beta: float = 0.5
    pad_to: int | None = None

    def __post_init__(self):
        base.check_int(self, "context")
        base.check_int(self, "length")
        if not self.beta > 0:
            raise ValueError(f"NgramConfig.beta must be > 0, got {self.beta!r}")


def context_index(bits: np.ndarray, context: int) -> np.ndarray:
    """The integer value of the ``context`` bits before each step; -1 where fewer are known.

    Args:
      bits: ``[B, T]`` of 0/1.

    Returns:
      ``[B, T]`` ints, the most recent bit the least significant.
    """
    b, t = bits.shape
    index = np.zeros((b, t), np.int64)
    for k in range(1, context + 1):
        shifted = np.zeros((b, t), np.int64)
        shifted[:, k:] = bits[:, :-k]
        index += shifted << (k - 1)
    index[:, :context] = -1
    return index


def optimal_probabilities(bits: np.ndarray, context: int = 5, beta: float = 0.5) -> np.ndarray:
    """The Bayes-optimal P(bit t = 1 | bits before t), ``[B, T] -> [B, T]``.

    P = (N1 + beta) / (N1 + N0 + 2 beta) with counts of what followed the same context before t.
    """
    bits = np.asarray(bits)
    index = context_index(bits, context)
    onehot = (index[..., None] == np.arange(2**context)).astype(np.float64)  # [B, T, 2^c]
    ones = np.cumsum(onehot * bits[..., None], axis=1) - onehot * bits[..., None]  # before t
    seen = np.cumsum(onehot, axis=1) - onehot
    n1 = np.sum(ones * onehot, axis=-1)
    n = np.sum(seen * onehot, axis=-1)
    return np.where(index >= 0, (n1 + beta) / (n + 2 * beta), 0.5)


class Ngrams(base.Task):
    name = "ngrams"
    Config = NgramConfig

    @property
    def input_size(self) -> int:
        return 2

    @property
    def output_size(self) -> int:
        return 1

    @property
    def num_steps(self) -> int:
        return base.check_padding(self.config, self.config.length)

    def _sample(self, rng, batch_size):
        c = self.config
        table = rng.beta(c.beta, c.beta, size=(batch_size, 2**c.context))
        uniform = rng.uniform(size=(batch_size, c.length))
        bits = np.zeros((batch_size, c.length), np.int64)
        bits[:, : c.context] = uniform[:, : c.context] < 0.5
        weights = 1 << np.arange(c.context)  # bit t-k has weight 2^(k-1)
        rows = np.arange(batch_size)
        for t in range(c.context, c.length):  # sequential by nature; vectorised over the batch
            index = bits[:, t - c.context : t][:, ::-1] @ weights
            bits[:, t] = uniform[:, t] < table[rows, index]
        inputs = np.zeros((batch_size, self.num_steps, 2), np.float32)
        inputs[:, 1 : c.length, 0] = bits[:, :-1]
        inputs[:, 0, 1] = 1.0
        targets = np.zeros((batch_size, self.num_steps, 1), np.float32)
        targets[:, : c.length, 0] = bits
        mask = np.zeros((batch_size, self.num_steps), np.float32)
        mask[:, : c.length] = 1.0
        return base.Batch(inputs, targets, mask)

    def reference_metrics(self, batch: base.Batch) -> dict[str, float]:
        """``optimal_cost``: the Bayes-optimal predictor's mean cost on ``batch``, bits per sequence."""
        return {"optimal_cost": float(np.mean(self.optimal_bits_per_sequence(batch)))}

    def optimal_bits_per_sequence(self, batch: base.Batch) -> np.ndarray:
        """The Bayes-optimal predictor's cost in bits on each sequence of ``batch``: ``[B]``."""
        c = self.config
        bits = batch.targets[:, : c.length, 0]
        p = optimal_probabilities(bits, c.context, c.beta)
        likelihood = np.where(bits > 0.5, p, 1.0 - p)
        return -np.sum(np.log2(likelihood), axis=1)
