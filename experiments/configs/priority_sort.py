"""Priority sort: the paper's NTM (2 x 100 LSTM, memory 128 x 20, five read and five write heads).

python -m experiments.train --task priority_sort
"""

import dataclasses

from experiments.config import TrainConfig
from experiments.configs.copy import SMOKE


def get_config(smoke: bool = False) -> TrainConfig:
    config = TrainConfig(
        task="priority_sort",
        controller_layers=2,
        num_read_heads=5,
        num_write_heads=5,
        batch_size=32,
        steps=10_000,
        converged_bit_errors=0.0,
    )
    if smoke:
        return dataclasses.replace(
            config,
            **{**SMOKE, "task_options": {"num_inputs": 4, "num_outputs": 3, "num_bits": 3}},
            num_read_heads=2,
            num_write_heads=2,
        )
    return config
