"""Bad configs, settings, flags, weights, frames and disks get one clear message (exit 2 from the scripts):
YAML syntax and tabs with file:line:column, non-UTF-8 bytes, missing settings files, non-positive sizes,
`1e-4`, empty configs, --opts lists and flags, _BASE_ by name, NaN weights, contradictory flags, a failed
initialize(), channels-first frames, device names, resume after an architecture change, a full disk,
TrackingNet videos outside the class map, check_data agreeing with the loaders, one list of datasets, and
the README's Python example run as written."""
from __future__ import annotations

import argparse
import errno
import os
import re
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from conftest import load_script

from lib.api import build_tracker
from lib.config.sutrack_dinov3.config import get_default_config, load_config
from lib.data.catalog import TRAIN_DATASETS, LeakageError
from lib.data.splits import spec_names
from lib.data.synthetic import writers as W
from lib.data.synthetic.writers_rgbx import write_depthtrack
from lib.test.parameter.sutrack_dinov3 import CheckpointError, parameters, untrained_network
from lib.train import run_training
from lib.train.trainers import checkpoint as ckpt
from lib.utils.settings import env_settings
from lib.utils.yamlio import YamlFileError

ROOT = Path(__file__).resolve().parents[1]
QUICK = ["TRAIN.BATCH_SIZE", "4", "TRAIN.NUM_WORKER", "0"]


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    (path.write_bytes if isinstance(text, bytes) else path.write_text)(text)
    return path


def train_main(argv: list[str]) -> int:
    return load_script("tracking/train.py").main(argv)


def run_config(args: list[str]):
    """The frozen config tracking/train.py would train with for `args` (parsed as train.py parses them)."""
    parser = load_script("tracking/train.py").build_parser()
    return run_training.build_config(run_training.parse_run_args(parser, args))[0]


# ----------------------------------------------------------------------------------------- YAML files (6)
@pytest.mark.parametrize(("text", "where", "message"), [
    ("TRAIN:\n  LR: [0.1\n", ":3:1: YAML syntax error", "expected ',' or ']'"),
    ("TRAIN:\n\tLR: 0.1\n", ":2:1: YAML syntax error", "replace the tab characters by spaces"),
    ("TRAIN:\n  LR: 0.1\n BATCH_SIZE: 4\n", ":3:2: YAML syntax error", "expected <block end>"),
])
def test_yaml_syntax_errors_name_file_line_and_column(tmp_path, capsys, text, where, message):
    bad = write(tmp_path / "bad.yaml", text)
    with pytest.raises(YamlFileError) as info:
        load_config(bad)
    assert str(info.value).startswith(f"{bad}{where}") and message in str(info.value)
    assert train_main(["--config", str(bad), "--save_dir", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.strip().splitlines() == [f"error: {info.value}"]  # one line, no traceback
    assert "<unicode string>" not in err


def test_non_utf8_bytes_name_line_and_column(tmp_path):
    bad = write(tmp_path / "latin1.yaml", "TRAIN:\n  LR: 0.1  # café\n".encode("latin-1"))
    with pytest.raises(YamlFileError, match=re.escape(f"{bad}:2:17: byte b'\\xe9' is not UTF-8")):
        load_config(bad)  # "  LR: 0.1  # caf" is 16 characters: the byte is column 17


def test_exponent_floats_are_floats(tmp_path):
    cfg = load_config(write(tmp_path / "lr.yaml", "TRAIN:\n  LR: 1e-4\n  WEIGHT_DECAY: 5E-2\nDATA:\n"
                                                  "  STD: [2.5e-1, 1e0, .5e-0]\n"))
    assert cfg.TRAIN.LR == 0.0001 and cfg.TRAIN.WEIGHT_DECAY == 0.05 and list(cfg.DATA.STD) == [0.25, 1.0, 0.5]
    assert isinstance(cfg.TRAIN.LR, float)


def test_empty_config_is_a_note_not_an_error(tmp_path, capsys):
    empty = write(tmp_path / "empty.yaml", "# nothing yet\n")
    assert load_config(empty) == get_default_config()
    assert capsys.readouterr().err.strip() == (f"note: config {empty} is empty: every key keeps its default "
                                               "(lib/config/sutrack_dinov3/config.py)")


@pytest.mark.parametrize(("key", "value", "shown"), [
    ("TRAIN.BATCH_SIZE", "0", "0"), ("TRAIN.LR", "-1e-4", "-0.0001"), ("DATA.SEARCH.SIZE", "0", "0"),
    ("TEST.TEMPLATE_SIZE", "-64", "-64"), ("DATA.TEMPLATE.FACTOR", "0.0", "0.0"), ("TRAIN.NUM_WORKER", "-1", "-1")])
def test_non_positive_sizes_lr_and_batch_are_refused(tmp_path, capsys, key, value, shown):
    section, _, leaf = key.rpartition(".")
    nested = "".join(f"{'  ' * i}{part}:\n" for i, part in enumerate(section.split(".")))
    bad = write(tmp_path / "bad.yaml", f"{nested}{'  ' * len(section.split('.'))}{leaf}: {value}\n")
    must = "0 or more" if key == "TRAIN.NUM_WORKER" else "positive (> 0)"
    with pytest.raises(ValueError, match=re.escape(f"{key} = {shown} (from {bad}): it must be {must}")):
        load_config(bad)
    assert train_main(["--config", "tiny", "--save_dir", str(tmp_path / "out"), "--opts", key, value]) == 2
    assert f"{key} = " in capsys.readouterr().err


def test_settings_file_named_but_missing_or_broken(tmp_path, monkeypatch, capsys):
    missing = tmp_path / "nowhere" / "local.yaml"
    monkeypatch.setenv("SUTRACK_LOCAL", str(missing))
    with pytest.raises(FileNotFoundError, match=re.escape(f"settings file not found: {missing} (named by "
                                                          "$SUTRACK_LOCAL)")):
        env_settings()
    assert load_script("tracking/check_data.py").main(["--config", "tiny"]) == 2
    assert f"settings file not found: {missing}" in capsys.readouterr().err
    assert train_main(["--config", "tiny", "--save_dir", str(tmp_path / "out")]) == 2
    assert f"settings file not found: {missing}" in capsys.readouterr().err
    # the scoring and training-profile scripts say it in one line too, not a traceback
    assert load_script("tracking/analysis_results.py").main(["--dataset_name", "got10k_val", "--config", "tiny"]) == 2
    assert f"settings file not found: {missing}" in capsys.readouterr().err
    assert load_script("tracking/profile_train.py").main(["--config", "tiny", "--real"]) == 2
    assert f"settings file not found: {missing}" in capsys.readouterr().err
    broken = write(tmp_path / "local.yaml", "got10k_dir: /data/got10k\n\tlasot_dir: /data/lasot\n")
    monkeypatch.setenv("SUTRACK_LOCAL", str(broken))
    with pytest.raises(YamlFileError, match=re.escape(f"{broken}:2:1: YAML syntax error")):
        env_settings()
    monkeypatch.setenv("SUTRACK_LOCAL", "")  # empty: no file, defaults and SUTRACK_<KEY> only
    assert env_settings().got10k_dir == ""


# ------------------------------------------------------------------------------------ --opts and _BASE_ (8)
@pytest.mark.parametrize("value", ["[LASOT, COCO17]", "LASOT,COCO17", "['LASOT', 'COCO17']", "[LASOT,COCO17]"])
def test_opts_list_values_in_every_form(value):
    cfg = run_config(["--config", "tiny", "--opts", "DATA.TRAIN.DATASETS_NAME", value,
                      "DATA.TRAIN.DATASETS_RATIO", "1,2", "TRAIN.LR", "1e-4"])
    assert list(cfg.DATA.TRAIN.DATASETS_NAME) == ["LASOT", "COCO17"]
    assert list(cfg.DATA.TRAIN.DATASETS_RATIO) == [1, 2] and cfg.TRAIN.LR == 0.0001


def test_opts_one_item_for_a_list_key():
    cfg = run_config(["--config", "tiny", "--opts", "DATA.TRAIN.DATASETS_NAME", "LASOT",
                      "DATA.TRAIN.DATASETS_RATIO", "3"])
    assert list(cfg.DATA.TRAIN.DATASETS_NAME) == ["LASOT"] and list(cfg.DATA.TRAIN.DATASETS_RATIO) == [3]


def test_flags_after_opts_are_parsed_and_unknown_ones_named(capsys):
    cfg = run_config(["--config", "tiny", "--opts", "TRAIN.LR", "1e-4", "--seed", "3", "--epochs", "5"])
    assert cfg.TRAIN.SEED == 3 and cfg.TRAIN.EPOCH == 5 and cfg.TRAIN.LR == 0.0001
    with pytest.raises(SystemExit) as info:
        run_config(["--config", "tiny", "--opts", "TRAIN.LR", "1e-4", "--sed", "3"])
    assert info.value.code == 2 and "unrecognized arguments: --sed 3" in capsys.readouterr().err


@pytest.mark.parametrize(("opts", "message"), [
    (["TRAIN.BATCH_SIZE", "four"], "TRAIN.BATCH_SIZE in --opts must be int, got 'four'"),
    (["TRAIN.BATCH_SIZES", "4"], "TRAIN.BATCH_SIZES not exist in config.py (in --opts)"),
    (["TRAIN.LR"], "--opts needs KEY VALUE pairs, got 1 items"),
])
def test_opts_type_and_key_errors(tmp_path, capsys, opts, message):
    assert train_main(["--config", "tiny", "--save_dir", str(tmp_path), "--opts", *opts]) == 2
    assert message in capsys.readouterr().err


def test_base_names_a_repository_config_from_anywhere(tmp_path):
    outside = write(tmp_path / "mine" / "bigger_lr.yaml", "_BASE_: sutrack_dinov3.yaml\nTRAIN:\n  LR: 3e-4\n")
    cfg = load_config(outside)
    assert cfg.TRAIN.LR == 0.0003 and cfg.MODEL.ENCODER.EMBED_DIM == 256  # the repository's default config
    by_stem = load_config(write(tmp_path / "mine" / "t.yaml", "_BASE_: tiny\n"))
    assert by_stem.MODEL.ENCODER.EMBED_DIM == 96
    local = write(tmp_path / "mine" / "tiny.yaml", "TRAIN:\n  LR: 0.25\n")  # a file beside wins over the repo's
    assert load_config(write(tmp_path / "mine" / "u.yaml", "_BASE_: tiny.yaml\n")).TRAIN.LR == 0.25
    local.unlink()
    with pytest.raises(FileNotFoundError, match=re.escape(f"neither {tmp_path / 'mine' / 'nope.yaml'} nor "
                                                          f"{ROOT / 'experiments' / 'sutrack_dinov3' / 'nope.yaml'}")):
        load_config(write(tmp_path / "mine" / "v.yaml", "_BASE_: nope.yaml\n"))


# --------------------------------------------------------------------------------------- weights (4)
@pytest.fixture(scope="module")
def tiny_state():
    return untrained_network(parameters("tiny", random_weights=True).cfg, seed=0).state_dict()


def test_checkpoint_with_nan_or_inf_is_refused_naming_the_keys(tmp_path, tiny_state):
    state = dict(tiny_state)
    key = "task_decoder.mlp.layers.2.bias"  # 5 values (TASK_NUM): three of them made non-finite
    one = state[key].clone()
    one[:3] = torch.tensor([float("nan"), float("inf"), -float("inf")])
    state[key] = one
    path = tmp_path / "inf.pth.tar"
    torch.save({"net": state}, path)
    with pytest.raises(CheckpointError) as info:
        parameters("tiny", checkpoint=path)
    assert str(info.value).startswith(f"checkpoint {path}: 1 of its {len(state)} tensors hold NaN or Inf (first: "
                                      f"{key} (3 of 5 values NaN/Inf)); a network with these weights cannot track")
    all_nan = {k: torch.full_like(v, float("nan")) if v.is_floating_point() else v for k, v in tiny_state.items()}
    floats = [k for k, v in tiny_state.items() if v.is_floating_point()]
    torch.save({"net": all_nan}, tmp_path / "nan.pth.tar")
    with pytest.raises(CheckpointError, match=re.escape(f"{len(floats)} of its {len(state)} tensors hold NaN or Inf "
                                                        f"(first: {floats[0]} (")):
        parameters("tiny", checkpoint=tmp_path / "nan.pth.tar")


def test_nan_checkpoint_stops_test_py_before_any_sequence(tmp_path, monkeypatch, capsys, tiny_state):
    W.write_got10k(tmp_path / "got10k", "val", n_sequences=1, n_frames=3)
    monkeypatch.setenv("SUTRACK_GOT10K_DIR", str(tmp_path / "got10k"))
    torch.save({"net": {k: v * float("nan") if v.is_floating_point() else v for k, v in tiny_state.items()}},
               tmp_path / "nan.pth.tar")
    test_py = load_script("tracking/test.py")
    common = ["sutrack_dinov3", "tiny", "--dataset_name", "got10k_val", "--results_path", str(tmp_path / "res")]
    assert test_py.main([*common, "--checkpoint", str(tmp_path / "nan.pth.tar")]) == 2
    err = capsys.readouterr().err
    assert f"checkpoint {tmp_path / 'nan.pth.tar'}:" in err and "NaN or Inf" in err
    assert not (tmp_path / "res").exists()


def test_checkpoint_and_random_weights_contradict(tmp_path, capsys, tiny_state):
    torch.save({"net": tiny_state}, tmp_path / "ok.pth.tar")
    test_py = load_script("tracking/test.py")
    code = test_py.main(["sutrack_dinov3", "tiny", "--dataset_name", "got10k_val", "--random_weights",
                         "--checkpoint", str(tmp_path / "ok.pth.tar"), "--results_path", str(tmp_path / "res")])
    err = capsys.readouterr().err
    assert code == 2 and f"both a checkpoint ({tmp_path / 'ok.pth.tar'}) and random weights" in err
    with pytest.raises(ValueError, match="contradict"):
        build_tracker("tiny", checkpoint=tmp_path / "ok.pth.tar", random_weights=True, device="cpu")


# ------------------------------------------------------------------------------ the tracker's inputs (4, 8)
@pytest.fixture(scope="module")
def frame_tracker():
    return build_tracker("tiny", random_weights=True, device="cpu", backend="pytorch")


FRAME = np.random.default_rng(0).integers(0, 255, (96, 128, 3), dtype=np.uint8)


@pytest.mark.parametrize(("bad", "why"), [
    ((FRAME, [10, 10, -5, 4]), "non-positive width or height"),
    ((FRAME.astype(np.float32), [10, 10, 20, 20]), "must be uint8"),
    ((np.ascontiguousarray(FRAME.transpose(2, 0, 1)), [10, 10, 20, 20]), "looks channels-first"),
])
def test_failed_initialize_leaves_no_target(frame_tracker, bad, why):
    frame_tracker.initialize(FRAME, [40, 30, 30, 20])
    frame_tracker.track(FRAME)  # a first target, being followed
    with pytest.raises(ValueError, match=why):
        frame_tracker.initialize(*bad)
    with pytest.raises(RuntimeError, match=rf"track\(\) called after a failed initialize\(\) \(ValueError: .*{why}"):
        frame_tracker.track(FRAME)
    frame_tracker.initialize(FRAME, [40, 30, 30, 20])  # a good initialize() recovers
    box, score = frame_tracker.track(FRAME)
    assert len(box) == 4 and 0.0 <= score <= 1.0


def test_channels_first_frames_get_the_transpose(frame_tracker):
    frame_tracker.initialize(FRAME, [40, 30, 30, 20])
    for shape in ((3, 96, 128), (4, 96, 128), (1, 96, 128)):
        with pytest.raises(ValueError, match=re.escape(f"frame of shape {shape} looks channels-first (C x H x W")
                           + ".*transpose\\(1, 2, 0\\)"):
            frame_tracker.track(np.zeros(shape, np.uint8))


@pytest.mark.parametrize("device", ["gpu7", "cuda0", "tpu", "7"])
def test_device_names_that_are_not_devices(device):
    with pytest.raises(ValueError, match=re.escape(f"device {device!r} is not a device; use 'auto', 'cpu', 'cuda' "
                                                   "or 'cuda:N'")):
        build_tracker("tiny", random_weights=True, device=device, backend="pytorch")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message of a machine without CUDA")
def test_cuda_device_without_cuda():
    with pytest.raises(ValueError, match="device 'cuda:7' requested but CUDA is not available"):
        build_tracker("tiny", random_weights=True, device="cuda:7", backend="pytorch")


# -------------------------------------------------------------------------------------- README example (8)
def readme_python_example() -> str:
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## Using the tracker from Python"):]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_readme_python_example_runs_as_written(tmp_path, monkeypatch, capsys, tiny_state):
    code = readme_python_example()
    assert 'build_tracker("sutrack_dinov3", checkpoint="SUTRACK_ep0180.pth.tar"' in code
    monkeypatch.chdir(tmp_path)
    torch.save({"net": tiny_state}, tmp_path / "SUTRACK_ep0180.pth.tar")  # weights of the tiny config
    frames, _ = W.synthetic_sequence(5, size=(200, 160), seed=3)
    writer = cv2.VideoWriter("video.mp4", cv2.VideoWriter_fourcc(*"mp4v"), 10.0, (200, 160))
    assert writer.isOpened()
    for frame in frames:
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()
    namespace: dict = {}
    exec(compile(code.replace('"sutrack_dinov3"', '"tiny"'), "README.md", "exec"), namespace)  # noqa: S102
    printed = capsys.readouterr().out.strip().splitlines()
    assert len(printed) == 4  # one line per tracked frame after the first
    x, y, w, h = namespace["box"]
    assert 0 <= x < 200 and 0 <= y < 160 and w > 0 and h > 0 and 0.0 <= namespace["score"] <= 1.0
    assert namespace["tracker"].bgr


# ----------------------------------------------------------------------------------------- video_demo (8)
def test_video_demo_out_naming_a_file_and_stale_temps(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("DISPLAY", raising=False)
    demo = load_script("tracking/video_demo.py")
    frames, boxes = W.synthetic_sequence(4, size=(96, 72), seed=2)
    W.write_frames(tmp_path / "clip", frames, pattern="{:05d}.jpg", start=0)
    pattern, init = str(tmp_path / "clip" / "%05d.jpg"), ",".join(str(int(v)) for v in boxes[0])
    not_a_folder = write(tmp_path / "out.mp4", b"an earlier video")
    assert demo.main(["tiny", pattern, "--random_weights", "--init", init, "--out", str(not_a_folder)]) == 2
    assert f"--out {not_a_folder} is an existing file, not a folder" in capsys.readouterr().err
    assert not_a_folder.read_bytes() == b"an earlier video"
    out = tmp_path / "out"
    stale = [write(out / ".clip.x1y2z3.tmp.mp4", b"half a video"), write(out / ".clip.txt.abc123.tmp", b"1\t2"),
             write(out / ".clip_time.txt.q1.tmp", b"0.1")]
    other = write(out / ".other.x1.tmp.mp4", b"another name's")
    assert demo.main(["tiny", pattern, "--random_weights", "--init", init, "--out", str(out)]) == 0
    assert not any(p.exists() for p in stale) and other.exists()
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == [
        "clip.mp4", "clip.txt", "clip_confidence.txt", "clip_time.txt"]


# --------------------------------------------------------------------------- resume and full disk (6)
@pytest.fixture(scope="module")
def one_epoch(tmp_path_factory) -> Path:
    """A save dir holding one epoch of the tiny config trained on a small GOT-10k-format set."""
    base = tmp_path_factory.mktemp("trained")
    W.write_got10k(base / "got10k", "train", n_sequences=3, n_frames=8)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SUTRACK_GOT10K_DIR", str(base / "got10k"))
        assert run_training.main(["--config", "tiny", "--save_dir", str(base / "run"), "--epochs", "1",
                                  "--samples_per_epoch", "8", "--opts", *QUICK]) == 0
    return base


def checkpoints_of(save_dir: Path) -> list[tuple[int, Path]]:
    return ckpt.list_checkpoints(save_dir / "checkpoints" / "train" / "sutrack_dinov3" / "tiny")


def test_resume_after_an_architecture_change_names_keys_and_no_resume(one_epoch, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SUTRACK_GOT10K_DIR", str(one_epoch / "got10k"))
    run = shutil.copytree(one_epoch / "run", tmp_path / "run")
    code = run_training.main(["--config", "tiny", "--save_dir", str(run), "--epochs", "2", "--samples_per_epoch",
                              "8", "--opts", *QUICK, "MODEL.DECODER.NUM_CHANNELS", "32"])
    err = capsys.readouterr().err
    assert code == 2
    path = checkpoints_of(run)[-1][1]
    assert f"cannot resume from {path}: the model built from the config differs from the checkpoint's: " in err
    # the head's first conv: 64 channels saved, 32 now; input 96 tokens + 2 similarity-map channels
    assert "decoder.score.0.0.weight (64, 98, 3, 3) (model: (32, 98, 3, 3))" in err
    assert "MODEL.DECODER.NUM_CHANNELS: 64 -> 32" in err and "--no-resume" in err
    assert "Traceback" not in err and [e for e, _ in checkpoints_of(run)] == [1]


def test_full_disk_during_a_save_names_path_and_space_and_keeps_the_previous(one_epoch, tmp_path, monkeypatch,
                                                                             capsys):
    monkeypatch.setenv("SUTRACK_GOT10K_DIR", str(one_epoch / "got10k"))
    run = shutil.copytree(one_epoch / "run", tmp_path / "run")
    previous = checkpoints_of(run)[-1][1]
    before = previous.read_bytes()
    real_save = torch.save

    def disk_fills_up(obj, f, *args, **kwargs):  # half a checkpoint is written, then ENOSPC
        real_save({"part": torch.zeros(1000)}, f)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(ckpt.torch, "save", disk_fills_up)
    code = run_training.main(["--config", "tiny", "--save_dir", str(run), "--epochs", "2", "--samples_per_epoch",
                              "8", "--opts", *QUICK])
    err = capsys.readouterr().err
    target = previous.with_name("SUTRACK_ep0002.pth.tar")
    assert code == 2
    assert re.search(re.escape(f"disk full: cannot write checkpoint {target} (about ")
                     + r"\d+ MB\) with \d+ MB free on "
                     + re.escape(f"{target.parent}; the previous checkpoint {previous} is intact"), err)
    assert previous.read_bytes() == before and not target.exists()
    # no temp file left (the run folder's lock file stays by design: lib/utils/run_lock.py)
    assert [p.name for p in target.parent.iterdir() if p.name.startswith(".") and p.name != ".run.lock"] == []


def test_torch_zip_writer_error_on_a_full_disk_is_recognised(tmp_path, monkeypatch):
    def zip_writer_fails(obj, f, *args, **kwargs):  # what torch.save raises when the file's write fails
        try:
            raise OSError(errno.ENOSPC, "No space left on device")
        except OSError:
            raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 64 vs 0") from None

    monkeypatch.setattr(ckpt.torch, "save", zip_writer_fails)
    with pytest.raises(ckpt.DiskFullError, match=re.escape(f"cannot write checkpoint {tmp_path / 'x.pth.tar'}")):
        ckpt.save_atomic({"net": {"w": torch.zeros(3)}}, tmp_path / "x.pth.tar")

    def other_failure(obj, f, *args, **kwargs):
        raise RuntimeError("unexpected pos 64 vs 0")  # not a full disk: passed on as it is

    monkeypatch.setattr(ckpt.torch, "save", other_failure)
    with pytest.raises(RuntimeError, match="unexpected pos"):
        ckpt.save_atomic({"net": {}}, tmp_path / "x.pth.tar")
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------------------- data: leaks, check (7)
@pytest.mark.parametrize("how", ["copy", "symlink"])
def test_trackingnet_test_video_in_a_training_chunk_is_a_leak(root, capsys, how):
    from lib.train.dataset import build_train_dataset

    base = root("trackingnet_dir")
    W.write_trackingnet(base, "TRAIN_0", n_videos=2)
    W.write_trackingnet(base, "TEST", n_videos=1)
    video = "test_video0_0"
    if how == "copy":
        shutil.copytree(base / "TEST" / "frames" / video, base / "TRAIN_0" / "frames" / video)
        shutil.copy(base / "TEST" / "anno" / f"{video}.txt", base / "TRAIN_0" / "anno" / f"{video}.txt")
    else:
        os.symlink(base / "TEST" / "frames" / video, base / "TRAIN_0" / "frames" / video)
        os.symlink(base / "TEST" / "anno" / f"{video}.txt", base / "TRAIN_0" / "anno" / f"{video}.txt")
    reason = "TrackingNet, not a training video: not in trackingnet_classmap.txt"
    with pytest.raises(LeakageError, match=re.escape(f"TRACKINGNET: 1 sequence(s) under {base} belong to a "
                                                     f"benchmark's test split (first: TRAIN_0/{video} ({reason}))")):
        build_train_dataset("TRACKINGNET")
    cfg = write(base.parent / "tn.yaml", "DATA:\n  TRAIN:\n    DATASETS_NAME: [TRACKINGNET]\n    DATASETS_RATIO: [1]\n")
    assert load_script("tracking/check_data.py").main(["--config", str(cfg), "--sample", "0"]) == 1
    out = capsys.readouterr().out
    assert "test leak" in out and f"TRAIN_0/{video} ({reason})" in out
    (base / "TRAIN_0" / "anno" / f"{video}.txt").unlink()
    assert len(build_train_dataset("TRACKINGNET")) == 2  # the class map's videos train


def test_check_data_broken_is_exactly_what_training_skips(root, tmp_path, capsys):
    from lib.train.dataset import build_train_dataset

    names = list(spec_names("depthtrack_val.txt"))
    base = root("depthtrack_dir")
    write_depthtrack(base / "train", names, n_frames=3)
    seq = base / "train"
    gt = seq / names[0] / "groundtruth.txt"
    gt.write_text(gt.read_text() + "1,2,3,4\n")  # 4 lines for 3 frames: unusable
    for folder, ext in (("color", "jpg"), ("depth", "png")):  # 4 frames for 3 lines: the first 3 are used
        shutil.copy(seq / names[1] / folder / f"00000001.{ext}", seq / names[1] / folder / f"00000004.{ext}")
    (seq / names[2] / "color" / "00000003.jpg").write_bytes(b"")  # an unreadable last frame: redrawn in training
    (seq / names[3] / "groundtruth.txt").write_text("1,2,x,4\n1,2,3,4\n1,2,3,4\n")  # garbled: unusable
    cfg = write(tmp_path / "dt.yaml", "DATA:\n  TRAIN:\n    DATASETS_NAME: [DepthTrack_val]\n    DATASETS_RATIO: [1]\n")
    assert load_script("tracking/check_data.py").main(["--config", str(cfg), "--sample", "-1"]) == 1
    out = capsys.readouterr().out
    reported_broken = set(re.findall(r"^  broken: (\S+):", out, re.M))
    with pytest.warns(UserWarning):
        ds = build_train_dataset("DepthTrack_val")
    trained = {ds.get_sequence_name(i) for i in range(len(ds))}
    assert reported_broken == {names[0], names[3]} == {n for n, _ in ds.skipped}
    assert not reported_broken & trained and trained == set(names) - reported_broken
    assert f"{names[2]}: unreadable frame 3:" in out and "using the first 3 frames (as training does)" in out


# ------------------------------------------------------------------------------- one list of datasets (9)
def test_every_catalog_entry_builds_its_training_class(tmp_path, monkeypatch):
    import lib.train.dataset as datasets
    from lib.data.synthetic.benchmarks import write_benchmark_roots
    from lib.train.dataset import build_train_dataset, register_train_dataset, train_dataset_names

    assert train_dataset_names()[:len(TRAIN_DATASETS)] == list(TRAIN_DATASETS)
    for key, path in write_benchmark_roots(tmp_path / "roots").items():
        monkeypatch.setenv(f"SUTRACK_{key.upper()}", str(path))
    monkeypatch.setenv("SUTRACK_CACHE_DIR", str(tmp_path / "cache"))
    built = {}
    with pytest.warns(UserWarning):  # most splits are incomplete on the fake roots
        for name in ("LASOT", "GOT10K_vottrain", "TRACKINGNET", "VASTTRACK", "COCO17", "DepthTrack_train",
                     "LasHeR_train", "TNL2K_train"):
            built[name] = build_train_dataset(name)
    for name, ds in built.items():
        entry = TRAIN_DATASETS[name]
        assert type(ds) is getattr(datasets, entry.train_class) and len(ds) > 0, name
    assert built["GOT10K_vottrain"].label == "GOT10K_vottrain"
    for entry in TRAIN_DATASETS.values():  # every entry names a class the package exports
        assert isinstance(getattr(datasets, entry.train_class, None), type), entry.name
    monkeypatch.setattr(datasets, "_REGISTERED", {})  # registered for this test only
    register_train_dataset("MY_SET", lambda s: built["LASOT"])
    assert build_train_dataset("my_set") is built["LASOT"] and "MY_SET" in train_dataset_names()
    with pytest.raises(ValueError, match="unknown training dataset 'NOPE'; known: LASOT, GOT10K_train_full"):
        build_train_dataset("NOPE")


def test_negative_opts_values_are_values_not_flags():
    parser = argparse.ArgumentParser()
    run_training.add_run_arguments(parser)
    args = run_training.parse_run_args(parser, ["--config", "tiny", "--seed", "7", "--opts", "TRAIN.LR", "-1e-3"])
    assert args.seed == 7 and args.opts == ["TRAIN.LR", "-1e-3"]  # a negative value is not a flag
