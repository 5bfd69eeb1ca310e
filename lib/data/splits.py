"""The benchmarks' split lists (lib/train/data_specs/, SUTrack's and pytracking's files): which sequences of a
benchmark a training or evaluation split holds, and the test splits that training must never see.

GOT-10k's lists are 0-based indices into the sorted names of `train/list.txt` (9335 sequences); a root
with another number of sequences cannot use them (only `train_full` still means "every sequence").
The VOT splits are also cut by got10k_vot_exclude.txt: the shipped index lists name 765 (vottrain) and
125 (votval) of the excluded sequences under that mapping (an off-by-one upstream), so those are dropped.
"""
from __future__ import annotations

import functools
import re
from pathlib import Path

from lib.utils.image import read_list_file
from lib.utils.settings import PROJECT_ROOT

__all__ = ["DATA_SPECS", "GOT10K_INDEX_SPLITS", "GOT10K_TRAIN_COUNT", "SplitError", "got10k_exclude",
           "got10k_split_names", "lasot_test_names", "lasot_train_names", "read_index_split", "spec_names",
           "test_split_reason", "trackingnet_classmap", "vasttrack_train_names"]

DATA_SPECS = PROJECT_ROOT / "lib" / "train" / "data_specs"
GOT10K_TRAIN_COUNT = 9335  # sequences in GOT-10k's train/list.txt, what the index lists refer to
GOT10K_INDEX_SPLITS = {"train_full": "got10k_train_full_split.txt", "train": "got10k_train_split.txt",
                       "val": "got10k_val_split.txt", "vottrain": "got10k_vot_train_split.txt",
                       "votval": "got10k_vot_val_split.txt"}
GOT10K_TEST_NAME = re.compile(r"GOT-10k_Test_\d+")
TRACKINGNET_TRAIN_NAME = re.compile(r"TRAIN_\d+/(.+)")  # training names of TrackingNet's layout: <set>/<video>


class SplitError(ValueError):
    """A split that cannot be applied to a root (wrong number of sequences, bad index); names the files."""


@functools.cache
def spec_names(file: str) -> tuple[str, ...]:
    """Non-empty lines of lib/train/data_specs/<file> (FileNotFoundError naming the path if absent)."""
    return tuple(read_list_file(DATA_SPECS / file))


def lasot_train_names() -> list[str]:
    """LaSOT's 1120 training sequences (`airplane-10`, ...)."""
    return list(spec_names("lasot_train_split.txt"))


def lasot_test_names() -> list[str]:
    """LaSOT's 280 test sequences: per class, the numbers 1..20 the train list lacks (lasot_test_split.txt)."""
    return list(spec_names("lasot_test_split.txt"))


def vasttrack_train_names() -> list[str]:
    """VastTrack training sequences (`<class>-<n>`), without those listed as broken."""
    broken = set(spec_names("vasttrack_broken_split.txt"))
    return [n for n in spec_names("vasttrack_train_split.txt") if n not in broken]


@functools.cache
def trackingnet_classmap() -> dict[str, str]:
    """TrackingNet video -> object class (trackingnet_classmap.txt, `video<TAB>class`)."""
    out = {}
    for line in spec_names("trackingnet_classmap.txt"):
        video, _, cls = line.partition("\t")
        out[video.strip()] = cls.strip()
    return out


@functools.cache
def got10k_exclude() -> frozenset[str]:
    """GOT-10k train sequences that VOT forbids for training (never in GOT10K_vottrain / votval)."""
    return frozenset(spec_names("got10k_vot_exclude.txt"))


def read_index_split(path: Path, names: list[str]) -> list[str]:
    """Entries of a split file: integer lines index `names`, other lines are sequence names."""
    out = []
    for line_no, entry in enumerate(read_list_file(path), start=1):
        if entry.isdigit():
            if int(entry) >= len(names):
                raise SplitError(f"{path}:{line_no}: index {entry} but the split folder lists only "
                                 f"{len(names)} sequences")
            out.append(names[int(entry)])
        else:
            out.append(entry)
    return out


def got10k_split_names(split: str, list_names: list[str], folder: Path, split_file: Path | None = None) -> list[str]:
    """Sequences of GOT-10k `split` given the names of `folder`/list.txt (see the module doc).

    `split_file` replaces the shipped list: its integer lines index `list_names` as given.
    """
    if split_file is not None:
        names = read_index_split(Path(split_file), list_names)
    elif split not in GOT10K_INDEX_SPLITS:
        raise SplitError(f"GOT-10k: unknown split '{split}'; known: {list(GOT10K_INDEX_SPLITS)}")
    elif len(list_names) != GOT10K_TRAIN_COUNT:
        if split == "train_full":
            return list(list_names)
        raise SplitError(f"GOT-10k split '{split}': {folder}/list.txt holds {len(list_names)} sequences but "
                         f"{GOT10K_INDEX_SPLITS[split]} indexes GOT-10k's {GOT10K_TRAIN_COUNT}; use GOT10K_train_full "
                         f"on custom GOT-10k-format data")
    else:
        names = read_index_split(DATA_SPECS / GOT10K_INDEX_SPLITS[split], sorted(list_names))
    if split in ("vottrain", "votval"):
        excluded = got10k_exclude()
        names = [n for n in names if n not in excluded]
    return names


def test_split_reason(name: str) -> str | None:
    """Which benchmark's test split the sequence `name` belongs to, or None (LaSOT, GOT-10k, TrackingNet).

    A TrackingNet video under TRAIN_<i>/ that trackingnet_classmap.txt (every training video) does not name
    is refused too: a TEST video copied or linked into a training chunk keeps its own name."""
    if name in _lasot_test_set():
        return "LaSOT test"
    if GOT10K_TEST_NAME.fullmatch(name):
        return "GOT-10k test"
    if name.startswith("TEST/"):
        return "TrackingNet TEST"
    train = TRACKINGNET_TRAIN_NAME.fullmatch(name)
    if train and train.group(1) not in trackingnet_classmap():
        return "TrackingNet, not a training video: not in trackingnet_classmap.txt"
    return None


@functools.cache
def _lasot_test_set() -> frozenset[str]:
    return frozenset(lasot_test_names())
