"""Layouts of the RGB (and language) training benchmarks: GOT-10k, LaSOT, VastTrack, TrackingNet, TNL2K, and
a plain folder of sequences."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from lib.data.layouts.base import (
    Layout,
    load_flags,
    load_frames,
    load_ground_truth,
    parse_resolution,
    read_meta_info,
    subdirs,
)
from lib.data.records import SeqRecord, SequenceError
from lib.data.splits import trackingnet_classmap
from lib.utils.image import list_files, list_image_files, read_list_file, read_sentence

__all__ = ["CustomLayout", "Got10kLayout", "LasotLayout", "Tnl2kLayout", "TrackingNetLayout", "VastTrackLayout"]

class Got10kLayout(Layout):
    """GOT-10k split folder: list.txt, <seq>/00000001.jpg, groundtruth.txt, *.label, meta_info.ini."""

    FILES = ("groundtruth.txt", "absence.label", "cover.label", "cut_by_image.label", "meta_info.ini")

    def __init__(self, split_dir: str | os.PathLike, first_frame_only: bool = False):
        super().__init__(split_dir)
        self.first_frame_only = first_frame_only

    def sequence_names(self) -> list[str]:
        list_file = self.root / "list.txt"
        return read_list_file(list_file) if list_file.is_file() else subdirs(self.root)

    def source_paths(self, name: str) -> list[Path]:
        return [self.root / name] + [self.root / name / f for f in self.FILES]

    def read(self, name: str) -> SeqRecord:
        seq = self.root / name
        gt = seq / "groundtruth.txt"
        boxes = load_ground_truth(gt, self.first_frame_only)
        frames = load_frames(seq, len(boxes), gt, self.first_frame_only)
        info = read_meta_info(seq / "meta_info.ini")
        record = SeqRecord(name, frames, boxes, object_class=info.get("object_class"))
        record.meta = {k: info[k] for k in ("motion_class", "major_class", "root_class", "motion_adverb")
                       if k in info}
        resolution = parse_resolution(info.get("resolution"))
        if resolution:
            record.meta["resolution"] = resolution
        if self.first_frame_only:
            return record
        absence = load_flags(seq / "absence.label", len(boxes))
        cover = load_flags(seq / "cover.label", len(boxes))
        cut = load_flags(seq / "cut_by_image.label", len(boxes))
        if absence is not None or cover is not None:
            visible = np.ones(len(boxes), bool)
            if absence is not None:
                visible &= absence == 0
                record.extra["absence"] = absence
            if cover is not None:
                visible &= cover > 0
                record.extra["cover"] = cover
            record.visible = visible
        if cut is not None:
            record.extra["cut_by_image"] = cut
        return record


class LasotLayout(Layout):
    """LaSOT (and its extension subset): <class>/<class>-<k>/img/*.jpg, groundtruth.txt, nlp.txt, ..."""

    FRAMES = "img"  # frame folder, annotation file and visibility flag files of a sequence folder
    GROUNDTRUTH = "groundtruth.txt"
    FLAG_FILES = ("full_occlusion.txt", "out_of_view.txt")

    def sequence_names(self) -> list[str]:
        return [seq for cls in subdirs(self.root) for seq in subdirs(self.root / cls)
                if seq.rsplit("-", 1)[0] == cls]

    def testing_set(self) -> list[str] | None:
        """Names in the root's testing_set.txt (LaSOT's 280 test sequences), or None without that file."""
        path = self.root / "testing_set.txt"
        return read_list_file(path) if path.is_file() else None

    def seq_dir(self, name: str) -> Path:
        return self.root / name.rsplit("-", 1)[0] / name

    def source_paths(self, name: str) -> list[Path]:
        seq = self.seq_dir(name)
        return [seq / self.FRAMES] + [seq / f for f in (self.GROUNDTRUTH, *self.FLAG_FILES, "nlp.txt")]

    def read(self, name: str) -> SeqRecord:
        seq = self.seq_dir(name)
        if not seq.is_dir():
            raise SequenceError(f"sequence folder missing: {seq}")
        gt = seq / self.GROUNDTRUTH
        boxes = load_ground_truth(gt)
        frames = load_frames(seq / self.FRAMES, len(boxes), gt)
        record = SeqRecord(name, frames, boxes, object_class=name.rsplit("-", 1)[0],
                           language=read_sentence(seq / "nlp.txt"))
        flags = {f.removesuffix(".txt"): load_flags(seq / f, len(boxes)) for f in self.FLAG_FILES}
        if any(v is not None for v in flags.values()):  # visible = neither fully occluded nor out of view
            record.visible = np.ones(len(boxes), bool)
            for key, values in flags.items():
                if values is not None:
                    record.visible &= values == 0
                    record.extra[key] = values
        return record


class VastTrackLayout(LasotLayout):
    """VastTrack: <class>/<class>-<n>/imgs/00001.jpg, Groundtruth.txt (x,y,w,h), optional nlp.txt.

    A name is '<class>-<n>', the class being everything before the last dash (class names hold spaces
    and dashes, e.g. 'Crossbody Backpack-2').
    """

    FRAMES = "imgs"
    GROUNDTRUTH = "Groundtruth.txt"
    FLAG_FILES = ()


class TrackingNetLayout(Layout):
    """TrackingNet sets: <SET>/anno/<video>.txt and <SET>/frames/<video>/<n>.jpg (n from 0).

    Names are '<SET>/<video>'; records are named by the video alone (as results files are).
    """

    def __init__(self, root: str | os.PathLike, sets: list[str], first_frame_only: bool = False,
                 classmap: bool = False):
        super().__init__(root)
        self.sets = list(sets)
        self.first_frame_only = first_frame_only
        self.classmap = classmap  # object classes from lib/train/data_specs/trackingnet_classmap.txt

    def options(self) -> dict:
        return {**super().options(), "sets": self.sets, "classmap": self.classmap}

    def sequence_names(self) -> list[str]:
        names = []
        for s in self.sets:
            anno = list_files(self.root / s / "anno", (".txt",))
            names += [f"{s}/{a[:-4]}" for a in anno]
        return names

    def source_paths(self, name: str) -> list[Path]:
        s, video = name.split("/", 1)
        return [self.root / s / "anno" / f"{video}.txt", self.root / s / "frames" / video]

    def read(self, name: str) -> SeqRecord:
        s, video = name.split("/", 1)
        gt = self.root / s / "anno" / f"{video}.txt"
        boxes = load_ground_truth(gt, self.first_frame_only)
        frames = load_frames(self.root / s / "frames" / video, len(boxes), gt, self.first_frame_only)
        object_class = trackingnet_classmap().get(video) if self.classmap else None
        return SeqRecord(video, frames, boxes, object_class=object_class, meta={"set": s})


class CustomLayout(Layout):
    """A plain folder dataset: <seq>/ with frames in img/ (or directly) and groundtruth.txt.

    Optional per sequence: absence.label (1 = absent) and nlp.txt or language.txt; optional list.txt in
    the root selects and orders the sequences.
    """

    def sequence_names(self) -> list[str]:
        list_file = self.root / "list.txt"
        return read_list_file(list_file) if list_file.is_file() else subdirs(self.root)

    def _frame_dir(self, seq: Path) -> Path:
        return seq / "img" if list_image_files(seq / "img") else seq

    def source_paths(self, name: str) -> list[Path]:
        seq = self.root / name
        return [seq, seq / "img"] + [seq / f for f in ("groundtruth.txt", "absence.label", "nlp.txt",
                                                        "language.txt")]

    def read(self, name: str) -> SeqRecord:
        seq = self.root / name
        if not seq.is_dir():
            raise SequenceError(f"sequence folder missing: {seq}")
        gt = seq / "groundtruth.txt"
        boxes = load_ground_truth(gt)
        frames = load_frames(self._frame_dir(seq), len(boxes), gt)
        language = read_sentence(seq / "nlp.txt") or read_sentence(seq / "language.txt")
        record = SeqRecord(name, frames, boxes, language=language)
        absence = load_flags(seq / "absence.label", len(boxes))
        if absence is not None:
            record.visible = absence == 0
            record.extra["absence"] = absence
        return record


class Tnl2kLayout(Layout):
    """TNL2K: <seq>/imgs/*.jpg|png (sorted), groundtruth.txt, language.txt."""

    def sequence_names(self) -> list[str]:
        return subdirs(self.root)

    def source_paths(self, name: str) -> list[Path]:
        seq = self.root / name
        return [seq / "imgs", seq / "groundtruth.txt", seq / "language.txt"]

    def read(self, name: str) -> SeqRecord:
        seq = self.root / name
        gt = seq / "groundtruth.txt"
        boxes = load_ground_truth(gt)
        frames = load_frames(seq / "imgs", len(boxes), gt)
        return SeqRecord(name, frames, boxes, language=read_sentence(seq / "language.txt"))
