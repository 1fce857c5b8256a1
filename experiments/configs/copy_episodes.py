"""Copy episodes: four copies of lengths 1-10 in one sequence, with a memory of 16 rows, fewer than the
episodes' 22 vectors on average (40 at most), so that rows must be reused (issue 14's memory test).

    python -m experiments.train --task copy_episodes --model dnc
    python -m experiments.train --task copy_episodes             # the NTM on the same memory

Copy's recipe (batch 1, Graves' RMSProp 3e-4 halving every 10,000 sequences, elementwise clip 10, the
tanh bound) and copy's model sizes but the memory: 16 rows of 20. Memory is not reset between
episodes, so what an episode leaves behind is there for the next.
"""

import dataclasses

from experiments.config import TrainConfig
from experiments.configs.copy import PAPER_RECIPE, SMOKE


def get_config(smoke: bool = False) -> TrainConfig:
    config = TrainConfig(
        task="copy_episodes",
        memory_size=16,
        steps=60_000,
        stop_when_converged=True,
        **PAPER_RECIPE,
    )
    if smoke:
        return dataclasses.replace(
            config, **{**SMOKE, "task_options": {"max_length": 3, "num_bits": 4, "episodes": 2}}
        )
    return config
