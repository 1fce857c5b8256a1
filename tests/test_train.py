"""Training from the command line: every task, no retracing, resume, kill, seeds, sharding, evaluate."""

import argparse
import dataclasses
import json
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import ntm
import tasks
from experiments import config as config_lib
from experiments import evaluate, train

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _run(workdir, *flags, task="copy"):
    argv = ["--task", task, "--smoke", "--workdir", str(workdir), "--no-progress", *flags]
    return train.main(argv)


def _costs(workdir) -> np.ndarray:
    return np.array([r["cost"] for r in train.read_jsonl(pathlib.Path(workdir) / "metrics.jsonl")])


@pytest.mark.parametrize("task", tasks.names())
def test_one_step_of_every_task_through_the_command_line(tmp_path, task):
    assert _run(tmp_path, "--steps", "1", task=task) == 0
    config = train.TrainConfig.from_json((tmp_path / "config.json").read_text())
    assert config.task == task and config.steps == 1
    metrics = train.read_jsonl(tmp_path / "metrics.jsonl")
    assert len(metrics) == 1 and np.isfinite(metrics[0]["cost"][0])
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["steps"] == 1 and set(summary["final_eval"]) == {"train"}  # the smoke eval_splits
    assert summary["stopped_by"] == "steps"
    assert (tmp_path / "checkpoints" / "1").is_dir()
    if task == "ngrams":
        assert summary["final_eval"]["train"]["optimal_cost"] > 0


def test_time_budget_ends_the_run_with_every_split_evaluated(tmp_path):
    # A budget spent by the first step (compile alone takes longer): the run stops there, evaluates every
    # split, checkpoints, and writes a summary saying why it stopped.
    flags = ["--steps", "1000", "--max-minutes", "1e-6", "--eval-splits", "", "--eval-every", "500"]
    assert _run(tmp_path, *flags) == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["steps"] == 1 and summary["stopped_by"] == "time budget"
    assert set(summary["final_eval"]) == set(tasks.get("copy", max_length=3, num_bits=4).evaluation())
    assert _complete_steps(tmp_path) == [1]


def test_evaluation_batches_and_the_ngram_optimum_are_made_once_per_run(monkeypatch):
    trainer = train.Trainer(config_lib.task_config("ngrams", smoke=True))
    calls = []
    original = tasks.Ngrams.optimal_bits_per_sequence
    monkeypatch.setattr(
        tasks.Ngrams, "optimal_bits_per_sequence", lambda self, b: calls.append(1) or original(self, b)
    )
    params = trainer.init_state().params
    first, second = trainer.evaluate(params), trainer.evaluate(params)
    assert first == second and first["train"]["optimal_cost"] > 0
    assert len(calls) == 1 and trainer.eval_batch("train") is trainer.eval_batch("train")


def test_optimizers_and_clipping():
    base = config_lib.task_config("copy", smoke=True)
    rmsprop = dataclasses.replace(
        base,
        optimizer="rmsprop",
        clip_elementwise=10.0,
        clip_global_norm=0.0,
        learning_rate=1e-4,
        lr_half_life=0,
    )
    params = {"w": np.array([1.0, -2.0], np.float32)}
    grads = {"w": np.array([100.0, -1e-3], np.float32)}
    opt = train.build_optimizer(rmsprop)
    updates, _ = opt.update(grads, opt.init(params), params)
    # Graves' RMSProp, first step from zero state: g clipped to 10, n = 0.05 g^2, gbar = 0.05 g,
    # update = -lr g / sqrt(n - gbar^2 + 1e-4) (momentum starts at zero).
    g = np.array([10.0, -1e-3])
    expected = -1e-4 * g / np.sqrt(0.05 * g**2 - (0.05 * g) ** 2 + 1e-4)
    np.testing.assert_allclose(updates["w"], expected, rtol=1e-4)
    adam_config = dataclasses.replace(
        base, optimizer="adam", learning_rate=1e-3, clip_elementwise=0.0, clip_global_norm=1.0, lr_half_life=0
    )
    adam = train.build_optimizer(adam_config)
    updates, _ = adam.update(grads, adam.init(params), params)
    np.testing.assert_allclose(np.abs(updates["w"]), 1e-3, rtol=2e-3)  # Adam's first step: lr sign(g)


@pytest.mark.parametrize("optimizer", ["rmsprop", "adam"])
def test_a_non_finite_gradient_skips_the_update_and_is_counted(optimizer):
    config = dataclasses.replace(config_lib.task_config("copy", smoke=True), optimizer=optimizer)
    opt = train.build_optimizer(config)
    params = {"w": np.array([1.0, -2.0], np.float32)}
    state = opt.init(params)
    for bad in (np.nan, np.inf):
        updates, state = opt.update({"w": np.array([bad, 1.0], np.float32)}, state, params)
        np.testing.assert_array_equal(updates["w"], 0.0)  # nothing moves, not even the finite entry
    assert int(train.skipped_updates(state)) == 2
    updates, state = opt.update({"w": np.array([1.0, 1.0], np.float32)}, state, params)
    assert np.all(np.isfinite(updates["w"])) and np.all(updates["w"] < 0)
    assert int(train.skipped_updates(state)) == 2


def test_the_compiled_step_skips_only_the_seed_whose_gradient_is_not_finite():
    config = dataclasses.replace(config_lib.task_config("copy", smoke=True), seeds=2, length_buckets=1)
    trainer = train.Trainer(config)
    state = trainer.init_state()
    before = jax.tree.map(np.asarray, state.params)
    batch = trainer.batch(0)
    inputs = np.asarray(batch.inputs).copy()
    inputs[0] = np.nan  # seed 0's sequences only: its loss and gradient are NaN
    state, stats = trainer.train_step(state, batch._replace(inputs=inputs))
    assert np.asarray(stats["skipped_updates"]).tolist() == [1, 0]
    after = jax.tree.map(np.asarray, state.params)
    same = jax.tree.leaves(jax.tree.map(lambda a, b: np.array_equal(a[0], b[0]), before, after))
    moved = jax.tree.leaves(jax.tree.map(lambda a, b: not np.array_equal(a[1], b[1]), before, after))
    assert all(same) and any(moved)
    assert all(np.all(np.isfinite(leaf)) for leaf in jax.tree.leaves(after))


@pytest.mark.parametrize("length_buckets", [1, 3])
def test_one_compile_per_length_bucket(length_buckets):
    config = config_lib.task_config("copy", smoke=True)
    options = {"max_length": 6, "num_bits": 4}
    trainer = train.Trainer(dataclasses.replace(config, task_options=options, length_buckets=length_buckets))
    state = trainer.init_state()
    lengths, shapes = set(), set()
    for step in range(12):
        batch = trainer.batch(step)
        lengths.add(tuple(np.asarray(batch.mask).sum(-1).ravel()))
        shapes.add(batch.inputs.shape)
        state, _ = trainer.train_step(state, batch)
    assert len(lengths) >= 4  # the drawn lengths differed
    assert len(shapes) == trainer.train_step._cache_size() <= length_buckets
    if length_buckets == 1:
        assert shapes == {(1, 4, 13, 5)}  # every batch padded to 2 * 6 + 1 steps
    else:
        assert len(shapes) > 1 and max(s[2] for s in shapes) <= 13


def test_convergence_is_three_evaluations_in_a_row():
    tracker = train.Convergence(num_seeds=2, threshold=0.1, needed=3)
    history = {  # step: bit errors of seeds 0 and 1
        10: [5.0, 0.05],
        20: [0.05, 0.0],
        30: [12.0, 0.0],  # seed 0 dips below and spikes back: not converged
        40: [0.09, 0.2],  # seed 1 had three in a row from step 10: converged at 10, then a relapse
        50: [0.0, 0.0],
        60: [0.01, 0.0],
    }
    for step, errors in history.items():
        tracker.update(step, errors)
    assert tracker.converged_at == [40, 10]
    assert tracker.first_below == [20, 10]
    assert tracker.relapses == [1, 1]
    assert tracker.worst_after == [12.0, 0.2]
    assert tracker.all_converged


def test_best_params_kept_per_seed():
    config = dataclasses.replace(config_lib.task_config("copy", smoke=True), seeds=2)
    trainer = train.Trainer(config)
    state = trainer.init_state()
    assert np.all(np.isinf(state.best_cost))
    state = train.keep_best(state, [3.0, 2.0])
    first = jax.tree.map(np.asarray, state.params)
    state, _ = trainer.train_step(state, trainer.batch(0))
    state = train.keep_best(state, [1.0, 5.0])  # seed 0 improved, seed 1 did not
    np.testing.assert_array_equal(state.best_cost, [1.0, 2.0])
    now = jax.tree.map(np.asarray, state.params)
    assert any(np.any(a != b) for a, b in zip(jax.tree.leaves(now), jax.tree.leaves(first), strict=True))
    for best, new, old in zip(*(jax.tree.leaves(t) for t in (state.best_params, now, first)), strict=True):
        np.testing.assert_array_equal(best[0], new[0])
        np.testing.assert_array_equal(best[1], old[1])


def test_learning_rate_half_life():
    config = dataclasses.replace(
        config_lib.task_config("copy", smoke=True), learning_rate=1e-3, lr_half_life=400, batch_size=4
    )
    schedule = train.learning_rate(config)
    # 400 sequences at batch 4 are 100 updates; floored at a tenth.
    np.testing.assert_allclose(
        [schedule(0), schedule(100), schedule(200), schedule(10_000)], [1e-3, 5e-4, 2.5e-4, 1e-4]
    )
    assert train.learning_rate(dataclasses.replace(config, lr_half_life=0)) == 1e-3


def test_learning_rate_drops_at_the_given_sequences():
    config = dataclasses.replace(
        config_lib.task_config("copy", smoke=True),
        learning_rate=1e-3,
        lr_drops="40:1e-4,80:1e-5",
        lr_half_life=0,
    )
    schedule = jax.jit(train.learning_rate(config))
    # 40 sequences at batch 4 are 10 updates: updates 0-9 at 1e-3, 10-19 at 1e-4, 20 on at 1e-5.
    rates = [float(schedule(jnp.asarray(u, jnp.int32))) for u in (0, 9, 10, 19, 20, 10_000)]
    np.testing.assert_allclose(rates, [1e-3, 1e-3, 1e-4, 1e-4, 1e-5, 1e-5], rtol=1e-6)


def test_an_optimiser_with_drops_makes_the_updates_of_a_run_resumed_at_each_rate():
    # A schedule of drops stands for a run whose rate was lowered by hand with --resume --learning-rate
    # (the batch-1 n-gram run's): the same optimiser updates, given the same gradients.
    base = dataclasses.replace(config_lib.task_config("copy", smoke=True), batch_size=1, lr_half_life=0)
    grads = [{"w": jnp.asarray([0.5 * (-1) ** k, 1.0 + k])} for k in range(6)]
    scheduled = train.build_optimizer(dataclasses.replace(base, learning_rate=1e-2, lr_drops="3:1e-3"))
    params = {"w": jnp.zeros(2)}
    state = scheduled.init(params)
    for g in grads:
        updates, state = scheduled.update(g, state, params)
        params = optax.apply_updates(params, updates)
    by_hand = {"w": jnp.zeros(2)}
    first = train.build_optimizer(dataclasses.replace(base, learning_rate=1e-2))
    hand_state = first.init(by_hand)
    for k, g in enumerate(grads):
        optimizer = first if k < 3 else train.build_optimizer(dataclasses.replace(base, learning_rate=1e-3))
        updates, hand_state = optimizer.update(g, hand_state, by_hand)
        by_hand = optax.apply_updates(by_hand, updates)
    np.testing.assert_allclose(params["w"], by_hand["w"], rtol=1e-6)
    assert not np.allclose(params["w"], 0.0)


def test_curriculum_stages_draw_from_their_tasks_and_evaluation_from_the_task():
    config = dataclasses.replace(
        config_lib.task_config("associative_recall", smoke=True),
        batch_size=4,
        length_buckets=1,
        curriculum="8:max_items=2,8:item_length=1,20:max_items=3",
    )
    assert config_lib.curriculum_stages(config.curriculum) == (
        (8, {"max_items": 2, "item_length": 1}),
        (20, {"max_items": 3, "item_length": 1}),
    )
    trainer = train.Trainer(config)
    assert [start for start, _, _ in trainer.stages] == [0, 2, 5]  # updates: sequences // batch size
    base = trainer.task.config
    assert (base.max_items, base.item_length) == (3, 2)
    for step, (items, length) in [
        (0, (3, 2)),
        (1, (3, 2)),
        (2, (2, 1)),
        (4, (2, 1)),
        (5, (3, 1)),
        (9, (3, 1)),
    ]:
        task, _ = trainer.stage(step)
        assert (task.config.max_items, task.config.item_length) == (items, length), step
        batch = trainer.batch(step)
        assert batch.inputs.shape[2] == trainer.task.num_steps  # padded to the task's shape: no new compile
        np.testing.assert_array_equal(batch.mask.sum(axis=-1), length)  # one target item of the stage's
    assert trainer.eval_tasks["train"] is trainer.task
    # A resumed run's trainer (a new one) draws the same batches at every stage.
    again = train.Trainer(config)
    for step in (1, 3, 7):
        for a, b in zip(trainer.batch(step), again.batch(step), strict=True):
            np.testing.assert_array_equal(a, b)


def test_curriculum_from_the_first_sequence_replaces_the_task_at_the_start():
    config = dataclasses.replace(
        config_lib.task_config("copy", smoke=True), curriculum="0:max_length=2", length_buckets=2
    )
    trainer = train.Trainer(config)
    assert len(trainer.stages) == 1 and trainer.stage(0)[0].config.max_length == 2
    assert trainer.stages[0][2].edges == trainer.buckets.edges  # the task's bucket edges: no new shapes
    for step in range(6):
        batch = trainer.batch(step)
        assert batch.mask.shape[-1] in trainer.buckets.edges
        assert np.all(batch.mask.sum(axis=-1) <= 2)  # no sequence longer than the stage's


def test_converged_run_writes_one_train_record_per_evaluation(tmp_path):
    # Every seed converges at the first evaluation (threshold far above any error); the final evaluation of
    # every split must not write the train record a second time.
    flags = ["--steps", "5", "--seeds", "2", "--eval-splits", "", "--stop-when-converged", "true"]
    assert _run(tmp_path, *flags, "--converged-bit-errors", "1e9", "--converged-evals", "2") == 0
    records = train.read_jsonl(tmp_path / "eval.jsonl")
    steps = [(r["step"], r["split"]) for r in records]
    assert len(steps) == len(set(steps))
    assert [r["step"] for r in records if r["split"] == "train"] == [1, 2]
    assert {r["split"] for r in records if r["step"] == 2} == set(
        tasks.get("copy", max_length=3, num_bits=4).evaluation()
    )
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["stopped_by"] == "converged" and summary["converged_at_step"] == [1, 1]


def test_resume_equals_uninterrupted(tmp_path):
    flags = ["--checkpoint-every", "2", "--length-buckets", "3"]  # the drawn bucket is a function of the step
    assert _run(tmp_path / "full", "--steps", "4", *flags) == 0
    assert _run(tmp_path / "split", "--steps", "2", *flags) == 0
    first = json.loads((tmp_path / "split" / "summary.json").read_text())
    assert _run(tmp_path / "split", "--steps", "4", *flags, "--resume") == 0
    np.testing.assert_allclose(_costs(tmp_path / "split"), _costs(tmp_path / "full"), rtol=1e-6)
    second = json.loads((tmp_path / "split" / "summary.json").read_text())
    # The run's wall time adds up its sessions.
    np.testing.assert_allclose(
        second["wall_seconds"], first["wall_seconds"] + second["wall_seconds_this_session"], rtol=1e-9
    )


def test_existing_run_needs_resume_and_a_matching_config(tmp_path, capsys):
    assert _run(tmp_path, "--steps", "1") == 0
    assert _run(tmp_path, "--steps", "2") == 2
    assert "already holds checkpoints: pass --resume" in capsys.readouterr().err
    assert _run(tmp_path, "--steps", "2", "--resume", "--memory-size", "9") == 2
    assert "memory_size: checkpoint has 16, command line has 9" in capsys.readouterr().err


def test_a_resumed_run_may_change_its_learning_rate(tmp_path):
    """Annealing by hand: the optimiser state carries over, the new rate applies from the resumed step."""
    assert _run(tmp_path, "--steps", "2", "--checkpoint-every", "2") == 0
    assert _run(tmp_path, "--steps", "4", "--resume", "--learning-rate", "0.5") == 0
    assert train.TrainConfig.from_json((tmp_path / "config.json").read_text()).learning_rate == 0.5
    assert json.loads((tmp_path / "summary.json").read_text())["steps"] == 4


def test_a_schedule_may_change_on_resume_but_not_appear_or_vanish():
    saved = dataclasses.replace(config_lib.task_config("ngrams", smoke=True), lr_drops="4:3e-5")
    config_lib.check_resumable(saved, dataclasses.replace(saved, lr_drops="8:1e-5,12:1e-6"))  # same state
    for changed, field in [
        (dataclasses.replace(saved, lr_drops=""), "lr_drops"),  # the optimiser state would differ
        (dataclasses.replace(saved, learning_rate=0.5), "learning_rate"),  # past a drop it would do nothing
    ]:
        with pytest.raises(ValueError, match=f"{field}: checkpoint has"):
            config_lib.check_resumable(saved, changed)
    constant = dataclasses.replace(saved, lr_drops="")
    config_lib.check_resumable(constant, dataclasses.replace(constant, learning_rate=0.5))  # by hand
    with pytest.raises(ValueError, match="lr_drops: checkpoint has ''"):
        config_lib.check_resumable(constant, saved)


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--task", "sort"], "unknown task 'sort'"),
        (["--model", "gru"], "model must be one of ('ntm', 'dnc', 'lstm'), got 'gru'"),
        (["--batch-size", "0"], "batch_size must be an integer >= 1, got 0"),
        (["--max-minutes", "-1"], "max_minutes must be >= 0 (0: no budget), got -1.0"),
        (["--task-option", "max_lenght=3"], "unknown CopyConfig field(s) ['max_lenght']"),
        (["--task-option", "max_length=abc"], "CopyConfig.max_length must be an integer >= 1, got 'abc'"),
        (["--eval-splits", "train,length_7"], "eval_splits='train,length_7' must name 'train' and only"),
        (["--clip-mode", "soft"], "clip_mode must be one of ('hard', 'tanh'), got 'soft'"),
        (
            ["--memory-backward", "manual"],
            "memory_backward must be one of ('custom', 'remat', 'autodiff'), got 'manual'",
        ),
        (["--length-buckets", "0"], "length_buckets must be an integer >= 1, got 0"),
        (["--converged-evals", "0"], "converged_evals must be an integer >= 1, got 0"),
        (["--lr-half-life", "-5"], "lr_half_life must be >= 0 (0: constant), got -5"),
        (["--lr-drops", "100:1e-4,50:1e-5"], "lr_drops: '50:1e-5' does not come after 100 sequences"),
        (["--lr-drops", "100-1e-4"], "lr_drops: '100-1e-4' is not SEQUENCES:RATE (e.g. 90000:3e-5)"),
        (["--lr-drops", "100:0"], "lr_drops: '100:0' needs sequences >= 1 and a finite rate > 0"),
        (["--lr-drops", "100:1e-4", "--lr-half-life", "50"], "are two schedules: set one"),
        (["--lr-drops", "100:inf"], "lr_drops: '100:inf' needs sequences >= 1 and a finite rate > 0"),
        (["--curriculum", "100-max_length=3"], "curriculum: '100-max_length=3' is not SEQUENCES:NAME=VALUE"),
        (["--curriculum", "5:max_length=3,2:max_length=4"], "curriculum: '2:max_length=4' comes before 5"),
        (
            ["--curriculum", "0:max_lenght=3"],
            "curriculum stage from 0 sequences ({'max_lenght': 3}): unknown",
        ),
        (["--curriculum", "0:num_bits=3"], "has 4 inputs and 3 outputs, the task 5 and 4"),
        (["--curriculum", "0:max_length=2,0:max_length=3"], "curriculum: max_length is set twice from 0"),
        (
            ["--curriculum", "0:max_length=2,1:max_length=3", "--batch-size", "2"],
            "stages from 0 and 1 sequences both begin at update 0 at batch size 2",
        ),
    ],
)
def test_bad_command_lines_are_clear_errors(tmp_path, capsys, flags, message):
    argv = ["--smoke", "--workdir", str(tmp_path), "--no-progress", *flags]
    assert train.main(argv) == 2
    assert message in capsys.readouterr().err


def test_a_boolean_flag_alone_means_true(capsys):
    parser = argparse.ArgumentParser()
    config_lib.add_config_flags(parser)
    assert parser.parse_args([]).remat is None  # unset: the task config's value
    assert parser.parse_args(["--remat"]).remat is True
    args = parser.parse_args(["--remat", "--steps", "3"])
    assert args.remat is True and args.steps == 3
    assert parser.parse_args(["--remat", "false"]).remat is False
    assert parser.parse_args(["--stop-when-converged", "yes"]).stop_when_converged is True
    with pytest.raises(SystemExit):
        parser.parse_args(["--remat", "maybe"])
    assert "expected a boolean, got 'maybe'" in capsys.readouterr().err


def _spawn(workdir, *flags):
    cmd = [sys.executable, "-m", "experiments.train", "--task", "copy", "--smoke", "--no-progress"]
    cmd += ["--workdir", str(workdir), *flags]
    return subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _complete_steps(workdir) -> list[int]:
    ckpt = pathlib.Path(workdir) / "checkpoints"
    return sorted(int(p.name) for p in ckpt.iterdir() if p.name.isdigit()) if ckpt.exists() else []


def _wait_for_checkpoint(proc, workdir, minimum, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline and proc.poll() is None:
        if _complete_steps(workdir) and _complete_steps(workdir)[-1] >= minimum:
            return
        time.sleep(0.2)
    proc.kill()
    raise AssertionError(f"no checkpoint at step {minimum}: {proc.communicate()[0]}")


def test_killed_run_resumes_from_its_last_complete_checkpoint(tmp_path):
    flags = ["--steps", "100000", "--checkpoint-every", "3", "--eval-every", "1000", "--log-every", "1"]
    proc = _spawn(tmp_path / "killed", *flags)
    _wait_for_checkpoint(proc, tmp_path / "killed", 6)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    last = _complete_steps(tmp_path / "killed")[-1]
    # A checkpoint caught half-written looks like this; resuming must ignore it.
    partial = tmp_path / "killed" / "checkpoints" / f"{last + 3}.orbax-checkpoint-tmp-1234"
    shutil.copytree(tmp_path / "killed" / "checkpoints" / str(last), partial)
    for f in sorted(partial.rglob("*"))[-3:]:
        if f.is_file():
            f.write_bytes(b"")
    end = str(last + 2)
    common = ["--checkpoint-every", "3", "--eval-every", "1000", "--log-every", "1"]
    assert _run(tmp_path / "killed", "--steps", end, "--resume", *common) == 0
    assert _run(tmp_path / "clean", "--steps", end, *common) == 0
    np.testing.assert_allclose(_costs(tmp_path / "killed"), _costs(tmp_path / "clean"), rtol=1e-6)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_interrupt_saves_a_checkpoint_at_the_current_step(tmp_path, signum):
    flags = ["--steps", "100000", "--checkpoint-every", "1000", "--eval-every", "1000", "--log-every", "1"]
    proc = _spawn(tmp_path, *flags)
    deadline = time.time() + 120
    while (
        time.time() < deadline and len(_costs(tmp_path) if (tmp_path / "metrics.jsonl").exists() else []) < 3
    ):
        time.sleep(0.2)
    proc.send_signal(signum)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 130, out
    assert "interrupted at step" in out
    steps = _complete_steps(tmp_path)
    assert steps and steps[-1] >= 3


def test_bad_run_directories_are_one_line_errors(tmp_path, capsys):
    assert _run(tmp_path / "empty", "--steps", "1", "--resume") == 2
    assert f"--resume: {tmp_path / 'empty'} holds no checkpoint to resume from" in capsys.readouterr().err
    (tmp_path / "file").write_text("not a directory")
    assert _run(tmp_path / "file", "--steps", "1") == 2
    err = capsys.readouterr().err
    assert err.strip() == f"error: --workdir {tmp_path / 'file'} is a file, not a directory"
    assert _run(tmp_path / "file" / "below", "--steps", "1") == 2
    assert "cannot create it" in capsys.readouterr().err


def test_k_seeds_in_one_program_equal_k_single_seed_runs(tmp_path):
    assert _run(tmp_path / "both", "--steps", "3", "--seeds", "2", "--seed", "5") == 0
    assert _run(tmp_path / "s5", "--steps", "3", "--seed", "5") == 0
    assert _run(tmp_path / "s6", "--steps", "3", "--seed", "6") == 0
    both = _costs(tmp_path / "both")
    np.testing.assert_allclose(both[:, 0], _costs(tmp_path / "s5")[:, 0], rtol=1e-5)
    np.testing.assert_allclose(both[:, 1], _costs(tmp_path / "s6")[:, 0], rtol=1e-5)
    summary = json.loads((tmp_path / "both" / "summary.json").read_text())
    assert summary["seeds"] == [5, 6] and len(summary["converged_at_step"]) == 2
    # Skipped updates are counted per seed, in the summary and in every metrics record.
    assert summary["skipped_updates"] == [0, 0]
    assert all(r["skipped_updates"] == [0, 0] for r in train.read_jsonl(tmp_path / "both" / "metrics.jsonl"))


SHARDED = """
import json, sys
import jax
from experiments import train
out = {}
for n in (4, 1):  # --num-devices 4 makes the four host devices itself, before JAX starts
    d = sys.argv[1] + f"/dev{n}"
    assert train.main(["--smoke", "--steps", "3", "--batch-size", "8", "--num-devices", str(n),
                       "--workdir", d, "--no-progress"]) == 0
    out[n] = [r["cost"][0] for r in train.read_jsonl(train.RunDir(d).metrics)]
assert jax.device_count() == 4, jax.devices()
print(json.dumps(out))
"""


def test_sharded_over_four_host_devices_equals_one_device(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "JAX_NUM_CPU_DEVICES"}
    env["JAX_PLATFORMS"] = "cpu"
    result = subprocess.run(
        [sys.executable, "-c", SHARDED, str(tmp_path)], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-3000:]
    costs = json.loads(result.stdout.strip().splitlines()[-1])
    np.testing.assert_allclose(costs["4"], costs["1"], rtol=1e-5)


def test_more_devices_than_visible_is_a_clear_error():
    config = dataclasses.replace(config_lib.task_config("copy", smoke=True), num_devices=2)
    with pytest.raises(ValueError, match=f"num_devices=2, but only {jax.device_count()} device"):
        train.Trainer(config)


def test_dnc_trains_and_evaluates_through_the_command_line(tmp_path, capsys):
    assert _run(tmp_path, "--steps", "2", "--model", "dnc", "--eval-splits", "train") == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["model"] == "dnc" and summary["steps"] == 2
    config = train.TrainConfig.from_json((tmp_path / "config.json").read_text())
    assert isinstance(train.build_model(config, tasks.get("copy")).cell, ntm.DNCCell)
    assert evaluate.main([str(tmp_path)]) == 0
    assert (tmp_path / "memory.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_evaluate_writes_the_table_and_figures(tmp_path, capsys):
    assert _run(tmp_path, "--steps", "2", "--seeds", "2", "--eval-splits", "train,length_10,length_120") == 0
    capsys.readouterr()
    assert evaluate.main([str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "length_120" in out and "bit errors/seq" in out
    table = json.loads((tmp_path / "generalisation.json").read_text())
    assert list(table) == ["train", "length_10", "length_120"]
    assert all(len(v["bit_errors"]) == 2 for v in table.values())
    csv_rows = (tmp_path / "generalisation.csv").read_text().splitlines()
    assert csv_rows[0] == "split,seed,cost,bit_errors" and len(csv_rows) == 1 + 2 * len(table)
    for name in ("learning_curve.png", "memory.png", "outputs.png"):
        data = (tmp_path / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000, name
    # The best params (kept at each evaluation) beside the last ones, in their own table.
    assert evaluate.main([str(tmp_path), "--params", "best", "--no-figures"]) == 0
    best = json.loads((tmp_path / "generalisation_best.json").read_text())
    summary = json.loads((tmp_path / "summary.json").read_text())
    np.testing.assert_allclose(best["train"]["cost"], summary["best_eval_cost"], rtol=1e-4)


def test_evaluate_errors(tmp_path, capsys):
    assert evaluate.main([str(tmp_path / "missing")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert evaluate.main([str(tmp_path)]) == 2
    assert "has no config.json" in capsys.readouterr().err
    (tmp_path / "config.json").write_text("{not json")
    assert evaluate.main([str(tmp_path)]) == 2
    assert f"{tmp_path / 'config.json'} is not a valid config (Expecting" in capsys.readouterr().err
    (tmp_path / "config.json").write_text('{"task": "copy", "batch_size": "32"}')  # a string, not an int
    assert evaluate.main([str(tmp_path)]) == 2
    assert "batch_size must be an integer >= 1, got '32'" in capsys.readouterr().err
    (tmp_path / "config.json").write_text('{"task": "copy", "hidden": 3}')  # from another version
    assert evaluate.main([str(tmp_path)]) == 2
    assert "config has unknown fields ['hidden']" in capsys.readouterr().err
    (tmp_path / "config.json").write_text('{"task": "copy"}')  # a config, but nothing trained yet
    assert evaluate.main([str(tmp_path)]) == 2
    assert "holds no complete checkpoint" in capsys.readouterr().err


def test_reproduce_quick_then_one_more_experiment_smoke(tmp_path):
    """``--quick`` (copy and repeat copy, one seed each), then n-grams added to the same results by a
    second run (its smoke default of 2 seeds); the report covers all three."""
    from experiments import report, reproduce

    results, runs = ["--results", str(tmp_path / "results")], ["--runs", str(tmp_path / "runs")]
    assert reproduce.main(["--quick", "--smoke", *results, *runs]) == 0
    rows = json.loads((tmp_path / "results" / "summary.json").read_text())
    assert set(rows) == {"copy", "repeat_copy"} and all(row["seeds"] == 1 for row in rows.values())
    assert reproduce.main(["--smoke", "--only", "ngrams", *results, *runs]) == 0
    rows = json.loads((tmp_path / "results" / "summary.json").read_text())
    assert set(rows) == {"copy", "repeat_copy", "ngrams"} and rows["ngrams"]["seeds"] == 2
    assert "train" in rows["copy"]["generalisation"]
    assert rows["ngrams"]["generalisation"]["train"]["optimal_cost"] > 0
    assert (tmp_path / "results" / "copy" / "learning_curve.png").exists()
    assert not (tmp_path / "results" / "copy" / "checkpoints").exists()
    assert reproduce.main(["--only", "nope"]) == 2
    # The report: one summary row per experiment, the n-gram optimum, a table and figure per task.
    text = (tmp_path / "results" / "RESULTS.md").read_text()
    assert "| `copy` | NTM (lstm controller) |" in text and "| `ngrams` | NTM (lstm controller) |" in text
    assert "(optimum " in text and "## copy" in text and "## repeat_copy" in text
    assert (tmp_path / "results" / "ngrams_comparison.png").stat().st_size > 1000
    assert report.main(["--results", str(tmp_path / "empty")]) == 2


def test_paper_sized_lstm_baseline_over_two_seeds_does_not_hang(tmp_path):
    # jit(vmap(init)) of the 3 x 256 baseline over two seeds once hung in XLA's CPU runtime. (Also the
    # LSTM baseline trained by the same loop as the NTM, through the command line.)
    cmd = [sys.executable, "-m", "experiments.train", "--task", "copy", "--model", "lstm", "--seeds", "2"]
    cmd += ["--steps", "1", "--eval-splits", "train", "--eval-batch-size", "8", "--batch-size", "4"]
    cmd += ["--task-option", "max_length=3", "--workdir", str(tmp_path), "--no-progress"]
    result = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert len(_costs(tmp_path)[0]) == 2


def test_throughput_fits_the_cost_of_an_update_and_of_a_time_step():
    from experiments import throughput

    fixed, per_step = throughput.fixed_and_per_step([11, 21, 41], [1e-3 + 11e-5, 1e-3 + 21e-5, 1e-3 + 41e-5])
    np.testing.assert_allclose([fixed, per_step], [1e-3, 1e-5], rtol=1e-9)


def test_the_task_itself_is_drawn_from_the_curriculums_last_stage():
    config = dataclasses.replace(config_lib.task_config("repeat_copy"), batch_size=2, seeds=1)
    trainer = train.Trainer(config)
    first = trainer.task_from  # where experiments.throughput and hoisting_ab time the step
    assert first == 24_000 // 2  # the last stage, at batch 2
    assert trainer.stage(first)[0].config.max_repeats == 10
    assert trainer.stage(first - 1)[0].config.max_repeats == 7
    assert train.Trainer(config_lib.task_config("copy")).task_from == 0  # no curriculum


def test_throughput_runs_only_the_device_counts_a_run_can_use(capsys):
    from experiments import throughput

    assert throughput.fits(1, 2, 2) and throughput.fits(1, 4, 2)  # one seed or two per device
    assert not throughput.fits(1, 1, 2) and not throughput.fits(1, 3, 2)  # batch 1 cannot be split
    assert throughput.fits(2, 3, 2) and throughput.fits(8, 1, 4) and not throughput.fits(2, 1, 4)
    # Once JAX has started, asking for more devices than it has is a one-line error.
    visible = jax.device_count()
    assert throughput.main(["--smoke", "--num-devices", "1", str(visible + 7), "--steps", "1"]) == 2
    assert f"--num-devices {visible + 7}, but {visible} device(s) are visible" in capsys.readouterr().err


def test_a_training_batch_of_a_given_bucket():
    config = dataclasses.replace(
        config_lib.task_config("copy", smoke=True), seeds=2, batch_size=3, length_buckets=3
    )
    trainer = train.Trainer(config)
    for i, edge in enumerate(trainer.buckets.edges):
        batch = trainer.batch(5, bucket=i)
        assert batch.inputs.shape[:3] == (2, 3, edge)
        assert not np.array_equal(batch.inputs[0], batch.inputs[1])  # each seed its own sequences
    drawn = trainer.buckets.bucket((5,))
    np.testing.assert_array_equal(trainer.batch(5, bucket=drawn).inputs, trainer.batch(5).inputs)
    unbucketed = train.Trainer(dataclasses.replace(config, length_buckets=1))
    with pytest.raises(ValueError, match="bucket=0, but this run has no length buckets"):
        unbucketed.batch(5, bucket=0)


def test_throughput_script_smoke(tmp_path, capsys):
    from experiments import throughput

    out = tmp_path / "t.json"
    argv = ["--smoke", "--task", "repeat_copy", "--seeds", "2", "--length-buckets", "1", "2"]
    argv += ["--per-bucket"]
    assert throughput.main([*argv, "--steps", "2", "--rounds", "1", "--out", str(out)]) == 0
    rows = json.loads(out.read_text())["rows"]
    assert [(r["task"], r["length_buckets"], r["seeds"]) for r in rows] == [
        ("repeat_copy", 1, 2),
        ("repeat_copy", 2, 2),
    ]
    longest = tasks.get("repeat_copy", max_length=2, max_repeats=2).num_steps
    assert rows[0]["edges"] == [longest] and rows[0]["mean_padded_steps"] == longest  # all padded
    assert len(rows[1]["edges"]) == 2 and max(rows[1]["edges"]) == longest
    assert rows[1]["mean_padded_steps"] < longest  # the buckets cut padding
    assert all(r["sequences_per_second"] > 0 and r["compile_seconds"] > 0 for r in rows)
    assert (
        all(r["peak_bytes"] > 0 for r in rows)
        and rows[1]["x_first"] == rows[1]["sequences_per_second"] / rows[0]["sequences_per_second"]
    )
    # --per-bucket: each bucket's steps timed alone (only where there are buckets), and the line through them
    assert "bucket_step_ms" not in rows[0]
    assert list(rows[1]["bucket_step_ms"]) == [str(e) for e in rows[1]["edges"]]
    assert all(ms > 0 for ms in rows[1]["bucket_step_ms"].values()) and "per_time_step_us" in rows[1]
    assert "ms per update" in capsys.readouterr().out
    assert throughput.main(["--seeds", "0"]) == 2
    assert throughput.main(["--task", "sorting"]) == 2
    assert "unknown --task sorting" in capsys.readouterr().err


def test_config_from_before_clip_mode_keeps_the_hard_clip():
    old = json.loads(config_lib.task_config("copy").to_json())
    del old["clip_mode"], old["length_buckets"], old["converged_evals"]
    config = train.TrainConfig.from_json(json.dumps(old))
    assert (config.clip_mode, config.length_buckets, config.converged_evals) == ("hard", 1, 1)
    assert config_lib.task_config("copy").clip_mode == "tanh"


@pytest.mark.parametrize("remat, backward", [(True, "remat"), (False, "autodiff")])
def test_config_from_before_memory_backward_keeps_its_backward(remat, backward):
    old = json.loads(config_lib.task_config("copy").to_json())
    del old["memory_backward"]
    old["remat_memory_step"] = remat
    assert train.TrainConfig.from_json(json.dumps(old)).memory_backward == backward
    del old["remat_memory_step"]
    default = config_lib.TrainConfig.memory_backward
    assert train.TrainConfig.from_json(json.dumps(old)).memory_backward == default


@pytest.mark.parametrize(
    "spec_type, names", [(ntm.core.NTMSpec, "NTM_OPTIONS"), (ntm.DNCSpec, "DNC_OPTIONS")]
)
def test_every_spec_option_is_one_training_flag_with_the_same_default(spec_type, names):
    # Each spec is written once (ntm.NTMSpec, ntm.DNCSpec); the training config repeats their options under
    # the same names and defaults, and build_model passes every one, so none can fall through again.
    spec_fields = {f.name: f.default for f in dataclasses.fields(spec_type)}
    config_fields = {f.name: f.default for f in dataclasses.fields(train.TrainConfig)}
    assert set(getattr(train, names)) == set(spec_fields) - {"output_size", "dtype"}
    for name in getattr(train, names):
        assert config_fields[name] == spec_fields[name], name
    assert config_lib.MEMORY_BACKWARDS == ntm.core.MEMORY_BACKWARDS
    config = dataclasses.replace(config_lib.task_config("copy", smoke=True), memory_init_value=0.25)
    model = train.build_model(config, tasks.get("copy", **config.task_options))
    assert model.cell.memory_init_value == 0.25 and model.cell.memory_size == config.memory_size


def test_profile_step_names_every_kernel_of_the_step(tmp_path, capsys):
    from experiments import benchmark, profile_step

    case = benchmark.Case(batch_size=2, max_length=2)  # copy lengths 1-2: 5 time steps
    result = profile_step.profile(case, steps=2)
    rows = result["rows"]
    assert rows and all(r["us_per_step"] >= 0 for r in rows)
    assert sum(r["share"] for r in rows) == pytest.approx(1.0)
    assert [r["us_per_step"] for r in rows] == sorted((r["us_per_step"] for r in rows), reverse=True)
    # The forward and backward time loops: their kernels run once per time step, the rest once per step.
    assert {r["where"] for r in rows} >= {"loop 0", "loop 1", "outside"}
    steps = 2 * case.max_length + 1
    assert all(r["calls_per_step"] == steps for r in rows if r["where"] != "outside")
    assert all(r["calls_per_step"] == 1 for r in rows if r["where"] == "outside")
    assert not any(" while(" in r["hlo"] for r in rows)  # a loop's own event would count its body twice
    assert result["kernels_per_step"] == sum(r["calls_per_step"] for r in rows)
    out = tmp_path / "p.json"
    argv = ["--batch-size", "2", "--max-length", "2", "--steps", "1", "--top", "3", "--out", str(out)]
    assert profile_step.main(argv) == 0
    assert len(json.loads(out.read_text())["results"]) == 1
    printed = capsys.readouterr().out
    assert "batch 2, NTM, memory backward custom" in printed and "loop 1" in printed
    assert profile_step.main(["--batch-size", "0"]) == 2
    assert "--batch-size 0" in capsys.readouterr().err


def test_benchmark_times_the_users_cell_and_takes_each_ratio_from_its_own_rows():
    from experiments import benchmark

    case = benchmark.Case(batch_size=2, max_length=2, cell=True, default_compiler=True)
    _, params, opt_state, batches, train_step, forward = benchmark.build(case, jnp.float32)
    assert "NTMCell_0" in str(jax.tree_util.tree_structure(params))  # the Linen cell's own parameters
    logits = forward(params, batches[0].inputs)
    assert logits.shape == batches[0].targets.shape[:2] + (batches[0].targets.shape[-1],)
    new_params, _ = jax.jit(train_step)(params, opt_state, batches[0])
    changed = jax.tree.map(lambda a, b: bool(jnp.any(a != b)), params, new_params)
    assert all(jax.tree.leaves(changed))
    with pytest.raises(ValueError, match="cell=True times the NTM's Linen cell only"):
        benchmark.build(dataclasses.replace(case, controller_only=True), jnp.float32)

    def row(ms, **kw):
        fields = dict(batch_size=1, default_compiler=True, controller_only=False, memory_backward="custom")
        return {**fields, "cell": False, **kw, "train_step_ms": ms}

    rows = [
        row(3.0),
        row(5.0, default_compiler=False),
        row(4.0, cell=True),
        row(9.0, memory_backward="autodiff"),
        row(1.0, controller_only=True),
        row(2.0, controller_only=True, default_compiler=False),
    ]
    assert benchmark.plain_jit_ratios(rows) == {1: 3.0}
    assert benchmark.plain_jit_ratios(rows, cell=True) == {1: 4.0}


def test_ab_commit_imports_another_commits_library_under_its_own_name(tmp_path, capsys, monkeypatch):
    from experiments import ab_commit

    monkeypatch.setattr(sys, "path", list(sys.path))  # import_at puts the folder on it

    other, sha = ab_commit.import_at("HEAD", str(tmp_path))
    assert other.__name__ == f"ntm_{sha}.core" and other is not ntm.core
    assert other.__file__.startswith(str(tmp_path))
    # Its modules import each other, not this checkout's: the same spec class is two classes.
    assert other.NTMSpec is not ntm.core.NTMSpec and other.heads.__name__ == f"ntm_{sha}.heads"
    results = ab_commit.measure({"a": other, "b": ntm.core}, [1], repeats=1, runs=1)
    assert [sorted(r["step_ms"]) for r in results] == [["a", "b", "controller only"]]
    assert all(t > 0 for t in results[0]["step_ms"].values())
    assert "new/old" in ab_commit.report(results, ["a", "b"])
    with pytest.raises(SystemExit):
        ab_commit.main(["--commit", "HEAD", "--runs", "0"])
    assert "--runs, --heads and --controller-size must be >= 1" in capsys.readouterr().err
