"""COCO 2017 for training: every non-crowd object of reasonable size is a one-frame sequence."""
from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch

from lib.data.records import warn_skipped
from lib.train.dataset.base_video_dataset import BaseVideoDataset, ImageLoader, resolve_root
from lib.train.dataset.cache import AnnotationCache, cache_key
from lib.utils.image import read_image
from lib.utils.settings import Settings, env_settings

__all__ = ["MSCOCOSeq"]


def parse_coco_instances(path: os.PathLike | str, min_area: float) -> tuple[dict, dict[str, np.ndarray]]:
    """Objects of a COCO instances file as (meta: file names, categories, skipped; arrays: boxes, indices)."""
    try:
        data = json.loads(Path(path).read_bytes())
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: not valid JSON ({e})") from None
    if not isinstance(data, dict) or not all(isinstance(data.get(k), list)
                                             for k in ("images", "annotations", "categories")):
        raise ValueError(f"{path}: not a COCO instances file (needs lists 'images', 'annotations', "
                         f"'categories')")
    image_index = {img["id"]: i for i, img in enumerate(data["images"]) if "id" in img and "file_name" in img}
    file_names = [img.get("file_name", "") for img in data["images"]]
    categories = {c["id"]: c.get("name", str(c["id"])) for c in data["categories"] if "id" in c}
    category_names = sorted(set(categories.values()))
    category_index = {cid: category_names.index(name) for cid, name in categories.items()}
    boxes, images, classes, ann_ids, skipped = [], [], [], [], []
    for n, ann in enumerate(data["annotations"]):
        ann_id = ann.get("id", f"#{n}")
        if ann.get("iscrowd", 0):
            continue
        try:
            x, y, w, h = (float(v) for v in ann["bbox"])
        except (KeyError, TypeError, ValueError):
            skipped.append((f"annotation {ann_id}", f"{path}: bbox {ann.get('bbox')!r} is not [x, y, w, h]"))
            continue
        if not all(math.isfinite(v) for v in (x, y, w, h)) or w <= 0 or h <= 0:
            skipped.append((f"annotation {ann_id}", f"{path}: bbox {[x, y, w, h]} has no positive size"))
            continue
        if w * h < min_area:
            continue
        if ann.get("image_id") not in image_index or ann.get("category_id") not in category_index:
            skipped.append((f"annotation {ann_id}", f"{path}: unknown image_id {ann.get('image_id')!r} or "
                                                    f"category_id {ann.get('category_id')!r}"))
            continue
        boxes.append((x, y, w, h))
        images.append(image_index[ann["image_id"]])
        classes.append(category_index[ann["category_id"]])
        ann_ids.append(int(ann_id) if isinstance(ann_id, int) else -1)
    meta = {"file_names": file_names, "categories": category_names, "skipped": skipped}
    arrays = {"boxes": np.asarray(boxes, np.float32).reshape(-1, 4), "image": np.asarray(images, np.int64),
              "category": np.asarray(classes, np.int64), "ann_id": np.asarray(ann_ids, np.int64)}
    return meta, arrays


class MSCOCOSeq(BaseVideoDataset):
    """COCO objects as one-image sequences (is_video_sequence() is False; frame ids are all 0)."""

    def __init__(self, version: str = "2017", split: str = "train", root: str | os.PathLike | None = None,
                 settings: Settings | None = None, min_area: float = 64.0,
                 image_loader: ImageLoader = read_image, use_cache: bool = True):
        settings = settings or env_settings()
        root = resolve_root(settings, "coco_dir", "COCO", root)
        super().__init__("coco", root, image_loader, label=f"COCO{version[-2:]}")
        self.ann_file = root / "annotations" / f"instances_{split}{version}.json"
        self.image_dir = root / "images" / f"{split}{version}"
        if not self.ann_file.is_file():
            raise FileNotFoundError(f"COCO: annotation file {self.ann_file} does not exist "
                                    f"(settings key 'coco_dir' = '{root}')")
        cache = AnnotationCache(settings.cache_dir, f"COCO_{split}{version}", root, tag=str(min_area))
        key = cache_key([os.fspath(root), version, split, repr(min_area)], [self.ann_file])
        meta, arrays = self._load_objects(cache, key, lambda: parse_coco_instances(self.ann_file, min_area),
                                          use_cache, f"objects in {self.ann_file} (min_area {min_area})")
        self.categories: list[str] = meta["categories"]
        self.category = arrays["category"]

    def _load_objects(self, cache: AnnotationCache, key: str, parse: Callable[[], tuple[dict, dict]],
                      use_cache: bool, what: str) -> tuple[dict, dict[str, np.ndarray]]:
        """Parsed objects from the cache (or `parse()`, then cached): sets file names, boxes, images, skipped.

        Raises when nothing usable is left; `what` names the objects and the file in that message.
        """
        entry = cache.load(key) if use_cache else None
        self.cache_hit = entry is not None
        if entry is None:
            entry = parse()
            if use_cache:
                cache.save(key, *entry)
        meta, arrays = entry
        self.file_names: list[str] = meta["file_names"]
        self.skipped = [(str(n), str(r)) for n, r in meta["skipped"]]
        self.boxes, self.image = arrays["boxes"], arrays["image"]
        warn_skipped(self.label, self.skipped)
        if len(self.boxes) == 0:
            raise ValueError(f"{self.label}: no usable {what}")
        return meta, arrays

    def is_video_sequence(self) -> bool:
        return False

    def has_class_info(self) -> bool:
        return True

    def get_num_sequences(self) -> int:
        return len(self.boxes)

    def get_num_frames(self, seq_id: int) -> int:
        return 1

    def get_class_list(self) -> list[str]:
        return list(self.categories)

    def get_sequences_in_class(self, class_name: str) -> list[int]:
        if class_name not in self.categories:
            return []
        return np.flatnonzero(self.category == self.categories.index(class_name)).tolist()

    def get_sequence_info(self, seq_id: int) -> dict[str, torch.Tensor]:
        bbox = torch.from_numpy(np.array(self.boxes[seq_id:seq_id + 1], dtype=np.float32))
        valid = (bbox[:, 2] > 0) & (bbox[:, 3] > 0)
        return {"bbox": bbox, "valid": valid, "visible": valid.clone()}

    def get_frame_path(self, seq_id: int, frame_id: int = 0) -> str:
        return str(self.image_dir / self.file_names[int(self.image[seq_id])])

    def get_meta(self, seq_id: int) -> dict:
        return {"object_class_name": self.categories[int(self.category[seq_id])], "nlp": None}

    def get_frames(self, seq_id: int, frame_ids: Sequence[int], anno: dict | None = None
                   ) -> tuple[list[np.ndarray], dict[str, list[torch.Tensor]], dict]:
        image = self.image_loader(self.get_frame_path(seq_id))
        if anno is None:
            anno = self.get_sequence_info(seq_id)
        frames = [image.copy() for _ in frame_ids]
        anno_frames = {key: [value[0, ...].clone() for _ in frame_ids] for key, value in anno.items()}
        return frames, anno_frames, self.get_meta(seq_id)
