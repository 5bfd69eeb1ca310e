"""Known-answer tests of box decoding: heads, Hann window, crop <-> image mapping, and the tracker loop.

Every expected number is worked out by hand in the comments (SUTrack's formulas: CENTER box =
((ix + off_x) / W, (iy + off_y) / H, size_w, size_h); crop side = ceil(sqrt(w h) * factor),
x0 = round(cx - side / 2); map back cx = cx_crop / scale + x0; clip_box keeps 10 px inside the image).
Maps are 6 high x 8 wide on purpose, so swapping x and y changes every answer.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from conftest import load_script
from torch import nn

from lib.models.sutrack_dinov3.decoder import CenterHead, CornerHead, MLPHead, cal_bbox, select_box
from lib.test.parameter.sutrack_dinov3 import parameters
from lib.test.tracker import sutrack_dinov3 as tracker_module
from lib.test.tracker.sutrack_dinov3 import SUTrackDINOv3Tracker, hann2d
from lib.utils.box_ops import clip_box, damp_size
from lib.utils.crop import sample_target

H, W = 6, 8


def logit(p: float) -> float:
    return math.log(p / (1 - p))


class Channels(nn.Module):
    """Stands in for a head's tower: returns channels [start, stop) of its input unchanged."""

    def __init__(self, start: int, stop: int):
        super().__init__()
        self.start, self.stop = start, stop

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[..., self.start:self.stop] if x.dim() == 3 else x[:, self.start:self.stop]


def planted_maps(batch: int = 1) -> torch.Tensor:
    """B x 5 x H x W input: channel 0 score logits (-5 everywhere), 1..4 distinct per-cell values."""
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(batch, 5, H, W, generator=gen) * 2 - 1
    x[:, 0] = -5.0
    return x


# ------------------------------------------------------------------------------------------ heads
def test_cal_bbox_planted_peak_batch():
    score = torch.zeros(2, 1, H, W)
    size = torch.rand(2, 2, H, W, generator=torch.Generator().manual_seed(1))
    offset = torch.rand(2, 2, H, W, generator=torch.Generator().manual_seed(2))
    score[0, 0, 2, 5] = 0.9  # sample 0: peak at ix=5, iy=2
    size[0, :, 2, 5] = torch.tensor([0.25, 0.125])
    offset[0, :, 2, 5] = torch.tensor([0.3, 0.6])
    score[1, 0, 4, 1] = 0.7  # sample 1: peak at ix=1, iy=4
    size[1, :, 4, 1] = torch.tensor([0.5, 0.0625])
    offset[1, :, 4, 1] = torch.tensor([0.9, 0.1])
    box, best = cal_bbox(score, size, offset, return_score=True)
    # (5 + 0.3) / 8 = 0.6625, (2 + 0.6) / 6 = 0.4333..; (1 + 0.9) / 8 = 0.2375, (4 + 0.1) / 6 = 0.6833..
    expected = torch.tensor([[0.6625, 2.6 / 6, 0.25, 0.125], [0.2375, 4.1 / 6, 0.5, 0.0625]])
    torch.testing.assert_close(box, expected)
    torch.testing.assert_close(best[:, 0], torch.tensor([0.9, 0.7]))


def test_center_head_planted_peak():
    head = CenterHead(5, 16, 1)
    head.score, head.size, head.offset = Channels(0, 1), Channels(1, 3), Channels(3, 5)
    x = planted_maps()
    x[0, 0, 2, 5] = 4.0  # the peak: ix=5, iy=2
    x[0, 1, 2, 5], x[0, 2, 2, 5] = logit(0.25), logit(0.125)  # size through the sigmoid
    x[0, 3, 2, 5], x[0, 4, 2, 5] = 0.3, 0.6  # offsets as they are
    out = head(x)
    torch.testing.assert_close(out["pred_boxes"][0, 0], torch.tensor([0.6625, 2.6 / 6, 0.25, 0.125]))
    assert out["score_map"].shape == (1, 1, H, W) and out["size_map"].shape == out["offset_map"].shape == (1, 2, H, W)
    assert out["score_map"][0, 0, 2, 5] == out["score_map"].max()


def test_corner_head_planted_corners():
    head = CornerHead(5, 16, 1)
    head.tl, head.br = Channels(0, 1), Channels(1, 2)
    x = torch.zeros(1, 5, H, W)
    x[0, 0, 2, 1] = 60.0  # top-left corner at cell ix=1, iy=2: centre ((1 + .5) / 8, (2 + .5) / 6)
    x[0, 1, 4, 6] = 60.0  # bottom-right at ix=6, iy=4: ((6 + .5) / 8, (4 + .5) / 6)
    out = head(x)
    x0, y0, x1, y1 = 1.5 / 8, 2.5 / 6, 6.5 / 8, 4.5 / 6  # 0.1875, 0.41667, 0.8125, 0.75
    expected = torch.tensor([(x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0])  # 0.5, 0.58333, 0.625, 0.33333
    torch.testing.assert_close(out["pred_boxes"][0, 0], expected, atol=1e-6, rtol=0)
    assert out["score_map"].shape == (1, 1, H, W) and abs(float(out["score_map"].max()) - 1.0) < 1e-6


def test_mlp_head_planted_cell():
    head = MLPHead(5, 16)
    head.score, head.box = Channels(0, 1), Channels(1, 5)  # per-token score logit and box logits
    x = planted_maps()
    x[0, 0, 2, 5] = 4.0  # best cell ix=5, iy=2
    x[0, 1:, 2, 5] = torch.tensor([logit(0.3), logit(0.6), logit(0.2), logit(0.1)])
    out = head(x)
    torch.testing.assert_close(out["pred_boxes"][0, 0], torch.tensor([0.3, 0.6, 0.2, 0.1]))
    assert out["score_map"].shape == (1, 1, H, W)
    assert int(out["score_map"].flatten().argmax()) == 2 * W + 5


# ------------------------------------------------------------------------------------------ window
def test_hann_window_values():
    window = hann2d(H, W)
    assert window.shape == (1, 1, H, W)
    # pytracking's hann1d(n)[k-1] = 0.5 - 0.5 cos(2 pi k / (n + 1)), k = 1..n
    w8 = [0.5 - 0.5 * math.cos(2 * math.pi * k / 9) for k in range(1, 9)]
    h6 = [0.5 - 0.5 * math.cos(2 * math.pi * k / 7) for k in range(1, 7)]
    assert w8[0] == pytest.approx(0.116978, abs=1e-6) and w8[3] == pytest.approx(0.969846, abs=1e-6)
    for iy, ix in ((0, 0), (2, 5), (5, 7), (3, 3)):
        assert float(window[0, 0, iy, ix]) == pytest.approx(h6[iy] * w8[ix], abs=1e-6)


def test_window_moves_to_second_peak():
    score = torch.zeros(1, 1, H, W)
    size = torch.full((1, 2, H, W), 0.2)
    offset = torch.full((1, 2, H, W), 0.5)
    score[0, 0, 0, 0] = 1.0  # highest raw peak, in the corner: window h6[0] * w8[0]
    score[0, 0, 3, 4] = 0.6  # second peak near the centre: window h6[3] * w8[4]
    raw_box, raw_score = select_box({"score_map": score, "size_map": size, "offset_map": offset,
                                     "pred_boxes": cal_bbox(score, size, offset)[:, None]}, None)
    torch.testing.assert_close(raw_box[0], torch.tensor([0.5 / 8, 0.5 / 6, 0.2, 0.2]))
    # corner: (0.5 - 0.5 cos(2pi/7)) (0.5 - 0.5 cos(2pi/9)) = 0.188255 * 0.116978 = 0.022022
    # centre: (0.5 - 0.5 cos(8pi/7)) (0.5 - 0.5 cos(10pi/9)) = 0.950484 * 0.969846 = 0.921824, x 0.6 = 0.553094
    box, best = select_box({"score_map": score, "size_map": size, "offset_map": offset}, hann2d(H, W))
    torch.testing.assert_close(box[0], torch.tensor([4.5 / 8, 3.5 / 6, 0.2, 0.2]))
    assert float(best[0]) == pytest.approx(0.553094, abs=1e-5)


# ------------------------------------------------------------------------------------------ crops
def test_map_back_at_the_image_border():
    image = np.zeros((80, 100, 3), dtype=np.uint8)  # H 80, W 100
    # box (2, 70, 8, 8): centre (6, 74); side = ceil(8 * 4) = 32; x0 = round(6 - 16) = -10, y0 = 58; scale 4
    crop, info = sample_target(image, [2, 70, 8, 8], 4.0, 128)
    assert crop.shape == (128, 128, 3)
    assert (info.x0, info.y0, info.side, info.scale) == (-10.0, 58.0, 32.0, 4.0)
    # crop box (cx, cy, w, h) = (0.25, 0.75, 0.125, 0.25) of 128 px = (32, 96, 16, 32) crop px
    # image: cx = 32 / 4 - 10 = -2, cy = 96 / 4 + 58 = 82 (SUTrack: 8 + 6 - 16, 24 + 74 - 16), w 4, h 8
    back = info.box_to_image([0.25 - 0.0625, 0.75 - 0.125, 0.125, 0.25])
    np.testing.assert_allclose(back, [-4.0, 78.0, 4.0, 8.0], atol=1e-9)
    # clip, margin 10: x0 = min(max(0, -4), 90) = 0, x1 = max(min(100, 0), 10) = 10 -> w 10;
    # y0 = min(max(0, 78), 70) = 70, y1 = max(min(80, 86), 10) = 80 -> h 10
    assert clip_box(back, 80, 100, margin=10) == [0.0, 70.0, 10.0, 10.0]
    # the round trip image -> crop -> image is exact (no half-pixel drift)
    np.testing.assert_allclose(info.box_to_image(info.box_to_crop([3, 71, 5, 6])), [3, 71, 5, 6], atol=1e-9)


def test_crop_content_lands_where_the_map_says():
    image = np.zeros((80, 100, 3), dtype=np.uint8)
    image[60:64, 20:24] = 255  # a 4 x 4 white square at x 20..24, y 60..64
    # box (10, 50, 16, 16): centre (18, 58), side 64, x0 = -14, y0 = 26, scale 2: square at crop x 68..76, y 68..76
    crop, _ = sample_target(image, [10, 50, 16, 16], 4.0, 128)
    ys, xs = np.nonzero(crop[..., 0] > 127)
    assert (xs.min(), xs.max(), ys.min(), ys.max()) == (68, 75, 68, 75)


# ------------------------------------------------------------------------------------------ tracker loop
GRID = 8  # tiny: TEST.SEARCH_SIZE 128 at stride 16


class FixedAnswerNetwork:
    """A network that always answers the same crop-relative box: CENTER maps with the target at cell
    (ix=5, iy=4), offset 0.5, size 0.25 (cal_bbox: cx 5.5 / 8 = 0.6875, cy 4.5 / 8 = 0.5625), and a
    higher distractor in the corner cell (ix=0, iy=7) that only the Hann window suppresses."""

    def __init__(self):
        self.search_shapes: list[tuple[int, ...]] = []

    def encode_template(self, templates, annos):
        return None

    def track_step(self, search, cache, text_src=None) -> dict:
        self.search_shapes.append(tuple(search.shape))
        n = search.shape[-1] // 16
        score = torch.zeros(1, 1, n, n)
        score[0, 0, 4, 5] = 0.9
        score[0, 0, n - 1, 0] = 1.0
        size = torch.full((1, 2, n, n), 0.25)
        offset = torch.full((1, 2, n, n), 0.5)
        distractor = torch.tensor([[[0.5 / n, (n - 0.5) / n, 0.25, 0.25]]])  # what the unwindowed peak gives
        return {"pred_boxes": distractor, "score_map": score, "size_map": size, "offset_map": offset}


@pytest.fixture
def stub_backend(monkeypatch):
    networks = []

    def load(params, device):
        networks.append(FixedAnswerNetwork())
        return networks[-1]

    monkeypatch.setitem(tracker_module.BACKENDS, "fixed_answer", load)
    return networks


def test_tracker_follows_hand_computed_trajectory(stub_backend):
    params = parameters("tiny", random_weights=True)
    params.cfg.defrost()
    params.cfg.TEST.SIZE_LR, params.cfg.TEST.MAX_SCALE_CHANGE = 1.0, 0.0  # SUTrack's update: the head's box as is
    tracker = SUTrackDINOv3Tracker(params, backend="fixed_answer", device="cpu")
    frame = np.zeros((80, 100, 3), dtype=np.uint8)  # blank, W 100 x H 80
    tracker.initialize(frame, {"init_bbox": [40, 30, 16, 16]})
    # While the box is 16 x 16: side 64, scale 2; the crop box (0.6875, 0.5625, 0.25, 0.25) x 128 / 2 =
    # (44, 36, 16, 16) from x0 = cx - 32: the centre moves by (+12, +4) per frame, the size stays 16.
    expected = [
        [52.0, 34.0, 16.0, 16.0],  # centre (48, 38) -> (60, 42)
        [64.0, 38.0, 16.0, 16.0],  # -> (72, 46)
        [76.0, 42.0, 16.0, 16.0],  # -> (84, 50)
        [88.0, 46.0, 12.0, 16.0],  # -> (96, 54): x 88..104 clipped to 88..100
        # from (88, 46, 12, 16): centre (94, 54), side ceil(sqrt(192) * 4) = 56, x0 = 66, y0 = 26, scale 128 / 56;
        # crop px (88, 72, 32, 32) x 56 / 128 = (38.5, 31.5, 14, 14): box (97.5, 50.5, 14, 14), x clipped to 90..100
        [90.0, 50.5, 10.0, 14.0],
    ]
    # windowed score: 0.9 x (0.5 - 0.5 cos(10pi/9)) (0.5 - 0.5 cos(12pi/9)) = 0.9 x 0.969846 x 0.75 = 0.654646
    for want in expected:
        out = tracker.track(frame)
        np.testing.assert_allclose(out["target_bbox"], want, atol=1e-6)
        assert out["best_score"] == pytest.approx(0.654646, abs=1e-5)
    assert stub_backend[0].search_shapes == [(1, 3, 128, 128)] * len(expected)


def test_search_size_override_reaches_crop_and_window(stub_backend, repo_root):
    profile_model = load_script("tracking/profile_model.py")
    params = profile_model.build_params(profile_model.parse_args(["--config", "tiny", "--opts",
                                                                  "TEST.SEARCH_SIZE", "160"]))
    assert params.search_size == 160
    tracker = SUTrackDINOv3Tracker(params, backend="fixed_answer", device="cpu")
    assert tuple(tracker.window.shape) == (1, 1, 10, 10)  # 160 / 4 = 40 -> 20 -> 10 at stride 16
    frame = np.zeros((80, 100, 3), dtype=np.uint8)
    tracker.initialize(frame, {"init_bbox": [40, 30, 16, 16]})
    tracker.track(frame)
    assert stub_backend[0].search_shapes == [(1, 3, 160, 160)]


def test_damp_size_hand_computed():
    previous = [10.0, 20.0, 40.0, 20.0]
    predicted = [0.0, 0.0, 160.0, 10.0]  # centre (80, 5); the width 4x, the height 0.5x
    np.testing.assert_allclose(damp_size(previous, predicted), predicted)  # off: the prediction as is
    # half the change in log scale: width 40 x 4^0.5 = 80, height 20 x 0.5^0.5 = 14.1421; centre kept
    h = 20 * 0.5 ** 0.5
    np.testing.assert_allclose(damp_size(previous, predicted, size_lr=0.5), [40.0, 5 - h / 2, 80.0, h])
    # bounded to 1.5x per frame: width 60, height 20 / 1.5 = 13.3333
    np.testing.assert_allclose(damp_size(previous, predicted, max_scale_change=1.5),
                               [50.0, 5 - 20 / 3, 60.0, 40 / 3])
    # both: the bound first (log 1.5), then half of it: width 40 x 1.5^0.5, height 20 / 1.5^0.5
    w, h = 40 * 1.5 ** 0.5, 20 / 1.5 ** 0.5
    np.testing.assert_allclose(damp_size(previous, predicted, 0.5, 1.5), [80 - w / 2, 5 - h / 2, w, h])


def test_tracker_damps_the_size_change(stub_backend):
    """From a 48 x 12 box the fixed answer is 24 x 24 (size 0.25 of a crop of side 4 sqrt(w h)): damped, each side
    moves half way in log scale (48 -> 33.941, 12 -> 16.971) or at most 1.2x (48 -> 40, 12 -> 14.4)."""
    frame = np.zeros((120, 160, 3), dtype=np.uint8)
    boxes = {}
    for lr, bound in ((1.0, 0.0), (0.5, 0.0), (1.0, 1.2)):
        params = parameters("tiny", random_weights=True)
        params.cfg.defrost()
        params.cfg.TEST.SIZE_LR, params.cfg.TEST.MAX_SCALE_CHANGE = lr, bound
        tracker = SUTrackDINOv3Tracker(params, backend="fixed_answer", device="cpu")
        tracker.initialize(frame, {"init_bbox": [60, 50, 48, 12]})
        boxes[lr, bound] = np.array(tracker.track(frame)["target_bbox"])
    centre = boxes[1.0, 0.0][:2] + boxes[1.0, 0.0][2:] / 2
    np.testing.assert_allclose(boxes[1.0, 0.0][2:], [24.0, 24.0])
    for key, size in (((0.5, 0.0), [48 / 2 ** 0.5, 12 * 2 ** 0.5]), ((1.0, 1.2), [48 / 1.2, 12 * 1.2])):
        np.testing.assert_allclose(boxes[key][2:], size, rtol=1e-9)
        np.testing.assert_allclose(boxes[key][:2] + boxes[key][2:] / 2, centre, rtol=1e-9)


@pytest.mark.parametrize("lr, bound", [(0.0, 0.0), (1.5, 0.0), (1.0, 0.9)])
def test_size_damping_keys_are_checked(lr, bound):
    params = parameters("tiny", random_weights=True)
    params.cfg.defrost()
    params.cfg.TEST.SIZE_LR, params.cfg.TEST.MAX_SCALE_CHANGE = lr, bound
    with pytest.raises(ValueError, match="TEST.SIZE_LR"):
        SUTrackDINOv3Tracker(params, backend="pytorch", device="cpu")
    profile_model = load_script("tracking/profile_model.py")
    args = profile_model.parse_args(["--config", "tiny", "--opts", "TEST.SIZE_LR", str(lr),
                                     "TEST.MAX_SCALE_CHANGE", str(bound)])
    with pytest.raises(ValueError, match="TEST.SIZE_LR"):  # and when the config is loaded
        profile_model.build_params(args)
