"""The CenterNet Gaussian target of the CENTER head, on the search feature grid.

The grid comes from lib.utils.grid.feature_grid (never SIZE // STRIDE). The peak sits on the cell that
contains the box centre (floor), matching the head's decoding cx = (ix + offset_x) / W; the radius is
CenterNet's (the formula SUTrack/OSTrack use) for min_overlap 0.7, in cells.
"""
from __future__ import annotations

import math

import numpy as np


def gaussian_radius(width: float, height: float, min_overlap: float = 0.7) -> float:
    """CenterNet's radius for a box of `width` x `height` cells (the smallest of its three cases)."""
    b1 = height + width
    c1 = width * height * (1 - min_overlap) / (1 + min_overlap)
    r1 = (b1 + math.sqrt(max(b1 * b1 - 4 * c1, 0.0))) / 2
    b2 = 2 * (height + width)
    c2 = (1 - min_overlap) * width * height
    r2 = (b2 + math.sqrt(max(b2 * b2 - 16 * c2, 0.0))) / 2
    a3 = 4 * min_overlap
    b3 = -2 * min_overlap * (height + width)
    c3 = (min_overlap - 1) * width * height
    r3 = (b3 + math.sqrt(max(b3 * b3 - 4 * a3 * c3, 0.0))) / 2
    return min(r1, r2, r3)


def gaussian_target(box_xywh: np.ndarray, grid: tuple[int, int], min_overlap: float = 0.7) -> np.ndarray:
    """Normalised (x, y, w, h) box in the crop -> gh x gw float32 map, 1 at the centre cell."""
    gh, gw = grid
    x, y, w, h = (float(v) for v in box_xywh)
    ix = min(max(int(math.floor((x + w / 2) * gw)), 0), gw - 1)
    iy = min(max(int(math.floor((y + h / 2) * gh)), 0), gh - 1)
    radius = max(0, int(gaussian_radius(w * gw, h * gh, min_overlap)))
    sigma = (2 * radius + 1) / 6
    dx = np.arange(gw, dtype=np.float32) - ix
    dy = np.arange(gh, dtype=np.float32) - iy
    g = np.exp(-(dy[:, None] ** 2 + dx[None, :] ** 2) / (2 * sigma * sigma)).astype(np.float32)
    g[(np.abs(dy)[:, None] > radius) | (np.abs(dx)[None, :] > radius)] = 0.0
    g[g < np.finfo(np.float32).eps] = 0.0
    g[iy, ix] = 1.0
    return g
