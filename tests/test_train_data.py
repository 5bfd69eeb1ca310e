"""Training data pipeline: frame sampling, jittered crops, targets, redraws, and the seeded loader."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from lib.config.sutrack_dinov3.config import load_config
from lib.train.data.heatmap import gaussian_radius, gaussian_target
from lib.train.data.loader import build_train_loader, collate
from lib.train.data.processing import CropSpec, SampleError, SUTrackProcessing, jitter_box
from lib.train.data.sampler import TrackingSampler, config_key, sample_frame_ids, task_index_of
from lib.utils.grid import feature_grid
from lib.utils.image import FrameReadError


@pytest.fixture(scope="module")
def cfg(repo_root):
    return load_config(repo_root / "experiments" / "sutrack_dinov3" / "tiny.yaml")


def square_frame(box, size=(120, 160), color=(255, 255, 255)) -> np.ndarray:
    """Black H x W x 3 frame with a `color` rectangle filling the xywh `box` exactly (integer box)."""
    frame = np.zeros((*size, 3), np.uint8)
    x, y, w, h = (int(v) for v in box)
    frame[max(y, 0):y + h, max(x, 0):x + w] = color
    return frame


class FakeDataset:
    """In-test dataset with the BaseVideoDataset API: white boxes on black, given visibility."""

    def __init__(self, name="GOT10K_fake", n_seq=3, n_frames=40, visible=None, video=True, fail_seqs=(),
                 nlp=None):
        self.name, self.n_seq, self.n_frames, self.video, self.fail_seqs, self.nlp = (
            name, n_seq, n_frames, video, set(fail_seqs), nlp)
        self.visible = np.ones(n_frames, bool) if visible is None else np.asarray(visible, bool)
        self.calls: list[tuple[int, list[int]]] = []

    def get_name(self):
        return self.name

    def is_video_sequence(self):
        return self.video

    def has_language(self):
        return self.nlp is not None

    def get_num_sequences(self):
        return self.n_seq

    def box(self, frame_id):
        return np.array([40 + frame_id % 7, 30 + frame_id % 5, 30, 24], np.float32)

    def get_sequence_info(self, seq_id):
        bbox = torch.from_numpy(np.stack([self.box(i) for i in range(self.n_frames)]))
        vis = torch.from_numpy(self.visible.copy())
        return {"bbox": bbox, "valid": torch.ones(self.n_frames, dtype=torch.bool), "visible": vis}

    def get_frames(self, seq_id, frame_ids, anno=None):
        self.calls.append((seq_id, list(frame_ids)))
        if seq_id in self.fail_seqs:
            raise FrameReadError(f"/data/fake/seq{seq_id}/{frame_ids[0]:08d}.jpg", "file does not exist")
        anno = anno or self.get_sequence_info(seq_id)
        frames = [square_frame(self.box(f)) for f in frame_ids]
        return frames, {"bbox": [anno["bbox"][f] for f in frame_ids]}, {"object_class_name": "box", "nlp": self.nlp}


# ----------------------------------------------------------------------------- frame ids
def test_order_mode_respects_gap_and_visibility():
    rng = np.random.default_rng(0)
    visible = rng.random(300) > 0.3
    for _ in range(500):
        t, s = sample_frame_ids(visible, 2, 1, 20, "order", rng)
        ids = t + s
        assert all(visible[i] for i in ids)
        assert max(ids) - min(ids) <= 40  # all within +-gap of one base frame
        assert ids == sorted(ids) or ids == sorted(ids, reverse=True)


def test_causal_mode_search_after_templates_within_gap():
    rng = np.random.default_rng(1)
    visible = rng.random(300) > 0.3
    for _ in range(500):
        t, s = sample_frame_ids(visible, 2, 1, 20, "causal", rng)
        assert all(visible[i] for i in t + s)
        assert t[0] < s[0] <= t[0] + 20
        assert t[0] - 20 <= t[1] < t[0]


def test_gap_widens_by_five_until_frames_found_and_gives_up_when_none():
    visible = np.zeros(101, bool)
    visible[[0, 100]] = True
    t, s = sample_frame_ids(visible, 1, 1, 10, "causal", np.random.default_rng(0))
    assert (t, s) == ([0], [100])  # only reachable after widening the gap 10 -> 100
    only_last = np.zeros(50, bool)
    only_last[-1] = True
    with pytest.raises(SampleError):  # no frame before the search frame: bounded, not an endless loop
        sample_frame_ids(only_last, 1, 1, 10, "causal", np.random.default_rng(0))


def test_sampler_draws_only_visible_frames(cfg):
    visible = np.zeros(40, bool)
    visible[10:30:3] = True
    ds = FakeDataset(visible=visible)
    sampler = TrackingSampler([ds], [1], SUTrackProcessing(cfg), cfg, seed=0, samples=30)
    for i in range(30):
        sampler[i]
    assert all(visible[f] for _, ids in ds.calls for f in ids)


def test_image_dataset_repeats_one_image(cfg):
    ds = FakeDataset(name="COCO17", n_frames=1, video=False)
    sample = TrackingSampler([ds], [1], SUTrackProcessing(cfg), cfg, samples=1)[0]
    assert ds.calls[-1][1] == [0, 0]
    assert sample["template_images"].shape == (1, 3, 64, 64)
    assert sample["search_images"].shape == (1, 3, 128, 128)


def test_dataset_ratios_mix(cfg):
    a, b = FakeDataset(name="LASOT"), FakeDataset(name="TRACKINGNET")
    sampler = TrackingSampler([a, b], [3, 1], SUTrackProcessing(cfg), cfg, samples=200)
    names = [sampler[i]["dataset"] for i in range(200)]
    assert 0.65 < names.count("LASOT") / 200 < 0.85


# ----------------------------------------------------------------------------- failures
def test_bad_frames_are_redrawn_and_counted(cfg, caplog):
    ds = FakeDataset(n_seq=4, fail_seqs={0, 1})
    sampler = TrackingSampler([ds], [1], SUTrackProcessing(cfg), cfg, samples=40)
    samples = [sampler[i] for i in range(40)]
    assert sum(s["redraws"] for s in samples) > 0
    assert all(s["search_images"].shape == (1, 3, 128, 128) for s in samples)


def test_dataset_that_yields_nothing_stops_with_clear_error(cfg):
    ds = FakeDataset(name="GOT10K_broken", n_seq=2, fail_seqs={0, 1})
    sampler = TrackingSampler([ds], [1], SUTrackProcessing(cfg), cfg, samples=1)
    with pytest.raises(RuntimeError, match="GOT10K_broken"):
        sampler[0]


def test_one_broken_dataset_among_good_ones_is_reported(cfg):
    good, broken = FakeDataset(name="LASOT"), FakeDataset(name="TRACKINGNET", n_seq=2, fail_seqs={0, 1})
    sampler = TrackingSampler([good, broken], [1, 1], SUTrackProcessing(cfg), cfg, samples=1000)
    with pytest.raises(RuntimeError, match="TRACKINGNET failed 200 draws in a row"):
        for i in range(1000):
            sampler[i]


def test_degenerate_jittered_box_is_a_sample_error(cfg):
    processing = SUTrackProcessing(cfg)
    frame = square_frame([10, 10, 20, 20])
    with pytest.raises(SampleError):
        processing.crop(frame, np.array([10, 10, 0.0, 20]), processing.search, np.random.default_rng(0))


def test_dataset_keys_for_task_index_and_language(cfg):
    assert config_key("GOT10K_vottrain", cfg.MODEL.TASK_INDEX) == "GOT10K"
    assert config_key("COCO17", cfg.MODEL.TASK_INDEX) == "COCO"
    assert task_index_of("TNL2K_train", cfg) == 1 and task_index_of("LasHeR_train", cfg) == 3
    with pytest.raises(ValueError, match="MODEL.TASK_INDEX"):
        task_index_of("MYDATA", cfg)


# ----------------------------------------------------------------------------- crops and targets
def test_jitter_statistics_match_pytracking():
    spec = CropSpec(128, 4.0, 3.0, 0.25)
    rng = np.random.default_rng(0)
    box = np.array([100.0, 100.0, 40.0, 20.0])
    out = np.stack([jitter_box(box, spec, rng) for _ in range(4000)])
    log_scale = np.log(out[:, 2:] / box[2:])
    assert np.allclose(log_scale.std(0), 0.25, atol=0.02)
    centre_shift = out[:, :2] + out[:, 2:] / 2 - (box[:2] + box[2:] / 2)
    bound = np.sqrt(out[:, 2] * out[:, 3]) * 3.0 / 2
    assert np.all(np.abs(centre_shift) <= bound[:, None] + 1e-9)


def test_crop_round_trip_within_one_pixel(cfg):
    processing = SUTrackProcessing(cfg)
    rng = np.random.default_rng(3)
    for _ in range(20):
        box = np.array([rng.integers(20, 100), rng.integers(20, 70), rng.integers(12, 40), rng.integers(12, 40)],
                       np.float64)
        frame = square_frame(box)
        for spec in (processing.template, processing.search):
            crop, norm_box, info = processing.crop(frame, box, spec, rng)
            px = norm_box * spec.size
            ys, xs = np.nonzero(crop[..., 0] > 127)  # where the white box actually is in the crop
            inside = (px[0] >= 0) & (px[1] >= 0) & (px[0] + px[2] <= spec.size) & (px[1] + px[3] <= spec.size)
            if inside:
                found = np.array([xs.min(), ys.min(), xs.max() + 1 - xs.min(), ys.max() + 1 - ys.min()])
                assert np.abs(found - px).max() <= 1.0, (found, px)
            back = info.box_to_image(norm_box, normalized=True)
            assert np.abs(back - box).max() <= 1.0


def test_processed_sample_box_matches_pixels_after_flip_and_gray(cfg):
    processing = SUTrackProcessing(cfg)
    mean, std = torch.tensor(cfg.DATA.MEAN)[:, None, None], torch.tensor(cfg.DATA.STD)[:, None, None]
    box = np.array([30.0, 40.0, 30.0, 24.0])
    frame = square_frame(box, color=(255, 200, 40))
    raw = {"template_frames": [frame], "template_boxes": [box], "search_frames": [frame], "search_boxes": [box],
           "dataset": "GOT10K", "task_index": 0}
    checked = 0
    for seed in range(8):
        processing.flip_prob = processing.gray_prob = float(seed % 2)
        processing.search = CropSpec(128, 4.0, 0.0 if seed < 4 else 3.0, 0.0 if seed < 4 else 0.25)
        out = processing(raw, np.random.default_rng(seed))
        for key, anno in (("search_images", "search_anno"), ("template_images", "template_anno")):
            img = out[key][0] * std + mean
            assert torch.allclose(img[0], img[1], atol=1e-5) == bool(seed % 2)  # grayscale: equal channels
            size = img.shape[-1]
            px = out[anno][0].numpy() * size
            if px[0] >= 0 and px[1] >= 0 and px[0] + px[2] <= size and px[1] + px[3] <= size:
                ys, xs = np.nonzero(img[0].numpy() > 0.5)
                found = np.array([xs.min(), ys.min(), xs.max() + 1 - xs.min(), ys.max() + 1 - ys.min()])
                assert np.abs(found - px).max() <= 1.0, (seed, key, found, px)
                checked += 1
    assert checked >= 10
    assert out["search_heatmap"].shape == (1, *feature_grid(cfg.DATA.SEARCH.SIZE, cfg.MODEL.ENCODER.STRIDE))


def test_gaussian_target_peak_and_radius():
    grid = (14, 14)
    box = np.array([0.40, 0.30, 0.2, 0.1])  # centre (0.5, 0.35) -> cell (7, 4)
    g = gaussian_target(box, grid)
    assert g.shape == grid and g[4, 7] == 1.0 and (g == 1.0).sum() == 1
    r = int(gaussian_radius(0.2 * 14, 0.1 * 14))
    assert (np.argwhere(g > 0)[:, 1] - 7).__abs__().max() <= r
    assert gaussian_target(np.array([0.0, 0.0, 0.05, 0.05]), (8, 8))[0, 0] == 1.0


def test_six_channels_when_multi_modal_vision(cfg):
    cfg6 = cfg.clone()
    cfg6.defrost()
    cfg6.DATA.MULTI_MODAL_VISION = True
    cfg6.freeze()
    out = TrackingSampler([FakeDataset()], [1], SUTrackProcessing(cfg6), cfg6, samples=1)[0]
    assert out["search_images"].shape == (1, 6, 128, 128)
    assert torch.equal(out["search_images"][:, :3], out["search_images"][:, 3:])

    class RGBX(FakeDataset):  # RGB + a modality whose target is dark: the halves must stay different
        def get_frames(self, seq_id, frame_ids, anno=None):
            frames, anno, meta = super().get_frames(seq_id, frame_ids, anno)
            return [np.concatenate([f, 255 - f], axis=2) for f in frames], anno, meta

    out = TrackingSampler([RGBX(name="DepthTrack_train")], [1], SUTrackProcessing(cfg6), cfg6, samples=1)[0]
    assert out["search_images"].shape == (1, 6, 128, 128) and out["task_index"] == 2
    assert not torch.equal(out["search_images"][:, :3], out["search_images"][:, 3:])
    rgb_only = TrackingSampler([RGBX()], [1], SUTrackProcessing(cfg), cfg, samples=1)[0]
    assert rgb_only["search_images"].shape == (1, 3, 128, 128)


def test_language_ids_only_for_datasets_with_use_nlp(cfg):
    cfgl = cfg.clone()
    cfgl.defrost()
    cfgl.DATA.MULTI_MODAL_LANGUAGE = True
    cfgl.DATA.USE_NLP.TNL2K = True
    cfgl.freeze()
    tnl = FakeDataset(name="TNL2K_train", nlp="a white box")
    got = FakeDataset(name="GOT10K_vottrain", nlp="a white box")
    a = TrackingSampler([tnl], [1], SUTrackProcessing(cfgl), cfgl, samples=1)[0]
    b = TrackingSampler([got], [1], SUTrackProcessing(cfgl), cfgl, samples=1)[0]
    assert a["nlp_ids"].shape == (77,) and a["nlp_ids"].count_nonzero() > 0 and a["task_index"] == 1
    assert b["nlp_ids"].count_nonzero() == 0 and b["task_index"] == 0


# ----------------------------------------------------------------------------- loader
def test_loader_is_reproducible_across_workers_and_ranks_differ(cfg, tmp_path, monkeypatch):
    from lib.data.synthetic.writers import write_got10k
    from lib.train.run_training import build_sampler

    write_got10k(tmp_path / "got10k", "train", n_sequences=3, n_frames=10)
    monkeypatch.setenv("SUTRACK_GOT10K_DIR", str(tmp_path / "got10k"))
    sampler = build_sampler(cfg)
    batches = {}
    for workers in (0, 2):
        loader = build_train_loader(sampler, 4, workers, seed=7)
        loader.sampler.set_epoch(1)
        batches[workers] = [b for _, b in zip(range(3), loader)]
    for b0, b2 in zip(batches[0], batches[2]):
        for key in ("search_images", "template_images", "search_anno", "search_heatmap"):
            assert torch.equal(b0[key], b2[key])
    other_rank = build_sampler(cfg, rank=1, world_size=2)
    assert not torch.equal(collate([other_rank[i] for i in range(4)])["search_anno"],
                           collate([sampler[i] for i in range(4)])["search_anno"])
    loader.sampler.set_epoch(2)
    assert not torch.equal(next(iter(loader))["search_anno"], batches[0][0]["search_anno"])
