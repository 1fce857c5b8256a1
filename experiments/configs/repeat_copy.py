"""Repeat copy: the paper's NTM (LSTM 100, memory 128 x 20, one head each), Adam 1e-3.

python -m experiments.train --task repeat_copy
"""

import dataclasses

from experiments.config import TrainConfig
from experiments.configs.copy import SMOKE


def get_config(smoke: bool = False) -> TrainConfig:
    config = TrainConfig(task="repeat_copy", batch_size=32, steps=20_000, stop_when_converged=True)
    if smoke:
        return dataclasses.replace(
            config, **{**SMOKE, "task_options": {"max_length": 2, "max_repeats": 2, "num_bits": 4}}
        )
    return config
