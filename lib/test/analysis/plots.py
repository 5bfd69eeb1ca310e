"""Success and precision plots of several trackers (matplotlib Agg), written atomically as PNG."""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from lib.test.analysis import metrics as M
from lib.test.analysis.results import Report
from lib.utils.io import atomic_write_bytes

LINE_STYLES = ["-", "--", "-.", ":"]


def plot_curves(x: np.ndarray, curves: list[tuple[str, np.ndarray, float]], path: str | Path, title: str,
                xlabel: str, ylabel: str) -> Path:
    """One line per (label, curve, score), best score first, with the score in the legend; saves a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 5))
    try:
        for i, (label, curve, score) in enumerate(sorted(curves, key=lambda c: -np.nan_to_num(c[2], nan=-1))):
            ax.plot(x, curve, LINE_STYLES[(i // 10) % len(LINE_STYLES)], linewidth=2,
                    label=f"{label} [{score:.1f}]")
        ax.set(title=title, xlabel=xlabel, ylabel=ylabel, xlim=(float(x[0]), float(x[-1])), ylim=(0, 100))
        ax.grid(True, alpha=0.4)
        if curves:
            ax.legend(loc="best", fontsize=8)
        fig.tight_layout()
        png = io.BytesIO()
        fig.savefig(png, format="png", dpi=120)
    finally:
        plt.close(fig)
    atomic_write_bytes(path, png.getvalue())
    return Path(path)


def plot_report(report: Report, out_dir: str | Path) -> list[Path]:
    """Success (AUC), precision (20 px), normalised precision plots; GOT-10k success (AO) when scored."""
    out_dir, name, scores = Path(out_dir), report.dataset_name, report.scores
    plots = [  # curve attribute, thresholds, score in the legend, title, x label
        ("success", M.OVERLAP_THRESHOLDS, "AUC", "Success plot", "Overlap threshold"),
        ("precision", M.CENTER_THRESHOLDS, "Precision", "Precision plot", "Location error threshold (px)"),
        ("norm_precision", M.NORM_CENTER_THRESHOLDS, "Norm Precision", "Normalized precision plot",
         "Normalized location error threshold"),
    ]
    paths = [plot_curves(x, [(s.spec.label, 100 * getattr(s.curves, attr), s.metrics[key]) for s in scores],
                         out_dir / f"{attr}_plot.png", f"{title} on {name} ({key})", xlabel, "Rate (%)")
             for attr, x, key, title, xlabel in plots]
    if scores and all(s.got10k_curve is not None for s in scores):
        curves = [(s.spec.label, 100 * s.got10k_curve, s.metrics["AO"]) for s in scores]
        paths.append(plot_curves(M.GOT10K_THRESHOLDS, curves, out_dir / "got10k_success_plot.png",
                                 f"GOT-10k success plot on {name} (AO)", "Overlap threshold", "Rate (%)"))
    return paths
