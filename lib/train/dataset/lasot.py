"""LaSOT for training: every sequence not listed in the root's testing_set.txt (all if there is none)."""
from __future__ import annotations

import os

from lib.train.dataset.base_video_dataset import AnnotatedVideoDataset, ImageLoader, resolve_root
from lib.utils.dataset_layouts import LasotLayout
from lib.utils.image import read_image
from lib.utils.settings import Settings, env_settings

__all__ = ["Lasot"]


class Lasot(AnnotatedVideoDataset):
    """LaSOT training sequences with nlp.txt as language; visible = not fully occluded and in view."""

    def __init__(self, split: str = "train", root: str | os.PathLike | None = None,
                 settings: Settings | None = None, image_loader: ImageLoader = read_image,
                 use_cache: bool = True):
        if split not in ("train", "test", "all"):
            raise ValueError(f"LaSOT: unknown split '{split}'; known: ['train', 'test', 'all']")
        settings = settings or env_settings()
        layout = LasotLayout(resolve_root(settings, "lasot_dir", "LaSOT", root))
        names = layout.sequence_names()
        testing = layout.testing_set()
        if testing is not None and split != "all":
            test = set(testing)
            names = [n for n in names if (n in test) == (split == "test")]
        label = "LASOT" if split == "train" else f"LASOT_{split}"
        super().__init__("lasot", label, layout, names, settings, image_loader, use_cache)
