"""Orbax checkpoints of a run's training state (any NamedTuple of arrays): the manager, whose save policy
decides which steps are saved; a save that returns once the checkpoint is on disk; and a restore into a
template of the same structure."""

from __future__ import annotations

import time
from typing import NamedTuple, TypeVar

import jax
import orbax.checkpoint as ocp

from experiments.rundir import RunDir

State = TypeVar("State", bound=NamedTuple)


def checkpoint_manager(run: RunDir, every: int = 1) -> ocp.CheckpointManager:
    """Saves every ``every`` steps (see :func:`save`) and keeps the two latest checkpoints under
    ``run.checkpoints``."""
    # The fixed interval alone: `save_interval_steps=every` would also bring Orbax's initial-save policy,
    # an extra checkpoint at the first step of every fresh run.
    policy = ocp.checkpoint_managers.FixedIntervalPolicy(every)
    options = ocp.CheckpointManagerOptions(max_to_keep=2, create=True, save_decision_policy=policy)
    return ocp.CheckpointManager(run.checkpoints, options=options)


def save(manager: ocp.CheckpointManager, step: int, state: State, force: bool = False) -> float:
    """Checkpoint ``state`` as step ``step`` if the manager's policy saves that step, or with ``force`` if
    it is not saved already; returns once it is on disk, with the seconds that took (0.0: no save).

    Call it after every step. The time counted starts once the step that made ``state`` is done, so that
    the caller can leave it out of training time.
    """
    if not (force or manager.should_save(step)) or manager.latest_step() == step:
        return 0.0
    jax.block_until_ready(state)
    start = time.perf_counter()
    manager.save(step, args=ocp.args.StandardSave(state._asdict()), force=True)
    manager.wait_until_finished()
    return time.perf_counter() - start


def restore_checkpoint(manager: ocp.CheckpointManager, template: State) -> State:
    """The latest checkpoint, restored with the shapes, dtypes and shardings of ``template``."""
    abstract = jax.tree.map(ocp.utils.to_shape_dtype_struct, template._asdict())
    step = manager.latest_step()
    try:
        restored = manager.restore(step, args=ocp.args.StandardRestore(abstract))
    except (ValueError, KeyError, TypeError) as err:
        raise ValueError(
            f"checkpoint {step} in {manager.directory} does not fit this version's training state "
            f"(made by an older version, or another model?): {str(err).splitlines()[0][:200]}"
        ) from err
    return type(template)(**restored)
