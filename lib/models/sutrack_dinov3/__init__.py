"""sutrack_dinov3: SUTrack with a DINOv3 ConvNeXt encoder."""
from .sutrack import SUTrackDINOv3, build_sutrack_dinov3
from .weights import WeightsUnavailableError

__all__ = ["SUTrackDINOv3", "build_sutrack_dinov3", "WeightsUnavailableError"]
