"""A run directory and its logs; JAX-free, so that reports can read runs without loading JAX.

Layout of a run directory::

    config.json       the TrainConfig
    metrics.jsonl     one line per logged training window
    eval.jsonl        one line per evaluation of one split
    summary.json      written when the run ends
    checkpoints/      Orbax checkpoints (experiments.checkpoints)
"""

from __future__ import annotations

import json
import os
import pathlib


class RunDir:
    """The files of one run."""

    def __init__(self, path: str | os.PathLike):
        self.path = pathlib.Path(path).absolute()
        self.config = self.path / "config.json"
        self.metrics = self.path / "metrics.jsonl"
        self.evals = self.path / "eval.jsonl"
        self.summary = self.path / "summary.json"
        self.checkpoints = self.path / "checkpoints"

    def append(self, file: pathlib.Path, record: dict) -> None:
        with open(file, "a") as f:
            f.write(json.dumps(record) + "\n")

    def truncate_logs(self, step: int) -> None:
        """Drop log lines past ``step`` (a resumed run rewrites them)."""
        for file in (self.metrics, self.evals):
            if file.exists():
                lines = [ln for ln in file.read_text().splitlines() if json.loads(ln)["step"] <= step]
                file.write_text("".join(ln + "\n" for ln in lines))


def read_jsonl(path: pathlib.Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
