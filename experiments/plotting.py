"""Figures: learning curves over seeds, the memory picture of one sequence, targets beside outputs."""

from __future__ import annotations

import pathlib

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def learning_curve(records: list[dict], path: pathlib.Path, title: str, threshold: float | None = None):
    """Cost and bit errors per sequence on the training distribution against sequences seen.

    Thin lines are seeds, the thick line their median. ``records`` are eval.jsonl lines of one split. With a
    convergence ``threshold`` the y axes are symlog (down to 0) and the threshold is drawn; without one (tasks
    that are never solved, like n-grams) they are linear.
    """
    if not records:
        return None
    sequences = np.array([r["sequences"] for r in records])
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for ax, key, label in zip(
        axes, ("cost", "bit_errors"), ("cost (bits / sequence)", "bit errors / sequence"), strict=True
    ):
        values = np.array([r[key] for r in records])  # [evals, seeds]
        for k in range(values.shape[1]):
            ax.plot(sequences, values[:, k], lw=0.7, alpha=0.5)
        ax.plot(sequences, np.median(values, axis=1), color="black", lw=2, label="median over seeds")
        if threshold:  # tasks solved to ~0 errors: a scale that shows the last 0.1 bits
            if key == "bit_errors":
                ax.axhline(threshold, color="grey", ls="--", lw=1, label=f"converged ({threshold})")
            ax.set_yscale("symlog", linthresh=0.1)
            ax.set_ylim(bottom=0)
        ax.set_xlabel("sequences")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def rows_in_use(weights: np.ndarray, threshold: float = 0.1, margin: int = 2) -> np.ndarray:
    """The rows a head focused on, in order around the circular memory, plus ``margin`` on each side.

    A row is in use if its weight passed ``threshold`` at some step. The rows shown are the shortest
    circular window holding every used row (the largest gap between used rows is left out), so a head
    that wraps from row N-1 to row 0 shows a short window, not all N rows.

    Args:
      weights: ``[T, N]`` weightings of one head.

    Returns:
      Row indices ``[K]`` in display order (all N, in order, when none passes the threshold or the window
      would cover the memory).
    """
    n = weights.shape[1]
    used = np.nonzero(weights.max(axis=0) > threshold)[0]
    if used.size == 0:
        return np.arange(n)
    gaps = np.diff(np.append(used, used[0] + n))  # from each used row to the next, circularly
    last = int(np.argmax(gaps))  # the window ends at this used row; the gap after it is left out
    start = int(used[(last + 1) % used.size])
    span = (int(used[last]) - start) % n + 1
    if span + 2 * margin >= n:
        return np.arange(n)
    return (start - margin + np.arange(span + 2 * margin)) % n


def memory_picture(trace, inputs, targets, outputs, path: pathlib.Path, title: str):
    """The paper's Fig. 6 layout: inputs and outputs above, write and read weightings below.

    Each head's panel shows the rows it focused on (``rows_in_use``), not all N. A DNC's trace adds the
    usage of those rows and each read head's modes (backward, content, forward) over time.

    Args:
      trace: StepTrace (or DNCTrace) of one sequence, time first (``read_weights [T, R, N]``, ...).
      inputs, targets, outputs: ``[T, C]`` arrays of that sequence (outputs as probabilities).
    """
    read_w = np.asarray(trace.read_weights)
    write_w = np.asarray(trace.write_weights)
    heads = [(f"write head {h}", write_w[:, h]) for h in range(write_w.shape[1])]
    if hasattr(trace, "usage"):
        heads.append(("usage", np.asarray(trace.usage)))
    heads += [(f"read head {h}", read_w[:, h]) for h in range(read_w.shape[1])]
    modes = np.asarray(trace.read_modes) if hasattr(trace, "read_modes") else np.zeros((0, 0, 3))
    rows = 3 + len(heads) + modes.shape[1]
    height = 1.4 * 3 + 2.2 * len(heads) + 1.0 * modes.shape[1]
    fig, axes = plt.subplots(rows, 1, figsize=(9, height), sharex=True)
    sequences = (("inputs", inputs), ("targets", targets), ("outputs", outputs))
    for ax, (label, data) in zip(axes[:3], sequences, strict=True):
        ax.imshow(np.asarray(data).T, aspect="auto", cmap="gray_r", vmin=0, vmax=1, interpolation="nearest")
        ax.set_ylabel(label)
        ax.set_yticks([])
    last = None
    for ax, (label, weights) in zip(axes[3 : 3 + len(heads)], heads, strict=True):
        rows = rows_in_use(weights) if label != "usage" else rows_in_use(write_w.max(axis=1))
        last = ax.imshow(
            weights[:, rows].T,
            aspect="auto",
            cmap="magma",
            vmin=0,
            vmax=1,
            interpolation="nearest",
        )
        ticks = np.linspace(0, len(rows) - 1, min(len(rows), 5)).round().astype(int)
        ax.set_yticks(ticks, [str(r) for r in rows[ticks]])  # memory row numbers, wrapping past N-1
        ax.set_ylabel(f"{label}\nrow")
    for h, ax in enumerate(axes[3 + len(heads) :]):
        ax.imshow(modes[:, h].T, aspect="auto", cmap="magma", vmin=0, vmax=1, interpolation="nearest")
        ax.set_yticks([0, 1, 2], ["backward", "content", "forward"])
        ax.set_ylabel(f"read head {h}\nmode")
    axes[-1].set_xlabel("time step")
    if last is not None:
        fig.colorbar(last, ax=axes, shrink=0.5, label="weighting (fixed scale 0-1)")
    fig.suptitle(title)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


def targets_and_outputs(examples: list[tuple[str, np.ndarray, np.ndarray]], path: pathlib.Path, title: str):
    """Targets above outputs for one sequence per split (the paper's Fig. 4 layout).

    ``examples`` are ``(label, targets [T, C], outputs [T, C])`` restricted to the scored steps.
    """
    if not examples:
        return None
    fig, axes = plt.subplots(2, len(examples), figsize=(2.2 * len(examples) + 1, 3.6), squeeze=False)
    for col, (label, target, output) in enumerate(examples):
        for row, (name, data) in enumerate((("targets", target), ("outputs", output))):
            ax = axes[row, col]
            ax.imshow(
                np.asarray(data).T, aspect="auto", cmap="gray_r", vmin=0, vmax=1, interpolation="nearest"
            )
            ax.set_xticks([])
            ax.set_yticks([])
            if col == 0:
                ax.set_ylabel(name)
        axes[0, col].set_title(label, fontsize=9)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
