"""Vision-language training datasets: TNL2K and OTB99-lang (videos with a sentence), RefCOCOg (referring
expressions on COCO images).

Each sentence reaches the sampler as get_frames' meta['nlp']; it is tokenised only when
DATA.MULTI_MODAL_LANGUAGE and DATA.USE_NLP.<TNL2K|OTB99|REFCOCOG> are on.

RefCOCOg, in the layout SUTrack reads (settings key refcocog_dir):

    <root>/images/train2014/COCO_train2014_<image_id:012d>.jpg
    <root>/annotations/refcocog/instances.json   {"train": [{"image_id": int, "bbox": [x, y, w, h],
                                                             "category_id": int, "expressions": [str, ...],
                                                             "file_name": str (optional)}, ...], "val": [...]}

Every (object, expression) pair is one single-image sequence, so each sentence is used and a sample
depends only on its index. Objects smaller than `min_area` pixels (default 64, as COCO17) are left out.
"""
from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np

from lib.data.catalog import resolve_train
from lib.data.layouts import Tnl2kLayout, split_folder
from lib.train.dataset.base_video_dataset import AnnotatedVideoDataset, BaseVideoDataset, resolve_root
from lib.train.dataset.cache import AnnotationCache, cache_key
from lib.train.dataset.coco import MSCOCOSeq
from lib.utils.settings import Settings, env_settings

__all__ = ["Otb99Lang", "RefCOCOSeq", "Tnl2k", "parse_refcoco"]


class Tnl2k(AnnotatedVideoDataset):
    """TNL2K training videos (<seq>/imgs, groundtruth.txt, language.txt) under tnl2k_dir[/train]."""

    def __init__(self, root: str | os.PathLike | None = None, settings: Settings | None = None,
                 use_cache: bool = True):
        settings = settings or env_settings()
        root = resolve_root(settings, "tnl2k_dir", "TNL2K", root)
        layout = Tnl2kLayout(split_folder(root, "train", "TNL2K_train_subset"))
        super().__init__("tnl2k", "TNL2K_train", layout, layout.sequence_names(), settings, use_cache=use_cache)


class Otb99Lang(AnnotatedVideoDataset):
    """OTB99-lang training videos (otb99_train_split.txt) with their OTB_query_train sentences."""

    def __init__(self, split: str = "train", root: str | os.PathLike | None = None, settings: Settings | None = None,
                 use_cache: bool = True):
        if split != "train":
            raise ValueError(f"OTB99-lang: training uses split 'train' only, got '{split}' (otb99_lang evaluates test)")
        settings = settings or env_settings()
        resolved = resolve_train("OTB99_train", resolve_root(settings, "otb99_lang_dir", "OTB99-lang", root))
        super().__init__("otb99", "OTB99_train", resolved.layout, resolved.names, settings, use_cache=use_cache)


def parse_refcoco(path: os.PathLike | str, split: str, min_area: float) -> tuple[dict, dict[str, np.ndarray]]:
    """(meta: file names, sentences, skipped; arrays: boxes, image index) of one split of a refs file."""
    try:
        data = json.loads(Path(path).read_bytes())
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: not valid JSON ({e})") from None
    if not isinstance(data, dict) or not isinstance(data.get(split), list):
        keys = sorted(data) if isinstance(data, dict) else type(data).__name__
        raise ValueError(f"{path}: expected a mapping with a list '{split}' of referred objects, got {keys}")
    file_names: list[str] = []
    image_index: dict[str, int] = {}
    sentences, boxes, images, skipped = [], [], [], []
    for n, entry in enumerate(data[split]):
        where = f"{split}[{n}]"
        try:
            x, y, w, h = (float(v) for v in entry["bbox"])
            file_name = entry.get("file_name") or f"COCO_train2014_{int(entry['image_id']):012d}.jpg"
            expressions = [str(s).strip() for s in entry["expressions"] if str(s).strip()]
        except (KeyError, TypeError, ValueError):
            skipped.append((where, f"{path}: entry needs image_id, bbox [x, y, w, h] and expressions"))
            continue
        if not all(math.isfinite(v) for v in (x, y, w, h)) or w <= 0 or h <= 0:
            skipped.append((where, f"{path}: bbox {[x, y, w, h]} has no positive size"))
            continue
        if w * h < min_area or not expressions:
            continue
        index = image_index.setdefault(file_name, len(file_names))
        if index == len(file_names):
            file_names.append(file_name)
        for sentence in expressions:
            sentences.append(sentence)
            boxes.append((x, y, w, h))
            images.append(index)
    meta = {"file_names": file_names, "sentences": sentences, "skipped": skipped}
    arrays = {"boxes": np.asarray(boxes, np.float32).reshape(-1, 4), "image": np.asarray(images, np.int64)}
    return meta, arrays


class RefCOCOSeq(MSCOCOSeq):
    """RefCOCOg referring expressions: one single-image sequence per (object, expression), sentence as nlp."""

    def __init__(self, split: str = "train", refcoco_type: str = "refcocog", root: str | os.PathLike | None = None,
                 settings: Settings | None = None, min_area: float = 64.0, use_cache: bool = True):
        settings = settings or env_settings()
        root = resolve_root(settings, "refcocog_dir", "RefCOCOg", root)
        BaseVideoDataset.__init__(self, "refcocog", root, label="REFCOCOG" if split == "train" else f"REFCOCOG_{split}")
        self.ann_file = root / "annotations" / refcoco_type / "instances.json"
        self.image_dir = root / "images" / "train2014"
        if not self.ann_file.is_file():
            raise FileNotFoundError(f"RefCOCOg: annotation file {self.ann_file} does not exist "
                                    f"(settings key 'refcocog_dir' = '{root}')")
        cache = AnnotationCache(settings.cache_dir, self.label, root, tag=f"{refcoco_type}|{min_area}")
        key = cache_key([os.fspath(root), refcoco_type, split, repr(min_area)], [self.ann_file])
        meta, _ = self._load_objects(cache, key, lambda: parse_refcoco(self.ann_file, split, min_area), use_cache,
                                     f"referred objects in {self.ann_file} (min_area {min_area})")
        self.sentences: list[str] = meta["sentences"]
        self.categories = []
        self.category = np.full(len(self.boxes), -1, np.int64)

    def has_class_info(self) -> bool:
        return False

    def has_language(self) -> bool:
        return True

    def get_meta(self, seq_id: int) -> dict:
        return {"object_class_name": None, "nlp": self.sentences[seq_id]}
