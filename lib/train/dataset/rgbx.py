"""RGB-X training datasets (DepthTrack, LasHeR, VisEvent): frames are H x W x 6 uint8, RGB then X.

The layouts (lib/utils/dataset_layouts.py) pair each RGB frame with its X frame; `read_rgbx`
(lib/utils/image.py) turns the pair into 6 channels exactly as the evaluation runner does: depth through
SUTrack's JET colour map, thermal and event images as RGB.

Roots come from settings (depthtrack_dir, lasher_dir, visevent_dir). Each may hold the benchmark's
train/test folders (DepthTrack `train/`; LasHeR `trainingset/`; VisEvent `train_subset/`) or be that
folder itself. Train/val splits of DepthTrack and LasHeR are sequence-name files in
`lib/train/data_specs/<dataset>_<split>.txt` (pytracking's convention; or pass `split_file`): without one,
'train' uses every sequence and 'val' is an error naming the file.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from lib.train.dataset.base_video_dataset import AnnotatedVideoDataset, resolve_root
from lib.utils.dataset_layouts import (
    AUX_FRAMES_KEY,
    MODALITY_KEY,
    DepthTrackLayout,
    FrameList,
    Layout,
    RgbtLayout,
    VisEventLayout,
    split_folder,
)
from lib.utils.image import read_list_file, read_rgbx
from lib.utils.settings import PROJECT_ROOT, Settings, env_settings

__all__ = ["DATA_SPECS", "DepthTrack", "LasHeR", "RgbxVideoDataset", "VisEvent", "split_names"]

DATA_SPECS = PROJECT_ROOT / "lib" / "train" / "data_specs"


def split_names(layout: Layout, dataset: str, split: str, split_file: str | os.PathLike | None = None) -> list[str]:
    """Sequence names of `split`: 'all' = every sequence; otherwise the split file's names (see module doc)."""
    if split == "all":
        return layout.sequence_names()
    path = Path(split_file) if split_file is not None else DATA_SPECS / f"{dataset.lower()}_{split}.txt"
    if path.is_file():
        return read_list_file(path)
    if split_file is None and split == "train":
        return layout.sequence_names()
    raise FileNotFoundError(f"{dataset}: split file for '{split}' not found: {path} (one sequence name per line)")


class RgbxVideoDataset(AnnotatedVideoDataset):
    """A training dataset of RGB-X sequences: `_read_frame` returns H x W x 6 (RGB + X as 3 channels)."""

    def __init__(self, name: str, label: str, layout: Layout, sequence_names: list[str],
                 settings: Settings | None = None, use_cache: bool = True):
        super().__init__(name, label, layout, sequence_names, settings, use_cache=use_cache)
        self._aux = [FrameList.from_json(m[AUX_FRAMES_KEY]) for m in self.table.meta]
        self._modality = [str(m[MODALITY_KEY]) for m in self.table.meta]

    def get_aux_frame_path(self, seq_id: int, frame_id: int) -> str:
        """Path of the X frame paired with RGB frame `frame_id`."""
        return self._aux[seq_id].path(frame_id)

    def _read_frame(self, seq_id: int, frame_id: int) -> np.ndarray:
        return read_rgbx(self.get_frame_path(seq_id, frame_id), self.get_aux_frame_path(seq_id, frame_id),
                         self._modality[seq_id])

    def get_meta(self, seq_id: int) -> dict:
        meta = super().get_meta(seq_id)
        meta.pop(AUX_FRAMES_KEY, None)
        return meta


class DepthTrack(RgbxVideoDataset):
    """DepthTrack training sequences (RGB + depth colour map); labels DepthTrack_train / _val / _all."""

    def __init__(self, split: str = "train", root: str | os.PathLike | None = None, settings: Settings | None = None,
                 split_file: str | os.PathLike | None = None, use_cache: bool = True):
        settings = settings or env_settings()
        layout = DepthTrackLayout(split_folder(resolve_root(settings, "depthtrack_dir", "DepthTrack", root), "train"))
        names = split_names(layout, "depthtrack", split, split_file)
        super().__init__("depthtrack", f"DepthTrack_{split}", layout, names, settings, use_cache)


class LasHeR(RgbxVideoDataset):
    """LasHeR training sequences (RGB + thermal); labels LasHeR_all / _train / _val."""

    def __init__(self, split: str = "all", root: str | os.PathLike | None = None, settings: Settings | None = None,
                 split_file: str | os.PathLike | None = None, use_cache: bool = True):
        settings = settings or env_settings()
        root = resolve_root(settings, "lasher_dir", "LasHeR", root)
        layout = RgbtLayout(split_folder(root, "trainingset", "TrainingSet", "train"))
        names = split_names(layout, "lasher", split, split_file)
        super().__init__("lasher", f"LasHeR_{split}", layout, names, settings, use_cache)


class VisEvent(RgbxVideoDataset):
    """VisEvent training sequences (RGB + event frames) listed in trainlist.txt (all folders without it)."""

    def __init__(self, split: str = "train", root: str | os.PathLike | None = None, settings: Settings | None = None,
                 use_cache: bool = True):
        settings = settings or env_settings()
        root = resolve_root(settings, "visevent_dir", "VisEvent", root)
        layout = VisEventLayout(split_folder(root, f"{split}_subset", split), split=split)
        super().__init__("visevent", "VisEvent" if split == "train" else f"VisEvent_{split}", layout,
                         layout.sequence_names(), settings, use_cache)
