"""What every task shares: the batch type, the base class, seeding and config checks.

A task knows nothing of models. It samples fixed-shape batches: every sequence is padded to the
config's maximum number of steps, and ``mask`` marks the steps whose targets are scored, so a training
step compiles once whatever lengths are drawn.
"""

from __future__ import annotations

import abc
import dataclasses
from typing import Any, NamedTuple

import numpy as np


class Batch(NamedTuple):
    """A batch of B sequences of T steps (float32 numpy arrays)."""

    inputs: np.ndarray  # [B, T, input_size]
    targets: np.ndarray  # [B, T, output_size], zero where mask is 0
    mask: np.ndarray  # [B, T], 1 on the scored steps, 0 elsewhere (padding included)


def as_generator(seed: Any) -> np.random.Generator:
    """A numpy Generator from an int seed, a tuple of ints, a JAX PRNG key or a Generator."""
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, int | np.integer):
        if seed < 0:
            raise ValueError(f"seed must be >= 0, got {seed}")
        return np.random.default_rng(int(seed))
    if isinstance(seed, tuple | list) and all(isinstance(s, int | np.integer) for s in seed):
        if any(s < 0 for s in seed):
            raise ValueError(f"seed entries must be >= 0, got {seed}")
        return np.random.default_rng([int(s) for s in seed])  # e.g. (run seed, step)
    try:
        import jax

        data = np.asarray(jax.random.key_data(seed)).ravel()
    except Exception as err:  # noqa: BLE001 - any failure means it is not a key
        raise TypeError(
            f"seed must be an int, a JAX PRNG key or a numpy Generator, got {type(seed)}"
        ) from err
    return np.random.default_rng(data.astype(np.uint64).tolist())


def check_int(config, name: str, minimum: int = 1) -> None:
    """Raise a ValueError naming ``config.name`` unless it is an integer >= minimum."""
    value = getattr(config, name)
    if not isinstance(value, int | np.integer) or isinstance(value, bool) or value < minimum:
        raise ValueError(f"{type(config).__name__}.{name} must be an integer >= {minimum}, got {value!r}")


def check_range(config, low: str, high: str, minimum: int = 1) -> None:
    """Check two int fields and that ``low <= high``."""
    check_int(config, low, minimum)
    check_int(config, high, minimum)
    if getattr(config, low) > getattr(config, high):
        raise ValueError(
            f"{type(config).__name__}.{low}={getattr(config, low)} is above {high}={getattr(config, high)}"
        )


def check_padding(config, needed: int) -> int:
    """The number of steps to pad to: ``config.pad_to`` if set (and big enough), else ``needed``."""
    if config.pad_to is None:
        return needed
    check_int(config, "pad_to")
    if config.pad_to < needed:
        raise ValueError(
            f"{type(config).__name__}.pad_to={config.pad_to} cannot hold the longest sequence "
            f"of this config, which needs {needed} steps"
        )
    return config.pad_to


class Task(abc.ABC):
    """A task: a frozen config, fixed shapes, a deterministic sampler, evaluation variants."""

    name: str = ""
    Config: type = None

    def __init__(self, config=None, **overrides):
        config = self.Config() if config is None else config
        field_names = {f.name for f in dataclasses.fields(config)}
        unknown = sorted(set(overrides) - field_names)
        if unknown:
            raise ValueError(
                f"unknown {type(config).__name__} field(s) {unknown}; fields are {sorted(field_names)}"
            )
        self.config = dataclasses.replace(config, **overrides)

    @property
    @abc.abstractmethod
    def input_size(self) -> int:
        """Features per input step."""

    @property
    @abc.abstractmethod
    def output_size(self) -> int:
        """Features per target step."""

    @property
    @abc.abstractmethod
    def num_steps(self) -> int:
        """T, the padded sequence length."""

    @abc.abstractmethod
    def _sample(self, rng: np.random.Generator, batch_size: int) -> Batch:
        """Draw a batch with a numpy Generator."""

    def reference_metrics(self, batch: Batch) -> dict[str, float]:
        """Figures beside the model's on an evaluation batch (e.g. a known optimum); none by default."""
        del batch
        return {}

    def evaluation(self) -> dict[str, Task]:
        """The paper's generalisation tests, as named tasks (the training distribution included)."""
        return {"train": self}

    def sample(self, seed, batch_size: int) -> Batch:
        """Sample ``batch_size`` sequences deterministically from ``seed`` (int, JAX key or Generator)."""
        if not isinstance(batch_size, int | np.integer) or batch_size < 1:
            raise ValueError(f"batch_size must be an integer >= 1, got {batch_size!r}")
        batch = self._sample(as_generator(seed), int(batch_size))
        return Batch(*(np.asarray(a, np.float32) for a in batch))

    def replace(self, **overrides) -> Task:
        """The same task with some config fields changed."""
        return type(self)(self.config, **overrides)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.config})"


def lengths(rng: np.random.Generator, low: int, high: int, batch_size: int) -> np.ndarray:
    """Uniform integers in ``[low, high]``, ``[B]``."""
    return rng.integers(low, high + 1, size=batch_size)


def random_bits(rng: np.random.Generator, shape) -> np.ndarray:
    """Independent fair bits as float32."""
    return rng.integers(0, 2, size=shape).astype(np.float32)
