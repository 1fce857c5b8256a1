"""Copy episodes: several copy tasks one after the other in one sequence, the memory test of issue 14.

Each episode is a copy (``tasks.copy``): L_k random bit vectors, a delimiter, then the L_k vectors back.
With a memory of fewer rows than all the episodes' vectors together, a model must reuse rows that
earlier episodes wrote: the DNC can free them (free gates, usage) and allocate them again; the NTM has
to overwrite by location or content. Memory is not reset between episodes.

Layout of one sequence (episode k of length L_k starts at step s_k; s_0 = 0, s_{k+1} = s_k + 2 L_k + 1;
T = episodes * (2 * max_length + 1) unless ``pad_to`` is set)::

    step        s_k .. s_k+L_k-1    s_k+L_k      s_k+L_k+1 .. s_k+2L_k
    input       bits, 0             0.., 1       zeros
    target      zeros               zeros        the episode's bits
    mask        0                   0            1

The input has ``num_bits + 1`` channels, the last one the delimiter; the target has ``num_bits``.
Steps after the last episode are padding (zeros, mask 0).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from tasks import base
from tasks.copy import gather_steps


@dataclasses.dataclass(frozen=True)
class CopyEpisodesConfig:
    """Copy episodes.

    Attributes:
      num_bits: width of each random vector.
      episodes: copy episodes per sequence.
      min_length, max_length: each episode's length is drawn uniformly from this range.
      pad_to: pad every sequence to this many steps (default: episodes * (2 * max_length + 1)).
    """

    num_bits: int = 8
    episodes: int = 4
    min_length: int = 1
    max_length: int = 10
    pad_to: int | None = None

    def __post_init__(self):
        base.check_int(self, "num_bits")
        base.check_int(self, "episodes")
        base.check_range(self, "min_length", "max_length")


class CopyEpisodes(base.Task):
    name = "copy_episodes"
    Config = CopyEpisodesConfig

    @property
    def input_size(self) -> int:
        return self.config.num_bits + 1

    @property
    def output_size(self) -> int:
        return self.config.num_bits

    @property
    def num_steps(self) -> int:
        c = self.config
        return base.check_padding(c, c.episodes * (2 * c.max_length + 1))

    def _sample(self, rng, batch_size):
        c = self.config
        t = np.arange(self.num_steps)[None, :]  # [1, T]
        inputs = np.zeros((batch_size, self.num_steps, self.input_size), np.float32)
        targets = np.zeros((batch_size, self.num_steps, self.output_size), np.float32)
        mask = np.zeros((batch_size, self.num_steps), bool)
        start = np.zeros((batch_size, 1), int)  # s_k
        for _ in range(c.episodes):
            n = base.lengths(rng, c.min_length, c.max_length, batch_size)[:, None]  # [B, 1]
            bits = base.random_bits(rng, (batch_size, c.max_length, c.num_bits))
            reading = (t >= start) & (t < start + n)
            inputs[..., : c.num_bits] += gather_steps(bits, t - start, reading)
            inputs[..., c.num_bits] += t == start + n
            scored = (t > start + n) & (t <= start + 2 * n)
            targets += gather_steps(bits, t - start - n - 1, scored)
            mask |= scored
            start = start + 2 * n + 1
        return base.Batch(inputs, targets, mask)

    def evaluation(self):
        """The training distribution, twice as many episodes, and episodes of fixed length 10."""
        c = self.config
        return {
            "train": self,
            "episodes_x2": self.replace(episodes=2 * c.episodes, pad_to=None),
            f"length_{c.max_length}": self.replace(min_length=c.max_length, pad_to=None),
        }
