"""Each committed result was made by its registry entry: the flags, read as experiments.train reads them,
give the model and recipe recorded in the result's config.json."""

import argparse
import dataclasses
import json

import pytest

from experiments import config as config_lib
from experiments import registry

# The model and the recipe (budgets and evaluation settings aside).
FIELDS = (
    "task",
    "model",
    "controller",
    "controller_size",
    "controller_layers",
    "num_read_heads",
    "num_write_heads",
    "memory_size",
    "word_size",
    "memory_init",
    "clip_mode",
    "clip_value",
    "optimizer",
    "learning_rate",
    "batch_size",
    "curriculum",
    "clip_global_norm",
    "clip_elementwise",
    "lr_half_life",
    "lr_drops",
    "lstm_hidden_size",
    "lstm_layers",
    "seeds",
    "task_options",
)


def flags_config(flags: list[str]) -> dict:
    parser = argparse.ArgumentParser()
    config_lib.add_config_flags(parser)
    return dataclasses.asdict(config_lib.resolve(parser.parse_args(flags)))


@pytest.mark.parametrize("name", sorted(registry.EXPERIMENTS))
def test_the_registry_flags_give_the_committed_config(name):
    path = registry.RESULTS / name / "config.json"
    assert path.exists(), f"{name}: no committed results at {path}"
    committed = json.loads(path.read_text())
    built = flags_config(registry.EXPERIMENTS[name])
    defaults = dataclasses.asdict(config_lib.TrainConfig())
    differ = {
        field: (built[field], committed.get(field, defaults[field]))
        for field in FIELDS
        if built[field] != committed.get(field, defaults[field])
    }
    assert not differ, f"{name}: (registry flags, committed config.json) differ in {differ}"
