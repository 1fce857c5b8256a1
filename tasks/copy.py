"""Copy (Graves et al. 2014, section 4.1): read a sequence of random bit vectors, then write it back.

Layout of one sequence of length L (T = 2 * max_length + 1 steps unless ``pad_to`` is set)::

    step        0 .. L-1        L            L+1 .. 2L       2L+1 .. T-1
    input       bits, 0         0.., 1       zeros           zeros (padding)
    target      zeros           zeros        the bits        zeros
    mask        0               0            1               0

The input has ``num_bits + 1`` channels, the last one the delimiter; the target has ``num_bits``.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from tasks import base

EVALUATION_LENGTHS = (10, 20, 30, 50, 80, 120)


@dataclasses.dataclass(frozen=True)
class CopyConfig:
    """Copy task.

    Attributes:
      num_bits: width of each random vector (the paper: 8).
      min_length: shortest sequence drawn (the paper trains on 1-20).
      max_length: longest sequence drawn.
      pad_to: pad every sequence to this many steps (default: just enough, 2 * max_length + 1).
    """

    num_bits: int = 8
    min_length: int = 1
    max_length: int = 20
    pad_to: int | None = None

    def __post_init__(self):
        base.check_int(self, "num_bits")
        base.check_range(self, "min_length", "max_length")


def gather_steps(values: np.ndarray, index: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """``values [B, K, C]`` gathered at ``index [B, T]`` where ``valid [B, T]``, zeros elsewhere."""
    safe = np.clip(index, 0, values.shape[1] - 1)
    out = np.take_along_axis(values, safe[..., None], axis=1)
    return out * valid[..., None]


class Copy(base.Task):
    name = "copy"
    Config = CopyConfig

    @property
    def input_size(self) -> int:
        return self.config.num_bits + 1

    @property
    def output_size(self) -> int:
        return self.config.num_bits

    @property
    def num_steps(self) -> int:
        return base.check_padding(self.config, 2 * self.config.max_length + 1)

    def _sample(self, rng, batch_size):
        c = self.config
        n = base.lengths(rng, c.min_length, c.max_length, batch_size)[:, None]  # [B, 1]
        bits = base.random_bits(rng, (batch_size, c.max_length, c.num_bits))
        t = np.arange(self.num_steps)[None, :]  # [1, T]
        inputs = np.zeros((batch_size, self.num_steps, self.input_size), np.float32)
        inputs[..., : c.num_bits] = gather_steps(bits, t, t < n)
        inputs[..., c.num_bits] = t == n
        scored = (t > n) & (t <= 2 * n)
        targets = gather_steps(bits, t - n - 1, scored)
        return base.Batch(inputs, targets, scored)

    def evaluation(self):
        """Fixed lengths 10, 20, 30, 50, 80 and 120 (the paper's Fig. 4 and 5)."""
        tasks = {"train": self}
        for length in EVALUATION_LENGTHS:
            tasks[f"length_{length}"] = self.replace(min_length=length, max_length=length, pad_to=None)
        return tasks
