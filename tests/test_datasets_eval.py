"""Evaluation datasets and the shared readers, on synthetic data written in each real on-disk layout."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from lib.data.synthetic import writers as W
from lib.test.evaluation import Sequence, dataset_names, get_dataset, load_dataset
from lib.utils.image import (
    AnnotationError,
    FrameReadError,
    list_image_files,
    read_annotation,
    read_image,
    read_label_file,
)


def _check(seqs, written, dataset):
    assert sorted(s.name for s in seqs) == sorted(written)
    for seq in seqs:
        assert isinstance(seq, Sequence) and seq.dataset == dataset
        np.testing.assert_allclose(seq.ground_truth_rect, written[seq.name], atol=1e-3)
        assert seq.init_info()["init_bbox"] == pytest.approx(written[seq.name][0].tolist())


# ------------------------------------------------------------------------------------- readers

def test_read_image_rgb_gray_and_errors(tmp_path):
    frames, _ = W.synthetic_sequence(1)
    path = W.write_frames(tmp_path, frames, "{:d}.png")[0]
    np.testing.assert_array_equal(read_image(path), frames[0])  # PNG: lossless, RGB order kept
    import cv2
    cv2.imwrite(str(tmp_path / "gray.png"), frames[0][..., 0])
    gray = read_image(tmp_path / "gray.png")
    assert gray.shape == (72, 96, 3) and gray.dtype == np.uint8
    with pytest.raises(FrameReadError, match="nope.jpg"):
        read_image(tmp_path / "nope.jpg")
    (tmp_path / "broken.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(FrameReadError, match="broken.jpg") as err:
        read_image(tmp_path / "broken.jpg")
    assert err.value.path.endswith("broken.jpg")


def test_read_annotation_separators_nan_and_bad_lines(tmp_path):
    path = tmp_path / "gt.txt"
    path.write_text("1,2,3,4\n5\t6\t7\t8\n9 10 11 12\nNaN,NaN,NaN,NaN\n\n")
    boxes, bad = read_annotation(path)
    assert bad == [] and boxes.shape == (4, 4)
    np.testing.assert_array_equal(boxes[:3], [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12]])
    assert np.isnan(boxes[3]).all()
    path.write_text("1,2,3,4\n1,2,three,4\n1,2,3\n\n5,6,7,8\n")
    boxes, bad = read_annotation(path)
    assert [n for n, _ in bad] == [2, 3, 4] and bad[0][1] == "1,2,three,4"
    assert boxes.shape == (5, 4) and np.isnan(boxes[1:4]).all() and boxes[4].tolist() == [5, 6, 7, 8]
    with pytest.raises(FileNotFoundError, match="missing.txt"):
        read_annotation(tmp_path / "missing.txt")


def test_read_label_file_formats(tmp_path):
    (tmp_path / "a.txt").write_text("0,1,1,0\n")
    (tmp_path / "b.label").write_text("0\n8\n4\n")
    assert read_label_file(tmp_path / "a.txt").tolist() == [0, 1, 1, 0]
    assert read_label_file(tmp_path / "b.label").tolist() == [0, 8, 4]
    (tmp_path / "c.label").write_text("0\n1\nx\n")
    with pytest.raises(AnnotationError, match=r"c\.label:3"):
        read_label_file(tmp_path / "c.label")


def test_frames_sorted_numerically(tmp_path):
    W.write_frames(tmp_path, W.synthetic_sequence(12)[0], "frame_{:d}.png")
    assert list_image_files(tmp_path)[8:11] == ["frame_9.png", "frame_10.png", "frame_11.png"]


# ------------------------------------------------------------------------------------- datasets

def test_otb_tabs_and_multi_target(root):
    written = W.write_otb(root("otb_dir"))
    seqs = get_dataset("otb")
    _check(seqs, written, "otb")
    assert {"Jogging_1", "Jogging_2"} <= {s.name for s in seqs}
    assert len(seqs["Biker"].frames) == 6 and seqs["Biker"].frames[0].endswith("Biker/img/0001.jpg")


def test_nfs_own_format_subsampled_and_lost(root):
    written = W.write_nfs(root("nfs_dir"))
    seqs = get_dataset("nfs")
    _check(seqs, written, "nfs")
    seq = seqs["nfs_Gymnastics"]
    assert len(seq.frames) == 6 and seq.object_class == "astronaut"
    assert seq.target_visible.tolist() == [True, False, True, True, True, True]


def test_uav123_nan_lines(root):
    written = W.write_uav123(root("uav_dir"))
    seqs = get_dataset("uav")
    assert sorted(s.name for s in seqs) == ["bike1", "boat3"]
    gt = seqs["bike1"].ground_truth_rect
    np.testing.assert_array_equal(gt[:-1], written["bike1"][:-1])
    assert np.isnan(gt[-1]).all() and seqs["bike1"].frames[0].endswith("data_seq/UAV123/bike1/000001.jpg")


def test_trackingnet_test_first_frame_only(root):
    written = W.write_trackingnet(root("trackingnet_dir"), "TEST")
    seqs = get_dataset("trackingnet")
    _check(seqs, written, "trackingnet")
    seq = seqs[0]
    assert seq.ground_truth_rect.shape == (1, 4) and len(seq.frames) == 6
    assert seq.frames[0].endswith("0.jpg") and seq.frames[-1].endswith("5.jpg")


def test_got10k_test_val_ltrval(root, tmp_path):
    base = root("got10k_dir")
    test = W.write_got10k(base, "test")
    val = W.write_got10k(base, "val")
    train = W.write_got10k(base, "train", n_sequences=3)
    seqs = get_dataset("got10k_test")
    _check(seqs, test, "got10k_test")
    assert all(s.ground_truth_rect.shape == (1, 4) and len(s.frames) == 6 for s in seqs)
    seqs = get_dataset("got10k", split="val")
    _check(seqs, val, "got10k_val")
    seq = seqs[0]
    assert seq.target_visible.tolist() == [True, True, False, True, True, True]
    assert seq.meta["cover"].tolist() == [8, 8, 0, 4, 8, 8] and seq.meta["resolution"] == [96, 72]
    assert seq.object_class == "astronaut"
    split_file = tmp_path / "votval.txt"
    split_file.write_text("2\n0\n")
    from lib.test.evaluation.datasets import GOT10KDataset
    seqs = GOT10KDataset("ltrval", split_file=split_file).get_sequence_list()
    names = list(train)
    assert [s.name for s in seqs] == [names[2], names[0]]
    with pytest.raises(FileNotFoundError, match="missing_split.txt"):
        GOT10KDataset("ltrval", split_file=tmp_path / "missing_split.txt").get_sequence_list()


@pytest.mark.parametrize("testing_set", [None, ["cat-2"], ["airplane-1", "cat-1"]])
def test_lasot_scores_the_test_split_only(root, testing_set):
    base = root("lasot_dir")
    # shipped lists: airplane-10, cat-2 train; airplane-1, cat-1 test; cat-21 in neither
    written = W.write_lasot(base, names=("airplane-10", "cat-2", "airplane-1", "cat-1", "cat-21"),
                            testing=testing_set or ())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        seqs = get_dataset("lasot")
    assert [s.name for s in seqs] == ["airplane-1", "cat-1"]  # test names only, in the list's order
    messages = [str(w.message) for w in caught]
    assert any("testing_set.txt" in m for m in messages) == (testing_set is not None)  # neither is the 280
    # the other 278 test sequences are reported as missing, not silently dropped
    assert len(seqs.skipped) == 278 and all("sequence folder missing" in r for _, r in seqs.skipped)
    seq = seqs["cat-1"]
    np.testing.assert_array_equal(seq.ground_truth_rect, written["cat-1"])
    assert seq.target_visible.tolist() == [True, False, True, True, True, False]
    assert seq.object_class == "cat" and seq.language == "the cat moving across the picture"
    assert seq.init_info()["init_nlp"] == seq.language
    assert get_dataset("lasot_lang")[0].dataset == "lasot_lang"


def test_lasot_extension_subset(root):
    written = W.write_lasot(root("lasot_extension_subset_dir"), classes=("atv",), per_class=3)
    _check(get_dataset("lasot_extension_subset"), written, "lasot_extension_subset")


def test_tnl2k_png_and_language(root):
    written = W.write_tnl2k(root("tnl2k_dir"))
    seqs = get_dataset("tnl2k")
    _check(seqs, written, "tnl2k")
    seq = seqs["Bullet_video_2"]
    assert seq.frames[0].endswith("imgs/00001.png")
    assert seq.init_info() == {"init_bbox": written[seq.name][0].tolist(), "init_nlp": seq.language}
    assert "Bullet_video_2" in seq.language


def test_otb99_lang(root):
    written = W.write_otb99_lang(root("otb99_lang_dir"))
    seqs = get_dataset("otb99_lang")
    _check(seqs, written, "otb99_lang")
    assert seqs["Bird1"].language == "the chelsea patch moving in Bird1"


def test_custom_folder_layouts(root):
    written = W.write_custom(root("custom_dir"))
    seqs = get_dataset("custom")
    _check(seqs, written, "custom")
    assert seqs["walk"].frames[0].endswith("walk/img/000001.jpg") and seqs["walk"].language
    assert seqs["walk"].target_visible.tolist() == [True, True, False, True, True, True]
    assert seqs["ride"].frames[0].endswith("ride/frame_1.png") and seqs["ride"].target_visible is None


def test_broken_sequences_skipped_with_file_and_line(root):
    base = root("custom_dir")
    written = W.write_custom(base, names=("good", "nogt", "badline", "zero", "noframes", "badinit"))
    (base / "nogt" / "groundtruth.txt").unlink()
    (base / "badline" / "groundtruth.txt").write_text("1,2,3,4\n1,2,3,4\n1;2;x;4\n1,2,3,4\n1,2,3,4\n1,2,3,4\n")
    (base / "zero" / "groundtruth.txt").write_text("1,2,0,0\n" * 6)
    for f in sorted((base / "noframes").glob("frame_*.png"))[:2]:
        f.unlink()
    (base / "badinit" / "groundtruth.txt").write_text("NaN,NaN,NaN,NaN\n" + "1,2,3,4\n" * 5)
    with pytest.warns(UserWarning) as record:
        dataset = load_dataset("custom")
        seqs = dataset.get_sequence_list()
    assert [s.name for s in seqs] == ["good"]
    np.testing.assert_array_equal(seqs[0].ground_truth_rect, written["good"])
    reasons = dict(dataset.skipped)
    assert set(reasons) == {"nogt", "badline", "zero", "noframes", "badinit"} and seqs.skipped == dataset.skipped
    assert "nogt/groundtruth.txt" in reasons["nogt"] and "missing" in reasons["nogt"]
    assert "badline/groundtruth.txt" in reasons["badline"] and "line 3" in reasons["badline"]
    assert "zero/groundtruth.txt" in reasons["zero"] and "positive" in reasons["zero"]
    assert "noframes" in reasons["noframes"] and "4 images" in reasons["noframes"]
    assert "first-frame" in reasons["badinit"]
    messages = " ".join(str(w.message) for w in record)
    assert "badline/groundtruth.txt" in messages and "line 3" in messages


def test_unknown_name_and_missing_root(root, tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="unknown dataset 'vot2020'") as err:
        get_dataset("vot2020")
    assert all(n in str(err.value) for n in ("otb", "got10k_test", "lasot_extension_subset", "custom"))
    assert set(dataset_names()) >= {"otb", "nfs", "uav", "trackingnet", "got10k_test", "got10k_val",
                                    "got10k_ltrval", "lasot", "lasot_extension_subset", "tnl2k",
                                    "lasot_lang", "otb99_lang", "custom"}
    with pytest.raises(FileNotFoundError, match="otb_dir.*not set"):
        get_dataset("otb")
    missing = tmp_path / "nowhere" / "otb"
    monkeypatch.setenv("SUTRACK_OTB_DIR", str(missing))
    with pytest.raises(FileNotFoundError, match="otb_dir") as err:
        get_dataset("otb")
    assert str(missing) in str(err.value)
