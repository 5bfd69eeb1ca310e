"""Actors: how a batch goes through the network and which losses it gets."""
from .sutrack import NonFiniteOutputError, SUTrackActor, SUTrackTrainNet

__all__ = ["NonFiniteOutputError", "SUTrackActor", "SUTrackTrainNet"]
