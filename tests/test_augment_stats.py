"""Generalisation augmentations (DATA.AUG) and the paired bootstrap used to compare trackers over sequences."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
import scipy.stats

from lib.config.sutrack_dinov3.config import get_default_config
from lib.test.analysis.stats import bootstrap_interval, paired_difference
from lib.train.data.augment import CropAugment, occlude, recolour


def _crop(seed: int = 0, size: int = 64) -> np.ndarray:
    rng = np.random.default_rng(seed)
    img = rng.integers(0, 256, (size // 8, size // 8, 3)).astype(np.uint8)
    return cv2.resize(img, (size, size), interpolation=cv2.INTER_NEAREST)


def test_defaults_are_off_as_in_sutrack() -> None:
    aug = CropAugment.from_cfg(get_default_config().DATA.AUG)
    assert not aug.active


def test_hue_rotation_is_shared_by_template_and_search() -> None:
    """A pure red patch in both crops: after colour jitter their hues differ by at most the per-group wobble."""
    red = np.zeros((32, 32, 3), np.uint8)
    red[..., 0] = 200
    aug = CropAugment(color_jitter=0.4)
    rotations = []
    for seed in range(20):
        t, s = aug([red, red], [np.array([.25, .25, .5, .5])] * 2, 1, np.random.default_rng(seed))
        ht, hs = (int(cv2.cvtColor(im[:1, :1], cv2.COLOR_RGB2HSV)[0, 0, 0]) for im in (t, s))
        d = abs(ht - hs)
        assert min(d, 180 - d) <= 0.4 / 20 * 180 * 2 + 1, (seed, ht, hs)
        rotations.append(ht)
    assert len(set(rotations)) > 5  # but the shared rotation itself varies from sample to sample


def test_recolour_identity_and_channels() -> None:
    img = np.concatenate([_crop(1), _crop(2)], axis=2)  # RGB-X: only the first three channels are recoloured
    assert np.array_equal(recolour(img, 1.0, 1.0, 0.0), img)
    out = recolour(img, 1.3, 0.5, 0.2)
    assert np.array_equal(out[..., 3:], img[..., 3:]) and not np.array_equal(out[..., :3], img[..., :3])


def test_search_only_augmentations_leave_the_template_alone() -> None:
    template, search = _crop(3), _crop(4)
    aug = CropAugment(blur_prob=1.0, degrade_prob=1.0, occlude_prob=1.0)
    t, s = aug([template, search], [np.array([.3, .3, .4, .4])] * 2, 1, np.random.default_rng(0))
    assert np.array_equal(t, template) and not np.array_equal(s, search)


@pytest.mark.parametrize("seed", range(30))
def test_occluder_covers_part_of_the_target_only(seed: int) -> None:
    img = np.full((64, 64, 3), 128, np.uint8)
    box = np.array([0.25, 0.3, 0.4, 0.3])  # x y w h, normalised
    out = occlude(img, box, 0.6, np.random.default_rng(seed))
    changed = np.any(out != img, axis=2)
    x, y, w, h = (box * 64).round().astype(int)
    inside = changed[y:y + h, x:x + w].sum()
    assert inside <= 0.6 * 1.7 * w * h + 1  # at most OCCLUDE_MAX of the box (aspect wobble of up to 1.3x)
    assert inside < w * h  # part of the target always stays in view
    ys, xs = np.nonzero(changed)
    if xs.size:  # the patch overlaps the box
        assert xs.max() >= x and xs.min() < x + w and ys.max() >= y and ys.min() < y + h


def test_bootstrap_matches_scipy_and_hand_cases() -> None:
    assert bootstrap_interval([0.3] * 12) == pytest.approx((0.3, 0.3, 0.3))
    values = np.random.default_rng(1).normal(0.1, 0.2, 40)
    mean, lo, hi = bootstrap_interval(values, n_resamples=20000)
    ref = scipy.stats.bootstrap((values,), np.mean, method="percentile", n_resamples=20000, random_state=3)
    assert mean == pytest.approx(values.mean())
    assert lo == pytest.approx(ref.confidence_interval.low, abs=0.01)
    assert hi == pytest.approx(ref.confidence_interval.high, abs=0.01)
    assert bootstrap_interval(values) == bootstrap_interval(values)  # fixed seed: reruns agree


def test_paired_difference_pairs_items() -> None:
    a = np.array([0.5, 0.6, 0.7, 0.8])
    d = paired_difference(a, a - 0.1)  # the same shift on every item: no spread at all
    assert (d.mean, d.lo, d.hi) == pytest.approx((0.1, 0.1, 0.1)) and d.excludes_zero
    unpaired = paired_difference(a, a[::-1])
    assert unpaired.mean == pytest.approx(0.0) and unpaired.lo < 0 < unpaired.hi and not unpaired.excludes_zero
    assert str(d) == "+0.100 [+0.100, +0.100]"
    with pytest.raises(ValueError, match="one to one"):
        paired_difference(a, a[:3])
    with pytest.raises(ValueError, match="not finite"):
        paired_difference(a, [0.1, np.nan, 0.1, 0.1])
