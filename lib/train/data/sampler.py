"""TrackingSampler: draws (templates, search) frame sets from a ratio-weighted mix of datasets.

Every sample's randomness comes from its own numpy Generator seeded by (seed, rank, global index), and
the loader's index sampler puts the epoch into the index. So a sample depends on nothing else: not
on the number of workers, which worker drew it, or whether the run was resumed; and ranks draw
different data. Failed samples (unreadable frame, degenerate jittered box, too few visible frames)
are redrawn and counted (`sample['redraws']`), never fatal; a dataset that keeps failing stops the run
with an error naming it instead of looping forever.
"""
from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import torch
from torch.utils.data import Dataset
from yacs.config import CfgNode

from lib.utils.image import AnnotationError, FrameReadError

from ..admin.run_folder import get_logger
from .processing import SampleError, SUTrackProcessing

GAP_INCREASE = 5  # widen the frame window by this many frames until frames are found
MAX_TRIES = 100  # draws per sample before giving up with an error
MAX_DATASET_STREAK = 200  # failed draws in a row from one dataset (per process) before it is declared broken
MAX_SEQUENCE_WARNINGS = 50  # per process, one per sequence; later ones are only counted

# Failures that mean "this sample/sequence is bad", not "the code is wrong".
DATA_ERRORS = (SampleError, FrameReadError, AnnotationError, OSError, ValueError)


def config_key(dataset_name: str, table: CfgNode) -> str | None:
    """The MODEL.TASK_INDEX / DATA.USE_NLP key of a dataset name (GOT10K_vottrain -> GOT10K, COCO17 -> COCO)."""
    upper = dataset_name.upper()
    base = upper.split("_")[0]
    for key in (upper, base, re.sub(r"\d+$", "", base)):
        if key in table:
            return key
    return None


def task_index_of(dataset_name: str, cfg: CfgNode) -> int:
    """MODEL.TASK_INDEX for a dataset; an unknown dataset is an error naming the known keys."""
    key = config_key(dataset_name, cfg.MODEL.TASK_INDEX)
    if key is None:
        raise ValueError(f"dataset '{dataset_name}' has no MODEL.TASK_INDEX entry; known: "
                         f"{sorted(cfg.MODEL.TASK_INDEX.keys())}")
    return int(cfg.MODEL.TASK_INDEX[key])


def uses_language(dataset, cfg: CfgNode) -> bool:
    """Text on for this dataset: DATA.MULTI_MODAL_LANGUAGE, DATA.USE_NLP.<NAME> and sentences present."""
    if not cfg.DATA.MULTI_MODAL_LANGUAGE:
        return False
    key = config_key(dataset.get_name(), cfg.DATA.USE_NLP)
    has = getattr(dataset, "has_language", lambda: False)()
    return bool(key is not None and cfg.DATA.USE_NLP[key] and has)


def sample_visible_ids(visible: np.ndarray, num_ids: int, rng: np.random.Generator, min_id: int | None = None,
                       max_id: int | None = None) -> list[int] | None:
    """`num_ids` visible frame ids in [min_id, max_id) drawn with replacement, or None if there are none."""
    if num_ids == 0:
        return []
    lo = max(0, 0 if min_id is None else min_id)
    hi = min(len(visible), len(visible) if max_id is None else max_id)
    valid = np.flatnonzero(visible[lo:hi]) + lo
    if len(valid) == 0:
        return None
    return [int(i) for i in rng.choice(valid, size=num_ids, replace=True)]


def sample_frame_ids(visible: np.ndarray, num_template: int, num_search: int, max_gap: int, mode: str,
                     rng: np.random.Generator) -> tuple[list[int], list[int]]:
    """Template and search frame ids among visible frames (SUTrack's 'order' or pytracking's 'causal').

    order: num_template + num_search frames within +-gap of a visible base frame, sorted ascending or
    descending at random; the first are templates. causal: templates within gap before a base frame,
    search frames within gap after the first template. The gap grows by 5 until frames are found;
    raises SampleError when even a gap spanning the whole sequence finds none.
    """
    n = len(visible)
    gap_increase = 0
    while True:
        gap = max_gap + gap_increase
        if mode == "order":
            base = sample_visible_ids(visible, 1, rng)
            if base is None:
                raise SampleError("no visible frame")
            ids = sample_visible_ids(visible, num_template + num_search, rng, base[0] - gap, base[0] + gap + 1)
            if ids is not None:
                ids.sort(reverse=bool(rng.random() < 0.5))
                return ids[:num_template], ids[num_template:]
        elif mode == "causal":
            base = sample_visible_ids(visible, 1, rng, num_template - 1, n - num_search)
            if base is not None:
                prev = sample_visible_ids(visible, num_template - 1, rng, base[0] - gap, base[0])
                if prev is not None:
                    templates = base + sorted(prev, reverse=True)
                    search = sample_visible_ids(visible, num_search, rng, templates[0] + 1, templates[0] + gap + 1)
                    if search is not None:
                        return templates, search
        else:
            raise ValueError(f"DATA.SAMPLER_MODE must be 'order' or 'causal', got '{mode}'")
        if gap > n:
            raise SampleError(f"no {mode} frame set among {int(visible.sum())} visible of {n} frames")
        gap_increase += GAP_INCREASE


class TrackingSampler(Dataset):
    """Map-style dataset whose item `index` is one processed training sample (see module docstring)."""

    def __init__(self, datasets: Sequence, ratios: Sequence[float], processing: SUTrackProcessing, cfg: CfgNode,
                 seed: int = 0, rank: int = 0, samples: int = 0):
        if not datasets:
            raise ValueError("DATA.TRAIN.DATASETS_NAME is empty: nothing to train on")
        if len(ratios) != len(datasets):
            raise ValueError(f"DATA.TRAIN.DATASETS_RATIO has {len(ratios)} entries for {len(datasets)} datasets")
        p = np.asarray(ratios, dtype=np.float64)
        if np.any(p < 0) or p.sum() <= 0:
            raise ValueError(f"DATA.TRAIN.DATASETS_RATIO must be non-negative with a positive sum, got {list(ratios)}")
        for d in datasets:
            if d.get_num_sequences() == 0:
                raise ValueError(f"training dataset {d.get_name()} has no sequences")
        self.datasets = list(datasets)
        self.cfg = cfg
        self.probs = p / p.sum()
        self.processing = processing
        self.num_template = int(cfg.DATA.TEMPLATE.NUMBER)
        self.num_search = int(cfg.DATA.SEARCH.NUMBER)
        self.max_gap = int(cfg.DATA.MAX_SAMPLE_INTERVAL)
        self.mode = cfg.DATA.SAMPLER_MODE
        if self.mode not in ("order", "causal"):
            raise ValueError(f"DATA.SAMPLER_MODE must be 'order' or 'causal', got '{self.mode}'")
        self.task_index = [task_index_of(d.get_name(), cfg) for d in self.datasets]
        self.use_nlp = [uses_language(d, cfg) for d in self.datasets]
        self.seed, self.rank, self.samples = int(seed), int(rank), int(samples)
        self._warned: set[tuple[str, int]] = set()
        self._streak = [0] * len(self.datasets)  # consecutive failed draws per dataset, this process

    def __len__(self) -> int:
        return self.samples

    def rng_for(self, index: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, self.rank, int(index)])

    def __getitem__(self, index: int) -> dict:
        rng = self.rng_for(index)
        failures: dict[str, int] = {}
        last_error = ""
        for attempt in range(MAX_TRIES):
            d = int(rng.choice(len(self.datasets), p=self.probs))
            dataset = self.datasets[d]
            try:
                sample = self.draw(d, rng)
            except DATA_ERRORS as exc:
                name = dataset.get_name()
                failures[name] = failures.get(name, 0) + 1
                last_error = f"{name}: {exc}"
                self.warn((name, getattr(exc, "seq_id", -1)), last_error)
                self._streak[d] += 1
                if self._streak[d] >= MAX_DATASET_STREAK:
                    raise RuntimeError(f"training dataset {name} failed {self._streak[d]} draws in a row without one "
                                       f"valid sample; last error: {exc}. Check its root and files.") from exc
                continue
            self._streak[d] = 0
            sample["redraws"] = attempt
            return sample
        raise RuntimeError(f"no valid training sample in {MAX_TRIES} draws (failures per dataset: {failures}); "
                           f"last error: {last_error}. Check the dataset roots and files.")

    def warn(self, key: tuple[str, int], message: str) -> None:
        """Warn once per sequence (and at most MAX_SEQUENCE_WARNINGS times); every redraw is still counted."""
        if key in self._warned:
            return
        self._warned.add(key)
        if len(self._warned) <= MAX_SEQUENCE_WARNINGS:
            get_logger().warning("redrawing a training sample (further failures of this sequence are only "
                                 "counted): %s", message)
        elif len(self._warned) == MAX_SEQUENCE_WARNINGS + 1:
            get_logger().warning("more sequences fail; their redraws are counted in the epoch line only")

    def draw(self, d: int, rng: np.random.Generator) -> dict:
        """One attempt on dataset `d`: a sequence, its frame ids, frames, then processing."""
        dataset = self.datasets[d]
        seq_id = int(rng.integers(dataset.get_num_sequences()))
        info = dataset.get_sequence_info(seq_id)
        visible = _as_bool(info["visible"]) & _as_bool(info.get("valid", info["visible"]))
        where = f"sequence {seq_id}"
        if hasattr(dataset, "get_sequence_name"):
            where += f" ({dataset.get_sequence_name(seq_id)})"
        try:
            if dataset.is_video_sequence():
                t_ids, s_ids = sample_frame_ids(visible, self.num_template, self.num_search, self.max_gap, self.mode,
                                                rng)
            else:
                if not visible.any():
                    raise SampleError("the image's object is not visible")
                t_ids, s_ids = [0] * self.num_template, [0] * self.num_search
            ids = t_ids + s_ids
            frames, anno, meta = dataset.get_frames(seq_id, ids, info)
            boxes = [np.asarray(b, dtype=np.float64).reshape(4) for b in anno["bbox"]]
            n_t = len(t_ids)
            raw = {"template_frames": frames[:n_t], "template_boxes": boxes[:n_t],
                   "search_frames": frames[n_t:], "search_boxes": boxes[n_t:],
                   "dataset": dataset.get_name(), "task_index": self.task_index[d],
                   "use_nlp": self.use_nlp[d], "nlp": (meta or {}).get("nlp")}
            return self.processing(raw, rng)
        except DATA_ERRORS as exc:
            error = SampleError(f"{where}: {exc}")
            error.seq_id = seq_id
            raise error from exc


def _as_bool(values) -> np.ndarray:
    if isinstance(values, torch.Tensor):
        values = values.cpu().numpy()
    return np.asarray(values).astype(bool).reshape(-1)
