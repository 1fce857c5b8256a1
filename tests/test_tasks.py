"""The five tasks' encodings on small hand-written examples, their invariants, and the metrics."""

import dataclasses

import jax
import numpy as np
import pytest

import tasks
from tasks import metrics, ngrams


def _one(task, seed=0):
    batch = task.sample(seed, 1)
    return batch.inputs[0], batch.targets[0], batch.mask[0]


def test_copy_layout_by_hand():
    task = tasks.get("copy", num_bits=2, min_length=2, max_length=2, pad_to=7)
    x, y, m = _one(task)
    assert task.num_steps == 7 and x.shape == (7, 3) and y.shape == (7, 2)
    bits = x[:2, :2]
    np.testing.assert_array_equal(x[:, 2], [0, 0, 1, 0, 0, 0, 0])  # delimiter after 2 vectors
    np.testing.assert_array_equal(x[2:], [[0, 0, 1]] + [[0, 0, 0]] * 4)
    np.testing.assert_array_equal(y[3:5], bits)
    np.testing.assert_array_equal(m, [0, 0, 0, 1, 1, 0, 0])
    np.testing.assert_array_equal(y[[0, 1, 2, 5, 6]], 0)


def test_copy_episodes_layout_by_hand():
    task = tasks.get("copy_episodes", num_bits=2, episodes=2, min_length=2, max_length=2, pad_to=12)
    x, y, m = _one(task)
    assert task.num_steps == 12 and x.shape == (12, 3) and y.shape == (12, 2)
    # Episode 0: vectors at steps 0-1, delimiter at 2, recalled at 3-4; episode 1 the same from step 5.
    np.testing.assert_array_equal(x[:, 2], [0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0])
    np.testing.assert_array_equal(m, [0, 0, 0, 1, 1, 0, 0, 0, 1, 1, 0, 0])
    np.testing.assert_array_equal(y[3:5], x[0:2, :2])
    np.testing.assert_array_equal(y[8:10], x[5:7, :2])
    np.testing.assert_array_equal(x[[2, 3, 4, 7, 8, 9, 10, 11], :2], 0)
    assert tasks.get("copy_episodes").num_steps == 4 * 21


def test_copy_episodes_lengths_vary_per_episode():
    task = tasks.get("copy_episodes", episodes=3, min_length=1, max_length=5)
    batch = task.sample(3, 64)
    # Scored steps per sequence = the sum of its three episode lengths; delimiters = 3 per sequence.
    assert (batch.inputs[..., -1].sum(1) == 3).all()
    scored = batch.mask.sum(1)
    assert scored.min() >= 3 and scored.max() <= 15 and len(np.unique(scored)) > 4


def test_copy_lengths_cover_the_range_and_masks_match():
    task = tasks.get("copy")
    batch = task.sample(3, 512)
    lengths = batch.inputs[..., -1].argmax(axis=1)  # where the delimiter sits
    assert lengths.min() == 1 and lengths.max() == 20
    np.testing.assert_array_equal(batch.mask.sum(1), lengths)


def test_repeat_copy_layout_by_hand():
    task = tasks.get("repeat_copy", num_bits=2, min_length=2, max_length=2, min_repeats=3, max_repeats=3)
    x, y, m = _one(task)
    assert task.num_steps == 2 * 4 + 2 and x.shape == (10, 4) and y.shape == (10, 3)
    bits = x[:2, :2]
    np.testing.assert_allclose(x[2], [0, 0, 1, 0.3], rtol=1e-6)  # delimiter and count 3 / 10
    np.testing.assert_array_equal(x[3:], 0)
    np.testing.assert_array_equal(y[3:9, :2], np.concatenate([bits] * 3))
    np.testing.assert_array_equal(y[:, 2], [0] * 9 + [1])  # end marker after the last copy
    np.testing.assert_array_equal(m, [0, 0, 0] + [1] * 7)


def test_repeat_copy_count_normaliser_stays_fixed_in_evaluation():
    ev = tasks.get("repeat_copy").evaluation()
    assert list(ev) == [
        "train",
        "length_10_repeats_10",
        "length_20_repeats_10",
        "length_10_repeats_20",
        "length_20_repeats_20",
    ]
    both = ev["length_20_repeats_20"]
    assert both.num_steps == 20 * 21 + 2
    batch = both.sample(0, 16)
    np.testing.assert_allclose(batch.inputs[..., -1].max(axis=1), 2.0)  # 20 repeats / the fixed 10
    np.testing.assert_array_equal(batch.inputs[:, 20, -2], 1)  # every delimiter after 20 vectors
    np.testing.assert_array_equal(batch.mask.sum(1), 20 * 20 + 1)  # 20 copies of 20, then the end


def test_associative_recall_layout_by_hand():
    task = tasks.get("associative_recall", num_bits=2, item_length=2, min_items=3, max_items=3)
    x, y, m = _one(task, seed=4)
    assert task.num_steps == 3 * 3 + 2 * 2 + 2 == 15 and x.shape == (15, 4)
    np.testing.assert_array_equal(np.nonzero(x[:, 2])[0], [0, 3, 6])  # item delimiters
    np.testing.assert_array_equal(np.nonzero(x[:, 3])[0], [9, 12])  # query delimiters
    items = [x[1:3, :2], x[4:6, :2], x[7:9, :2]]
    query = x[10:12, :2]
    q = next(i for i in range(2) if np.array_equal(items[i], query))
    np.testing.assert_array_equal(y[13:15], items[q + 1])
    np.testing.assert_array_equal(m, [0] * 13 + [1, 1])


def test_associative_recall_target_is_the_item_after_the_query():
    task = tasks.get("associative_recall", max_items=6)
    batch = task.sample(5, 256)
    k, block = 3, 4
    for x, y, m in zip(batch.inputs, batch.targets, batch.mask, strict=True):
        n = int(x[:, 6].sum())
        items = [x[block * i + 1 : block * i + 1 + k, :6] for i in range(n)]
        query = x[block * n + 1 : block * n + 1 + k, :6]
        matches = [i for i in range(n - 1) if np.array_equal(items[i], query)]
        assert matches, "the query must be one of the first n - 1 items"
        scored = y[m > 0]
        assert any(np.array_equal(scored, items[i + 1]) for i in matches)


def test_priority_sort_targets_are_the_top_sorted_by_priority():
    task = tasks.get("priority_sort", num_inputs=6, num_outputs=4, num_bits=3)
    batch = task.sample(0, 64)
    for x, y, m in zip(batch.inputs, batch.targets, batch.mask, strict=True):
        priority = x[:6, 3]
        top = np.argsort(-priority)[:4]
        np.testing.assert_array_equal(y[7:11], x[top, :3])
        assert np.all(np.diff(priority[top]) <= 0)
        np.testing.assert_array_equal(m, [0] * 7 + [1] * 4)
        assert x[6, 4] == 1 and np.all(x[7:] == 0)
    assert np.all(np.abs(batch.inputs[:, :6, 3]) <= 1)


def test_ngram_optimal_predictor_closed_form_by_hand():
    # Context of 1 bit for a hand-workable example: bits 0 1 1 0 1 1.
    bits = np.array([[0, 1, 1, 0, 1, 1]])
    p = ngrams.optimal_probabilities(bits, context=1, beta=0.5)
    # t=0: no context, 0.5. t=1: context 0, nothing seen: 1/2. t=2: context 1, unseen: 1/2.
    # t=3: context 1, seen once followed by 1: (1 + .5)/(1 + 1) = .75.
    # t=4: context 0, seen once followed by 1: .75. t=5: context 1, seen twice (1 then 0): 1.5/3 = .5.
    np.testing.assert_allclose(p[0], [0.5, 0.5, 0.5, 0.75, 0.75, 0.5])


def test_ngram_sequences_follow_their_table_and_optimum_is_below_chance():
    task = tasks.get("ngrams")
    batch = task.sample(0, 64)
    x, y = batch.inputs, batch.targets
    np.testing.assert_array_equal(x[:, 1:, 0], y[:, :-1, 0])  # input is the previous bit
    np.testing.assert_array_equal(x[:, :, 1], np.eye(200)[0][None].repeat(64, 0))
    optimum = task.optimal_bits_per_sequence(batch)
    assert optimum.shape == (64,)
    assert 110 < optimum.mean() < 150  # well under the 200 bits of a fair coin


def test_same_seed_same_batch_different_seed_different_batch():
    for name in tasks.names():
        task = tasks.get(name)
        a, b, c = task.sample(7, 4), task.sample(7, 4), task.sample(8, 4)
        for u, v in zip(a, b, strict=True):
            np.testing.assert_array_equal(u, v)
        assert not np.array_equal(a.inputs, c.inputs), name
        k1 = task.sample(jax.random.key(1), 2)
        np.testing.assert_array_equal(k1.inputs, task.sample(jax.random.key(1), 2).inputs)


@pytest.mark.parametrize("name", tasks.names())
def test_shapes_fixed_by_config_and_padding_is_zero(name):
    task = tasks.get(name)
    batch = task.sample(0, 16)
    assert batch.inputs.shape == (16, task.num_steps, task.input_size)
    assert batch.targets.shape == (16, task.num_steps, task.output_size)
    assert batch.mask.shape == (16, task.num_steps)
    assert all(a.dtype == np.float32 for a in batch)
    assert set(np.unique(batch.mask)) <= {0.0, 1.0}
    np.testing.assert_array_equal(batch.targets[batch.mask == 0], 0)
    padded = task.replace(pad_to=task.num_steps + 5).sample(0, 16)
    assert padded.inputs.shape[1] == task.num_steps + 5
    np.testing.assert_array_equal(padded.inputs[:, task.num_steps :], 0)
    np.testing.assert_array_equal(padded.mask[:, task.num_steps :], 0)
    np.testing.assert_array_equal(padded.inputs[:, : task.num_steps], batch.inputs)


def test_evaluation_variants():
    copy = tasks.get("copy").evaluation()
    assert [t.config.max_length for t in copy.values()] == [20, 10, 20, 30, 50, 80, 120]
    assert copy["length_120"].num_steps == 241
    recall = tasks.get("associative_recall").evaluation()
    assert recall["items_20"].sample(0, 2).inputs[:, :, 6].sum(1).tolist() == [20, 20]


@pytest.mark.parametrize(
    "name, overrides, message",
    [
        ("copy", dict(min_length=5, max_length=3), "CopyConfig.min_length=5 is above max_length=3"),
        ("copy", dict(num_bits=0), r"CopyConfig.num_bits must be an integer >= 1, got 0"),
        ("copy", dict(pad_to=10), "CopyConfig.pad_to=10 cannot hold the longest sequence.* needs 41"),
        ("repeat_copy", dict(min_repeats=0), "RepeatCopyConfig.min_repeats must be an integer >= 1"),
        ("associative_recall", dict(min_items=1), "min_items must be an integer >= 2, got 1"),
        ("priority_sort", dict(num_outputs=30), "num_outputs=30 is above num_inputs=20"),
        ("ngrams", dict(beta=0.0), r"NgramConfig.beta must be > 0, got 0.0"),
        ("copy", dict(max_lenght=3), r"unknown CopyConfig field\(s\) \['max_lenght'\]"),
    ],
)
def test_bad_configs_name_the_field_and_value(name, overrides, message):
    with pytest.raises(ValueError, match=message):
        tasks.get(name, **overrides).sample(0, 1)


def test_unknown_task_and_bad_batch_size():
    with pytest.raises(ValueError, match="unknown task 'sort'; known tasks are copy, repeat_copy"):
        tasks.get("sort")
    with pytest.raises(ValueError, match="batch_size must be an integer >= 1, got 0"):
        tasks.get("copy").sample(0, 0)
    with pytest.raises(TypeError, match="seed must be an int, a JAX PRNG key or a numpy Generator"):
        tasks.get("copy").sample("zero", 1)


def test_configs_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        tasks.get("copy").config.max_length = 3


# Metrics ------------------------------------------------------------------------------------------


def test_bits_hand_values():
    logits = np.array([[[0.0, 2.0], [-1.0, 0.0]]], np.float32)  # [1, 2, 2]
    targets = np.array([[[1.0, 0.0], [0.0, 1.0]]], np.float32)
    mask = np.array([[1.0, 0.0]], np.float32)
    # Step 0: -log2(sigmoid(0)) = 1 bit; -log2(1 - sigmoid(2)) = log2(1 + e^2). Step 1 is masked.
    expected = 1.0 + np.log2(1 + np.exp(2.0))
    np.testing.assert_allclose(metrics.bits_per_sequence(logits, targets, mask), [expected], rtol=1e-6)
    mask_all = np.ones((1, 2), np.float32)
    expected_all = expected + np.log2(1 + np.exp(-1.0)) + 1.0
    np.testing.assert_allclose(
        metrics.bits_per_sequence(logits, targets, mask_all), [expected_all], rtol=1e-6
    )


def test_bit_errors_hand_values():
    logits = np.array([[[3.0, -2.0, 0.5], [1.0, 1.0, -1.0]], [[-1.0, -1.0, -1.0], [0, 0, 0]]], np.float32)
    targets = np.array([[[1, 1, 0], [1, 1, 1]], [[0, 0, 0], [1, 1, 1]]], np.float32)
    mask = np.array([[1, 1], [1, 0]], np.float32)
    np.testing.assert_array_equal(metrics.bit_errors_per_sequence(logits, targets, mask), [3, 0])


def test_perfect_prediction_scores_zero_errors_and_near_zero_bits():
    batch = tasks.get("copy").sample(0, 8)
    logits = np.where(batch.targets > 0.5, 20.0, -20.0).astype(np.float32)
    np.testing.assert_array_equal(metrics.bit_errors_per_sequence(logits, batch.targets, batch.mask), 0)
    assert np.all(np.asarray(metrics.bits_per_sequence(logits, batch.targets, batch.mask)) < 1e-5)
    summary = metrics.summary(np.zeros_like(logits), batch.targets, batch.mask)
    # Logit 0 costs exactly one bit per scored bit.
    np.testing.assert_allclose(summary["cost"], batch.mask.sum(1).mean() * 8, rtol=1e-6)


def test_metrics_reject_mismatched_shapes():
    with pytest.raises(ValueError, match=r"mask shape \(2, 3\) must be logits shape without channels"):
        metrics.bits_per_sequence(np.zeros((2, 4, 5)), np.zeros((2, 4, 5)), np.zeros((2, 3)))
    with pytest.raises(ValueError, match="does not match targets shape"):
        metrics.bit_errors_per_sequence(np.zeros((2, 4, 5)), np.zeros((2, 4, 4)), np.zeros((2, 4)))
