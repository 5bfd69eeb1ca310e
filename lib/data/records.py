"""What a dataset layout reads: one sequence as a `SeqRecord` (frames as a compact `FrameList`, xywh boxes,
visibility, class, language), and `SequenceError` for a sequence that cannot be used.

RGB-X sequences keep their X frames in `SeqRecord.meta` (AUX_FRAMES_KEY, MODALITY_KEY: JSON, so the training
cache carries them); lib/utils/image.read_rgbx stacks the pair into 6 channels.
"""
from __future__ import annotations

import os
import re
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lib.utils.image import list_image_files

__all__ = ["AUX_FRAMES_KEY", "MODALITY_KEY", "FrameList", "SeqRecord", "SequenceError", "warn_skipped"]

MAX_SKIP_WARNINGS = 20  # individual warnings per load; the rest are summarised (full list in `skipped`)
# RGB-X sequences keep their auxiliary frames in SeqRecord.meta (JSON, so the training cache carries them):
AUX_FRAMES_KEY = "aux_frames"  # FrameList.to_json() of the X frames, index-aligned with the RGB frames
MODALITY_KEY = "modality"  # 'depth' | 'thermal' | 'event' (lib.utils.image.AUX_MODALITIES)


class SequenceError(ValueError):
    """A sequence that cannot be used; the message names the file and, where it applies, the line."""


@dataclass
class FrameList:
    """Frame files of one sequence: a folder plus either explicit names or a numbered pattern (compact)."""

    folder: str
    names: list[str] | None = None
    pattern: str | None = None  # e.g. "{:08d}.jpg", formatted with start + index
    start: int = 0
    count: int = 0

    def __post_init__(self) -> None:
        if self.names is not None:
            self.count = len(self.names)

    def __len__(self) -> int:
        return self.count

    def name(self, index: int) -> str:
        if not 0 <= index < self.count:
            raise IndexError(f"frame index {index} out of range for {self.count} frames in {self.folder}")
        if self.names is not None:
            return self.names[index]
        return self.pattern.format(self.start + index)

    def path(self, index: int) -> str:
        """Full path of frame `index` (0-based)."""
        return os.path.join(self.folder, self.name(index))

    def paths(self) -> list[str]:
        return [self.path(i) for i in range(self.count)]

    def slice(self, start: int, stop: int | None = None) -> FrameList:
        """Frames [start, stop) as a new FrameList."""
        start, stop, _ = slice(start, stop).indices(self.count)
        stop = max(stop, start)
        if self.names is not None:
            return FrameList(self.folder, names=self.names[start:stop])
        return FrameList(self.folder, pattern=self.pattern, start=self.start + start, count=stop - start)

    @classmethod
    def from_names(cls, folder: str | os.PathLike, names: list[str]) -> FrameList:
        """Store `names` as a pattern when they are consecutive numbers (e.g. 00000001.jpg ...), else as is."""
        folder = os.fspath(folder)
        m = re.fullmatch(r"(.*?)(\d+)(\.[A-Za-z0-9]+)", names[0]) if names else None
        if m:
            prefix, digits, ext = (s.replace("{", "{{").replace("}", "}}") for s in m.groups())
            start = int(digits)
            for fmt in (f"{prefix}{{:0{len(digits)}d}}{ext}", f"{prefix}{{:d}}{ext}"):
                if all(n == fmt.format(start + i) for i, n in enumerate(names)):
                    return cls(folder, pattern=fmt, start=start, count=len(names))
        return cls(folder, names=list(names))

    @classmethod
    def from_folder(cls, folder: str | os.PathLike) -> FrameList:
        """The image files in `folder`, sorted numerically."""
        return cls.from_names(folder, list_image_files(folder))

    def to_json(self) -> list:
        if self.names is not None:
            return [self.folder, self.names]
        return [self.folder, self.pattern, self.start, self.count]

    @classmethod
    def from_json(cls, data: list) -> FrameList:
        if len(data) == 2:
            return cls(data[0], names=list(data[1]))
        return cls(data[0], pattern=data[1], start=int(data[2]), count=int(data[3]))


@dataclass
class SeqRecord:
    """One sequence as read from disk: frames, (N, 4) float64 xywh boxes (NaN = no box), labels."""

    name: str
    frames: FrameList
    boxes: np.ndarray
    visible: np.ndarray | None = None  # (N,) bool, None when the layout has no visibility labels
    object_class: str | None = None
    language: str | None = None
    extra: dict[str, np.ndarray] = field(default_factory=dict)  # per-frame integer arrays (e.g. cover)
    meta: dict[str, Any] = field(default_factory=dict)  # JSON-able facts (e.g. resolution)

    @property
    def valid(self) -> np.ndarray:
        """Frames whose box has positive width and height (NaN boxes are invalid)."""
        return (self.boxes[:, 2] > 0) & (self.boxes[:, 3] > 0)

    @property
    def aux_frames(self) -> FrameList | None:
        """The auxiliary (X) frames of an RGB-X sequence, index-aligned with `frames`; None for RGB."""
        data = self.meta.get(AUX_FRAMES_KEY)
        return None if data is None else FrameList.from_json(data)

    @property
    def modality(self) -> str | None:
        """'depth', 'thermal' or 'event' for RGB-X sequences; None for RGB."""
        return self.meta.get(MODALITY_KEY)


def warn_skipped(dataset: str, skipped: list[tuple[str, str]]) -> None:
    """One warning per skipped sequence (up to MAX_SKIP_WARNINGS, then a summary)."""
    for name, reason in skipped[:MAX_SKIP_WARNINGS]:
        warnings.warn(f"{dataset}: skipping sequence '{name}': {reason}", stacklevel=3)
    if len(skipped) > MAX_SKIP_WARNINGS:
        warnings.warn(f"{dataset}: {len(skipped) - MAX_SKIP_WARNINGS} more sequences skipped "
                      f"(the dataset's `skipped` list names each with its reason)", stacklevel=3)
