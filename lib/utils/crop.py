"""The one crop helper, shared by training (jittered crops) and tracking (search/template crops).

A crop is a square of side ceil(sqrt(w * h) * factor) centred on the box, zero-padded outside the
image and resized to `output_size`. `CropInfo` holds the exact affine map between image and crop
pixels so boxes go both ways without the half-pixel drift of separate rounding conventions.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class CropInfo:
    """Image -> crop map: u = (x - x0) * scale, where scale = output_size / side."""

    x0: float
    y0: float
    side: float
    output_size: int

    @property
    def scale(self) -> float:
        return self.output_size / self.side

    def box_to_crop(self, box_xywh, normalize: bool = True) -> np.ndarray:
        """Image xywh box -> crop xywh box (normalised to [0, 1] by the crop size if `normalize`)."""
        x, y, w, h = np.asarray(box_xywh, dtype=np.float64)
        out = np.array([(x - self.x0) * self.scale, (y - self.y0) * self.scale, w * self.scale, h * self.scale])
        return out / self.output_size if normalize else out

    def box_to_image(self, box_xywh, normalized: bool = True) -> np.ndarray:
        """Crop xywh box (normalised if `normalized`) -> image xywh box."""
        box = np.asarray(box_xywh, dtype=np.float64) * (self.output_size if normalized else 1.0)
        x, y, w, h = box
        return np.array([x / self.scale + self.x0, y / self.scale + self.y0, w / self.scale, h / self.scale])


def crop_window(box_xywh, factor: float, output_size: int) -> CropInfo:
    """The square window around `box_xywh` (SUTrack's geometry: side = ceil(sqrt(wh) * factor))."""
    x, y, w, h = (float(v) for v in box_xywh)
    if not (w > 0 and h > 0 and math.isfinite(w * h)):
        raise ValueError(f"cannot crop around a box with non-positive or non-finite size: {box_xywh}")
    side = max(1, math.ceil(math.sqrt(w * h) * factor))
    x0 = round(x + 0.5 * w - 0.5 * side)
    y0 = round(y + 0.5 * h - 0.5 * side)
    return CropInfo(float(x0), float(y0), float(side), int(output_size))


def crop_with_info(image: np.ndarray, info: CropInfo) -> np.ndarray:
    """Cut `info`'s window out of an H x W x C image (zero padding), resized to output_size."""
    s = info.scale
    # Pixel-centre convention: crop pixel u samples image x = (u + 0.5) / s - 0.5 + x0.
    matrix = np.array([[s, 0.0, s * (0.5 - info.x0) - 0.5], [0.0, s, s * (0.5 - info.y0) - 0.5]])
    size = (info.output_size, info.output_size)
    interp = cv2.INTER_LINEAR
    if image.ndim == 2 or image.shape[2] <= 4:
        return cv2.warpAffine(image, matrix, size, flags=interp, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    # warpAffine handles at most 4 channels; RGB-X images are warped three channels at a time.
    parts = [
        cv2.warpAffine(np.ascontiguousarray(image[..., i : i + 3]), matrix, size, flags=interp,
                       borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        for i in range(0, image.shape[2], 3)
    ]
    return np.concatenate([p if p.ndim == 3 else p[..., None] for p in parts], axis=2)


def sample_target(image: np.ndarray, box_xywh, factor: float, output_size: int) -> tuple[np.ndarray, CropInfo]:
    """Crop the region of `factor` times the box's size around it; returns the crop and its CropInfo."""
    info = crop_window(box_xywh, factor, output_size)
    return crop_with_info(image, info), info
