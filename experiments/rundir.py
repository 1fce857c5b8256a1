"""A run directory, its logs, and the start of a training session in it; JAX-free, so that reports can read
runs without loading JAX.

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

from experiments import config as config_lib


class RunDir:
    """The files of one run."""

    def __init__(self, path: str | os.PathLike, writes: bool = True):
        """``writes``: whether this process writes the logs and config (in a run of several processes,
        process 0 only); the others read the directory and checkpoint into it."""
        self.path = pathlib.Path(path).absolute()
        self.writes = writes
        self.config = self.path / "config.json"
        self.metrics = self.path / "metrics.jsonl"
        self.evals = self.path / "eval.jsonl"
        self.summary = self.path / "summary.json"
        self.checkpoints = self.path / "checkpoints"

    def start_session(self, config: config_lib.TrainConfig, resume: bool) -> float:
        """Check the directory against ``resume`` and ``config``, create it and write ``config.json``.

        Returns the wall seconds of the run's earlier sessions, from the summary the last one wrote (a
        session killed before writing one is not counted). ValueError (one line) if the directory is a file,
        holds checkpoints without ``resume``, none with it, or a config ``config`` may not resume.
        """
        if self.path.exists() and not self.path.is_dir():
            raise ValueError(f"--workdir {self.path} is a file, not a directory")
        has_checkpoint = self.checkpoints.is_dir() and any(self.checkpoints.iterdir())
        if has_checkpoint and not resume:
            raise ValueError(
                f"{self.path} already holds checkpoints: pass --resume, or choose a new --workdir"
            )
        if resume and not has_checkpoint:
            raise ValueError(f"--resume: {self.path} holds no checkpoint to resume from (check --workdir)")
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise ValueError(f"--workdir {self.path}: cannot create it ({err.strerror})") from err
        if resume and self.config.exists():
            config_lib.check_resumable(config_lib.read_config(self.config), config)
        earlier = 0.0
        if resume and self.summary.exists():
            previous = json.loads(self.summary.read_text())
            earlier = previous.get("wall_seconds", previous.get("wall_seconds_this_session", 0.0))
        if self.writes:  # whole or not at all: other processes may be reading it
            partial = self.config.with_suffix(".json.partial")
            partial.write_text(config.to_json())
            os.replace(partial, self.config)
        return earlier

    def append(self, file: pathlib.Path, record: dict) -> None:
        if not self.writes:
            return
        with open(file, "a") as f:
            f.write(json.dumps(record) + "\n")

    def truncate_logs(self, step: int) -> None:
        """Drop log lines past ``step`` (a resumed run rewrites them)."""
        if not self.writes:
            return
        for file in (self.metrics, self.evals):
            if file.exists():
                lines = [ln for ln in file.read_text().splitlines() if json.loads(ln)["step"] <= step]
                file.write_text("".join(ln + "\n" for ln in lines))


def read_jsonl(path: pathlib.Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
