"""TrackingNet for training: the TRAIN_<i> chunks chosen by argument (default: all that exist); object classes
from lib/train/data_specs/trackingnet_classmap.txt."""
from __future__ import annotations

import os
from collections.abc import Iterable

from lib.data.layouts import TrackingNetLayout
from lib.train.dataset.base_video_dataset import AnnotatedVideoDataset, ImageLoader, resolve_root
from lib.utils.image import natural_key, read_image
from lib.utils.settings import Settings, env_settings

__all__ = ["TrackingNet"]


class TrackingNet(AnnotatedVideoDataset):
    """TrackingNet training videos (anno/<video>.txt, frames/<video>/<n>.jpg from 0)."""

    def __init__(self, sets: Iterable[int | str] | None = None, root: str | os.PathLike | None = None,
                 settings: Settings | None = None, image_loader: ImageLoader = read_image,
                 use_cache: bool = True):
        settings = settings or env_settings()
        root = resolve_root(settings, "trackingnet_dir", "TrackingNet", root)
        if sets is None:
            names = sorted((p.name for p in root.glob("TRAIN_*") if p.is_dir()), key=natural_key)
            if not names:
                raise FileNotFoundError(f"TrackingNet: no TRAIN_<i> folder in '{root}' "
                                        f"(settings key 'trackingnet_dir')")
        else:
            names = [s if isinstance(s, str) else f"TRAIN_{s}" for s in sets]
            missing = [str(root / s) for s in names if not (root / s).is_dir()]
            if missing:
                raise FileNotFoundError(f"TrackingNet: set folder(s) {missing} do not exist "
                                        f"(settings key 'trackingnet_dir' = '{root}')")
        layout = TrackingNetLayout(root, names, classmap=True)
        super().__init__("trackingnet", "TRACKINGNET", layout, layout.sequence_names(), settings,
                         image_loader, use_cache)
