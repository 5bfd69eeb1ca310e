"""Trainers: the epoch loop, checkpoints and resume."""
from .ltr_trainer import LTRTrainer, TrainState

__all__ = ["LTRTrainer", "TrainState"]
