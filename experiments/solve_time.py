"""Wall time to solve a task with its default config, one process per seed, as a user would run it.

    python -m experiments.solve_time --task copy --seeds 5

Each seed runs ``python -m experiments.train --task TASK --seed S`` in a fresh process (compile included)
until every split's bit errors fall below the threshold or the step budget ends; the wall time is that of the
whole process. Writes ``experiments/results/solve_time_<task>.json``.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

RESULTS = pathlib.Path(__file__).resolve().parent / "results"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m experiments.solve_time", description=__doc__)
    parser.add_argument("--task", default="copy")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--out", default=None)
    args, extra = parser.parse_known_args(argv)
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(args.seeds):
            workdir = pathlib.Path(tmp) / f"seed{seed}"
            cmd = [sys.executable, "-m", "experiments.train", "--task", args.task, "--seed", str(seed)]
            cmd += ["--workdir", str(workdir), "--no-progress", *extra]
            start = time.perf_counter()
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
            wall = time.perf_counter() - start
            summary = json.loads((workdir / "summary.json").read_text())
            converged = summary["converged_at_sequences"][0]
            runs.append({"seed": seed, "wall_seconds": wall, "converged_at_sequences": converged})
            print(f"seed {seed}: {wall:.0f} s, converged at {converged} sequences", flush=True)
    solved = [r["wall_seconds"] for r in runs if r["converged_at_sequences"] is not None]
    result = {
        "task": args.task,
        "extra_flags": extra,
        "runs": runs,
        "solved": len(solved),
        "median_wall_seconds": statistics.median(r["wall_seconds"] for r in runs),
    }
    out = pathlib.Path(args.out) if args.out else RESULTS / f"solve_time_{args.task}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    median = result["median_wall_seconds"]
    print(f"{len(solved)}/{len(runs)} solved; median wall time {median:.0f} s; wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
