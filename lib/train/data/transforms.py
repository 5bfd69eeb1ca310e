"""Training augmentations on crops (SUTrack/pytracking's set) and the image -> normalised tensor step.

Joint transforms act on all crops of one sample at once (templates and search share the decision):
grayscale with p=0.05 and horizontal flip with p=0.5 (normalised boxes flip with them). Brightness
jitter (factor in [1 - b, 1 + b]) is drawn once per group (templates, search), as pytracking does.
Frames with 6 channels (RGB-X) are handled three channels at a time.
"""
from __future__ import annotations

import numpy as np
import torch

GRAYSCALE_PROB = 0.05
FLIP_PROB = 0.5
BRIGHTNESS_JITTER = 0.2


def to_grayscale(image: np.ndarray) -> np.ndarray:
    """Each RGB triple replaced by its luma (ITU-R 601), kept as 3 identical channels."""
    out = image.astype(np.float32)
    for i in range(0, image.shape[2] - 2, 3):
        luma = out[..., i:i + 3] @ np.array([0.299, 0.587, 0.114], np.float32)
        out[..., i:i + 3] = luma[..., None]
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def hflip_box(box: np.ndarray) -> np.ndarray:
    """Normalised (x, y, w, h) box of a horizontally flipped crop."""
    x, y, w, h = box
    return np.array([1.0 - x - w, y, w, h], dtype=box.dtype)


def joint_transform(images: list[np.ndarray], boxes: list[np.ndarray], rng: np.random.Generator,
                    gray_prob: float = GRAYSCALE_PROB, flip_prob: float = FLIP_PROB
                    ) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Grayscale and horizontal flip, decided once for all crops of a sample (boxes normalised xywh)."""
    if rng.random() < gray_prob:
        images = [to_grayscale(im) for im in images]
    if rng.random() < flip_prob:
        images = [np.ascontiguousarray(im[:, ::-1]) for im in images]
        boxes = [hflip_box(b) for b in boxes]
    return images, boxes


def match_channels(image: np.ndarray, multi_modal_vision: bool) -> np.ndarray:
    """H x W x 3 -> 6 channels (RGB duplicated) when DATA.MULTI_MODAL_VISION; RGB-X -> RGB when it is off."""
    channels = image.shape[2]
    if multi_modal_vision and channels == 3:
        return np.concatenate([image, image], axis=2)
    if not multi_modal_vision and channels > 3:
        return image[..., :3]
    return image


def brightness_factor(rng: np.random.Generator, jitter: float = BRIGHTNESS_JITTER) -> float:
    return float(rng.uniform(max(0.0, 1.0 - jitter), 1.0 + jitter))


def to_tensor(image: np.ndarray, mean: torch.Tensor, std: torch.Tensor, brightness: float = 1.0) -> torch.Tensor:
    """uint8 H x W x C -> float C x H x W: (clamp(x / 255 * brightness, 0, 1) - mean) / std.

    Computed in numpy: in a loader without workers, torch's intra-op threads on these small arrays
    fight the training step for the cores (measured 15x slower on 2 busy cores).
    """
    c = image.shape[2]
    reps = -(-c // mean.numel())
    m = np.tile(mean.numpy().astype(np.float32), reps)[:c]
    s = np.tile(std.numpy().astype(np.float32), reps)[:c]
    x = image.astype(np.float32) * np.float32(brightness / 255.0)
    np.clip(x, 0.0, 1.0, out=x)
    x -= m
    x *= np.float32(1.0) / s
    return torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)))
