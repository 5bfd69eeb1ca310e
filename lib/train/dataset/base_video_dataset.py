"""Base classes of the training datasets (pytracking's BaseVideoDataset interface).

`BaseVideoDataset` is what the sampler calls. `AnnotatedVideoDataset` implements it for every dataset
read through a `Layout` (lib/data/layouts): annotations are parsed once, kept in flat
arrays (`SequenceTable`, cheap to share with DataLoader workers) and cached under settings.cache_dir.
Frames are read at `get_frames` time through `_read_frame`, which RGB-X datasets override to return
H x W x 6 arrays.
"""
from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch

from lib.data.catalog import refuse_test_sequences
from lib.data.layouts import Layout
from lib.data.records import FrameList, SeqRecord, warn_skipped
from lib.train.dataset.cache import AnnotationCache, cache_key
from lib.utils.image import read_image
from lib.utils.settings import Settings, env_settings

__all__ = ["AnnotatedVideoDataset", "BaseVideoDataset", "SequenceTable"]

ImageLoader = Callable[[str], np.ndarray]


class BaseVideoDataset:
    """Interface the training sampler uses: sequences of frames with one target box per frame."""

    def __init__(self, name: str, root: str | os.PathLike, image_loader: ImageLoader = read_image,
                 label: str | None = None):
        self.name = name  # family, as pytracking's get_name(): 'got10k', 'lasot', 'coco', ...
        self.label = label or name  # the config name (e.g. GOT10K_vottrain): cache files and messages
        self.root = str(root)
        self.image_loader = image_loader
        self.skipped: list[tuple[str, str]] = []  # (sequence, reason) for every sequence left out

    def __len__(self) -> int:
        return self.get_num_sequences()

    def get_name(self) -> str:
        """Dataset family in lower case ('got10k', 'lasot', ...); .upper() gives the DATA.USE_NLP key."""
        return self.name

    def is_video_sequence(self) -> bool:
        """False for image datasets (COCO): every 'sequence' is one image, frame ids are all 0."""
        return True

    def is_synthetic_video_dataset(self) -> bool:
        return False

    def has_class_info(self) -> bool:
        return False

    def has_occlusion_info(self) -> bool:
        return False

    def has_segmentation_info(self) -> bool:
        return False

    def has_language(self) -> bool:
        """True when sequences carry a sentence (returned as meta['nlp'] by get_frames)."""
        return False

    def get_num_sequences(self) -> int:
        raise NotImplementedError

    def get_num_frames(self, seq_id: int) -> int:
        raise NotImplementedError

    def get_num_classes(self) -> int:
        return len(self.get_class_list())

    def get_class_list(self) -> list[str]:
        return []

    def get_sequences_in_class(self, class_name: str) -> list[int]:
        return []

    def get_sequence_info(self, seq_id: int) -> dict[str, torch.Tensor]:
        """{'bbox': (N, 4) float xywh, 'valid': (N,) bool, 'visible': (N,) bool, ...} for one sequence."""
        raise NotImplementedError

    def get_frames(self, seq_id: int, frame_ids: Sequence[int], anno: dict | None = None
                   ) -> tuple[list[np.ndarray], dict[str, list[torch.Tensor]], dict]:
        """(frames as H x W x C uint8 arrays, per-frame annotations, meta with 'object_class_name' and 'nlp').

        A frame that cannot be read raises FrameReadError naming the file; the sampler resamples.
        """
        raise NotImplementedError


class SequenceTable:
    """Annotations of all sequences in flat arrays with per-sequence offsets: compact and cacheable."""

    def __init__(self, names: list[str], frames: list[FrameList], object_class: list[str | None],
                 language: list[str | None], meta: list[dict], offsets: np.ndarray, boxes: np.ndarray,
                 visible: np.ndarray, has_visible: np.ndarray, extra: dict[str, np.ndarray]):
        self.names, self.frames, self.object_class, self.language, self.meta = (
            names, frames, object_class, language, meta)
        self.offsets, self.boxes, self.visible, self.has_visible, self.extra = (
            offsets, boxes, visible, has_visible, extra)

    def __len__(self) -> int:
        return len(self.names)

    @classmethod
    def from_records(cls, records: list[SeqRecord]) -> SequenceTable:
        lengths = [len(r.boxes) for r in records]
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)

        def cat(arrays, dtype, width=None):
            empty = np.zeros((0,) if width is None else (0, width), dtype)
            return np.concatenate([np.asarray(a, dtype) for a in arrays]) if arrays else empty

        boxes = cat([r.boxes for r in records], np.float32, 4)
        visible = cat([r.visible if r.visible is not None else np.ones(len(r.boxes), bool)
                       for r in records], bool)
        keys = sorted({k for r in records for k in r.extra})
        extra = {k: cat([r.extra.get(k, np.full(len(r.boxes), -1)) for r in records], np.int64) for k in keys}
        return cls([r.name for r in records], [r.frames for r in records],
                   [r.object_class for r in records], [r.language for r in records],
                   [r.meta for r in records], offsets, boxes, visible,
                   np.array([r.visible is not None for r in records], bool), extra)

    def to_cache(self) -> tuple[dict, dict[str, np.ndarray]]:
        meta = {"names": self.names, "frames": [f.to_json() for f in self.frames],
                "object_class": self.object_class, "language": self.language, "meta": self.meta}
        arrays = {"offsets": self.offsets, "boxes": self.boxes, "visible": self.visible,
                  "has_visible": self.has_visible, **{f"extra.{k}": v for k, v in self.extra.items()}}
        return meta, arrays

    @classmethod
    def from_cache(cls, meta: dict, arrays: dict[str, np.ndarray]) -> SequenceTable:
        extra = {k[len("extra."):]: v for k, v in arrays.items() if k.startswith("extra.")}
        return cls(list(meta["names"]), [FrameList.from_json(f) for f in meta["frames"]],
                   list(meta["object_class"]), list(meta["language"]), list(meta["meta"]),
                   arrays["offsets"], arrays["boxes"], arrays["visible"], arrays["has_visible"], extra)

    def span(self, i: int) -> slice:
        return slice(int(self.offsets[i]), int(self.offsets[i + 1]))


class AnnotatedVideoDataset(BaseVideoDataset):
    """A training dataset read through a Layout: parsed once, cached, bad sequences skipped and listed."""

    def __init__(self, name: str, label: str, layout: Layout, sequence_names: list[str],
                 settings: Settings | None = None, image_loader: ImageLoader = read_image,
                 use_cache: bool = True):
        super().__init__(name, layout.root, image_loader, label)
        refuse_test_sequences(label, sequence_names, layout.root)  # before any parsing
        self.layout = layout
        settings = settings or env_settings()
        options = json.dumps(layout.options(), sort_keys=True)
        cache = AnnotationCache(settings.cache_dir, label, layout.root, tag=options)
        key = cache_key([os.fspath(layout.root), type(layout).__name__, options, *sequence_names],
                        (p for n in sequence_names for p in layout.source_paths(n)))
        entry = cache.load(key) if use_cache else None
        self.cache_hit = entry is not None
        if entry is not None:
            meta, arrays = entry
            self.table = SequenceTable.from_cache(meta, arrays)
            self.skipped = [(str(n), str(r)) for n, r in meta["skipped"]]
            warn_skipped(label, self.skipped)
        else:
            records, self.skipped = layout.load(sequence_names, dataset=label)
            self.table = SequenceTable.from_records(records)
            if use_cache:
                meta, arrays = self.table.to_cache()
                cache.save(key, {**meta, "skipped": self.skipped}, arrays)
        if len(self.table) == 0:
            first = f"; first: {self.skipped[0][0]}: {self.skipped[0][1]}" if self.skipped else ""
            raise ValueError(f"{label}: no usable sequences under {layout.root} "
                             f"({len(sequence_names)} listed, {len(self.skipped)} skipped{first})")
        self._class_to_seqs: dict[str, list[int]] = {}
        for i, c in enumerate(self.table.object_class):
            if c is not None:
                self._class_to_seqs.setdefault(c, []).append(i)

    def get_num_sequences(self) -> int:
        return len(self.table)

    def get_sequence_name(self, seq_id: int) -> str:
        return self.table.names[seq_id]

    def get_num_frames(self, seq_id: int) -> int:
        return len(self.table.frames[seq_id])

    def has_class_info(self) -> bool:
        return bool(self._class_to_seqs)

    def has_occlusion_info(self) -> bool:
        return bool(self.table.has_visible.any())

    def has_language(self) -> bool:
        return any(s is not None for s in self.table.language)

    def get_class_list(self) -> list[str]:
        return sorted(self._class_to_seqs)

    def get_sequences_in_class(self, class_name: str) -> list[int]:
        return list(self._class_to_seqs.get(class_name, []))

    def get_sequence_info(self, seq_id: int) -> dict[str, torch.Tensor]:
        span = self.table.span(seq_id)
        bbox = torch.from_numpy(np.array(self.table.boxes[span], dtype=np.float32))
        valid = (bbox[:, 2] > 0) & (bbox[:, 3] > 0)
        visible = torch.from_numpy(np.array(self.table.visible[span], dtype=bool)) & valid
        return {"bbox": bbox, "valid": valid, "visible": visible}

    def get_frame_path(self, seq_id: int, frame_id: int) -> str:
        return self.table.frames[seq_id].path(frame_id)

    def _read_frame(self, seq_id: int, frame_id: int) -> np.ndarray:
        """One frame as an H x W x C uint8 array (RGB here; RGB-X datasets override this)."""
        return self.image_loader(self.get_frame_path(seq_id, frame_id))

    def get_meta(self, seq_id: int) -> dict:
        """Per-sequence meta: object_class_name, nlp (sentence or None) and the layout's extra facts."""
        meta = {"object_class_name": self.table.object_class[seq_id], "nlp": self.table.language[seq_id]}
        meta.update(self.table.meta[seq_id])
        return meta

    def get_frames(self, seq_id: int, frame_ids: Sequence[int], anno: dict | None = None
                   ) -> tuple[list[np.ndarray], dict[str, list[torch.Tensor]], dict]:
        frames = [self._read_frame(seq_id, int(f)) for f in frame_ids]
        if anno is None:
            anno = self.get_sequence_info(seq_id)
        anno_frames = {key: [value[int(f), ...].clone() for f in frame_ids] for key, value in anno.items()}
        return frames, anno_frames, self.get_meta(seq_id)


def resolve_root(settings: Settings, key: str, dataset: str, root: str | os.PathLike | None) -> Path:
    """The dataset root given explicitly or from settings; a missing folder names the key and the path."""
    if root is not None:
        if not Path(root).is_dir():
            raise FileNotFoundError(f"{dataset}: dataset root '{root}' (given as argument, settings key "
                                    f"'{key}') does not exist")
        return Path(root)
    return Path(settings.dataset_root(key, dataset))
