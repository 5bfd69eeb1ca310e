"""LaSOT and VastTrack for training: the sequences of lasot_train_split.txt (LaSOT's 1120; a root's
testing_set.txt changes nothing) and vasttrack_train_split.txt, as found under the root."""
from __future__ import annotations

import os

from lib.data.catalog import resolve_train
from lib.train.dataset.base_video_dataset import AnnotatedVideoDataset, ImageLoader, resolve_root
from lib.utils.image import read_image
from lib.utils.settings import Settings, env_settings

__all__ = ["Lasot", "VastTrack"]


class Lasot(AnnotatedVideoDataset):
    """LaSOT training sequences with nlp.txt as language; visible = not fully occluded and in view."""

    def __init__(self, split: str = "train", root: str | os.PathLike | None = None,
                 settings: Settings | None = None, image_loader: ImageLoader = read_image,
                 use_cache: bool = True):
        if split != "train":
            raise ValueError(f"LaSOT: training uses split 'train' only, got '{split}' (the other 280 sequences are "
                             f"LaSOT's test set: evaluate them with --dataset_name lasot)")
        settings = settings or env_settings()
        resolved = resolve_train("LASOT", resolve_root(settings, "lasot_dir", "LaSOT", root))
        super().__init__("lasot", "LASOT", resolved.layout, resolved.names, settings, image_loader, use_cache)


class VastTrack(AnnotatedVideoDataset):
    """VastTrack training sequences (imgs/, Groundtruth.txt, optional nlp.txt as language)."""

    def __init__(self, root: str | os.PathLike | None = None, settings: Settings | None = None,
                 image_loader: ImageLoader = read_image, use_cache: bool = True):
        settings = settings or env_settings()
        resolved = resolve_train("VASTTRACK", resolve_root(settings, "vasttrack_dir", "VastTrack", root))
        super().__init__("vasttrack", "VASTTRACK", resolved.layout, resolved.names, settings, image_loader,
                         use_cache)
