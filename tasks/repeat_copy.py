"""Repeat copy (section 4.2): read a sequence and a repeat count, write the sequence that many times,
then emit an end marker.

Layout for length L and R repeats::

    step      0 .. L-1     L                              L+1 .. L+L*R      L+L*R+1      after
    input     bits         delimiter 1, count R / norm    zeros             zeros        zeros
    target    zeros        zeros                          bits, repeated    end 1        zeros
    mask      0            0                              1                 1            0

Inputs have ``num_bits + 2`` channels (delimiter, then the normalised count); targets ``num_bits + 1``
(the last one the end marker). The count is divided by ``repeat_normaliser``, which stays fixed when
the evaluation variants draw more repeats than training did.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from tasks import base
from tasks.copy import gather_steps


@dataclasses.dataclass(frozen=True)
class RepeatCopyConfig:
    """Repeat copy.

    Attributes:
      num_bits: width of each random vector (8).
      min_length, max_length: sequence length range (the paper trains on 1-10).
      min_repeats, max_repeats: repeat count range (1-10).
      repeat_normaliser: the count channel carries ``repeats / repeat_normaliser``.
      pad_to: pad to this many steps (default: max_length * (max_repeats + 1) + 2).
    """

    num_bits: int = 8
    min_length: int = 1
    max_length: int = 10
    min_repeats: int = 1
    max_repeats: int = 10
    repeat_normaliser: float = 10.0
    pad_to: int | None = None

    def __post_init__(self):
        base.check_int(self, "num_bits")
        base.check_range(self, "min_length", "max_length")
        base.check_range(self, "min_repeats", "max_repeats")
        if not self.repeat_normaliser > 0:
            raise ValueError(
                f"RepeatCopyConfig.repeat_normaliser must be > 0, got {self.repeat_normaliser!r}"
            )


class RepeatCopy(base.Task):
    name = "repeat_copy"
    Config = RepeatCopyConfig

    @property
    def input_size(self) -> int:
        return self.config.num_bits + 2

    @property
    def output_size(self) -> int:
        return self.config.num_bits + 1

    @property
    def num_steps(self) -> int:
        c = self.config
        return base.check_padding(c, c.max_length * (c.max_repeats + 1) + 2)

    def _sample(self, rng, batch_size):
        c = self.config
        n = base.lengths(rng, c.min_length, c.max_length, batch_size)[:, None]
        reps = base.lengths(rng, c.min_repeats, c.max_repeats, batch_size)[:, None]
        bits = base.random_bits(rng, (batch_size, c.max_length, c.num_bits))
        t = np.arange(self.num_steps)[None, :]
        inputs = np.zeros((batch_size, self.num_steps, self.input_size), np.float32)
        inputs[..., : c.num_bits] = gather_steps(bits, t, t < n)
        inputs[..., c.num_bits] = t == n
        inputs[..., c.num_bits + 1] = (t == n) * reps / c.repeat_normaliser
        start, end = n + 1, n + 1 + n * reps  # the end marker sits at `end`
        copying = (t >= start) & (t < end)
        targets = np.zeros((batch_size, self.num_steps, self.output_size), np.float32)
        targets[..., : c.num_bits] = gather_steps(bits, (t - start) % n, copying)
        targets[..., c.num_bits] = t == end
        return base.Batch(inputs, targets, (t >= start) & (t <= end))

    def evaluation(self):
        """The training distribution, then fixed lengths and repeat counts (the paper's Fig. 8 and 9):
        the longest training case, double its length, double its repeats, and both doubled."""
        c = self.config
        splits = {"train": self}
        for length, repeats in (
            (c.max_length, c.max_repeats),
            (2 * c.max_length, c.max_repeats),
            (c.max_length, 2 * c.max_repeats),
            (2 * c.max_length, 2 * c.max_repeats),
        ):
            splits[f"length_{length}_repeats_{repeats}"] = self.replace(
                min_length=length, max_length=length, min_repeats=repeats, max_repeats=repeats, pad_to=None
            )
        return splits
