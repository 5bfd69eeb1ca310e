"""Our metrics against the `got10k` package's functions (same definitions) and hand-computed examples."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from got10k.experiments.got10k import ExperimentGOT10k
from got10k.experiments.otb import ExperimentOTB
from got10k.utils.metrics import center_error as g10k_center_error
from got10k.utils.metrics import rect_iou

from lib.test.analysis import metrics as M

TOL = 1e-6


def random_boxes(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Float gt boxes and predictions near them, far away, outside the image and of zero size."""
    gt = np.c_[rng.uniform(0, 400, (n, 2)), rng.uniform(5, 120, (n, 2))]
    pred = gt + rng.normal(0, 6, (n, 4))
    pred[:, 2:] = np.abs(pred[:, 2:])
    far = rng.random(n) < 0.1
    pred[far, :2] += 500
    outside = rng.random(n) < 0.1
    pred[outside, :2] = -rng.uniform(10, 200, (outside.sum(), 2))
    zero = rng.random(n) < 0.05
    pred[zero, 2] = 0.0
    return pred, gt


def edge_sequence(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A sequence with absent frames, zero-size ground truth and out-of-image predictions."""
    pred, gt = random_boxes(rng, n)
    gt[rng.random(n) < 0.1, 2] = 0.0  # zero-width ground truth
    gt[rng.random(n) < 0.05, 3] = -1.0  # negative height (invalid)
    visible = rng.random(n) > 0.15  # LaSOT-style absent frames
    return pred, gt, visible


def test_iou_and_center_error_match_got10k():
    pred, gt = random_boxes(np.random.default_rng(0), 2000)
    np.testing.assert_allclose(M.box_iou(pred, gt), rect_iou(pred.copy(), gt.copy()), atol=TOL)
    np.testing.assert_allclose(M.center_error(pred, gt), g10k_center_error(pred, gt), atol=TOL)
    # the -1 of the centre convention cancels in differences, so scaling boxes by the gt size gives
    # got10k's centre error of the normalised definition
    scale = np.c_[gt[:, 2:], gt[:, 2:]]
    np.testing.assert_allclose(M.center_error(pred, gt, normalized=True),
                               g10k_center_error(pred / scale, gt / scale), atol=TOL)


def test_pixel_convention_iou_equals_continuous():
    pred, gt = random_boxes(np.random.default_rng(1), 500)
    tl = np.maximum(pred[:, :2], gt[:, :2])
    br = np.minimum(pred[:, :2] + pred[:, 2:] - 1.0, gt[:, :2] + gt[:, 2:] - 1.0)
    inter = np.clip(br - tl + 1.0, 0, None).prod(1)
    pytracking = inter / (pred[:, 2:].prod(1) + gt[:, 2:].prod(1) - inter)
    np.testing.assert_allclose(M.box_iou(pred, gt), pytracking, atol=TOL)


def test_degenerate_boxes_give_zero_not_nan():
    boxes = np.array([[0, 0, 0, 0], [5, 5, 0, 10], [np.nan, 0, 10, 10], [0, 0, np.inf, 10], [0, 0, -5, 10]])
    gt = np.array([[0, 0, 0, 0], [5, 5, 10, 10], [0, 0, 10, 10], [0, 0, 10, 10], [0, 0, 10, 10]])
    iou = M.box_iou(boxes, gt)
    assert np.isfinite(iou).all() and (iou == 0).all()
    err = M.center_error(boxes, gt, normalized=True)
    assert not np.isnan(err).any() and np.isinf(err[[0, 2, 3]]).all()
    np.testing.assert_allclose(M.box_iou([[0, 0, 0, 0]], [[0, 0, 0, 0]]), rect_iou(np.zeros((1, 4)), np.zeros((1, 4))))


def got10k_ope_reference(sequences) -> dict[str, float]:
    """pytracking's OPE scores computed with got10k's rect_iou, center_error and ExperimentOTB curves."""
    experiment = SimpleNamespace(nbins_iou=21, nbins_ce=51)  # pytracking's 0:0.05:1 and 0..50 px
    succ, prec, norm = [], [], []
    for pred, gt, visible in sequences:
        pred = pred.copy()
        pred[0] = gt[0]
        valid = (gt[:, 2] > 0) & (gt[:, 3] > 0) & visible
        p, g = pred[valid], gt[valid]
        s, pr = ExperimentOTB._calc_curves(experiment, rect_iou(p.copy(), g.copy()), g10k_center_error(p, g))
        scale = np.c_[g[:, 2:], g[:, 2:]]
        norm_err = g10k_center_error(p / scale, g / scale)
        succ.append(s)
        prec.append(pr)
        norm.append((norm_err[:, None] <= np.arange(51)[None] / 100.0).mean(0))
    succ, prec, norm = (np.mean(c, axis=0) for c in (succ, prec, norm))
    return {"AUC": 100 * succ.mean(), "OP50": 100 * succ[10], "OP75": 100 * succ[15],
            "Precision": 100 * prec[20], "Norm Precision": 100 * norm[20]}


def test_ope_scores_match_got10k_with_edge_cases():
    rng = np.random.default_rng(2)
    sequences = [edge_sequence(rng, n) for n in (50, 300, 1000, 7)]
    ours = M.ope_metrics([s[0] for s in sequences], [s[1] for s in sequences], [s[2] for s in sequences])
    reference = got10k_ope_reference(sequences)
    assert ours.keys() == reference.keys()
    for key in ours:
        assert ours[key] == pytest.approx(reference[key], abs=TOL), key


def test_first_frame_is_ground_truth_and_invalid_frames_excluded():
    gt = np.array([[10, 10, 20, 20], [10, 10, 20, 20], [10, 10, 0, 0], [10, 10, 20, 20]], float)
    pred = np.array([[500, 500, 5, 5], [10, 10, 20, 20], [400, 400, 5, 5], [300, 300, 5, 5]], float)
    errors = M.sequence_errors(pred, gt)
    np.testing.assert_array_equal(errors.iou, [1, 1, 0, 0])
    np.testing.assert_array_equal(errors.valid, [True, True, False, True])
    curves = M.ope_curves([errors])
    assert curves.success[0] == pytest.approx(2 / 3)  # 3 valid frames, 2 of them overlap
    kept = M.ope_curves([errors], exclude_invalid=False)  # pytracking's default counts it as a failure
    assert kept.success[0] == pytest.approx(2 / 4)


def test_got10k_ao_sr_match_experiment_pooled():
    rng = np.random.default_rng(3)
    resolution = (320, 240)
    ours_ious, theirs_ious, times = [], [], []
    for n in (40, 120, 9):
        pred, gt = random_boxes(rng, n)
        pred[::7, 0] = 300.0  # boxes crossing the right border get clipped
        cover = rng.integers(0, 9, n)
        ours_ious.append(M.got10k_ious(pred, gt, resolution, cover))
        theirs = rect_iou(pred[1:].copy(), gt[1:].copy(), bound=resolution)
        theirs_ious.append(theirs[cover[1:] > 0])
        times.append(rng.uniform(0.01, 0.1, n))
    scores, curve = M.got10k_summary(ours_ious)
    pooled = np.concatenate(theirs_ious)
    ao, sr, speed, succ_curve = ExperimentGOT10k._evaluate(None, pooled, np.concatenate(times))
    assert scores["AO"] == pytest.approx(100 * ao, abs=TOL)
    assert scores["SR0.50"] == pytest.approx(100 * sr, abs=TOL)
    assert scores["SR0.75"] == pytest.approx(100 * np.mean(pooled > 0.75), abs=TOL)
    np.testing.assert_allclose(curve, succ_curve, atol=TOL)
    assert M.fps(times) == pytest.approx(speed, rel=TOL)


def test_rgbt_metrics_hand_computed():
    gt_v = np.array([[0, 0, 10, 10]] * 3, float)
    gt_i = np.array([[0, 0, 10, 10], [25, 0, 10, 10], [0, 0, 0, 0]], float)  # infrared gt absent in frame 2
    pred = np.array([[99, 99, 1, 1], [25, 0, 10, 10], [0, 0, 10, 20]], float)
    # visible: IoU [1, 0, 0.5], centre errors [0, 25, 5], normalised [0, 2.5, 0.5]
    # better gt per frame: IoU [1, 1, 0.5], centre errors [0, 0, 5]
    scores = M.rgbt_metrics([pred], [gt_v], [gt_i])
    expected = {"SR": 100 * 10 / 21, "PR": 100 * 2 / 3, "NPR": 100 / 3, "MSR": 100 * 50 / 63, "MPR": 100.0}
    for key, value in expected.items():
        assert scores[key] == pytest.approx(value, abs=TOL), key


def test_longterm_metrics_hand_computed():
    box = [0, 0, 10, 10]
    # sequence A: frames 1, 2 visible with IoU 1 and 0.5, frame 3 absent; scores 0.9, 0.6, 0.3
    gt_a = np.array([box, box, box, [0, 0, 0, 0]], float)
    pred_a = np.array([box, box, [0, 0, 10, 20], box], float)
    conf_a = np.array([np.nan, 0.9, 0.6, 0.3])
    # sequence B: frame 1 missed (IoU 0, score 0.8), frame 2 hit (IoU 1, score 0.4)
    gt_b = np.array([box, box, box], float)
    pred_b = np.array([box, [50, 50, 10, 10], box], float)
    conf_b = np.array([1.0, 0.8, 0.4])
    # thresholds inf, .9, .8, .6, .4, .3, -inf -> averaged Pr (1, 1, .5, .375, .625, .5, .5),
    # Re (0, .25, .25, .375, .625, .625, .625): F is highest (0.625) at 0.4
    result = M.longterm_metrics([pred_a, pred_b], [gt_a, gt_b], [conf_a, conf_b])
    np.testing.assert_allclose(result.thresholds, [np.inf, 0.9, 0.8, 0.6, 0.4, 0.3, -np.inf])
    np.testing.assert_allclose(result.precision_curve, [1, 1, 0.5, 0.375, 0.625, 0.5, 0.5])
    np.testing.assert_allclose(result.recall_curve, [0, 0.25, 0.25, 0.375, 0.625, 0.625, 0.625])
    assert (result.threshold, result.precision, result.recall, result.f_score) == pytest.approx((0.4, 0.625,
                                                                                                0.625, 0.625))
    assert result.summary() == pytest.approx({"Pr": 62.5, "Re": 62.5, "F": 62.5})
    # absence given by target_visible instead of a zero-size box: same numbers
    gt_a_visible_box = gt_a.copy()
    gt_a_visible_box[3] = box
    again = M.longterm_metrics([pred_a, pred_b], [gt_a_visible_box, gt_b], [conf_a, conf_b],
                               [np.array([1, 1, 1, 0]), None])
    assert again.f_score == pytest.approx(0.625)


def test_longterm_thresholds_subsample_like_vot():
    scores = np.random.default_rng(4).random(1000)
    thresholds = M.longterm_thresholds([scores[:400], scores[400:]], resolution=100)
    assert thresholds.shape == (100,) and thresholds[0] == np.inf and thresholds[-1] == -np.inf
    assert np.all(np.diff(thresholds) <= 0)
    delta = 1000 // 98
    ranked = np.sort(scores)[::-1]
    assert thresholds[1] == ranked[delta] and thresholds[-2] == ranked[1000 - delta]
