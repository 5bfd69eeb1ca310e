"""The demo's video is drawn from the scored results: saved boxes, ground truth and each frame's IoU."""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from lib.data.synthetic.writers import write_frames
from lib.test.analysis import video as V
from lib.test.results import ResultFiles, SequenceOutput, save_results
from lib.utils.video import probe_video, read_frames

W, H = 64, 48
# frame 1: IoU of [10, 10, 20, 10] with [15, 10, 20, 10] = 15 * 10 / (200 + 200 - 150) = 0.6
GT = np.array([[10, 10, 20, 10], [15, 10, 20, 10], [30, 20, 0, 0]], dtype=float)  # frame 2: no gt box
PRED = np.array([[10, 10, 20, 10], [10, 10, 20, 10], [2, 30, 12, 8]], dtype=float)


class SpyWriter:
    """Stands in for VideoWriter: keeps the frames written (RGB) instead of encoding them."""

    written: list[np.ndarray] = []

    def __init__(self, path, fps):
        self.path = Path(path)
        SpyWriter.written = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        pass

    def write(self, frame):
        SpyWriter.written.append(frame.copy())


def test_video_draws_saved_boxes_ground_truth_and_iou(tmp_path, monkeypatch):
    frames = write_frames(tmp_path / "seq", [np.zeros((H, W, 3), np.uint8)] * 3, pattern="{:08d}.png")
    seq = SimpleNamespace(name="seq", frames=[str(p) for p in frames], ground_truth_rect=GT)
    save_results(ResultFiles.of(tmp_path / "res", "seq"), SequenceOutput(PRED.tolist(), [0.1] * 3, [1.0] * 3))
    labels = []
    monkeypatch.setattr(V, "VideoWriter", SpyWriter)
    monkeypatch.setattr(V, "iou_label", lambda i, iou: labels.append((i, iou)) or "")
    path, ious = V.render_results_video(seq, tmp_path / "res", tmp_path / "out.mp4")
    assert path == tmp_path / "out.mp4" and len(SpyWriter.written) == 3
    np.testing.assert_allclose(ious[:2], [1.0, 0.6])
    assert np.isnan(ious[2])
    assert [i for i, _ in labels] == [0, 1, 2] and labels[1][1] == pytest.approx(0.6)
    green, red = (0, 255, 0), (255, 0, 0)  # RGB
    frame1, frame2 = SpyWriter.written[1], SpyWriter.written[2]
    assert tuple(frame1[15, 10]) == green and tuple(frame1[15, 29]) == green  # the saved box's left / right edge
    assert tuple(frame1[15, 34]) == red  # the ground truth's right edge (x 15 + 20 - 1)
    assert tuple(frame2[34, 2]) == green and not (frame2 == red).all(axis=2).any()  # no gt box on frame 2


def test_iou_label_and_real_video(tmp_path):
    assert V.iou_label(7, 0.6) == "frame 7  IoU 0.60" and V.iou_label(2, float("nan")) == "frame 2  IoU -"
    frames = write_frames(tmp_path / "seq", [np.full((H, W, 3), 90, np.uint8)] * 3)
    seq = SimpleNamespace(name="seq", frames=[str(p) for p in frames], ground_truth_rect=GT)
    save_results(ResultFiles.of(tmp_path, "seq"), SequenceOutput(PRED.tolist(), [0.1] * 3, [1.0] * 3))
    path, _ = V.render_results_video(seq, tmp_path, tmp_path / "video" / "seq.mp4")
    info = probe_video(path)  # what a browser plays: H.264 in MP4, 4:2:0
    assert (info.codec, info.pix_fmt, info.width, info.height) == ("h264", "yuv420p", W, H)
    frames = list(read_frames(path))
    assert len(frames) == 3 and not [p for p in path.parent.iterdir() if ".tmp" in p.name]
    assert abs(int(frames[0][40, 40, 0]) - 90) <= 3  # the grey background, through lossy H.264
