"""Tracking results on disk: where a run's results live, how a sequence's files are written and read, and
the provenance record that says what made them. tracking/test.py, the analysis, run_demo.py and
video_demo.py all go through this module.

Layout (pytracking's): `<results_path>/<tracker>/<param>[_<runid:03d>]/<dataset>/<seq>.txt` (x y w h per
frame, tab-separated integers; the first row is the init box), `<seq>_time.txt` (seconds per frame),
`<seq>_confidence.txt`. This project adds `provenance.json` per dataset folder (the records of the runs
whose sequences are there: config and checkpoint hashes, backend, dataset, code version, date) and
`<seq>_provenance.txt` (the id of the record that made that sequence). Every file is written atomically,
the box file last: a box file with one row per frame means a finished sequence (`ResultFiles.problem`; a
truncated, empty or longer one is redone by test.py and refused by the analysis).
"""
from __future__ import annotations

import datetime
import hashlib
import io
import json
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from lib.test.tracker.backends import REDUCED_PRECISION_BACKENDS, backend_revision
from lib.utils.io import atomic_write_bytes
from lib.utils.settings import PROJECT_ROOT

PROVENANCE_FILE = "provenance.json"
AUX_SUFFIXES = ("_time", "_confidence", "_provenance")
# the fields of a record that decide the boxes: runs that differ in any of them never share a folder
IDENTITY_KEYS = ("tracker", "config_sha256", "weights", "checkpoint_sha256", "backend", "dataset")
# ... and those that count only when set (records from before them keep their ids)
OPTIONAL_IDENTITY_KEYS = ("backend_revision",)


# ---------------------------------------------------------------------------------------------- location
@dataclass(frozen=True)
class TrackerSpec:
    """One tracker run's name: tracker, parameter (config) name, optional run id and display name."""

    name: str
    param: str
    run_id: int | None = None
    display_name: str | None = None

    @property
    def label(self) -> str:
        """Name shown in tables and plot legends."""
        if self.display_name:
            return self.display_name
        return f"{self.name}_{self.param}" + ("" if self.run_id is None else f"_{self.run_id:03d}")

    def results_dir(self, results_path: str | Path) -> Path:
        """`<results_path>/<tracker>/<param>[_<runid:03d>]`."""
        suffix = "" if self.run_id is None else f"_{self.run_id:03d}"
        return Path(results_path) / self.name / f"{self.param}{suffix}"

    def dataset_dir(self, results_path: str | Path, dataset_name: str) -> Path:
        """`<results_dir>/<dataset>`: where test.py writes this run's sequences of `dataset_name`."""
        return self.results_dir(results_path) / dataset_name

    @classmethod
    def parse(cls, text: str) -> TrackerSpec:
        """Parse 'tracker:config[:runid][:display]' (runid may be empty: 'tracker:config::Display')."""
        parts = text.split(":", 3)
        if len(parts) < 2 or not parts[0] or not parts[1]:
            raise ValueError(f"'{text}': expected tracker:config[:runid][:display]")
        run_id = parts[2] if len(parts) > 2 else ""
        if run_id and not run_id.isdigit():
            raise ValueError(f"'{text}': run id '{run_id}' is not a non-negative integer")
        return cls(parts[0], parts[1], int(run_id) if run_id else None, parts[3] if len(parts) > 3 else None)


def checkpoint_path(save_dir: str | Path, config_name: str, epoch: int, script: str = "sutrack_dinov3") -> Path:
    """Where training writes the checkpoint of `epoch`: `<save_dir>/checkpoints/train/<script>/<config>/...`."""
    return Path(save_dir) / "checkpoints" / "train" / script / config_name / f"SUTRACK_ep{epoch:04d}.pth.tar"


# ------------------------------------------------------------------------------------------------ writing
@dataclass(frozen=True)
class ResultFiles:
    """The files of one sequence's results."""

    boxes: Path
    time: Path
    confidence: Path
    provenance: Path

    @classmethod
    def of(cls, folder: str | Path, seq_name: str) -> ResultFiles:
        """The files of sequence `seq_name` in `folder`."""
        base = Path(folder)
        return cls(base / f"{seq_name}.txt", base / f"{seq_name}_time.txt", base / f"{seq_name}_confidence.txt",
                   base / f"{seq_name}_provenance.txt")

    def exists(self) -> bool:
        """True when the box file exists (written last, atomically; `problem` also checks its rows)."""
        return self.boxes.is_file()

    def problem(self, n_frames: int) -> str | None:
        """Why these results do not count as a finished sequence of `n_frames` frames (no box file, or one that
        is empty, unparsable or has another row count), or None when the box file has one row per frame."""
        if not self.boxes.is_file():
            return "no box file"
        try:
            load_result_boxes(self.boxes, n_frames)
        except ResultFileError as err:
            return str(err)
        return None

    def record_id(self) -> str | None:
        """The id of the provenance record that made these results (None: not recorded)."""
        try:
            return self.provenance.read_text().strip() or None
        except FileNotFoundError:
            return None

    def remove(self) -> None:
        """Delete the sequence's files, the box file first (so a half-removed sequence reads as unfinished)."""
        for path in (self.boxes, self.time, self.confidence, self.provenance):
            path.unlink(missing_ok=True)


@dataclass
class SequenceOutput:
    """Per-frame boxes (x, y, w, h), seconds and confidences of one sequence."""

    boxes: list[list[float]] = field(default_factory=list)
    times: list[float] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)


def _table(values: np.ndarray, fmt: str) -> bytes:
    return "".join(("\t".join(fmt % v for v in row) if np.ndim(row) else fmt % row) + "\n"
                   for row in values).encode()


def save_results(files: ResultFiles, output: SequenceOutput, record_id: str | None = None) -> None:
    """Write tab-separated integer boxes, times, confidences (and the record id) atomically; boxes last."""
    atomic_write_bytes(files.time, _table(np.asarray(output.times, dtype=np.float64), "%.6f"))
    atomic_write_bytes(files.confidence, _table(np.asarray(output.scores, dtype=np.float64), "%.6f"))
    if record_id is not None:
        atomic_write_bytes(files.provenance, f"{record_id}\n".encode())
    boxes = np.round(np.asarray(output.boxes, dtype=np.float64).reshape(-1, 4)).astype(np.int64)
    atomic_write_bytes(files.boxes, _table(boxes, "%d"))


# ------------------------------------------------------------------------------------------------ reading
class ResultFileError(ValueError):
    """A result, time or confidence file that cannot be used; the message names the file."""


class MissingResultError(ResultFileError):
    """No result file for a sequence."""


def read_table(path: str | Path) -> np.ndarray:
    """Numbers of a tab-, comma- or whitespace-separated text file as a 2-D float array (NaN kept)."""
    path = Path(path)
    if not path.is_file():
        raise MissingResultError(f"{path}: file not found")
    text = path.read_text()
    first = next((line for line in text.splitlines() if line.strip()), None)
    if first is None:
        raise ResultFileError(f"{path}: file is empty")
    delimiter = "\t" if "\t" in first else "," if "," in first else None
    try:
        return np.loadtxt(io.StringIO(text), delimiter=delimiter, ndmin=2, dtype=np.float64)
    except ValueError as err:
        raise ResultFileError(f"{path}: {err}") from None


def _check_length(path: Path, rows: int, n_frames: int | None) -> None:
    """One row per frame: fewer is a truncated file, more is one of another sequence or an edited one."""
    if n_frames is not None and rows != n_frames:
        what = "fewer" if rows < n_frames else "more"
        raise ResultFileError(f"{path}: {rows} rows, the sequence has {n_frames} frames ({what} rows than frames; "
                              "one row per frame expected)")


def load_result_boxes(path: str | Path, n_frames: int | None = None) -> np.ndarray:
    """(N, 4) xywh boxes of a tracker's result file; with `n_frames`, a file with another row count raises."""
    path = Path(path)
    boxes = read_table(path)
    if boxes.shape[1] != 4:
        raise ResultFileError(f"{path}: expected 4 values (x y w h) per line, got {boxes.shape[1]}")
    _check_length(path, boxes.shape[0], n_frames)
    return boxes


def load_values(path: str | Path, n_frames: int | None = None) -> np.ndarray:
    """One number per frame (times, confidences); with `n_frames`, a file with another row count raises."""
    path = Path(path)
    values = read_table(path)
    if values.shape[1] != 1:
        if values.shape[0] != 1:
            raise ResultFileError(f"{path}: expected one value per line, got {values.shape[1]}")
        values = values.T  # a single line of values
    values = values[:, 0]
    _check_length(path, values.shape[0], n_frames)
    return values


@dataclass
class SequenceResult:
    """What a tracker wrote for one sequence: boxes, per-frame times and confidences where present, and
    the id of the provenance record that made it."""

    boxes: np.ndarray
    times: np.ndarray | None = None
    confidence: np.ndarray | None = None
    record_id: str | None = None
    folder: Path | None = None
    notes: list[str] = field(default_factory=list)


def result_file(results_dir: str | Path, seq_name: str, dataset_dirs: tuple[str, ...] = ("",)) -> Path:
    """The first existing `<results_dir>/<dataset_dir>/<seq>.txt`; MissingResultError names those tried."""
    candidates = [Path(results_dir) / d / f"{seq_name}.txt" for d in dict.fromkeys(dataset_dirs)]
    for path in candidates:
        if path.is_file():
            return path
    raise MissingResultError(f"no result for {seq_name}: tried {', '.join(map(str, candidates))}")


def load_sequence_result(results_dir: str | Path, seq_name: str, n_frames: int,
                         dataset_dirs: tuple[str, ...] = ("",), need_confidence: bool = False) -> SequenceResult:
    """Boxes (required), times (optional; problems go to `notes`), confidences (required if asked)."""
    path = result_file(results_dir, seq_name, dataset_dirs)
    files = ResultFiles.of(path.parent, seq_name)
    result = SequenceResult(load_result_boxes(path, n_frames), record_id=files.record_id(), folder=path.parent)
    if files.time.is_file():
        try:
            result.times = load_values(files.time, n_frames)
        except ResultFileError as err:
            result.notes.append(f"FPS leaves it out: {err}")
    if need_confidence or files.confidence.is_file():
        try:
            result.confidence = load_values(files.confidence, n_frames)
        except MissingResultError:
            raise ResultFileError(f"{files.confidence}: file not found (this dataset's metrics need the "
                                  "tracker's per-frame confidence)") from None
    return result


# --------------------------------------------------------------------------------------------- provenance
def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file's content, read in chunks (checkpoints are large)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def code_version() -> str:
    """`git rev-parse HEAD` (+ '-dirty' with uncommitted changes) in a checkout, else the package version."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=PROJECT_ROOT, capture_output=True, text=True,
                              timeout=10)
        if head.returncode == 0 and (PROJECT_ROOT / ".git").exists():
            dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=PROJECT_ROOT,
                                   capture_output=True, text=True, timeout=10).stdout.strip()
            return head.stdout.strip() + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        pass
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"sutrack_dinov3 {version('sutrack_dinov3')}"
    except PackageNotFoundError:
        return "unknown"


def make_record(tracker: str, params, backend: str, dataset: str, resolved_backend: str | None = None,
                verdict: str | None = None) -> dict:
    """The provenance record of a run: `params` is lib.test.parameter's TrackerParams (config as resolved);
    `backend` as requested, `resolved_backend` what 'auto' picked (recorded and shown; part of the id only
    when it is reduced precision, via backend_revision), `verdict` the validation that allowed that pick."""
    config_text = params.cfg.dump()
    if params.checkpoint is None:
        weights, ckpt, ckpt_hash = f"random weights, seed {params.seed}", None, None
    else:
        weights, ckpt, ckpt_hash = "checkpoint", str(Path(params.checkpoint).resolve()), sha256_file(params.checkpoint)
    record = {"tracker": tracker, "config": params.config_name, "config_file": str(params.yaml_file),
              "config_sha256": hashlib.sha256(config_text.encode()).hexdigest(), "weights": weights,
              "checkpoint": ckpt, "checkpoint_sha256": ckpt_hash, "backend": backend,
              "backend_resolved": resolved_backend or backend, "backend_revision": _revision(backend, resolved_backend),
              "backend_verdict": verdict,
              "dataset": dataset, "code_version": code_version(),
              "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
    record["id"] = record_id(record)
    return record


def _revision(backend: str, resolved: str | None) -> str | None:
    """What decides the boxes beyond the backend's name: the int8 recipe, or the reduced-precision backend
    'auto' picked (its boxes differ from fp32's, so they must never share a results folder with another's)."""
    if resolved and resolved != backend and resolved in REDUCED_PRECISION_BACKENDS:
        revision = backend_revision(resolved)
        return f"picked {resolved}" + (f", {revision}" if revision else "")
    return backend_revision(backend)


def record_id(record: dict) -> str:
    """A short hash of the fields that decide the boxes (IDENTITY_KEYS, OPTIONAL_IDENTITY_KEYS when set):
    equal ids, same boxes."""
    identity = {k: record.get(k) for k in IDENTITY_KEYS}
    identity.update((k, record[k]) for k in OPTIONAL_IDENTITY_KEYS if record.get(k) is not None)
    identity = json.dumps(identity, sort_keys=True)
    return hashlib.sha256(identity.encode()).hexdigest()[:12]


def describe(record: dict | None, rid: str | None = None) -> str:
    """One line saying what made a record's results (`rid`: the id a sequence names, when its record is lost)."""
    if record is None and rid:
        return f"[{rid}] a record not in this folder's {PROVENANCE_FILE} (results copied from another folder?)"
    if record is None:
        return "no provenance record (results written without one: another tool, or this project before records)"
    weights = record.get("weights")
    if record.get("checkpoint"):
        weights = f"checkpoint {record['checkpoint']} (sha256 {str(record.get('checkpoint_sha256'))[:12]})"
    return (f"[{record.get('id')}] config {record.get('config')} (sha256 {str(record.get('config_sha256'))[:12]}), "
            f"{weights}, backend {_backend(record)}, dataset {record.get('dataset')}, "
            f"code {record.get('code_version')}, {record.get('date')}")


def _backend(record: dict) -> str:
    """'onnx', 'auto -> onnx' when 'auto' picked it, 'onnx_int8 (int8 recipe v3)' with a revision."""
    backend, resolved = record.get("backend"), record.get("backend_resolved")
    text = f"{backend} -> {resolved}" if resolved and resolved != backend else str(backend)
    text = f"{text} ({record['backend_revision']})" if record.get("backend_revision") else text
    return f"{text}, verdict {record['backend_verdict']}" if record.get("backend_verdict") else text


def read_records(folder: str | Path) -> dict[str, dict]:
    """The records of `<folder>/provenance.json` by id ({} when there is none)."""
    path = Path(folder) / PROVENANCE_FILE
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text())
        return dict(data["records"])
    except (ValueError, KeyError, TypeError) as err:
        raise ResultFileError(f"{path}: not a provenance file ({err})") from None


def write_records(folder: str | Path, records: dict[str, dict]) -> None:
    """Write `<folder>/provenance.json` atomically."""
    text = json.dumps({"records": records}, indent=1, sort_keys=True) + "\n"
    atomic_write_bytes(Path(folder) / PROVENANCE_FILE, text.encode())


def finished_sequences(folder: str | Path) -> dict[str, str | None]:
    """Every finished sequence in a results folder -> the id of its record (None: not recorded)."""
    folder = Path(folder)
    if not folder.is_dir():
        return {}
    names = sorted(p.stem for p in folder.glob("*.txt") if not p.stem.endswith(AUX_SUFFIXES))
    return {name: ResultFiles.of(folder, name).record_id() for name in names}


class ProvenanceMismatch(ValueError):
    """A results folder holds sequences made by another run; the message shows both records and the fix."""


def claim_folder(folder: str | Path, record: dict, overwrite: bool = False) -> list[str]:
    """Make `folder` this run's: refuse (ProvenanceMismatch) when it holds sequences of another record;
    with `overwrite`, delete those sequences instead. Returns the names deleted."""
    folder = Path(folder)
    records = read_records(folder)
    others: dict[str | None, list[str]] = {}
    for name, rid in finished_sequences(folder).items():
        if rid != record["id"]:
            others.setdefault(rid, []).append(name)
    removed: list[str] = []
    if others and not overwrite:
        lines = [f"{folder} holds results of another run; they would be mixed with this one's."]
        for rid, names in others.items():
            shown = ", ".join(names[:5]) + (f", ... ({len(names)} in all)" if len(names) > 5 else "")
            lines.append(f"  there ({shown}): {describe(records.get(rid) if rid else None, rid)}")
        lines.append(f"  this run: {describe(record)}")
        lines.append("Pass --runid N to write this run to another folder, or --overwrite to redo the sequences "
                     "(deleting those results).")
        raise ProvenanceMismatch("\n".join(lines))
    for names in others.values():
        for name in names:
            ResultFiles.of(folder, name).remove()
            removed.append(name)
    keep = record if overwrite else records.get(record["id"], record)  # a resumed run keeps its first date
    if records != {record["id"]: keep}:
        write_records(folder, {record["id"]: keep})
    return removed


def folder_record(results: dict[str, SequenceResult], label: str) -> dict | None:
    """The one record behind a tracker's loaded sequences; ProvenanceMismatch names the sequences of
    each record when they come from several (or some have none)."""
    by_id: dict[str | None, list[str]] = {}
    for name, result in results.items():
        by_id.setdefault(result.record_id, []).append(name)
    folders = {r.folder for r in results.values() if r.folder is not None}
    records: dict[str, dict] = {}
    for folder in folders:
        records.update(read_records(folder))
    if len(by_id) > 1:
        lines = [f"{label}: its sequences come from {len(by_id)} different runs; scores would mix them:"]
        for rid, names in by_id.items():
            lines.append(f"  {', '.join(names)}: {describe(records.get(rid) if rid else None, rid)}")
        lines.append("Redo the run with tracking/test.py --overwrite, or score each run from its own --runid.")
        raise ProvenanceMismatch("\n".join(lines))
    rid = next(iter(by_id), None)
    return records.get(rid) if rid else None
