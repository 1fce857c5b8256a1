"""The results tables and comparison figures, beside the paper's figures.

    python -m experiments.report                      # experiments/results -> RESULTS.md + *_comparison.png
    python -m experiments.report --results /tmp/r

Reads every ``RESULTS/<experiment>/`` directory written by ``experiments.reproduce`` (summary.json,
generalisation.json, eval.jsonl) and writes ``RESULTS/RESULTS.md`` (one summary table, one generalisation
table per task) and ``RESULTS/<task>_comparison.png`` (median cost over seeds against sequences seen, with the
seeds' range shaded, one line per model). Nothing is retrained or re-evaluated.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from experiments.config import TrainConfig  # noqa: E402
from experiments.registry import EXPERIMENTS, PAPER, RESULTS, summarise  # noqa: E402
from experiments.rundir import read_jsonl  # noqa: E402


def load(results: pathlib.Path) -> dict[str, dict]:
    """Every experiment with a result directory: its summary row, label and train-split evaluations."""
    found = {}
    for name in EXPERIMENTS:
        path = results / name
        if not (path / "summary.json").exists() or not (path / "generalisation.json").exists():
            continue
        summary = json.loads((path / "summary.json").read_text())
        wall = summary.get("wall_seconds", summary.get("wall_seconds_this_session"))
        config = TrainConfig.from_json((path / "config.json").read_text())
        found[name] = {
            "row": summarise(name, path, wall),
            "curve": [r for r in read_jsonl(path / "eval.jsonl") if r["split"] == "train"],
            "label": config.model_label,
        }
    return found


def _number(value, spec: str = ",.0f") -> str:
    return "-" if value is None else format(value, spec)


def summary_table(found: dict[str, dict]) -> str:
    """One row per experiment: seeds converged, sequences to converge, final cost, wall time, paper."""
    lines = [
        "| experiment | model | params | seeds converged | median sequences to converge (converged seeds) "
        "| sequences trained per seed | final cost (bits/seq) | final bit errors/seq | wall time | paper |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in found.items():
        row, train = r["row"], r["row"]["generalisation"]["train"]
        wall = row["wall_seconds"]
        cost = f"{train['median_cost']:.2f}"
        if "optimal_cost" in train:
            cost += f" (optimum {train['optimal_cost']:.2f})"
        lines.append(
            f"| `{name}` | {r['label']} | {_number(row['parameters'])} | {row['converged']}/{row['seeds']} | "
            f"{_number(row['median_sequences_to_converge'])} | {row['sequences_trained']:,} | {cost} | "
            f"{train['median_bit_errors']:.2f} | {_number(wall and wall / 60, '.1f')} min | {PAPER[name]} |"
        )
    return "\n".join(lines)


def generalisation_table(found: dict[str, dict], names: list[str]) -> str:
    """Median bit errors per sequence (and median cost) on each evaluation split, one column per model."""
    splits = list(found[names[0]]["row"]["generalisation"])
    header = "| split | " + " | ".join(f"{found[n]['label']}: bit errors (cost)" for n in names) + " |"
    lines = [header, "|---" * (len(names) + 1) + "|"]
    for split in splits:
        cells = []
        for n in names:
            v = found[n]["row"]["generalisation"].get(split)
            cells.append("-" if v is None else f"{v['median_bit_errors']:.2f} ({v['median_cost']:.2f})")
        lines.append(f"| {split} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def comparison_figure(found: dict[str, dict], names: list[str], path: pathlib.Path, title: str):
    """Median eval cost over seeds against sequences seen, the seeds' min-max shaded; one line per model."""
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    optimum = None
    for n in names:
        curve = found[n]["curve"]
        if not curve:
            continue
        sequences = np.array([r["sequences"] for r in curve])
        cost = np.array([r["cost"] for r in curve])  # [evals, seeds]
        seeds = cost.shape[1]
        (line,) = ax.plot(sequences, np.median(cost, axis=1), lw=1.8, label=f"{found[n]['label']} ({seeds})")
        if seeds > 1:
            ax.fill_between(sequences, cost.min(axis=1), cost.max(axis=1), color=line.get_color(), alpha=0.2)
        if "optimal_cost" in curve[-1]:
            optimum = float(np.median([r["optimal_cost"] for r in curve]))
    if optimum is not None:
        ax.axhline(optimum, color="black", ls="--", lw=1, label=f"Bayes optimum ({optimum:.1f})")
    else:
        ax.set_yscale("symlog", linthresh=1.0)
        ax.set_ylim(bottom=0)
    ax.set_xlabel("sequences")
    ax.set_ylabel("cost (bits / sequence)")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper right", fontsize=8, title="model (seeds): median, range shaded", title_fontsize=8)
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def write(results: pathlib.Path) -> pathlib.Path:
    """Writes RESULTS.md and the comparison figures; returns the path of RESULTS.md."""
    found = load(results)
    if not found:
        raise ValueError(f"no experiment results under {results} (run experiments.reproduce first)")
    by_task: dict[str, list[str]] = {}
    for name in found:
        by_task.setdefault(found[name]["row"]["task"], []).append(name)
    parts = [
        "# Results",
        "",
        "Written by `python -m experiments.report` from the directories beside this file. Wall times",
        "are those of the training runs (compile and periodic evaluations included) on the machine that",
        "ran them; a run stopped by its `--max-minutes` budget then evaluates every split once more, which",
        "the time includes. Medians are over seeds; costs and bit errors are per sequence, on 640 fresh",
        "sequences.",
        "",
        summary_table(found),
    ]
    for task, names in by_task.items():
        figure = comparison_figure(found, names, results / f"{task}_comparison.png", task.replace("_", " "))
        parts += ["", f"## {task}", "", generalisation_table(found, names), "", f"![{task}]({figure.name})"]
        parts += [""] + [f"- `{n}`: `python -m experiments.reproduce --only {n}`" for n in names]
    path = results / "RESULTS.md"
    path.write_text("\n".join(parts) + "\n")
    return path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m experiments.report", description=__doc__)
    parser.add_argument("--results", default=str(RESULTS), help="the directory experiments.reproduce wrote")
    args = parser.parse_args(argv)
    try:
        path = write(pathlib.Path(args.results))
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
