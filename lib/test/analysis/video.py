"""Annotated video of scored results: a sequence's frames (read as the evaluation reads them) with the
tracker's saved boxes, the ground truth and each frame's IoU. It draws what the analysis scored; it never
tracks again, so the picture cannot disagree with the table."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from lib.test.analysis.metrics import as_boxes, box_iou
from lib.test.results import ResultFiles, load_result_boxes
from lib.utils.image import read_image
from lib.utils.video import VideoWriter

PRED_COLOR = (0, 255, 0)  # RGB: the tracker's box
GT_COLOR = (255, 0, 0)  # RGB: the ground truth
TEXT_COLOR = (255, 255, 0)


def frame_ious(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Per-frame IoU of the saved boxes with the ground truth; NaN where the ground truth is not a box."""
    pred, gt = as_boxes(pred, "prediction"), as_boxes(gt, "ground truth")
    valid = np.isfinite(gt).all(axis=1) & (gt[:, 2] > 0) & (gt[:, 3] > 0)
    return np.where(valid, box_iou(pred, np.nan_to_num(gt)), np.nan)


def iou_label(index: int, iou: float) -> str:
    """The caption of frame `index`: 'frame 12  IoU 0.73' ('IoU -' without a ground-truth box)."""
    return f"frame {index}  IoU " + ("-" if np.isnan(iou) else f"{iou:.2f}")


def _rectangle(image: np.ndarray, box, color) -> None:
    if not np.isfinite(box).all() or box[2] <= 0 or box[3] <= 0:
        return
    x, y, w, h = (int(round(v)) for v in box)
    cv2.rectangle(image, (x, y), (x + w - 1, y + h - 1), color, 1)


def draw_result_frame(frame: np.ndarray, pred, gt, label: str) -> np.ndarray:
    """A copy of the RGB `frame` with the ground truth (red), the prediction (green, on top) and `label`."""
    image = np.ascontiguousarray(frame[:, :, :3]).copy()
    _rectangle(image, np.asarray(gt, dtype=np.float64), GT_COLOR)
    _rectangle(image, np.asarray(pred, dtype=np.float64), PRED_COLOR)
    cv2.putText(image, label, (4, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.4, TEXT_COLOR, 1, cv2.LINE_AA)
    return image


def render_results_video(seq, results_dir: str | Path, out_path: str | Path,
                         fps: float = 10.0) -> tuple[Path, np.ndarray]:
    """Write `out_path` (H.264 MP4, lib/utils/video.py) for `seq` from `<results_dir>/<seq>.txt`, a frame at a
    time; returns the video's path and the per-frame IoUs printed on it."""
    pred = load_result_boxes(ResultFiles.of(results_dir, seq.name).boxes, len(seq.frames))
    ious = frame_ious(pred, seq.ground_truth_rect)
    with VideoWriter(Path(out_path).with_suffix(".mp4"), fps) as writer:
        for i, path in enumerate(seq.frames):
            image = draw_result_frame(read_image(path), pred[i], seq.ground_truth_rect[i], iou_label(i, ious[i]))
            writer.write(image)
    return writer.path, ious
