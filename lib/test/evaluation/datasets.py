"""Benchmark datasets for evaluation (one small class each) and `get_dataset` by pytracking name."""
from __future__ import annotations

import os
import warnings

from lib.data.layouts import (
    CustomLayout,
    DepthTrackLayout,
    Got10kLayout,
    LasotLayout,
    Layout,
    NfsLayout,
    Otb99LangLayout,
    OtbLayout,
    RgbtLayout,
    Tnl2kLayout,
    TrackingNetLayout,
    Uav123Layout,
    VisEventLayout,
    split_folder,
)
from lib.data.splits import got10k_split_names, lasot_test_names, spec_names
from lib.test.evaluation.data import BaseDataset, SequenceList
from lib.utils.settings import Settings

__all__ = [
    "CustomDataset",
    "DATASETS",
    "DepthTrackDataset",
    "GOT10KDataset",
    "LasHeRDataset",
    "LaSOTDataset",
    "LaSOTExtensionSubsetDataset",
    "LaSOTLangDataset",
    "NFSDataset",
    "OTB99LangDataset",
    "OTBDataset",
    "RGBT234Dataset",
    "TNL2KDataset",
    "TrackingNetDataset",
    "UAVDataset",
    "VOTRGBDDataset",
    "VisEventDataset",
    "dataset_names",
    "get_dataset",
    "load_dataset",
]


class OTBDataset(BaseDataset):
    """OTB-2015 (100 sequences; multi-target videos give <seq>_<k>)."""

    name, root_key, title = "otb", "otb_dir", "OTB"

    def layout(self) -> Layout:
        return OtbLayout(self.root)


class NFSDataset(BaseDataset):
    """Need for Speed, 30 fps version (sequences named nfs_<seq>)."""

    name, root_key, title = "nfs", "nfs_dir", "NFS"

    def layout(self) -> Layout:
        return NfsLayout(self.root, fps=30)


class UAVDataset(BaseDataset):
    """UAV123."""

    name, root_key, title = "uav", "uav_dir", "UAV123"

    def layout(self) -> Layout:
        return Uav123Layout(self.root)


class TrackingNetDataset(BaseDataset):
    """TrackingNet TEST set (first-frame annotation only; results go to the evaluation server)."""

    name, root_key, title = "trackingnet", "trackingnet_dir", "TrackingNet"

    def layout(self) -> Layout:
        return TrackingNetLayout(self.root, ["TEST"], first_frame_only=True)


class GOT10KDataset(BaseDataset):
    """GOT-10k test (first line only), val, or ltrval (the votval sequences of the train folder)."""

    root_key, title = "got10k_dir", "GOT-10k"
    SPLITS = ("test", "val", "ltrval")

    def __init__(self, split: str = "test", settings: Settings | None = None,
                 root: str | os.PathLike | None = None, split_file: str | os.PathLike | None = None):
        if split not in self.SPLITS:
            raise ValueError(f"GOT-10k: unknown split '{split}'; known: {list(self.SPLITS)}")
        super().__init__(settings, root)
        self.split, self.name = split, f"got10k_{split}"
        self.split_file = split_file  # ltrval: a list of your own instead of the shipped votval split

    def layout(self) -> Layout:
        folder = {"test": "test", "val": "val", "ltrval": "train"}[self.split]
        return Got10kLayout(self.root / folder, first_frame_only=self.split == "test")

    def sequence_names(self, layout: Layout) -> list[str]:
        names = layout.sequence_names()
        if self.split != "ltrval":
            return names
        return got10k_split_names("votval", names, layout.root, self.split_file)


class LaSOTDataset(BaseDataset):
    """LaSOT test set: exactly the 280 sequences of lasot_test_split.txt, whatever else lies under the root.

    Missing ones are skipped with a warning (and listed in `skipped`); a root testing_set.txt that names
    other sequences is reported and ignored.
    """

    name, root_key, title = "lasot", "lasot_dir", "LaSOT"

    def layout(self) -> Layout:
        return LasotLayout(self.root)

    def sequence_names(self, layout: Layout) -> list[str]:
        names = lasot_test_names()
        testing = layout.testing_set()
        if testing is not None and set(testing) != set(names):
            warnings.warn(f"{self.name}: {layout.root}/testing_set.txt lists {len(testing)} sequences that differ "
                          f"from LaSOT's test split (lib/train/data_specs/lasot_test_split.txt); evaluating the "
                          f"shipped split", stacklevel=2)
        return names


class LaSOTLangDataset(LaSOTDataset):
    """LaSOT test set with its nlp.txt sentences (init_nlp) for vision-language tracking."""

    name = "lasot_lang"


class LaSOTExtensionSubsetDataset(BaseDataset):
    """LaSOT extension subset (150 sequences, LaSOT's layout)."""

    name, root_key, title = "lasot_extension_subset", "lasot_extension_subset_dir", "LaSOT extension subset"

    def layout(self) -> Layout:
        return LasotLayout(self.root)


class TNL2KDataset(BaseDataset):
    """TNL2K test set with language.txt sentences (tnl2k_dir, or its test/ or TNL2K_test_subset/ folder)."""

    name, root_key, title = "tnl2k", "tnl2k_dir", "TNL2K"

    def layout(self) -> Layout:
        return Tnl2kLayout(split_folder(self.root, "test", "TNL2K_test_subset"))


class OTB99LangDataset(BaseDataset):
    """OTB99-lang test split (otb99_test_split.txt, OTB_query_test sentences)."""

    name, root_key, title = "otb99_lang", "otb99_lang_dir", "OTB99-lang"

    def layout(self) -> Layout:
        return Otb99LangLayout(self.root, split="test")

    def sequence_names(self, layout: Layout) -> list[str]:
        return list(spec_names("otb99_test_split.txt"))


class DepthTrackDataset(BaseDataset):
    """DepthTrack test set, RGB + depth (depthtrack_dir or its test/ folder); long-term metrics (Pr, Re, F)."""

    name, root_key, title = "depthtrack", "depthtrack_dir", "DepthTrack"

    def layout(self) -> Layout:
        return DepthTrackLayout(split_folder(self.root, "test"))


class VOTRGBDDataset(BaseDataset):
    """VOT-RGBD 2022 sequences of a VOT workspace (vot22_rgbd_dir or its sequences/ folder, list.txt order)."""

    name, root_key, title = "vot22_rgbd", "vot22_rgbd_dir", "VOT-RGBD22"

    def layout(self) -> Layout:
        return DepthTrackLayout(split_folder(self.root, "sequences"))


class LasHeRDataset(BaseDataset):
    """LasHeR test set, RGB + thermal (lasher_dir or its testingset/ folder); PR, NPR, SR."""

    name, root_key, title = "lasher", "lasher_dir", "LasHeR"

    def layout(self) -> Layout:
        return RgbtLayout(split_folder(self.root, "testingset", "TestingSet", "test"))


class RGBT234Dataset(BaseDataset):
    """RGBT234, RGB + thermal; the infrared ground truth goes to meta['ground_truth_rect_ir'] for MPR / MSR."""

    name, root_key, title = "rgbt234", "rgbt234_dir", "RGBT234"

    def layout(self) -> Layout:
        return RgbtLayout(self.root, infrared_gt=True)


class VisEventDataset(BaseDataset):
    """VisEvent test set, RGB + event (testlist.txt in visevent_dir or its test_subset/ folder); AUC, precision.

    Frames before the target's first appearance are dropped (the toolkit starts there too).
    """

    name, root_key, title = "visevent", "visevent_dir", "VisEvent"

    def layout(self) -> Layout:
        return VisEventLayout(split_folder(self.root, "test_subset", "test"), split="test", trim_absent_start=True)


class CustomDataset(BaseDataset):
    """A plain folder of sequences (<seq>/img/* or <seq>/*, groundtruth.txt)."""

    name, root_key, title = "custom", "custom_dir", "custom dataset"

    def layout(self) -> Layout:
        return CustomLayout(self.root)


DATASETS: dict[str, tuple[type[BaseDataset], dict]] = {
    "otb": (OTBDataset, {}),
    "nfs": (NFSDataset, {}),
    "uav": (UAVDataset, {}),
    "trackingnet": (TrackingNetDataset, {}),
    "got10k_test": (GOT10KDataset, {"split": "test"}),
    "got10k_val": (GOT10KDataset, {"split": "val"}),
    "got10k_ltrval": (GOT10KDataset, {"split": "ltrval"}),
    "lasot": (LaSOTDataset, {}),
    "lasot_extension_subset": (LaSOTExtensionSubsetDataset, {}),
    "tnl2k": (TNL2KDataset, {}),
    "lasot_lang": (LaSOTLangDataset, {}),
    "otb99_lang": (OTB99LangDataset, {}),
    "depthtrack": (DepthTrackDataset, {}),
    "vot22_rgbd": (VOTRGBDDataset, {}),
    "lasher": (LasHeRDataset, {}),
    "rgbt234": (RGBT234Dataset, {}),
    "visevent": (VisEventDataset, {}),
    "custom": (CustomDataset, {}),
}


def dataset_names() -> list[str]:
    return list(DATASETS)


def load_dataset(name: str, split: str | None = None, settings: Settings | None = None) -> BaseDataset:
    """The dataset object for a pytracking name ('got10k' + split 'val' also works); see get_dataset."""
    key = name.lower()
    if split is not None and f"{key}_{split.lower()}" in DATASETS:
        key = f"{key}_{split.lower()}"
    if key not in DATASETS:
        raise ValueError(f"unknown dataset '{name}'" + (f" (split '{split}')" if split else "") +
                         f"; known: {', '.join(DATASETS)}")
    cls, kwargs = DATASETS[key]
    return cls(settings=settings, **kwargs)


def get_dataset(name: str, split: str | None = None, settings: Settings | None = None) -> SequenceList:
    """Sequences of the benchmark `name` (otb, nfs, uav, trackingnet, got10k_test, ..., custom)."""
    return load_dataset(name, split, settings).get_sequence_list()
