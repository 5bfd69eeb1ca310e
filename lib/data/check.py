"""The data check behind tracking/check_data.py and train.py's start-up check: for each dataset, resolve the
root, count the sequences found against the split list's count, name the first missing ones and (unless
`sample` is 0) read the annotation, first and last frame of a sample of sequences.

Status of a dataset: ok (complete), incomplete (sequences missing, or fewer than the benchmark has),
broken (a sampled sequence cannot be used: the loaders skip it), bad frames (a sampled sequence's first or
last frame cannot be read; training uses the sequence and redraws such samples), no root (settings key unset
or folder missing), wrong layout (root exists, nothing found where the layout puts it), error (the split
cannot apply to this root), test leak (a training dataset holds sequences of a benchmark's test split:
LaSOT test, GOT-10k test, TrackingNet TEST, or a TrackingNet video that its class map does not name).
"""
from __future__ import annotations

import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from lib.data.catalog import TRAIN_DATASETS, Resolved, present
from lib.data.layouts import Layout
from lib.data.splits import SplitError, test_split_reason
from lib.utils.image import read_image, read_rgbx
from lib.utils.settings import Settings, env_settings

__all__ = ["EVAL_COUNTS", "FATAL", "CheckRow", "DataCheckError", "check_datasets", "eval_layout", "format_table"]

FATAL = ("no root", "wrong layout", "error", "test leak")  # training cannot start (missing, or leaking)
SHOW_MISSING = 5  # missing / broken names shown per dataset
# sequences in each evaluation set as the benchmark publishes it (those with a split list use its count)
EVAL_COUNTS = {"otb": 100, "nfs": 100, "uav": 123, "trackingnet": 511, "got10k_test": 180, "got10k_val": 180,
               "lasot_extension_subset": 150, "tnl2k": 700, "depthtrack": 50, "vot22_rgbd": 127, "lasher": 245,
               "rgbt234": 234, "visevent": 320}

EVAL_LAYOUTS = {  # by the name's first part (got10k_test -> got10k)
    "got10k": "<root>/{test,val}/list.txt, <root>/test/GOT-10k_Test_000001/{00000001.jpg, groundtruth.txt}",
    "lasot": "<root>/<class>/<class>-<k>/{img/00000001.jpg, groundtruth.txt}",
    "trackingnet": "<root>/TEST/{anno/<video>.txt, frames/<video>/0.jpg}",
    "otb99": "<root>/OTB_videos/<seq>/{img/, groundtruth_rect.txt}, <root>/OTB_query_test/<seq>.txt",
    "tnl2k": "<root>[/test]/<seq>/{imgs/, groundtruth.txt, language.txt}",
}


class DataCheckError(ValueError):
    """Training cannot start: a dataset of the mix is missing entirely; the message is the check's table."""


@dataclass
class CheckRow:
    """The check of one dataset."""

    dataset: str
    root: str
    expected: int | None
    found: int
    missing: list[str] = field(default_factory=list)
    broken: list[tuple[str, str]] = field(default_factory=list)
    status: str = "ok"
    layout: str = ""  # the layout the dataset expects (shown when the root looks wrong)
    notes: list[str] = field(default_factory=list)

    @property
    def missing_count(self) -> int:
        """Sequences missing: named ones, or the shortfall against the expected count (image datasets)."""
        return max(len(self.missing), (self.expected or 0) - self.found)


def _sample(names: list[str], n: int | None) -> list[str]:
    """`n` names spread evenly over `names` (all when n is None or larger)."""
    if n is None or n >= len(names):
        return list(names)
    if n <= 0:
        return []
    step = len(names) / n
    return [names[int(i * step)] for i in range(n)]


def read_sequence_check(layout: Layout, name: str) -> tuple[str | None, list[str]]:
    """(why the sequence is broken, or None; notes). Broken means what the loaders skip (`Layout.try_read`),
    so a sequence that training uses is never called broken; the first and last frame are read too, and one
    that cannot be read is a note (training keeps the sequence and redraws a sample that draws that frame)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        record, reason = layout.try_read(name)
    if record is None:
        return reason, []
    notes = [f"{name}: {w.message} (as training does)" for w in caught if "lines" in str(w.message)]
    aux = record.aux_frames
    for i in sorted({0, len(record.frames) - 1}):
        try:
            if aux is not None:
                read_rgbx(record.frames.path(i), aux.path(i), record.modality)
            else:
                read_image(record.frames.path(i))
        except (OSError, ValueError) as e:
            notes.append(f"{name}: unreadable frame {i + 1}: {e} (training uses the sequence and redraws samples "
                         "that draw this frame)")
    return None, notes


def _row(name: str, root: str, resolved: Resolved, layout_doc: str, sample: int | None, bar) -> CheckRow:
    row = CheckRow(name, root, resolved.expected, resolved.found, resolved.missing, layout=layout_doc,
                   notes=list(resolved.notes))
    bad_frames = False
    if resolved.layout is not None:
        for seq in _sample(resolved.names, sample):
            reason, notes = read_sequence_check(resolved.layout, seq)
            if reason:
                row.broken.append((seq, reason))
            row.notes += notes
            bad_frames = bad_frames or any("unreadable frame" in n for n in notes)
            if bar is not None:
                bar.update(1)
    if row.found == 0:
        row.status = "wrong layout"
    elif row.broken:
        row.status = "broken"
    elif bad_frames:
        row.status = "bad frames"
    elif row.missing or (row.expected is not None and row.found < row.expected):
        row.status = "incomplete"
    return row


def _resolve_eval(name: str, settings: Settings) -> tuple[str, Resolved, str]:
    from lib.test.evaluation.datasets import load_dataset

    ds = load_dataset(name, settings=settings)
    layout = ds.layout()
    names = ds.checked_names(layout, allow_empty=True)  # a name listed twice: an error row naming the list
    found, missing = present(layout, names)
    listed = name in ("lasot", "lasot_lang", "otb99_lang", "got10k_ltrval")
    expected = len(names) if listed else EVAL_COUNTS.get(name)
    return str(ds.root), Resolved(layout, found, missing, expected), eval_layout(name, type(ds))


def eval_layout(name: str, dataset_class: type | None = None) -> str:
    """The on-disk layout an evaluation set expects (shown when its root looks wrong), by its name's first part,
    else the first line of its dataset class's docstring."""
    return EVAL_LAYOUTS.get(name.split("_")[0], (getattr(dataset_class, "__doc__", None) or "").split("\n")[0])


def _eval_root_key(name: str) -> str:
    from lib.test.evaluation.datasets import DATASETS

    return DATASETS[name][0].root_key if name in DATASETS else name


def check_one(name: str, settings: Settings, sample: int | None = 0, evaluation: bool = False, bar=None) -> CheckRow:
    """Check the training dataset `name` (DATA.TRAIN.DATASETS_NAME) or, with `evaluation`, the evaluation set."""
    entry = None
    if not evaluation:
        entry = TRAIN_DATASETS.get(name) or {k.lower(): e for k, e in TRAIN_DATASETS.items()}.get(name.lower())
        if entry is None:
            from lib.train.dataset import train_dataset_names

            if name in train_dataset_names():  # registered elsewhere (register_train_dataset): no catalogue entry
                return CheckRow(name, "-", None, 0, status="not checked")
            return CheckRow(name, "-", None, 0, status="error",
                            notes=[f"unknown training dataset; known: {', '.join(train_dataset_names())}"])
    layout_doc = entry.layout if entry else ""
    try:
        if evaluation:
            root, resolved, layout_doc = _resolve_eval(name, settings)
        else:
            root = settings.dataset_root(entry.root_key, entry.title)
            resolved = entry.resolve(Path(root))
            if resolved.expected is None:
                resolved.expected = entry.expected
    except FileNotFoundError as e:
        key = entry.root_key if entry else _eval_root_key(name)
        return CheckRow(name, getattr(settings, key, "") or f"({key} not set)", None, 0, status="no root",
                        layout=layout_doc, notes=[str(e)])
    except (SplitError, ValueError) as e:
        return CheckRow(name, getattr(settings, entry.root_key, "") if entry else "-", None, 0, status="error",
                        layout=layout_doc, notes=[str(e)])
    row = _row(name, root, resolved, layout_doc, sample, bar)
    leaks = [] if evaluation else [(n, r) for n in resolved.names if (r := test_split_reason(n))]
    if leaks:  # training would refuse these (catalog.refuse_test_sequences): say so before anything is built
        row.status = "test leak"
        shown = ", ".join(f"{n} ({r})" for n, r in leaks[:SHOW_MISSING])
        row.notes.append(f"{len(leaks)} sequence(s) of a benchmark's test split: {shown}; remove them from the "
                         "mix (DATA.TRAIN.DATASETS_NAME) or from the root")
    return row


def check_datasets(train: Iterable[str], evaluation: Iterable[str] = (), settings: Settings | None = None,
                   sample: int | None = 0, progress: bool = False) -> list[CheckRow]:
    """Rows for the training datasets `train` and the evaluation sets `evaluation` (see the module doc)."""
    from tqdm import tqdm

    settings = settings or env_settings()
    jobs = [(n, False) for n in dict.fromkeys(train)] + [(n, True) for n in dict.fromkeys(evaluation)]
    rows = []
    with tqdm(desc="checking data", unit="seq", disable=not progress, leave=False) as bar:
        for name, evaluation_set in jobs:
            bar.set_postfix_str(name)
            rows.append(check_one(name, settings, sample, evaluation_set, bar))
    return rows


def format_table(rows: list[CheckRow]) -> str:
    """One table (dataset, root, expected, found, missing, broken, status), then what is wrong per dataset."""
    head = ("dataset", "root", "expected", "found", "missing", "broken", "status")
    body = [(r.dataset, r.root, "-" if r.expected is None else str(r.expected), str(r.found),
             str(r.missing_count) if r.expected is not None or r.missing else "-", str(len(r.broken)), r.status)
            for r in rows]
    widths = [max(len(line[i]) for line in [head, *body]) for i in range(len(head))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip() for line in [head, *body]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    for r in rows:
        details = []
        if r.missing:
            more = f" (+{len(r.missing) - SHOW_MISSING} more)" if len(r.missing) > SHOW_MISSING else ""
            details.append(f"missing: {', '.join(r.missing[:SHOW_MISSING])}{more}")
        details += [f"broken: {n}: {reason}" for n, reason in r.broken[:SHOW_MISSING]]
        details += r.notes
        if r.status in ("wrong layout", "no root") and r.layout:
            details.append(f"expected layout: {r.layout}")
        if details:
            lines.append(f"{r.dataset}:")
            lines += [f"  {d}" for d in details]
    return "\n".join(lines)
