"""The algorithmic tasks of Graves et al. (2014), and their metrics. Knows nothing of models.

import tasks
task = tasks.get("copy")                      # the paper's training distribution
batch = task.sample(seed=0, batch_size=32)    # batch.inputs, batch.targets, batch.mask
tasks.metrics.bits_per_sequence(logits, batch.targets, batch.mask)
"""

from tasks import metrics
from tasks.associative_recall import AssociativeRecall, AssociativeRecallConfig
from tasks.base import Batch, Task
from tasks.copy import Copy, CopyConfig
from tasks.copy_episodes import CopyEpisodes, CopyEpisodesConfig
from tasks.ngrams import NgramConfig, Ngrams
from tasks.priority_sort import PrioritySort, PrioritySortConfig
from tasks.registry import TASKS, get, names
from tasks.repeat_copy import RepeatCopy, RepeatCopyConfig

__all__ = [
    "TASKS",
    "AssociativeRecall",
    "AssociativeRecallConfig",
    "Batch",
    "Copy",
    "CopyConfig",
    "CopyEpisodes",
    "CopyEpisodesConfig",
    "NgramConfig",
    "Ngrams",
    "PrioritySort",
    "PrioritySortConfig",
    "RepeatCopy",
    "RepeatCopyConfig",
    "Task",
    "get",
    "metrics",
    "names",
]
