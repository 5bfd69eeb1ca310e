"""pytracking's tracker interface: `initialize(image, info)` once, then `track(image, info)` per frame."""
from __future__ import annotations

import numpy as np

MIN_BOX_SIZE = 4.0  # pixels: smaller initial boxes are enlarged about their centre
MIN_FRAME_SIZE = 10  # pixels per side: the tracker keeps 10 px of its box inside the image (clip_box margin)


class BaseTracker:
    """Base class of all trackers: holds the parameters and the current state (x, y, w, h)."""

    def __init__(self, params) -> None:
        self.params = params
        self.state: list[float] | None = None
        self.frame_size: tuple[int, int] | None = None  # (height, width) of the first frame
        self.frame_id = 0

    def initialize(self, image: np.ndarray, info: dict) -> dict | None:
        """Start a sequence from `info['init_bbox']` = [x, y, w, h] on the first frame."""
        raise NotImplementedError

    def track(self, image: np.ndarray, info: dict | None = None) -> dict:
        """Return {'target_bbox': [x, y, w, h], 'best_score': float} for the next frame."""
        raise NotImplementedError


def as_rgb(image: np.ndarray, channels: int = 3) -> np.ndarray:
    """H x W (grayscale), H x W x 1, x 3, x 4 (alpha dropped) or x 6 (RGB-X) uint8 -> H x W x C uint8.

    A 6-channel frame for a 3-channel model keeps its RGB half (the X half is RGB-X data's extra).
    """
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[0] in (1, 3, 4, 6) and image.shape[2] not in (1, 3, 4, 6):
        raise ValueError(f"frame of shape {image.shape} looks channels-first (C x H x W, e.g. a torch tensor's "
                         f"layout); frames are H x W x C: pass frame.transpose(1, 2, 0) (for a tensor: "
                         "tensor.permute(1, 2, 0).numpy())")
    if image.dtype != np.uint8:
        raise ValueError(f"frames must be uint8 images, got dtype {image.dtype} with shape {image.shape}")
    if image.ndim == 2:
        image = image[:, :, None]
    if image.ndim != 3:
        raise ValueError(f"frames must be H x W or H x W x C images, got shape {image.shape}")
    if min(image.shape[:2]) < MIN_FRAME_SIZE:
        raise ValueError(f"frames must be at least {MIN_FRAME_SIZE} x {MIN_FRAME_SIZE} pixels (the tracker keeps "
                         f"{MIN_FRAME_SIZE} px of its box inside the image), got a {image.shape[1]} x "
                         f"{image.shape[0]} frame (shape {image.shape})")
    c = image.shape[2]
    if c == 1:
        return np.repeat(image, 3, axis=2)
    if c == 4:
        return image[:, :, :3]
    if c in (3, 6) and c <= channels:
        return image
    if c == 6:
        return image[:, :, :3]
    raise ValueError(f"frames must have 1, 3 or 4 channels (or {channels} for this model), got shape {image.shape}")


def check_init_box(box, image_size: tuple[int, int] | None = None) -> np.ndarray:
    """A finite [x, y, w, h] with w, h > 0 as float64; boxes under MIN_BOX_SIZE grow about their centre.

    With `image_size` = (height, width), a box lying entirely outside the image is refused too. A string
    (e.g. "10,20,30,40") or string items are refused rather than parsed: the caller chose the format.
    """
    items = np.asarray(box, dtype=object).reshape(-1)
    if isinstance(box, (str, bytes)) or any(isinstance(v, (str, bytes)) for v in items):
        raise TypeError(f"init box must be 4 numbers [x, y, w, h], got the string {box!r}; "
                        "parse it first, e.g. [float(v) for v in text.split(',')]")
    if any(isinstance(v, (bool, np.bool_)) or v is None for v in items):
        raise TypeError(f"init box must be 4 numbers [x, y, w, h], got {box!r}")
    try:
        arr = np.asarray(box, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise TypeError(f"init box must be 4 numbers [x, y, w, h], got {box!r}") from None
    if arr.shape != (4,) or not np.all(np.isfinite(arr)):
        raise ValueError(f"init box must be 4 finite numbers [x, y, w, h], got {box!r}")
    x, y, w, h = arr
    if w <= 0 or h <= 0:
        raise ValueError(f"init box {list(map(float, arr))} has non-positive width or height (w={w}, h={h}); "
                         "boxes are [x, y, w, h], not [x0, y0, x1, y1]")
    if image_size is not None:
        height, width = image_size
        if x >= width or y >= height or x + w <= 0 or y + h <= 0:
            raise ValueError(f"init box {list(map(float, arr))} lies entirely outside the {width} x {height} "
                             "first frame; boxes are [x, y, w, h] in pixels of that frame")
    new_w, new_h = max(w, MIN_BOX_SIZE), max(h, MIN_BOX_SIZE)
    return np.array([x + (w - new_w) / 2, y + (h - new_h) / 2, new_w, new_h])
