"""Tasks by name."""

from __future__ import annotations

from tasks.associative_recall import AssociativeRecall
from tasks.base import Task
from tasks.copy import Copy
from tasks.copy_episodes import CopyEpisodes
from tasks.ngrams import Ngrams
from tasks.priority_sort import PrioritySort
from tasks.repeat_copy import RepeatCopy

TASKS: dict[str, type[Task]] = {
    cls.name: cls for cls in (Copy, RepeatCopy, AssociativeRecall, Ngrams, PrioritySort, CopyEpisodes)
}


def names() -> tuple[str, ...]:
    """The registered task names."""
    return tuple(TASKS)


def get(name: str, **config_overrides) -> Task:
    """The task ``name`` with its default (the paper's training) config, fields overridden by keyword.

    Example: ``tasks.get("copy", max_length=5).sample(seed=0, batch_size=32)``.
    """
    if name not in TASKS:
        raise ValueError(f"unknown task {name!r}; known tasks are {', '.join(TASKS)}")
    return TASKS[name](**config_overrides)
