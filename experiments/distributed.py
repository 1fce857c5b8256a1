"""Training as several cooperating processes (JAX's multi-controller runtime) over one global mesh.

Every process runs the same program; ``jax.distributed.initialize`` joins them, after which
``jax.devices()`` lists every process's devices and a jitted step runs over all of them, each process
feeding the shards of the batch that live on its own devices. On CPU the cross-process collectives are
Gloo's (``jax_cpu_collectives_implementation``).

    python -m experiments.train --task copy --num-processes 2 --process-id 0 --coordinator host0:1234
    python -m experiments.train --task copy --num-processes 2 --process-id 1 --coordinator host0:1234

Without the flags, a process started by a cluster launcher that JAX recognises (SLURM, Open MPI, ...)
is joined from that launcher's environment when ``--distributed`` is given; otherwise the run is one
process.
"""

from __future__ import annotations

import jax
import numpy as np
from jax.experimental import multihost_utils


def initialize(
    coordinator: str | None, num_processes: int | None, process_id: int | None, auto: bool
) -> None:
    """Join the processes of a run (nothing for a single-process run).

    ValueError (one line) for an incomplete or inconsistent set of flags.
    """
    given = [coordinator is not None, num_processes is not None, process_id is not None]
    if not any(given) and not auto:
        return
    if any(given) and not all(given):
        raise ValueError("--coordinator, --num-processes and --process-id go together: give all three")
    if all(given):
        if num_processes < 1:
            raise ValueError(f"--num-processes must be >= 1, got {num_processes}")
        if not 0 <= process_id < num_processes:
            raise ValueError(f"--process-id must be in [0, {num_processes}), got {process_id}")
        if ":" not in coordinator:
            raise ValueError(f"--coordinator must be host:port, got {coordinator!r}")
    if num_processes == 1:
        return
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(
        coordinator_address=coordinator, num_processes=num_processes, process_id=process_id
    )


def is_main() -> bool:
    """Whether this process writes the run's logs, summary and figures (process 0)."""
    return jax.process_index() == 0


def agree(flag: bool) -> bool:
    """``flag`` of any process, the same answer in every process (a collective when there are several)."""
    if jax.process_count() == 1:
        return bool(flag)
    return bool(np.any(multihost_utils.process_allgather(np.asarray(bool(flag)))))


def barrier(name: str) -> None:
    """Wait until every process gets here (nothing for a single process)."""
    if jax.process_count() > 1:
        multihost_utils.sync_global_devices(name)


def to_global(tree, sharding):
    """Host arrays (the same values in every process) as global arrays with ``sharding`` (one sharding, or a
    pytree of them matching ``tree``); each process places only the shards of its own devices."""

    def put(x, s):
        x = np.asarray(x)
        return jax.make_array_from_callback(x.shape, s, lambda index: x[index])

    if isinstance(sharding, jax.sharding.Sharding):
        return jax.tree.map(lambda x: put(x, sharding), tree)
    return jax.tree.map(put, tree, sharding)


def host(x) -> np.ndarray:
    """The whole value of a global array on this host, gathered from the other processes if need be."""
    if jax.process_count() == 1 or x.is_fully_addressable or x.is_fully_replicated:
        return np.asarray(x)
    return np.asarray(multihost_utils.process_allgather(x, tiled=True))
