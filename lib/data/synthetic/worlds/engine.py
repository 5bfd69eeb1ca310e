"""The renderer every world family shares: a scene of one target, its distractors and occluders, seen by a camera.

A family (one module beside this one) is a `WorldSpec`: which kinds of object, background, camera, motion,
distractor and image degradation its sequences draw from. `render_sequence(rng, spec)` draws one sequence:

- Objects are RGBA sprites (colour + alpha) made once per sequence by `appearance.make_sprite`, then per
  frame resized (scale and aspect), rotated, motion-blurred and alpha-composited in depth order.
- The camera maps the scene to the frame: panning moves the background, zoom scales everything about the
  frame centre, shake adds a per-frame offset to everything.
- Labels are truthful: the box is the extent of the target's own pixels (alpha >= 0.5) clipped to the frame
  (0, 0, 0, 0 when none is inside it), cover is the fraction of those pixels visible in the finished frame
  in eighths (0 only when none is, 8 only when all are), absence is cover == 0, cut_by_image marks a box
  the frame border cuts.

All randomness comes from the one ``numpy.random.Generator``, so a sequence is a pure function of its seed.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from .appearance import Sprite, blur_sprite, make_background, make_occluder_sprite, make_sprite_set, transform_sprite

OBJECT_KINDS = ("outlined", "patch", "silhouette", "blob")
BACKGROUNDS = ("photo", "blurred_photo", "clutter", "flat")
CAMERAS = ("static", "pan", "zoom", "shake")
MOTIONS = ("smooth", "abrupt", "fast")
DISTRACTORS = ("none", "lookalike", "twin_colour", "twin_texture")
DEGRADATIONS = ("illumination", "motion_blur", "noise", "jpeg")


@dataclass(frozen=True)
class WorldSpec:
    """What one family's sequences draw from; each tuple is the set one sequence picks from."""

    name: str
    objects: tuple[str, ...]
    backgrounds: tuple[str, ...]
    cameras: tuple[str, ...] = ("static",)
    motions: tuple[str, ...] = ("smooth",)
    distractors: tuple[str, ...] = ("lookalike",)
    n_distractors: tuple[int, int] = (2, 4)       # inclusive range, when distractors are drawn
    target_side: tuple[float, float] = (30, 60)   # sqrt(w h) in px at 320 x 240
    scale_change: float = 1.3                      # largest / smallest target size a sequence may reach
    aspect_change: float = 0.0                     # amplitude of the log aspect ratio's drift
    rotation: float = 0.0                          # largest |angle| in degrees
    occlusion: float = 0.0                         # chance of an occluder crossing the target for a stretch
    leave_frame: float = 0.0                       # chance the target leaves the frame and comes back
    degradations: tuple[str, ...] = ()             # each applied to a sequence with probability 0.6
    chase: tuple[float, float] = (0.6, 0.9)        # how often a distractor heads for the target

    def __post_init__(self) -> None:
        for values, allowed in ((self.objects, OBJECT_KINDS), (self.backgrounds, BACKGROUNDS),
                                (self.cameras, CAMERAS), (self.motions, MOTIONS),
                                (self.distractors, DISTRACTORS), (self.degradations, DEGRADATIONS)):
            bad = [v for v in values if v not in allowed]
            if bad or (not values and allowed is not DEGRADATIONS):
                raise ValueError(f"world '{self.name}': {bad or 'empty'} not among {allowed}")


@dataclass
class RenderedSequence:
    """One rendered sequence: frames, the target's truthful labels and what was drawn around it."""

    frames: list[np.ndarray]          # F x (H x W x 3) uint8 RGB
    boxes: np.ndarray                 # F x 4 target xywh, clipped to the frame; 0 0 0 0 when outside
    absent: np.ndarray                # F bool
    cover: np.ndarray                 # F int, 0..8
    cut_by_image: np.ndarray          # F bool
    distractor_boxes: np.ndarray      # F x K x 4 xywh, clipped (w = h = 0 when not in the frame)
    visible_fraction: np.ndarray      # F x (K + 1) visible fraction of each object's pixels; col 0 = target
    object_class: str                 # "<world>_<object kind>"
    choices: dict = field(default_factory=dict)  # what this sequence drew from its world


class _Mover:
    """Centre, log-scale, log-aspect and angle of one object in frame coordinates (before the camera)."""

    def __init__(self, rng: np.random.Generator, centre: np.ndarray, side: float, frame_wh: np.ndarray,
                 motion: str, speed: tuple[float, float]):
        self.rng, self.motion = rng, motion
        self.c = centre.astype(np.float64)
        self.side = float(side)
        self.frame = frame_wh
        lo, hi = (0.20, 0.45) if motion == "fast" else speed
        self.vmax = self.side * rng.uniform(lo, hi)
        self.v = rng.normal(0, 0.3 * self.vmax, 2)
        self.goal = self.c.copy()
        self.timer = 0
        self.logs = self.vlogs = self.loga = self.vloga = self.angle = self.vangle = 0.0
        self.scale_rate = 0.0  # trend of the log size per frame
        self.outside = False  # heading out of the frame (leave-and-return)
        self.boost = 1.0      # speed factor while leaving and coming back

    def random_goal(self) -> np.ndarray:
        lo = 0.6 * self.side
        return self.rng.uniform(lo, self.frame - lo)

    def step(self, goal_fn) -> None:
        rng = self.rng
        self.timer -= 1
        if self.timer <= 0 or np.linalg.norm(self.goal - self.c) < 0.3 * self.side:
            self.goal = goal_fn()
            legs = float(np.linalg.norm(self.goal - self.c)) / self.vmax
            self.timer = int(np.clip(1.5 * legs, 4 if self.motion == "abrupt" else 8, 60))
        d = self.goal - self.c
        dist = float(np.linalg.norm(d)) + 1e-6
        vmax = self.vmax * self.boost
        desired = d / dist * min(0.1 * dist if self.motion == "smooth" else dist, vmax)
        inertia = 0.85 if self.motion == "smooth" else 0.6
        self.v = inertia * self.v + (1 - inertia) * desired + rng.normal(0, 0.15 * self.vmax, 2)
        if self.motion == "abrupt" and rng.random() < 0.08:  # a sudden turn or stop
            a = rng.uniform(0, 2 * np.pi)
            self.v = rng.choice([0.0, rng.uniform(1.0, 2.0)]) * self.vmax * np.array([np.cos(a), np.sin(a)])
        speed = float(np.linalg.norm(self.v))
        if speed > 1.5 * vmax:
            self.v *= 1.5 * vmax / speed
        self.c = self.c + self.v
        if self.boost > 1 and not self.outside and np.all(np.abs(self.c - 0.5 * self.frame) < 0.3 * self.frame):
            self.boost = 1.0  # back inside
        if not self.outside:  # soft walls keep it mostly inside the frame
            half = 0.5 * self.side
            self.v += 0.1 * (np.maximum(half - self.c, 0) - np.maximum(self.c - (self.frame - half), 0))
            if self.boost == 1.0:
                self.c = np.clip(self.c, 0.1 * self.side, self.frame - 0.1 * self.side)

    def drift_shape(self, log_scale_limit: float, aspect_limit: float, angle_limit: float) -> None:
        """Random walks of size, aspect and angle within their limits (size follows `scale_rate`'s trend)."""
        rng = self.rng
        self.vlogs = 0.9 * self.vlogs + 0.1 * self.scale_rate + rng.normal(0, 0.004)
        self.logs += self.vlogs
        if abs(self.logs) >= log_scale_limit:  # at the end of the range: turn round
            self.logs = float(np.clip(self.logs, -log_scale_limit, log_scale_limit))
            self.vlogs, self.scale_rate = 0.0, -self.scale_rate
        if aspect_limit > 0:
            self.vloga = 0.9 * self.vloga + rng.normal(0, 0.01)
            self.loga = float(np.clip(self.loga + self.vloga, -aspect_limit, aspect_limit))
        if angle_limit > 0:
            self.vangle = 0.9 * self.vangle + rng.normal(0, 0.6)
            self.angle = float(np.clip(self.angle + self.vangle, -angle_limit, angle_limit))


class _Camera:
    """Scene -> frame map: zoom about the frame centre, shake offset; the background pans on its own."""

    def __init__(self, rng: np.random.Generator, kind: str, frame_wh: np.ndarray, bg_room: np.ndarray):
        self.rng, self.kind, self.frame = rng, kind, frame_wh
        self.log_zoom, self.v_zoom = 0.0, 0.0
        self.zoom_rate = rng.choice([-1.0, 1.0]) * rng.uniform(0.006, 0.012) if kind == "zoom" else 0.0
        self.shake = np.zeros(2)
        self.shake_sigma = rng.uniform(2.0, 6.0) * min(frame_wh) / 240.0 if kind == "shake" else 0.0
        self.room = bg_room
        self.pan = rng.uniform(0, 1, 2) * bg_room
        speed = {"pan": rng.uniform(1.5, 4.0), "shake": rng.uniform(0.0, 1.0)}.get(kind, 0.0)
        a = rng.uniform(0, 2 * np.pi)
        self.pan_v = speed * min(frame_wh) / 240.0 * np.array([np.cos(a), np.sin(a)])

    @property
    def zoom(self) -> float:
        return float(np.exp(self.log_zoom))

    def step(self) -> None:
        if self.kind == "zoom":
            self.log_zoom += self.zoom_rate + self.rng.normal(0, 0.003)
            if abs(self.log_zoom) >= 0.45:
                self.log_zoom = float(np.clip(self.log_zoom, -0.45, 0.45))
                self.zoom_rate = -self.zoom_rate
        if self.kind == "shake":
            self.shake = 0.5 * self.shake + self.rng.normal(0, self.shake_sigma, 2)
        self.pan = self.pan + self.pan_v
        for i in range(2):
            if self.pan[i] < 0 or self.pan[i] > self.room[i]:
                self.pan_v[i] = -self.pan_v[i]
                self.pan[i] = np.clip(self.pan[i], 0, self.room[i])

    def to_frame(self, centre: np.ndarray) -> np.ndarray:
        mid = 0.5 * self.frame
        return mid + self.zoom * (centre - mid) + self.shake

    def background(self, canvas: np.ndarray) -> np.ndarray:
        """The frame's background: the canvas seen through pan, zoom and shake."""
        s, mid = self.zoom, 0.5 * self.frame
        # frame = s * (canvas - pan - mid) + mid + shake
        tx, ty = mid * (1 - s) - s * self.pan + self.shake
        m = np.array([[s, 0, tx], [0, s, ty]], np.float32)
        w, h = (int(v) for v in self.frame)
        return cv2.warpAffine(canvas, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def _paste(frame: np.ndarray, labels: np.ndarray, sprite: Sprite, top_left: np.ndarray, index: int
           ) -> tuple[tuple[int, int, int, int], int]:
    """Alpha-composite `sprite` at `top_left` (float, frame px); returns its clipped box and its pixel count."""
    fh, fw = labels.shape
    x, y = (int(round(v)) for v in top_left)
    h, w = sprite.alpha.shape
    own = sprite.alpha >= 0.5
    total = int(own.sum())
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, fw), min(y + h, fh)
    if x1 <= x0 or y1 <= y0 or total == 0:
        return (0, 0, 0, 0), total
    sub = (slice(y0 - y, y1 - y), slice(x0 - x, x1 - x))
    a = sprite.alpha[sub][..., None]
    region = frame[y0:y1, x0:x1]
    region[:] = a * sprite.rgb[sub] + (1.0 - a) * region
    labels[y0:y1, x0:x1][own[sub]] = index
    ys, xs = np.nonzero(own[sub])
    if len(xs) == 0:
        return (0, 0, 0, 0), total
    return (x0 + int(xs.min()), y0 + int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1)), total


def _degrade(frame: np.ndarray, effects: dict, f: int, rng: np.random.Generator) -> np.ndarray:
    """Illumination, noise and JPEG artefacts on a finished float frame; returns uint8."""
    if "illumination" in effects:
        gain, switch, dark, grad = effects["illumination"]
        g = gain[f] * (dark if f >= switch else 1.0)
        frame = frame * (g * grad)[..., None]
    if "noise" in effects:
        frame = frame + rng.normal(0, effects["noise"], frame.shape)
    out = np.clip(frame + 0.5, 0, 255).astype(np.uint8)
    if "jpeg" in effects:
        ok, buf = cv2.imencode(".jpg", out, [int(cv2.IMWRITE_JPEG_QUALITY), effects["jpeg"]])
        out = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED) if ok else out
    return out


def _pick(rng: np.random.Generator, options: tuple[str, ...]) -> str:
    return str(options[int(rng.integers(0, len(options)))])


def render_sequence(rng: np.random.Generator, spec: WorldSpec, n_frames: int = 80,
                    size: tuple[int, int] = (320, 240), draw_target: bool = True) -> RenderedSequence:
    """Draw one sequence of `spec`'s world from `rng` (deterministic for a given generator state).

    `draw_target=False` renders the same sequence without painting the target (labels unchanged): the
    pixels that differ are the target's, an independent check of its labels.
    """
    fw, fh = int(size[0]), int(size[1])
    frame_wh = np.array([fw, fh], np.float64)
    scale_ref = min(fw / 320.0, fh / 240.0)
    choices = {"object": _pick(rng, spec.objects), "background": _pick(rng, spec.backgrounds),
               "camera": _pick(rng, spec.cameras), "motion": _pick(rng, spec.motions),
               "distractors": _pick(rng, spec.distractors)}
    choices["degradations"] = [d for d in spec.degradations if rng.random() < 0.6]

    canvas, photo = make_background(rng, choices["background"], (int(fw * 1.6), int(fh * 1.6)))
    room = np.array([canvas.shape[1] - fw, canvas.shape[0] - fh], np.float64)
    camera = _Camera(rng, choices["camera"], frame_wh, room)

    n_dis = 0 if choices["distractors"] == "none" else int(rng.integers(spec.n_distractors[0],
                                                                          spec.n_distractors[1] + 1))
    n_obj = 1 + n_dis
    side_t = rng.uniform(*spec.target_side) * scale_ref
    sides = np.concatenate([[side_t], side_t * np.exp(rng.uniform(-0.2, 0.2, n_dis))])
    aspects = np.exp(rng.uniform(-0.5, 0.5, n_obj))
    sprites = make_sprite_set(rng, choices["object"], choices["distractors"], sides, aspects, photo)
    sides = np.array([sp.side for sp in sprites])  # the drawn objects' own sizes (a blob fills part of its box)
    side_t = float(sides[0])

    # log-scale range and trend: wide ranges get a steady trend so the sequence really spans them
    log_limit = 0.5 * np.log(max(spec.scale_change, 1.0))
    scale_rate = (rng.choice([-1.0, 1.0]) * 2.2 * log_limit / n_frames) if spec.scale_change >= 2 else 0.0
    aspect_limit = spec.aspect_change

    movers: list[_Mover] = []
    logs0 = -np.sign(scale_rate) * 0.8 * log_limit  # a trend starts at one end of its range
    reach = 1.1 * side_t * np.exp(logs0) * np.exp(0.5 * abs(np.log(aspects[0]))) * (1.5 if spec.rotation else 1.0)
    tc = rng.uniform(np.minimum(reach, 0.45 * frame_wh), frame_wh - np.minimum(reach, 0.45 * frame_wh))
    movers.append(_Mover(rng, tc, side_t, frame_wh, choices["motion"], (0.04, 0.10)))
    movers[0].logs, movers[0].scale_rate = float(logs0), float(scale_rate)
    for k in range(1, n_obj):
        best, best_gap = tc, -np.inf
        for attempt in range(300):  # near the target first, then anywhere; keep the widest gap
            if attempt < 100:
                a = rng.uniform(0, 2 * np.pi)
                c = tc + rng.uniform(1.3, 3.5) * side_t * np.array([np.cos(a), np.sin(a)])
            else:
                c = rng.uniform(0, 1, 2) * frame_wh
            c = np.clip(c, 0.6 * sides[k], frame_wh - 0.6 * sides[k])
            gap = min(float(np.max(np.abs(c - m.c) - 0.75 * (sides[k] + m.side))) for m in movers)
            if gap > best_gap:
                best, best_gap = c, gap
            if gap >= 3:
                break
        movers.append(_Mover(rng, best, sides[k], frame_wh, choices["motion"], (0.06, 0.14)))
    chase = rng.uniform(*spec.chase)

    def distractor_goal(m: _Mover):
        state = {"crossed": False}

        def goal() -> np.ndarray:
            t = movers[0]
            if not state["crossed"] and rng.random() < chase:  # a pass through the target
                state["crossed"] = True
                ahead = t.c + 6 * t.v
                d = ahead - m.c
                u = d / (np.linalg.norm(d) + 1e-6)
                g = ahead + u * rng.uniform(0.8, 1.6) * t.side + np.array([-u[1], u[0]]) * rng.uniform(-.3, .3) * t.side
                return np.clip(g, 0.3 * m.side, frame_wh - 0.3 * m.side)
            state["crossed"] = False
            if rng.random() < 0.3:
                return m.random_goal()
            a = rng.uniform(0, 2 * np.pi)  # linger in the target's neighbourhood
            g = t.c + rng.uniform(1.2, 2.2) * t.side * np.array([np.cos(a), np.sin(a)])
            return np.clip(g, 0.3 * m.side, frame_wh - 0.3 * m.side)
        return goal

    # leave and come back: between `leave` and `back` the target heads out past the nearest border
    leave = back = -1
    if n_frames >= 40 and rng.random() < spec.leave_frame:
        leave = int(rng.integers(n_frames // 4, n_frames // 2))
        back = leave + int(rng.integers(8, 16))
    target = movers[0]

    def target_goal() -> np.ndarray:
        if target.outside:
            c = target.c
            edge = int(np.argmin(np.concatenate([c, frame_wh - c])))
            g = c.copy()
            axis = edge % 2
            g[axis] = -1.5 * target.side if edge < 2 else frame_wh[axis] + 1.5 * target.side
            return g
        return target.random_goal()

    # an occluder crossing the target for a stretch: full (bigger than it) or partial (smaller)
    occ = None
    if n_frames >= 30 and rng.random() < spec.occlusion:
        start = int(rng.integers(n_frames // 5, n_frames - 15))
        length = int(rng.integers(8, 16))
        full = rng.random() < 0.5
        rel = rng.uniform(1.4, 1.9) if full else rng.uniform(0.5, 0.8)
        a = rng.uniform(0, 2 * np.pi)
        direction = np.array([np.cos(a), np.sin(a)])
        occ = {"start": start, "length": length, "rel": rel, "dir": direction, "full": full,
               "sprite": make_occluder_sprite(rng, canvas)}
    choices["occlusion"] = None if occ is None else ("full" if occ["full"] else "partial")
    choices["leaves_frame"] = leave >= 0

    effects: dict = {}
    if "illumination" in choices["degradations"]:
        gain = np.exp(np.cumsum(rng.normal(0, 0.02, n_frames)).clip(-0.5, 0.4))
        yy, xx = np.mgrid[0:fh, 0:fw].astype(np.float32)
        a = rng.uniform(0, 2 * np.pi)
        ramp = (np.cos(a) * (xx - fw / 2) + np.sin(a) * (yy - fh / 2)) / max(fw, fh)
        grad = (1.0 + rng.uniform(0.2, 0.6) * ramp).astype(np.float32)
        effects["illumination"] = (gain, int(rng.integers(n_frames // 3, n_frames)), rng.uniform(0.55, 0.8), grad)
    if "noise" in choices["degradations"]:
        effects["noise"] = float(rng.uniform(3, 12))
    if "jpeg" in choices["degradations"]:
        effects["jpeg"] = int(rng.integers(15, 45))
    motion_blur = "motion_blur" in choices["degradations"]

    min_px, max_px = 12.0 * scale_ref, 0.4 * min(fw, fh)
    goal_fns = [target_goal] + [distractor_goal(m) for m in movers[1:]]
    depth = np.argsort(np.concatenate([[rng.uniform(-0.5, n_obj - 0.5) if rng.random() < 0.6 else -1.0],
                                       rng.permutation(n_obj - 1).astype(np.float64)]))
    frames: list[np.ndarray] = []
    boxes = np.zeros((n_frames, 4), np.float64)
    dboxes = np.zeros((n_frames, n_dis, 4), np.float64)
    vis = np.zeros((n_frames, n_obj), np.float64)
    cover = np.zeros(n_frames, np.int64)
    cut = np.zeros(n_frames, bool)
    for f in range(n_frames):
        if f > 0:
            camera.step()
            if f in (leave, back):  # head out past the nearest border (or back in), fast enough to get there
                target.outside = f == leave
                target.goal, target.timer = target_goal(), 40
                dist = float(np.linalg.norm(target.goal - target.c))
                target.boost = max(2.0, dist / (6.0 * target.vmax))
            for m, g in zip(movers, goal_fns):
                m.step(g)
                m.drift_shape(log_limit, aspect_limit, spec.rotation)
        for m in movers:  # apparent sizes stay trackable: at least ~12 px, at most 40% of the frame
            apparent = camera.zoom * np.exp(m.logs) * m.side
            m.logs += float(np.log(np.clip(apparent, min_px, max_px) / apparent))
        frame = camera.background(canvas).astype(np.float32)
        labels = np.full((fh, fw), -1, np.int16)
        totals = np.zeros(n_obj + 1, np.int64)
        drawn: list[tuple[int, tuple[int, int, int, int]]] = []
        for k in depth:
            m = movers[k]
            scale = camera.zoom * float(np.exp(m.logs))
            aspect = float(np.exp(m.loga))
            sprite = transform_sprite(sprites[k], scale, aspect, m.angle)
            if motion_blur and f > 0:
                sprite = blur_sprite(sprite, camera.zoom * m.v)
            centre = camera.to_frame(m.c)
            top_left = centre - 0.5 * np.array(sprite.alpha.shape[::-1])
            if k == 0 and not draw_target:
                box, totals[k] = _paste(frame.copy(), labels, sprite, top_left, k)
            else:
                box, totals[k] = _paste(frame, labels, sprite, top_left, k)
            drawn.append((int(k), box))
            if k == 0:
                h_full, w_full = sprite.alpha.shape
                tl = centre - 0.5 * np.array([w_full, h_full])
                ys, xs = np.nonzero(sprite.alpha >= 0.5)
                full = (tl[0] + xs.min(), tl[1] + ys.min(), tl[0] + xs.max() + 1, tl[1] + ys.max() + 1)
                cut[f] = box[2] > 0 and (round(full[0]) < 0 or round(full[1]) < 0 or round(full[2]) > fw
                                         or round(full[3]) > fh)
        if occ is not None and occ["start"] <= f < occ["start"] + occ["length"]:
            t_frac = (f - occ["start"] + 0.5) / occ["length"]
            t_side = camera.zoom * np.exp(target.logs) * target.side
            centre = camera.to_frame(target.c) + (t_frac - 0.5) * 2.2 * t_side * occ["dir"]
            o_sprite = transform_sprite(occ["sprite"], occ["rel"] * t_side / occ["sprite"].side, 1.0, 0.0)
            _paste(frame, labels, o_sprite, centre - 0.5 * np.array(o_sprite.alpha.shape[::-1]), n_obj)
        for k, box in drawn:
            if box[2] > 0:
                x, y, w, h = box
                vis[f, k] = np.count_nonzero(labels[y:y + h, x:x + w] == k) / max(int(totals[k]), 1)
            if k == 0:
                boxes[f] = box
            else:
                dboxes[f, k - 1] = box
        frac = float(vis[f, 0])
        cover[f] = 8 if frac >= 1.0 else (0 if frac <= 0.0 else max(1, int(np.floor(frac * 8))))
        frames.append(_degrade(frame, effects, f, rng))
    if cover[0] == 0:
        raise RuntimeError("the first frame must show the target")  # placement guarantees it
    return RenderedSequence(frames=frames, boxes=boxes, absent=cover == 0, cover=cover, cut_by_image=cut,
                            distractor_boxes=dboxes, visible_fraction=vis,
                            object_class=f"{spec.name}_{choices['object']}", choices=choices)
