"""GOT-10k for training: the index splits of train/ (train_full, train, val, vottrain, votval; see
lib/data/splits.py) and val_folder (GOT-10k's own val/ folder)."""
from __future__ import annotations

import os

import torch

from lib.data.catalog import resolve_train
from lib.data.layouts import Got10kLayout
from lib.data.splits import got10k_split_names
from lib.train.dataset.base_video_dataset import AnnotatedVideoDataset, ImageLoader, resolve_root
from lib.utils.image import read_image
from lib.utils.settings import Settings, env_settings

__all__ = ["Got10k"]


class Got10k(AnnotatedVideoDataset):
    """GOT-10k training sequences; visible = not absent and cover > 0 (pytracking's rule)."""

    SPLITS = ("train_full", "train", "val", "vottrain", "votval", "val_folder")

    def __init__(self, split: str = "train_full", root: str | os.PathLike | None = None,
                 settings: Settings | None = None, split_file: str | os.PathLike | None = None,
                 image_loader: ImageLoader = read_image, use_cache: bool = True):
        if split not in self.SPLITS:
            raise ValueError(f"GOT-10k: unknown split '{split}'; known: {list(self.SPLITS)}")
        settings = settings or env_settings()
        root = resolve_root(settings, "got10k_dir", "GOT-10k", root)
        folder = root / ("val" if split == "val_folder" else "train")
        if not folder.is_dir():
            raise FileNotFoundError(f"GOT-10k: split folder {folder} does not exist (settings key 'got10k_dir' "
                                    f"= '{root}' should hold train/, val/ and test/)")
        if split_file is not None:  # a user's own list: integer lines index train/list.txt as it is
            layout = Got10kLayout(folder)
            names = got10k_split_names(split, layout.sequence_names(), folder, split_file)
        else:
            resolved = resolve_train(f"GOT10K_{split}", root)
            layout, names = resolved.layout, resolved.names
        super().__init__("got10k", f"GOT10K_{split}", layout, names, settings, image_loader, use_cache)

    def get_sequence_info(self, seq_id: int) -> dict[str, torch.Tensor]:
        info = super().get_sequence_info(seq_id)
        cover = self.table.extra.get("cover")
        if cover is not None:
            ratio = torch.from_numpy(cover[self.table.span(seq_id)].astype("float32")) / 8.0
            info["visible_ratio"] = ratio.clamp(min=0.0)  # -1 (no cover.label) -> 0
        return info
