"""Running averages of the actor's stats (per epoch) and the loss-curve plot written after each epoch."""
from __future__ import annotations

import io
import math
from collections import defaultdict
from pathlib import Path

from lib.utils.io import atomic_write_bytes


class StatsMeter:
    """Sample-weighted running means of named scalars over one epoch."""

    def __init__(self) -> None:
        self.sums: dict[str, float] = defaultdict(float)
        self.counts: dict[str, int] = defaultdict(int)

    def update(self, stats: dict[str, float], n: int) -> None:
        for key, value in stats.items():
            self.sums[key] += float(value) * n
            self.counts[key] += n

    def pairs(self) -> dict[str, tuple[float, int]]:
        return {k: (self.sums[k], self.counts[k]) for k in self.sums}

    def means(self) -> dict[str, float]:
        return {k: self.sums[k] / self.counts[k] for k in self.sums if self.counts[k]}


def plot_loss_curves(history: dict[str, list[float]], path: Path, title: str) -> None:
    """Per-epoch means of the losses (left) and IoU / task accuracy (right), written as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = history.get("epoch", [])
    if not epochs:
        return
    fig, (ax_loss, ax_iou) = plt.subplots(1, 2, figsize=(11, 4))
    for key in ("Loss/total", "Loss/giou", "Loss/l1", "Loss/location", "Loss/task_class"):
        values = history.get(key)
        if values and len(values) == len(epochs) and all(math.isfinite(v) and v > 0 for v in values):
            ax_loss.plot(epochs, values, marker="o", ms=3, label=key.split("/")[1])
    ax_loss.set_yscale("log")
    ax_loss.set_xlabel("epoch")
    ax_loss.set_ylabel("loss (epoch mean, log scale)")
    ax_loss.legend(fontsize=8)
    ax_loss.grid(alpha=0.3)
    for key in ("IoU", "TaskAcc"):
        values = history.get(key)
        if values and len(values) == len(epochs):
            ax_iou.plot(epochs, values, marker="o", ms=3, label=key)
    ax_iou.set_xlabel("epoch")
    ax_iou.set_ylim(0, 1)
    ax_iou.legend(fontsize=8)
    ax_iou.grid(alpha=0.3)
    fig.suptitle(title)
    fig.tight_layout()
    png = io.BytesIO()
    fig.savefig(png, format="png", dpi=90)
    plt.close(fig)
    atomic_write_bytes(path, png.getvalue())
