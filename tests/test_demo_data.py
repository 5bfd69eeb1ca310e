"""Demo data builder and GOT-10k writer: determinism, full layout, the held-out family kept apart."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from lib.data.synthetic.demo import build_demo_data
from lib.data.synthetic.got10k_format import write_got10k_list, write_got10k_sequence

SIZE = (160, 120)
FRAMES = 8


def _tree_bytes(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def tiny_build(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    build_demo_data(out, n_train=2, n_val=1, n_frames=FRAMES, size=SIZE, seed=7, workers=1, progress=False,
                    worlds=["outlined", "blobs", "cutouts"], heldout="cutouts")
    return out


def test_same_seed_same_bytes(tiny_build: Path, tmp_path: Path) -> None:
    worlds = dict(worlds=["outlined", "blobs", "cutouts"], heldout="cutouts")
    build_demo_data(tmp_path / "a", 2, 1, FRAMES, SIZE, seed=7, workers=2, progress=False, **worlds)
    build_demo_data(tmp_path / "b", 2, 1, FRAMES, SIZE, seed=8, workers=1, progress=False, **worlds)
    ref = _tree_bytes(tiny_build)
    assert _tree_bytes(tmp_path / "a") == ref
    other = _tree_bytes(tmp_path / "b")
    assert other.keys() == ref.keys() and other != ref


def test_got10k_layout_complete(tiny_build: Path) -> None:
    splits = (("got10k/train", "train", 2), ("got10k/val", "val", 1), ("heldout/got10k/val", "val", 1))
    for folder, split, n in splits:
        split_dir = tiny_build / folder
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
            visible = labels["cover"] > 0
            assert np.all(boxes[visible, 2:] > 0) and np.all(boxes[:, :2] >= 0)
            assert np.all(boxes[:, 0] + boxes[:, 2] <= w) and np.all(boxes[:, 1] + boxes[:, 3] <= h)
            meta = (seq / "meta_info.ini").read_text().splitlines()
            assert meta[0] == "[METAINFO]"
            assert meta[5].startswith("object_class: ")  # readers index these lines by position
            assert f"resolution: ({w}, {h})" in meta


def test_heldout_family_kept_apart(tiny_build: Path) -> None:
    """Training splits interleave the training families; the held-out family appears only in heldout/."""
    def families(split_dir: Path) -> list[str]:
        names = (split_dir / "list.txt").read_text().split()
        return [next(line.split(": ")[1] for line in (split_dir / n / "meta_info.ini").read_text().splitlines()
                     if line.startswith("major_class: ")) for n in names]

    assert families(tiny_build / "got10k" / "train") == ["outlined", "blobs"]
    assert families(tiny_build / "got10k" / "val") == ["outlined"]
    assert families(tiny_build / "heldout" / "got10k" / "val") == ["cutouts"]


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
