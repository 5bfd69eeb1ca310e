"""Box formats in one place. Conventions: xywh = (x0, y0, w, h) as annotated; cxcywh; xyxy.

Tensor conversions go through torchvision.ops; numpy helpers serve the crop and tracking code.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torchvision.ops import box_convert, box_iou


def box_xywh_to_xyxy(boxes: torch.Tensor) -> torch.Tensor:
    return box_convert(boxes, "xywh", "xyxy")


def box_cxcywh_to_xyxy(boxes: torch.Tensor) -> torch.Tensor:
    return box_convert(boxes, "cxcywh", "xyxy")


def box_xyxy_to_cxcywh(boxes: torch.Tensor) -> torch.Tensor:
    return box_convert(boxes, "xyxy", "cxcywh")


def paired_iou(boxes1: torch.Tensor, boxes2: torch.Tensor) -> torch.Tensor:
    """IoU of matching rows of two (N, 4) xyxy tensors; degenerate boxes give 0, never NaN."""
    if boxes1.numel() == 0:
        return boxes1.new_zeros(0)
    return box_iou(boxes1, boxes2).diagonal().nan_to_num(0.0)




def cxcywh_to_xywh_np(box) -> np.ndarray:
    cx, cy, w, h = np.asarray(box, dtype=np.float64)
    return np.array([cx - w / 2, cy - h / 2, w, h])


def clip_box(box, height: int, width: int, margin: int = 0) -> list[float]:
    """Clip an xywh box to the image so that at least `margin` pixels stay inside (SUTrack's clip_box)."""
    x0, y0, w, h = (float(v) for v in box)
    x1, y1 = x0 + w, y0 + h
    x0 = min(max(0.0, x0), width - margin)
    x1 = max(min(float(width), x1), margin)
    y0 = min(max(0.0, y0), height - margin)
    y1 = max(min(float(height), y1), margin)
    w, h = max(margin, x1 - x0), max(margin, y1 - y0)
    return [x0, y0, w, h]


def damp_size(previous, predicted, size_lr: float = 1.0, max_scale_change: float = 0.0) -> np.ndarray:
    """The predicted xywh box with its size change damped: centre as predicted, each side moved from the
    previous side by the fraction `size_lr` of the change in log scale, bounded by a factor of
    `max_scale_change` per frame (0: unbounded). Keeps one bad size guess from growing the search region
    until the target is lost (pytracking's max_scale_change, SiamRPN's size learning rate).
    """
    pw, ph = float(previous[2]), float(previous[3])
    x, y, w, h = (float(v) for v in predicted)
    if (size_lr >= 1.0 and max_scale_change <= 0.0) or min(pw, ph, w, h) <= 0.0:  # off, or no size to damp
        return np.array([x, y, w, h])
    step = np.log(np.array([w / pw, h / ph]))  # change of each side in log scale
    if max_scale_change > 0.0:
        bound = math.log(max_scale_change)
        step = np.clip(step, -bound, bound)
    new_w, new_h = np.array([pw, ph]) * np.exp(size_lr * step)
    cx, cy = x + w / 2, y + h / 2
    return np.array([cx - new_w / 2, cy - new_h / 2, new_w, new_h])
