"""Associative recall (section 4.3): after a list of items, given one item, output the next one.

An item is ``item_length`` (3) random bit vectors. Each item is preceded by an item-delimiter step;
after the n items come a query delimiter, the query (a copy of item q, q < n - 1), a second query
delimiter, and then the target: item q + 1. With block = item_length + 1 and Q = block * n::

    step      0           1..3      ...   Q          Q+1..Q+3    Q+4        Q+5..Q+7
    input     item delim  item 0    ...   query dl   item q      query dl   zeros
    target    zeros                                                         item q+1
    mask      0                                                             1

Inputs have ``num_bits + 2`` channels (item delimiter, query delimiter), targets ``num_bits``.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from tasks import base
from tasks.copy import gather_steps

EVALUATION_ITEMS = (6, 8, 10, 12, 15, 20)


@dataclasses.dataclass(frozen=True)
class AssociativeRecallConfig:
    """Associative recall.

    Attributes:
      num_bits: width of each vector (the paper: 6).
      item_length: vectors per item (3).
      min_items, max_items: number of items (the paper trains on 2-6).
      pad_to: pad to this many steps (default: (item_length + 1) * max_items + 2 * item_length + 2).
    """

    num_bits: int = 6
    item_length: int = 3
    min_items: int = 2
    max_items: int = 6
    pad_to: int | None = None

    def __post_init__(self):
        base.check_int(self, "num_bits")
        base.check_int(self, "item_length")
        base.check_range(self, "min_items", "max_items", minimum=2)


class AssociativeRecall(base.Task):
    name = "associative_recall"
    Config = AssociativeRecallConfig

    @property
    def input_size(self) -> int:
        return self.config.num_bits + 2

    @property
    def output_size(self) -> int:
        return self.config.num_bits

    @property
    def num_steps(self) -> int:
        c = self.config
        return base.check_padding(c, (c.item_length + 1) * c.max_items + 2 * c.item_length + 2)

    def _sample(self, rng, batch_size):
        c = self.config
        k, block = c.item_length, c.item_length + 1
        n = base.lengths(rng, c.min_items, c.max_items, batch_size)  # [B]
        query = np.floor(rng.uniform(size=batch_size) * (n - 1)).astype(int)  # in [0, n-2]
        items = base.random_bits(rng, (batch_size, c.max_items * k, c.num_bits))  # items flattened
        n, query = n[:, None], query[:, None]
        t = np.arange(self.num_steps)[None, :]
        q_start = block * n
        inputs = np.zeros((batch_size, self.num_steps, self.input_size), np.float32)
        in_items = t < q_start
        item_step = (t % block) - 1  # -1 on delimiter steps
        listed = in_items & (item_step >= 0)
        inputs[..., : c.num_bits] = gather_steps(items, (t // block) * k + item_step, listed)
        in_query = (t > q_start) & (t <= q_start + k)
        inputs[..., : c.num_bits] += gather_steps(items, query * k + t - q_start - 1, in_query)
        inputs[..., c.num_bits] = in_items & (item_step < 0)
        inputs[..., c.num_bits + 1] = (t == q_start) | (t == q_start + k + 1)
        scored = (t >= q_start + k + 2) & (t < q_start + 2 * k + 2)
        targets = gather_steps(items, (query + 1) * k + t - q_start - k - 2, scored)
        return base.Batch(inputs, targets, scored)

    def evaluation(self):
        """Fixed numbers of items, 6 to 20 (the paper's Fig. 12)."""
        tasks = {"train": self}
        for n in EVALUATION_ITEMS:
            tasks[f"items_{n}"] = self.replace(min_items=n, max_items=n, pad_to=None)
        return tasks
