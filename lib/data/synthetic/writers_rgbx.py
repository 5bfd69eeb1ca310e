"""Small synthetic RGB-X datasets (DepthTrack / VOT-RGBD, LasHeR, RGBT234, VisEvent) and RefCOCOg, in their
real on-disk layouts, for tests. X frames are derived from `synthetic_sequence` frames (see synthetic_aux).
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from lib.data.synthetic.writers import (
    PHOTOS,
    Boxes,
    PathLike,
    load_photo,
    photo_pair,
    synthetic_sequence,
    write_boxes,
    write_flags,
    write_frames,
)

__all__ = ["RGBT234_IR_SHIFT", "synthetic_aux", "write_depthtrack", "write_lasher", "write_refcocog",
           "write_rgbt234", "write_visevent"]

RGBT234_IR_SHIFT = np.array([2.0, 0.0, 0.0, 0.0])  # write_rgbt234's infrared boxes = visible boxes + this


def synthetic_aux(frames: Sequence[np.ndarray], boxes: np.ndarray, modality: str,
                  hidden: Sequence[int] = ()) -> list[np.ndarray]:
    """X frames matching `synthetic_sequence`: 'depth' H x W uint16 (mm; the target nearer than the sloping
    background), 'thermal' H x W x 3 (dim scene, warm target), 'event' H x W x 3 (white, frame changes in
    red/blue as event cameras render them)."""
    out = []
    for i, frame in enumerate(frames):
        h, w = frame.shape[:2]
        x, y, bw, bh = (int(v) for v in np.nan_to_num(boxes[i]))
        shown = i not in hidden and bw > 0 and bh > 0
        if modality == "depth":
            aux = np.tile(np.linspace(6000, 3000, h, dtype=np.float64)[:, None], (1, w)).astype(np.uint16)
            if shown:
                aux[y:y + bh, x:x + bw] = 1200
        elif modality == "thermal":
            aux = np.repeat(frame.mean(axis=2, keepdims=True) * 0.4, 3, axis=2).astype(np.uint8)
            if shown:
                aux[y:y + bh, x:x + bw] = 230
        elif modality == "event":
            previous = frames[i - 1] if i else frame
            diff = frame.astype(np.int16).mean(axis=2) - previous.astype(np.int16).mean(axis=2)
            aux = np.full((h, w, 3), 255, np.uint8)
            aux[diff > 12] = (255, 0, 0)
            aux[diff < -12] = (0, 0, 255)
        else:
            raise ValueError(f"unknown modality '{modality}'")
        out.append(aux)
    return out


def _write_aux(folder: Path, aux: Sequence[np.ndarray], pattern: str, start: int = 1) -> None:
    """X frames: 16-bit depth maps as they are (PNG), RGB ones through write_frames."""
    if aux and aux[0].ndim == 2:
        folder.mkdir(parents=True, exist_ok=True)
        for i, frame in enumerate(aux):
            path = folder / pattern.format(start + i)
            if not cv2.imwrite(str(path), frame):
                raise OSError(f"could not write {path}")
    else:
        write_frames(folder, aux, pattern, start)


def _rgbx_sequence(k: int, n_frames: int, seed: int, modality: str, hidden: Sequence[int] = ()
                   ) -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray]:
    target, background = photo_pair(k)
    frames, boxes = synthetic_sequence(n_frames, seed=seed + k, target=target, background=background, hidden=hidden)
    return frames, synthetic_aux(frames, boxes, modality, hidden), boxes


def write_depthtrack(root: PathLike, names: Sequence[str] = ("adapter01_indoor", "bag01_indoor"),
                     n_frames: int = 6, seed: int = 0, list_file: bool = False) -> Boxes:
    """DepthTrack (and VOT-RGBD) `root/<seq>/color/00000001.jpg`, `depth/00000001.png` (16 bit), groundtruth.txt.

    The target is absent in the last frame: its line is 'nan,nan,nan,nan' (VOT's absent marker), as returned.
    `list_file` also writes root/list.txt (a VOT workspace's sequences folder).
    """
    out: Boxes = {}
    for k, name in enumerate(names):
        seq = Path(root) / name
        frames, aux, boxes = _rgbx_sequence(k, n_frames, seed, "depth", hidden=(n_frames - 1,))
        boxes[-1] = np.nan
        write_frames(seq / "color", frames)
        _write_aux(seq / "depth", aux, "{:08d}.png")
        write_boxes(seq / "groundtruth.txt", boxes)
        out[name] = boxes
    if list_file:
        (Path(root) / "list.txt").write_text("".join(f"{n}\n" for n in names))
    return out


def write_lasher(root: PathLike, names: Sequence[str] = ("1boygo", "2girlwalk"), n_frames: int = 6,
                 seed: int = 0) -> Boxes:
    """LasHeR `root/<seq>/visible/v000000.jpg`, `infrared/i000000.jpg` (frames from 0), visible.txt and
    infrared.txt (identical; frame 2 absent: 0,0,0,0)."""
    out: Boxes = {}
    for k, name in enumerate(names):
        seq = Path(root) / name
        frames, aux, boxes = _rgbx_sequence(k, n_frames, seed, "thermal", hidden=(2,))
        boxes[2] = 0.0
        write_frames(seq / "visible", frames, "v{:06d}.jpg", start=0)
        _write_aux(seq / "infrared", aux, "i{:06d}.jpg", start=0)
        write_boxes(seq / "visible.txt", boxes)
        write_boxes(seq / "infrared.txt", boxes)
        out[name] = boxes
    return out


def write_rgbt234(root: PathLike, names: Sequence[str] = ("afterrain", "baby"), n_frames: int = 6,
                  seed: int = 0) -> Boxes:
    """RGBT234 `root/<seq>/visible/00001v.jpg`, `infrared/00001i.jpg`, visible.txt, infrared.txt (the visible
    boxes + RGBT234_IR_SHIFT) and init.txt; returns the visible boxes."""
    out: Boxes = {}
    for k, name in enumerate(names):
        seq = Path(root) / name
        frames, aux, boxes = _rgbx_sequence(k, n_frames, seed, "thermal")
        write_frames(seq / "visible", frames, "{:05d}v.jpg")
        _write_aux(seq / "infrared", aux, "{:05d}i.jpg")
        write_boxes(seq / "visible.txt", boxes)
        write_boxes(seq / "infrared.txt", boxes + RGBT234_IR_SHIFT)
        write_boxes(seq / "init.txt", boxes)
        out[name] = boxes
    return out


def write_visevent(root: PathLike, split: str = "train", names: Sequence[str] = ("00141_tank_outdoor2", "dvSave-1"),
                   n_frames: int = 6, seed: int = 0) -> Boxes:
    """VisEvent `root/<split>list.txt`, `root/<seq>/vis_imgs/00001.bmp`, `event_imgs/00001.bmp`, groundtruth.txt
    and absent_label.txt (1 = present). The second sequence starts with the target absent (frame 0:
    label 0, box 0,0,0,0), as some real ones do."""
    out: Boxes = {}
    for k, name in enumerate(names):
        seq = Path(root) / name
        hidden = (0,) if k == 1 else ()
        frames, aux, boxes = _rgbx_sequence(k, n_frames, seed, "event", hidden=hidden)
        boxes[list(hidden)] = 0.0
        write_frames(seq / "vis_imgs", frames, "{:05d}.bmp")
        _write_aux(seq / "event_imgs", aux, "{:05d}.bmp")
        write_boxes(seq / "groundtruth.txt", boxes)
        write_flags(seq / "absent_label.txt", [0 if i in hidden else 1 for i in range(n_frames)])
        out[name] = boxes
    (Path(root) / f"{split}list.txt").write_text("".join(f"{n}\n" for n in names))
    return out


def write_refcocog(root: PathLike, n_images: int = 2, size: tuple[int, int] = (96, 72), split: str = "train",
                   seed: int = 0) -> list[dict]:
    """RefCOCOg as SUTrack reads it: `root/images/train2014/COCO_train2014_<image_id:012d>.jpg` and
    `root/annotations/refcocog/instances.json` = {split: [{image_id, bbox, category_id, expressions}]}.

    Each image has one referred object (an astronaut patch) with two expressions, and a second entry
    whose box is too small to use. Returns one {'file_name', 'bbox', 'sentence'} per usable expression.
    """
    root = Path(root)
    rng = np.random.default_rng(seed)
    w, h = size
    entries, usable = [], []
    for i in range(n_images):
        image_id = 1000 + i
        file_name = f"COCO_train2014_{image_id:012d}.jpg"
        image = cv2.resize(load_photo(PHOTOS[(i + 1) % len(PHOTOS)]), (w, h), interpolation=cv2.INTER_AREA)
        bw, bh = 22, 26
        x, y = int(rng.integers(0, w - bw)), int(rng.integers(0, h - bh))
        image[y:y + bh, x:x + bw] = cv2.resize(load_photo("astronaut"), (bw, bh), interpolation=cv2.INTER_AREA)
        write_frames(root / "images" / "train2014", [image], file_name, start=0)
        bbox = [float(x), float(y), float(bw), float(bh)]
        sentences = [f"the astronaut in picture {i}", f"a person in a white suit, image {i}"]
        entries.append({"image_id": image_id, "bbox": bbox, "category_id": 1, "expressions": sentences})
        entries.append({"image_id": image_id, "bbox": [1.0, 1.0, 2.0, 2.0], "category_id": 1,
                        "expressions": ["a speck"]})
        usable += [{"file_name": file_name, "bbox": bbox, "sentence": s} for s in sentences]
    path = root / "annotations" / "refcocog" / "instances.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({split: entries}))
    return usable
