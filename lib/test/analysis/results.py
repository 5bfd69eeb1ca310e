"""Score trackers' results (read through lib.test.results) on a dataset into one table.

Sequences are anything with `.name`, `.ground_truth_rect`, and optionally `.target_visible`, `.dataset`,
`.frames` (lib.test.evaluation's Sequence). A sequence missing for one tracker is left out for all, so
the trackers compare on the same set; the report names it, and counts against the dataset's own list
(its sequences missing on disk, or on disk but broken, count as unscored, each under its own word). Each
tracker's sequences must come from one provenance record (ProvenanceMismatch otherwise). A result file
must have one row per frame: fewer or more rows are an error naming the file.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from lib.test.analysis import metrics as M
from lib.test.results import (
    MissingResultError,
    ResultFileError,
    ResultFiles,
    SequenceResult,
    TrackerSpec,
    folder_record,
    load_result_boxes,
    load_sequence_result,
)

OPE_COLUMNS = ["AUC", "OP50", "OP75", "Precision", "Norm Precision"]
EXTRA_COLUMNS = {
    "got10k": ["AO", "SR0.50", "SR0.75"],
    "lasher": ["PR", "NPR", "SR"],
    "rgbt234": ["PR", "NPR", "SR", "MPR", "MSR"],
    "longterm": ["Pr", "Re", "F"],
    "ope": [],
}


def dataset_kind(dataset_name: str) -> str:
    """Which extra metrics a dataset reports: got10k, lasher, rgbt234, longterm (RGB-D) or ope."""
    name = dataset_name.lower()
    if name.startswith("got10k"):
        return "got10k"
    if name.startswith("lasher"):
        return "lasher"
    if name.startswith("rgbt234"):
        return "rgbt234"
    if name.startswith("depthtrack") or ("vot" in name and "rgbd" in name):
        return "longterm"
    return "ope"


def _first_frame(seq) -> Path | None:
    frames = getattr(seq, "frames", None)
    if not frames:
        return None
    first = frames[0]
    if isinstance(first, (list, tuple)):  # multi-modal sequences may list (rgb, x) pairs
        first = first[0]
    if isinstance(first, dict):
        first = next(iter(first.values()))
    return Path(first)


def _find_beside(seq, filename: str) -> Path | None:
    """`filename` in the first frame's folder or its parent (e.g. `<seq>/infrared.txt`)."""
    first = _first_frame(seq)
    if first is None:
        return None
    for folder in (first.parent, first.parent.parent):
        if (folder / filename).is_file():
            return folder / filename
    return None


def _seq_fact(seq, key: str):
    """A per-sequence fact from `seq.meta[key]` (lib.test.evaluation's Sequence) or attribute `key`."""
    meta = getattr(seq, "meta", None) or {}
    return meta[key] if key in meta else getattr(seq, key, None)


def got10k_meta(seq) -> tuple[tuple[int, int], np.ndarray | None]:
    """Resolution (W, H) and cover labels of a GOT-10k sequence from `seq.meta` (meta_info.ini, cover.label).

    Without a resolution there, the first frame's size is used; without cover labels, every frame counts.
    """
    resolution = _seq_fact(seq, "resolution")
    if resolution is None:
        first = _first_frame(seq)
        if first is None or not first.is_file():
            raise FileNotFoundError(f"{seq.name}: no resolution in its meta_info.ini and no frame to read it from")
        from PIL import Image

        with Image.open(first) as image:
            resolution = image.size
    cover = _seq_fact(seq, "cover")
    return (int(resolution[0]), int(resolution[1])), None if cover is None else np.asarray(cover)


def sequence_ious(results_dir: str | Path, sequences) -> list[np.ndarray]:
    """Each GOT-10k-style sequence's IoUs (frames 1.. with cover > 0, as got10k scores them) from a results folder."""
    ious = []
    for seq in sequences:
        resolution, cover = got10k_meta(seq)
        pred = load_result_boxes(ResultFiles.of(Path(results_dir), seq.name).boxes, len(seq.frames))
        ious.append(M.got10k_ious(pred, seq.ground_truth_rect, resolution, cover))
    return ious


def sequence_aos(results_dir: str | Path, sequences) -> dict[str, float]:
    """Each GOT-10k-style sequence's own AO (mean IoU over frames 1.. with cover > 0) from a results folder."""
    sequences = list(sequences)
    return {seq.name: float(i.mean()) if i.size else float("nan")
            for seq, i in zip(sequences, sequence_ious(results_dir, sequences))}


@dataclass
class _Truth:
    """Ground truth of one sequence, plus what the dataset's extra metrics need."""

    name: str
    gt: np.ndarray
    visible: np.ndarray | None
    dataset_dirs: tuple[str, ...]
    resolution: tuple[int, int] | None = None
    cover: np.ndarray | None = None
    gt_infrared: np.ndarray | None = None


def _truth(seq, dataset_name: str, kind: str) -> _Truth:
    gt = M.as_boxes(seq.ground_truth_rect, f"{seq.name} ground truth")
    frames = getattr(seq, "frames", None)
    if frames is not None and len(frames) > 1 and gt.shape[0] < 2:
        raise ValueError(f"{dataset_name}: ground truth is withheld ({seq.name}: {gt.shape[0]} box for "
                         f"{len(frames)} frames); pack the results for the evaluation server with "
                         "lib/test/utils/transform_got10k.py or transform_trackingnet.py")
    visible = getattr(seq, "target_visible", None)
    dirs = tuple(d for d in (getattr(seq, "dataset", None), dataset_name) if d)
    truth = _Truth(seq.name, gt, None if visible is None else np.asarray(visible, dtype=bool), dirs)
    if kind == "got10k":
        truth.resolution, truth.cover = got10k_meta(seq)
    if kind == "rgbt234":
        infrared = _seq_fact(seq, "ground_truth_rect_ir")
        path = _find_beside(seq, "infrared.txt") if infrared is None else None
        if path is not None:
            infrared = load_result_boxes(path)  # ground truth, not results: extra trailing rows are tolerated
            if len(infrared) < gt.shape[0]:
                raise ResultFileError(f"{path}: {len(infrared)} rows, the sequence has {gt.shape[0]} frames")
        truth.gt_infrared = None if infrared is None else M.as_boxes(infrared)[: gt.shape[0]]
    return truth


@dataclass
class TrackerScore:
    """One tracker's scores on the evaluated sequences, and its averaged curves for the plots."""

    spec: TrackerSpec
    metrics: dict[str, float]
    curves: M.OPECurves
    got10k_curve: np.ndarray | None = None
    record: dict | None = None


@dataclass
class Report:
    """Scores of several trackers on one dataset, with the sequences that could not be scored."""

    dataset_name: str
    columns: list[str]
    scores: list[TrackerScore]
    sequences: list[str]
    total_sequences: int
    all_names: list[str] = field(default_factory=list)
    missing: dict[str, list[str]] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    broken: list[tuple[str, str]] = field(default_factory=list)  # in the dataset's list, on disk but unreadable
    not_on_disk: list[tuple[str, str]] = field(default_factory=list)  # in the dataset's list, not on disk
    records: dict[str, dict | None] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        """True when every sequence of the dataset's list was scored."""
        return len(self.sequences) == self.total_sequences

    def unscored(self) -> list[str]:
        """Names of the dataset's sequences left out of the table (missing or broken on disk, or without results)."""
        scored = set(self.sequences)
        return ([n for n, _ in self.not_on_disk] + [n for n, _ in self.broken]
                + [n for n in self.all_names if n not in scored])

    def rows(self) -> list[dict[str, float | str | int]]:
        """One dict per tracker: 'Tracker', 'Sequences' and every metric column."""
        return [{"Tracker": s.spec.label, "Sequences": len(self.sequences), **s.metrics} for s in self.scores]

    def table(self) -> str:
        """The score table as aligned text (percent values, FPS in frames per second, '-' where unknown)."""
        header = ["Tracker", "Seqs", *self.columns]
        def cell(value: float) -> str:
            return "-" if math.isnan(value) else f"{value:.2f}"

        n_seqs = str(len(self.sequences))
        body = [[s.spec.label, n_seqs, *(cell(s.metrics.get(c, math.nan)) for c in self.columns)]
                for s in self.scores]
        widths = [max(len(row[i]) for row in [header, *body]) for i in range(len(header))]
        lines = ["  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in
                           enumerate(zip(row, widths))) for row in [header, *body]]
        title = f"{self.dataset_name}: {len(self.sequences)} of {self.total_sequences} sequences scored"
        return "\n".join([title, *lines])

    def problems(self) -> str:
        """Missing and unreadable results, by tracker and sequence name, and other notes."""
        lines = [f"missing on disk (listed, not found): {name}: {reason}" for name, reason in self.not_on_disk]
        lines += [f"broken on disk (cannot be read): {name}: {reason}" for name, reason in self.broken]
        for label, names in self.missing.items():
            if names:
                lines.append(f"{label}: no results for {len(names)} sequence(s): {', '.join(names)}")
        for label, messages in self.errors.items():
            lines.extend(f"{label}: {message}" for message in messages)
        return "\n".join(lines + self.notes)


def _score_one(spec: TrackerSpec, truths: list[_Truth], results: dict[str, SequenceResult], kind: str,
               exclude_invalid: bool, record: dict | None = None) -> TrackerScore:
    preds = [results[t.name].boxes for t in truths]
    curves = M.ope_curves([M.sequence_errors(p, t.gt, t.visible) for p, t in zip(preds, truths)],
                          exclude_invalid)
    scores = curves.summary()
    got10k_curve = None
    if kind == "got10k":
        extra, got10k_curve = M.got10k_summary([M.got10k_ious(p, t.gt, t.resolution, t.cover)
                                                for p, t in zip(preds, truths)])
        scores.update(extra)
    elif kind in ("lasher", "rgbt234"):
        infrared = [t.gt_infrared for t in truths] if kind == "rgbt234" else None
        scores.update(M.rgbt_metrics(preds, [t.gt for t in truths], infrared, exclude_invalid))
    elif kind == "longterm":
        scores.update(M.longterm_metrics(preds, [t.gt for t in truths],
                                         [results[t.name].confidence for t in truths],
                                         [t.visible for t in truths]).summary())
    scores["FPS"] = M.fps([results[t.name].times for t in truths if results[t.name].times is not None])
    return TrackerScore(spec, scores, curves, got10k_curve, record)


def score_trackers(trackers: Sequence[TrackerSpec], dataset: Sequence, dataset_name: str,
                   results_path: str | Path | None = None, exclude_invalid: bool = False) -> Report:
    """Score every tracker on the sequences for which all of them have results; report the rest by name.

    Frames with invalid ground truth count as failures by default (pytracking's `exclude_invalid_frames=
    False`, the convention of the published LaSOT / TrackingNet numbers); `exclude_invalid=True` leaves
    them out. A tracker whose sequences come from several provenance records raises ProvenanceMismatch.
    """
    if results_path is None:
        from lib.utils.settings import env_settings

        results_path = env_settings().results_path
    kind = dataset_kind(dataset_name)
    truths = [_truth(seq, dataset_name, kind) for seq in dataset]
    skipped = list(getattr(dataset, "skipped", []))
    not_on_disk = list(getattr(dataset, "missing", []))
    broken = [item for item in skipped if item not in not_on_disk]
    report = Report(dataset_name, [*OPE_COLUMNS, *EXTRA_COLUMNS[kind], "FPS"], [], [], len(truths) + len(skipped),
                    all_names=[t.name for t in truths], broken=broken, not_on_disk=not_on_disk)
    if kind == "rgbt234" and any(t.gt_infrared is None for t in truths):
        report.notes.append("RGBT234: infrared.txt not found for some sequences; their MPR/MSR use the "
                            "visible ground truth only")
    loaded: list[dict[str, SequenceResult]] = []
    for spec in trackers:
        results: dict[str, SequenceResult] = {}
        missing, errors = report.missing.setdefault(spec.label, []), report.errors.setdefault(spec.label, [])
        for truth in truths:
            try:
                results[truth.name] = load_sequence_result(spec.results_dir(results_path), truth.name,
                                                           truth.gt.shape[0], truth.dataset_dirs,
                                                           need_confidence=kind == "longterm")
            except MissingResultError:
                missing.append(truth.name)
            except ResultFileError as err:
                errors.append(str(err))
            else:
                report.notes.extend(f"{spec.label}: {note}" for note in results[truth.name].notes)
        if not results:
            report.notes.append(f"{spec.label}: no results under {spec.results_dir(results_path)}; left out")
        report.records[spec.label] = folder_record(results, spec.label)
        loaded.append(results)
    scored = [(spec, results) for spec, results in zip(trackers, loaded) if results]
    common = [t for t in truths if scored and all(t.name in results for _, results in scored)]
    report.sequences = [t.name for t in common]
    if common:
        report.scores = [_score_one(spec, common, results, kind, exclude_invalid, report.records.get(spec.label))
                         for spec, results in scored]
    return report
