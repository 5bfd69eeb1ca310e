"""RGB-X layouts: DepthTrack / VOT-RGBD (depth), LasHeR / RGBT234 (thermal), VisEvent (event).

Each RGB frame is paired with its X frame (`SeqRecord.aux_frames`, `.modality`); lib/utils/image.read_rgbx
stacks the pair into 6 channels.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from lib.data.layouts.base import Layout, load_flags, load_frames, load_ground_truth, subdirs
from lib.data.records import AUX_FRAMES_KEY, MODALITY_KEY, FrameList, SeqRecord, SequenceError
from lib.utils.image import read_list_file

__all__ = ["DepthTrackLayout", "RgbtLayout", "RgbxLayout", "VisEventLayout"]

class RgbxLayout(Layout):
    """RGB-X sequences: <seq>/<RGB_DIR>/* and <seq>/<AUX_DIR>/* paired by sorted index, plus a groundtruth file.

    Subclasses set the folders, the groundtruth file names (the first that exists is used) and the modality.
    The X frames go to `record.meta` (AUX_FRAMES_KEY, MODALITY_KEY). An optional list.txt in the root selects
    and orders the sequences.
    """

    RGB_DIR = "color"
    AUX_DIR = "depth"
    GT_FILES: tuple[str, ...] = ("groundtruth.txt",)
    LABEL_FILES: tuple[str, ...] = ()
    MODALITY = "depth"

    def __init__(self, root: str | os.PathLike, list_file: str = "list.txt"):
        super().__init__(root)
        self.list_file = list_file

    def options(self) -> dict:
        return {**super().options(), "list_file": self.list_file}

    def sequence_names(self) -> list[str]:
        path = self.root / self.list_file
        return read_list_file(path) if path.is_file() else subdirs(self.root)

    def source_paths(self, name: str) -> list[Path]:
        seq = self.root / name
        return [seq / self.RGB_DIR, seq / self.AUX_DIR] + [seq / f for f in self.GT_FILES + self.LABEL_FILES]

    def groundtruth_path(self, seq: Path) -> Path:
        """The first of GT_FILES present in `seq` (the first name, for the error message, if none is)."""
        return next((seq / f for f in self.GT_FILES if (seq / f).is_file()), seq / self.GT_FILES[0])

    def read(self, name: str) -> SeqRecord:
        seq = self.root / name
        if not seq.is_dir():
            raise SequenceError(f"sequence folder missing: {seq}")
        gt = self.groundtruth_path(seq)
        boxes = load_ground_truth(gt)
        frames = load_frames(seq / self.RGB_DIR, len(boxes), gt)
        aux = load_frames(seq / self.AUX_DIR, len(boxes), gt)
        record = SeqRecord(name, frames, boxes, meta={AUX_FRAMES_KEY: aux.to_json(), MODALITY_KEY: self.MODALITY})
        self.add_labels(seq, record)
        return record

    def add_labels(self, seq: Path, record: SeqRecord) -> None:
        """Layout-specific extras (visibility, second groundtruth); none by default."""


class DepthTrackLayout(RgbxLayout):
    """DepthTrack and VOT-RGBD sequences: <seq>/color/00000001.jpg, <seq>/depth/00000001.png (16 bit), groundtruth.txt.

    NaN lines (VOT's absent target) are invalid frames.
    """


class RgbtLayout(RgbxLayout):
    """LasHeR and RGBT234: <seq>/visible/*, <seq>/infrared/*, visible.txt (or init.txt), infrared.txt.

    w = h = 0 marks an absent target. With `infrared_gt` the infrared boxes go to
    meta['ground_truth_rect_ir'] (RGBT234's MPR/MSR take the better of both per frame).
    """

    RGB_DIR, AUX_DIR, MODALITY = "visible", "infrared", "thermal"
    GT_FILES = ("visible.txt", "init.txt")
    LABEL_FILES = ("infrared.txt",)

    def __init__(self, root: str | os.PathLike, infrared_gt: bool = False):
        super().__init__(root)
        self.infrared_gt = infrared_gt

    def options(self) -> dict:
        return {**super().options(), "infrared_gt": self.infrared_gt}

    def add_labels(self, seq: Path, record: SeqRecord) -> None:
        path = seq / "infrared.txt"
        if self.infrared_gt and path.is_file():
            boxes = load_ground_truth(path)
            if len(boxes) < len(record.boxes):
                raise SequenceError(f"{path}: {len(boxes)} lines for {len(record.boxes)} frames")
            record.meta["ground_truth_rect_ir"] = boxes[: len(record.boxes)].tolist()


class VisEventLayout(RgbxLayout):
    """VisEvent split folder: <split>list.txt, <seq>/vis_imgs/*.bmp, <seq>/event_imgs/*.bmp, groundtruth.txt,
    absent_label.txt (despite its name 1 = target present, 0 = absent).

    `trim_absent_start` drops the frames before the first present one (the target must be visible to
    initialise; evaluation does this as VisEvent's toolkit does).
    """

    RGB_DIR, AUX_DIR, MODALITY = "vis_imgs", "event_imgs", "event"
    LABEL_FILES = ("absent_label.txt",)

    def __init__(self, root: str | os.PathLike, split: str = "train", trim_absent_start: bool = False):
        super().__init__(root, f"{split}list.txt")
        self.trim_absent_start = trim_absent_start

    def options(self) -> dict:
        return {**super().options(), "trim_absent_start": self.trim_absent_start}

    def add_labels(self, seq: Path, record: SeqRecord) -> None:
        present = load_flags(seq / "absent_label.txt", len(record.boxes))
        if present is not None:
            record.visible = present == 1
            record.extra["present"] = present
        if self.trim_absent_start:
            usable = record.valid & (record.visible if record.visible is not None else True)
            start = int(np.argmax(usable)) if usable.any() else 0
            if start:
                record.frames, record.boxes = record.frames.slice(start), record.boxes[start:]
                record.meta[AUX_FRAMES_KEY] = FrameList.from_json(record.meta[AUX_FRAMES_KEY]).slice(start).to_json()
                record.visible = None if record.visible is None else record.visible[start:]
                record.extra = {k: v[start:] for k, v in record.extra.items()}
                record.meta["first_frame"] = start
