"""The demo's data: sequences of several world families in the GOT-10k layout, one family held out.

`build_demo_data(out, worlds, heldout)` writes

- ``out/got10k/train`` and ``out/got10k/val``: sequences of the training families, interleaved family by
  family (sequence i belongs to family i mod K), so every split mixes all of them;
- ``out/heldout/got10k/val``: sequences of the held-out family, which training never sees.

Each sequence's ``meta_info.ini`` names its family (``major_class``) and object kind (``object_class``).
Every sequence draws from its own ``numpy.random.Generator`` seeded by (seed, split, family, index), so a
build is byte-identical for a seed whatever the number of worker processes, and adding or holding out a
family leaves the other families' sequences unchanged.
"""
from __future__ import annotations

import multiprocessing as mp
import os
import zlib
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import cv2
import numpy as np

from lib.data.synthetic.got10k_format import write_got10k_list, write_got10k_sequence
from lib.data.synthetic.worlds import FAMILIES, render_sequence, world

__all__ = ["DEFAULT_HELDOUT", "build_demo_data", "render_montage", "sequence_rng", "sequence_name"]

_SPLIT_IDS = {"train": 0, "val": 1, "test": 2}
DEFAULT_HELDOUT = "cutouts"  # the family the demo holds out unless told otherwise (its hardest; see README)


def sequence_rng(seed: int, split: str, family: str, index: int) -> np.random.Generator:
    """The generator of one sequence: a pure function of (seed, split, family name, index within the family)."""
    family_id = zlib.crc32(family.encode())
    return np.random.default_rng(np.random.SeedSequence([int(seed), _SPLIT_IDS[split], family_id, int(index)]))


def sequence_name(split: str, index: int) -> str:
    return f"GOT-10k_{split.capitalize()}_{index + 1:06d}"


def _build_one(args: tuple[str, str, str, int, int, int, int, tuple[int, int]]) -> str:
    split_dir, split, family, family_index, index, seed, n_frames, size = args
    cv2.setNumThreads(1)
    seq = render_sequence(sequence_rng(seed, split, family, family_index), world(family), n_frames, size)
    name = sequence_name(split, index)
    motion = seq.choices["motion"]
    write_got10k_sequence(
        split_dir, name, seq.frames, seq.boxes, seq.absent, seq.cover, seq.object_class,
        cut_by_image=seq.cut_by_image, first_frame_only=split == "test", major_class=family,
        motion_class=f"{motion}, camera {seq.choices['camera']}",
    )
    return name


def _jobs(split_dir: Path, split: str, families: list[str], n: int, seed: int, n_frames: int,
          size: tuple[int, int]) -> list[tuple]:
    """Sequence i of a split belongs to family i mod K: every split mixes the families evenly."""
    k = len(families)
    return [(str(split_dir), split, families[i % k], i // k, i, int(seed), int(n_frames), size) for i in range(n)]


def build_demo_data(
    out: str | os.PathLike,
    n_train: int = 200,
    n_val: int = 20,
    n_frames: int = 80,
    size: tuple[int, int] = (320, 240),
    seed: int = 0,
    workers: int | None = None,
    progress: bool = True,
    worlds: list[str] | None = None,
    heldout: str | None = DEFAULT_HELDOUT,
    n_heldout: int | None = None,
    train_frames: int | None = None,
) -> dict[str, list[str]]:
    """Write the training families' train/val splits and the held-out family's val split (see the module doc).

    `train_frames` (default `n_frames`) sets the train sequences' length apart: more, shorter sequences give
    training more distinct targets for the same frames.

    Returns the sequence names per split: ``train``, ``val`` and (with a held-out family) ``heldout``.
    """
    out = Path(out)
    families = list(FAMILIES) if worlds is None else [world(w).name for w in worlds]
    if heldout is not None:
        world(heldout)
        families = [f for f in families if f != heldout]
    if not families:
        raise ValueError("no world family left to train on")
    size = (int(size[0]), int(size[1]))
    plan = {"train": (out / "got10k" / "train", "train", families, n_train),
            "val": (out / "got10k" / "val", "val", families, n_val)}
    if heldout is not None:
        plan["heldout"] = (out / "heldout" / "got10k" / "val", "val", [heldout], n_val if n_heldout is None
                           else n_heldout)
    jobs: dict[str, list[tuple]] = {}
    for key, (split_dir, split, fams, n) in plan.items():
        split_dir.mkdir(parents=True, exist_ok=True)
        frames = n_frames if key != "train" or train_frames is None else train_frames
        jobs[key] = _jobs(split_dir, split, fams, n, seed, frames, size)
    flat = [j for js in jobs.values() for j in js]
    workers = max(1, min(2, os.cpu_count() or 1)) if workers is None else max(1, int(workers))
    from tqdm import tqdm

    if workers == 1 or len(flat) <= 1:
        names = [_build_one(j) for j in tqdm(flat, desc="demo data", disable=not progress)]
    else:
        # spawn, not fork: a forked child can deadlock in OpenCV's thread pool.
        with ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn")) as ex:
            names = list(tqdm(ex.map(_build_one, flat, chunksize=2), total=len(flat), desc="demo data",
                              disable=not progress))
    result: dict[str, list[str]] = {}
    start = 0
    for key, js in jobs.items():
        result[key] = names[start:start + len(js)]
        start += len(js)
        write_got10k_list(plan[key][0], result[key])
    return result


def render_montage(path: str | os.PathLike, seed: int = 0, n_frames: int = 80, size: tuple[int, int] = (320, 240),
                   per_family: int = 1) -> Path:
    """An image (PNG or JPEG by suffix) with a row per family and sequence: first, middle and last frame, boxed."""
    from lib.utils.io import atomic_write_bytes

    rows = []
    for family in FAMILIES:
        for index in range(per_family):
            seq = render_sequence(sequence_rng(seed, "val", family, index), world(family), n_frames, size)
            tiles = []
            for f in (0, n_frames // 2, n_frames - 1):
                tile = np.ascontiguousarray(seq.frames[f])
                x, y, w, h = (int(round(v)) for v in seq.boxes[f])
                if w > 0:
                    cv2.rectangle(tile, (x, y), (x + w - 1, y + h - 1), (0, 255, 0), 2)
                label = f"{family}  frame {f + 1}" + ("" if seq.cover[f] else "  (absent)")
                for colour, thick in (((0, 0, 0), 3), ((255, 255, 255), 1)):
                    cv2.putText(tile, label, (6, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.5, colour, thick, cv2.LINE_AA)
                tiles.append(tile)
            rows.append(np.concatenate(tiles, axis=1))
    ext = Path(path).suffix.lower()
    params = [int(cv2.IMWRITE_JPEG_QUALITY), 85] if ext in (".jpg", ".jpeg") else []
    ok, buf = cv2.imencode(ext, cv2.cvtColor(np.concatenate(rows, axis=0), cv2.COLOR_RGB2BGR), params)
    if not ok:
        raise RuntimeError(f"PNG encoding failed for {path}")
    atomic_write_bytes(Path(path), buf.tobytes())
    return Path(path)
