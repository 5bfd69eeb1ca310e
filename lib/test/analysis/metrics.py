"""Tracking benchmark metrics on plain numpy arrays: pytracking OPE, GOT-10k, RGB-T and long-term RGB-D.

Boxes are (N, 4) float arrays of (x, y, w, h), one row per frame; row 0 is the initialisation frame.
Definitions follow REFERENCE.md section 6:

- OPE (pytracking `extract_results`): the first frame's prediction is replaced by the ground truth; frames
  whose ground truth is invalid (w or h <= 0, not finite, or `target_visible` False) are excluded; each
  sequence gives a success curve (IoU > t, t = 0:0.05:1), a precision curve (centre error <= t px,
  t = 0..50) and a normalised precision curve (centre error / gt size <= t, t = 0..0.5); the curves are
  averaged over sequences. AUC = mean of the success curve, OP50/OP75 = success at 0.5/0.75, Precision at
  20 px, Norm Precision at 0.2, all x 100.
- GOT-10k (`got10k` ExperimentGOT10k): frames 1.. only, both boxes bounded by the image resolution,
  frames with cover == 0 dropped, IoUs of all sequences pooled: AO, SR0.50, SR0.75, curve over 101 points.
- RGBT234 MPR/MSR: per frame the better of the visible and infrared ground truths.
- Long-term (DepthTrack, VOT-RGBD; VOT toolkit `PrecisionRecall`): precision/recall/F over confidence
  thresholds, per-sequence curves averaged, the F-maximising threshold reported.

IoU uses pytracking's +1/-1 pixel convention, which equals the continuous IoU of (x, y, w, h) boxes;
degenerate or non-finite boxes give IoU 0 and centre error inf, never NaN.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

OVERLAP_THRESHOLDS = np.linspace(0.0, 1.0, 21)
CENTER_THRESHOLDS = np.arange(0, 51, dtype=np.float64)
NORM_CENTER_THRESHOLDS = np.arange(0, 51, dtype=np.float64) / 100.0
GOT10K_THRESHOLDS = np.linspace(0.0, 1.0, 101)
PRECISION_PX = 20.0
NORM_PRECISION_AT = 0.2
LONGTERM_RESOLUTION = 100


def as_boxes(boxes, name: str = "boxes") -> np.ndarray:
    """Return `boxes` as a float64 (N, 4) array; a single box becomes (1, 4). Raises on other shapes."""
    arr = np.asarray(boxes, dtype=np.float64)
    if arr.ndim == 1 and arr.size == 4:
        arr = arr[None]
    if arr.ndim != 2 or arr.shape[1] != 4:
        raise ValueError(f"{name}: expected (N, 4) xywh boxes, got shape {arr.shape}")
    return arr


def box_iou(pred, gt) -> np.ndarray:
    """Row-wise IoU of two (N, 4) xywh arrays; degenerate (w or h <= 0) or non-finite rows give 0."""
    p, g = as_boxes(pred, "pred"), as_boxes(gt, "gt")
    if p.shape != g.shape:
        raise ValueError(f"box_iou: shapes differ, {p.shape} vs {g.shape}")
    p_wh, g_wh = np.clip(p[:, 2:], 0.0, None), np.clip(g[:, 2:], 0.0, None)
    inter_wh = np.minimum(p[:, :2] + p_wh, g[:, :2] + g_wh) - np.maximum(p[:, :2], g[:, :2])
    inter_wh = np.clip(inter_wh, 0.0, None)
    inter = inter_wh.prod(axis=1)
    union = p_wh.prod(axis=1) + g_wh.prod(axis=1) - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = np.where(union > 0, inter / union, 0.0)
    finite = np.isfinite(p).all(axis=1) & np.isfinite(g).all(axis=1) & np.isfinite(iou)
    return np.where(finite, np.clip(iou, 0.0, 1.0), 0.0)


def box_centers(boxes) -> np.ndarray:
    """Centres with pytracking's pixel convention, x + (w - 1) / 2 (and likewise y)."""
    b = as_boxes(boxes)
    return b[:, :2] + 0.5 * (b[:, 2:] - 1.0)


def center_error(pred, gt, normalized: bool = False) -> np.ndarray:
    """Centre distance in pixels, or divided per axis by the gt size when `normalized`; invalid -> inf."""
    p, g = as_boxes(pred, "pred"), as_boxes(gt, "gt")
    diff = box_centers(p) - box_centers(g)
    with np.errstate(invalid="ignore", divide="ignore"):
        if normalized:
            diff = diff / g[:, 2:]
        err = np.sqrt((diff**2).sum(axis=1))
    return np.where(np.isfinite(err), err, np.inf)


def valid_frames(gt, target_visible=None) -> np.ndarray:
    """Frames with a usable ground truth: finite, w > 0, h > 0 and (where given) target visible."""
    g = as_boxes(gt, "gt")
    valid = np.isfinite(g).all(axis=1) & (np.nan_to_num(g[:, 2]) > 0) & (np.nan_to_num(g[:, 3]) > 0)
    if target_visible is not None:
        visible = np.asarray(target_visible).astype(bool).reshape(-1)
        if visible.shape[0] != g.shape[0]:
            raise ValueError(f"target_visible has {visible.shape[0]} entries for {g.shape[0]} gt frames")
        valid &= visible
    return valid


def success_curve(ious, thresholds=OVERLAP_THRESHOLDS) -> np.ndarray:
    """Fraction of frames with IoU strictly above each threshold (pytracking and got10k use '>')."""
    ious = np.asarray(ious, dtype=np.float64).reshape(-1, 1)
    return (ious > np.asarray(thresholds)[None]).mean(axis=0)


def precision_curve(errors, thresholds=CENTER_THRESHOLDS) -> np.ndarray:
    """Fraction of frames with centre error at most each threshold."""
    errors = np.asarray(errors, dtype=np.float64).reshape(-1, 1)
    return (errors <= np.asarray(thresholds)[None]).mean(axis=0)


def value_at(curve: np.ndarray, thresholds: np.ndarray, at: float) -> float:
    """The curve's value at the threshold nearest to `at` (e.g. success at 0.5, precision at 20 px)."""
    return float(curve[int(np.argmin(np.abs(np.asarray(thresholds) - at)))])


@dataclass
class SequenceErrors:
    """Per-frame IoU, centre error and normalised centre error of one sequence, with its valid frames."""

    iou: np.ndarray
    center: np.ndarray
    norm_center: np.ndarray
    valid: np.ndarray


def sequence_errors(pred, gt, target_visible=None) -> SequenceErrors:
    """pytracking's per-frame errors: the first prediction is set to the gt, invalid gt frames flagged."""
    p, g = as_boxes(pred, "pred").copy(), as_boxes(gt, "gt")
    if p.shape[0] != g.shape[0]:
        raise ValueError(f"prediction has {p.shape[0]} frames, ground truth {g.shape[0]}")
    if len(p):
        p[0] = g[0]
    return SequenceErrors(box_iou(p, g), center_error(p, g), center_error(p, g, normalized=True),
                          valid_frames(g, target_visible))


def best_of_errors(first: SequenceErrors, second: SequenceErrors) -> SequenceErrors:
    """Per frame the better of two evaluations (max IoU, min errors) over the gts valid there (RGBT234)."""
    def pick(a: SequenceErrors, b: SequenceErrors, field: str, worst: float, best) -> np.ndarray:
        return best(np.where(a.valid, getattr(a, field), worst), np.where(b.valid, getattr(b, field), worst))

    return SequenceErrors(pick(first, second, "iou", -1.0, np.maximum),
                          pick(first, second, "center", np.inf, np.minimum),
                          pick(first, second, "norm_center", np.inf, np.minimum),
                          first.valid | second.valid)


@dataclass
class OPECurves:
    """Success, precision and normalised precision curves averaged over sequences, with their scores."""

    success: np.ndarray
    precision: np.ndarray
    norm_precision: np.ndarray
    num_sequences: int

    def summary(self) -> dict[str, float]:
        """AUC, OP50, OP75, Precision (20 px) and Norm Precision (0.2), in percent."""
        return {
            "AUC": 100.0 * float(self.success.mean()),
            "OP50": 100.0 * value_at(self.success, OVERLAP_THRESHOLDS, 0.5),
            "OP75": 100.0 * value_at(self.success, OVERLAP_THRESHOLDS, 0.75),
            "Precision": 100.0 * value_at(self.precision, CENTER_THRESHOLDS, PRECISION_PX),
            "Norm Precision": 100.0 * value_at(self.norm_precision, NORM_CENTER_THRESHOLDS,
                                               NORM_PRECISION_AT),
        }


def ope_curves(errors: Sequence[SequenceErrors], exclude_invalid: bool = True) -> OPECurves:
    """Average per-sequence curves; invalid frames dropped (or failures when not `exclude_invalid`).

    Sequences without a single valid frame carry no information and are skipped.
    """
    curves = []
    for e in errors:
        if not e.valid.any():
            continue
        if exclude_invalid:
            iou, center, norm = e.iou[e.valid], e.center[e.valid], e.norm_center[e.valid]
        else:  # pytracking's default (exclude_invalid_frames=False): invalid frames fail every threshold
            iou = np.where(e.valid, e.iou, -1.0)
            center, norm = (np.where(e.valid, c, np.inf) for c in (e.center, e.norm_center))
        curves.append((success_curve(iou), precision_curve(center, CENTER_THRESHOLDS),
                       precision_curve(norm, NORM_CENTER_THRESHOLDS)))
    if not curves:
        nan = np.full(OVERLAP_THRESHOLDS.shape, np.nan)
        return OPECurves(nan, np.full(CENTER_THRESHOLDS.shape, np.nan),
                         np.full(NORM_CENTER_THRESHOLDS.shape, np.nan), 0)
    success, precision, norm_precision = (np.mean(np.stack(c), axis=0) for c in zip(*curves))
    return OPECurves(success, precision, norm_precision, len(curves))


def ope_metrics(preds: Sequence, gts: Sequence, target_visible: Sequence | None = None) -> dict[str, float]:
    """AUC, OP50, OP75, Precision, Norm Precision of paired prediction / gt arrays (one pair per sequence)."""
    visible = target_visible if target_visible is not None else [None] * len(gts)
    return ope_curves([sequence_errors(p, g, v) for p, g, v in zip(preds, gts, visible)]).summary()


def clip_to_image(boxes, resolution) -> np.ndarray:
    """Bound xywh boxes by the image (W, H) exactly as got10k's rect_iou does.

    x is clipped to [0, W] and then w to [0, W - x] (the right edge is not moved when x is clipped);
    likewise y, h. Kept so that AO/SR agree with the GOT-10k toolkit and server.
    """
    b = as_boxes(boxes).copy()
    width, height = float(resolution[0]), float(resolution[1])
    for axis, bound in ((0, width), (1, height)):
        b[:, axis] = np.clip(b[:, axis], 0.0, bound)
        b[:, axis + 2] = np.clip(b[:, axis + 2], 0.0, bound - b[:, axis])
    return b


def got10k_ious(pred, gt, resolution, cover=None) -> np.ndarray:
    """GOT-10k IoUs of one sequence: frames 1.., boxes bounded by the image, cover == 0 frames dropped."""
    p, g = as_boxes(pred, "pred"), as_boxes(gt, "gt")
    if p.shape != g.shape:
        raise ValueError(f"prediction has {p.shape[0]} frames, ground truth {g.shape[0]}")
    ious = box_iou(clip_to_image(p[1:], resolution), clip_to_image(g[1:], resolution))
    if cover is not None:
        cover = np.asarray(cover).reshape(-1)
        if cover.shape[0] != g.shape[0]:
            raise ValueError(f"cover has {cover.shape[0]} entries for {g.shape[0]} gt frames")
        ious = ious[cover[1:] > 0]
    return ious


def got10k_summary(ious_per_sequence: Sequence[np.ndarray]) -> tuple[dict[str, float], np.ndarray]:
    """AO, SR0.50, SR0.75 (percent) and the 101-point success curve of IoUs pooled over all sequences."""
    ious = np.concatenate([np.asarray(i, dtype=np.float64).reshape(-1) for i in ious_per_sequence] or [[]])
    if ious.size == 0:
        return {"AO": np.nan, "SR0.50": np.nan, "SR0.75": np.nan}, np.full(GOT10K_THRESHOLDS.shape, np.nan)
    scores = {"AO": 100.0 * float(ious.mean()), "SR0.50": 100.0 * float((ious > 0.5).mean()),
              "SR0.75": 100.0 * float((ious > 0.75).mean())}
    return scores, success_curve(ious, GOT10K_THRESHOLDS)


def fps(times_per_sequence: Sequence[np.ndarray]) -> float:
    """Mean of 1 / time over all frames with a positive finite time (got10k's speed); NaN without any."""
    times = np.concatenate([np.asarray(t, dtype=np.float64).reshape(-1) for t in times_per_sequence] or [[]])
    times = times[np.isfinite(times) & (times > 0)]
    return float(np.mean(1.0 / times)) if times.size else float("nan")


def rgbt_metrics(preds: Sequence, gts_visible: Sequence, gts_infrared: Sequence | None = None,
                 exclude_invalid: bool = True) -> dict[str, float]:
    """LasHeR PR/NPR/SR on the visible gt; with infrared gts also RGBT234 MPR/MSR (better gt per frame).

    A None among `gts_infrared` makes that sequence's MPR/MSR use its visible gt only.
    """
    visible = [sequence_errors(p, g) for p, g in zip(preds, gts_visible)]
    base = ope_curves(visible, exclude_invalid).summary()
    scores = {"PR": base["Precision"], "NPR": base["Norm Precision"], "SR": base["AUC"]}
    if gts_infrared is not None:
        best = ope_curves([v if g is None else best_of_errors(v, sequence_errors(p, g))
                           for v, p, g in zip(visible, preds, gts_infrared)], exclude_invalid).summary()
        scores.update({"MPR": best["Precision"], "MSR": best["AUC"]})
    return scores


@dataclass
class LongTermResult:
    """Long-term precision / recall / F at the F-maximising confidence threshold, with the curves."""

    precision: float
    recall: float
    f_score: float
    threshold: float
    thresholds: np.ndarray
    precision_curve: np.ndarray
    recall_curve: np.ndarray

    def summary(self) -> dict[str, float]:
        """Pr, Re, F in percent."""
        return {"Pr": 100.0 * self.precision, "Re": 100.0 * self.recall, "F": 100.0 * self.f_score}


def longterm_thresholds(confidences: Sequence[np.ndarray],
                        resolution: int = LONGTERM_RESOLUTION) -> np.ndarray:
    """VOT toolkit thresholds: up to resolution - 2 pooled scores, evenly by rank, framed by +inf and -inf."""
    scores = np.concatenate([np.asarray(c, dtype=np.float64).reshape(-1) for c in confidences] or [[]])
    scores = np.sort(scores[~np.isnan(scores)])[::-1]
    if scores.size > resolution - 2:
        delta = scores.size // (resolution - 2)
        idx = np.round(np.linspace(delta, scores.size - delta, resolution - 2)).astype(int)
        scores = scores[idx]
    return np.concatenate([[np.inf], scores, [-np.inf]])


def longterm_metrics(preds: Sequence, gts: Sequence, confidences: Sequence,
                     target_visible: Sequence | None = None,
                     resolution: int = LONGTERM_RESOLUTION) -> LongTermResult:
    """DepthTrack / VOT-RGBD Pr, Re, F over confidence thresholds, on frames 1.. (frame 0 is the init box).

    For threshold t a frame counts as reported when its score >= t (NaN: never). Per sequence
    Pr(t) = mean IoU over reported frames (1 when none, as VOT), Re(t) = sum of reported IoUs over the
    number of visible frames; IoU is 0 where the target is absent. Curves are averaged over sequences,
    F = 2 Pr Re / (Pr + Re), and the first F-maximising threshold is reported.
    """
    if not len(preds) or not (len(preds) == len(gts) == len(confidences)):
        raise ValueError(f"longterm_metrics: need matching non-empty lists, got {len(preds)} predictions, "
                         f"{len(gts)} gts, {len(confidences)} confidence arrays")
    visible_flags = target_visible if target_visible is not None else [None] * len(gts)
    confs = [np.asarray(c, dtype=np.float64).reshape(-1) for c in confidences]
    for c, g in zip(confs, gts):
        if c.shape[0] != len(g):
            raise ValueError(f"{c.shape[0]} confidences for {len(g)} frames")
    thresholds = longterm_thresholds([c[1:] for c in confs], resolution)
    pr_curves, re_curves = [], []
    for p, g, c, v in zip(preds, gts, confs, visible_flags):
        g = as_boxes(g, "gt")
        visible = valid_frames(g, v)[1:]
        iou = np.where(visible, box_iou(as_boxes(p, "pred")[1:], g[1:]), 0.0)
        reported = c[1:, None] >= thresholds[None]
        n_reported = reported.sum(axis=0)
        overlap = (iou[:, None] * reported).sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            pr_curves.append(np.where(n_reported > 0, overlap / np.maximum(n_reported, 1), 1.0))
            re_curves.append(overlap / visible.sum() if visible.any() else np.full(thresholds.shape, np.nan))
    pr = np.mean(np.stack(pr_curves), axis=0)
    re_all = np.stack(re_curves)
    has_visible = ~np.isnan(re_all[:, 0])  # sequences without a visible frame have no recall
    re = re_all[has_visible].mean(axis=0) if has_visible.any() else np.zeros_like(pr)
    with np.errstate(invalid="ignore", divide="ignore"):
        f = np.where(pr + re > 0, 2 * pr * re / (pr + re), 0.0)
    best = int(np.argmax(f))
    return LongTermResult(float(pr[best]), float(re[best]), float(f[best]), float(thresholds[best]),
                          thresholds, pr, re)
