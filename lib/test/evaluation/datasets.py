"""Benchmark datasets for evaluation (one small class each) and `get_dataset` by pytracking name."""
from __future__ import annotations

import os

from lib.test.evaluation.data import BaseDataset, SequenceList
from lib.utils.dataset_layouts import (
    GOT10K_SPLIT_FILES,
    CustomLayout,
    Got10kLayout,
    LasotLayout,
    Layout,
    NfsLayout,
    Otb99LangLayout,
    OtbLayout,
    Tnl2kLayout,
    TrackingNetLayout,
    Uav123Layout,
    read_split_file,
)
from lib.utils.settings import Settings

__all__ = [
    "CustomDataset",
    "DATASETS",
    "GOT10KDataset",
    "LaSOTDataset",
    "LaSOTExtensionSubsetDataset",
    "LaSOTLangDataset",
    "NFSDataset",
    "OTB99LangDataset",
    "OTBDataset",
    "TNL2KDataset",
    "TrackingNetDataset",
    "UAVDataset",
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
        self.split_file = split_file or GOT10K_SPLIT_FILES["votval"]

    def layout(self) -> Layout:
        folder = {"test": "test", "val": "val", "ltrval": "train"}[self.split]
        return Got10kLayout(self.root / folder, first_frame_only=self.split == "test")

    def sequence_names(self, layout: Layout) -> list[str]:
        names = layout.sequence_names()
        return read_split_file(self.split_file, names) if self.split == "ltrval" else names


class LaSOTDataset(BaseDataset):
    """LaSOT test set: the root's testing_set.txt if present, else every sequence."""

    name, root_key, title = "lasot", "lasot_dir", "LaSOT"

    def layout(self) -> Layout:
        return LasotLayout(self.root)

    def sequence_names(self, layout: Layout) -> list[str]:
        return layout.testing_set() or layout.sequence_names()


class LaSOTLangDataset(LaSOTDataset):
    """LaSOT test set with its nlp.txt sentences (init_nlp) for vision-language tracking."""

    name = "lasot_lang"


class LaSOTExtensionSubsetDataset(BaseDataset):
    """LaSOT extension subset (150 sequences, LaSOT's layout)."""

    name, root_key, title = "lasot_extension_subset", "lasot_extension_subset_dir", "LaSOT extension subset"

    def layout(self) -> Layout:
        return LasotLayout(self.root)


class TNL2KDataset(BaseDataset):
    """TNL2K test set with language.txt sentences."""

    name, root_key, title = "tnl2k", "tnl2k_dir", "TNL2K"

    def layout(self) -> Layout:
        return Tnl2kLayout(self.root)


class OTB99LangDataset(BaseDataset):
    """OTB99-lang test split (OTB_query_test sentences)."""

    name, root_key, title = "otb99_lang", "otb99_lang_dir", "OTB99-lang"

    def layout(self) -> Layout:
        return Otb99LangLayout(self.root, split="test")


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
