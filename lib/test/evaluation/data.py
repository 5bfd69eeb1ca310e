"""Evaluation sequences (pytracking's Sequence / SequenceList) and the base class of benchmark datasets."""
from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lib.data.layouts import Layout
from lib.data.records import AUX_FRAMES_KEY, MODALITY_KEY, SeqRecord
from lib.utils.settings import Settings, env_settings

__all__ = ["BaseDataset", "EmptyDatasetError", "Sequence", "SequenceList"]


@dataclass
class Sequence:
    """One evaluation sequence: frame paths, (N, 4) xywh ground truth (N = 1 for test-server splits).

    RGB-X sequences also carry `aux_frames` (X frame paths, index-aligned with `frames`) and `modality`
    ('depth' | 'thermal' | 'event'); the runner then reads 6-channel frames with lib.utils.image.read_rgbx.
    """

    name: str
    frames: list[str]
    dataset: str
    ground_truth_rect: np.ndarray
    target_visible: np.ndarray | None = None
    object_class: str | None = None
    language: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)  # e.g. resolution (W, H), per-frame cover
    aux_frames: list[str] | None = None
    modality: str | None = None

    def __len__(self) -> int:
        return len(self.frames)

    def init_bbox(self) -> list[float]:
        return [float(v) for v in self.ground_truth_rect[0]]

    def init_info(self) -> dict[str, Any]:
        """What the tracker's initialize() receives: {'init_bbox': [x, y, w, h], 'init_nlp': text?}."""
        info: dict[str, Any] = {"init_bbox": self.init_bbox()}
        if self.language:
            info["init_nlp"] = self.language
        return info


class EmptyDatasetError(ValueError):
    """A benchmark root that lists no sequence, or a list that names one twice; the message names the root or
    list file, and the layout expected."""


class SequenceList(list):
    """A list of Sequence that can also be indexed by sequence name; `skipped` lists what was left out, as
    (name, reason): `missing` (listed, not on disk) and `broken` (on disk, unreadable) split it."""

    def __init__(self, sequences=(), skipped: list[tuple[str, str]] | None = None,
                 missing: list[str] | None = None):
        super().__init__(sequences)
        self.skipped = list(skipped or [])
        self.missing_names = set(missing or [])

    @property
    def missing(self) -> list[tuple[str, str]]:
        """Listed sequences that are not on disk (their folder is absent)."""
        return [(n, r) for n, r in self.skipped if n in self.missing_names]

    @property
    def broken(self) -> list[tuple[str, str]]:
        """Sequences on disk that cannot be used (unreadable annotation or frames, unusable first box)."""
        return [(n, r) for n, r in self.skipped if n not in self.missing_names]

    def __getitem__(self, item):
        if isinstance(item, str):
            for seq in self:
                if seq.name == item:
                    return seq
            raise KeyError(f"sequence '{item}' not in this list")
        result = super().__getitem__(item)
        return SequenceList(result, self.skipped, self.missing_names) if isinstance(item, slice) else result

    def __add__(self, other):
        return SequenceList(list(self) + list(other), self.skipped + list(getattr(other, "skipped", [])),
                            self.missing_names | set(getattr(other, "missing_names", ())))


class BaseDataset:
    """A benchmark read through a Layout; subclasses give the name, settings key, layout and names."""

    name = "dataset"
    root_key = ""
    title = "dataset"  # for messages

    def __init__(self, settings: Settings | None = None, root: str | os.PathLike | None = None):
        self.settings = settings or env_settings()
        if root is None:
            root = self.settings.dataset_root(self.root_key, self.title)
        elif not Path(root).is_dir():
            raise FileNotFoundError(f"{self.title}: dataset root '{root}' does not exist")
        self.root = Path(root)
        self.skipped: list[tuple[str, str]] = []
        self._sequences: SequenceList | None = None

    def layout(self) -> Layout:
        raise NotImplementedError

    def sequence_names(self, layout: Layout) -> list[str]:
        return layout.sequence_names()

    def to_sequence(self, record: SeqRecord) -> Sequence:
        meta = {k: v for k, v in record.meta.items() if k not in (AUX_FRAMES_KEY, MODALITY_KEY)}
        meta.update({k: v for k, v in record.extra.items()})
        aux = record.aux_frames
        return Sequence(record.name, record.frames.paths(), self.name, record.boxes, record.visible,
                        record.object_class, record.language, meta, None if aux is None else aux.paths(),
                        record.modality)

    def list_file(self, layout: Layout) -> Path | None:
        """The file that lists the sequences (list.txt or the layout's own), None when they are the folders."""
        name = getattr(layout, "list_file", None) or "list.txt"
        path = layout.root / name
        return path if path.is_file() else None

    def checked_names(self, layout: Layout, allow_empty: bool = False) -> list[str]:
        """`sequence_names`, refused (EmptyDatasetError) when a name is listed twice or (unless `allow_empty`)
        when there are none."""
        names = self.sequence_names(layout)
        source = self.list_file(layout)
        if not names and not allow_empty:
            where = f"{source} is empty" if source else f"no sequence found under {layout.root}"
            raise EmptyDatasetError(self._empty_message(layout, where))
        seen: set[str] = set()
        for name in names:
            if name in seen:
                lines = _lines_naming(source, name) if source else ""
                raise EmptyDatasetError(f"{self.name}: sequence '{name}' is listed {names.count(name)} times in "
                                        f"{source or 'the sequence list'}{lines}; list each sequence once")
            seen.add(name)
        return names

    def _empty_message(self, layout: Layout, where: str) -> str:
        from lib.data.check import eval_layout

        return (f"{self.name}: 0 sequences to evaluate: {where} (dataset root {self.root}, settings key "
                f"{self.root_key} or SUTRACK_{self.root_key.upper()}). Expected layout: "
                f"{eval_layout(self.name, type(self))}. Is the root one level too deep or too high? "
                f"python tracking/check_data.py --no_train --dataset_name {self.name} checks it.")

    def get_sequence_list(self) -> SequenceList:
        """All usable sequences (read once); unusable ones are warned about and listed in `skipped` (those not on
        disk also in `missing`). An empty list or a name listed twice raises EmptyDatasetError."""
        if self._sequences is None:
            layout = self.layout()
            records, self.skipped = layout.load(self.checked_names(layout), dataset=self.name)
            missing = [n for n, _ in self.skipped if not layout.source_paths(n)[0].exists()]
            if not records and len(missing) == len(self.skipped):
                raise EmptyDatasetError(self._empty_message(layout, f"none of the {len(missing)} listed sequences "
                                                                    f"is on disk under {layout.root}"))
            sequences = []
            for record in records:
                if not record.valid[0]:
                    reason = f"first-frame box {record.boxes[0].tolist()} has no positive size (cannot initialise)"
                    warnings.warn(f"{self.name}: skipping sequence '{record.name}': {reason}", stacklevel=2)
                    self.skipped.append((record.name, reason))
                    continue
                sequences.append(self.to_sequence(record))
            self._sequences = SequenceList(sequences, self.skipped, missing)
        return self._sequences

    def __len__(self) -> int:
        return len(self.get_sequence_list())


def _lines_naming(path: Path, name: str) -> str:
    """' (lines 1 and 4)': where `name` stands in a list file."""
    try:
        numbers = [str(i) for i, line in enumerate(path.read_text().splitlines(), 1) if line.strip() == name]
    except (OSError, UnicodeDecodeError):
        return ""
    return f" (lines {', '.join(numbers[:-1])} and {numbers[-1]})" if len(numbers) > 1 else ""
