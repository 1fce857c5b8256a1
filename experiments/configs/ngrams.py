"""Dynamic n-grams: the paper's NTM (LSTM 100, memory 128 x 20, one head each), Adam 1e-3.

The cost to compare is the distance from the Bayes-optimal predictor (logged as "optimal_cost").

    python -m experiments.train --task ngrams
"""

import dataclasses

from experiments.config import TrainConfig
from experiments.configs.copy import SMOKE


def get_config(smoke: bool = False) -> TrainConfig:
    config = TrainConfig(task="ngrams", batch_size=32, steps=10_000, converged_bit_errors=0.0)
    if smoke:
        return dataclasses.replace(config, **{**SMOKE, "task_options": {"length": 12, "context": 2}})
    return config
