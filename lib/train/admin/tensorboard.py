"""TensorBoard scalars on rank 0 (a no-op writer elsewhere, or when tensorboard is not installed)."""
from __future__ import annotations

from pathlib import Path


class TensorboardWriter:
    """Thin wrapper over SummaryWriter: scalars only, silently disabled off rank 0."""

    def __init__(self, log_dir: Path | None):
        self.writer = None
        if log_dir is None:
            return
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:  # tensorboard is optional at run time
            from .run_folder import get_logger

            get_logger().warning("tensorboard is not installed: no TensorBoard scalars are written")
            return
        self.writer = SummaryWriter(str(log_dir))

    def scalars(self, values: dict[str, float], step: int, prefix: str = "") -> None:
        if self.writer is None:
            return
        for key, value in values.items():
            self.writer.add_scalar(f"{prefix}{key}", value, step)

    def flush(self) -> None:
        if self.writer is not None:
            self.writer.flush()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None
