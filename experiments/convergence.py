"""When each seed converged, and how stable it stayed: replayed from ``eval.jsonl`` on resume. JAX-free."""

from __future__ import annotations

from experiments.config import TrainConfig


class Convergence:
    """Per seed: when it converged, judged as staying below the threshold, and how stable it was.

    A seed converges at the first of ``needed`` evaluations in a row whose bit errors per sequence are
    below ``threshold``; a single dip below it that does not last is not convergence.

    Attributes:
      converged_at: per seed, the step of the first evaluation of that run, or None.
      first_below: per seed, the step of the first evaluation below the threshold, or None.
      relapses: per seed, evaluations at or above the threshold after the first one below it.
      worst_after: per seed, the most bit errors at an evaluation after the first one below it.
    """

    def __init__(self, num_seeds: int, threshold: float, needed: int):
        self.threshold, self.needed = threshold, needed
        self.converged_at: list[int | None] = [None] * num_seeds
        self.first_below: list[int | None] = [None] * num_seeds
        self.relapses = [0] * num_seeds
        self.worst_after = [0.0] * num_seeds
        self._run_start: list[int | None] = [None] * num_seeds
        self._run_length = [0] * num_seeds

    def update(self, step: int, bit_errors) -> None:
        """Take one evaluation's bit errors per sequence, ``[K]``."""
        for k, errors in enumerate(bit_errors):
            if self.first_below[k] is not None:
                self.worst_after[k] = max(self.worst_after[k], float(errors))
            if errors < self.threshold:
                if self.first_below[k] is None:
                    self.first_below[k] = step
                if self._run_length[k] == 0:
                    self._run_start[k] = step
                self._run_length[k] += 1
                if self.converged_at[k] is None and self._run_length[k] >= self.needed:
                    self.converged_at[k] = self._run_start[k]
            else:
                self._run_length[k] = 0
                if self.first_below[k] is not None:
                    self.relapses[k] += 1

    @property
    def all_converged(self) -> bool:
        return all(c is not None for c in self.converged_at)

    @classmethod
    def from_log(cls, records, num_seeds: int, config: TrainConfig) -> Convergence:
        """Replay the "train" records of ``eval.jsonl`` (for a resumed run)."""
        tracker = cls(num_seeds, config.converged_bit_errors, config.converged_evals)
        seen = set()
        for record in records:
            if record["split"] == "train" and record["step"] not in seen:
                seen.add(record["step"])
                tracker.update(record["step"], record["bit_errors"])
        return tracker
