"""Dynamic n-grams: the paper's NTM (LSTM 100, memory 128 x 20, one head each), trained the paper's way.

The cost to compare is the distance from the Bayes-optimal predictor (logged as "optimal_cost").

    python -m experiments.train --task ngrams

Batch 1 with Graves' RMSProp and the elementwise clip, as for copy, at a learning rate of 1e-4, dropped
to 3e-5 from 91,287 sequences on and to 1e-5 from 171,940 (``lr_drops``), for 226,985 sequences.
The issue that asked for this search measured it on one seed: 1.85 bits per sequence above the optimum
after 65,000 sequences (12 minutes alone on this CPU), where Adam 1e-3 at batch 32 was 25.1 above after
108,640. Copy's decaying 3e-4 (halving every 10,000 sequences to the paper's 3e-5) started faster in a
5-minute search cell (``experiments/results/recipes.csv``: 152.5 bits after 7,594 sequences against 169.0
after 10,405 at 1e-4, optimum 137.0), but over 3 seeds it had slowed to about a bit per 2,000 sequences
and stood 20-23 bits above the optimum after 26,000 sequences, so it was stopped there. The measurement
of this config is the 3-seed result in ``experiments/results/ngrams``: 91,287 sequences at 1e-4 (1.6, 2.3
and 6.7 bits above the optimum), then 3e-5, which took 0.46-0.98 bits off every seed within 713 sequences
(0.90, 1.39 and 3.95 after 171,940), then 1e-5, which took 0.11-0.44 more off over 24,000 sequences (0.79,
1.14, 3.51 after 195,956) and then nothing more: 0.77, 1.29 and 3.33 after 226,985 (median 1.29, the
target 1). That run lowered the rate by hand, resuming with ``--learning-rate``; this config's
``lr_drops`` gives every update the rate it had there (the optimiser counts updates, and none was
skipped), in one run. It is the same recipe, not the same numbers: a rerun from scratch with this code
(2026-12-02) stood 0.1-1.4 bits per sequence off the committed run's evaluations after 2,000 sequences and
its seed 0 left the first plateau later (164.3 bits against 140.1 at 12,000): the runs part within the
first 2,000 updates, as training does under any change of rounding (which change in the program since
that run began does it was not traced). Each lower rate helped at first; more sequences at 3e-5 before
the drop to 1e-5 is the next thing to measure (a run of 3e-5 to 250,000 sequences, then 1e-5, was
started on 2026-12-02).
"""

import dataclasses

from experiments.config import TrainConfig
from experiments.configs.copy import PAPER_RECIPE, SMOKE


def get_config(smoke: bool = False) -> TrainConfig:
    config = TrainConfig(
        task="ngrams",
        steps=226_985,
        converged_bit_errors=0.0,  # no "solved" threshold: the figure is the distance from the optimum
        **{**PAPER_RECIPE, "learning_rate": 1e-4, "lr_half_life": 0, "eval_every": 2000},
        lr_drops="91287:3e-5,171940:1e-5",
    )
    if smoke:
        smoke_fields = {**SMOKE, "task_options": {"length": 12, "context": 2}, "lr_drops": "4:3e-5"}
        return dataclasses.replace(config, **smoke_fields)
    return config
