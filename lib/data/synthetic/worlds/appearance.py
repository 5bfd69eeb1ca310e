"""How things look: backgrounds, object sprites (colour + alpha) of four kinds, occluders, sprite transforms.

Sources are the photographs scikit-image ships (no download). Object kinds:

- outlined: a rectangle or ellipse filled with a photo texture re-coloured by one hue, with a dark rim;
- patch: a photo texture in its own colours on a rectangle or ellipse whose edge fades out (no outline);
- silhouette: a photo region cut out by a silhouette mask (scikit-image's horse, or a random star-shaped
  outline);
- blob: a procedural blob (metaballs) painted with a procedural two-colour pattern (stripes, spots, noise).

Distractor relations decide what an object shares with the target: `lookalike` (same kind, other texture and
colour), `twin_colour` (the target's texture in another colour), `twin_texture` (the target's colour with
another texture).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import cv2
import numpy as np

from lib.utils.image import motion_blur_kernel

PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "immunohistochemistry", "motorcycle", "camera", "coins",
          "grass", "gravel", "brick", "hubble_deep_field", "retina", "moon", "cell", "cat", "clock", "page")
_KERNEL = np.ones((5, 5), np.uint8)


@dataclass(frozen=True)
class Sprite:
    """An object's look: float32 RGB (0..255) and alpha (0..1), and its nominal size at scale 1."""

    rgb: np.ndarray
    alpha: np.ndarray
    base_wh: tuple[float, float]

    @property
    def side(self) -> float:
        return float(np.sqrt(self.base_wh[0] * self.base_wh[1]))


@functools.cache
def source_image(name: str) -> np.ndarray:
    """A scikit-image photograph as H x W x 3 uint8 RGB, at most 640 px on its longer side (read-only)."""
    import skimage.data as skd

    img = skd.stereo_motorcycle()[0] if name == "motorcycle" else getattr(skd, name)()
    img = np.asarray(img)
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=2)
    img = np.ascontiguousarray(img[..., :3]).astype(np.uint8)
    s = 640.0 / max(img.shape[:2])
    if s < 1.0:
        img = cv2.resize(img, None, fx=s, fy=s, interpolation=cv2.INTER_AREA)
    img.flags.writeable = False
    return img


@functools.cache
def _silhouette_source(name: str) -> np.ndarray:
    """A real silhouette mask (bool, tight to the shape): scikit-image's horse (True marks its background)."""
    import skimage.data as skd

    mask = ~np.asarray(getattr(skd, name)(), bool)
    ys, xs = np.nonzero(mask)
    mask = mask[ys.min():ys.max() + 1, xs.min():xs.max() + 1]
    mask.flags.writeable = False
    return mask


def hsv_to_rgb(h: float, s: float, v: float) -> np.ndarray:
    """One HSV colour (all in 0..1) as RGB in 0..1."""
    k = (np.array([5.0, 3.0, 1.0]) + h * 6.0) % 6.0
    return v - v * s * np.clip(np.minimum(k, 4.0 - k), 0.0, 1.0)


def _photo_crop(rng: np.random.Generator, name: str, w: int, h: int) -> np.ndarray:
    """A random w x h region (resampled) of photo `name`, float32 RGB 0..255."""
    img = source_image(name)
    ih, iw = img.shape[:2]
    side = int(min(ih, iw, max(24, max(w, h) * rng.uniform(0.6, 1.6))))
    y, x = int(rng.integers(0, ih - side + 1)), int(rng.integers(0, iw - side + 1))
    return cv2.resize(img[y:y + side, x:x + side], (w, h), interpolation=cv2.INTER_AREA).astype(np.float32)


# ---------------------------------------------------------------------------------------------- backgrounds
def make_background(rng: np.random.Generator, kind: str, size: tuple[int, int]) -> tuple[np.ndarray, str | None]:
    """A W x H uint8 RGB canvas (larger than the frame, so the camera can pan and zoom over it) and the name of
    the photograph it shows, if any (objects then take their textures from other photographs)."""
    w, h = size
    if kind in ("photo", "blurred_photo"):
        photo = str(rng.choice(PHOTOS))
        src = source_image(photo)
        s = max(w / src.shape[1], h / src.shape[0]) * rng.uniform(1.0, 1.4)
        img = cv2.resize(src, None, fx=s, fy=s, interpolation=cv2.INTER_LINEAR).astype(np.float32)
        y, x = int(rng.integers(0, img.shape[0] - h + 1)), int(rng.integers(0, img.shape[1] - w + 1))
        img = img[y:y + h, x:x + w]
        if kind == "blurred_photo":  # softened and pulled 40% towards its mean colour
            img = cv2.GaussianBlur(img, (0, 0), 1.2)
            img = 0.6 * img + 0.4 * img.reshape(-1, 3).mean(0)
        return np.clip(img + 0.5, 0, 255).astype(np.uint8), photo
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    a = rng.uniform(0, 2 * np.pi)
    ramp = (np.cos(a) * xx + np.sin(a) * yy) / max(w, h)
    c0, c1 = rng.uniform(30, 225, 3), rng.uniform(30, 225, 3)
    base = c0 + (c1 - c0) * ramp[..., None] * rng.uniform(0.2, 0.8)
    if kind == "flat":
        return np.clip(base + rng.normal(0, 2.0, base.shape) + 0.5, 0, 255).astype(np.uint8), None
    # clutter: many random shapes, some filled with photo texture, softened a little
    img = np.ascontiguousarray(base.astype(np.float32))
    for _ in range(int(rng.integers(80, 180))):
        colour = rng.uniform(0, 255, 3).tolist()
        cx, cy = int(rng.integers(0, w)), int(rng.integers(0, h))
        r = int(rng.integers(4, max(6, min(w, h) // 6)))
        choice = rng.random()
        if choice < 0.35:
            cv2.ellipse(img, (cx, cy), (r, int(r * rng.uniform(0.3, 1.0))), float(rng.uniform(0, 180)), 0, 360,
                        colour, -1)
        elif choice < 0.6:
            cv2.rectangle(img, (cx - r, cy - r // 2), (cx + r, cy + r // 2), colour, -1)
        elif choice < 0.8:
            cv2.line(img, (cx, cy), (cx + int(rng.integers(-3 * r, 3 * r)), cy + int(rng.integers(-3 * r, 3 * r))),
                     colour, int(rng.integers(1, 5)))
        else:
            x0, y0 = max(cx - r, 0), max(cy - r, 0)
            x1, y1 = min(cx + r, w), min(cy + r, h)
            if x1 - x0 > 2 and y1 - y0 > 2:
                img[y0:y1, x0:x1] = _photo_crop(rng, str(rng.choice(PHOTOS)), x1 - x0, y1 - y0)
    img = cv2.GaussianBlur(img, (0, 0), 0.8)
    return np.clip(img + 0.5, 0, 255).astype(np.uint8), None


# --------------------------------------------------------------------------------------------------- masks
def _basic_mask(shape: str, w: int, h: int) -> np.ndarray:
    if shape == "rect":
        return np.ones((h, w), np.float32)
    yy = (np.arange(h, dtype=np.float32) + 0.5 - h / 2.0) / (h / 2.0)
    xx = (np.arange(w, dtype=np.float32) + 0.5 - w / 2.0) / (w / 2.0)
    return (yy[:, None] ** 2 + xx[None, :] ** 2 <= 1.0).astype(np.float32)


def _star_mask(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    """A random star-shaped outline: radius = 1 + a few random harmonics of the angle."""
    n = int(rng.integers(3, 7))
    amp, phase = rng.uniform(0.05, 0.25, n), rng.uniform(0, 2 * np.pi, n)
    t = np.linspace(0, 2 * np.pi, 120, endpoint=False)
    r = 1.0 + sum(amp[i] * np.cos((i + 2) * t + phase[i]) for i in range(n))
    r = r / r.max()
    pts = np.stack([(0.5 + 0.5 * r * np.cos(t)) * (w - 1), (0.5 + 0.5 * r * np.sin(t)) * (h - 1)], 1)
    mask = np.zeros((h, w), np.uint8)
    cv2.fillPoly(mask, [np.round(pts).astype(np.int32)], 1)
    return mask.astype(np.float32)


def _blob_mask(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    """Metaballs: a threshold of a few Gaussians' sum, filling most of the w x h box."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    field = np.zeros((h, w), np.float32)
    for _ in range(int(rng.integers(3, 7))):
        cx, cy = rng.uniform(0.3, 0.7) * w, rng.uniform(0.3, 0.7) * h
        sx, sy = rng.uniform(0.12, 0.3) * w, rng.uniform(0.12, 0.3) * h
        field += np.exp(-0.5 * (((xx - cx) / sx) ** 2 + ((yy - cy) / sy) ** 2))
    mask = (field > 0.5 * field.max()).astype(np.float32)
    return mask


def _tight(rgb: np.ndarray, alpha: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Crop a sprite to the extent of its own pixels (alpha >= 0.5)."""
    ys, xs = np.nonzero(alpha >= 0.5)
    sl = (slice(ys.min(), ys.max() + 1), slice(xs.min(), xs.max() + 1))
    return np.ascontiguousarray(rgb[sl]), np.ascontiguousarray(alpha[sl])


# ------------------------------------------------------------------------------------------------ textures
def _tint(lum_src: np.ndarray, hue: float, rng: np.random.Generator) -> np.ndarray:
    """Re-colour a photo texture with one hue, keeping its luminance pattern (the outlined kind's look)."""
    crop = lum_src / 255.0
    lum = crop.mean(axis=2)
    lum = 0.6 + (lum - lum.mean()) * min(0.2 / max(float(lum.std()), 1e-3), 3.0)
    lum = np.clip(lum, 0.15, 1.0)
    tint = hsv_to_rgb(hue, rng.uniform(0.6, 0.95), 1.0).astype(np.float32)
    return np.clip((0.8 * lum[..., None] * tint + 0.2 * crop) * 255.0, 0, 255)


def _rotate_hue(rgb: np.ndarray, shift: float) -> np.ndarray:
    """Rotate the hue of a float RGB image by `shift` turns (saturation raised so the change shows)."""
    hsv = cv2.cvtColor(np.clip(rgb, 0, 255).astype(np.uint8), cv2.COLOR_RGB2HSV).astype(np.float32)
    hsv[..., 0] = (hsv[..., 0] + shift * 180.0) % 180.0
    hsv[..., 1] = np.clip(hsv[..., 1] * 1.3 + 40, 0, 255)
    return cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2RGB).astype(np.float32)


def _match_mean(rgb: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """Shift a texture's colours so its mean colour is `mean` (same colour, its own texture)."""
    return np.clip(rgb - rgb.reshape(-1, 3).mean(0) + mean, 0, 255)


def _pattern(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    """A procedural two-colour pattern in 0..1: stripes, spots or smooth noise."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    kind = int(rng.integers(0, 3))
    if kind == 0:
        a, period = rng.uniform(0, np.pi), rng.uniform(0.15, 0.4) * max(w, h)
        return 0.5 + 0.5 * np.sin(2 * np.pi * (np.cos(a) * xx + np.sin(a) * yy) / period)
    if kind == 1:
        out = np.zeros((h, w), np.float32)
        for _ in range(int(rng.integers(4, 10))):
            cx, cy, r = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(0.08, 0.2) * max(w, h)
            out = np.maximum(out, (((xx - cx) ** 2 + (yy - cy) ** 2) < r * r).astype(np.float32))
        return out
    noise = rng.uniform(0, 1, (max(2, h // 8), max(2, w // 8))).astype(np.float32)
    return cv2.resize(noise, (w, h), interpolation=cv2.INTER_CUBIC).clip(0, 1)


# -------------------------------------------------------------------------------------------------- sprites
def make_sprite_set(rng: np.random.Generator, kind: str, relation: str, sides: np.ndarray, aspects: np.ndarray,
                    background_photo: str | None) -> list[Sprite]:
    """The target (index 0) and its distractors, related as `relation` says; sprites drawn at 2x for zooms."""
    n = len(sides)
    same_texture = relation == "twin_colour"
    same_colour = relation == "twin_texture"
    hue0 = rng.random()  # the target's; the others spread around the colour wheel in a random order
    spread = rng.permutation(max(n - 1, 0)) + 1 + rng.uniform(-0.15, 0.15, max(n - 1, 0))
    hues = [hue0] + [float((hue0 + s / n) % 1.0) for s in spread]
    photos = [str(p) for p in rng.choice([p for p in PHOTOS if p != background_photo], size=n, replace=False)]
    shape = "rect" if rng.random() < 0.5 else "ellipse"
    silhouette = str(rng.choice(["horse", "star", "star"]))
    mask_seed = int(rng.integers(0, 2**31))
    texture_seed = int(rng.integers(0, 2**31))
    pattern_seed = int(rng.integers(0, 2**31))
    colour_pairs = [(rng.uniform(20, 235, 3), rng.uniform(20, 235, 3)) for _ in range(n)]
    sprites: list[Sprite] = []
    target_mean = None
    for k in range(n):
        bw, bh = sides[k] * np.sqrt(aspects[k]), sides[k] / np.sqrt(aspects[k])
        w, h = max(8, int(round(2 * bw))), max(8, int(round(2 * bh)))
        tex_k = 0 if same_texture else k
        col_k = 0 if same_colour else k
        if kind == "blob":
            pattern = _pattern(np.random.default_rng(pattern_seed + tex_k), w, h)[..., None]
            c0, c1 = colour_pairs[col_k]
            rgb = c0 + (c1 - c0) * pattern
            alpha = _blob_mask(np.random.default_rng(mask_seed + (k if not same_texture else 0)), w, h)
            alpha = cv2.GaussianBlur(alpha, (0, 0), 0.7)
        else:
            tex = _photo_crop(np.random.default_rng(texture_seed + tex_k), photos[tex_k], w, h)
            if kind == "outlined":
                rgb = _tint(tex, hues[col_k], rng)
                alpha = _basic_mask(shape, w, h)
                inner = cv2.erode(alpha.astype(np.uint8), cv2.resize(_KERNEL, (9, 9)), borderType=cv2.BORDER_CONSTANT,
                                  borderValue=0)
                rgb[(alpha > 0) & (inner == 0)] /= 3.0  # the same dark outline on every object
            else:
                rgb = _rotate_hue(tex, hues[k] - hue0) if same_texture and k > 0 else tex  # natural colours
                if kind == "patch":
                    alpha = cv2.GaussianBlur(_basic_mask(shape, w, h), (0, 0), 0.12 * min(w, h))
                    alpha = np.clip((alpha - 0.1) / 0.8, 0, 1)
                elif silhouette == "star":
                    alpha = cv2.GaussianBlur(_star_mask(np.random.default_rng(mask_seed + k), w, h), (0, 0), 0.7)
                else:
                    mask = _silhouette_source(silhouette)
                    if k % 2:
                        mask = mask[:, ::-1]
                    alpha = cv2.resize(mask.astype(np.float32), (w, h), interpolation=cv2.INTER_AREA)
            if same_colour and k > 0:
                rgb = _match_mean(rgb, target_mean)
        if k == 0:
            target_mean = rgb.reshape(-1, 3).mean(0)
        rgb, alpha = _tight(rgb.astype(np.float32), alpha.astype(np.float32))
        sprites.append(Sprite(rgb, alpha, (alpha.shape[1] / 2.0, alpha.shape[0] / 2.0)))
    return sprites


def make_occluder_sprite(rng: np.random.Generator, canvas: np.ndarray) -> Sprite:
    """Something of the scene passing in front: a piece of the background's own texture, or a plain bar."""
    w, h = int(rng.integers(40, 80)), int(rng.integers(40, 80))
    if rng.random() < 0.5:
        y, x = int(rng.integers(0, canvas.shape[0] - h)), int(rng.integers(0, canvas.shape[1] - w))
        rgb = canvas[y:y + h, x:x + w].astype(np.float32) * rng.uniform(0.6, 0.9)
    else:
        rgb = np.ones((h, w, 3), np.float32) * rng.uniform(10, 245, 3)
    alpha = _basic_mask("rect" if rng.random() < 0.6 else "ellipse", w, h)
    return Sprite(rgb, alpha, (w / 2.0, h / 2.0))


def transform_sprite(sprite: Sprite, scale: float, aspect: float, angle_deg: float) -> Sprite:
    """The sprite at `scale` times its nominal size, width x sqrt(aspect), height / sqrt(aspect), rotated."""
    w = max(2, int(round(sprite.base_wh[0] * scale * np.sqrt(aspect))))
    h = max(2, int(round(sprite.base_wh[1] * scale / np.sqrt(aspect))))
    shrink = w < sprite.alpha.shape[1]
    interp = cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
    rgb = cv2.resize(sprite.rgb, (w, h), interpolation=interp)
    alpha = cv2.resize(sprite.alpha, (w, h), interpolation=interp)
    if abs(angle_deg) > 0.5:
        m = cv2.getRotationMatrix2D((w / 2.0, h / 2.0), angle_deg, 1.0)
        cos, sin = abs(m[0, 0]), abs(m[0, 1])
        nw, nh = int(np.ceil(h * sin + w * cos)), int(np.ceil(h * cos + w * sin))
        m[0, 2] += nw / 2.0 - w / 2.0
        m[1, 2] += nh / 2.0 - h / 2.0
        rgb = cv2.warpAffine(rgb, m, (nw, nh), flags=cv2.INTER_LINEAR, borderValue=(0, 0, 0))
        alpha = cv2.warpAffine(alpha, m, (nw, nh), flags=cv2.INTER_LINEAR, borderValue=0)
    if not np.any(alpha >= 0.5):
        alpha = np.maximum(alpha, 0.5 * (alpha >= alpha.max()))  # a tiny sprite keeps at least one own pixel
    return Sprite(rgb, alpha, sprite.base_wh)


def blur_sprite(sprite: Sprite, velocity: np.ndarray) -> Sprite:
    """Motion blur along `velocity` (px per frame), over a padded canvas so the smear is not cut off."""
    length = int(min(np.linalg.norm(velocity), 15))
    if length < 3:
        return sprite
    kernel = motion_blur_kernel(length, float(velocity[0]), float(velocity[1]))
    pad = length
    rgb = cv2.copyMakeBorder(sprite.rgb * sprite.alpha[..., None], pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=0)
    alpha = cv2.copyMakeBorder(sprite.alpha, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=0)
    rgb, alpha = cv2.filter2D(rgb, -1, kernel), cv2.filter2D(alpha, -1, kernel)
    rgb = rgb / np.maximum(alpha[..., None], 1e-3)
    return Sprite(rgb, alpha, sprite.base_wh)
