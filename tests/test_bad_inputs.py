"""Bad inputs get clear errors naming the value: boxes, frames, YAML values and _BASE_ chains, offline weights."""
from __future__ import annotations

import socket

import numpy as np
import pytest
from conftest import load_script

from lib.api import FrameTracker
from lib.config.sutrack_dinov3.config import load_config
from lib.models.sutrack_dinov3 import WeightsUnavailableError, build_sutrack_dinov3
from lib.models.sutrack_dinov3.clip import TextEncoder
from lib.test.parameter.sutrack_dinov3 import parameters
from lib.test.tracker.sutrack_dinov3 import SUTrackDINOv3Tracker
from lib.utils import hub


class NullNetwork:
    """Never called for the errors below; encode_template is what initialize reaches last."""

    def encode_template(self, templates, annos):
        return None

    def track_step(self, search, cache, text_src=None):
        raise AssertionError("not reached")


@pytest.fixture(scope="module")
def tracker() -> SUTrackDINOv3Tracker:
    return SUTrackDINOv3Tracker(parameters("tiny", random_weights=True), network=NullNetwork(), device="cpu")


FRAME = np.zeros((80, 100, 3), dtype=np.uint8)  # W 100 x H 80


@pytest.mark.parametrize(("box", "touching"), [([100, 10, 20, 20], [99, 10, 20, 20]),
                                               ([10, 80, 20, 20], [10, 79, 20, 20]),
                                               ([-20, 10, 20, 20], [-19, 10, 20, 20]),
                                               ([10, -30, 20, 30], [10, -29, 20, 30])])
def test_init_box_entirely_outside_the_image(tracker, box, touching):
    with pytest.raises(ValueError, match=rf"init box \[{float(box[0])}, .* lies entirely outside the 100 x 80"):
        tracker.initialize(FRAME, {"init_bbox": box})
    tracker.initialize(FRAME, {"init_bbox": touching})  # one pixel inside is a valid start


def test_box_given_as_a_string(tracker):
    with pytest.raises(TypeError, match=r"got the string '10,20,30,40'"):
        tracker.initialize(FRAME, {"init_bbox": "10,20,30,40"})
    with pytest.raises(TypeError, match=r"got the string \['10', '20', '30', '40'\]"):
        tracker.initialize(FRAME, {"init_bbox": ["10", "20", "30", "40"]})
    with pytest.raises(TypeError, match=r"got the string '10 20 30 40'"):
        FrameTracker(tracker).initialize(FRAME, "10 20 30 40")  # the Python entry point passes it on unparsed
    with pytest.raises(TypeError, match=r"got \[10, 20, None, 40\]"):
        tracker.initialize(FRAME, {"init_bbox": [10, 20, None, 40]})


def test_tiny_frames(tracker):
    with pytest.raises(ValueError, match=r"at least 10 x 10 pixels .* got a 50 x 8 frame"):
        tracker.initialize(np.zeros((8, 50, 3), dtype=np.uint8), {"init_bbox": [1, 1, 4, 4]})
    with pytest.raises(ValueError, match=r"got a 3 x 40 frame"):
        tracker.initialize(np.zeros((40, 3), dtype=np.uint8), {"init_bbox": [1, 1, 2, 4]})


def test_frame_size_changing_mid_sequence(tracker):
    tracker.initialize(FRAME, {"init_bbox": [40, 30, 16, 16]})
    with pytest.raises(ValueError, match=r"frame 1 is 100 x 81 pixels but the sequence started at 100 x 80"):
        tracker.track(np.zeros((81, 100, 3), dtype=np.uint8))


def test_base_cycle(tmp_path):
    (tmp_path / "a.yaml").write_text("_BASE_: b.yaml\nTRAIN:\n  LR: 0.1\n")
    (tmp_path / "b.yaml").write_text("_BASE_: c.yaml\n")
    (tmp_path / "c.yaml").write_text("_BASE_: a.yaml\n")
    with pytest.raises(ValueError, match=r"_BASE_ chain is a cycle \(a\.yaml -> b\.yaml -> c\.yaml -> a\.yaml\)"):
        load_config(tmp_path / "a.yaml")
    (tmp_path / "d.yaml").write_text("_BASE_: missing.yaml\n")
    with pytest.raises(FileNotFoundError, match=r"missing\.yaml \(_BASE_ of .*d\.yaml\)"):
        load_config(tmp_path / "d.yaml")


@pytest.mark.parametrize(("text", "pattern"), [
    ("TEST:\n  SEARCH_SIZE: null\n", r"TEST\.SEARCH_SIZE in .*bad\.yaml is empty \(null\); give a int such as 224"),
    ("TEST:\n  SEARCH_SIZE:\n", r"TEST\.SEARCH_SIZE in .*bad\.yaml is empty \(null\)"),
    ("TEST:\n  SEARCH_SIZE: true\n", r"TEST\.SEARCH_SIZE in .*bad\.yaml must be int \(e\.g\. 224\), got True"),
    ("TRAIN:\n  LR: false\n", r"TRAIN\.LR in .*bad\.yaml must be float \(e\.g\. 0\.0001\), got False"),
    ("TEST:\n  SEARCH_SIZE: '224'\n", r"TEST\.SEARCH_SIZE in .*bad\.yaml must be int, got '224'"),
    ("DATA:\n  MEAN: 0.4, 0.4, 0.4\n", r"DATA\.MEAN in .*bad\.yaml must be list, got '0\.4, 0\.4, 0\.4'"),
])
def test_yaml_values_of_the_wrong_kind(tmp_path, text, pattern):
    bad = tmp_path / "bad.yaml"
    bad.write_text(text)
    with pytest.raises(ValueError, match=pattern):
        load_config(bad)


def test_yaml_false_turns_text_weights_off(tmp_path):
    off = tmp_path / "off.yaml"
    off.write_text("MODEL:\n  TEXT_ENCODER:\n    PRETRAINED: false\n")
    assert load_config(off).MODEL.TEXT_ENCODER.PRETRAINED == ""


@pytest.fixture
def no_network(monkeypatch):
    """Every connection attempt is recorded and refused; the hub probe starts afresh."""
    attempts = []

    def refuse(address, *args, **kwargs):
        attempts.append(address)
        raise OSError(f"network unreachable ({address})")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", lambda self, address: refuse(address))
    hub._probe.cache_clear()
    yield attempts
    hub._probe.cache_clear()


def clip_config(pretrained: str):
    cfg = load_config("experiments/sutrack_dinov3/tiny_mm.yaml").clone()
    cfg.defrost()
    cfg.MODEL.TEXT_ENCODER.TYPE = "ViT-B-32"
    cfg.MODEL.TEXT_ENCODER.PRETRAINED = pretrained
    return cfg


def test_text_weights_offline_flag_fails_at_once(no_network):
    with pytest.raises(WeightsUnavailableError) as info:
        TextEncoder(clip_config("openai"), 96)  # conftest sets HF_HUB_OFFLINE=1
    message = str(info.value)
    assert "MODEL.TEXT_ENCODER.PRETRAINED = 'openai'" in message and "HF_HUB_OFFLINE is set" in message
    assert "PRETRAIN_TYPE" not in message and 'set MODEL.TEXT_ENCODER.PRETRAINED to ""' in message
    assert no_network == []


def test_unreachable_hub_is_probed_once(monkeypatch, no_network):
    from huggingface_hub import constants

    for key in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)  # as on a machine without the flag
    for _ in range(2):  # e.g. one model per box head
        with pytest.raises(WeightsUnavailableError, match=r"offline \(the hub does not answer\)"):
            TextEncoder(clip_config("openai"), 96)
    assert no_network == [("huggingface.co", 443)]  # the probe, once; no download attempt
    assert constants.HF_HUB_OFFLINE is False  # cache_only restored the client's setting
    with pytest.raises(WeightsUnavailableError, match=r"no pretrained tag 'nope' for 'ViT-B-32'"):
        TextEncoder(clip_config("nope"), 96)


def test_random_weights_never_touch_the_network(tmp_path, no_network, repo_root, monkeypatch):
    model = build_sutrack_dinov3(load_config("experiments/sutrack_dinov3/tiny_mm.yaml"))
    assert model.text_encoder is not None
    script = load_script("test_dinov3_encoder.py")
    mm = tmp_path / "mm_openai.yaml"  # a text encoder with a pretrained tag, run without --pretrained
    mm.write_text(f"_BASE_: {repo_root / 'experiments/sutrack_dinov3/tiny_mm.yaml'}\n"
                  "MODEL:\n  TEXT_ENCODER:\n    PRETRAINED: openai\n")
    script.run(mm, pretrained=False, batch=1)
    assert no_network == []
