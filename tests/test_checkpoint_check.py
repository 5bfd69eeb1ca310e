"""parameters() checks a tracker checkpoint once: each bad file gives one CheckpointError naming file, cause, fix."""
from __future__ import annotations

import argparse
import re

import pytest
import torch

from lib.test.parameter import sutrack_dinov3 as parameter_module
from lib.test.parameter.sutrack_dinov3 import CheckpointError, parameters, untrained_network
from lib.test.tracker.sutrack_dinov3 import build_network


@pytest.fixture(scope="module")
def tiny_state():
    return untrained_network(parameters("tiny", random_weights=True).cfg, seed=0).state_dict()


def expect_error(path, *patterns: str) -> str:
    with pytest.raises(CheckpointError) as info:
        parameters("tiny", checkpoint=path)
    message = str(info.value)
    assert message.startswith(f"checkpoint {path}: ")
    assert "\nFix: " in message
    assert "weights_only=False" not in message and "weights_only` set to `False" not in message
    for pattern in patterns:
        assert re.search(pattern, message), (pattern, message)
    return message


def test_empty_truncated_and_foreign_files(tmp_path, tiny_state):
    empty = tmp_path / "empty.pth.tar"
    empty.write_bytes(b"")
    expect_error(empty, r"the file is empty \(0 bytes\)", "copy or download the file again")
    good = tmp_path / "good.pth.tar"
    torch.save({"net": tiny_state, "epoch": 2}, good)
    truncated = tmp_path / "truncated.pth.tar"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    expect_error(truncated, "truncated or corrupt", "copy or download the file again")
    text = tmp_path / "notes.pth.tar"
    text.write_text("these are not weights\n")
    expect_error(text, r"not a PyTorch checkpoint .*starts with b'these ar'", "tracking/train.py wrote")
    image = tmp_path / "frame.pth.tar"
    image.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    expect_error(image, r"not a PyTorch checkpoint .*starts with b'\\x89PNG")
    legacy = tmp_path / "legacy.pth.tar"
    torch.save({"net": tiny_state}, legacy, _use_new_zipfile_serialization=False)
    cut = tmp_path / "legacy_cut.pth.tar"
    cut.write_bytes(legacy.read_bytes()[:1000])
    expect_error(cut, r"the file is truncated or corrupt")
    assert parameters("tiny", checkpoint=legacy).checkpoint == str(legacy)  # the old format itself is fine


def test_pickled_objects_and_missing_net(tmp_path, tiny_state):
    objects = tmp_path / "objects.pth.tar"
    torch.save({"net": tiny_state, "settings": argparse.Namespace(lr=1)}, objects)
    expect_error(objects, r"pickled Python objects besides tensors \(first: argparse\.Namespace\)",
                 r"torch\.save\(\{'net': model\.state_dict\(\)\}, PATH\)")
    no_net = tmp_path / "no_net.pth.tar"
    torch.save({"model": tiny_state, "epoch": 3}, no_net)
    expect_error(no_net, r"holds no 'net' state dict \(found: \['epoch', 'model'\]\)")
    not_tensors = tmp_path / "not_tensors.pth.tar"
    torch.save({"net": {"a": 1, "b": [2]}}, not_tensors)
    expect_error(not_tensors, r"'net' entry holds 2 non-tensor values")


def test_weights_of_another_config(tmp_path):
    mm = parameters("tiny_mm", random_weights=True)
    other = tmp_path / "SUTRACK_ep0002.pth.tar"
    torch.save({"net": untrained_network(mm.cfg).state_dict(), "config": mm.cfg.dump()}, other)
    message = expect_error(other, r"do not fit config .*tiny\.yaml: (\d+) mismatched keys",
                           r"run with the config this checkpoint was trained with",
                           r"DATA\.MULTI_MODAL_VISION: True in the checkpoint, False here")
    count = int(re.search(r"(\d+) mismatched keys", message).group(1))
    listed = message.split("the model has ")[1].split("); the config")[0]
    named = sum(listed.count(tag) for tag in ("(unexpected)", "(missing)", "(model: "))
    assert count > 10 and named == 10 and listed.endswith(f"... ({count - 10} more")  # 10 named, not all
    assert "encoder.body.stages.0.downsample_layers.0.weight (24, 6, 4, 4) (model: (24, 3, 4, 4))" in message


def test_good_checkpoint_is_loaded_once(tmp_path, monkeypatch, tiny_state):
    state = {k: v + 1 if v.is_floating_point() else v for k, v in tiny_state.items()}
    good = tmp_path / "good.pth.tar"
    torch.save({"net": state, "epoch": 2}, good)
    loads = []
    real_load = torch.load
    monkeypatch.setattr(parameter_module.torch, "load", lambda *a, **k: loads.append(a[0]) or real_load(*a, **k))
    params = parameters("tiny", checkpoint=good)
    network = build_network(params)
    assert loads == [good]  # read and checked in parameters(); build_network took that network
    for key, value in network.state_dict().items():
        assert torch.equal(value, state[key]), key
    again = build_network(params)  # a second build reads the file again
    assert len(loads) == 2 and torch.equal(again.state_dict()["decoder.score.0.0.weight"],
                                           state["decoder.score.0.0.weight"])


def test_missing_checkpoint_names_how_the_path_was_chosen(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"SUTRACK_ep0002\.pth\.tar \(TEST\.EPOCH 2 of .*tiny\.yaml"):
        parameters("tiny")
    with pytest.raises(FileNotFoundError, match=r"nope\.pth\.tar \(given with --checkpoint\)"):
        parameters("tiny", checkpoint=tmp_path / "nope.pth.tar")
