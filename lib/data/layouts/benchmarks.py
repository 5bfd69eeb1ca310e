"""Layouts of evaluation-only benchmarks: OTB-2015, OTB99-lang, UAV123, Need for Speed."""
from __future__ import annotations

import importlib.util
import json
import os
import re
from pathlib import Path

import numpy as np

from lib.data.layouts.base import Layout, check_frames, load_ground_truth, subdirs
from lib.data.records import FrameList, SeqRecord, SequenceError
from lib.utils.image import list_files, read_list_file, read_sentence

__all__ = ["NfsLayout", "Otb99LangLayout", "OtbLayout", "Uav123Layout"]

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
            for folder in subdirs(self.root):
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
        boxes = load_ground_truth(gt)
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
        boxes = load_ground_truth(gt)
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
        return [self.PREFIX + s for s in subdirs(self.root) if self._paths(s)[1].is_file()]

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
