"""The run folder of one training config: checkpoint, log, TensorBoard and plot paths, and logging set-up.

Layout under `save_dir` (SUTrack's): checkpoints/train/<script>/<config>/SUTRACK_ep%04d.pth.tar,
logs/<script>-<config>.log (+ .stats.jsonl, _loss.png), tensorboard/<script>/<config>/.
"""
from __future__ import annotations

import logging
import sys
from dataclasses import dataclass
from pathlib import Path

LOGGER_NAME = "sutrack.train"


@dataclass(frozen=True)
class RunPaths:
    """Every output path of one (script, config) training run."""

    save_dir: Path
    script: str
    config: str

    @property
    def checkpoint_dir(self) -> Path:
        return self.save_dir / "checkpoints" / "train" / self.script / self.config

    @property
    def log_dir(self) -> Path:
        return self.save_dir / "logs"

    @property
    def log_file(self) -> Path:
        return self.log_dir / f"{self.script}-{self.config}.log"

    @property
    def stats_file(self) -> Path:
        return self.log_dir / f"{self.script}-{self.config}.stats.jsonl"

    @property
    def loss_plot(self) -> Path:
        return self.log_dir / f"{self.script}-{self.config}_loss.png"

    @property
    def tensorboard_dir(self) -> Path:
        return self.save_dir / "tensorboard" / self.script / self.config

    def make(self) -> None:
        for d in (self.checkpoint_dir, self.log_dir, self.tensorboard_dir):
            d.mkdir(parents=True, exist_ok=True)


def setup_logging(log_file: Path | None, rank: int = 0) -> logging.Logger:
    """The training logger: rank 0 writes INFO to stdout and the log file; other ranks only warnings."""
    logger = logging.getLogger(LOGGER_NAME)
    for h in list(logger.handlers):
        logger.removeHandler(h)
        h.close()
    logger.setLevel(logging.INFO)
    logger.propagate = False
    prefix = "" if rank == 0 else f"[rank {rank}] "
    fmt = logging.Formatter(f"%(asctime)s %(levelname)s {prefix}%(message)s", "%Y-%m-%d %H:%M:%S")
    console = logging.StreamHandler(sys.stdout)
    console.setLevel(logging.INFO if rank == 0 else logging.WARNING)
    console.setFormatter(fmt)
    logger.addHandler(console)
    if log_file is not None and rank == 0:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        fh = logging.FileHandler(log_file, encoding="utf-8")
        fh.setFormatter(fmt)
        logger.addHandler(fh)
    return logger


def close_logging() -> None:
    """Flush and detach the training logger's handlers (in-process reruns, tests)."""
    logger = logging.getLogger(LOGGER_NAME)
    for h in list(logger.handlers):
        logger.removeHandler(h)
        h.close()


def get_logger() -> logging.Logger:
    return logging.getLogger(LOGGER_NAME)
