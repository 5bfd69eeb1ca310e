"""Training datasets (pytracking's BaseVideoDataset interface) and the name -> dataset factory.

`build_train_dataset(name)` accepts the names used in configs' DATA.TRAIN.DATASETS_NAME, SUTrack's RGB-X
(6-channel frames: DepthTrack_*, LasHeR_*, VisEvent) and language (TNL2K_train, OTB99_train, REFCOCOG) ones
included; datasets defined elsewhere join with `register_train_dataset`.
"""
from __future__ import annotations

from collections.abc import Callable

from lib.train.dataset.base_video_dataset import AnnotatedVideoDataset, BaseVideoDataset, SequenceTable
from lib.train.dataset.coco import MSCOCOSeq
from lib.train.dataset.custom import CustomDataset
from lib.train.dataset.got10k import Got10k
from lib.train.dataset.language import Otb99Lang, RefCOCOSeq, Tnl2k
from lib.train.dataset.lasot import Lasot, VastTrack
from lib.train.dataset.rgbx import DepthTrack, LasHeR, RgbxVideoDataset, VisEvent
from lib.train.dataset.trackingnet import TrackingNet
from lib.utils.image import FrameReadError
from lib.utils.settings import Settings, env_settings

__all__ = [
    "AnnotatedVideoDataset",
    "BaseVideoDataset",
    "CustomDataset",
    "DepthTrack",
    "FrameReadError",
    "Got10k",
    "LasHeR",
    "Lasot",
    "MSCOCOSeq",
    "Otb99Lang",
    "RefCOCOSeq",
    "RgbxVideoDataset",
    "SequenceTable",
    "Tnl2k",
    "TrackingNet",
    "VastTrack",
    "VisEvent",
    "build_train_dataset",
    "register_train_dataset",
    "train_dataset_names",
]

Factory = Callable[[Settings], BaseVideoDataset]

_FACTORIES: dict[str, Factory] = {
    "LASOT": lambda s: Lasot("train", settings=s),
    "GOT10K_vottrain": lambda s: Got10k("vottrain", settings=s),
    "GOT10K_votval": lambda s: Got10k("votval", settings=s),
    "GOT10K_train_full": lambda s: Got10k("train_full", settings=s),
    "GOT10K_train": lambda s: Got10k("train", settings=s),
    "GOT10K_val": lambda s: Got10k("val", settings=s),
    "GOT10K_val_folder": lambda s: Got10k("val_folder", settings=s),
    "COCO17": lambda s: MSCOCOSeq("2017", settings=s),
    "TRACKINGNET": lambda s: TrackingNet(settings=s),
    "VASTTRACK": lambda s: VastTrack(settings=s),
    "CUSTOM": lambda s: CustomDataset(settings=s),
    # multi-modal (6-channel RGB-X frames) and language datasets, under SUTrack's names
    "DepthTrack_train": lambda s: DepthTrack("train", settings=s),
    "DepthTrack_val": lambda s: DepthTrack("val", settings=s),
    "LasHeR_all": lambda s: LasHeR("all", settings=s),
    "LasHeR_train": lambda s: LasHeR("train", settings=s),
    "LasHeR_val": lambda s: LasHeR("val", settings=s),
    "VisEvent": lambda s: VisEvent("train", settings=s),
    "TNL2K_train": lambda s: Tnl2k(settings=s),
    "OTB99_train": lambda s: Otb99Lang("train", settings=s),
    "REFCOCOG": lambda s: RefCOCOSeq("train", settings=s),
}


def register_train_dataset(name: str, factory: Factory) -> None:
    """Make `name` buildable by build_train_dataset (for datasets defined elsewhere, e.g. RGB-X)."""
    _FACTORIES[name] = factory


def train_dataset_names() -> list[str]:
    return list(_FACTORIES)


def build_train_dataset(name: str, settings: Settings | None = None) -> BaseVideoDataset:
    """The training dataset called `name` in DATA.TRAIN.DATASETS_NAME (case-insensitive match)."""
    key = name if name in _FACTORIES else {k.lower(): k for k in _FACTORIES}.get(name.lower())
    if key is None:
        raise ValueError(f"unknown training dataset '{name}'; known: {', '.join(_FACTORIES)}")
    return _FACTORIES[key](settings or env_settings())
