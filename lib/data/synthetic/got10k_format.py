"""Write sequences in the real GOT-10k on-disk layout (frames, groundtruth, labels, meta_info.ini).

One sequence folder holds ``00000001.jpg ...``, ``groundtruth.txt`` (``x,y,w,h`` with 4 decimals, one
line per frame; the test split keeps only the first line), ``absence.label`` (1 = absent),
``cover.label`` (visible fraction in eighths, 0..8), ``cut_by_image.label`` (1 = box crosses the image
border) and ``meta_info.ini`` laid out line for line like the real files, because pytracking-style
readers index its lines by position. Every file is written atomically (temp file, then rename).
"""
from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import cv2
import numpy as np

from lib.utils.io import atomic_write_bytes

__all__ = ["write_got10k_sequence", "write_got10k_list"]


def _write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def _lines(values: Iterable[object]) -> str:
    return "".join(f"{v}\n" for v in values)


def write_got10k_sequence(
    split_dir: str | os.PathLike,
    name: str,
    frames: Sequence[np.ndarray],
    boxes: np.ndarray,
    absent: np.ndarray | None = None,
    cover: np.ndarray | None = None,
    object_class: str = "object",
    *,
    first_frame_only: bool = False,
    cut_by_image: np.ndarray | None = None,
    motion_class: str = "moving",
    major_class: str = "object",
    root_class: str = "object",
    motion_adverb: str = "slowly",
    jpeg_quality: int = 95,
) -> Path:
    """Write one GOT-10k sequence folder ``split_dir/name``; frames are HxWx3 uint8 RGB, boxes xywh."""
    frames = list(frames)
    n = len(frames)
    if n == 0:
        raise ValueError(f"{name}: no frames")
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    if len(boxes) != n:
        raise ValueError(f"{name}: {n} frames but {len(boxes)} boxes")
    h, w = frames[0].shape[:2]
    for i, fr in enumerate(frames):
        if fr.dtype != np.uint8 or fr.ndim != 3 or fr.shape[2] != 3 or fr.shape[:2] != (h, w):
            raise ValueError(
                f"{name}: frame {i + 1} must be {h}x{w}x3 uint8 RGB, got {fr.shape} {fr.dtype}"
            )
    absent = np.zeros(n, bool) if absent is None else np.asarray(absent, bool).reshape(-1)
    cover = np.full(n, 8, np.int64) if cover is None else np.asarray(cover).astype(np.int64).reshape(-1)
    if len(absent) != n or len(cover) != n:
        raise ValueError(f"{name}: absent/cover must have one entry per frame ({n})")
    if cover.min() < 0 or cover.max() > 8:
        raise ValueError(f"{name}: cover values must lie in 0..8")
    if cut_by_image is None:
        x0, y0, bw, bh = boxes.T
        cut_by_image = (x0 < 0) | (y0 < 0) | (x0 + bw > w) | (y0 + bh > h)
    cut_by_image = np.asarray(cut_by_image, bool).reshape(-1)

    seq_dir = Path(split_dir) / name
    seq_dir.mkdir(parents=True, exist_ok=True)
    params = [int(cv2.IMWRITE_JPEG_QUALITY), int(jpeg_quality)]
    for i, fr in enumerate(frames):
        ok, buf = cv2.imencode(".jpg", cv2.cvtColor(fr, cv2.COLOR_RGB2BGR), params)
        if not ok:
            raise RuntimeError(f"{name}: JPEG encoding failed for frame {i + 1}")
        atomic_write_bytes(seq_dir / f"{i + 1:08d}.jpg", buf.tobytes())

    gt_rows = boxes[:1] if first_frame_only else boxes
    _write_text(seq_dir / "groundtruth.txt", _lines(",".join(f"{v:.4f}" for v in b) for b in gt_rows))
    if not first_frame_only:
        _write_text(seq_dir / "absence.label", _lines(int(a) for a in absent))
        _write_text(seq_dir / "cover.label", _lines(int(c) for c in cover))
        _write_text(seq_dir / "cut_by_image.label", _lines(int(c) for c in cut_by_image))
    meta = (
        "[METAINFO]\n"
        "url: synthetic\n"
        "begin: 00:00:00\n"
        f"end: 00:00:{min(n // 10, 59):02d}\n"
        "anno_fps: 10Hz\n"
        f"object_class: {object_class}\n"
        f"motion_class: {motion_class}\n"
        f"major_class: {major_class}\n"
        f"root_class: {root_class}\n"
        f"motion_adverb: {motion_adverb}\n"
        f"resolution: ({w}, {h})\n"
    )
    _write_text(seq_dir / "meta_info.ini", meta)
    return seq_dir


def write_got10k_list(split_dir: str | os.PathLike, names: Iterable[str]) -> Path:
    """Write ``split_dir/list.txt`` with one sequence name per line."""
    path = Path(split_dir) / "list.txt"
    _write_text(path, _lines(names))
    return path
