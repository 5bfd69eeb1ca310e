"""`TrackerRun`: one tracker configuration under evaluation (pytracking's evaluation `Tracker`), its
weights, and where its results go (lib.test.results)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lib.test.results import ResultFiles, TrackerSpec, make_record
from lib.test.tracker.backends import AUTO_BACKENDS
from lib.utils.settings import env_settings

SUPPORTED_SCRIPTS = ("sutrack_dinov3",)


@dataclass
class TrackerRun:
    """A tracker under evaluation: script, config (name or YAML path), dataset, run id and weights."""

    name: str
    config: str
    dataset_name: str
    run_id: int | None = None
    display_name: str | None = None
    checkpoint: str | None = None
    random_weights: bool = False
    seed: int = 0
    backend: str | None = None
    results_path: str | None = None
    record: dict | None = None  # set by provenance(); its id is written beside every sequence

    def __post_init__(self) -> None:
        if self.name not in SUPPORTED_SCRIPTS:
            raise ValueError(f"unknown tracker script '{self.name}'; supported: {', '.join(SUPPORTED_SCRIPTS)}")
        self.config = str(self.config)
        self.results_path = self.results_path or env_settings().results_path

    @property
    def parameter_name(self) -> str:
        """The config's name (a YAML path gives its file stem)."""
        return Path(self.config).stem if self.config.endswith((".yaml", ".yml")) else self.config

    @property
    def spec(self) -> TrackerSpec:
        return TrackerSpec(self.name, self.parameter_name, self.run_id, self.display_name)

    @property
    def results_dir(self) -> Path:
        """`<results_path>/<name>/<parameter_name>[_<run_id:03d>]`."""
        return self.spec.results_dir(self.results_path)

    @property
    def dataset_results_dir(self) -> Path:
        return self.spec.dataset_dir(self.results_path, self.dataset_name)

    @property
    def label(self) -> str:
        return self.display_name or self.results_dir.name

    def result_files(self, seq_name: str) -> ResultFiles:
        """Where the results of sequence `seq_name` go."""
        return ResultFiles.of(self.dataset_results_dir, seq_name)

    def result_problem(self, seq) -> str | None:
        """None when `seq` (an evaluation Sequence) is finished: its box file parses with one row per frame;
        else what is wrong ('no box file', or the damage, naming the file)."""
        return self.result_files(seq.name).problem(len(seq.frames))

    def parameters(self):
        """The tracker parameters (config as resolved, weights checked): raises FileNotFoundError for a
        missing checkpoint or config, ValueError for an unusable one, before any sequence runs."""
        from lib.test.parameter.sutrack_dinov3 import parameters

        return parameters(self.config, checkpoint=self.checkpoint, random_weights=self.random_weights,
                          seed=self.seed)

    def provenance(self, device: str = "auto") -> dict:
        """This run's provenance record (lib.test.results.make_record), kept in `record`.

        Backend 'auto' / 'auto_fp32' is resolved here, once (lib/test/tracker/backends/auto.py), and every
        worker runs the backend it picked; the record keeps both, and the verdict of a reduced-precision pick.
        An fp32 pick leaves the identity at 'auto' (every fp32 backend agrees with eager within 1e-3 of the
        frame, so a resume where it picks another one still belongs to the same run); a reduced-precision
        pick is part of the identity (make_record), so its boxes never mix with another backend's.
        """
        params = self.parameters()
        requested = self.backend or str(params.cfg.TEST.BACKEND)
        resolved, verdict = requested, None
        if requested in AUTO_BACKENDS:
            from lib.test.tracker.backends.auto import choose
            from lib.test.tracker.sutrack_dinov3 import resolve_device

            resolved, _, verdict = choose(params, resolve_device(device), fp32_only=requested == "auto_fp32")
            self.backend = resolved
        record = make_record(self.name, params, requested, self.dataset_name, resolved_backend=resolved,
                             verdict=verdict)
        self.record = record
        return record

    @property
    def record_id(self) -> str | None:
        return None if self.record is None else self.record["id"]

    def create(self, device: str = "auto"):
        """The runnable tracker (a FrameTracker) for this configuration on `device`."""
        from lib.test.tracker.sutrack_dinov3 import build_tracker  # here: workers import torch when they build

        return build_tracker(self.config, checkpoint=self.checkpoint, device=device, backend=self.backend,
                             dataset_name=self.dataset_name, random_weights=self.random_weights, seed=self.seed)
