"""Orbax checkpoints of a run's training state (any NamedTuple of arrays): the manager, a whole save, and
a restore into a template of the same structure."""

from __future__ import annotations

from typing import NamedTuple, TypeVar

import jax
import orbax.checkpoint as ocp

from experiments.rundir import RunDir

State = TypeVar("State", bound=NamedTuple)


def checkpoint_manager(run: RunDir) -> ocp.CheckpointManager:
    """Keeps the two latest checkpoints under ``run.checkpoints``."""
    return ocp.CheckpointManager(
        run.checkpoints, options=ocp.CheckpointManagerOptions(max_to_keep=2, create=True)
    )


def save_checkpoint(manager: ocp.CheckpointManager, state: State) -> None:
    """Save ``state`` at its step (unless that step is saved already) and wait until it is on disk."""
    step = int(state.step)
    if manager.latest_step() != step:
        manager.save(step, args=ocp.args.StandardSave(state._asdict()))
    manager.wait_until_finished()


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
