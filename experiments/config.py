"""The training configuration: one flat, frozen dataclass; every field settable from the command line.

Each task's defaults live in ``experiments/configs/<task>.py`` (``get_config(smoke=False)``); the command
line overrides any field with ``--field-name value`` and any task field with ``--task-option name=value``.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import json
import math
import pathlib
import typing
from typing import Any

MODELS = ("ntm", "dnc", "lstm")
OPTIMIZERS = ("adam", "rmsprop")
CLIP_MODES = ("hard", "tanh")
MEMORY_BACKWARDS = ("custom", "remat", "autodiff")  # ntm.core.MEMORY_BACKWARDS (this module imports no JAX)


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Everything a training run depends on. Saved as ``config.json`` in the run directory."""

    task: str = "copy"
    task_options: dict = dataclasses.field(default_factory=dict)  # overrides of the task's config
    model: str = "ntm"  # "ntm", "dnc" or "lstm" (the stacked-LSTM baseline)
    # NTM (the paper's copy model: LSTM 100, memory 128 x 20, one read and one write head).
    controller: str = "lstm"  # "lstm" or "feedforward"
    controller_size: int = 100
    controller_layers: int = 1
    memory_size: int = 128
    word_size: int = 20
    num_read_heads: int = 1
    num_write_heads: int = 1
    shift_range: int = 1
    memory_init: str = "constant"
    memory_init_value: float = 1e-6  # the constant of memory_init "constant"
    clip_value: float = 20.0  # bound of head parameters and output logits
    clip_mode: str = "tanh"  # "tanh" (c * tanh(x / c), smooth) or "hard" (jnp.clip: no gradient past c)
    # LSTM baseline (the paper's copy baseline: 3 x 256).
    lstm_hidden_size: int = 256
    lstm_layers: int = 3
    # Optimisation. Adam 1e-3 with global-norm clipping at 50 is what Collier & Beel found converges.
    optimizer: str = "adam"  # "adam" or "rmsprop" (Graves' form: centred, momentum 0.9)
    learning_rate: float = 1e-3
    lr_half_life: int = 0  # sequences (per seed) over which the learning rate halves, down to a tenth
    # of its start; 0 keeps it constant
    lr_drops: str = ""  # "S1:LR1,S2:LR2,...": from S1 sequences per seed on (update S1 // batch_size)
    # the rate is LR1, from S2 on LR2 (parse_lr_drops); "" keeps learning_rate throughout
    curriculum: str = (
        ""  # "S1:NAME=V1,S2:NAME=V2,...": from S1 sequences per seed on (update S1 // batch_size)
    )
    # training batches draw from the task with option NAME = V1, from S2 on with V2 as well (each stage keeps
    # the ones before it; parse_curriculum); evaluation always uses the task without them; "" is none
    rmsprop_decay: float = 0.95
    momentum: float = 0.9
    clip_global_norm: float = 50.0  # 0 turns it off
    clip_elementwise: float = 0.0  # the paper clips each component to (-10, 10); 0 turns it off
    batch_size: int = 32
    steps: int = 10_000
    max_minutes: float = 0.0  # wall-clock budget of training in this session (compile included), after
    # which the run evaluates every split and stops; 0 means none
    length_buckets: int = 4  # training batches run at one of this many lengths (tasks.buckets); 1 pads
    # every batch to the task's longest sequence
    seed: int = 0
    seeds: int = 1  # independent seeds trained in one compiled program (vmap)
    num_devices: int = 0  # devices to shard the batch over; 0 means all visible
    # Evaluation, logging, checkpoints.
    eval_every: int = 200  # steps between evaluations on the training distribution
    eval_batch_size: int = 640
    eval_splits: str = ""  # comma-separated evaluation splits of the task; "" means all of them
    generalisation_every: int = 0  # steps between evaluations on every split; 0: only at the end
    converged_bit_errors: float = 0.1  # "converged": eval bit errors per sequence below this ...
    converged_evals: int = 3  # ... on this many evaluations in a row (it counts from the first of them)
    stop_when_converged: bool = False  # end the run once every seed has converged
    log_every: int = 50
    checkpoint_every: int = 1000
    dtype: str = "float32"
    remat: bool = False  # recompute time steps in the backward pass: flat memory for long sequences
    memory_backward: str = "custom"  # how each step's memory side is differentiated: "custom" (hand-written
    # backward), "remat" (autodiff, recomputed) or "autodiff"; the same numbers up to rounding

    def __post_init__(self):
        _positive(self, "batch_size", "steps", "seeds", "eval_every", "eval_batch_size", "log_every")
        _positive(self, "checkpoint_every", "length_buckets", "converged_evals")
        if self.model not in MODELS:
            raise ValueError(f"model must be one of {MODELS}, got {self.model!r}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}")
        if not self.learning_rate > 0:
            raise ValueError(f"learning_rate must be > 0, got {self.learning_rate!r}")
        if self.seed < 0 or self.num_devices < 0 or self.generalisation_every < 0:
            raise ValueError("seed, num_devices and generalisation_every must be >= 0")
        if not self.max_minutes >= 0:
            raise ValueError(f"max_minutes must be >= 0 (0: no budget), got {self.max_minutes!r}")
        if self.clip_mode not in CLIP_MODES:
            raise ValueError(f"clip_mode must be one of {CLIP_MODES}, got {self.clip_mode!r}")
        if self.memory_backward not in MEMORY_BACKWARDS:
            raise ValueError(
                f"memory_backward must be one of {MEMORY_BACKWARDS}, got {self.memory_backward!r}"
            )
        if self.lr_half_life < 0:
            raise ValueError(f"lr_half_life must be >= 0 (0: constant), got {self.lr_half_life!r}")
        drops = parse_lr_drops(self.lr_drops)
        if drops and self.lr_half_life:
            raise ValueError(
                f"lr_drops={self.lr_drops!r} and lr_half_life={self.lr_half_life!r} are two schedules: "
                "set one"
            )
        parse_curriculum(self.curriculum)
        if self.dtype not in ("float32", "bfloat16"):
            raise ValueError(f"dtype must be 'float32' or 'bfloat16', got {self.dtype!r}")

    @property
    def model_label(self) -> str:
        """``"NTM (lstm controller)"``, ``"DNC (feedforward controller)"``, ``"LSTM 3 x 256"``, ..."""
        if self.model == "lstm":
            return f"LSTM {self.lstm_layers} x {self.lstm_hidden_size}"
        return f"{self.model.upper()} ({self.controller} controller)"

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> TrainConfig:
        data = json.loads(text)
        if isinstance(data, dict):
            # Configs written before these fields existed were trained with the hard clip, padded batches
            # and "converged" at the first evaluation under the threshold.
            data.setdefault("clip_mode", "hard")
            data.setdefault("length_buckets", 1)
            data.setdefault("converged_evals", 1)
            # remat_memory_step (True / False) became memory_backward ("remat" / "autodiff").
            if "remat_memory_step" in data:
                data.setdefault("memory_backward", "remat" if data.pop("remat_memory_step") else "autodiff")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"config has unknown fields {unknown}")
        return cls(**data)


def parse_lr_drops(text: str) -> tuple[tuple[int, float], ...]:
    """``"91287:3e-5,171940:1e-5"`` -> ``((91287, 3e-5), (171940, 1e-5))``: (sequences per seed, rate).

    The sequences must be positive and increasing, the rates finite and positive; ``""`` is no drops. A
    ValueError names the part that is not.
    """
    if not isinstance(text, str):
        raise ValueError(f"lr_drops must be a string like '90000:3e-5,170000:1e-5', got {text!r}")
    drops = []
    for part in text.split(",") if text.strip() else []:
        try:
            sequences, rate = part.split(":")
            drop = (int(sequences), float(rate))
        except ValueError:
            raise ValueError(f"lr_drops: {part.strip()!r} is not SEQUENCES:RATE (e.g. 90000:3e-5)") from None
        if drop[0] < 1 or not 0 < drop[1] < math.inf:
            raise ValueError(f"lr_drops: {part.strip()!r} needs sequences >= 1 and a finite rate > 0")
        if drops and drop[0] <= drops[-1][0]:
            raise ValueError(f"lr_drops: {part.strip()!r} does not come after {drops[-1][0]} sequences")
        drops.append(drop)
    return tuple(drops)


def parse_curriculum(text: str) -> tuple[tuple[int, str, Any], ...]:
    """``"0:max_items=2,4000:max_items=4"`` -> ``((0, "max_items", 2), (4000, "max_items", 4))``.

    Each entry is (sequences per seed from which it holds, task option, value); values parse as JSON
    (numbers, booleans) where they can. The sequences must be >= 0 and not decreasing (entries at the same
    sequences form one stage). ``""`` is no curriculum. A ValueError names the part that is not valid.
    Whether the options exist is checked where the task is built (``experiments.train.Trainer``).
    """
    if not isinstance(text, str):
        raise ValueError(f"curriculum must be a string like '0:max_items=2,4000:max_items=6', got {text!r}")
    entries = []
    for part in text.split(",") if text.strip() else []:
        sequences, sep, option = part.partition(":")
        name, eq, value = option.partition("=")
        try:
            start = int(sequences)
        except ValueError:
            start = None
        if not sep or not eq or start is None or not name.strip() or not value.strip():
            raise ValueError(
                f"curriculum: {part.strip()!r} is not SEQUENCES:NAME=VALUE (e.g. 4000:max_items=4)"
            ) from None
        if start < 0:
            raise ValueError(f"curriculum: {part.strip()!r} needs sequences >= 0")
        if entries and start < entries[-1][0]:
            raise ValueError(f"curriculum: {part.strip()!r} comes before {entries[-1][0]} sequences")
        if (start, name.strip()) in {(e[0], e[1]) for e in entries}:
            raise ValueError(f"curriculum: {name.strip()} is set twice from {start} sequences")
        entries.append((start, name.strip(), _parse_value(value.strip())))
    return tuple(entries)


def curriculum_stages(text: str) -> tuple[tuple[int, dict[str, Any]], ...]:
    """The stages of a curriculum: (first sequence, the task options that hold from it on), ascending;
    each stage holds the options of every earlier one, updated by its own."""
    stages: list[tuple[int, dict[str, Any]]] = []
    for start, name, value in parse_curriculum(text):
        if stages and stages[-1][0] == start:
            stages[-1][1][name] = value
        else:
            stages.append((start, {**(stages[-1][1] if stages else {}), name: value}))
    return tuple(stages)


def read_config(path) -> TrainConfig:
    """The TrainConfig saved at ``path``; a ValueError naming the file if it cannot be one."""
    try:
        return TrainConfig.from_json(pathlib.Path(path).read_text())
    except (ValueError, TypeError) as err:  # JSONDecodeError is a ValueError
        raise ValueError(f"{path} is not a valid config ({err})") from err


# Fields that may differ between a run and its resumption.
RESUMABLE_FIELDS = {
    "steps",
    "max_minutes",
    "eval_every",
    "generalisation_every",
    "log_every",
    "checkpoint_every",
    "stop_when_converged",
    "num_devices",
    "eval_batch_size",
    "eval_splits",
    "remat",
    "memory_backward",
    # Annealing by hand: the optimiser's state has the same structure at any constant rate (and under the
    # same schedule), so a run may continue at a smaller one.
    "learning_rate",
}


def check_resumable(saved: TrainConfig, config: TrainConfig) -> None:
    """ValueError listing the fields outside RESUMABLE_FIELDS in which ``config`` differs from ``saved``.

    ``lr_drops`` may change from one schedule to another (the optimiser's state is the same), not to or
    from none; under a schedule ``learning_rate`` (its rate before the first drop) may not change, since
    past a drop changing it would do nothing.
    """
    resumable = set(RESUMABLE_FIELDS)
    if saved.lr_drops and config.lr_drops:
        resumable.add("lr_drops")
    if saved.lr_drops or config.lr_drops:
        resumable.discard("learning_rate")
    diffs = [
        f"{f.name}: checkpoint has {getattr(saved, f.name)!r}, command line has {getattr(config, f.name)!r}"
        for f in dataclasses.fields(TrainConfig)
        if f.name not in resumable and getattr(saved, f.name) != getattr(config, f.name)
    ]
    if diffs:
        raise ValueError("the config does not match the checkpoint's:\n  " + "\n  ".join(diffs))


def _positive(config, *names):
    for name in names:
        value = getattr(config, name)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {value!r}")


def task_config(task: str, smoke: bool = False) -> TrainConfig:
    """The default (or smoke) config of ``task`` from ``experiments/configs/<task>.py``."""
    import tasks

    if task not in tasks.names():
        raise ValueError(f"unknown task {task!r}; known tasks are {', '.join(tasks.names())}")
    module = importlib.import_module(f"experiments.configs.{task}")
    return module.get_config(smoke=smoke)


# --------------------------------------------------------------------------------------------------
# Command line


def _parse_value(text: str) -> Any:
    """A command-line value as JSON if it parses (numbers, booleans, null), else the string."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _bool(text: str) -> bool:
    lowered = text.lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected a boolean, got {text!r}")


def add_config_flags(parser: argparse.ArgumentParser) -> None:
    """One ``--field-name`` flag per TrainConfig field (default: the task config's value)."""
    hints = typing.get_type_hints(TrainConfig)
    for field in dataclasses.fields(TrainConfig):
        if field.name == "task_options":
            continue
        kind = hints[field.name]
        flag = "--" + field.name.replace("_", "-")
        if kind is bool:  # --remat alone is --remat true
            parser.add_argument(
                flag, dest=field.name, type=_bool, nargs="?", const=True, default=None, help="(bool)"
            )
        else:
            parser.add_argument(flag, dest=field.name, type=kind, default=None, help=f"({kind.__name__})")
    parser.add_argument(
        "--task-option",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a field of the task's config, e.g. --task-option max_length=5 (repeatable)",
    )


def resolve(args: argparse.Namespace, smoke: bool = False) -> TrainConfig:
    """The task's default config with the command line's overrides applied."""
    config = task_config(args.task or "copy", smoke=smoke)
    overrides = {
        f.name: getattr(args, f.name)
        for f in dataclasses.fields(TrainConfig)
        if f.name != "task_options" and getattr(args, f.name, None) is not None
    }
    options = dict(config.task_options)
    for item in args.task_option:
        if "=" not in item:
            raise ValueError(f"--task-option expects NAME=VALUE, got {item!r}")
        name, value = item.split("=", 1)
        options[name.strip()] = _parse_value(value.strip())
    return dataclasses.replace(config, **overrides, task_options=options)
