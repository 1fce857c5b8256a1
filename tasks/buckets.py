"""Length buckets: batches that run at (about) their own length instead of the task's longest.

A task pads every sequence to ``num_steps``, the longest it can draw (copy 41 steps where lengths 1-20
need 22 on average; repeat copy 112 where 38 are needed). Steps after a batch's last scored step cannot
change its loss (the models are causal and the mask is zero there), so they can be cut off. A
:class:`Buckets` sampler picks, for each batch, one of a few padded lengths (the *edges*) and fills the
batch with sequences that fit it:

1. The bucket is that of one sequence drawn from the task, so it comes with the probability that a
   sequence of the task falls in it. (The edges are chosen once from a fixed sample of the task.)
2. Sequences are drawn from the task and kept if their scored length falls in that bucket.
3. The batch is cut to the bucket's edge.

Each sequence is then distributed as the task's own (the buckets partition its lengths and are drawn
with their probabilities), only sequences of similar length share a batch, and a training step compiles
once per edge. The edges minimise the expected padded length over that sample.
"""

from __future__ import annotations

import numpy as np

from tasks import base

# Sequences sampled (from a fixed seed) to estimate how the task's scored lengths are distributed.
ESTIMATE_SAMPLES = 8192
ESTIMATE_SEED = 7


def scored_lengths(mask: np.ndarray) -> np.ndarray:
    """One past the last scored step of each sequence: ``mask [..., T] -> [...]`` (0 if none scored)."""
    t = mask.shape[-1]
    scored = np.asarray(mask) > 0
    last = t - np.argmax(scored[..., ::-1], axis=-1)
    return np.where(scored.any(axis=-1), last, 0)


def trim(batch: base.Batch, length: int) -> base.Batch:
    """The batch's first ``length`` steps (time is the second-to-last axis of inputs and targets)."""
    return base.Batch(batch.inputs[..., :length, :], batch.targets[..., :length, :], batch.mask[..., :length])


def pad(batch: base.Batch, length: int) -> base.Batch:
    """The batch with zero steps (mask 0) appended up to ``length`` steps; unchanged if it has as many."""
    extra = length - batch.mask.shape[-1]
    if extra < 0:
        raise ValueError(f"cannot pad a batch of {batch.mask.shape[-1]} steps to {length}")
    if extra == 0:
        return batch

    def widen(a, time_axis):
        widths = [(0, 0)] * a.ndim
        widths[time_axis] = (0, extra)
        return np.pad(a, widths)

    return base.Batch(widen(batch.inputs, -2), widen(batch.targets, -2), widen(batch.mask, -1))


def best_edges(lengths: np.ndarray, num_steps: int, num_buckets: int) -> tuple[int, ...]:
    """Bucket edges minimising the mean padded length of ``lengths``; the last edge is ``num_steps``.

    Dynamic programming over the distinct lengths seen: ``cost[j][b]`` is the least padded work of the
    ``j`` shortest distinct lengths in ``b`` buckets, whose top edge is the ``j``-th length. The top edge is
    then raised to ``num_steps`` (the longest sequence the task may draw must fit), so every bucket holds
    lengths that were seen, and none is (almost) never drawn.
    """
    values, counts = np.unique(np.clip(lengths, 1, num_steps), return_counts=True)
    n = len(values)
    buckets = min(num_buckets, n)
    prefix = np.concatenate([[0], np.cumsum(counts)])
    inf = float("inf")
    cost = np.full((n + 1, buckets + 1), inf)
    choice = np.zeros((n + 1, buckets + 1), int)
    cost[0, 0] = 0.0
    for j in range(1, n + 1):
        for b in range(1, buckets + 1):
            for i in range(b - 1, j):  # the bucket holds distinct lengths i .. j-1, edge values[j-1]
                c = cost[i, b - 1] + (prefix[j] - prefix[i]) * values[j - 1]
                if c < cost[j, b]:
                    cost[j, b], choice[j, b] = c, i
    b = int(np.argmin(cost[n, 1:])) + 1
    edges, j = [], n
    while b > 0:
        edges.append(int(values[j - 1]))
        j, b = choice[j, b], b - 1
    edges = sorted(edges)
    edges[-1] = int(num_steps)
    return tuple(edges)


def split(batch: base.Batch, num_buckets: int) -> list[base.Batch]:
    """A fixed batch (e.g. an evaluation batch) cut into at most ``num_buckets`` parts of similar scored
    length, each trimmed to its longest; together they hold every sequence once, in the same order within
    each part. Means over the parts weighted by their sizes equal means over the batch."""
    lengths = np.maximum(scored_lengths(batch.mask), 1)
    edges = best_edges(lengths, int(lengths.max()), num_buckets)
    index = np.searchsorted(edges, lengths)
    parts = []
    for b, edge in enumerate(edges):
        keep = index == b
        if keep.any():
            parts.append(trim(base.Batch(*(a[keep] for a in batch)), edge))
    return parts


class Buckets:
    """Samples batches of ``task`` cut to one of ``num_buckets`` lengths (see the module docstring).

    Attributes:
      task: the task sampled.
      edges: the padded lengths, ascending; the last is ``task.num_steps``.
      probabilities: the probability of each bucket, ``[len(edges)]``.
    """

    def __init__(self, task: base.Task, num_buckets: int, edges: tuple[int, ...] | None = None):
        """``edges``: use these padded lengths (ascending; the last at least ``task.num_steps``) instead of
        the best ones for ``task``, e.g. a curriculum stage's task with the full task's edges, so that the
        stages share their compiled shapes; a batch shorter than its edge is padded to it (:func:`pad`)."""
        if not isinstance(num_buckets, int | np.integer) or isinstance(num_buckets, bool) or num_buckets < 1:
            raise ValueError(f"num_buckets must be an integer >= 1, got {num_buckets!r}")
        self.task = task
        sample = task.sample((ESTIMATE_SEED,), ESTIMATE_SAMPLES)
        lengths = np.maximum(scored_lengths(sample.mask), 1)
        if edges is None:
            edges = best_edges(lengths, task.num_steps, int(num_buckets))
        elif list(edges) != sorted(set(edges)) or edges[-1] < task.num_steps:
            raise ValueError(f"edges {edges} must ascend and end at {task.num_steps} steps or more")
        self.edges = tuple(int(e) for e in edges)
        index = np.searchsorted(self.edges, lengths)
        counts = np.bincount(index, minlength=len(self.edges)).astype(float)
        self.probabilities = counts / counts.sum()  # estimated; for reports only

    def bucket(self, seed) -> int:
        """The bucket of one batch (an index into ``edges``): that of one sequence drawn from the task
        with ``seed``, so that buckets come with exactly the task's probabilities."""
        one = self.task.sample(seed, 1)
        return int(np.searchsorted(self.edges, max(int(scored_lengths(one.mask)[0]), 1)))

    def sample(self, seed, batch_size: int, bucket: int) -> base.Batch:
        """``batch_size`` sequences whose scored length falls in ``bucket``, cut to its edge."""
        if not 0 <= bucket < len(self.edges):
            raise ValueError(f"bucket must be in [0, {len(self.edges)}), got {bucket!r}")
        low = self.edges[bucket - 1] if bucket else 0
        high = self.edges[bucket]
        rng = base.as_generator(seed)
        kept, have = [], 0
        draw = max(batch_size, 16)
        for _ in range(100_000):
            batch = self.task.sample(rng, draw)
            length = np.maximum(scored_lengths(batch.mask), 1)
            keep = (length > low) & (length <= high)
            if keep.any():
                kept.append(trim(base.Batch(*(a[keep] for a in batch)), high))
                have += int(keep.sum())
            if have >= batch_size:
                break
        else:
            raise RuntimeError(f"bucket {bucket} ({low}, {high}] of {self.task!r} is never drawn")
        batch = base.Batch(*(np.concatenate(parts)[:batch_size] for parts in zip(*kept, strict=True)))
        return pad(batch, high)

    def __repr__(self) -> str:
        return f"Buckets(edges={self.edges}, probabilities={np.round(self.probabilities, 3).tolist()})"
