"""Synthetic GOT-10k-style demo data on which only a template-aware tracker can do well.

Design (see docs/design.md, "training must make the template necessary"):

- Background: a crop of a real photograph shipped with scikit-image, slightly blurred and lowered in
  contrast, panning slowly. It gives real clutter without out-shouting the objects.
- Objects: one target and 2-4 distractors per sequence, all of the same shape kind (rectangle or
  ellipse), similar size (sides within about +-25% of the target's) and the same dark outline, so
  "objectness" cannot tell them apart. Each carries a texture cut from a real image (a different
  image or region per object) and re-coloured with its own hue; the hues of one sequence are spread
  around the colour wheel, so the target differs from every distractor by colour *and* texture,
  a difference a small CNN sees in any 16x16 cell. The target's hue is random per sequence, so only
  the template tells which object is wanted.
- Motion: every object moves the same way (momentum random walk towards waypoints; the scene zooms
  smoothly by up to +-30% and each object's scale varies by +-12% around that; objects may leave the
  frame by up to ~30%). Distractors, a little faster than the target, alternate between passes
  straight through the target and waypoints in its neighbourhood, and the target is seldom drawn on
  top, so look-alikes cross and hide it several times per sequence and are often nearer a jittered
  crop centre than the target. A tracker that follows "the object nearest its last box" (given
  perfect detections) scores AO ~0.6 on these sequences; one that recognises the target ~0.98.
  The first frame shows every object whole and apart.
- Labels are truthful: the box is the drawn rectangle clipped to the frame; cover is the visible
  fraction of the object's pixels in eighths (0 only when no pixel is visible, 8 only when all
  are); absence is cover == 0; cut_by_image marks boxes that cross the frame border.

Every sequence draws from its own ``numpy.random.Generator`` seeded by (seed, split, index), so a
build is byte-identical for a seed, whatever the number of worker processes.
"""
from __future__ import annotations

import functools
import multiprocessing as mp
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from lib.data.synthetic.got10k_format import write_got10k_list, write_got10k_sequence

__all__ = ["DemoSequence", "render_sequence", "build_demo_data"]

# Natural photographs only (no colorwheel, logo, or synthetic patterns).
_BACKGROUNDS = ("astronaut", "coffee", "chelsea", "rocket", "immunohistochemistry", "motorcycle",
                "camera", "coins", "grass", "gravel", "brick")
_TEXTURES = _BACKGROUNDS + ("hubble_deep_field", "retina", "moon", "cell")
_KERNEL = np.ones((5, 5), np.uint8)
_SPLIT_IDS = {"train": 0, "val": 1, "test": 2}


@dataclass
class DemoSequence:
    """One rendered sequence: frames and target labels plus the distractors' boxes and colours."""

    frames: list[np.ndarray]          # F x (H x W x 3) uint8 RGB
    boxes: np.ndarray                 # F x 4 target xywh, clipped to the frame
    absent: np.ndarray                # F bool
    cover: np.ndarray                 # F int, 0..8
    cut_by_image: np.ndarray          # F bool
    distractor_boxes: np.ndarray      # F x K x 4 xywh, clipped (w = h = 0 when fully outside)
    object_colors: np.ndarray         # (K + 1) x 3 mean RGB of each object's texture; row 0 = target
    visible_fraction: np.ndarray      # F x (K + 1) visible fraction of each object's pixels; col 0 = target
    shape: str                        # "rect" or "ellipse"
    object_class: str                 # name of the target texture's source image


@functools.cache
def _source_image(name: str) -> np.ndarray:
    """A skimage.data photograph as HxWx3 uint8 RGB, at most 640 px on its longer side."""
    import skimage.data as skd

    img = skd.stereo_motorcycle()[0] if name == "motorcycle" else getattr(skd, name)()
    img = np.asarray(img)
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=2)
    img = np.ascontiguousarray(img[..., :3]).astype(np.uint8)
    s = 640.0 / max(img.shape[:2])
    if s < 1.0:
        img = cv2.resize(img, None, fx=s, fy=s, interpolation=cv2.INTER_AREA)
    return img


@functools.cache
def _background_image(name: str) -> np.ndarray:
    """The photograph, blurred a little and pulled 40% towards its mean colour (uint8)."""
    img = cv2.GaussianBlur(_source_image(name).astype(np.float32), (0, 0), 1.2)
    mean = img.reshape(-1, 3).mean(0)
    return np.clip(0.6 * img + 0.4 * mean + 0.5, 0, 255).astype(np.uint8)


def _hsv_to_rgb(h: float, s: float, v: float) -> np.ndarray:
    k = (np.array([5.0, 3.0, 1.0]) + h * 6.0) % 6.0
    return v - v * s * np.clip(np.minimum(k, 4.0 - k), 0.0, 1.0)


def _make_texture(rng: np.random.Generator, src: str, size: int, hue: float) -> np.ndarray:
    """A size x size uint8 RGB texture from a random region of ``src``, re-coloured with ``hue``."""
    img = _source_image(src)
    ih, iw = img.shape[:2]
    side = int(min(ih, iw, max(24, size * rng.uniform(0.6, 1.6))))
    y = int(rng.integers(0, ih - side + 1))
    x = int(rng.integers(0, iw - side + 1))
    crop = cv2.resize(img[y:y + side, x:x + side], (size, size), interpolation=cv2.INTER_LINEAR)
    crop = crop.astype(np.float32) / 255.0
    lum = crop.mean(axis=2)
    std = float(lum.std())
    lum = 0.6 + (lum - lum.mean()) * min(0.2 / max(std, 1e-3), 3.0)
    lum = np.clip(lum, 0.15, 1.0)
    tint = _hsv_to_rgb(hue, rng.uniform(0.6, 0.95), 1.0).astype(np.float32)
    tex = 0.8 * lum[..., None] * tint + 0.2 * crop
    return np.clip(tex * 255.0 + 0.5, 0, 255).astype(np.uint8)


@functools.cache
def _shape_mask(shape: str, w: int, h: int) -> tuple[np.ndarray, np.ndarray, int]:
    """(mask, outline, area) of a w x h rectangle or ellipse; the outline is its 2-px rim. Read-only."""
    if shape == "rect":
        mask = np.ones((h, w), bool)
    else:
        yy = (np.arange(h, dtype=np.float32) + 0.5 - h / 2.0) / (h / 2.0)
        xx = (np.arange(w, dtype=np.float32) + 0.5 - w / 2.0) / (w / 2.0)
        mask = yy[:, None] ** 2 + xx[None, :] ** 2 <= 1.0
    inner = cv2.erode(mask.astype(np.uint8), _KERNEL, borderType=cv2.BORDER_CONSTANT, borderValue=0)
    rim = mask & ~inner.astype(bool)
    mask.flags.writeable = False
    rim.flags.writeable = False
    return mask, rim, int(mask.sum())


class _Mover:
    """Centre and log-scale of one object: momentum random walk towards waypoints."""

    def __init__(self, rng: np.random.Generator, centre: np.ndarray, base_wh: np.ndarray, frame_wh,
                 zoom: list[float], speed: tuple[float, float] = (0.04, 0.10)):
        self.rng = rng
        self.zoom = zoom  # shared log zoom of the whole scene (one-element list)
        self.c = centre.astype(np.float64)
        self.base = base_wh.astype(np.float64)
        self.side = float(np.sqrt(base_wh.prod()))
        self.frame = np.asarray(frame_wh, np.float64)
        self.vmax = self.side * rng.uniform(*speed)  # pixels per frame
        self.v = rng.normal(0, 0.3 * self.vmax, 2)
        self.logs, self.vlogs = 0.0, 0.0
        self.goal = self.c.copy()
        self.timer = 0

    @property
    def wh(self) -> np.ndarray:
        return self.base * np.exp(self.logs + self.zoom[0])

    def random_goal(self) -> np.ndarray:
        lo = 0.3 * self.wh
        return self.rng.uniform(lo, self.frame - lo)

    def step(self, goal_fn) -> None:
        self.timer -= 1
        if self.timer <= 0 or np.linalg.norm(self.goal - self.c) < 0.3 * self.side:
            self.goal = goal_fn()
            legs = float(np.linalg.norm(self.goal - self.c)) / self.vmax  # frames to get there
            self.timer = int(np.clip(1.5 * legs, 8, 60))
        d = self.goal - self.c
        dist = float(np.linalg.norm(d)) + 1e-6
        desired = d / dist * min(0.1 * dist, self.vmax)
        self.v = 0.85 * self.v + 0.15 * desired + self.rng.normal(0, 0.15 * self.vmax, 2)
        speed = float(np.linalg.norm(self.v))
        if speed > 1.3 * self.vmax:
            self.v *= 1.3 * self.vmax / speed
        self.c = self.c + self.v
        wh = self.wh
        inner_lo, inner_hi = 0.5 * wh, self.frame - 0.5 * wh
        self.v += 0.1 * (np.maximum(inner_lo - self.c, 0) - np.maximum(self.c - inner_hi, 0))
        self.c = np.clip(self.c, 0.2 * wh, self.frame - 0.2 * wh)  # at most ~30% outside
        self.vlogs = 0.9 * self.vlogs + self.rng.normal(0, 0.004)
        self.logs = float(np.clip(self.logs + self.vlogs, -0.12, 0.12))
        if abs(self.logs) >= 0.12:
            self.vlogs = 0.0

    def box(self) -> tuple[int, int, int, int]:
        wh = np.maximum(np.round(self.wh), 8).astype(int)
        x0, y0 = np.round(self.c - wh / 2.0).astype(int)
        return int(x0), int(y0), int(wh[0]), int(wh[1])


def _clip_box(x: int, y: int, w: int, h: int, fw: int, fh: int) -> tuple[int, int, int, int]:
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, fw), min(y + h, fh)
    if x1 <= x0 or y1 <= y0:
        return 0, 0, 0, 0
    return x0, y0, x1 - x0, y1 - y0


def render_sequence(
    rng: np.random.Generator, n_frames: int = 80, size: tuple[int, int] = (320, 240)
) -> DemoSequence:
    """Render one sequence (frames, truthful target labels, distractor boxes) from ``rng``."""
    fw, fh = int(size[0]), int(size[1])
    frame_wh = np.array([fw, fh], np.float64)
    scale_ref = min(fw / 320.0, fh / 240.0)

    # Background: a rescaled photograph, panned by a bouncing constant velocity.
    bg_name = str(rng.choice(_BACKGROUNDS))
    bg_src = _background_image(bg_name)
    bs = max(fw * 1.3 / bg_src.shape[1], fh * 1.3 / bg_src.shape[0]) * rng.uniform(1.0, 1.5)
    bg = cv2.resize(bg_src, None, fx=bs, fy=bs, interpolation=cv2.INTER_LINEAR)
    room = np.array([bg.shape[1] - fw, bg.shape[0] - fh], np.float64)
    pan = rng.uniform(0, 1, 2) * room
    pan_v = rng.uniform(-1.0, 1.0, 2) * scale_ref

    # Objects: index 0 is the target.
    n_obj = 1 + int(rng.integers(2, 5))
    shape = "rect" if rng.random() < 0.5 else "ellipse"
    side_t = rng.uniform(30, 60) * scale_ref
    sides = np.concatenate([[side_t], side_t * np.exp(rng.uniform(-0.15, 0.15, n_obj - 1))])
    aspects = np.exp(rng.uniform(-0.4, 0.4, n_obj))
    base_wh = np.stack([sides * np.sqrt(aspects), sides / np.sqrt(aspects)], 1)
    hue0 = rng.random()
    hues = (hue0 + (rng.permutation(n_obj) + rng.uniform(-0.15, 0.15, n_obj)) / n_obj) % 1.0
    tex_names = [str(n) for n in rng.choice([t for t in _TEXTURES if t != bg_name], n_obj, replace=False)]
    tex_size = int(np.ceil(sides.max() * 1.5 * np.exp(0.42)))
    textures = [_make_texture(rng, tex_names[k], tex_size, hues[k]) for k in range(n_obj)]
    colors = np.stack([t.reshape(-1, 3).mean(0) for t in textures])
    # Drawing order (larger = on top). The target is seldom on top, so that crossings hide it.
    target_rank = 0 if rng.random() < 0.5 else int(rng.integers(0, n_obj if rng.random() < 0.2 else n_obj - 1))
    depth = np.concatenate([[target_rank], np.delete(np.arange(n_obj), target_rank)[rng.permutation(n_obj - 1)]])

    # Initial placement: target well inside; distractors near it but not overlapping anything.
    movers: list[_Mover] = []
    zoom = [0.0]
    zoom_v = 0.0
    tc = rng.uniform(0.7 * base_wh[0], frame_wh - 0.7 * base_wh[0])
    movers.append(_Mover(rng, tc, base_wh[0], frame_wh, zoom))
    for k in range(1, n_obj):
        best, best_gap = tc, -np.inf
        for attempt in range(300):  # near the target first, then anywhere; keep the widest gap
            if attempt < 100:
                a = rng.uniform(0, 2 * np.pi)
                c = tc + rng.uniform(1.2, 3.5) * side_t * np.array([np.cos(a), np.sin(a)])
            else:
                c = rng.uniform(0, 1, 2) * frame_wh
            c = np.clip(c, 0.5 * base_wh[k] + 1, frame_wh - 0.5 * base_wh[k] - 1)
            # gap to the nearest object, in pixels (rectangles are apart when apart on either axis)
            gap = min(float(np.max(np.abs(c - m.c) - 0.5 * (base_wh[k] + m.base))) for m in movers)
            if gap > best_gap:
                best, best_gap = c, gap
            if gap >= 3:
                break
        movers.append(_Mover(rng, best, base_wh[k], frame_wh, zoom, (0.06, 0.14)))
    chase = rng.uniform(0.6, 0.9)  # how often a distractor heads for the target

    def distractor_goal(m: _Mover):
        state = {"crossed": False}

        def goal() -> np.ndarray:
            # A pass through the target (aim past it, slightly off-axis), then a random waypoint.
            if not state["crossed"] and rng.random() < chase:
                state["crossed"] = True
                t = movers[0]
                ahead = t.c + 6 * t.v
                d = ahead - m.c
                u = d / (np.linalg.norm(d) + 1e-6)
                side = np.array([-u[1], u[0]])
                g = ahead + u * rng.uniform(0.8, 1.6) * t.side + side * rng.uniform(-0.3, 0.3) * t.side
                return np.clip(g, 0.3 * m.wh, frame_wh - 0.3 * m.wh)
            state["crossed"] = False
            if rng.random() < 0.3:
                return m.random_goal()
            a = rng.uniform(0, 2 * np.pi)  # linger in the target's neighbourhood
            g = movers[0].c + rng.uniform(1.2, 2.2) * movers[0].side * np.array([np.cos(a), np.sin(a)])
            return np.clip(g, 0.3 * m.wh, frame_wh - 0.3 * m.wh)
        return goal

    goal_fns = [movers[0].random_goal] + [distractor_goal(m) for m in movers[1:]]
    lum_drift = 0.0

    frames: list[np.ndarray] = []
    boxes = np.zeros((n_frames, 4), np.float64)
    dboxes = np.zeros((n_frames, n_obj - 1, 4), np.float64)
    cover = np.zeros(n_frames, np.int64)
    cut = np.zeros(n_frames, bool)
    vis = np.zeros((n_frames, n_obj), np.float64)
    order = np.argsort(depth)
    for f in range(n_frames):
        if f > 0:
            zoom_v = 0.9 * zoom_v + rng.normal(0, 0.006)
            zoom[0] = float(np.clip(zoom[0] + zoom_v, -0.3, 0.3))
            if abs(zoom[0]) >= 0.3:
                zoom_v = 0.0
            for m, g in zip(movers, goal_fns):
                m.step(g)
            pan += pan_v
            for i in range(2):
                if pan[i] < 0 or pan[i] > room[i]:
                    pan_v[i] = -pan_v[i]
                    pan[i] = np.clip(pan[i], 0, room[i])
            lum_drift = float(np.clip(0.95 * lum_drift + rng.normal(0, 0.01), -0.1, 0.1))
        m_aff = np.array([[1, 0, -pan[0]], [0, 1, -pan[1]]], np.float32)
        frame = cv2.warpAffine(bg, m_aff, (fw, fh), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        labels = np.full((fh, fw), -1, np.int8)
        areas = np.zeros(n_obj, np.int64)
        regions: dict[int, tuple] = {}
        for k in order:
            x, y, w, h = movers[k].box()
            mask, rim, areas[k] = _shape_mask(shape, w, h)
            tex = cv2.resize(textures[k], (w, h), interpolation=cv2.INTER_AREA)
            tex[rim] //= 3  # the same dark outline on every object
            cx, cy, cw, ch = _clip_box(x, y, w, h, fw, fh)
            if cw == 0:
                continue
            sub = (slice(cy - y, cy - y + ch), slice(cx - x, cx - x + cw))
            m = mask[sub]
            region = frame[cy:cy + ch, cx:cx + cw]
            region[m] = tex[sub][m]
            labels[cy:cy + ch, cx:cx + cw][m] = k
            regions[k] = (cy, cx, ch, cw, m)
            if k == 0:
                boxes[f] = (cx, cy, cw, ch)
                cut[f] = (cw, ch) != (w, h)
            else:
                dboxes[f, k - 1] = (cx, cy, cw, ch)
        for k, (cy, cx, ch, cw, m) in regions.items():
            vis[f, k] = np.count_nonzero(labels[cy:cy + ch, cx:cx + cw][m] == k) / max(areas[k], 1)
        frac = float(vis[f, 0])
        cover[f] = 8 if frac >= 1.0 else (0 if frac <= 0.0 else max(1, int(np.floor(frac * 8))))
        frames.append(cv2.convertScaleAbs(frame, alpha=1.0 + lum_drift) if lum_drift else frame)
    return DemoSequence(
        frames=frames, boxes=boxes, absent=cover == 0, cover=cover, cut_by_image=cut,
        distractor_boxes=dboxes, object_colors=colors, visible_fraction=vis, shape=shape, object_class=tex_names[0],
    )


def _sequence_rng(seed: int, split: str, index: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([int(seed), _SPLIT_IDS[split], int(index)]))


def _sequence_name(split: str, index: int) -> str:
    return f"GOT-10k_{split.capitalize()}_{index + 1:06d}"


def _build_one(args: tuple[str, str, int, int, int, tuple[int, int]]) -> str:
    split_dir, split, index, seed, n_frames, size = args
    cv2.setNumThreads(1)
    seq = render_sequence(_sequence_rng(seed, split, index), n_frames, size)
    name = _sequence_name(split, index)
    write_got10k_sequence(
        split_dir, name, seq.frames, seq.boxes, seq.absent, seq.cover, f"patch_{seq.object_class}",
        cut_by_image=seq.cut_by_image, first_frame_only=split == "test",
    )
    return name


def build_demo_data(
    out: str | os.PathLike,
    n_train: int = 200,
    n_val: int = 20,
    n_frames: int = 80,
    size: tuple[int, int] = (320, 240),
    seed: int = 0,
    workers: int | None = None,
    progress: bool = True,
) -> dict[str, list[str]]:
    """Write ``out/got10k/{train,val}`` (sequences and list.txt); returns the names per split."""
    out = Path(out)
    workers = max(1, min(2, os.cpu_count() or 1)) if workers is None else max(1, int(workers))
    jobs: list[tuple[str, str, int, int, int, tuple[int, int]]] = []
    for split, n in (("train", n_train), ("val", n_val)):
        split_dir = out / "got10k" / split
        split_dir.mkdir(parents=True, exist_ok=True)
        jobs += [(str(split_dir), split, i, int(seed), int(n_frames), (int(size[0]), int(size[1])))
                 for i in range(n)]
    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover
        def tqdm(it, **_):
            return it
    if workers == 1 or len(jobs) <= 1:
        names = [_build_one(j) for j in tqdm(jobs, desc="demo data", disable=not progress)]
    else:
        # spawn, not fork: a forked child can deadlock in OpenCV's thread pool.
        with ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn")) as ex:
            names = list(tqdm(ex.map(_build_one, jobs, chunksize=2), total=len(jobs), desc="demo data",
                              disable=not progress))
    result: dict[str, list[str]] = {"train": names[:n_train], "val": names[n_train:]}
    for split, split_names in result.items():
        write_got10k_list(out / "got10k" / split, split_names)
    return result
