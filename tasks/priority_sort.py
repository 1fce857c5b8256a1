"""Priority sort (section 4.5): read vectors with scalar priorities, write the highest-priority ones
in order of priority, highest first.

Layout with K inputs and J outputs::

    step      0 .. K-1                 K            K+1 .. K+J
    input     bits, priority           delimiter    zeros
    target    zeros                    zeros        the J highest-priority vectors, sorted
    mask      0                        0            1

Inputs have ``num_bits + 2`` channels (priority, delimiter), targets ``num_bits``.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from tasks import base


@dataclasses.dataclass(frozen=True)
class PrioritySortConfig:
    """Priority sort.

    Attributes:
      num_bits: width of each random vector (8).
      num_inputs: vectors read (the paper: 20).
      num_outputs: vectors written, the highest-priority ones (16).
      pad_to: pad to this many steps (default num_inputs + 1 + num_outputs).
    """

    num_bits: int = 8
    num_inputs: int = 20
    num_outputs: int = 16
    pad_to: int | None = None

    def __post_init__(self):
        base.check_int(self, "num_bits")
        base.check_range(self, "num_outputs", "num_inputs")


class PrioritySort(base.Task):
    name = "priority_sort"
    Config = PrioritySortConfig

    @property
    def input_size(self) -> int:
        return self.config.num_bits + 2

    @property
    def output_size(self) -> int:
        return self.config.num_bits

    @property
    def num_steps(self) -> int:
        c = self.config
        return base.check_padding(c, c.num_inputs + 1 + c.num_outputs)

    def _sample(self, rng, batch_size):
        c = self.config
        k, j, t_total = c.num_inputs, c.num_outputs, self.num_steps
        bits = base.random_bits(rng, (batch_size, k, c.num_bits))
        priority = rng.uniform(-1.0, 1.0, size=(batch_size, k)).astype(np.float32)
        order = np.argsort(-priority, axis=1, kind="stable")[:, :j]  # highest first
        inputs = np.zeros((batch_size, t_total, self.input_size), np.float32)
        inputs[:, :k, : c.num_bits] = bits
        inputs[:, :k, c.num_bits] = priority
        inputs[:, k, c.num_bits + 1] = 1.0
        targets = np.zeros((batch_size, t_total, self.output_size), np.float32)
        targets[:, k + 1 : k + 1 + j] = np.take_along_axis(bits, order[..., None], axis=1)
        mask = np.zeros((batch_size, t_total), np.float32)
        mask[:, k + 1 : k + 1 + j] = 1.0
        return base.Batch(inputs, targets, mask)
