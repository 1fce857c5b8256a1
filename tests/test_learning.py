"""A tiny NTM learns a short copy task: the end-to-end check that gradients flow through memory."""

import jax
import jax.numpy as jnp
import numpy as np
import optax

import ntm
import tasks
from tasks import metrics


def test_tiny_ntm_learns_short_copy():
    task = tasks.get("copy", num_bits=4, min_length=1, max_length=4)
    model = ntm.Sequence(ntm.NTMCell(output_size=4, memory_size=16, word_size=8, controller_size=48))
    params = jax.jit(model.init)(jax.random.key(0), jnp.zeros((1, task.num_steps, task.input_size)))
    optimizer = optax.chain(optax.clip_by_global_norm(50.0), optax.adam(3e-3))
    opt_state = optimizer.init(params)

    def loss_fn(params, batch):
        logits = model.apply(params, batch.inputs)
        return jnp.mean(metrics.bits_per_sequence(logits, batch.targets, batch.mask))

    @jax.jit
    def step(params, opt_state, batch):
        loss, grads = jax.value_and_grad(loss_fn)(params, batch)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    losses = []
    for i in range(600):
        params, opt_state, loss = step(params, opt_state, task.sample((1, i), 32))
        losses.append(loss)
    losses = np.asarray(jax.device_get(losses))
    first, last = losses[:20].mean(), losses[-20:].mean()
    # Chance is 1 bit per target bit, 10 bits per sequence on average; a copy that works goes far below.
    assert first > 8.0
    assert last < 0.5 * first, (first, last)
