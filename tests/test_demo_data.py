"""Demo data builder and GOT-10k writer: determinism, truthful boxes, full layout, distractors."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from lib.data.synthetic.demo import _sequence_rng, build_demo_data, render_sequence
from lib.data.synthetic.got10k_format import write_got10k_list, write_got10k_sequence

SIZE = (160, 120)
FRAMES = 8


def _tree_bytes(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def tiny_build(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    build_demo_data(out, n_train=2, n_val=1, n_frames=FRAMES, size=SIZE, seed=7, workers=1, progress=False)
    return out


def test_same_seed_same_bytes(tiny_build: Path, tmp_path: Path) -> None:
    build_demo_data(tmp_path / "a", 2, 1, FRAMES, SIZE, seed=7, workers=1, progress=False)
    build_demo_data(tmp_path / "b", 2, 1, FRAMES, SIZE, seed=8, workers=1, progress=False)
    ref = _tree_bytes(tiny_build)
    assert _tree_bytes(tmp_path / "a") == ref
    other = _tree_bytes(tmp_path / "b")
    assert other.keys() == ref.keys() and other != ref


def test_got10k_layout_complete(tiny_build: Path) -> None:
    for split, n in (("train", 2), ("val", 1)):
        split_dir = tiny_build / "got10k" / split
        names = (split_dir / "list.txt").read_text().split()
        assert len(names) == n and names[0] == f"GOT-10k_{split.capitalize()}_000001"
        for name in names:
            seq = split_dir / name
            jpgs = sorted(seq.glob("*.jpg"))
            assert [p.name for p in jpgs] == [f"{i:08d}.jpg" for i in range(1, FRAMES + 1)]
            gt = (seq / "groundtruth.txt").read_text().splitlines()
            assert len(gt) == FRAMES
            for line in gt:
                vals = line.split(",")
                assert len(vals) == 4 and all(len(v.split(".")[1]) == 4 for v in vals)
            boxes = np.loadtxt(seq / "groundtruth.txt", delimiter=",")
            labels = {k: np.loadtxt(seq / f"{k}.label", dtype=int) for k in ("absence", "cover", "cut_by_image")}
            for v in labels.values():
                assert v.shape == (FRAMES,)
            assert np.all((labels["cover"] >= 0) & (labels["cover"] <= 8))
            assert np.array_equal(labels["absence"] == 1, labels["cover"] == 0)
            assert labels["cover"][0] == 8 and labels["cut_by_image"][0] == 0
            img = cv2.imread(str(jpgs[0]))
            h, w = img.shape[:2]
            assert (w, h) == SIZE
            assert np.all(boxes[:, 2:] > 0) and np.all(boxes[:, :2] >= 0)
            assert np.all(boxes[:, 0] + boxes[:, 2] <= w) and np.all(boxes[:, 1] + boxes[:, 3] <= h)
            meta = (seq / "meta_info.ini").read_text().splitlines()
            assert meta[0] == "[METAINFO]"
            assert meta[5].startswith("object_class: ")  # readers index these lines by position
            assert f"resolution: ({w}, {h})" in meta


def test_boxes_match_drawn_target() -> None:
    checked = 0
    for i in range(3):
        seq = render_sequence(_sequence_rng(1, "train", i), 30, (320, 240))
        colors = seq.object_colors
        for f in np.flatnonzero(seq.cover == 8):
            x, y, w, h = seq.boxes[f].astype(int)
            core = seq.frames[f][y + h // 4:y + 3 * h // 4, x + w // 4:x + 3 * w // 4].reshape(-1, 3)
            d = np.linalg.norm(colors - core.mean(0), axis=1)
            assert d.argmin() == 0 and d[0] < 40, (i, f, d)
            checked += 1
        # the box is tight: the target's dark outline lies just inside its left and right edges
        f = int(np.flatnonzero(seq.cover == 8)[0])
        x, y, w, h = seq.boxes[f].astype(int)
        frame = seq.frames[f].astype(int)
        assert frame[y + h // 2, x].sum() < frame[y + h // 2, x + w // 2 - 3:x + w // 2 + 3].sum(1).mean()
    assert checked > 30


def test_distractors_look_alike_and_cross() -> None:
    crossings = 0
    for i in range(4):
        seq = render_sequence(_sequence_rng(2, "val", i), 60, (320, 240))
        t, d = seq.boxes, seq.distractor_boxes
        assert 2 <= d.shape[1] <= 4
        side_t = np.sqrt(t[0, 2] * t[0, 3])
        side_d = np.sqrt(d[0, :, 2] * d[0, :, 3])
        assert np.all((side_d > 0.7 * side_t) & (side_d < 1.4 * side_t))
        assert np.all(seq.visible_fraction[0] > 0.99)  # first frame: every object whole and apart
        centre_t = t[:, :2] + t[:, 2:] / 2
        centre_d = d[:, :, :2] + d[:, :, 2:] / 2
        dist = np.linalg.norm(centre_d - centre_t[:, None], axis=2) / np.sqrt(t[:, 2] * t[:, 3])[:, None]
        assert dist[0].min() > 1.0  # away from the target at the start ...
        crossings += int(dist.min() < 0.5)  # ... and passing close later
        colors = seq.object_colors
        assert np.linalg.norm(colors[1:] - colors[0], axis=1).min() > 30  # distinct in colour
    assert crossings >= 3


def test_writer_test_split_and_errors(tmp_path: Path) -> None:
    frames = [np.full((20, 30, 3), v, np.uint8) for v in (10, 200)]
    boxes = np.array([[1.5, 2, 10, 8], [25, 2, 10, 8]])
    seq = write_got10k_sequence(tmp_path, "T1", frames, boxes, first_frame_only=True)
    assert (seq / "groundtruth.txt").read_text() == "1.5000,2.0000,10.0000,8.0000\n"
    assert not (seq / "absence.label").exists() and len(list(seq.glob("*.jpg"))) == 2
    seq = write_got10k_sequence(tmp_path, "T2", frames, boxes, [0, 1], [8, 0], "thing")
    assert (seq / "cut_by_image.label").read_text() == "0\n1\n"
    assert (seq / "absence.label").read_text() == "0\n1\n"
    write_got10k_list(tmp_path, ["T1", "T2"])
    assert (tmp_path / "list.txt").read_text() == "T1\nT2\n"
    decoded = cv2.imread(str(seq / "00000002.jpg"))
    assert abs(int(decoded.mean()) - 200) <= 1
    with pytest.raises(ValueError, match="T3"):
        write_got10k_sequence(tmp_path, "T3", frames, boxes[:1])
