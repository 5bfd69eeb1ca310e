"""SUTrack's training processing: jittered crops, boxes in crop coordinates, augmentation, targets.

For each frame: jitter the annotated box (size *= exp(N(0,1) * SCALE_JITTER) per side; centre +=
(U[0,1) - 0.5) * sqrt(w' h') * CENTER_JITTER), crop around the jittered box with lib.utils.crop
(side ceil(sqrt(w' h') * FACTOR), zero padding), and express the *true* box in the crop through the
crop's CropInfo, normalised by the crop size. A degenerate jittered box, or a search box whose centre
falls outside the crop, raises SampleError: the sampler draws another sample.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from yacs.config import CfgNode

from lib.utils.crop import CropInfo, sample_target
from lib.utils.grid import feature_grid

from .augment import CropAugment
from .heatmap import gaussian_target
from .transforms import (
    BRIGHTNESS_JITTER,
    FLIP_PROB,
    GRAYSCALE_PROB,
    brightness_factor,
    joint_transform,
    match_channels,
    to_tensor,
)


class SampleError(ValueError):
    """This sample cannot be used (degenerate box, target outside the crop): draw another one."""


@dataclass(frozen=True)
class CropSpec:
    """Crop geometry and jitter of one frame kind (template or search)."""

    size: int
    factor: float
    center_jitter: float
    scale_jitter: float

    @classmethod
    def from_cfg(cls, node: CfgNode) -> CropSpec:
        return cls(int(node.SIZE), float(node.FACTOR), float(node.CENTER_JITTER), float(node.SCALE_JITTER))


def jitter_box(box_xywh: np.ndarray, spec: CropSpec, rng: np.random.Generator) -> np.ndarray:
    """pytracking's jitter: scale each side by exp(N(0,1) * s), move the centre by up to sqrt(w'h') * c / 2."""
    box = np.asarray(box_xywh, dtype=np.float64)
    size = box[2:4] * np.exp(rng.standard_normal(2) * spec.scale_jitter)
    max_offset = math.sqrt(max(size[0] * size[1], 0.0)) * spec.center_jitter
    centre = box[0:2] + 0.5 * box[2:4] + max_offset * (rng.random(2) - 0.5)
    return np.concatenate([centre - 0.5 * size, size])


def check_jittered(box: np.ndarray, spec: CropSpec) -> None:
    """Raise SampleError for a box the crop cannot be built around (pytracking: crop side < 1)."""
    w, h = box[2], box[3]
    if not (np.all(np.isfinite(box)) and w > 0 and h > 0):
        raise SampleError(f"degenerate jittered box {np.round(box, 2).tolist()}")
    if math.ceil(math.sqrt(w * h) * spec.factor) < 1:
        raise SampleError(f"jittered box {np.round(box, 2).tolist()} gives a crop smaller than 1 px")


class SUTrackProcessing:
    """Raw sample (frames and image-coordinate boxes) -> network inputs and training targets."""

    def __init__(self, cfg: CfgNode):
        self.template = CropSpec.from_cfg(cfg.DATA.TEMPLATE)
        self.search = CropSpec.from_cfg(cfg.DATA.SEARCH)
        self.mean = torch.tensor(cfg.DATA.MEAN, dtype=torch.float32)
        self.std = torch.tensor(cfg.DATA.STD, dtype=torch.float32)
        self.multi_modal_vision = bool(cfg.DATA.MULTI_MODAL_VISION)
        self.multi_modal_language = bool(cfg.DATA.MULTI_MODAL_LANGUAGE)
        self.context_length = int(cfg.MODEL.TEXT_ENCODER.CONTEXT_LENGTH)
        self.grid = feature_grid(self.search.size, cfg.MODEL.ENCODER.STRIDE)
        self.gray_prob, self.flip_prob, self.brightness = GRAYSCALE_PROB, FLIP_PROB, BRIGHTNESS_JITTER
        self.augment = CropAugment.from_cfg(cfg.DATA.AUG)

    def crop(self, frame: np.ndarray, box: np.ndarray, spec: CropSpec, rng: np.random.Generator
             ) -> tuple[np.ndarray, np.ndarray, CropInfo]:
        """Jittered crop of `frame`, the true box in it (normalised xywh) and the crop's CropInfo."""
        jittered = jitter_box(box, spec, rng)
        check_jittered(jittered, spec)
        image, info = sample_target(frame, jittered, spec.factor, spec.size)
        return image, info.box_to_crop(box, normalize=True), info

    def __call__(self, sample: dict, rng: np.random.Generator) -> dict:
        """sample: template_frames/template_boxes, search_frames/search_boxes (lists), dataset, nlp, task_index."""
        t_crops = [self.crop(f, b, self.template, rng) for f, b in
                   zip(sample["template_frames"], sample["template_boxes"])]
        s_crops = [self.crop(f, b, self.search, rng) for f, b in zip(sample["search_frames"], sample["search_boxes"])]
        n_t = len(t_crops)
        images, boxes = joint_transform([c[0] for c in t_crops + s_crops], [c[1] for c in t_crops + s_crops], rng,
                                        self.gray_prob, self.flip_prob)
        if self.augment.active:
            images = self.augment(images, boxes, n_t, rng)
        images = [match_channels(im, self.multi_modal_vision) for im in images]
        for box in boxes[n_t:]:
            cx, cy = box[0] + box[2] / 2, box[1] + box[3] / 2
            if not (0.0 <= cx < 1.0 and 0.0 <= cy < 1.0):
                raise SampleError(f"target centre ({cx:.2f}, {cy:.2f}) falls outside the search crop")
        t_bright, s_bright = brightness_factor(rng, self.brightness), brightness_factor(rng, self.brightness)
        out = {
            "template_images": torch.stack([to_tensor(im, self.mean, self.std, t_bright) for im in images[:n_t]]),
            "template_anno": torch.from_numpy(np.stack(boxes[:n_t])).float(),
            "search_images": torch.stack([to_tensor(im, self.mean, self.std, s_bright) for im in images[n_t:]]),
            "search_anno": torch.from_numpy(np.stack(boxes[n_t:])).float(),
            "search_heatmap": torch.from_numpy(np.stack([gaussian_target(b, self.grid) for b in boxes[n_t:]])),
            "task_index": int(sample["task_index"]),
            "dataset": str(sample["dataset"]),
        }
        if self.multi_modal_language:
            from lib.models.sutrack_dinov3.clip import tokenize

            nlp = sample.get("nlp") if sample.get("use_nlp") else None
            out["nlp_ids"] = tokenize([nlp], self.context_length)[0]
        return out
