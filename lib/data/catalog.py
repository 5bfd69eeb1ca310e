"""Every training dataset name (DATA.TRAIN.DATASETS_NAME) with its settings key, on-disk layout, split list,
expected count and training class, and how to resolve it on a root: which layout reads it, which sequences the
split wants and which of them are on disk. This is the one list of training datasets: the training factory
(lib/train/dataset: build_train_dataset) builds `entry.build(settings)`, its classes load what `resolve_train`
returns, and tracking/check_data.py reports it. Nothing here parses an annotation.
"""
from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from lib.data.layouts import (
    CustomLayout,
    DepthTrackLayout,
    Got10kLayout,
    LasotLayout,
    Layout,
    Otb99LangLayout,
    RgbtLayout,
    Tnl2kLayout,
    TrackingNetLayout,
    VastTrackLayout,
    VisEventLayout,
    split_folder,
)
from lib.data.splits import (
    GOT10K_INDEX_SPLITS,
    GOT10K_TRAIN_COUNT,
    got10k_split_names,
    lasot_train_names,
    spec_names,
    test_split_reason,
    trackingnet_classmap,
    vasttrack_train_names,
)
from lib.utils.image import natural_key

__all__ = ["TRAIN_DATASETS", "DataEntry", "LeakageError", "Resolved", "refuse_test_sequences", "resolve_train"]


@dataclass
class Resolved:
    """A dataset on a root: its layout, the split's sequences found on disk, the ones missing, the expected count."""

    layout: Layout | None
    names: list[str]
    missing: list[str] = field(default_factory=list)
    expected: int | None = None  # the split list's count; None when there is no list (whatever is found)
    notes: list[str] = field(default_factory=list)
    count: int | None = None  # found count when there are no sequence names (image datasets)

    @property
    def found(self) -> int:
        return self.count if self.count is not None else len(self.names)


@dataclass(frozen=True)
class DataEntry:
    """One dataset name: where its root comes from, the layout it expects, its split list."""

    name: str
    root_key: str
    title: str
    layout: str  # the expected layout, shown when a root looks wrong
    split_file: str  # file in lib/train/data_specs/ ('' when the dataset has none)
    resolve: Callable[[Path], Resolved]
    expected: int | None = None  # documented count when there is no split list (e.g. COCO images)
    train_class: str = ""  # the class of lib.train.dataset that loads it for training
    train_args: tuple = ()  # its positional arguments (the split)

    def build(self, settings=None):
        """The training dataset (`train_class(*train_args, settings=settings)`), imported only when asked for."""
        import lib.train.dataset as datasets  # the training classes import this module: import them lazily

        return getattr(datasets, self.train_class)(*self.train_args, settings=settings)


def present(layout: Layout, names: list[str]) -> tuple[list[str], list[str]]:
    """(names whose sequence is on disk, names that are not), in the given order."""
    found, missing = [], []
    for n in names:
        (found if layout.source_paths(n)[0].exists() else missing).append(n)
    return found, missing


def _listed(layout: Layout, names: list[str]) -> Resolved:
    found, missing = present(layout, names)
    return Resolved(layout, found, missing, len(names))


def _all(layout: Layout) -> Resolved:
    return Resolved(layout, layout.sequence_names())


def _got10k(split: str) -> Callable[[Path], Resolved]:
    def resolve(root: Path) -> Resolved:
        folder = root / "train"
        layout = Got10kLayout(folder)
        list_names = layout.sequence_names()
        if not list_names:  # nothing where GOT-10k keeps its train split: a wrong root, not a split problem
            full = [f"GOT-10k_Train_{i:06d}" for i in range(1, GOT10K_TRAIN_COUNT + 1)]
            return Resolved(layout, [], [], len(got10k_split_names(split, full, folder)))
        names = got10k_split_names(split, list_names, folder)
        if len(list_names) != GOT10K_TRAIN_COUNT:  # train_full on custom GOT-10k-format data: every sequence
            found, missing = present(layout, names)
            note = f"{folder}/list.txt holds {len(list_names)} sequences, GOT-10k train has {GOT10K_TRAIN_COUNT}"
            return Resolved(layout, found, missing, GOT10K_TRAIN_COUNT, [note])
        return _listed(layout, names)
    return resolve


def _got10k_val_folder(root: Path) -> Resolved:
    return _all(Got10kLayout(root / "val"))


def _lasot(root: Path) -> Resolved:
    layout = LasotLayout(root)
    resolved = _listed(layout, lasot_train_names())
    testing = layout.testing_set()
    if testing is not None and set(testing) != set(spec_names("lasot_test_split.txt")):
        resolved.notes.append(f"{root}/testing_set.txt differs from lib/train/data_specs/lasot_test_split.txt "
                              f"(ignored: the shipped lists decide)")
    return resolved


def _trackingnet(root: Path) -> Resolved:
    sets = sorted((p.name for p in root.glob("TRAIN_*") if p.is_dir()), key=natural_key)
    layout = TrackingNetLayout(root, sets, classmap=True)
    names = layout.sequence_names()
    found_videos = {n.split("/", 1)[1] for n in names}
    classmap = trackingnet_classmap()
    missing = [v for v in classmap if v not in found_videos]
    return Resolved(layout, names, missing, len(classmap))


def _vasttrack(root: Path) -> Resolved:
    return _listed(VastTrackLayout(root), vasttrack_train_names())


def _named(layout_fn: Callable[[Path], Layout], file: str) -> Callable[[Path], Resolved]:
    def resolve(root: Path) -> Resolved:
        return _listed(layout_fn(root), list(spec_names(file)))
    return resolve


def _depthtrack(root: Path) -> Layout:
    return DepthTrackLayout(split_folder(root, "train"))


def _lasher(root: Path) -> Layout:
    return RgbtLayout(split_folder(root, "trainingset", "TrainingSet", "train"))


def _files(*parts: str) -> Callable[[Path], Resolved]:
    """Image datasets (COCO, RefCOCOg): the annotation file and the image folder, images counted, not parsed."""
    def resolve(root: Path) -> Resolved:
        annotation, images = root.joinpath(*parts[:-1]), root / parts[-1]
        missing = [str(p) for p in (annotation, images) if not p.exists()]
        count = 0
        if images.is_dir():
            with os.scandir(images) as it:
                count = sum(1 for e in it if e.name.lower().endswith((".jpg", ".jpeg", ".png")))
        return Resolved(None, [], missing, count=count)
    return resolve


GOT10K_LAYOUT = "<root>/train/list.txt, <root>/train/GOT-10k_Train_000001/{00000001.jpg, groundtruth.txt, *.label}"
_ENTRIES = [
    DataEntry("LASOT", "lasot_dir", "LaSOT", "<root>/<class>/<class>-<k>/{img/00000001.jpg, groundtruth.txt}",
              "lasot_train_split.txt", _lasot, train_class="Lasot", train_args=("train",)),
    *(DataEntry(f"GOT10K_{s}", "got10k_dir", "GOT-10k", GOT10K_LAYOUT, f, _got10k(s), train_class="Got10k",
                train_args=(s,)) for s, f in GOT10K_INDEX_SPLITS.items()),
    DataEntry("GOT10K_val_folder", "got10k_dir", "GOT-10k", "<root>/val/list.txt, <root>/val/GOT-10k_Val_000001/...",
              "", _got10k_val_folder, 180, train_class="Got10k", train_args=("val_folder",)),
    DataEntry("TRACKINGNET", "trackingnet_dir", "TrackingNet",
              "<root>/TRAIN_<i>/{anno/<video>.txt, frames/<video>/0.jpg}", "trackingnet_classmap.txt", _trackingnet,
              train_class="TrackingNet"),
    DataEntry("VASTTRACK", "vasttrack_dir", "VastTrack",
              "<root>/<class>/<class>-<n>/{imgs/00001.jpg, Groundtruth.txt, nlp.txt}", "vasttrack_train_split.txt",
              _vasttrack, train_class="VastTrack"),
    DataEntry("COCO17", "coco_dir", "COCO 2017",
              "<root>/annotations/instances_train2017.json, <root>/images/train2017/", "",
              _files("annotations", "instances_train2017.json", "images/train2017"), 118287,
              train_class="MSCOCOSeq", train_args=("2017",)),
    DataEntry("CUSTOM", "custom_dir", "custom dataset", "<root>/<seq>/{img/ or frames, groundtruth.txt}", "",
              lambda r: _all(CustomLayout(r)), train_class="CustomDataset"),
    # multi-modal (6-channel RGB-X frames) and language datasets, under SUTrack's names
    *(DataEntry(f"DepthTrack_{s}", "depthtrack_dir", "DepthTrack",
                "<root>[/train]/<seq>/{color/00000001.jpg, depth/00000001.png, groundtruth.txt}",
                f"depthtrack_{s}.txt", _named(_depthtrack, f"depthtrack_{s}.txt"), train_class="DepthTrack",
                train_args=(s,)) for s in ("train", "val")),
    *(DataEntry(f"LasHeR_{s}", "lasher_dir", "LasHeR",
                "<root>[/trainingset]/<seq>/{visible/, infrared/, visible.txt}", f"lasher_{s}.txt",
                _named(_lasher, f"lasher_{s}.txt"), train_class="LasHeR", train_args=(s,))
      for s in ("all", "train", "val")),
    DataEntry("VisEvent", "visevent_dir", "VisEvent",
              "<root>[/train_subset]/trainlist.txt, <seq>/{vis_imgs/, event_imgs/, groundtruth.txt}", "",
              lambda r: _all(VisEventLayout(split_folder(r, "train_subset", "train"), split="train")),
              train_class="VisEvent", train_args=("train",)),
    DataEntry("TNL2K_train", "tnl2k_dir", "TNL2K", "<root>[/train]/<seq>/{imgs/, groundtruth.txt, language.txt}", "",
              lambda r: _all(Tnl2kLayout(split_folder(r, "train", "TNL2K_train_subset"))), train_class="Tnl2k"),
    DataEntry("OTB99_train", "otb99_lang_dir", "OTB99-lang",
              "<root>/OTB_videos/<seq>/{img/, groundtruth_rect.txt}, <root>/OTB_query_train/<seq>.txt",
              "otb99_train_split.txt", _named(lambda r: Otb99LangLayout(r, "train"), "otb99_train_split.txt"),
              train_class="Otb99Lang", train_args=("train",)),
    DataEntry("REFCOCOG", "refcocog_dir", "RefCOCOg",
              "<root>/annotations/refcocog/instances.json, <root>/images/train2014/", "",
              _files("annotations", "refcocog", "instances.json", "images/train2014"),
              train_class="RefCOCOSeq", train_args=("train",)),
]
TRAIN_DATASETS: dict[str, DataEntry] = {e.name: e for e in _ENTRIES}


def resolve_train(name: str, root: Path) -> Resolved:
    """Resolve the training dataset `name` (a key of TRAIN_DATASETS) on `root`; warns about what is missing."""
    entry = TRAIN_DATASETS[name]
    resolved = entry.resolve(Path(root))
    if resolved.missing and resolved.layout is not None:
        warnings.warn(f"{name}: {len(resolved.missing)} of {resolved.expected} sequences of "
                      f"{entry.split_file or 'the split'} not found under {root} (first: "
                      f"{', '.join(resolved.missing[:3])}); python tracking/check_data.py lists them", stacklevel=2)
    for note in resolved.notes:
        warnings.warn(f"{name}: {note}", stacklevel=2)
    return resolved


class LeakageError(ValueError):
    """A training dataset holds sequences of a benchmark's test split."""


def refuse_test_sequences(label: str, names: list[str], root: str | os.PathLike) -> None:
    """Raise LeakageError naming `label` and the first offending names when `names` hold test-split sequences."""
    bad = [(n, r) for n in names if (r := test_split_reason(n))]
    if bad:
        shown = ", ".join(f"{n} ({r})" for n, r in bad[:5])
        raise LeakageError(f"{label}: {len(bad)} sequence(s) under {root} belong to a benchmark's test split "
                           f"(first: {shown}); training on them would leak the test set. Remove them from the "
                           f"mix (DATA.TRAIN.DATASETS_NAME) or from the root.")
