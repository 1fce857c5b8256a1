"""Copy: the paper's NTM (LSTM 100, memory 128 x 20, one read and one write head), Adam 1e-3.

python -m experiments.train --task copy                 # this config
python -m experiments.train --task copy --seeds 5       # five seeds in one program
python -m experiments.train --task copy --model lstm    # the 3 x 256 LSTM baseline
"""

import dataclasses

from experiments.config import TrainConfig

SMOKE = dict(
    task_options={"max_length": 3, "num_bits": 4},
    memory_size=16,
    word_size=6,
    controller_size=16,
    lstm_hidden_size=16,
    lstm_layers=2,
    batch_size=4,
    steps=2,
    eval_every=1,
    eval_batch_size=8,
    eval_splits="train",
    log_every=1,
    checkpoint_every=2,
)


def get_config(smoke: bool = False) -> TrainConfig:
    config = TrainConfig(
        task="copy",
        batch_size=32,
        steps=10_000,
        stop_when_converged=True,
        generalisation_every=0,
    )
    return dataclasses.replace(config, **SMOKE) if smoke else config
