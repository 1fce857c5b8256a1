"""Rerun the paper's experiments and regenerate ``experiments/results/``.

    python -m experiments.reproduce                      # every experiment (hours on 2 CPU cores)
    python -m experiments.reproduce --only copy copy_lstm
    python -m experiments.reproduce --quick                # copy and repeat copy, one seed each
    python -m experiments.reproduce --smoke --results /tmp/r   # a minute: the pipeline, not the results

Each experiment trains with ``experiments.train`` (several seeds in one program), evaluates with
``experiments.evaluate``, copies the small result files and figures to ``RESULTS/<name>/`` (never the
checkpoints), adds a row to ``RESULTS/summary.json``, and finally rewrites ``RESULTS/RESULTS.md`` and the
comparison figures with ``experiments.report``.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import shutil
import statistics
import sys
import time

from experiments import evaluate, train

RESULTS = pathlib.Path(__file__).resolve().parent / "results"
KEEP = (
    "config.json",
    "summary.json",
    "metrics.jsonl",
    "eval.jsonl",
    "generalisation.json",
    "generalisation.csv",
    "learning_curve.png",
    "memory.png",
    "outputs.png",
)

# `--quick`: these experiments with one seed (seed 0) each.
QUICK = ("copy", "repeat_copy")

# name -> command-line flags of experiments.train; each task's recipe is in its config
# (experiments/configs/<task>.py). Runs that converge stop once every seed has stayed converged; the others
# stop at a budget of sequences (--steps, batch 1) or minutes, whichever comes first. The LSTM baselines
# train for as many sequences as the NTM they are compared with saw.
EXPERIMENTS: dict[str, list[str]] = {
    "copy": ["--task", "copy", "--seeds", "5"],
    "copy_feedforward": ["--task", "copy", "--seeds", "5", "--controller", "feedforward"],
    "copy_lstm": [
        *("--task", "copy", "--model", "lstm", "--seeds", "2", "--steps", "20000"),
        *("--stop-when-converged", "false", "--max-minutes", "20"),
    ],
    "repeat_copy": ["--task", "repeat_copy", "--seeds", "5", "--max-minutes", "40"],
    "associative_recall": ["--task", "associative_recall", "--seeds", "5", "--max-minutes", "30"],
    "associative_recall_feedforward": [
        *("--task", "associative_recall", "--seeds", "5", "--controller", "feedforward"),
        *("--max-minutes", "30"),
    ],
    "ngrams": ["--task", "ngrams", "--seeds", "3", "--max-minutes", "25"],
    "ngrams_lstm": ["--task", "ngrams", "--model", "lstm", "--seeds", "1", "--max-minutes", "15"],
    "priority_sort": ["--task", "priority_sort", "--seeds", "3", "--max-minutes", "25"],
    "priority_sort_lstm": [
        "--task",
        "priority_sort",
        "--model",
        "lstm",
        "--seeds",
        "1",
        "--max-minutes",
        "15",
    ],
}


def summarise(name: str, run_dir: pathlib.Path, wall: float) -> dict:
    summary = json.loads((run_dir / "summary.json").read_text())
    table = json.loads((run_dir / "generalisation.json").read_text())
    converged = [c for c in summary["converged_at_sequences"] if c is not None]
    return {
        "name": name,
        "task": summary["task"],
        "model": summary["model"],
        "seeds": len(summary["seeds"]),
        "converged": len(converged),
        "median_sequences_to_converge": statistics.median(converged) if converged else None,
        "sequences_to_converge": summary["converged_at_sequences"],
        "relapses": summary.get("relapses"),
        "worst_bit_errors_after_first_below": summary.get("worst_bit_errors_after_first_below"),
        "sequences_trained": summary["sequences"],
        "stopped_by": summary.get("stopped_by"),
        "wall_seconds": wall,
        "parameters": summary["parameters"],
        "generalisation": {
            split: {
                "median_cost": statistics.median(v["cost"]),
                "median_bit_errors": statistics.median(v["bit_errors"]),
                **({"optimal_cost": v["optimal_cost"]} if "optimal_cost" in v else {}),
            }
            for split, v in table.items()
        },
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m experiments.reproduce", description=__doc__)
    parser.add_argument("--only", nargs="*", default=None, help=f"a subset of: {', '.join(EXPERIMENTS)}")
    parser.add_argument("--smoke", action="store_true", help="smoke configs, 2 steps: checks the pipeline")
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"{' and '.join(QUICK)} with one seed each and the default configs, into runs/quick",
    )
    parser.add_argument("--results", default=None, help=f"where results go (default {RESULTS})")
    parser.add_argument("--runs", default=None, help="where run directories go (default runs/reproduce)")
    args = parser.parse_args(argv)
    names = args.only or (list(QUICK) if args.quick else list(EXPERIMENTS))
    if args.results is None:  # a quick run never overwrites the committed results
        args.results = "runs/quick/results" if args.quick else str(RESULTS)
    if args.runs is None:
        args.runs = "runs/quick" if args.quick else "runs/reproduce"
    unknown = [n for n in names if n not in EXPERIMENTS]
    if unknown:
        print(f"error: unknown experiment(s) {unknown}; known: {', '.join(EXPERIMENTS)}", file=sys.stderr)
        return 2
    results = pathlib.Path(args.results)
    summary_path = results / "summary.json"
    for name in names:
        run_dir = pathlib.Path(args.runs) / name
        if run_dir.exists():
            shutil.rmtree(run_dir)
        flags = EXPERIMENTS[name] + ["--workdir", str(run_dir), "--no-progress"]
        if args.quick:
            flags += ["--seeds", "1"]
        if args.smoke:
            flags += ["--smoke", "--steps", "2", "--seeds", "1" if args.quick else "2"]
        start = time.perf_counter()
        if train.main(flags) != 0 or evaluate.main([str(run_dir)]) != 0:
            print(f"error: {name} failed", file=sys.stderr)
            return 1
        wall = time.perf_counter() - start
        out = results / name
        out.mkdir(parents=True, exist_ok=True)
        for file in KEEP:
            if (run_dir / file).exists():
                shutil.copy2(run_dir / file, out / file)
        # Read just before writing: another reproduce process may have added its rows meanwhile.
        rows = json.loads(summary_path.read_text()) if summary_path.exists() else {}
        rows[name] = {
            **summarise(name, run_dir, wall),
            "command": "python -m experiments.train " + " ".join(EXPERIMENTS[name]),
        }
        summary_path.write_text(json.dumps(dict(sorted(rows.items())), indent=2))
        print(f"{name}: {rows[name]['converged']}/{rows[name]['seeds']} converged, {wall:.0f} s", flush=True)
    from experiments import report  # imports this module: not at the top

    print(f"wrote {report.write(results)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
