"""The SUTrack-DINOv3 tracker and the Python entry point (tiny config, seeded random weights, CPU)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from lib.api import build_tracker
from lib.data.synthetic.writers import synthetic_sequence
from lib.test.parameter.sutrack_dinov3 import parameters
from lib.test.tracker import sutrack_dinov3 as tracker_module
from lib.test.tracker.sutrack_dinov3 import SUTrackDINOv3Tracker

SIZE = (97, 71)  # odd W x H on purpose



@pytest.fixture(scope="module")
def sequence():
    frames, boxes = synthetic_sequence(8, size=SIZE, seed=3)
    return frames, boxes


def make_tracker(dataset_name: str | None = None, **overrides) -> SUTrackDINOv3Tracker:
    """Tiny random tracker; `overrides` maps dotted config keys to values."""
    params = parameters("tiny", random_weights=True, seed=0)
    cfg = params.cfg.clone()
    cfg.defrost()
    for key, value in overrides.items():  # per-dataset TEST nodes take new keys, which merge_from_list refuses
        *path, last = key.split(".")
        node = cfg
        for part in path:
            node = node[part]
        node[last] = value
    cfg.freeze()
    params.cfg = cfg
    return SUTrackDINOv3Tracker(params, dataset_name=dataset_name, device="cpu")


def run(tracker, frames, init_box):
    tracker.initialize(frames[0], {"init_bbox": list(init_box)})
    return [tracker.track(frame) for frame in frames[1:]]


def assert_inside(box, width: int, height: int) -> None:
    x, y, w, h = box
    assert np.all(np.isfinite(box))
    assert w >= 10 - 1e-9 and h >= 10 - 1e-9
    assert 0 <= x and 0 <= y and x + w <= width + 1e-6 and y + h <= height + 1e-6


def test_tracks_every_frame_with_valid_boxes(sequence):
    frames, boxes = sequence
    outs = run(make_tracker(), frames, boxes[0])
    assert len(outs) == len(frames) - 1
    for out in outs:
        assert_inside(out["target_bbox"], *SIZE)
        assert 0.0 <= out["best_score"] <= 1.0


def test_grayscale_frames_and_same_seed_same_boxes(sequence):
    frames, boxes = sequence
    gray = [frame.mean(axis=2).astype(np.uint8) for frame in frames]
    outs = run(make_tracker(), gray, boxes[0])
    for out in outs:
        assert_inside(out["target_bbox"], *SIZE)
    again = run(make_tracker(), gray, boxes[0])
    assert [o["target_bbox"] for o in outs] == [o["target_bbox"] for o in again]
    single = run(make_tracker(), [f[..., None] for f in gray], boxes[0])  # H x W x 1
    assert [o["target_bbox"] for o in outs] == [o["target_bbox"] for o in single]


def test_target_leaving_the_frame(sequence):
    frames, _ = sequence
    width, height = SIZE
    tracker = make_tracker()
    tracker.initialize(frames[0], {"init_bbox": [width - 20, height - 16, 18, 14]})
    for frame in frames[1:]:
        out = tracker.track(np.zeros_like(frame))  # the target is gone: blank frames
        assert_inside(out["target_bbox"], width, height)
    tracker.state = [width + 50.0, -40.0, 30.0, 30.0]  # state outside the image still gives a box inside
    assert_inside(tracker.track(frames[1])["target_bbox"], width, height)


def test_tiny_and_degenerate_init_boxes(sequence):
    frames, _ = sequence
    tracker = make_tracker()
    tracker.initialize(frames[0], {"init_bbox": [40, 30, 1, 0.5]})
    assert tracker.state[2] >= 4 and tracker.state[3] >= 4  # enlarged about the centre
    assert abs(tracker.state[0] + tracker.state[2] / 2 - 40.5) < 1e-9
    assert_inside(tracker.track(frames[1])["target_bbox"], *SIZE)
    for bad in ([10, 10, 0, 5], [10, 10, 5, -1]):
        with pytest.raises(ValueError, match=r"non-positive width or height"):
            tracker.initialize(frames[0], {"init_bbox": bad})
    with pytest.raises(ValueError, match="4 finite numbers"):
        tracker.initialize(frames[0], {"init_bbox": [1, 2, float("nan"), 3]})


def test_template_cache_equals_uncached_forward(sequence):
    frames, boxes = sequence
    cached = make_tracker()
    uncached = make_tracker()
    network = uncached.network

    class Uncached:
        """Recomputes the template branch every frame (no cache)."""

        def encode_template(self, template_list, anno_list):
            self.templates = (template_list, anno_list)
            return None

        def track_step(self, search, cache, text_src=None):
            feature = network.forward_encoder(self.templates[0], [search], self.templates[1], text_src)
            return network.forward_decoder(feature)

    uncached.network = Uncached()
    for a, b in zip(run(cached, frames, boxes[0]), run(uncached, frames, boxes[0])):
        np.testing.assert_allclose(a["target_bbox"], b["target_bbox"], atol=1e-4)
        assert abs(a["best_score"] - b["best_score"]) < 1e-5


def test_template_update_keeps_initial_and_newest(sequence):
    frames, boxes = sequence
    tracker = make_tracker("got10k_val", **{"TEST.NUM_TEMPLATES": 3, "TEST.UPDATE_INTERVALS.GOT10K_VAL": 2,
                                           "TEST.UPDATE_THRESHOLD.DEFAULT": 0.0})
    calls = []
    encode = tracker.network.encode_template

    def counting(templates, annos):
        calls.append(len(templates))
        return encode(templates, annos)

    tracker.network.encode_template = counting
    tracker.initialize(frames[0], {"init_bbox": list(boxes[0])})
    first = tracker.template_list[0]
    for frame in frames[1:]:
        tracker.track(frame)
    assert calls == [3, 3, 3, 3]  # initialize + an update on frames 2, 4, 6
    assert tracker.template_list[0] is first and len(tracker.template_anno_list) == 3
    assert tracker.template_list[1] is not first and tracker.template_list[2] is not tracker.template_list[1]


def test_six_channels_and_language(sequence):
    frames, boxes = sequence
    tracker = make_tracker("tnl2k", **{"DATA.MULTI_MODAL_VISION": True, "DATA.MULTI_MODAL_LANGUAGE": True,
                                       "TEST.MULTI_MODAL_LANGUAGE.TNL2K": True})
    seen, texts = [], []
    step, encode_text = tracker.network.track_step, tracker.network.forward_textencoder
    tracker.network.track_step = lambda search, cache, text: seen.append(search.shape) or step(search, cache, text)
    tracker.network.forward_textencoder = lambda ids: texts.append(ids) or encode_text(ids)
    tracker.initialize(frames[0], {"init_bbox": list(boxes[0]), "init_nlp": "the astronaut"})
    for frame in frames[1:3]:
        assert_inside(tracker.track(frame)["target_bbox"], *SIZE)
    assert seen[0][1] == 6 and len(texts) == 1 and texts[0].any()
    with pytest.raises(ValueError, match="no text encoder"):
        make_tracker("tnl2k", **{"TEST.MULTI_MODAL_LANGUAGE.TNL2K": True})


def test_build_tracker_entry_point_and_checkpoint(tmp_path, sequence):
    frames, boxes = sequence
    random_tracker = build_tracker("tiny", random_weights=True, device="cpu", backend="pytorch")
    expected = []
    random_tracker.initialize(frames[0], boxes[0])
    expected = [random_tracker.track(frame) for frame in frames[1:4]]
    ckpt = tmp_path / "SUTRACK_ep0002.pth.tar"
    torch.save({"net": random_tracker.tracker.network.state_dict(), "epoch": 2}, ckpt)
    bgr = build_tracker("experiments/sutrack_dinov3/tiny.yaml", checkpoint=str(ckpt), device="cpu", bgr=True,
                        backend="pytorch")
    bgr.initialize(np.ascontiguousarray(frames[0][..., ::-1]), boxes[0])
    got = [bgr.track(np.ascontiguousarray(frame[..., ::-1])) for frame in frames[1:4]]
    assert got == expected
    box, score = got[0]
    assert len(box) == 4 and isinstance(score, float)


def test_weights_and_backend_errors(tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError, match=r"SUTRACK_ep0002\.pth\.tar"):
        build_tracker("tiny", device="cpu")  # TEST.EPOCH 2 under an empty save_dir
    with pytest.raises(FileNotFoundError, match="no config named 'nope'"):
        build_tracker("nope", random_weights=True)
    bad = tmp_path / "bad.pth.tar"
    torch.save({"net": {"unexpected": torch.zeros(1)}}, bad)
    with pytest.raises(ValueError, match=r"bad.pth.tar: its weights do not fit config .*tiny.yaml"):
        build_tracker("tiny", checkpoint=str(bad), device="cpu")
    with pytest.raises(ValueError, match="unknown backend 'tensorrt'"):
        build_tracker("tiny", random_weights=True, backend="tensorrt")
    monkeypatch.setitem(tracker_module.OPTIONAL_BACKENDS, "fake", "lib.test.tracker.no_such_backend")
    with pytest.raises(ValueError, match="backend 'fake' is not available in this build"):
        build_tracker("tiny", random_weights=True, backend="fake")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            build_tracker("tiny", random_weights=True, device="cuda")
