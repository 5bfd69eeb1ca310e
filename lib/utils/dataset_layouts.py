"""On-disk layouts of the tracking datasets (RGB, RGB-X, language): one reader per layout, shared by training
and evaluation. RGB-X layouts (`RgbxLayout`: DepthTrack / VOT-RGBD, LasHeR / RGBT234, VisEvent) pair each RGB
frame with its X frame (`SeqRecord.aux_frames`, `.modality`); lib/utils/image.read_rgbx stacks the pair.

A `Layout` lists a dataset's sequences and reads one into a `SeqRecord` (frame files, xywh boxes,
visibility, class, language). A sequence that cannot be used raises `SequenceError` whose message names
the file (and line); `Layout.load` turns those into a warning plus an entry in its `skipped` list, so one
bad sequence never ends a run. Training datasets (lib/train/dataset) cache the records; evaluation
datasets (lib/test/evaluation) turn them into `Sequence` objects.
"""
from __future__ import annotations

import importlib.util
import json
import os
import re
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lib.utils.image import (
    AnnotationError,
    list_files,
    list_image_files,
    natural_key,
    read_annotation,
    read_label_file,
    read_list_file,
    read_sentence,
)
from lib.utils.settings import PROJECT_ROOT

__all__ = [
    "AUX_FRAMES_KEY",
    "MODALITY_KEY",
    "CustomLayout",
    "DepthTrackLayout",
    "FrameList",
    "GOT10K_SPLIT_FILES",
    "Got10kLayout",
    "LasotLayout",
    "Layout",
    "NfsLayout",
    "Otb99LangLayout",
    "OtbLayout",
    "RgbtLayout",
    "RgbxLayout",
    "SeqRecord",
    "SequenceError",
    "Tnl2kLayout",
    "TrackingNetLayout",
    "Uav123Layout",
    "VisEventLayout",
    "read_meta_info",
    "read_split_file",
    "split_folder",
    "warn_skipped",
]

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


# --- shared reading steps (every layout goes through these) -------------------------------------------

def load_boxes(path: Path, first_frame_only: bool = False) -> np.ndarray:
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


def _parse_resolution(text: str | None) -> list[int] | None:
    numbers = re.findall(r"\d+", text or "")
    return [int(numbers[0]), int(numbers[1])] if len(numbers) >= 2 else None


def split_folder(root: str | os.PathLike, *names: str) -> Path:
    """The first of root/<name> that is a folder (e.g. 'train', 'TNL2K_train_subset'), else root itself."""
    root = Path(root)
    for name in names:
        if (root / name).is_dir():
            return root / name
    return root


def _subdirs(folder: Path) -> list[str]:
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

    def load(self, names: Iterable[str] | None = None, dataset: str | None = None
             ) -> tuple[list[SeqRecord], list[tuple[str, str]]]:
        """Read `names` (default all); unusable sequences are warned about and returned as (name, reason)."""
        records, skipped = [], []
        for name in self.sequence_names() if names is None else names:
            try:
                records.append(self.read(name))
            except (OSError, ValueError) as e:  # SequenceError is a ValueError
                skipped.append((name, str(e)))
        warn_skipped(dataset or type(self).__name__, skipped)
        return records, skipped


class Got10kLayout(Layout):
    """GOT-10k split folder: list.txt, <seq>/00000001.jpg, groundtruth.txt, *.label, meta_info.ini."""

    FILES = ("groundtruth.txt", "absence.label", "cover.label", "cut_by_image.label", "meta_info.ini")

    def __init__(self, split_dir: str | os.PathLike, first_frame_only: bool = False):
        super().__init__(split_dir)
        self.first_frame_only = first_frame_only

    def sequence_names(self) -> list[str]:
        list_file = self.root / "list.txt"
        return read_list_file(list_file) if list_file.is_file() else _subdirs(self.root)

    def source_paths(self, name: str) -> list[Path]:
        return [self.root / name] + [self.root / name / f for f in self.FILES]

    def read(self, name: str) -> SeqRecord:
        seq = self.root / name
        gt = seq / "groundtruth.txt"
        boxes = load_boxes(gt, self.first_frame_only)
        frames = load_frames(seq, len(boxes), gt, self.first_frame_only)
        info = read_meta_info(seq / "meta_info.ini")
        record = SeqRecord(name, frames, boxes, object_class=info.get("object_class"))
        record.meta = {k: info[k] for k in ("motion_class", "major_class", "root_class", "motion_adverb")
                       if k in info}
        resolution = _parse_resolution(info.get("resolution"))
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


# GOT-10k train-folder splits without the sequences that overlap VOT (files the user supplies)
GOT10K_SPLIT_FILES = {split: PROJECT_ROOT / "lib" / "train" / "data_specs" / f"got10k_vot_{split[3:]}_split.txt"
                      for split in ("vottrain", "votval")}


def read_split_file(path: Path, names: list[str]) -> list[str]:
    """Sequences named by a split file: integer lines index `names` (pytracking's files), others are names."""
    if not path.is_file():
        raise FileNotFoundError(f"GOT-10k split file not found: {path}; the vottrain/votval split files "
                                f"(sequences not overlapping VOT) come with pytracking's ltr/data_specs: "
                                f"copy them there")
    out = []
    for line_no, entry in enumerate(read_list_file(path), start=1):
        if entry.isdigit():
            if int(entry) >= len(names):
                raise ValueError(f"{path}:{line_no}: index {entry} but the split folder lists only "
                                 f"{len(names)} sequences")
            out.append(names[int(entry)])
        else:
            out.append(entry)
    return out


class LasotLayout(Layout):
    """LaSOT (and its extension subset): <class>/<class>-<k>/img/*.jpg, groundtruth.txt, nlp.txt, ..."""

    def sequence_names(self) -> list[str]:
        return [seq for cls in _subdirs(self.root) for seq in _subdirs(self.root / cls)
                if seq.rsplit("-", 1)[0] == cls]

    def testing_set(self) -> list[str] | None:
        """Names in the root's testing_set.txt (LaSOT's 280 test sequences), or None without that file."""
        path = self.root / "testing_set.txt"
        return read_list_file(path) if path.is_file() else None

    def seq_dir(self, name: str) -> Path:
        return self.root / name.rsplit("-", 1)[0] / name

    def source_paths(self, name: str) -> list[Path]:
        seq = self.seq_dir(name)
        return [seq / "img"] + [seq / f for f in
                                ("groundtruth.txt", "full_occlusion.txt", "out_of_view.txt", "nlp.txt")]

    def read(self, name: str) -> SeqRecord:
        seq = self.seq_dir(name)
        gt = seq / "groundtruth.txt"
        boxes = load_boxes(gt)
        frames = load_frames(seq / "img", len(boxes), gt)
        occlusion = load_flags(seq / "full_occlusion.txt", len(boxes))
        out_of_view = load_flags(seq / "out_of_view.txt", len(boxes))
        record = SeqRecord(name, frames, boxes, object_class=name.rsplit("-", 1)[0],
                           language=read_sentence(seq / "nlp.txt"))
        if occlusion is not None or out_of_view is not None:
            record.visible = np.ones(len(boxes), bool)
            for key, flags in (("full_occlusion", occlusion), ("out_of_view", out_of_view)):
                if flags is not None:
                    record.visible &= flags == 0
                    record.extra[key] = flags
        return record


class TrackingNetLayout(Layout):
    """TrackingNet sets: <SET>/anno/<video>.txt and <SET>/frames/<video>/<n>.jpg (n from 0).

    Names are '<SET>/<video>'; records are named by the video alone (as results files are).
    """

    def __init__(self, root: str | os.PathLike, sets: list[str], first_frame_only: bool = False):
        super().__init__(root)
        self.sets = list(sets)
        self.first_frame_only = first_frame_only

    def options(self) -> dict:
        return {**super().options(), "sets": self.sets}

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
        boxes = load_boxes(gt, self.first_frame_only)
        frames = load_frames(self.root / s / "frames" / video, len(boxes), gt, self.first_frame_only)
        return SeqRecord(video, frames, boxes, meta={"set": s})


class CustomLayout(Layout):
    """A plain folder dataset: <seq>/ with frames in img/ (or directly) and groundtruth.txt.

    Optional per sequence: absence.label (1 = absent) and nlp.txt or language.txt; optional list.txt in
    the root selects and orders the sequences.
    """

    def sequence_names(self) -> list[str]:
        list_file = self.root / "list.txt"
        return read_list_file(list_file) if list_file.is_file() else _subdirs(self.root)

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
        boxes = load_boxes(gt)
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
        return _subdirs(self.root)

    def source_paths(self, name: str) -> list[Path]:
        seq = self.root / name
        return [seq / "imgs", seq / "groundtruth.txt", seq / "language.txt"]

    def read(self, name: str) -> SeqRecord:
        seq = self.root / name
        gt = seq / "groundtruth.txt"
        boxes = load_boxes(gt)
        frames = load_frames(seq / "imgs", len(boxes), gt)
        return SeqRecord(name, frames, boxes, language=read_sentence(seq / "language.txt"))


class OtbLayout(Layout):
    """OTB-2015: <seq>/img/*.jpg and groundtruth_rect.txt, or groundtruth_rect.<k>.txt per target.

    A sequence with several targets gives '<seq>_<k>' (pytracking's names, e.g. Jogging_1). The frame
    ranges the benchmark defines for sequences whose annotation is shorter than the video are applied.
    """

    # 1-based inclusive frame ranges within img/ (OTB's own definitions), and frames omitted at the start
    FRAME_RANGES = {"David": (300, 770), "Football1": (1, 74), "Freeman3": (1, 460), "Freeman4": (1, 283),
                    "Diving": (1, 215)}
    INIT_OMIT = {"Tiger1": 5}

    def __init__(self, root: str | os.PathLike):
        super().__init__(root)
        self._index: dict[str, tuple[str, str]] | None = None

    def index(self) -> dict[str, tuple[str, str]]:
        """Sequence name -> (folder, groundtruth file name)."""
        if self._index is None:
            self._index = {}
            for folder in _subdirs(self.root):
                gts = list_files(self.root / folder, (".txt",))
                multi = [g for g in gts if re.fullmatch(r"groundtruth_rect\.\d+\.txt", g)]
                if multi:
                    for g in multi:
                        self._index[f"{folder}_{g.split('.')[1]}"] = (folder, g)
                else:
                    self._index[folder] = (folder, "groundtruth_rect.txt")
        return self._index

    def sequence_names(self) -> list[str]:
        return list(self.index())

    def _locate(self, name: str) -> tuple[Path, Path]:
        index = self.index()
        key = name if name in index else name.replace("-", "_")
        folder, gt = index.get(key, (name, "groundtruth_rect.txt"))
        return self.root / folder, self.root / folder / gt

    def source_paths(self, name: str) -> list[Path]:
        seq, gt = self._locate(name)
        return [seq / "img", gt]

    def read(self, name: str) -> SeqRecord:
        seq, gt = self._locate(name)
        boxes = load_boxes(gt)
        frames = FrameList.from_folder(seq / "img")
        first, last = self.FRAME_RANGES.get(seq.name, (1, len(frames)))
        frames = frames.slice(first - 1, last)
        omit = self.INIT_OMIT.get(seq.name, 0)
        frames, boxes = frames.slice(omit), boxes[omit:]
        frames = check_frames(frames, seq / "img", len(boxes), gt)
        return SeqRecord(name, frames, boxes)


class Otb99LangLayout(OtbLayout):
    """OTB99-lang: OTB_videos/<seq>/img + groundtruth_rect.txt, sentences in OTB_query_<split>/<seq>.txt."""

    def __init__(self, root: str | os.PathLike, split: str = "test"):
        super().__init__(Path(root) / "OTB_videos")
        self.query_dir = Path(root) / f"OTB_query_{split}"

    def sequence_names(self) -> list[str]:
        return [f[:-4] for f in list_files(self.query_dir, (".txt",))]

    def source_paths(self, name: str) -> list[Path]:
        return super().source_paths(name) + [self.query_dir / f"{name}.txt"]

    def read(self, name: str) -> SeqRecord:
        record = super().read(name)
        record.language = read_sentence(self.query_dir / f"{name}.txt")
        return record


def _uav123_table() -> dict[str, dict]:
    """UAV123's split-sequence frame ranges (configSeqs.m), as shipped by the got10k toolkit; {} if absent."""
    spec = importlib.util.find_spec("got10k")
    for location in (spec.submodule_search_locations or []) if spec else []:
        path = Path(location) / "datasets" / "uav123.json"
        if path.is_file():
            return json.loads(path.read_text())
    return {}


class Uav123Layout(Layout):
    """UAV123: anno/UAV123/<seq>.txt and data_seq/UAV123/<folder>/000001.jpg.

    Sequences such as bird1_2 are ranges of one video folder; those ranges come from the benchmark's
    table. A sequence not in the table uses the folder of its own name and all its frames.
    """

    def __init__(self, root: str | os.PathLike, version: str = "UAV123"):
        super().__init__(root)
        self.version = version
        self._table: dict[str, dict] | None = None

    def options(self) -> dict:
        return {"version": self.version}

    def _entry(self, name: str) -> dict:
        if self._table is None:
            self._table = _uav123_table().get(self.version, {})
        return self._table.get(name, {"folder_name": name})

    def sequence_names(self) -> list[str]:
        return [f[:-4] for f in list_files(self.root / "anno" / self.version, (".txt",))]

    def source_paths(self, name: str) -> list[Path]:
        return [self.root / "anno" / self.version / f"{name}.txt",
                self.root / "data_seq" / "UAV123" / self._entry(name)["folder_name"]]

    def read(self, name: str) -> SeqRecord:
        gt, folder = self.source_paths(name)
        boxes = load_boxes(gt)
        entry = self._entry(name)
        frames = FrameList.from_folder(folder)
        if "start_frame" in entry:
            frames = frames.slice(entry["start_frame"] - 1, entry["end_frame"])
        return SeqRecord(name, check_frames(frames, folder, len(boxes), gt), boxes)


class NfsLayout(Layout):
    """Need for Speed: <seq>/<fps>/<seq>/*.jpg and <seq>/<fps>/<seq>.txt.

    Each annotation line is 'track_id xmin ymin xmax ymax frame lost occluded generated "label"'. The
    30 fps folders ship the 240 fps annotation, so every 8th line is used when the counts say so (as the
    got10k toolkit does). Sequences are named 'nfs_<seq>' (pytracking's names).
    """

    PREFIX = "nfs_"

    def __init__(self, root: str | os.PathLike, fps: int = 30):
        super().__init__(root)
        self.fps = fps

    def options(self) -> dict:
        return {"fps": self.fps}

    def _paths(self, name: str) -> tuple[Path, Path]:
        seq = name[len(self.PREFIX):] if name.startswith(self.PREFIX) else name
        base = self.root / seq / str(self.fps)
        return base / seq, base / f"{seq}.txt"

    def sequence_names(self) -> list[str]:
        return [self.PREFIX + s for s in _subdirs(self.root) if self._paths(s)[1].is_file()]

    def source_paths(self, name: str) -> list[Path]:
        return list(self._paths(name))

    @staticmethod
    def parse(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, str | None]:
        """xywh boxes, lost flags, occluded flags and the object label of an NFS annotation file."""
        try:
            lines = read_list_file(path)
        except FileNotFoundError:
            raise SequenceError(f"groundtruth file missing: {path}") from None
        rows, label = [], None
        for line_no, line in enumerate(lines, start=1):
            parts = line.split(maxsplit=9)
            try:
                if len(parts) < 9:
                    raise ValueError
                rows.append([float(p) for p in parts[1:5]] + [float(parts[6]), float(parts[7])])
            except ValueError:
                raise SequenceError(f"{path}: line {line_no}: malformed NFS annotation {line!r}; expected "
                                    f"'id xmin ymin xmax ymax frame lost occluded generated label'") from None
            if label is None and len(parts) == 10:
                label = parts[9].strip().strip('"') or None
        if not rows:
            raise SequenceError(f"{path}: empty groundtruth file")
        table = np.asarray(rows, dtype=np.float64)
        boxes = np.concatenate([table[:, :2], table[:, 2:4] - table[:, :2]], axis=1)
        return boxes, table[:, 4].astype(np.int64), table[:, 5].astype(np.int64), label

    def read(self, name: str) -> SeqRecord:
        folder, gt = self._paths(name)
        boxes, lost, occluded, label = self.parse(gt)
        frames = FrameList.from_folder(folder)
        if len(frames) and len(boxes) != len(frames) and abs(len(boxes) / len(frames) - 8) < 1:
            boxes, lost, occluded = boxes[::8], lost[::8], occluded[::8]
        if abs(len(boxes) - len(frames)) <= 1:
            n = min(len(boxes), len(frames))
            boxes, lost, occluded = boxes[:n], lost[:n], occluded[:n]
        if not ((boxes[:, 2] > 0) & (boxes[:, 3] > 0)).any():
            raise SequenceError(f"{gt}: no line has a box with positive width and height")
        frames = check_frames(frames, folder, len(boxes), gt)
        return SeqRecord(name, frames, boxes, visible=lost == 0, object_class=label,
                         extra={"lost": lost, "occluded": occluded})


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
        return read_list_file(path) if path.is_file() else _subdirs(self.root)

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
        boxes = load_boxes(gt)
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
            boxes = load_boxes(path)
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
