"""Augmentations that make training generalise past its data: colour, blur, sensor degradation, occluders.

SUTrack trains with grayscale, flip and brightness jitter only (transforms.py); on small or synthetic training
sets a tracker then learns the data's incidental cues (one family's colours, its clean edges). These switches
(config ``DATA.AUG.*``, all off by default) act on the crops of one sample after the joint flip/grayscale:

- COLOR_JITTER s: contrast and saturation scaled by U(1 - s, 1 + s), drawn per crop group (templates, search);
  a hue rotation of U(-s, s) / 2 turns shared by every crop of the sample (the target keeps its colour relative
  to everything else, but no absolute colour means "target"), plus a small per-group hue wobble of s / 20 turns.
- BLUR_PROB p: the search crop is blurred (Gaussian, sigma 0.5-1.5 px, or a linear motion blur of 3-9 px).
- DEGRADE_PROB p: the search crop gets Gaussian noise (sigma 2-10) and/or JPEG compression (quality 20-60).
- OCCLUDE_PROB p: a patch (another region of the same crop, or a flat colour) is pasted over part of the target
  in the search crop, covering at most OCCLUDE_MAX of its box, so the target stays the right answer.

Only the RGB channels (the first three) are re-coloured; blur, noise and occluders act on every channel.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from yacs.config import CfgNode

from lib.utils.image import motion_blur_kernel


@dataclass(frozen=True)
class CropAugment:
    """The DATA.AUG switches; `__call__` applies them to one sample's crops."""

    color_jitter: float = 0.0
    blur_prob: float = 0.0
    degrade_prob: float = 0.0
    occlude_prob: float = 0.0
    occlude_max: float = 0.6

    @classmethod
    def from_cfg(cls, node: CfgNode) -> CropAugment:
        return cls(float(node.COLOR_JITTER), float(node.BLUR_PROB), float(node.DEGRADE_PROB),
                   float(node.OCCLUDE_PROB), float(node.OCCLUDE_MAX))

    @property
    def active(self) -> bool:
        return bool(self.color_jitter or self.blur_prob or self.degrade_prob or self.occlude_prob)

    def __call__(self, images: list[np.ndarray], boxes: list[np.ndarray], n_templates: int,
                 rng: np.random.Generator) -> list[np.ndarray]:
        """Augmented copies of `images` (uint8 H x W x C crops; templates first); boxes are normalised xywh."""
        images = list(images)
        if self.color_jitter > 0:
            s = self.color_jitter
            shared_hue = rng.uniform(-s, s) / 2.0
            for group in (range(n_templates), range(n_templates, len(images))):
                contrast, saturation = rng.uniform(1 - s, 1 + s, 2)
                hue = shared_hue + rng.uniform(-s, s) / 20.0
                for i in group:
                    images[i] = recolour(images[i], contrast, saturation, hue)
        for i in range(n_templates, len(images)):
            if self.occlude_prob > 0 and rng.random() < self.occlude_prob:
                images[i] = occlude(images[i], boxes[i], self.occlude_max, rng)
            if self.blur_prob > 0 and rng.random() < self.blur_prob:
                images[i] = blur(images[i], rng)
            if self.degrade_prob > 0 and rng.random() < self.degrade_prob:
                images[i] = degrade(images[i], rng)
        return images


def recolour(image: np.ndarray, contrast: float, saturation: float, hue_turns: float) -> np.ndarray:
    """Contrast about the mean grey, saturation about each pixel's grey, and a hue rotation (RGB channels only)."""
    rgb = image[..., :3].astype(np.float32)
    grey = rgb @ np.array([0.299, 0.587, 0.114], np.float32)
    rgb = (rgb - grey.mean()) * contrast + grey.mean()
    grey = grey[..., None] * contrast + grey.mean() * (1 - contrast)
    rgb = grey + (rgb - grey) * saturation
    rgb = np.clip(rgb + 0.5, 0, 255).astype(np.uint8)
    if abs(hue_turns) > 1e-3:
        hsv = cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV)
        hsv[..., 0] = ((hsv[..., 0].astype(np.int32) + int(round(hue_turns * 180))) % 180).astype(np.uint8)
        rgb = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)
    out = image.copy()
    out[..., :3] = rgb
    return out


def blur(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Gaussian blur (sigma 0.5-1.5 px) or a linear motion blur of 3-9 px in a random direction."""
    if rng.random() < 0.5:
        return cv2.GaussianBlur(image, (0, 0), float(rng.uniform(0.5, 1.5)))
    length = int(rng.integers(3, 10))
    a = rng.uniform(0, np.pi)
    return cv2.filter2D(image, -1, motion_blur_kernel(length, np.cos(a), np.sin(a)))


def degrade(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Gaussian sensor noise (sigma 2-10) and/or JPEG compression at quality 20-60 (RGB through the codec)."""
    out = image
    kind = rng.integers(0, 3)  # 0 noise, 1 JPEG, 2 both
    if kind in (0, 2):
        out = np.clip(out + rng.normal(0, rng.uniform(2, 10), out.shape) + 0.5, 0, 255).astype(np.uint8)
    if kind in (1, 2):
        ok, buf = cv2.imencode(".jpg", np.ascontiguousarray(out[..., :3]),
                               [int(cv2.IMWRITE_JPEG_QUALITY), int(rng.integers(20, 61))])
        if ok:
            out = out.copy()
            out[..., :3] = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
    return out


def occlude(image: np.ndarray, box: np.ndarray, max_cover: float, rng: np.random.Generator) -> np.ndarray:
    """Paste a patch over part of the target (normalised xywh `box`), covering at most `max_cover` of its box."""
    size = image.shape[0]
    x, y, w, h = (np.asarray(box, np.float64) * size).tolist()
    if w < 2 or h < 2:
        return image
    cover = rng.uniform(0.15, max_cover)  # fraction of the box's area
    ow, oh = w * np.sqrt(cover) * rng.uniform(0.7, 1.3), h * np.sqrt(cover) / rng.uniform(0.7, 1.3)
    ow, oh = int(np.clip(ow, 2, w)), int(np.clip(oh, 2, h))
    # the patch sits on one side of the box, so the rest of the target stays in view
    ox = int(round(x + rng.choice([0.0, w - ow]) + rng.uniform(-0.2, 0.2) * ow))
    oy = int(round(y + rng.uniform(0, max(h - oh, 0))))
    if rng.random() < 0.5:
        ox, oy = int(round(x + rng.uniform(0, max(w - ow, 0)))), int(round(y + rng.choice([0.0, h - oh])))
    ox, oy = int(np.clip(ox, 0, size - ow)), int(np.clip(oy, 0, size - oh))
    out = image.copy()
    if rng.random() < 0.5:
        sx, sy = int(rng.integers(0, size - ow + 1)), int(rng.integers(0, size - oh + 1))
        out[oy:oy + oh, ox:ox + ow] = image[sy:sy + oh, sx:sx + ow]
    else:
        out[oy:oy + oh, ox:ox + ow] = rng.integers(0, 256, image.shape[2])
    return out
