"""Box formats in one place. Conventions: xywh = (x0, y0, w, h) as annotated; cxcywh; xyxy.

Tensor conversions go through torchvision.ops; numpy helpers serve the crop and tracking code.
"""
from __future__ import annotations

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
