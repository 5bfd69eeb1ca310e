"""The one Python entry point (re-exports): build a tracker from a config and weights, then track.

    from lib.api import build_tracker
    tracker = build_tracker("sutrack_dinov3", checkpoint="SUTRACK_ep0180.pth.tar")   # or a YAML path
    tracker.initialize(first_frame, [x, y, w, h])
    box, score = tracker.track(next_frame)           # box = [x, y, w, h] in pixels, score in [0, 1]

Frames are numpy RGB uint8 arrays, H x W x 3 (H x W grayscale and H x W x 4 are accepted too). Frames
read with cv2 are BGR: build with `bgr=True` or convert with `bgr_to_rgb`. The code lives with the
tracker, in lib/test/tracker/sutrack_dinov3.py; `tracking/test.py` and `tracking/video_demo.py` use it.
"""
from __future__ import annotations

from lib.test.tracker.sutrack_dinov3 import BACKENDS, FrameTracker, bgr_to_rgb, build_tracker

__all__ = ["BACKENDS", "FrameTracker", "bgr_to_rgb", "build_tracker"]
