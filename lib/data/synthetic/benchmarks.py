"""Fake benchmark roots: a few tiny sequences per dataset in the real layouts, named from the shipped split
lists (lib/train/data_specs), so loaders, the leakage check and tracking/check_data.py meet real names.

    python -c "from lib.data.synthetic.benchmarks import write_benchmark_roots; print(write_benchmark_roots('/tmp/b'))"
"""
from __future__ import annotations

import os
from pathlib import Path

from lib.data.splits import (
    DATA_SPECS,
    GOT10K_TRAIN_COUNT,
    lasot_test_names,
    lasot_train_names,
    read_index_split,
    spec_names,
    trackingnet_classmap,
    vasttrack_train_names,
)
from lib.data.synthetic.writers import (
    write_coco,
    write_got10k,
    write_lasot,
    write_tnl2k,
    write_trackingnet,
    write_vasttrack,
)
from lib.data.synthetic.writers_rgbx import write_depthtrack, write_lasher, write_visevent

__all__ = ["got10k_split_numbers", "write_benchmark_roots"]


def got10k_split_numbers(file: str, n: int) -> list[int]:
    """The sequence numbers (k of GOT-10k_Train_k) of the first `n` entries of a GOT-10k index list."""
    names = [f"GOT-10k_Train_{i:06d}" for i in range(1, GOT10K_TRAIN_COUNT + 1)]
    picked = read_index_split(DATA_SPECS / file, names)[:n]
    return [int(name.rsplit("_", 1)[1]) for name in picked]


def write_benchmark_roots(base: str | os.PathLike, n: int = 2, n_frames: int = 4) -> dict[str, Path]:
    """Write fake roots under `base`; returns {settings key: root} (set them as SUTRACK_<KEY> to use them).

    GOT-10k gets a full 9335-name train/list.txt of which only the folders of `n` vottrain sequences exist;
    LaSOT gets `n` train and one test sequence; TrackingNet TRAIN_0 `n` videos of the class map; the others
    `n` sequences of their lists.
    """
    base = Path(base)
    roots = {key: base / key.removesuffix("_dir") for key in
             ("lasot_dir", "got10k_dir", "coco_dir", "trackingnet_dir", "vasttrack_dir", "depthtrack_dir",
              "lasher_dir", "tnl2k_dir", "visevent_dir")}
    write_lasot(roots["lasot_dir"], names=lasot_train_names()[:n] + lasot_test_names()[:1], n_frames=n_frames)
    write_got10k(roots["got10k_dir"], "train", n_frames=n_frames, list_size=GOT10K_TRAIN_COUNT,
                 numbers=got10k_split_numbers("got10k_vot_train_split.txt", n))
    write_coco(roots["coco_dir"], n_images=n)
    write_trackingnet(roots["trackingnet_dir"], "TRAIN_0", n_frames=n_frames, names=list(trackingnet_classmap())[:n])
    write_vasttrack(roots["vasttrack_dir"], vasttrack_train_names()[:n], n_frames=n_frames)
    write_depthtrack(roots["depthtrack_dir"] / "train", spec_names("depthtrack_train.txt")[:n], n_frames=n_frames)
    write_lasher(roots["lasher_dir"] / "trainingset", spec_names("lasher_train.txt")[:n], n_frames=n_frames)
    write_tnl2k(roots["tnl2k_dir"] / "train", n_frames=n_frames)
    write_visevent(roots["visevent_dir"] / "train_subset", "train", n_frames=n_frames)
    return roots
