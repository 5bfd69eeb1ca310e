"""The one Python entry point: build a tracker from a config and weights, then initialize and track.

    from lib.api import build_tracker
    tracker = build_tracker("sutrack_dinov3", checkpoint="SUTRACK_ep0180.pth.tar")   # or a YAML path
    tracker.initialize(first_frame, [x, y, w, h])
    box, score = tracker.track(next_frame)           # box = [x, y, w, h] in pixels, score in [0, 1]

Frames are numpy RGB uint8 arrays, H x W x 3 (H x W grayscale and H x W x 4 are accepted too). Frames
read with cv2 are BGR: build with `bgr=True` or convert with `bgr_to_rgb`. `tracking/test.py` and
`tracking/video_demo.py` are built on this module.
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from lib.test.parameter.sutrack_dinov3 import TrackerParams, parameters
from lib.test.tracker.sutrack_dinov3 import BACKENDS, SUTrackDINOv3Tracker, get_backend, resolve_device

__all__ = ["BACKENDS", "Tracker", "bgr_to_rgb", "build_tracker"]


def bgr_to_rgb(frame: np.ndarray) -> np.ndarray:
    """cv2's BGR (or BGRA) frame -> RGB; grayscale frames pass through."""
    if frame.ndim == 3 and frame.shape[2] == 3:
        return cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
    if frame.ndim == 3 and frame.shape[2] == 4:
        return cv2.cvtColor(frame, cv2.COLOR_BGRA2RGB)
    return frame


class Tracker:
    """A single-object tracker: `initialize(frame, box)` once, then `track(frame) -> (box, score)`."""

    def __init__(self, tracker: SUTrackDINOv3Tracker, bgr: bool = False) -> None:
        self.tracker = tracker
        self.bgr = bgr

    @property
    def params(self) -> TrackerParams:
        return self.tracker.params

    @property
    def device(self):
        return self.tracker.device

    def _frame(self, frame: np.ndarray) -> np.ndarray:
        return bgr_to_rgb(frame) if self.bgr else frame

    def initialize(self, frame: np.ndarray, box, text: str | None = None) -> None:
        """Start on `frame` with `box` = [x, y, w, h] (pixels); `text` describes the target (language)."""
        self.tracker.initialize(self._frame(frame), {"init_bbox": list(box), "init_nlp": text})

    def track(self, frame: np.ndarray) -> tuple[list[float], float]:
        """The target's [x, y, w, h] in `frame` and the confidence."""
        out = self.tracker.track(self._frame(frame))
        return out["target_bbox"], out["best_score"]


def build_tracker(config: str | Path, checkpoint: str | Path | None = None, device: str = "auto",
                  backend: str | None = None, dataset_name: str | None = None, *, random_weights: bool = False,
                  seed: int = 0, bgr: bool = False, onnx_dir: str | Path | None = None) -> Tracker:
    """A ready tracker for `config` (name under experiments/sutrack_dinov3 or a YAML path).

    checkpoint: a `.pth.tar` from training; None takes TEST.EPOCH's checkpoint under save_dir (a missing
    one raises naming the path) unless `random_weights` (seeded by `seed`, for smoke runs).
    device: 'auto' (cuda if available), 'cpu', 'cuda', 'cuda:1', ...; backend: 'auto', 'pytorch', 'onnx',
    'openvino', 'pytorch_bf16', 'onnx_int8', 'openvino_int8', 'openvino_bf16' (lib/test/tracker/backends/),
    None = the config's TEST.BACKEND (default 'auto'). dataset_name selects the
    per-dataset TEST keys (template update, multi-modal, language). bgr: frames come from cv2. onnx_dir:
    graphs from tracking/export_onnx.py for backend 'onnx' (default: exported into the cache on first use).
    """
    params = parameters(config, checkpoint=checkpoint, random_weights=random_weights, seed=seed)
    params.onnx_dir = None if onnx_dir is None else str(onnx_dir)
    torch_device = resolve_device(device)
    network = get_backend(backend or params.cfg.TEST.BACKEND)(params, torch_device)
    inner = SUTrackDINOv3Tracker(params, dataset_name=dataset_name, network=network, device=torch_device)
    return Tracker(inner, bgr=bgr)
