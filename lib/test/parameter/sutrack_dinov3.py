"""Tracker parameters of sutrack_dinov3: the YAML config, crop sizes and which weights to load.

`parameters(config)` takes a config name (`experiments/sutrack_dinov3/<name>.yaml`) or a YAML path. The
weights are, in order: an explicit checkpoint file; random weights seeded with `seed` (smoke runs); or
the trainer's checkpoint for TEST.EPOCH, `<save_dir>/checkpoints/train/sutrack_dinov3/<config>/
SUTRACK_ep%04d.pth.tar`.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from yacs.config import CfgNode

from lib.config.sutrack_dinov3.config import load_config
from lib.test.results import checkpoint_path
from lib.utils.settings import PROJECT_ROOT, env_settings

SCRIPT = "sutrack_dinov3"
CONFIG_DIR = PROJECT_ROOT / "experiments" / SCRIPT


@dataclass
class TrackerParams:
    """Everything a tracker needs besides the frames: config, crop geometry, weights."""

    cfg: CfgNode
    config_name: str
    yaml_file: str
    checkpoint: str | None
    random_weights: bool = False
    seed: int = 0
    template_factor: float = 2.0
    template_size: int = 112
    search_factor: float = 4.0
    search_size: int = 224
    debug: int = 0
    onnx_dir: str | None = None  # exported graphs for backend 'onnx' (None: export into the cache)


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


def parameters(config: str | Path, checkpoint: str | Path | None = None, random_weights: bool = False,
               seed: int = 0, debug: int = 0) -> TrackerParams:
    """Tracker parameters for a config; the checkpoint (unless random weights) must exist."""
    yaml_file = resolve_config(config)
    cfg = load_config(yaml_file)
    ckpt: str | None = None
    if not random_weights:
        path = Path(checkpoint) if checkpoint is not None else default_checkpoint(yaml_file.stem, cfg.TEST.EPOCH)
        if not path.is_file():
            how = ("given with --checkpoint" if checkpoint is not None
                   else f"TEST.EPOCH {cfg.TEST.EPOCH} of {yaml_file} under save_dir")
            raise FileNotFoundError(f"checkpoint not found: {path} ({how}); train first, pass --checkpoint PATH, "
                                    "or use --random_weights for a smoke run")
        ckpt = str(path)
    test = cfg.TEST
    return TrackerParams(cfg=cfg, config_name=yaml_file.stem, yaml_file=str(yaml_file), checkpoint=ckpt,
                         random_weights=random_weights, seed=seed,
                         template_factor=float(test.TEMPLATE_FACTOR), template_size=int(test.TEMPLATE_SIZE),
                         search_factor=float(test.SEARCH_FACTOR), search_size=int(test.SEARCH_SIZE), debug=debug)
