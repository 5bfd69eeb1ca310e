"""pytracking's evaluation `Tracker`: one tracker configuration, where its results go, how to build it.

Results layout: `<results_path>/<name>/<parameter_name>[_<run_id:03d>]/<dataset_name>/<seq>.txt` with
`<seq>_time.txt` and `<seq>_confidence.txt` beside it.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lib.utils.settings import env_settings

SUPPORTED_SCRIPTS = ("sutrack_dinov3",)


@dataclass(frozen=True)
class ResultFiles:
    """The three files of one sequence's results."""

    boxes: Path
    time: Path
    confidence: Path


@dataclass
class Tracker:
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
    def results_dir(self) -> Path:
        """`<results_path>/<name>/<parameter_name>[_<run_id:03d>]`."""
        param = self.parameter_name if self.run_id is None else f"{self.parameter_name}_{self.run_id:03d}"
        return Path(self.results_path) / self.name / param

    @property
    def dataset_results_dir(self) -> Path:
        return self.results_dir / self.dataset_name

    @property
    def label(self) -> str:
        return self.display_name or self.results_dir.name

    def result_files(self, seq_name: str) -> ResultFiles:
        """Where the results of sequence `seq_name` go."""
        base = self.dataset_results_dir
        return ResultFiles(base / f"{seq_name}.txt", base / f"{seq_name}_time.txt", base / f"{seq_name}_confidence.txt")

    def has_results(self, seq_name: str) -> bool:
        """True when the sequence is finished (the box file is written last, atomically)."""
        return self.result_files(seq_name).boxes.is_file()

    def create(self, device: str = "auto"):
        """The runnable tracker (lib.api.Tracker) for this configuration on `device`."""
        from lib.api import build_tracker  # imported here: workers import torch only when they build

        return build_tracker(self.config, checkpoint=self.checkpoint, device=device, backend=self.backend,
                             dataset_name=self.dataset_name, random_weights=self.random_weights, seed=self.seed)

    def check_weights(self) -> None:
        """Raise now (naming the path) if the checkpoint is missing, rather than once per sequence."""
        from lib.test.parameter.sutrack_dinov3 import parameters

        parameters(self.config, checkpoint=self.checkpoint, random_weights=self.random_weights)


def trackerlist(name: str, parameter_name: str, dataset_name: str, run_ids: int | list[int] | None = None,
                display_name: str | None = None, **kwargs) -> list[Tracker]:
    """One Tracker per run id (pytracking's helper)."""
    if run_ids is None or isinstance(run_ids, int):
        run_ids = [run_ids]
    return [Tracker(name, parameter_name, dataset_name, run_id, display_name, **kwargs) for run_id in run_ids]
