"""Write small synthetic datasets in each real RGB on-disk layout, for tests and the profiler (writers_rgbx:
RGB-X and referring expressions).

Frames are real photographs shipped with scikit-image: a patch of one photo (the target) moves over a
slowly panning crop of another, so boxes are meaningful. Frames are tiny (96 x 72 by default) and few.
Every writer returns {sequence name: (N, 4) xywh boxes as written} so tests can compare what a loader
reads with what was written. GOT-10k sequences go through lib/data/synthetic/got10k_format.py (the one GOT-10k
writer).
"""
from __future__ import annotations

import functools
import json
import os
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
import skimage.data

from lib.data.splits import trackingnet_classmap
from lib.data.synthetic.got10k_format import write_got10k_list, write_got10k_sequence

__all__ = [
    "PHOTOS",
    "synthetic_sequence",
    "write_coco",
    "write_custom",
    "write_frames",
    "write_got10k",
    "write_lasot",
    "write_nfs",
    "write_otb",
    "write_otb99_lang",
    "write_tnl2k",
    "write_trackingnet",
    "write_vasttrack",
    "write_uav123",
]

PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "immunohistochemistry", "hubble_deep_field")
Boxes = dict[str, np.ndarray]
PathLike = str | os.PathLike


@functools.cache
def load_photo(name: str) -> np.ndarray:
    """A scikit-image photograph as H x W x 3 uint8 RGB (cached)."""
    image = getattr(skimage.data, name)()
    return np.ascontiguousarray(image[..., :3] if image.ndim == 3 else np.stack([image] * 3, -1))


def synthetic_sequence(n_frames: int = 6, size: tuple[int, int] = (96, 72), seed: int = 0,
                       target: str = "astronaut", background: str = "coffee",
                       box_size: tuple[int, int] = (24, 18), hidden: Sequence[int] = ()
                       ) -> tuple[list[np.ndarray], np.ndarray]:
    """(frames, boxes): a patch of `target` moving over a panning crop of `background`.

    Frames are H x W x 3 uint8 RGB of `size` = (W, H); boxes are integer-valued float xywh. Frames in
    `hidden` do not show the target (their box still says where it would be).
    """
    rng = np.random.default_rng(seed)
    w, h = size
    bw, bh = box_size
    bg = cv2.resize(load_photo(background), (w + 2 * n_frames, h + n_frames), interpolation=cv2.INTER_AREA)
    photo = load_photo(target)
    ph, pw = photo.shape[:2]
    patch = cv2.resize(photo[ph // 8: ph // 2, pw // 4: 3 * pw // 4], (bw, bh), interpolation=cv2.INTER_AREA)
    start = np.array([rng.integers(0, w - bw), rng.integers(0, h - bh)], dtype=np.float64)
    velocity = rng.uniform(-4, 4, size=2)
    frames, boxes = [], []
    for i in range(n_frames):
        x, y = np.clip(np.round(start + velocity * i), 0, [w - bw, h - bh]).astype(int)
        frame = bg[i // 2: i // 2 + h, 2 * i: 2 * i + w].copy()
        if i not in hidden:
            frame[y:y + bh, x:x + bw] = patch
        frames.append(frame)
        boxes.append([x, y, bw, bh])
    return frames, np.asarray(boxes, dtype=np.float64)


def write_frames(folder: PathLike, frames: Sequence[np.ndarray], pattern: str = "{:08d}.jpg",
                 start: int = 1) -> list[Path]:
    """Write RGB frames as image files named by `pattern` (the extension picks the format)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, frame in enumerate(frames):
        path = folder / pattern.format(start + i)
        if not cv2.imwrite(str(path), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR)):
            raise OSError(f"could not write {path}")
        paths.append(path)
    return paths


def write_boxes(path: Path, boxes: np.ndarray, sep: str = ",") -> None:
    """One x,y,w,h line per box (NaN written as NaN)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(sep.join("NaN" if np.isnan(v) else f"{v:g}" for v in b) + "\n" for b in boxes))


def write_flags(path: Path, values: Sequence[int], sep: str = "\n") -> None:
    """Integer labels, one per line (or `sep` separated)."""
    path.write_text(sep.join(str(int(v)) for v in values) + "\n")


def photo_pair(i: int) -> tuple[str, str]:
    """(target, background) photographs of the i-th synthetic sequence."""
    return PHOTOS[i % 3 * 2 % len(PHOTOS)], PHOTOS[(i % 3 * 2 + 1) % len(PHOTOS)]


def write_got10k(root: PathLike, split: str = "train", n_sequences: int = 3, n_frames: int = 6,
                 seed: int = 0, numbers: Sequence[int] | None = None, list_size: int | None = None) -> Boxes:
    """GOT-10k `root/<split>/`: list.txt and GOT-10k_<Split>_00000k folders (test: first line only).

    In train/val sequences frame 2 is marked absent (absence 1, cover 0) and frame 3 half covered.
    `numbers` picks the sequence numbers k written (default 1..n_sequences); with `list_size`, list.txt
    names GOT-10k_<Split>_000001 .. list_size (a full root of which only some folders exist).
    """
    split_dir = Path(root) / split
    out: Boxes = {}
    prefix = f"GOT-10k_{split.capitalize()}_"
    for k, number in enumerate(numbers if numbers is not None else range(1, n_sequences + 1)):
        name = f"{prefix}{number:06d}"
        target, background = photo_pair(k)
        hidden = (2,) if n_frames > 2 else ()
        frames, boxes = synthetic_sequence(n_frames, seed=seed + k, target=target, background=background,
                                           hidden=hidden)
        absent = np.isin(np.arange(n_frames), hidden)
        cover = np.where(absent, 0, 8)
        if n_frames > 3:
            cover[3] = 4
        write_got10k_sequence(split_dir, name, frames, boxes, absent=absent, cover=cover,
                              object_class=target, first_frame_only=split == "test")
        out[name] = boxes[:1] if split == "test" else boxes
    write_got10k_list(split_dir, list(out) if list_size is None else
                      [f"{prefix}{i:06d}" for i in range(1, list_size + 1)])
    return out


def write_lasot(root: PathLike, classes: Sequence[str] = ("cat", "rocket"), per_class: int = 2,
                n_frames: int = 6, testing: Sequence[str] = (), seed: int = 0,
                names: Sequence[str] | None = None) -> Boxes:
    """LaSOT `root/<class>/<class>-<k>/` with img/, groundtruth.txt, full_occlusion.txt, out_of_view.txt,
    nlp.txt, for `per_class` sequences of each class or exactly `names` (e.g. 'airplane-10'); `testing` names
    go to root/testing_set.txt. Frame 1 is fully occluded, the last out of view.
    """
    root = Path(root)
    out: Boxes = {}
    if names is None:
        names = [f"{cls}-{k}" for cls in classes for k in range(1, per_class + 1)]
    classes = list(dict.fromkeys(n.rsplit("-", 1)[0] for n in names))
    for name in names:
        cls = name.rsplit("-", 1)[0]
        c, k = classes.index(cls), int(name.rsplit("-", 1)[1])
        seq = root / cls / name
        frames, boxes = synthetic_sequence(n_frames, seed=seed + 10 * c + k, target=photo_pair(c)[0],
                                           background=photo_pair(c)[1], hidden=(1, n_frames - 1))
        write_frames(seq / "img", frames)
        write_boxes(seq / "groundtruth.txt", boxes)
        occlusion = np.zeros(n_frames, int)
        occlusion[1] = 1
        out_of_view = np.zeros(n_frames, int)
        out_of_view[-1] = 1
        write_flags(seq / "full_occlusion.txt", occlusion, ",")
        write_flags(seq / "out_of_view.txt", out_of_view, ",")
        (seq / "nlp.txt").write_text(f"the {cls} moving across the picture\n")
        out[name] = boxes
    if testing:
        (root / "testing_set.txt").write_text("".join(f"{n}\n" for n in testing))
    return out


def write_trackingnet(root: PathLike, set_name: str = "TRAIN_0", n_videos: int = 2, n_frames: int = 6,
                      seed: int = 0, names: Sequence[str] | None = None) -> Boxes:
    """TrackingNet `root/<set>/anno/<video>.txt` and `frames/<video>/<n>.jpg` from 0 (TEST: first line);
    videos named `names` (default: TRAIN_<i> takes training videos of the class map, 100 * i onwards, as only
    those may be trained on; TEST takes test_video<k>_0)."""
    set_dir = Path(root) / set_name
    out: Boxes = {}
    if names is None and set_name.startswith("TRAIN_"):
        start = 100 * int(set_name.split("_")[1])
        names = list(trackingnet_classmap())[start:start + n_videos]
    for k, video in enumerate(names or [f"{set_name.lower()}_video{k}_0" for k in range(n_videos)]):
        frames, boxes = synthetic_sequence(n_frames, seed=seed + k, target=photo_pair(k)[0],
                                           background=photo_pair(k)[1])
        write_frames(set_dir / "frames" / video, frames, "{:d}.jpg", start=0)
        rows = boxes[:1] if set_name == "TEST" else boxes
        write_boxes(set_dir / "anno" / f"{video}.txt", rows)
        out[video] = rows
    return out


def write_vasttrack(root: PathLike, names: Sequence[str] = ("Colorimeter-1", "Crossbody Backpack-2"),
                    n_frames: int = 6, seed: int = 0, nlp: bool = True) -> Boxes:
    """VastTrack `root/<class>/<class>-<n>/imgs/00001.jpg`, Groundtruth.txt (x,y,w,h) and, with `nlp`, nlp.txt
    in the first sequence only (the file is optional)."""
    out: Boxes = {}
    for k, name in enumerate(names):
        seq = Path(root) / name.rsplit("-", 1)[0] / name
        frames, boxes = synthetic_sequence(n_frames, seed=seed + k, target=photo_pair(k)[0],
                                           background=photo_pair(k)[1])
        write_frames(seq / "imgs", frames, "{:05d}.jpg")
        write_boxes(seq / "Groundtruth.txt", boxes)
        if nlp and k == 0:
            (seq / "nlp.txt").write_text(f"the {photo_pair(k)[0]} patch in {name}\n")
        out[name] = boxes
    return out


def write_coco(root: PathLike, n_images: int = 3, size: tuple[int, int] = (96, 72), seed: int = 0
               ) -> list[dict]:
    """COCO 2017 `root/annotations/instances_train2017.json` and `root/images/train2017/*.jpg`.

    Each image has two usable objects (person = astronaut patch, cat = chelsea patch) plus one crowd
    object, one tiny object (area 4) and one zero-width box that a loader must leave out. Returns the
    usable objects as {'file_name', 'bbox', 'category'} in annotation order.
    """
    root = Path(root)
    rng = np.random.default_rng(seed)
    w, h = size
    categories = [{"id": 1, "name": "person", "supercategory": "person"},
                  {"id": 17, "name": "cat", "supercategory": "animal"}]
    images, annotations, usable = [], [], []
    ann_id = 1
    for i in range(n_images):
        file_name = f"{i + 1:012d}.jpg"
        image = cv2.resize(load_photo(PHOTOS[(i + 1) % len(PHOTOS)]), (w, h), interpolation=cv2.INTER_AREA)
        objects = []
        for category, photo, (bw, bh) in ((1, "astronaut", (20, 24)), (17, "chelsea", (26, 16))):
            x, y = int(rng.integers(0, w - bw)), int(rng.integers(0, h - bh))
            image[y:y + bh, x:x + bw] = cv2.resize(load_photo(photo), (bw, bh), interpolation=cv2.INTER_AREA)
            objects.append((category, [float(x), float(y), float(bw), float(bh)], 0))
        objects += [(1, [0.0, 0.0, 40.0, 30.0], 1), (17, [5.0, 5.0, 2.0, 2.0], 0), (1, [10.0, 10.0, 0.0, 8.0], 0)]
        write_frames(root / "images" / "train2017", [image], file_name, start=0)
        images.append({"id": i + 1, "file_name": file_name, "width": w, "height": h})
        for category, bbox, crowd in objects:
            annotations.append({"id": ann_id, "image_id": i + 1, "category_id": category, "bbox": bbox,
                                "area": bbox[2] * bbox[3], "iscrowd": crowd})
            ann_id += 1
            if not crowd and bbox[2] * bbox[3] >= 64:
                usable.append({"file_name": file_name, "bbox": bbox,
                               "category": "person" if category == 1 else "cat"})
    path = root / "annotations" / "instances_train2017.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"images": images, "annotations": annotations, "categories": categories}))
    return usable


def write_tnl2k(root: PathLike, names: Sequence[str] = ("advSamp_Baseball_1", "Bullet_video_2"),
                n_frames: int = 6, seed: int = 0) -> Boxes:
    """TNL2K `root/<seq>/imgs/00001.png`, groundtruth.txt and language.txt."""
    out: Boxes = {}
    for k, name in enumerate(names):
        seq = Path(root) / name
        frames, boxes = synthetic_sequence(n_frames, seed=seed + k, target=photo_pair(k)[0])
        write_frames(seq / "imgs", frames, "{:05d}.png")
        write_boxes(seq / "groundtruth.txt", boxes)
        (seq / "language.txt").write_text(f"track the {photo_pair(k)[0]} patch in {name}\n")
        out[name] = boxes
    return out


def _write_otb_video(seq: Path, n_frames: int, seed: int, k: int, targets: int = 1, sep: str = ",") -> Boxes:
    frames, boxes = synthetic_sequence(n_frames, seed=seed, target=photo_pair(k)[0],
                                       background=photo_pair(k)[1])
    write_frames(seq / "img", frames, "{:04d}.jpg")
    if targets == 1:
        write_boxes(seq / "groundtruth_rect.txt", boxes, sep)
        return {seq.name: boxes}
    out = {}
    for t in range(1, targets + 1):
        shifted = boxes + [t - 1, 0, 0, 0]
        write_boxes(seq / f"groundtruth_rect.{t}.txt", shifted, sep)
        out[f"{seq.name}_{t}"] = shifted
    return out


def write_otb(root: PathLike, names: Sequence[str] = ("Basketball", "Biker"), n_frames: int = 6,
              multi_target: str | None = "Jogging", seed: int = 0) -> Boxes:
    """OTB `root/<seq>/img/0001.jpg` + groundtruth_rect.txt (the second sequence tab separated, as some
    real ones are); `multi_target` gets groundtruth_rect.1.txt and .2.txt (loaded as <seq>_1, <seq>_2).
    """
    out: Boxes = {}
    for k, name in enumerate(names):
        out.update(_write_otb_video(Path(root) / name, n_frames, seed + k, k, sep="\t" if k % 2 else ","))
    if multi_target:
        out.update(_write_otb_video(Path(root) / multi_target, n_frames, seed + 99, 0, targets=2))
    return out


def write_otb99_lang(root: PathLike, names: Sequence[str] = ("Biker", "Bird1"), split: str = "test",
                     n_frames: int = 6, seed: int = 0) -> Boxes:
    """OTB99-lang `root/OTB_videos/<seq>/img` + groundtruth_rect.txt, `root/OTB_query_<split>/<seq>.txt`."""
    out: Boxes = {}
    for k, name in enumerate(names):
        out.update(_write_otb_video(Path(root) / "OTB_videos" / name, n_frames, seed + k, k))
        query = Path(root) / f"OTB_query_{split}" / f"{name}.txt"
        query.parent.mkdir(parents=True, exist_ok=True)
        query.write_text(f"the {photo_pair(k)[0]} patch moving in {name}\n")
    return out


def write_uav123(root: PathLike, names: Sequence[str] = ("bike1", "boat3"), n_frames: int = 6,
                 seed: int = 0) -> Boxes:
    """UAV123 `root/data_seq/UAV123/<seq>/000001.jpg` and `root/anno/UAV123/<seq>.txt`; the last frame's
    line is NaN (target absent), as in the real files."""
    out: Boxes = {}
    for k, name in enumerate(names):
        frames, boxes = synthetic_sequence(n_frames, seed=seed + k, target=photo_pair(k)[0],
                                           hidden=(n_frames - 1,))
        boxes[-1] = np.nan
        write_frames(Path(root) / "data_seq" / "UAV123" / name, frames, "{:06d}.jpg")
        write_boxes(Path(root) / "anno" / "UAV123" / f"{name}.txt", boxes)
        out[name] = boxes
    return out


def write_nfs(root: PathLike, names: Sequence[str] = ("Gymnastics", "bee"), n_frames: int = 6,
              oversample: int = 8, seed: int = 0) -> Boxes:
    """NFS `root/<seq>/30/<seq>/00001.jpg` and `root/<seq>/30/<seq>.txt` in NFS's own format:
    'track_id xmin ymin xmax ymax frame lost occluded generated "label"', one line per 240 fps frame
    (`oversample` lines per 30 fps frame, as the real 30 fps folders ship). Frame 1 is marked lost.
    Returns boxes under pytracking's names nfs_<seq>.
    """
    out: Boxes = {}
    for k, name in enumerate(names):
        base = Path(root) / name / "30"
        frames, boxes = synthetic_sequence(n_frames, seed=seed + k, target=photo_pair(k)[0], hidden=(1,))
        write_frames(base / name, frames, "{:05d}.jpg")
        lines = []
        for i, (x, y, w, h) in enumerate(boxes):
            for j in range(oversample):
                lost = int(i == 1)
                lines.append(f'1 {x:g} {y:g} {x + w:g} {y + h:g} {i * oversample + j} {lost} 0 {int(j > 0)} '
                             f'"{photo_pair(k)[0]}"')
        (base / f"{name}.txt").write_text("\n".join(lines) + "\n")
        out[f"nfs_{name}"] = boxes
    return out


def write_custom(root: PathLike, names: Sequence[str] = ("walk", "ride"), n_frames: int = 6,
                 seed: int = 0) -> Boxes:
    """A plain folder dataset: the first sequence keeps frames in img/, the second directly in its folder
    (PNG); the first also has nlp.txt and absence.label (frame 2 absent)."""
    out: Boxes = {}
    for k, name in enumerate(names):
        seq = Path(root) / name
        hidden = (2,) if k == 0 else ()
        frames, boxes = synthetic_sequence(n_frames, seed=seed + k, target=photo_pair(k)[0], hidden=hidden)
        if k == 0:
            write_frames(seq / "img", frames, "{:06d}.jpg")
            (seq / "nlp.txt").write_text(f"the {photo_pair(k)[0]} patch\n")
            write_flags(seq / "absence.label", np.isin(np.arange(n_frames), hidden).astype(int))
        else:
            write_frames(seq, frames, "frame_{:d}.png")
        write_boxes(seq / "groundtruth.txt", boxes)
        out[name] = boxes
    return out
