"""The shared reading steps of every layout (groundtruth, label files, frame folders, meta_info.ini) and the
`Layout` base class: a layout lists a dataset's sequences and reads one into a `SeqRecord`.

A sequence that cannot be used raises `SequenceError` whose message names the file (and line);
`Layout.load` turns those into a warning plus an entry in its `skipped` list, so one bad sequence never
ends a run. Training datasets (lib/train/dataset) cache the records; evaluation datasets
(lib/test/evaluation) turn them into `Sequence` objects.
"""
from __future__ import annotations

import os
import re
import warnings
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from lib.data.records import FrameList, SeqRecord, SequenceError, warn_skipped
from lib.utils.image import AnnotationError, natural_key, read_annotation, read_label_file, read_list_file

__all__ = ["Layout", "check_frames", "load_ground_truth", "load_flags", "load_frames", "parse_resolution",
           "read_meta_info", "split_folder", "subdirs"]

# --- shared reading steps (every layout goes through these) -------------------------------------------

def load_ground_truth(path: Path, first_frame_only: bool = False) -> np.ndarray:
    """Groundtruth boxes of one sequence, or SequenceError naming the file (and the first bad lines)."""
    try:
        boxes, bad = read_annotation(path)
    except FileNotFoundError:
        raise SequenceError(f"groundtruth file missing: {path}") from None
    if first_frame_only:
        boxes, bad = boxes[:1], [b for b in bad if b[0] == 1]
    if bad:
        shown = "; ".join(f"line {n}: {text!r}" for n, text in bad[:3])
        more = f" (+{len(bad) - 3} more)" if len(bad) > 3 else ""
        raise SequenceError(f"{path}: malformed groundtruth {shown}{more}; expected x,y,w,h")
    if len(boxes) == 0:
        raise SequenceError(f"{path}: empty groundtruth file")
    valid = (boxes[:, 2] > 0) & (boxes[:, 3] > 0)
    if first_frame_only and not valid[0]:
        raise SequenceError(f"{path}: line 1: first-frame box {boxes[0].tolist()} has no positive size")
    if not valid.any():
        raise SequenceError(f"{path}: no line has a box with positive width and height")
    return boxes


def load_flags(path: Path, length: int) -> np.ndarray | None:
    """Per-frame integer labels from an optional label file (None if absent); length must match."""
    if not path.is_file():
        return None
    try:
        flags = read_label_file(path)
    except AnnotationError as e:
        raise SequenceError(str(e)) from None
    if len(flags) != length:
        raise SequenceError(f"{path}: {len(flags)} labels for {length} frames")
    return flags


def check_frames(frames: FrameList, folder: Path, n_boxes: int, gt_path: Path,
                 first_frame_only: bool = False) -> FrameList:
    """Check frame files against the groundtruth length: fewer is an error, extra trailing ones are dropped."""
    if len(frames) == 0:
        what = "folder missing" if not folder.is_dir() else "no image files"
        raise SequenceError(f"frames {what}: {folder}")
    if first_frame_only:
        return frames
    if len(frames) < n_boxes:
        raise SequenceError(f"missing frame files: {folder} has {len(frames)} images (in range) but "
                            f"{gt_path} has {n_boxes} lines")
    if len(frames) > n_boxes:
        warnings.warn(f"{folder}: {len(frames)} images but {gt_path} has {n_boxes} lines; "
                      f"using the first {n_boxes} frames", stacklevel=3)
        frames = frames.slice(0, n_boxes)
    return frames


def load_frames(folder: Path, n_boxes: int, gt_path: Path, first_frame_only: bool = False) -> FrameList:
    """The image files in `folder`, checked against the groundtruth length (see check_frames)."""
    return check_frames(FrameList.from_folder(folder), folder, n_boxes, gt_path, first_frame_only)


def read_meta_info(path: Path) -> dict[str, str]:
    """`key: value` lines of a GOT-10k meta_info.ini ({} if the file is missing)."""
    try:
        lines = read_list_file(path)
    except FileNotFoundError:
        return {}
    out = {}
    for line in lines:
        key, sep, value = line.partition(":")
        if sep and not line.startswith("["):
            out[key.strip()] = value.strip()
    return out


def parse_resolution(text: str | None) -> list[int] | None:
    numbers = re.findall(r"\d+", text or "")
    return [int(numbers[0]), int(numbers[1])] if len(numbers) >= 2 else None


def split_folder(root: str | os.PathLike, *names: str) -> Path:
    """The first of root/<name> that is a folder (e.g. 'train', 'TNL2K_train_subset'), else root itself."""
    root = Path(root)
    for name in names:
        if (root / name).is_dir():
            return root / name
    return root


def subdirs(folder: Path) -> list[str]:
    try:
        with os.scandir(folder) as it:
            names = [e.name for e in it if e.is_dir() and not e.name.startswith(".")]
    except FileNotFoundError:
        return []
    return sorted(names, key=natural_key)


# --- layouts --------------------------------------------------------------------------------------------

class Layout:
    """How one dataset stores its sequences; subclasses list names and read one sequence."""

    first_frame_only = False  # test splits whose groundtruth holds only the first frame

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    def sequence_names(self) -> list[str]:
        """All sequence names found under the root, in a stable (numeric) order."""
        raise NotImplementedError

    def source_paths(self, name: str) -> list[Path]:
        """Files and folders whose (mtime, size) decide whether a cached parse of `name` is stale."""
        raise NotImplementedError

    def read(self, name: str) -> SeqRecord:
        """Read one sequence; raises SequenceError (or OSError) naming the file when it is unusable."""
        raise NotImplementedError

    def options(self) -> dict:
        """Layout options that change what `read` returns (part of the cache key)."""
        return {"first_frame_only": self.first_frame_only}

    def try_read(self, name: str) -> tuple[SeqRecord | None, str | None]:
        """(record, None), or (None, why the sequence cannot be used): the one notion of a usable sequence,
        shared by the loaders (`load`) and tracking/check_data.py, so no sequence is both used and called broken."""
        try:
            return self.read(name), None
        except (OSError, ValueError) as e:  # SequenceError is a ValueError
            return None, str(e)

    def load(self, names: Iterable[str] | None = None, dataset: str | None = None
             ) -> tuple[list[SeqRecord], list[tuple[str, str]]]:
        """Read `names` (default all); unusable sequences are warned about and returned as (name, reason)."""
        records, skipped = [], []
        for name in self.sequence_names() if names is None else names:
            record, reason = self.try_read(name)
            if record is None:
                skipped.append((name, reason))
            else:
                records.append(record)
        warn_skipped(dataset or type(self).__name__, skipped)
        return records, skipped
