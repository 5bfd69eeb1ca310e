"""Dataset roots and output folders: the one settings module for training and evaluation.

Values come, last one winning, from the defaults below, `local.yaml` at the repository root (or the
file named by $SUTRACK_LOCAL, which must then exist; `SUTRACK_LOCAL=` (empty) reads no file; written by
tracking/create_default_local_file.py), and environment variables `SUTRACK_<KEY>` (e.g.
SUTRACK_GOT10K_DIR=/data/got10k).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path

import yaml

from lib.utils.io import atomic_write_bytes
from lib.utils.yamlio import load_yaml_file

PROJECT_ROOT = Path(__file__).resolve().parents[2]

# key -> folder name under the data dir used by create_default_local_file.py
DATASET_DIRS = {
    "lasot_dir": "lasot",
    "got10k_dir": "got10k",
    "trackingnet_dir": "trackingnet",
    "coco_dir": "coco",
    "vasttrack_dir": "vasttrack",
    "lasot_extension_subset_dir": "lasot_extension_subset",
    "tnl2k_dir": "tnl2k",
    "otb_dir": "otb",
    "otb99_lang_dir": "otb99_lang",
    "uav_dir": "uav",
    "nfs_dir": "nfs",
    "refcocog_dir": "refcocog",
    "depthtrack_dir": "depthtrack",
    "lasher_dir": "lasher",
    "rgbt234_dir": "rgbt234",
    "visevent_dir": "visevent",
    "vot22_rgbd_dir": "vot22_rgbd",
    "custom_dir": "custom",
}


@dataclass
class Settings:
    """Where data lives and where outputs go. Unset dataset roots are empty strings."""

    workspace_dir: str = str(PROJECT_ROOT)
    save_dir: str = str(PROJECT_ROOT / "output")
    results_path: str = ""
    result_plot_path: str = ""
    cache_dir: str = ""
    lasot_dir: str = ""
    got10k_dir: str = ""
    trackingnet_dir: str = ""
    coco_dir: str = ""
    vasttrack_dir: str = ""
    lasot_extension_subset_dir: str = ""
    tnl2k_dir: str = ""
    otb_dir: str = ""
    otb99_lang_dir: str = ""
    uav_dir: str = ""
    nfs_dir: str = ""
    refcocog_dir: str = ""
    depthtrack_dir: str = ""
    lasher_dir: str = ""
    rgbt234_dir: str = ""
    visevent_dir: str = ""
    vot22_rgbd_dir: str = ""
    custom_dir: str = ""
    source: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.results_path = self.results_path or str(Path(self.save_dir) / "test" / "tracking_results")
        self.result_plot_path = self.result_plot_path or str(Path(self.save_dir) / "test" / "result_plots")
        self.cache_dir = self.cache_dir or str(Path(self.save_dir) / "cache")

    def dataset_root(self, key: str, dataset: str) -> str:
        """Return the root for `key`, or raise naming the key, where it was set and the path."""
        path = getattr(self, key, "")
        where = self.source.get(key, "not set")
        hint = (f"set it in {local_file() or PROJECT_ROOT / 'local.yaml'} (tracking/create_default_local_file.py "
                f"writes one) or export SUTRACK_{key.upper()}=/path")
        if not path:
            raise FileNotFoundError(f"{dataset}: dataset root '{key}' is not set; {hint}")
        if not Path(path).is_dir():
            raise FileNotFoundError(f"{dataset}: dataset root '{key}' = '{path}' ({where}) does not exist; {hint}")
        return path


def local_file() -> Path | None:
    """The settings file: $SUTRACK_LOCAL (None when set empty), else local.yaml at the repository root."""
    named = os.environ.get("SUTRACK_LOCAL")
    if named is None:
        return PROJECT_ROOT / "local.yaml"
    return Path(named) if named else None


def env_settings() -> Settings:
    """Settings from defaults, local.yaml and SUTRACK_* environment variables; a settings file named by
    $SUTRACK_LOCAL that does not exist, or one that is not valid YAML, raises naming it."""
    values: dict[str, str] = {}
    source: dict[str, str] = {}
    names = {f.name for f in fields(Settings)} - {"source"}
    path = local_file()
    if path is not None and os.environ.get("SUTRACK_LOCAL") and not path.is_file():
        raise FileNotFoundError(f"settings file not found: {path} (named by $SUTRACK_LOCAL); create it with "
                                "python tracking/create_default_local_file.py, fix the path, or set SUTRACK_LOCAL= "
                                "(empty) to use only the defaults and SUTRACK_<KEY> variables")
    if path is not None and path.is_file():
        data = load_yaml_file(path) or {}
        if not isinstance(data, dict):
            raise ValueError(f"{path}: expected a mapping of setting names to paths")
        unknown = sorted(set(data) - names)
        if unknown:
            raise ValueError(f"{path}: unknown setting(s) {unknown}; known: {sorted(names)}")
        for key, value in data.items():
            values[key] = "" if value is None else str(value)
            source[key] = str(path)
    for key in names:
        env = os.environ.get(f"SUTRACK_{key.upper()}")
        if env is not None:
            values[key] = env
            source[key] = f"$SUTRACK_{key.upper()}"
    return Settings(**values, source=source)


def write_local_file(path: Path, workspace_dir: str, data_dir: str, save_dir: str) -> Path:
    """Write a local.yaml with every dataset root under `data_dir` (pytracking's create_default_local_file)."""
    data = {"workspace_dir": str(Path(workspace_dir).resolve()), "save_dir": str(Path(save_dir).resolve())}
    for key, folder in DATASET_DIRS.items():
        data[key] = str((Path(data_dir) / folder).resolve())
    atomic_write_bytes(path, yaml.safe_dump(data, sort_keys=False).encode())
    return path
