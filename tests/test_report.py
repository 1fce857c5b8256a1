"""The results report and figure helpers: tables from hand-made result directories."""

import json
import pathlib
import subprocess
import sys

import numpy as np
import pytest

from experiments import plotting, registry, report
from experiments.config import TrainConfig

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _experiment(root, name, *, model, converged, bit_errors, optimal=None):
    path = root / name
    path.mkdir(parents=True)
    config = {"model": model, "controller": "lstm", "lstm_layers": 3, "lstm_hidden_size": 256}
    summary = {
        "task": "ngrams" if optimal is not None else "copy",
        "model": model,
        "seeds": list(range(len(converged))),
        "sequences": 64_000,
        "converged_at_sequences": converged,
        "parameters": 1234,
        "wall_seconds_this_session": 90.0,
    }
    train = {"cost": [1.0, 3.0, 2.0], "bit_errors": bit_errors}
    if optimal is not None:
        train["optimal_cost"] = optimal
    table = {"train": train, "length_10": {"cost": [5.0, 7.0, 6.0], "bit_errors": [0.5, 0.0, 0.25]}}
    curve = [
        {"step": 10, "sequences": 320, "split": "train", "cost": [4.0, 5.0, 6.0], "bit_errors": [1, 2, 3]}
    ]
    (path / "config.json").write_text(json.dumps(config))
    (path / "summary.json").write_text(json.dumps(summary))
    (path / "generalisation.json").write_text(json.dumps(table))
    (path / "eval.jsonl").write_text("".join(json.dumps(r) + "\n" for r in curve))


def test_tables_hold_the_medians_and_the_paper(tmp_path):
    _experiment(tmp_path, "copy", model="ntm", converged=[3200, None, 6400], bit_errors=[0.0, 4.0, 0.05])
    _experiment(tmp_path, "copy_lstm", model="lstm", converged=[None, None, None], bit_errors=[9.0, 8.0, 7.0])
    text = report.write(tmp_path).read_text()
    # 2 of 3 converged, median of the converged (3,200 and 6,400), median cost 2.00, median errors 0.05.
    assert "| `copy` | NTM (lstm controller) | 1,234 | 2/3 | 4,800 | 64,000 | 2.00 | 0.05 | 1.5 min |" in text
    assert "| `copy_lstm` | LSTM 3 x 256 | 1,234 | 0/3 | - | 64,000 | 2.00 | 8.00 | 1.5 min |" in text
    assert registry.PAPER["copy_lstm"] in text
    # One generalisation table for the task, one column per model: median bit errors (median cost).
    assert "| length_10 | 0.25 (6.00) | 0.25 (6.00) |" in text
    assert (tmp_path / "copy_comparison.png").stat().st_size > 1000


def test_ngrams_cost_is_shown_beside_the_optimum(tmp_path):
    _experiment(
        tmp_path, "ngrams", model="ntm", converged=[None] * 3, bit_errors=[1.0, 1.0, 1.0], optimal=1.5
    )
    assert "| 2.00 (optimum 1.50) |" in report.write(tmp_path).read_text()


def test_no_results_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="no experiment results under"):
        report.write(tmp_path)


def test_model_labels():
    assert TrainConfig(controller="feedforward").model_label == "NTM (feedforward controller)"
    assert TrainConfig(model="lstm", lstm_layers=2, lstm_hidden_size=64).model_label == "LSTM 2 x 64"


def test_memory_picture_crops_to_the_rows_a_head_focused_on():
    weights = np.full((4, 128), 0.05)  # diffuse everywhere: under the threshold
    weights[1, 10] = 0.9
    weights[3, 20] = 0.5
    np.testing.assert_array_equal(plotting.rows_in_use(weights), np.arange(8, 23))  # 10..20, margin 2
    np.testing.assert_array_equal(plotting.rows_in_use(np.full((4, 128), 1 / 128)), np.arange(128))


def test_memory_picture_crops_circularly_across_the_wrap():
    weights = np.zeros((9, 128))
    weights[np.arange(9), [120, 121, 122, 123, 124, 125, 126, 127, 0]] = 1.0  # a head walking past row 127
    rows = plotting.rows_in_use(weights)
    np.testing.assert_array_equal(rows, [*range(118, 128), 0, 1, 2])
    weights[0, 30] = 1.0  # now the largest gap is 30..120: the window runs from 120 round to 30
    np.testing.assert_array_equal(plotting.rows_in_use(weights), [*range(118, 128), *range(33)])
    weights[0, ::4] = 1.0  # used rows all over the memory: every row, in order
    np.testing.assert_array_equal(plotting.rows_in_use(weights), np.arange(128))


@pytest.mark.parametrize("module", ["report", "registry", "rundir", "convergence", "config"])
def test_reading_results_loads_neither_jax_nor_orbax(module):
    code = f"import sys, experiments.{module}; sys.exit(any(m in sys.modules for m in ('jax', 'orbax')))"
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT).returncode == 0


def test_the_committed_results_load_as_the_report_reads_them():
    """Every committed experiment's config.json is a TrainConfig of this version, and the report reads
    them all (a field a later change removed once broke it)."""
    configs = sorted(registry.RESULTS.glob("*/config.json"))
    assert len(configs) >= len(registry.EXPERIMENTS)
    for path in configs:
        TrainConfig.from_json(path.read_text())
    assert set(report.load(registry.RESULTS)) == set(registry.EXPERIMENTS)
