"""tracking/check_data.py and train.py's start-up check on small fake roots: complete, missing, broken, wrong root."""
from __future__ import annotations

from pathlib import Path

import pytest
from conftest import load_script

from lib.data.splits import spec_names
from lib.data.synthetic.writers_rgbx import write_depthtrack
from lib.train import run_training

ROOT = Path(__file__).resolve().parents[1]
VAL = list(spec_names("depthtrack_val.txt"))  # 6 names: a split small enough to write completely


def check_data(argv: list[str]) -> int:
    return load_script("tracking/check_data.py").main(argv)


@pytest.fixture
def config(tmp_path) -> Path:
    path = tmp_path / "depthtrack_val.yaml"
    path.write_text("DATA:\n  TRAIN:\n    DATASETS_NAME: [DepthTrack_val]\n    DATASETS_RATIO: [1]\n")
    return path


@pytest.fixture
def depthtrack(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "depthtrack"
    write_depthtrack(root / "train", VAL, n_frames=3)
    monkeypatch.setenv("SUTRACK_DEPTHTRACK_DIR", str(root))
    return root


def row(out: str, dataset: str) -> list[str]:
    return next(line.split() for line in out.splitlines() if line.startswith(dataset + " "))


def test_complete_dataset_exits_zero(config, depthtrack, capsys):
    assert check_data(["--config", str(config), "--sample", "-1"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split() == ["dataset", "root", "expected", "found", "missing", "broken", "status"]
    assert row(out, "DepthTrack_val") == ["DepthTrack_val", str(depthtrack), "6", "6", "0", "0", "ok"]


def test_missing_and_broken_sequences_are_named(config, depthtrack, capsys):
    import shutil

    shutil.rmtree(depthtrack / "train" / VAL[2])
    gt = depthtrack / "train" / VAL[4] / "groundtruth.txt"
    gt.write_text(gt.read_text() + "1,2,3,4\n")  # 4 annotation lines for 3 frames
    extra = depthtrack / "train" / VAL[5]
    for folder, ext in (("color", "jpg"), ("depth", "png")):  # 4 frames for 3 annotation lines
        shutil.copy(extra / folder / f"00000001.{ext}", extra / folder / f"00000004.{ext}")
    assert check_data(["--config", str(config), "--sample", "-1"]) == 1
    out = capsys.readouterr().out
    assert row(out, "DepthTrack_val")[2:] == ["6", "5", "1", "1", "broken"]
    assert f"missing: {VAL[2]}" in out
    assert f"broken: {VAL[4]}: missing frame files:" in out and "has 3 images (in range) but" in out
    # 4 frames for 3 lines: training uses the first 3, so the check does not call it broken (a note says so)
    assert f"broken: {VAL[5]}:" not in out and "4 images but" in out and "using the first 3 frames" in out
    assert check_data(["--config", str(config), "--sample", "0"]) == 1  # cheap: counts only
    assert row(capsys.readouterr().out, "DepthTrack_val")[2:] == ["6", "5", "1", "0", "incomplete"]


def test_wrong_root_shows_the_expected_layout(config, tmp_path, monkeypatch, capsys):
    wrong = tmp_path / "flat"
    write_depthtrack(wrong / "sequences" / "x", VAL[:1], n_frames=2)  # one level too deep
    monkeypatch.setenv("SUTRACK_DEPTHTRACK_DIR", str(wrong))
    assert check_data(["--config", str(config)]) == 1
    out = capsys.readouterr().out
    assert row(out, "DepthTrack_val")[2:] == ["6", "0", "6", "0", "wrong", "layout"]
    assert "expected layout: <root>[/train]/<seq>/{color/00000001.jpg, depth/00000001.png" in out
    monkeypatch.setenv("SUTRACK_DEPTHTRACK_DIR", str(tmp_path / "nowhere"))
    assert check_data(["--config", str(config), "--dataset_name", "depthtrack"]) == 1
    out = capsys.readouterr().out
    assert row(out, "DepthTrack_val")[-2:] == ["no", "root"] and row(out, "depthtrack")[-2:] == ["no", "root"]
    assert "depthtrack_dir" in out and row(out, "depthtrack")[1] == str(tmp_path / "nowhere")


def test_train_stops_with_the_table_only_when_a_dataset_is_missing_entirely(config, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SUTRACK_DEPTHTRACK_DIR", str(tmp_path / "nowhere"))
    assert run_training.main(["--config", str(config), "--save_dir", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "training data missing" in err and "DepthTrack_val" in err and "no root" in err
    assert "status" in err.splitlines()[1]  # the table's header follows the first line
