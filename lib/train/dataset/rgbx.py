"""RGB-X training datasets (DepthTrack, LasHeR, VisEvent): frames are H x W x 6 uint8, RGB then X.

The layouts (lib/data/layouts/rgbx.py) pair each RGB frame with its X frame; `read_rgbx`
(lib/utils/image.py) turns the pair into 6 channels exactly as the evaluation runner does: depth through
SUTrack's JET colour map, thermal and event images as RGB.

Roots come from settings (depthtrack_dir, lasher_dir, visevent_dir). Each may hold the benchmark's
train/test folders (DepthTrack `train/`; LasHeR `trainingset/`; VisEvent `train_subset/`) or be that
folder itself. Train/val splits of DepthTrack and LasHeR are the shipped sequence-name lists
`lib/train/data_specs/<dataset>_<split>.txt` (or a `split_file` of your own); listed sequences missing
on disk are warned about (tracking/check_data.py names them).
"""
from __future__ import annotations

import os

import numpy as np

from lib.data.catalog import TRAIN_DATASETS, Resolved, present, resolve_train
from lib.data.layouts import Layout, VisEventLayout, split_folder
from lib.data.records import AUX_FRAMES_KEY, MODALITY_KEY, FrameList
from lib.train.dataset.base_video_dataset import AnnotatedVideoDataset, resolve_root
from lib.utils.image import read_list_file, read_rgbx
from lib.utils.settings import Settings, env_settings

__all__ = ["DepthTrack", "LasHeR", "RgbxVideoDataset", "VisEvent", "split_names"]


def split_names(family: str, split: str, root: str | os.PathLike | None, settings: Settings,
                split_file: str | os.PathLike | None = None) -> tuple[str, Resolved]:
    """(label, sequences) of `family`'s `split` (label e.g. LasHeR_train, a TRAIN_DATASETS entry whose root key
    and title it uses): the shipped split list on the root, or `split_file`'s names."""
    label = f"{family}_{split}"
    entry = TRAIN_DATASETS.get(label)
    if entry is None:
        known = [k.split("_", 1)[1] for k in TRAIN_DATASETS if k.startswith(f"{family}_")]
        raise ValueError(f"{family}: unknown split '{split}'; known: {known}")
    resolved = resolve_train(label, resolve_root(settings, entry.root_key, entry.title, root))
    if split_file is not None:
        found, missing = present(resolved.layout, read_list_file(split_file))
        resolved = Resolved(resolved.layout, found, missing, len(found) + len(missing))
    return label, resolved


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
    """DepthTrack training sequences (RGB + depth colour map); labels DepthTrack_train / _val."""

    def __init__(self, split: str = "train", root: str | os.PathLike | None = None, settings: Settings | None = None,
                 split_file: str | os.PathLike | None = None, use_cache: bool = True):
        settings = settings or env_settings()
        label, resolved = split_names("DepthTrack", split, root, settings, split_file)
        super().__init__("depthtrack", label, resolved.layout, resolved.names, settings, use_cache)


class LasHeR(RgbxVideoDataset):
    """LasHeR training sequences (RGB + thermal); labels LasHeR_all / _train / _val."""

    def __init__(self, split: str = "all", root: str | os.PathLike | None = None, settings: Settings | None = None,
                 split_file: str | os.PathLike | None = None, use_cache: bool = True):
        settings = settings or env_settings()
        label, resolved = split_names("LasHeR", split, root, settings, split_file)
        super().__init__("lasher", label, resolved.layout, resolved.names, settings, use_cache)


class VisEvent(RgbxVideoDataset):
    """VisEvent training sequences (RGB + event frames) listed in trainlist.txt (all folders without it)."""

    def __init__(self, split: str = "train", root: str | os.PathLike | None = None, settings: Settings | None = None,
                 use_cache: bool = True):
        settings = settings or env_settings()
        root = resolve_root(settings, "visevent_dir", "VisEvent", root)
        layout = VisEventLayout(split_folder(root, f"{split}_subset", split), split=split)
        super().__init__("visevent", "VisEvent" if split == "train" else f"VisEvent_{split}", layout,
                         layout.sequence_names(), settings, use_cache)
