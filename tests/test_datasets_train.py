"""Training datasets on synthetic data in each real on-disk layout: loading, bad input, caching."""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from lib.data.synthetic import writers as W
from lib.train.dataset import (
    CustomDataset,
    FrameReadError,
    Got10k,
    Lasot,
    MSCOCOSeq,
    TrackingNet,
    build_train_dataset,
    train_dataset_names,
)
from lib.utils.settings import env_settings


def _boxes(dataset, seq_id):
    return dataset.get_sequence_info(seq_id)["bbox"].numpy()


def test_got10k_train_full_and_val(root):
    base = root("got10k_dir")
    written = W.write_got10k(base, "train", n_sequences=3)
    W.write_got10k(base, "val", n_sequences=2)
    ds = build_train_dataset("GOT10K_train_full")
    assert isinstance(ds, Got10k) and ds.get_name() == "got10k" and ds.label == "GOT10K_train_full"
    assert ds.is_video_sequence()
    assert ds.get_num_sequences() == 3 and ds.get_num_frames(0) == 6
    for i, name in enumerate(written):
        np.testing.assert_allclose(_boxes(ds, i), written[name], atol=1e-3)
    info = ds.get_sequence_info(0)
    assert info["bbox"].dtype == torch.float32 and info["valid"].dtype == torch.bool
    assert info["visible"].tolist() == [True, True, False, True, True, True]
    assert info["visible_ratio"].tolist() == [1, 1, 0, 0.5, 1, 1]
    frames, anno, meta = ds.get_frames(0, [0, 3, 5])
    assert len(frames) == 3 and frames[0].shape == (72, 96, 3) and frames[0].dtype == np.uint8
    assert torch.equal(anno["bbox"][1], info["bbox"][3]) and set(anno) >= {"bbox", "valid", "visible"}
    assert meta["object_class_name"] == "astronaut" and meta["nlp"] is None and not ds.has_language()
    assert ds.has_class_info() and ds.get_sequences_in_class("astronaut") == [0]
    val = build_train_dataset("GOT10K_val_folder")
    assert len(val) == 2 and "Val" in val.get_sequence_name(0)


def test_got10k_vot_splits(root, tmp_path):
    written = list(W.write_got10k(root("got10k_dir"), "train", n_sequences=3))
    split = tmp_path / "split.txt"
    split.write_text("2\n0\n")
    ds = Got10k("vottrain", split_file=split)
    assert [ds.get_sequence_name(i) for i in range(len(ds))] == [written[2], written[0]]
    split.write_text(f"{written[1]}\n")
    assert Got10k("votval", split_file=split).get_sequence_name(0) == written[1]
    with pytest.raises(FileNotFoundError, match="nothere.txt"):
        Got10k("vottrain", split_file=tmp_path / "nothere.txt")
    split.write_text("7\n")
    with pytest.raises(ValueError, match="split.txt:1"):
        Got10k("votval", split_file=split)


# names drawn from the shipped lists: lasot_train_split.txt and the derived lasot_test_split.txt
LASOT_TRAIN = ("airplane-10", "cat-2", "cat-4")
LASOT_TEST = ("airplane-1", "cat-1")


@pytest.mark.parametrize("testing_set", [None, ["cat-2", "cat-4"], list(LASOT_TEST)])
def test_lasot_trains_on_the_train_list_only(root, testing_set):
    base = root("lasot_dir")
    written = W.write_lasot(base, names=LASOT_TRAIN + LASOT_TEST + ("cat-21",), testing=testing_set or ())
    if testing_set == ["cat-2", "cat-4"]:  # a root testing_set.txt that contradicts the shipped split
        with pytest.warns(UserWarning, match="testing_set.txt differs"):
            ds = build_train_dataset("LASOT")
    else:
        ds = build_train_dataset("LASOT")
    assert isinstance(ds, Lasot)
    names = [ds.get_sequence_name(i) for i in range(len(ds))]
    assert names == list(LASOT_TRAIN)  # never a test name, nor cat-21 (in neither list)
    np.testing.assert_array_equal(_boxes(ds, 1), written["cat-2"])
    assert ds.get_sequence_info(0)["visible"].tolist() == [True, False, True, True, True, False]
    _, _, meta = ds.get_frames(1, [0])
    assert ds.has_language() and meta["nlp"] == "the cat moving across the picture"
    assert meta["object_class_name"] == "cat" and ds.get_class_list() == ["airplane", "cat"]


def test_trackingnet_sets(root):
    base = root("trackingnet_dir")
    w0 = W.write_trackingnet(base, "TRAIN_0")
    w1 = W.write_trackingnet(base, "TRAIN_1", n_videos=1)
    assert len(build_train_dataset("TRACKINGNET")) == 3
    ds = TrackingNet(sets=[1])
    assert len(ds) == 1 and ds.get_sequence_name(0) == next(iter(w1))
    np.testing.assert_array_equal(_boxes(ds, 0), next(iter(w1.values())))
    assert ds.get_frame_path(0, 0).endswith(f"TRAIN_1/frames/{next(iter(w1))}/0.jpg")
    assert ds.get_frames(0, [5])[0][0].shape == (72, 96, 3)
    assert len(TrackingNet(sets=["TRAIN_0"])) == len(w0)
    with pytest.raises(FileNotFoundError, match="TRAIN_7"):
        TrackingNet(sets=[7])


def test_coco_objects_as_one_frame_sequences(root):
    usable = W.write_coco(root("coco_dir"), n_images=2)
    with pytest.warns(UserWarning, match="instances_train2017.json: bbox .* no positive size"):
        ds = build_train_dataset("COCO17")
    assert isinstance(ds, MSCOCOSeq) and not ds.is_video_sequence()
    assert len(ds) == len(usable) == 4 and len(ds.skipped) == 2  # crowd and tiny filtered, zero-width skipped
    for i, obj in enumerate(usable):
        np.testing.assert_array_equal(_boxes(ds, i)[0], obj["bbox"])
        assert ds.get_meta(i)["object_class_name"] == obj["category"]
    frames, anno, meta = ds.get_frames(1, [0, 0, 0])
    assert len(frames) == 3 and frames[0].shape == (72, 96, 3) and frames[0] is not frames[1]
    assert len(anno["bbox"]) == 3 and meta["nlp"] is None and ds.get_num_frames(1) == 1
    assert ds.get_class_list() == ["cat", "person"] and ds.get_sequences_in_class("cat") == [1, 3]


def test_custom_dataset(root):
    written = W.write_custom(root("custom_dir"))
    ds = build_train_dataset("CUSTOM")
    assert isinstance(ds, CustomDataset) and len(ds) == 2
    i = [ds.get_sequence_name(k) for k in range(2)].index("walk")
    np.testing.assert_array_equal(_boxes(ds, i), written["walk"])
    assert ds.get_sequence_info(i)["visible"].tolist() == [True, True, False, True, True, True]
    assert ds.get_frames(i, [0])[2]["nlp"] == "the astronaut patch"


def test_bad_sequences_skipped_and_counted(root):
    base = root("got10k_dir")
    names = list(W.write_got10k(base, "train", n_sequences=5))
    split = base / "train"
    (split / names[1] / "groundtruth.txt").unlink()
    gt = split / names[2] / "groundtruth.txt"
    lines = gt.read_text().splitlines()
    lines[3] = "12.0,oops,3"
    gt.write_text("\n".join(lines) + "\n")
    (split / names[3] / "groundtruth.txt").write_text("0,0,0,0\n" * 6)
    (split / names[4] / "00000006.jpg").unlink()
    with pytest.warns(UserWarning) as record:
        ds = Got10k("train_full")
    assert len(ds) == 1 and ds.get_sequence_name(0) == names[0]
    reasons = dict(ds.skipped)
    assert list(reasons) == names[1:]
    assert f"{names[1]}/groundtruth.txt" in reasons[names[1]]
    assert f"{names[2]}/groundtruth.txt" in reasons[names[2]] and "line 4: '12.0,oops,3'" in reasons[names[2]]
    assert "positive width and height" in reasons[names[3]]
    assert "missing frame files" in reasons[names[4]] and "5 images" in reasons[names[4]]
    text = " ".join(str(w.message) for w in record)
    assert all(n in text for n in names[1:]) and "line 4" in text
    for n in names[:1]:
        (split / n / "groundtruth.txt").write_text("x\n")
    with pytest.raises(ValueError, match="no usable sequences"), pytest.warns(UserWarning):
        Got10k("train_full", use_cache=False)


def test_unreadable_frame_raises_frame_read_error(root):
    W.write_got10k(root("got10k_dir"), "train", n_sequences=1)
    ds = Got10k("train_full")
    path = Path(ds.get_frame_path(0, 4))
    path.write_bytes(b"garbage")
    with pytest.raises(FrameReadError, match=path.name) as err:
        ds.get_frames(0, [0, 4])
    assert err.value.path == str(path)
    path.unlink()
    with pytest.raises(FrameReadError, match=path.name):
        ds.get_frames(0, [4])


def test_cache_hit_and_stale_rebuild(root, monkeypatch):
    base = root("lasot_dir")
    written = W.write_lasot(base, names=("cat-2", "cat-4"))
    first = Lasot()
    assert not first.cache_hit
    cache_dir = Path(env_settings().cache_dir)
    files = sorted(p.suffix for p in cache_dir.iterdir())
    assert files == [".json", ".npz"]
    with np.load(next(cache_dir.glob("*.npz")), allow_pickle=False) as data:
        assert "boxes" in data.files
    json.loads(next(cache_dir.glob("*.json")).read_text())

    def no_parse(self, name):
        raise AssertionError("cache hit must not parse annotations")

    monkeypatch.setattr("lib.data.layouts.rgb.LasotLayout.read", no_parse)
    second = Lasot()
    assert second.cache_hit and len(second) == len(first)
    for i in range(len(first)):
        assert first.get_sequence_name(i) == second.get_sequence_name(i)
        for key in ("bbox", "valid", "visible"):
            assert torch.equal(first.get_sequence_info(i)[key], second.get_sequence_info(i)[key])
        assert first.get_meta(i) == second.get_meta(i)
        assert first.get_frame_path(i, 3) == second.get_frame_path(i, 3)
    monkeypatch.undo()
    monkeypatch.setenv("SUTRACK_LASOT_DIR", str(base))
    gt = base / "cat" / "cat-2" / "groundtruth.txt"
    boxes = written["cat-2"].copy()
    boxes[0] = [1, 2, 30, 40]
    gt.write_text("".join(",".join(f"{v:g}" for v in b) + "\n" for b in boxes))
    st = gt.stat()
    os.utime(gt, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    third = Lasot()
    assert not third.cache_hit
    np.testing.assert_array_equal(_boxes(third, 0), boxes)
    assert Lasot().cache_hit


def test_six_channel_frames_through_read_frame_override(root):
    W.write_custom(root("custom_dir"))

    class RGBX(CustomDataset):
        def _read_frame(self, seq_id, frame_id):
            rgb = super()._read_frame(seq_id, frame_id)
            return np.concatenate([rgb, 255 - rgb], axis=2)

    frames, _, _ = RGBX(use_cache=False).get_frames(0, [0, 1])
    assert frames[0].shape == (72, 96, 6)


def test_names_unknown_and_missing_root(tmp_path, monkeypatch):
    assert set(train_dataset_names()) >= {"LASOT", "GOT10K_vottrain", "GOT10K_votval", "GOT10K_train_full",
                                          "GOT10K_val", "COCO17", "TRACKINGNET", "CUSTOM"}
    with pytest.raises(ValueError, match="unknown training dataset 'VID'") as err:
        build_train_dataset("VID")
    assert "GOT10K_vottrain" in str(err.value) and "COCO17" in str(err.value)
    with pytest.raises(FileNotFoundError, match="lasot_dir.*not set"):
        build_train_dataset("LASOT")
    missing = tmp_path / "no" / "got10k"
    monkeypatch.setenv("SUTRACK_GOT10K_DIR", str(missing))
    with pytest.raises(FileNotFoundError, match="got10k_dir") as err:
        build_train_dataset("GOT10K_train_full")
    assert str(missing) in str(err.value)
    missing.mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match=r"got10k_dir.*train/"):
        build_train_dataset("GOT10K_train_full")
