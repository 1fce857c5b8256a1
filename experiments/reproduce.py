"""Rerun the paper's experiments and regenerate ``experiments/results/``.

    python -m experiments.reproduce                      # every experiment (hours on 2 CPU cores)
    python -m experiments.reproduce --only copy copy_lstm
    python -m experiments.reproduce --quick                # copy and repeat copy, one seed each
    python -m experiments.reproduce --smoke --results /tmp/r   # a minute: the pipeline, not the results
    python -m experiments.reproduce --only ngrams --resume --minutes 40  # 40 more minutes of a run
    python -m experiments.reproduce --only priority_sort --resume --minutes 30 -- --steps 400000

Each experiment trains with ``experiments.train`` (several seeds in one program), evaluates with
``experiments.evaluate``, copies the small result files and figures to ``RESULTS/<name>/`` (never the
checkpoints), adds a row to ``RESULTS/summary.json``, and finally rewrites ``RESULTS/RESULTS.md`` and the
comparison figures with ``experiments.report``.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import shlex
import shutil
import sys
import time

from experiments import evaluate, report, train
from experiments.registry import EXPERIMENTS, KEEP, QUICK, RESULTS, summarise


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m experiments.reproduce", description=__doc__)
    parser.add_argument("--only", nargs="*", default=None, help=f"a subset of: {', '.join(EXPERIMENTS)}")
    parser.add_argument("--smoke", action="store_true", help="smoke configs, 2 steps: checks the pipeline")
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"{' and '.join(QUICK)} with one seed each and the default configs, into runs/quick",
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="continue each experiment's run directory from its last checkpoint instead of starting afresh",
    )
    parser.add_argument(
        "--minutes", type=float, default=None, help="this session's time budget (replaces the registry's)"
    )
    parser.add_argument(
        "train_flags",
        nargs=argparse.REMAINDER,
        help="-- then flags for experiments.train (after the registry's)",
    )
    parser.add_argument("--results", default=None, help=f"where results go (default {RESULTS})")
    parser.add_argument("--runs", default=None, help="where run directories go (default runs/reproduce)")
    args = parser.parse_args(argv)
    extra = args.train_flags[1:] if args.train_flags[:1] == ["--"] else args.train_flags
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
        if run_dir.exists() and not args.resume:
            shutil.rmtree(run_dir)
        flags = EXPERIMENTS[name] + ["--workdir", str(run_dir), "--no-progress"]
        if args.resume:
            flags += ["--resume"]
        if args.minutes is not None:
            flags += ["--max-minutes", str(args.minutes)]  # the last of a repeated flag wins
        flags += extra
        if args.quick:
            flags += ["--seeds", "1"]
        if args.smoke:
            flags += ["--smoke", "--steps", "2", "--seeds", "1" if args.quick else "2"]
        start = time.perf_counter()
        if train.main(flags) != 0 or evaluate.main([str(run_dir)]) != 0:
            print(f"error: {name} failed", file=sys.stderr)
            return 1
        wall = time.perf_counter() - start
        if args.resume:  # the earlier sessions' training time too
            trained = json.loads((run_dir / "summary.json").read_text())
            wall += trained["wall_seconds"] - trained["wall_seconds_this_session"]
        out = results / name
        out.mkdir(parents=True, exist_ok=True)
        for file in KEEP:
            if (run_dir / file).exists():
                shutil.copy2(run_dir / file, out / file)
        # Read just before writing: another reproduce process may have added its rows meanwhile.
        rows = json.loads(summary_path.read_text()) if summary_path.exists() else {}
        rows[name] = {
            **summarise(name, run_dir, wall),
            "command": "python -m experiments.train " + shlex.join(EXPERIMENTS[name] + extra),
        }
        summary_path.write_text(json.dumps(dict(sorted(rows.items())), indent=2))
        print(f"{name}: {rows[name]['converged']}/{rows[name]['seeds']} converged, {wall:.0f} s", flush=True)
    print(f"wrote {report.write(results)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
