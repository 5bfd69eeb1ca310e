"""Tracker parameters of sutrack_dinov3: the YAML config, crop sizes and which weights to load.

`parameters(config)` takes a config name (`experiments/sutrack_dinov3/<name>.yaml`) or a YAML path. The
weights are, in order: an explicit checkpoint file; random weights seeded with `seed` (smoke runs); or
the trainer's checkpoint for TEST.EPOCH, `<save_dir>/checkpoints/train/sutrack_dinov3/<config>/
SUTRACK_ep%04d.pth.tar`. A checkpoint is checked once, here, before any sequence runs: a file that is
empty, truncated, not a checkpoint, holds pickled objects or NaN/Inf weights, or was trained with another
config raises `CheckpointError` naming the file, the cause and the fix.
"""
from __future__ import annotations

import pickle
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import yaml
from yacs.config import CfgNode

from lib.config.sutrack_dinov3.config import load_config
from lib.test.results import checkpoint_path
from lib.utils.settings import PROJECT_ROOT, env_settings
from lib.utils.state_dict import describe_mismatches, mismatched_keys, non_finite_keys

__all__ = ["CheckpointError", "TrackerParams", "parameters", "read_checkpoint", "untrained_network"]

SCRIPT = "sutrack_dinov3"
CONFIG_DIR = PROJECT_ROOT / "experiments" / SCRIPT
MAX_LISTED = 10  # mismatched keys named in an error message


class CheckpointError(ValueError):
    """A tracker checkpoint that cannot be used; the message names the file, the cause and the fix."""


@dataclass
class TrackerParams:
    """Everything a tracker needs besides the frames: config, weights. Crop sizes are read from `cfg.TEST`
    on every use, so a config changed after construction (e.g. by --opts) reaches crops and window."""

    cfg: CfgNode
    config_name: str
    yaml_file: str
    checkpoint: str | None
    random_weights: bool = False
    seed: int = 0
    onnx_dir: str | None = None  # exported graphs for backend 'onnx' (None: export into the cache)
    # (cfg, network) built while checking the checkpoint; the first build_network takes it (no second load)
    checked_network: tuple[CfgNode, Any] | None = field(default=None, repr=False, compare=False)

    @property
    def template_factor(self) -> float:
        return float(self.cfg.TEST.TEMPLATE_FACTOR)

    @property
    def template_size(self) -> int:
        return int(self.cfg.TEST.TEMPLATE_SIZE)

    @property
    def search_factor(self) -> float:
        return float(self.cfg.TEST.SEARCH_FACTOR)

    @property
    def search_size(self) -> int:
        return int(self.cfg.TEST.SEARCH_SIZE)


def resolve_config(config: str | Path) -> Path:
    """A config name or YAML path -> the YAML file; a missing one raises naming what was tried."""
    text = str(config)
    path = Path(text)
    if path.suffix in (".yaml", ".yml") or path.is_file():
        if not path.is_file():
            raise FileNotFoundError(f"config file not found: {path}")
        return path
    path = CONFIG_DIR / f"{text}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in CONFIG_DIR.glob("*.yaml"))
        raise FileNotFoundError(f"no config named '{text}': {path} does not exist (known: {', '.join(known)})")
    return path


def default_checkpoint(config_name: str, epoch: int) -> Path:
    """Where the trainer writes the checkpoint of `epoch` for `config_name`."""
    return checkpoint_path(env_settings().save_dir, config_name, epoch, SCRIPT)


def untrained_network(cfg: CfgNode, seed: int = 0) -> torch.nn.Module:
    """The model of `cfg` with random weights seeded by `seed`, on the CPU, never downloading anything:
    the backbone and text encoder are built without their pretrained weights (a checkpoint holds them)."""
    from lib.models.sutrack_dinov3 import build_sutrack_dinov3  # models import torch/transformers: only when needed

    cfg = cfg.clone()
    cfg.defrost()
    cfg.MODEL.ENCODER.PRETRAINED = False
    cfg.MODEL.TEXT_ENCODER.PRETRAINED = ""
    cfg.freeze()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)  # random weights are identical in every process
        return build_sutrack_dinov3(cfg)


_FIX_RESAVE = ("save only the weights from the code that trained the model: `torch.save({'net': "
               "model.state_dict()}, PATH)` (numbers, strings, lists and dicts may sit beside 'net'; objects may "
               "not), or use a checkpoint written by tracking/train.py")
_FIX_COPY = ("copy or download the file again and compare its size with the original's (tracking/train.py "
             "writes checkpoints atomically, so an interrupted copy is the usual cause), or take another epoch's "
             "checkpoint")


def _error(path: Path, cause: str, fix: str) -> CheckpointError:
    return CheckpointError(f"checkpoint {path}: {cause}.\nFix: {fix}.")


def _first_sentence(exc: BaseException) -> str:
    text = str(exc).strip().split(". ")[0].strip() or "no detail"
    return f"{type(exc).__name__}: {text[:200]}"


def read_checkpoint(path: str | Path) -> tuple[dict[str, torch.Tensor], dict]:
    """The `net` state dict of a tracker checkpoint (or a bare state dict) and the whole file's dict, read as
    data with torch.load(weights_only=True); anything else raises CheckpointError naming file, cause, fix."""
    path = Path(path)
    if path.stat().st_size == 0:
        raise _error(path, "the file is empty (0 bytes)", _FIX_COPY)
    try:
        with path.open("rb") as f:
            head = f.read(8)
    except OSError as exc:
        raise _error(path, f"the file cannot be read ({_first_sentence(exc)})",
                     "check its permissions, or copy it somewhere readable") from None
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - torch.load's zip, EOF, key and unpickling errors, sorted below
        if not (head.startswith(b"PK") or head.startswith(b"\x80")):  # neither a zip archive nor a legacy pickle
            raise _error(path, f"not a PyTorch checkpoint (torch.save writes a zip archive; the file starts with "
                               f"{head!r})", "pass the `.pth.tar` file that tracking/train.py wrote") from None
        found = re.search(r"Unsupported global: GLOBAL ([\w.]+)", str(exc))
        if (isinstance(exc, pickle.UnpicklingError) and found and zipfile.is_zipfile(path)
                and not found.group(1).startswith("torch._utils")):
            raise _error(path, f"it holds pickled Python objects besides tensors (first: {found.group(1)}); "
                               "checkpoints are read as data only, so such files are refused", _FIX_RESAVE) from None
        cause = "" if isinstance(exc, pickle.UnpicklingError) else f" ({_first_sentence(exc)})"
        raise _error(path, f"the file is truncated or corrupt{cause}", _FIX_COPY) from None
    state = obj.get("net") if isinstance(obj, dict) else None
    if state is None and isinstance(obj, dict) and obj and all(isinstance(v, torch.Tensor) for v in obj.values()):
        state, obj = obj, {"net": obj}  # a bare state dict
    if not isinstance(state, dict):
        keys = sorted(map(str, obj))[:MAX_LISTED] if isinstance(obj, dict) else type(obj).__name__
        raise _error(path, f"it holds no 'net' state dict (found: {keys})",
                     "pass a checkpoint written by tracking/train.py, or wrap plain weights as "
                     "`torch.save({'net': state_dict}, PATH)`")
    bad = [str(k) for k, v in state.items() if not isinstance(v, torch.Tensor)]
    if bad:
        raise _error(path, f"its 'net' entry holds {len(bad)} non-tensor values (first: {bad[:MAX_LISTED]})",
                     _FIX_RESAVE)
    non_finite = non_finite_keys(state)
    if non_finite:  # such weights cannot track: every box would stay where it started
        raise _error(path, f"{len(non_finite)} of its {len(state)} tensors hold NaN or Inf (first: "
                           f"{', '.join(non_finite[:5])}{', ...' if len(non_finite) > 5 else ''}); a network with "
                           "these weights cannot track",
                     "take an earlier epoch's checkpoint (a training run whose loss became NaN stops before "
                     "saving, so this file was written by other code or damaged), or retrain")
    return state, obj


def _config_hint(saved: Any, cfg: CfgNode) -> str:
    """The MODEL / DATA keys where the config saved in the checkpoint differs from `cfg` (a few)."""
    try:
        saved = yaml.safe_load(saved) if isinstance(saved, str) else None
    except yaml.YAMLError:
        return ""
    if not isinstance(saved, dict):
        return ""
    diffs = []

    def walk(old: Any, new: Any, prefix: str) -> None:
        if isinstance(old, dict) and isinstance(new, dict):
            for key in sorted(set(old) | set(new)):
                walk(old.get(key), new.get(key), f"{prefix}.{key}" if prefix else key)
        elif old != new and prefix.startswith(("MODEL.", "DATA.MULTI_MODAL")):
            diffs.append(f"{prefix}: {old!r} in the checkpoint, {new!r} here")

    walk(saved, yaml.safe_load(cfg.dump()), "")
    return f"; the config saved in the checkpoint differs in {'; '.join(diffs[:5])}" if diffs else ""


def check_fits(state: dict[str, torch.Tensor], model: torch.nn.Module, path: Path, yaml_file: Path,
               cfg: CfgNode, saved_config: Any = None) -> None:
    """Raise CheckpointError when the state dict's keys or shapes differ from `model`'s (the first few named)."""
    expected = model.state_dict()
    shapes, unexpected, missing = mismatched_keys(state, expected)
    if shapes or unexpected or missing:
        raise _error(path, f"its weights do not fit config {yaml_file}: "
                           f"{describe_mismatches(shapes, unexpected, missing, len(expected), MAX_LISTED)}"
                           f"{_config_hint(saved_config, cfg)}",
                     f"run with the config this checkpoint was trained with (the trainer saves it under "
                     f"checkpoints/train/{SCRIPT}/<config>/), or with a checkpoint trained with {yaml_file.stem}")


def parameters(config: str | Path, checkpoint: str | Path | None = None, random_weights: bool = False,
               seed: int = 0) -> TrackerParams:
    """Tracker parameters for a config; the checkpoint (unless random weights) must exist and fit the config."""
    if random_weights and checkpoint is not None:
        raise ValueError(f"both a checkpoint ({checkpoint}) and random weights were asked for: they contradict "
                         "each other; drop --random_weights to track with the checkpoint, or --checkpoint for a "
                         "smoke run with random weights")
    yaml_file = resolve_config(config)
    cfg = load_config(yaml_file)
    params = TrackerParams(cfg=cfg, config_name=yaml_file.stem, yaml_file=str(yaml_file), checkpoint=None,
                           random_weights=random_weights, seed=seed)
    if random_weights:
        return params
    path = Path(checkpoint) if checkpoint is not None else default_checkpoint(yaml_file.stem, cfg.TEST.EPOCH)
    if not path.is_file():
        how = ("given with --checkpoint" if checkpoint is not None
               else f"TEST.EPOCH {cfg.TEST.EPOCH} of {yaml_file} under save_dir")
        raise FileNotFoundError(f"checkpoint not found: {path} ({how}); train first, pass --checkpoint PATH, "
                                "or use --random_weights for a smoke run")
    state, whole = read_checkpoint(path)
    network = untrained_network(cfg, seed)
    check_fits(state, network, path, yaml_file, cfg, whole.get("config"))
    network.load_state_dict(state, strict=True)
    params.checkpoint = str(path)
    params.checked_network = (cfg, network.eval())
    return params
