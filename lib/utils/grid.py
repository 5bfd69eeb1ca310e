"""Feature-grid sizes of the DINOv3 ConvNeXt backbone, derived from input size and output stride.

The stem is a 4x4 conv with stride 4; each later stage begins with a 2x2 conv of stride 2. Both floor,
so a 112 crop gives 28 -> 14 -> 7 -> 3. Every grid size in the project comes from here.
"""
from __future__ import annotations

STEM_STRIDE = 4
STAGE_STRIDES = (4, 8, 16, 32)


def _conv_out(size: int, kernel: int, stride: int) -> int:
    return (size - kernel) // stride + 1


def num_stages(stride: int) -> int:
    """Number of ConvNeXt stages run to reach `stride` (4 -> 1, 8 -> 2, 16 -> 3, 32 -> 4)."""
    if stride not in STAGE_STRIDES:
        raise ValueError(f"MODEL.ENCODER.STRIDE must be one of {STAGE_STRIDES}, got {stride}")
    return STAGE_STRIDES.index(stride) + 1


def feature_size(input_size: int, stride: int) -> int:
    """Side of the feature map that a crop of `input_size` pixels gives at output `stride`."""
    if input_size < STEM_STRIDE:
        raise ValueError(f"input size {input_size} is smaller than the stem's stride {STEM_STRIDE}")
    size = _conv_out(input_size, STEM_STRIDE, STEM_STRIDE)
    for _ in range(num_stages(stride) - 1):
        if size < 2:
            raise ValueError(f"input size {input_size} is too small for stride {stride}")
        size = _conv_out(size, 2, 2)
    return size


def feature_grid(input_size: int | tuple[int, int], stride: int) -> tuple[int, int]:
    """(height, width) of the feature grid for a square size or an (h, w) pair."""
    h, w = (input_size, input_size) if isinstance(input_size, int) else input_size
    return feature_size(h, stride), feature_size(w, stride)
