"""Associative recall: the paper's NTM (LSTM 100, memory 128 x 20, one head each), Adam 1e-3.

python -m experiments.train --task associative_recall
python -m experiments.train --task associative_recall --controller feedforward
"""

import dataclasses

from experiments.config import TrainConfig
from experiments.configs.copy import SMOKE


def get_config(smoke: bool = False) -> TrainConfig:
    config = TrainConfig(task="associative_recall", batch_size=32, steps=20_000, stop_when_converged=True)
    if smoke:
        return dataclasses.replace(
            config, **{**SMOKE, "task_options": {"max_items": 3, "num_bits": 4, "item_length": 2}}
        )
    return config
