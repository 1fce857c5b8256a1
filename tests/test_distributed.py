"""Training as two cooperating processes on this machine (experiments.launch, experiments.distributed):
the same numbers as one process on the same global batch, seeds spread over processes, and a run that
loses a process and resumes."""

import json
import os
import pathlib
import signal
import subprocess
import sys
import time

import jax
import numpy as np
import pytest

from experiments import checkpoints, distributed, launch, train
from experiments import config as config_lib
from experiments.rundir import RunDir

# One pytest-xdist worker runs this module: its two-process runs take both cores while they compile (and the
# other worker keeps a core for the rest of the suite).
pytestmark = pytest.mark.xdist_group("distributed")

SMOKE = ["--task", "copy", "--smoke", "--no-progress", "--length-buckets", "1"]  # one shape: one compile
ENV = dict(os.environ, JAX_PLATFORMS="cpu")
TIMEOUT = 240


def _launch(workdir, *flags, processes=2):
    argv = ["--processes", str(processes), "--", *SMOKE, "--workdir", str(workdir), *flags]
    return launch.main(argv)


def _final_params(workdir) -> dict:
    """The last checkpoint's params, restored in this (single) process."""
    run = RunDir(workdir)
    trainer = train.Trainer(config_lib.read_config(run.config))
    manager = checkpoints.checkpoint_manager(run)
    state = checkpoints.restore_checkpoint(manager, trainer.init_state())
    manager.close()
    return jax.device_get(state.params), int(state.step)


def _costs(workdir) -> np.ndarray:
    return np.array([r["cost"] for r in train.read_jsonl(pathlib.Path(workdir) / "metrics.jsonl")])


def _assert_params_close(a, b, rtol):
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        np.testing.assert_allclose(x, y, rtol=rtol, atol=rtol)


# One seed at batch 4: over two processes each holds half of every batch, and the gradient is their mean.
ONE_SEED = ["--steps", "30", "--checkpoint-every", "10", "--log-every", "5", "--eval-every", "10"]
ONE_SEED += ["--seeds", "1", "--batch-size", "4"]


def test_two_processes_that_lose_one_resume_and_equal_one_process(tmp_path):
    """A two-process run loses process 1 (SIGKILL) once its first checkpoint is written; process 0 then fails
    in a collective or is killed too. Both resume, and the run ends where one process trained on the same
    global batches ends: the records from before the loss and from after the resume, and the final params.
    (One run for all of it: each two-process launch compiles its programs again in process 1, which reads
    no compilation cache.)"""
    killed, one = tmp_path / "killed", tmp_path / "one"
    cmds = launch.commands(2, launch.free_port(), [*SMOKE, "--workdir", str(killed), *ONE_SEED])
    procs = [
        subprocess.Popen(cmd, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for cmd in cmds
    ]
    try:
        start = time.monotonic()
        while not any((killed / "checkpoints").glob("[0-9]*/commit_success.txt")):
            assert time.monotonic() - start < TIMEOUT and procs[1].poll() is None, "no checkpoint written"
            time.sleep(0.05)
        procs[1].send_signal(signal.SIGKILL)
        procs[1].wait()
        try:  # process 0 fails in its next collective, or is stopped here
            procs[0].wait(timeout=10)
        except subprocess.TimeoutExpired:
            procs[0].kill()
            procs[0].wait()
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    latest = max(int(p.name) for p in (killed / "checkpoints").iterdir() if p.name.isdigit())
    assert 10 <= latest < 30
    assert _launch(killed, *ONE_SEED, "--resume") == 0
    assert train.main([*SMOKE, "--workdir", str(one), *ONE_SEED]) == 0
    # Sums over a batch split in two are added in another order: float32 rounding, not more.
    np.testing.assert_allclose(_costs(killed), _costs(one), rtol=1e-5)
    (two, steps_two), (alone, steps_one) = _final_params(killed), _final_params(one)
    assert steps_two == steps_one == 30
    _assert_params_close(two, alone, rtol=1e-5)
    # Process 0 alone wrote the logs: one record per window, not two, and none twice after the resume.
    assert len(_costs(killed)) == 30 // 5
    summary = json.loads((killed / "summary.json").read_text())
    assert summary["steps"] == 30 and len(summary["best_eval_cost"]) == 1


def test_two_processes_with_two_seeds_equal_both_seeds_in_one_process(tmp_path):
    """--seeds 2 over two processes puts one seed on each; each equals that seed trained in one process
    (where k seeds in one program equal k single-seed runs: tests/test_train.py)."""
    flags = ["--steps", "3", "--seeds", "2"]
    assert _launch(tmp_path / "two", *flags) == 0
    assert train.main([*SMOKE, "--workdir", str(tmp_path / "one"), *flags]) == 0
    np.testing.assert_allclose(_costs(tmp_path / "two"), _costs(tmp_path / "one"), rtol=1e-6)  # [steps, 2]
    (two, _), (one, _) = _final_params(tmp_path / "two"), _final_params(tmp_path / "one")
    _assert_params_close(two, one, 1e-6)


@pytest.mark.parametrize(
    "args, message",
    [
        (("localhost:1", None, None), "--coordinator, --num-processes and --process-id go together"),
        (("localhost:1", 2, 2), r"--process-id must be in \[0, 2\), got 2"),
        (("localhost", 2, 0), "--coordinator must be host:port, got 'localhost'"),
        (("localhost:1", 0, 0), "--num-processes must be >= 1, got 0"),
    ],
)
def test_bad_process_flags_are_clear_errors(args, message):
    with pytest.raises(ValueError, match=message):
        distributed.initialize(*args, auto=False)


MESH_CHECK = """
import dataclasses, numpy as np, jax
from experiments import config as config_lib, train
import tasks
base = config_lib.task_config("copy", smoke=True)
for seeds, batch, shape in ((2, 4, (2, 2)), (3, 4, (1, 4))):
    config = dataclasses.replace(base, seeds=seeds, batch_size=batch, length_buckets=3)
    trainer = train.Trainer(config)
    assert trainer.mesh.devices.shape == shape, (seeds, trainer.mesh.devices.shape)
    got = trainer.batch(5)
    assert len(got.inputs.sharding.device_set) == 4
    for k, seed in enumerate(trainer.seeds):  # every shard holds its seed's own sequences
        want = trainer.buckets.sample((seed, 5), batch, trainer.buckets.bucket((5,)))
        np.testing.assert_array_equal(np.asarray(got.inputs)[k], want.inputs)
        np.testing.assert_array_equal(np.asarray(got.mask)[k], want.mask)
    state = trainer.init_state()
    state, stats = trainer.train_step(state, got)
    assert np.isfinite(np.asarray(stats["cost"])).all() and stats["cost"].shape == (seeds,)
    # Each seed's statistics come back from its own devices, not replicated on all.
    assert stats["cost"].sharding.spec == jax.sharding.PartitionSpec("seed")
    assert stats["cost"].is_fully_replicated == (shape[0] == 1), shape
# The throughput script's rule for which (batch, seeds, devices) can run is the mesh's.
from experiments import throughput
for d in range(1, 5):
    for k in range(1, 9):
        for b in range(1, 9):
            assert throughput.fits(b, k, d) == (b % train.make_mesh(d, k).shape["data"] == 0), (b, k, d)
print("ok")
"""


def test_mesh_spreads_seeds_over_devices_before_the_batch():
    """On 4 devices: 2 seeds -> 2 x 2 (seed, data), 3 seeds -> 1 x 4; each
    shard of a batch holds its own seed's sequences, and a step runs."""
    env = dict(ENV, XLA_FLAGS=f"{ENV.get('XLA_FLAGS', '')} --xla_force_host_platform_device_count=4")
    out = subprocess.run(
        [sys.executable, "-c", MESH_CHECK], env=env, capture_output=True, text=True, timeout=TIMEOUT
    )
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-2000:]
