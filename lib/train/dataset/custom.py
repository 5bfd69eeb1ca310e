"""A plain folder dataset for training: <root>/<seq>/ with frames (in img/ or directly) + groundtruth.txt."""
from __future__ import annotations

import os

from lib.data.layouts import CustomLayout
from lib.train.dataset.base_video_dataset import AnnotatedVideoDataset, ImageLoader, resolve_root
from lib.utils.image import read_image
from lib.utils.settings import Settings, env_settings

__all__ = ["CustomDataset"]


class CustomDataset(AnnotatedVideoDataset):
    """User sequences; optional absence.label, nlp.txt/language.txt and a root list.txt."""

    def __init__(self, root: str | os.PathLike | None = None, settings: Settings | None = None,
                 image_loader: ImageLoader = read_image, use_cache: bool = True, name: str = "CUSTOM"):
        settings = settings or env_settings()
        layout = CustomLayout(resolve_root(settings, "custom_dir", "custom dataset", root))
        super().__init__("custom", name, layout, layout.sequence_names(), settings, image_loader, use_cache)
