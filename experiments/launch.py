"""Start a training run as several processes on this machine (JAX's multi-controller runtime on CPU).

    python -m experiments.launch --processes 2 -- --task copy --seeds 2 --workdir runs/copy-2p
    python -m experiments.launch --processes 2 -- --task copy --seeds 2 --workdir runs/copy-2p --resume

Each process is ``python -m experiments.train <flags> --num-processes N --process-id i --coordinator
localhost:PORT``, with ``--devices-per-process`` CPU devices of its own. The launcher waits for all of
them; if one fails, it stops the others (SIGTERM: each saves a checkpoint between steps) and returns the
first failure's exit status. Ctrl-C is passed on the same way. On several machines, run the same
``experiments.train`` command on each host with its own ``--process-id`` and process 0's host as the
coordinator (see the README).
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time


def free_port() -> int:
    """A TCP port that was free a moment ago on localhost."""
    with socket.socket() as sock:
        sock.bind(("localhost", 0))
        return sock.getsockname()[1]


def commands(processes: int, port: int, train_flags: list[str]) -> list[list[str]]:
    """The command line of each process."""
    base = [sys.executable, "-m", "experiments.train", *train_flags]
    base += ["--num-processes", str(processes), "--coordinator", f"localhost:{port}"]
    return [base + ["--process-id", str(i)] for i in range(processes)]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m experiments.launch", description=__doc__)
    parser.add_argument("--processes", type=int, default=2, help="number of processes (default 2)")
    parser.add_argument("--devices-per-process", type=int, default=1, help="CPU devices of each process")
    parser.add_argument("--port", type=int, default=None, help="coordinator port (default: a free one)")
    parser.add_argument("train_flags", nargs=argparse.REMAINDER, help="-- then experiments.train's flags")
    args = parser.parse_args(argv)
    flags = args.train_flags[1:] if args.train_flags[:1] == ["--"] else args.train_flags
    if args.processes < 1:
        print(f"error: --processes must be >= 1, got {args.processes}", file=sys.stderr)
        return 2
    env = dict(os.environ, JAX_PLATFORMS="cpu")
    if args.devices_per_process > 1:
        device_flag = f"--xla_force_host_platform_device_count={args.devices_per_process}"
        env["XLA_FLAGS"] = f"{env.get('XLA_FLAGS', '')} {device_flag}".strip()
    port = args.port or free_port()
    procs = [
        # Sessions of their own: Ctrl-C reaches the launcher alone, which passes it on once as SIGTERM (a
        # second signal would stop a process in the middle of a step, out of step with the others).
        subprocess.Popen(cmd, env=env, stdout=None if i == 0 else subprocess.DEVNULL, start_new_session=True)
        for i, cmd in enumerate(commands(args.processes, port, flags))
    ]
    status, deadline = 0, None
    try:
        while any(p.poll() is None for p in procs):
            failed = [p.returncode for p in procs if p.returncode not in (None, 0)]
            if failed and not status:
                status, deadline = failed[0], time.monotonic() + GRACE_SECONDS
                stop(procs, signal.SIGTERM)
            if deadline is not None and time.monotonic() > deadline:  # stuck in a collective
                stop(procs, signal.SIGKILL)
            time.sleep(0.2)
    except KeyboardInterrupt:
        stop(procs, signal.SIGTERM)
        try:
            for p in procs:
                p.wait(timeout=GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            stop(procs, signal.SIGKILL)
        return 130
    return status or next((p.returncode for p in procs if p.returncode), 0)


# Seconds the other processes get to save and stop once one has failed; a process waiting in a collective
# for the failed one cannot stop by itself, and is killed after them (its last checkpoint stands).
GRACE_SECONDS = 30


def stop(procs, sig) -> None:
    for p in procs:
        if p.poll() is None:
            p.send_signal(sig)


if __name__ == "__main__":
    sys.exit(main())
