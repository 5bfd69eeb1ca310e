"""Multi-modal tracking: RGB-X and language loaders (train and eval), 6-channel training with the task decoder,
the text path through the tracker, and evaluation + metrics on small RGB-D / RGB-T sets."""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from lib.data.synthetic import writers as W
from lib.data.synthetic import writers_rgbx as X
from lib.utils.image import depth_colormap, read_image, read_rgbx

N_FRAMES = 6



@pytest.fixture(scope="module")
def data(tmp_path_factory) -> dict:
    """Every new layout written once: {'root': Path, <dataset>: boxes as written}."""
    root = tmp_path_factory.mktemp("mm")
    written = {
        "root": root,
        "depthtrack_train": X.write_depthtrack(root / "depthtrack" / "train", ("adapter02_indoor", "bag03_indoor"),
                                               n_frames=N_FRAMES),
        "depthtrack_test": X.write_depthtrack(root / "depthtrack" / "test", n_frames=N_FRAMES, seed=5),
        "vot22_rgbd": X.write_depthtrack(root / "vot22_rgbd" / "sequences", ("box_darkroom_noocc_1",),
                                         n_frames=N_FRAMES, list_file=True),
        "lasher_train": X.write_lasher(root / "lasher" / "trainingset", ("2up", "boywalkinginsnow3"),
                                       n_frames=N_FRAMES),
        "lasher_test": X.write_lasher(root / "lasher" / "testingset", ("10runone",), n_frames=N_FRAMES, seed=3),
        "rgbt234": X.write_rgbt234(root / "rgbt234", n_frames=N_FRAMES),
        "visevent_train": X.write_visevent(root / "visevent" / "train_subset", "train", n_frames=N_FRAMES),
        "visevent_test": X.write_visevent(root / "visevent" / "test_subset", "test", n_frames=N_FRAMES, seed=7),
        "tnl2k_train": W.write_tnl2k(root / "tnl2k" / "train", n_frames=N_FRAMES),
        "tnl2k_test": W.write_tnl2k(root / "tnl2k" / "test", ("INF_womanpink",), n_frames=N_FRAMES, seed=2),
        "otb99": W.write_otb99_lang(root / "otb99", ("Basketball", "Bolt"), split="train", n_frames=N_FRAMES),
        "refcocog": X.write_refcocog(root / "refcocog"),
        "got10k": W.write_got10k(root / "got10k", "train", n_sequences=2, n_frames=N_FRAMES),
    }
    return written


@pytest.fixture
def roots(data, monkeypatch) -> Path:
    root = data["root"]
    for key in ("depthtrack", "vot22_rgbd", "lasher", "rgbt234", "visevent", "tnl2k", "refcocog", "got10k"):
        monkeypatch.setenv(f"SUTRACK_{key.upper()}_DIR", str(root / key))
    monkeypatch.setenv("SUTRACK_OTB99_LANG_DIR", str(root / "otb99"))
    return root


# ----------------------------------------------------------------------------- the one RGB-X reader
def test_depth_colormap_clips_normalises_and_colours():
    depth = np.array([[1000, 1000], [1000, 50000]], np.float32)  # median 1000 -> clipped at 3000
    jet = cv2.applyColorMap(np.array([[0, 255]], np.uint8), cv2.COLORMAP_JET)[0, :, ::-1]  # RGB of 0 and 255
    out = depth_colormap(depth)
    assert out.shape == (2, 2, 3) and out.dtype == np.uint8
    assert (out[0, 0] == jet[0]).all() and (out[1, 1] == jet[1]).all()
    deep = np.array([[1000, 9000], [20000, 30000]], np.float32)  # 3 x median 43500 > 10000: clip at 10000
    expected = np.rint((np.minimum(deep, 10000) - 1000) * 255 / 9000).astype(np.uint8)
    ref = cv2.applyColorMap(expected, cv2.COLORMAP_JET)[..., ::-1]
    assert np.array_equal(depth_colormap(deep), ref)
    assert np.array_equal(depth_colormap(np.full((3, 3), 500, np.float32)), np.broadcast_to(jet[0], (3, 3, 3)))


def test_read_rgbx_stacks_rgb_and_x(data, tmp_path):
    seq = data["root"] / "depthtrack" / "train" / "adapter02_indoor"
    rgb_path, depth_path = seq / "color" / "00000001.jpg", seq / "depth" / "00000001.png"
    assert cv2.imread(str(depth_path), cv2.IMREAD_ANYDEPTH).dtype == np.uint16
    frame = read_rgbx(rgb_path, depth_path, "depth")
    assert frame.shape == (72, 96, 6) and frame.dtype == np.uint8
    assert np.array_equal(frame[..., :3], read_image(rgb_path))
    ir = data["root"] / "rgbt234" / "baby" / "infrared" / "00001i.jpg"
    small = tmp_path / "small.png"
    cv2.imwrite(str(small), cv2.imread(str(ir))[::2, ::2])  # an X frame of another size is resized
    thermal = read_rgbx(data["root"] / "rgbt234" / "baby" / "visible" / "00001v.jpg", small, "thermal")
    assert thermal.shape == (72, 96, 6)
    with pytest.raises(ValueError, match="unknown auxiliary modality 'sonar'"):
        read_rgbx(rgb_path, depth_path, "sonar")
    with pytest.raises(OSError, match="nope.png"):
        read_rgbx(rgb_path, seq / "depth" / "nope.png", "depth")


# ----------------------------------------------------------------------------- training loaders
@pytest.mark.parametrize("name, family, key, modality, task", [
    ("DepthTrack_train", "depthtrack", "depthtrack_train", "depth", 2),
    ("LasHeR_all", "lasher", "lasher_train", "thermal", 3),
    ("VisEvent", "visevent", "visevent_train", "event", 4),
    ("TNL2K_train", "tnl2k", "tnl2k_train", None, 1),
    ("OTB99_train", "otb99", "otb99", None, 1),
])
def test_train_loaders_read_their_layouts(roots, data, name, family, key, modality, task):
    from lib.config.sutrack_dinov3.config import get_default_config
    from lib.train.data.sampler import task_index_of
    from lib.train.dataset import build_train_dataset

    dataset = build_train_dataset(name)
    assert dataset.get_name() == family and task_index_of(family, get_default_config()) == task
    written = data[key]
    assert sorted(dataset.get_sequence_name(i) for i in range(len(dataset))) == sorted(written)
    for seq_id in range(len(dataset)):
        boxes = written[dataset.get_sequence_name(seq_id)]
        info = dataset.get_sequence_info(seq_id)
        np.testing.assert_allclose(info["bbox"].numpy(), boxes, equal_nan=True)
        assert info["visible"].tolist() == [bool(b[2] > 0 and b[3] > 0) for b in np.nan_to_num(boxes)]
        frames, anno, meta = dataset.get_frames(seq_id, [0, 3], info)
        assert len(frames) == 2 and len(anno["bbox"]) == 2
        if modality is None:
            assert frames[0].shape == (72, 96, 3) and meta["nlp"]
            continue
        assert frames[0].shape == (72, 96, 6) and meta["nlp"] is None and meta["modality"] == modality
        expected = read_rgbx(dataset.get_frame_path(seq_id, 3), dataset.get_aux_frame_path(seq_id, 3), modality)
        assert np.array_equal(frames[1], expected)
        assert not np.array_equal(frames[1][..., :3], frames[1][..., 3:])


def test_lasher_depthtrack_splits_and_refcocog(roots, data, tmp_path):
    from lib.train.dataset import DepthTrack, LasHeR, RefCOCOSeq, build_train_dataset

    # the shipped lists: 2up is a LasHeR training sequence, boywalkinginsnow3 a validation one
    assert [LasHeR("train").get_sequence_name(0)] == ["2up"] and len(build_train_dataset("LasHeR_train")) == 1
    assert [LasHeR("val").get_sequence_name(0)] == ["boywalkinginsnow3"]
    split = tmp_path / "my_split.txt"
    split.write_text("2up\n")
    assert [LasHeR("val", split_file=split).get_sequence_name(0)] == ["2up"]
    with pytest.warns(UserWarning, match="6 of 6 sequences of depthtrack_val.txt not found"), \
            pytest.raises(ValueError, match="DepthTrack_val: no usable sequences"):
        DepthTrack("val")
    refs = build_train_dataset("REFCOCOG")
    assert isinstance(refs, RefCOCOSeq) and not refs.is_video_sequence() and refs.has_language()
    expected = data["refcocog"]
    assert len(refs) == len(expected)  # one sequence per expression; the 2 x 2 px objects are left out
    for seq_id, ref in enumerate(expected):
        frames, anno, meta = refs.get_frames(seq_id, [0, 0])
        assert meta["nlp"] == ref["sentence"] and anno["bbox"][0].tolist() == ref["bbox"]
        assert refs.get_frame_path(seq_id).endswith(ref["file_name"]) and frames[0].shape == (72, 96, 3)


# ----------------------------------------------------------------------------- evaluation datasets
def test_eval_datasets_read_their_layouts(roots, data):
    from lib.test.evaluation import get_dataset
    from lib.test.evaluation.running import read_frame

    cases = {"depthtrack": ("depthtrack_test", "depth"), "vot22_rgbd": ("vot22_rgbd", "depth"),
             "lasher": ("lasher_test", "thermal"), "rgbt234": ("rgbt234", "thermal"),
             "visevent": ("visevent_test", "event")}
    for name, (key, modality) in cases.items():
        sequences = get_dataset(name)
        assert sorted(s.name for s in sequences) == sorted(data[key]), name
        for seq in sequences:
            boxes = data[key][seq.name]
            start = seq.meta.get("first_frame", 0)
            np.testing.assert_allclose(seq.ground_truth_rect, boxes[start:], equal_nan=True)
            assert seq.modality == modality and len(seq.aux_frames) == len(seq.frames) == N_FRAMES - start
            assert read_frame(seq, 1).shape == (72, 96, 6)
            assert seq.init_info() == {"init_bbox": boxes[start].tolist()}
    depth = get_dataset("depthtrack")[0]
    assert np.isnan(depth.ground_truth_rect[-1]).all()  # VOT's 'nan' line: target absent
    rgbt = get_dataset("rgbt234")["baby"]
    np.testing.assert_allclose(rgbt.meta["ground_truth_rect_ir"], data["rgbt234"]["baby"] + X.RGBT234_IR_SHIFT)
    visevent = get_dataset("visevent")["dvSave-1"]  # its target is absent in frame 0: evaluation starts at 1
    assert visevent.meta["first_frame"] == 1 and visevent.target_visible.all()
    tnl2k = get_dataset("tnl2k")  # tnl2k_dir with train/ and test/: the test folder
    assert [s.name for s in tnl2k] == ["INF_womanpink"] and tnl2k[0].language and tnl2k[0].aux_frames is None
    lang = get_dataset("tnl2k")[0].init_info()
    assert lang["init_nlp"].startswith("track the")


# ----------------------------------------------------------------------------- training on a mix
def test_six_channel_training_on_rgb_and_rgbx_mix_task_loss_falls(roots, tmp_path):
    from lib.train import run_training
    from lib.train.admin.run_folder import RunPaths

    # five datasets, five task classes, equal ratios: the class prior alone cannot lower the loss
    opts = ["TRAIN.BATCH_SIZE", "10", "TRAIN.LR", "0.002", "TRAIN.TASK_CE_WEIGHT", "5.0", "TRAIN.PRINT_INTERVAL", "100"]
    code = run_training.main(["--config", "tiny_mm", "--save_dir", str(tmp_path), "--epochs", "8",
                              "--samples_per_epoch", "30", "--no-resume", "--opts", *opts])
    assert code == 0
    stats = RunPaths(tmp_path, "sutrack_dinov3", "tiny_mm").stats_file
    history = [json.loads(line) for line in stats.read_text().splitlines()]
    task = [h["Loss/task_class"] for h in history]
    assert len(task) == 8 and all(math.isfinite(v) for v in task)
    assert task[-1] < 0.8 * task[0], task  # the datasets' task classes are learned
    assert np.mean([h["TaskAcc"] for h in history[-2:]]) > 0.4  # chance: 0.2


# ----------------------------------------------------------------------------- the text path
def test_sentence_changes_the_prediction_and_is_encoded_once(data):
    from lib.test.parameter.sutrack_dinov3 import parameters
    from lib.test.tracker.sutrack_dinov3 import SUTrackDINOv3Tracker

    seq = data["root"] / "tnl2k" / "test" / "INF_womanpink" / "imgs"
    frames = [read_image(p) for p in sorted(seq.iterdir())[:3]]
    box = data["tnl2k_test"]["INF_womanpink"][0].tolist()

    def score_maps(dataset: str, sentence: str) -> tuple[list[torch.Tensor], int]:
        tracker = SUTrackDINOv3Tracker(parameters("tiny_mm", random_weights=True), dataset_name=dataset,
                                       device="cpu")
        maps, encoded = [], []
        step, encode = tracker.network.track_step, tracker.network.forward_textencoder

        def capture(*args):
            out = step(*args)
            maps.append(out["score_map"].clone())
            return out

        tracker.network.track_step = capture
        tracker.network.forward_textencoder = lambda ids: encoded.append(ids) or encode(ids)
        tracker.initialize(frames[0], {"init_bbox": box, "init_nlp": sentence})
        for frame in frames[1:]:
            tracker.track(frame)
        return maps, len(encoded)

    a, calls = score_maps("tnl2k", "the woman in pink walking left")
    b, _ = score_maps("tnl2k", "a red car parked on the street")
    assert calls == 1  # the sentence is encoded once per sequence and cached
    assert not torch.allclose(a[0], b[0], atol=1e-6)
    # USE_NLP off for lasher (TEST.USE_NLP.DEFAULT False): the sentence is ignored, the maps agree
    c, _ = score_maps("lasher", "the woman in pink walking left")
    d, _ = score_maps("lasher", "a red car parked on the street")
    assert all(torch.equal(x, y) for x, y in zip(c, d))


def test_multi_modal_vision_switch_per_dataset():
    from lib.test.parameter.sutrack_dinov3 import parameters
    from lib.test.tracker.basetracker import as_rgb
    from lib.test.tracker.sutrack_dinov3 import SUTrackDINOv3Tracker, per_dataset

    rgbx = np.random.default_rng(0).integers(0, 255, (40, 50, 6), dtype=np.uint8)
    assert as_rgb(rgbx, 3).shape == (40, 50, 3) and as_rgb(rgbx, 6) is rgbx
    params = parameters("tiny_mm", random_weights=True)
    cfg = params.cfg.clone()
    cfg.defrost()
    cfg.TEST.MULTI_MODAL_VISION.LASHER = False
    cfg.TEST.UPDATE_INTERVALS.GOT10K = 7
    cfg.freeze()
    params.cfg = cfg
    assert per_dataset(cfg.TEST.UPDATE_INTERVALS, "got10k_val") == 7  # family fallback
    on = SUTrackDINOv3Tracker(params, dataset_name="depthtrack", device="cpu")
    off = SUTrackDINOv3Tracker(params, dataset_name="lasher", device="cpu")
    assert on._frame(rgbx).shape[2] == 6 and np.array_equal(off._frame(rgbx), rgbx[..., :3])


# ----------------------------------------------------------------------------- evaluation and metrics
def test_evaluation_runs_on_rgbd_and_rgbt(roots, tmp_path):
    from lib.test.analysis.results import score_trackers
    from lib.test.evaluation import get_dataset
    from lib.test.evaluation.running import run_dataset
    from lib.test.evaluation.tracker import TrackerRun
    from lib.test.results import TrackerSpec

    for name, columns in (("depthtrack", ("Pr", "Re", "F")), ("rgbt234", ("PR", "NPR", "SR", "MPR", "MSR"))):
        spec = TrackerRun("sutrack_dinov3", "tiny_mm", name, random_weights=True, results_path=str(tmp_path))
        dataset = get_dataset(name)
        assert run_dataset(dataset, [spec], progress=False).failures == []
        for seq in dataset:
            files = spec.result_files(seq.name)
            assert np.loadtxt(files.boxes).shape == (N_FRAMES, 4)
            assert np.loadtxt(files.confidence).shape == (N_FRAMES,)
        report = score_trackers([TrackerSpec("sutrack_dinov3", "tiny_mm")], dataset, name, tmp_path)
        assert len(report.sequences) == len(dataset)
        assert all(math.isfinite(report.scores[0].metrics[c]) for c in columns), report.table()


def _write_results(folder: Path, boxes: dict[str, np.ndarray], scores: dict[str, list[float]] | None = None):
    folder.mkdir(parents=True, exist_ok=True)
    for name, b in boxes.items():
        np.savetxt(folder / f"{name}.txt", b, fmt="%d", delimiter="\t")
        if scores is not None:
            np.savetxt(folder / f"{name}_confidence.txt", scores[name], fmt="%.3f")


def test_new_metrics_agree_with_hand_computed_examples(roots, data, tmp_path):
    from lib.test.analysis.results import score_trackers
    from lib.test.evaluation import get_dataset
    from lib.test.results import TrackerSpec

    spec = TrackerSpec("hand", "made")
    # RGBT234: 'afterrain' predicts the infrared box (visible IoU 22*18 / (2*24*18 - 22*18) = 0.846 on frames
    # 1..5), 'baby' the visible one. Success curve of 'afterrain' on the visible gt: 1 up to t = 0.80
    # (17 thresholds), 1/6 (frame 0) for 0.85, 0.90, 0.95, 0 at 1.0 -> 17.5 / 21; 'baby': 20 / 21.
    # MSR takes the better gt per frame: both 20 / 21. Centre errors are 2 px or 0: PR = MPR = 100.
    vis, ir_shift = data["rgbt234"], X.RGBT234_IR_SHIFT
    _write_results(spec.results_dir(tmp_path) / "rgbt234", {"afterrain": vis["afterrain"] + ir_shift,
                                                            "baby": vis["baby"]})
    rgbt = score_trackers([spec], get_dataset("rgbt234"), "rgbt234", tmp_path).scores[0].metrics
    assert rgbt["SR"] == pytest.approx(100 * (17.5 / 21 + 20 / 21) / 2)
    assert rgbt["MSR"] == pytest.approx(100 * 20 / 21)
    assert rgbt["PR"] == pytest.approx(100) and rgbt["MPR"] == pytest.approx(100)

    # DepthTrack: boxes = gt, absent last frame predicted anyway. Confidences (frames 1..5):
    # A .9 .9 .9 .9 .8, B .9 .9 .2 .2 .1. At t = .2: A reports 1..5 (Pr 4/5, Re 4/4), B 1..4 (Pr 1, Re 1)
    # -> Pr .9, Re 1, F = 2 * .9 / 1.9 = .947, the best threshold (t = .9: F .857; t = .1: F .889).
    gts = {s.name: s.ground_truth_rect for s in get_dataset("depthtrack")}
    names = sorted(gts)
    preds = {n: np.where(np.isnan(g), 10.0, g) for n, g in gts.items()}
    scores = {names[0]: [1, .9, .9, .9, .9, .8], names[1]: [1, .9, .9, .2, .2, .1]}
    _write_results(spec.results_dir(tmp_path) / "depthtrack", preds, scores)
    longterm = score_trackers([spec], get_dataset("depthtrack"), "depthtrack", tmp_path).scores[0].metrics
    assert longterm["Pr"] == pytest.approx(90) and longterm["Re"] == pytest.approx(100)
    assert longterm["F"] == pytest.approx(100 * 2 * 0.9 / 1.9)


# ----------------------------------------------------------------------------- VOT toolkit (TraX) wrapper
def test_vot_trax_wrapper_serves_rgbd_like_the_in_process_tracker(data):
    from trax.client import Client
    from trax.image import FileImage
    from trax.region import Rectangle

    from lib.api import build_tracker

    root = Path(__file__).resolve().parents[1]
    seq = data["root"] / "depthtrack" / "test" / "bag01_indoor"
    box = data["depthtrack_test"]["bag01_indoor"][0].tolist()
    paths = [(seq / "color" / f"{i:08d}.jpg", seq / "depth" / f"{i:08d}.png") for i in range(1, 5)]
    to_server, server_in = os.pipe()[::-1]
    server_out, from_server = os.pipe()[::-1]
    env = dict(os.environ, TRAX_IN=str(server_in), TRAX_OUT=str(server_out), OMP_NUM_THREADS="1")
    cmd = [sys.executable, str(root / "tracking" / "vot_trax.py"), "tiny_mm", "--random_weights", "--modality",
           "depth", "--device", "cpu"]
    proc = subprocess.Popen(cmd, env=env, pass_fds=(server_in, server_out), stderr=subprocess.PIPE)
    os.close(server_in)
    os.close(server_out)
    try:
        client = Client(stream=(to_server, from_server), timeout=120, log=lambda message: None)
        assert client.channels == ["color", "depth"]

        def images(pair):
            return {"color": FileImage.create(str(pair[0])), "depth": FileImage.create(str(pair[1]))}

        client.initialize(images(paths[0]), [(Rectangle.create(*box), {})], {})
        served = []
        for pair in paths[1:]:
            objects, _ = client.frame(images(pair), {}, [])
            served.append((list(objects[0][0].bounds()), float(objects[0][1]["confidence"])))
        client.quit()
        assert proc.wait(60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stderr.close()
    tracker = build_tracker("tiny_mm", random_weights=True, device="cpu", dataset_name="vot22_rgbd")
    tracker.initialize(read_rgbx(*paths[0], "depth"), box)
    for pair, (got_box, got_score) in zip(paths[1:], served):
        want_box, want_score = tracker.track(read_rgbx(*pair, "depth"))
        np.testing.assert_allclose(got_box, want_box, atol=1e-2)
        assert got_score == pytest.approx(want_score, abs=1e-5)
