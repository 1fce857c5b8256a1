"""Length buckets: exact trimming, the task's own length distribution, and the loss they leave unchanged."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import ntm
import tasks
from tasks import buckets, metrics


def test_scored_lengths_by_hand():
    mask = np.array([[0, 1, 1, 0, 0], [0, 0, 0, 0, 1], [0, 0, 0, 0, 0]])
    np.testing.assert_array_equal(buckets.scored_lengths(mask), [3, 5, 0])


def test_best_edges_by_hand():
    # Three sequences of length 2 and one of 10: two buckets cost 3*2 + 10 = 16 steps, one costs 40.
    assert buckets.best_edges(np.array([2, 2, 2, 10]), 10, 2) == (2, 10)
    assert buckets.best_edges(np.array([2, 2, 2, 10]), 10, 1) == (10,)
    # The task's longest length is always an edge, seen or not.
    assert buckets.best_edges(np.array([1, 2, 3]), 8, 2)[-1] == 8
    # Never more edges than distinct lengths.
    assert buckets.best_edges(np.array([4, 4]), 4, 6) == (4,)


@pytest.mark.parametrize("name", ["copy", "repeat_copy", "associative_recall"])
def test_bucketed_batches_fit_their_bucket_and_keep_the_length_distribution(name):
    task = tasks.get(name)
    sampler = buckets.Buckets(task, 4)
    assert len(sampler.edges) == 4 and sampler.edges[-1] == task.num_steps
    np.testing.assert_allclose(sampler.probabilities.sum(), 1.0)
    lengths = []
    for step in range(1500):
        bucket = sampler.bucket((step,))
        batch = sampler.sample((3, step), 2, bucket)
        low = sampler.edges[bucket - 1] if bucket else 0
        assert batch.inputs.shape[:2] == (2, sampler.edges[bucket]) == batch.mask.shape
        got = buckets.scored_lengths(batch.mask)
        assert np.all((got > low) & (got <= sampler.edges[bucket]))
        lengths.extend(got)
    # The same distribution of scored lengths as the unbucketed task: means within 3 standard errors.
    plain = buckets.scored_lengths(task.sample(11, 3000).mask)
    stderr = plain.std() * np.sqrt(1 / 3000 + 1 / len(lengths))
    assert abs(np.mean(lengths) - plain.mean()) < 3 * stderr
    # Less padded work than the task's fixed length.
    assert np.dot(sampler.probabilities, sampler.edges) < 0.8 * task.num_steps


def test_padding_beyond_the_longest_sequence_leaves_no_empty_bucket():
    # pad_to above what the task needs: the top bucket reaches pad_to but holds real lengths, so every
    # bucket drawn can be filled (an empty top bucket once made sampling give up after 100,000 draws).
    sampler = buckets.Buckets(tasks.get("copy", pad_to=100), 4)
    assert sampler.edges[-1] == 100 and np.all(sampler.probabilities > 0.2)
    for bucket in range(4):
        assert sampler.sample((0, bucket), 3, bucket).inputs.shape[1] == sampler.edges[bucket]


def test_bucket_sampling_is_a_function_of_the_seed():
    sampler = buckets.Buckets(tasks.get("copy"), 4)
    a, b = sampler.sample((0, 5), 3, 2), sampler.sample((0, 5), 3, 2)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)
    with pytest.raises(ValueError, match="bucket must be in"):
        sampler.sample(0, 1, 4)
    with pytest.raises(ValueError, match="num_buckets"):
        buckets.Buckets(tasks.get("copy"), 0)


@functools.partial(jax.jit, static_argnums=0)
def _loss(model, params, batch):
    return metrics.bits_per_sequence(model.apply({"params": params}, batch.inputs), batch.targets, batch.mask)


def test_trimmed_batch_has_the_same_loss_and_gradient_as_the_padded_one():
    task = tasks.get("repeat_copy", max_length=3, max_repeats=3, num_bits=4)
    model = ntm.Sequence(ntm.NTMCell(output_size=task.output_size, memory_size=16, word_size=6))
    padded = task.sample(0, 4)
    length = int(buckets.scored_lengths(padded.mask).max())
    assert length < task.num_steps
    trimmed = buckets.trim(padded, length)
    params = jax.jit(model.init)(jax.random.key(0), padded.inputs)["params"]
    np.testing.assert_allclose(_loss(model, params, trimmed), _loss(model, params, padded), rtol=1e-6)

    def mean_loss(p, batch):
        return jnp.mean(_loss(model, p, batch))

    g_trim = jax.jit(jax.grad(mean_loss))(params, trimmed)
    g_pad = jax.jit(jax.grad(mean_loss))(params, padded)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7), g_trim, g_pad)


def test_split_evaluation_batch_gives_the_same_means():
    task = tasks.get("associative_recall", max_items=4, num_bits=3, item_length=2)
    model = ntm.Sequence(ntm.NTMCell(output_size=task.output_size, memory_size=16, word_size=6))
    batch = task.sample(1, 64)
    params = jax.jit(model.init)(jax.random.key(1), batch.inputs)["params"]
    parts = buckets.split(batch, 3)
    assert 1 < len(parts) <= 3 and sum(len(p.mask) for p in parts) == 64
    assert all(p.inputs.shape[1] < task.num_steps for p in parts[:-1])
    whole = float(jnp.mean(_loss(model, params, batch)))
    weighted = sum(len(p.mask) / 64 * float(jnp.mean(_loss(model, params, p))) for p in parts)
    np.testing.assert_allclose(weighted, whole, rtol=1e-5)


def test_pad_appends_unscored_zero_steps():
    batch = tasks.get("copy", max_length=3).sample(0, 2)
    padded = buckets.pad(batch, 12)
    assert padded.inputs.shape == (2, 12, batch.inputs.shape[-1]) and padded.mask.shape == (2, 12)
    np.testing.assert_array_equal(padded.inputs[:, : batch.mask.shape[1]], batch.inputs)
    assert (
        not padded.inputs[:, batch.mask.shape[1] :].any() and not padded.mask[:, batch.mask.shape[1] :].any()
    )
    with pytest.raises(ValueError, match="cannot pad a batch of 12 steps to 5"):
        buckets.pad(padded, 5)


def test_given_edges_are_shared_by_a_shorter_task_and_its_batches_padded_to_them():
    full = buckets.Buckets(tasks.get("copy"), 4)
    short = buckets.Buckets(tasks.get("copy", max_length=5), 4, edges=full.edges)
    assert short.edges == full.edges
    for b, edge in enumerate(full.edges):
        if short.probabilities[b] > 0:
            batch = short.sample((1, b), 3, b)
            assert batch.mask.shape == (3, edge) and np.all(batch.mask.sum(-1) <= 5)
    with pytest.raises(ValueError, match=r"edges \(5, 3\) must ascend"):
        buckets.Buckets(tasks.get("copy", max_length=2), 2, edges=(5, 3))
    with pytest.raises(ValueError, match="must ascend and end at 41 steps or more"):
        buckets.Buckets(tasks.get("copy"), 2, edges=(10, 20))
