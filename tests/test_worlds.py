"""World families: every listed axis is covered, sequences are deterministic and their labels truthful.

The label checks are independent of the renderer's own bookkeeping: the same sequence is rendered again
without painting the target, and the pixels that differ are the target's.
"""
from __future__ import annotations

import importlib
from dataclasses import replace

import numpy as np
import pytest

from lib.data.synthetic.demo import sequence_rng
from lib.data.synthetic.worlds import FAMILIES, WorldSpec, render_sequence, world
from lib.data.synthetic.worlds.engine import BACKGROUNDS, CAMERAS, DEGRADATIONS, DISTRACTORS, MOTIONS, OBJECT_KINDS

SIZE = (200, 150)


def test_families_cover_every_axis() -> None:
    specs = list(FAMILIES.values())
    assert len(specs) >= 5
    for field, allowed in (("objects", OBJECT_KINDS), ("backgrounds", BACKGROUNDS), ("cameras", CAMERAS),
                           ("motions", MOTIONS), ("distractors", DISTRACTORS), ("degradations", DEGRADATIONS)):
        covered = {v for s in specs for v in getattr(s, field)}
        assert covered == set(allowed), (field, set(allowed) - covered)
    assert max(s.scale_change for s in specs) >= 3 and any(s.aspect_change > 0 for s in specs)
    assert any(s.rotation > 0 for s in specs) and any(s.occlusion > 0 for s in specs)
    assert any(s.leave_frame > 0 for s in specs)
    for name in FAMILIES:  # each family is a module whose docstring says what it varies
        doc = importlib.import_module(f"lib.data.synthetic.worlds.{name}").__doc__
        assert doc.startswith(f"World `{name}`") and "Varies:" in doc


def test_unknown_family_and_bad_spec_are_named() -> None:
    with pytest.raises(ValueError, match="unknown world family 'nope'.*outlined"):
        world("nope")
    with pytest.raises(ValueError, match="'sparkly'"):
        WorldSpec(name="x", objects=("sparkly",), backgrounds=("flat",))


@pytest.mark.parametrize("name", list(FAMILIES))
def test_deterministic_and_labels_consistent(name: str) -> None:
    spec = FAMILIES[name]
    a = render_sequence(sequence_rng(3, "train", name, 0), spec, 24, SIZE)
    b = render_sequence(sequence_rng(3, "train", name, 0), spec, 24, SIZE)
    c = render_sequence(sequence_rng(3, "train", name, 1), spec, 24, SIZE)
    assert all(np.array_equal(x, y) for x, y in zip(a.frames, b.frames)) and np.array_equal(a.boxes, b.boxes)
    assert not np.array_equal(a.frames[5], c.frames[5])
    w, h = SIZE
    assert all(f.shape == (h, w, 3) and f.dtype == np.uint8 for f in a.frames)
    assert a.cover[0] == 8 and not a.cut_by_image[0]  # the first frame shows the whole target
    assert np.array_equal(a.absent, a.cover == 0)
    x, y, bw, bh = a.boxes.T
    assert np.all((x >= 0) & (y >= 0) & (x + bw <= w) & (y + bh <= h))
    assert np.all(a.cover[bw == 0] == 0)  # a box outside the frame means absent


def _target_pixels(spec: WorldSpec, seed: int, n: int):
    shown = render_sequence(np.random.default_rng(seed), spec, n, SIZE)
    hidden = render_sequence(np.random.default_rng(seed), spec, n, SIZE, draw_target=False)
    masks = [np.any(s.astype(int) != h.astype(int), axis=2) for s, h in zip(shown.frames, hidden.frames)]
    return shown, masks


@pytest.mark.parametrize("kind", ["outlined", "silhouette", "blob", "patch"])
def test_box_and_cover_match_the_painted_target(kind: str) -> None:
    """Hard-edged kinds: the changed pixels' extent equals the box whenever the target is whole (cover 8);
    every kind: changed pixels stay inside the box's neighbourhood and vanish when cover is 0."""
    spec = WorldSpec(name="check", objects=(kind,), backgrounds=("clutter", "photo"), cameras=("shake", "zoom"),
                     motions=("abrupt", "fast"), distractors=("lookalike",), scale_change=4.0, rotation=30.0,
                     occlusion=1.0, leave_frame=1.0)
    whole = 0
    for seed in range(3):
        seq, masks = _target_pixels(spec, seed, 48)
        for f, mask in enumerate(masks):
            x, y, w, h = seq.boxes[f].astype(int)
            if seq.cover[f] == 0:
                assert mask.sum() <= 2 * (w + h) + 4, (seed, f)  # at most less-than-half-covered edge pixels
                continue
            ys, xs = np.nonzero(mask)
            # the box is the extent of pixels at least half covered: anti-aliased edges (slanted ones too) add
            # a few less-covered pixels around it, a patch's faded rim more
            margin = 1 if kind != "patch" else int(0.3 * max(w, h)) + 2
            inside = (xs >= x - margin) & (xs < x + w + margin) & (ys >= y - margin) & (ys < y + h + margin)
            assert np.count_nonzero(~inside) <= 2 * (w + h) + 4, (seed, f, np.count_nonzero(~inside))
            if seq.cover[f] == 8 and kind != "patch":
                # anti-aliasing (a rotated corner's pixels are less than half covered) moves an edge by <= 2 px
                assert abs(xs.min() - x) <= 2 and abs(xs.max() + 1 - x - w) <= 2, (seed, f)
                assert abs(ys.min() - y) <= 2 and abs(ys.max() + 1 - y - h) <= 2, (seed, f)
                whole += 1
    assert kind == "patch" or whole > 30


def test_axes_happen_in_the_sequences() -> None:
    """What the families promise shows in their labels: 3x scale change, leaving and returning, full occlusion."""
    def ratio(seq) -> float:
        sides = np.sqrt(seq.boxes[seq.cover == 8, 2] * seq.boxes[seq.cover == 8, 3])
        return float(sides.max() / sides.min())

    scale = [ratio(render_sequence(sequence_rng(0, "val", "patches", i), world("patches"), 80, (320, 240)))
             for i in range(3)]
    assert max(scale) >= 3.0, scale
    left = hidden = 0
    for i in range(6):
        seq = render_sequence(sequence_rng(0, "val", "cutouts", i), world("cutouts"), 80, (320, 240))
        out = np.flatnonzero(seq.boxes[:, 2] == 0)
        left += int(out.size > 0 and seq.cover[out.max() + 1:].max(initial=0) > 0)  # gone, then back
        hidden += int(np.any((seq.cover == 0) & (seq.boxes[:, 2] > 0)))  # in the frame, fully covered
    assert left >= 1 and hidden >= 1, (left, hidden)


def test_distractor_relations() -> None:
    """twin_colour shares the target's texture in another colour; twin_texture its colour with another texture."""
    def first_frame_objects(relation: str):
        spec = WorldSpec(name="rel", objects=("patch",), backgrounds=("flat",), distractors=(relation,),
                         n_distractors=(2, 2))
        seq = render_sequence(np.random.default_rng(5), spec, 2, (320, 240))
        crops = []
        for box in [seq.boxes[0]] + list(seq.distractor_boxes[0]):
            x, y, w, h = box.astype(int)
            crops.append(seq.frames[0][y + h // 4:y + 3 * h // 4, x + w // 4:x + 3 * w // 4].astype(float))
        return crops

    def texture(c):  # luminance pattern, mean and contrast removed
        lum = c.mean(axis=2)
        return (lum - lum.mean()) / (lum.std() + 1e-6)

    twins = first_frame_objects("twin_colour")
    means = [c.reshape(-1, 3).mean(0) for c in twins]
    assert min(np.linalg.norm(m - means[0]) for m in means[1:]) > 20
    same = first_frame_objects("twin_texture")
    means = [c.reshape(-1, 3).mean(0) for c in same]
    assert max(np.linalg.norm(m - means[0]) for m in means[1:]) < 25


def test_spec_replace_keeps_validation() -> None:
    with pytest.raises(ValueError, match="empty"):
        replace(world("outlined"), cameras=())
