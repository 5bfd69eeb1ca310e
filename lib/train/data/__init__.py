"""Training data pipeline: sampler, processing, transforms, targets and the loader."""
from .loader import EpochIndexSampler, build_train_loader
from .processing import SampleError, SUTrackProcessing
from .sampler import TrackingSampler, sample_frame_ids

__all__ = ["EpochIndexSampler", "SUTrackProcessing", "SampleError", "TrackingSampler", "build_train_loader",
           "sample_frame_ids"]
