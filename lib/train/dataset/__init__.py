"""Training datasets (pytracking's BaseVideoDataset interface) and the name -> dataset factory.

`build_train_dataset(name)` accepts the names used in configs' DATA.TRAIN.DATASETS_NAME, SUTrack's RGB-X
(6-channel frames: DepthTrack_*, LasHeR_*, VisEvent) and language (TNL2K_train, OTB99_train, REFCOCOG) ones
included. The names and the class that loads each come from lib/data/catalog.py (TRAIN_DATASETS), the one list
of training datasets; datasets defined outside the package join with `register_train_dataset`.
"""
from __future__ import annotations

from collections.abc import Callable

from lib.data.catalog import TRAIN_DATASETS
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

# datasets defined outside lib/data/catalog.py (register_train_dataset); the catalogue's entries build the rest
_REGISTERED: dict[str, Factory] = {}


def register_train_dataset(name: str, factory: Factory) -> None:
    """Make `name` buildable by build_train_dataset, for datasets defined outside the package (a dataset of the
    package gets a `DataEntry` with its `train_class` in lib/data/catalog.py instead, which check_data reads)."""
    _REGISTERED[name] = factory


def train_dataset_names() -> list[str]:
    """Every name DATA.TRAIN.DATASETS_NAME accepts: the catalogue's, then registered ones."""
    return [*TRAIN_DATASETS, *(n for n in _REGISTERED if n not in TRAIN_DATASETS)]


def build_train_dataset(name: str, settings: Settings | None = None) -> BaseVideoDataset:
    """The training dataset called `name` in DATA.TRAIN.DATASETS_NAME (case-insensitive match)."""
    names = train_dataset_names()
    key = name if name in names else {k.lower(): k for k in names}.get(name.lower())
    if key is None:
        raise ValueError(f"unknown training dataset '{name}'; known: {', '.join(names)}")
    settings = settings or env_settings()
    if key in _REGISTERED:
        return _REGISTERED[key](settings)
    return TRAIN_DATASETS[key].build(settings)
