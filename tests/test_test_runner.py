"""tracking/test.py on a small synthetic GOT-10k val set: layout, resume, failures, pool and torchrun."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import load_script

from lib.config.sutrack_dinov3.config import load_config
from lib.data.synthetic.writers import write_got10k
from lib.test.tracker.backends import FP32_BACKENDS

ROOT = Path(__file__).resolve().parents[1]
N_SEQ, N_FRAMES = 3, 6
COMMON = ["sutrack_dinov3", "tiny", "--random_weights", "--torch_threads", "1"]


test_script = load_script("tracking/test.py")


@pytest.fixture(scope="module")
def got10k(tmp_path_factory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("data") / "got10k"
    return root, write_got10k(root, "val", n_sequences=N_SEQ, n_frames=N_FRAMES, seed=1)


@pytest.fixture(scope="module")
def baseline(got10k, tmp_path_factory) -> Path:
    """Results of one in-process run (threads 0); the folder <results>/sutrack_dinov3/tiny/got10k_val."""
    results = tmp_path_factory.mktemp("baseline")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SUTRACK_GOT10K_DIR", str(got10k[0]))
        mp.setenv("SUTRACK_LOCAL", "")
        assert test_script.main([*COMMON, "--dataset_name", "got10k_val", "--results_path", str(results)]) == 0
    return results / "sutrack_dinov3" / "tiny" / "got10k_val"


@pytest.fixture
def data_env(got10k, monkeypatch):
    monkeypatch.setenv("SUTRACK_GOT10K_DIR", str(got10k[0]))
    return got10k


def read_boxes(folder: Path) -> dict[str, str]:
    files = sorted(folder.glob("*.txt"))
    return {p.name: p.read_text() for p in files if not p.stem.endswith(("_time", "_confidence", "_provenance"))}


def test_layout_and_formats(baseline, got10k):
    _, gt = got10k
    names = sorted(p.name for p in baseline.iterdir())
    assert names == sorted([f"{s}{suffix}.txt" for s in gt for suffix in ("", "_time", "_confidence", "_provenance")]
                           + ["provenance.json", ".run.lock"])  # the lock file stays; its holder record went
    (record,) = json.loads((baseline / "provenance.json").read_text())["records"].values()
    assert record["weights"] == "random weights, seed 0" and record["checkpoint"] is None
    assert record["config"] == "tiny" and record["dataset"] == "got10k_val"
    assert record["backend"] == "auto" and record["backend_resolved"] in FP32_BACKENDS  # the default, and its pick
    assert record["config_sha256"] == hashlib.sha256(load_config(record["config_file"]).dump().encode()).hexdigest()
    assert record["code_version"] and record["date"]
    assert {(baseline / f"{s}_provenance.txt").read_text().strip() for s in gt} == {record["id"]}
    for seq, boxes in gt.items():
        rows = [line.split("\t") for line in (baseline / f"{seq}.txt").read_text().splitlines()]
        assert len(rows) == N_FRAMES and all(len(r) == 4 for r in rows)
        values = np.array(rows, dtype=np.int64)  # integers only
        np.testing.assert_array_equal(values[0], np.round(boxes[0]))
        times = np.loadtxt(baseline / f"{seq}_time.txt")
        scores = np.loadtxt(baseline / f"{seq}_confidence.txt")
        assert times.shape == scores.shape == (N_FRAMES,) and (times > 0).all()
        assert scores[0] == 1.0 and ((scores >= 0) & (scores <= 1)).all()


def test_rerun_fills_in_only_missing(baseline, data_env, tmp_path):
    results = tmp_path / "results"
    out = results / "sutrack_dinov3" / "tiny" / "got10k_val"
    shutil.copytree(baseline, out)
    removed = sorted(data_env[1])[1]
    (out / f"{removed}.txt").unlink()
    (out / f"{removed}_time.txt").write_text("stale")  # a sequence killed before its box file was written
    before = {p.name: p.stat().st_mtime_ns for p in out.iterdir() if not p.name.startswith(removed)}
    assert test_script.main([*COMMON, "--dataset", "got10k_val", "--results_path", str(results)]) == 0
    after = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    assert {k: after[k] for k in before} == before  # finished sequences untouched
    assert read_boxes(out) == read_boxes(baseline)
    assert (out / f"{removed}_time.txt").read_text() != "stale"
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]


def test_failing_sequence_is_reported_and_others_finish(tmp_path, monkeypatch, capsys):
    root = tmp_path / "got10k"
    names = sorted(write_got10k(root, "val", n_sequences=3, n_frames=4, seed=5))
    broken = root / "val" / names[1] / "00000003.jpg"
    broken.write_bytes(b"not a jpeg")
    monkeypatch.setenv("SUTRACK_GOT10K_DIR", str(root))
    results = tmp_path / "results"
    assert test_script.main([*COMMON, "--dataset_name", "got10k_val", "--results_path", str(results)]) == 1
    out = results / "sutrack_dinov3" / "tiny" / "got10k_val"
    assert sorted(read_boxes(out)) == [f"{names[0]}.txt", f"{names[2]}.txt"]
    printed = capsys.readouterr()
    text = printed.out + printed.err
    assert f"sequence '{names[1]}' failed" in text and str(broken) in text
    assert "Summary: 3 listed, 2 done (0 redone: damaged results), 0 missing on disk, 0 broken on disk, 1 failed" \
        in text
    assert f"failed: {names[1]}" in text
    assert test_script.main([*COMMON, "--dataset_name", "got10k_val", "--results_path", str(results),
                             "--sequence", "0"]) == 0  # one sequence by index: already done


def test_setup_errors(data_env, tmp_path, capsys):
    args = ["sutrack_dinov3", "tiny", "--dataset_name", "got10k_val", "--results_path", str(tmp_path)]
    assert test_script.main(args) == 2  # no checkpoint for TEST.EPOCH under the (empty) save_dir
    assert "SUTRACK_ep0002.pth.tar" in capsys.readouterr().err
    assert test_script.main([*args, "--checkpoint", str(tmp_path / "missing.pth.tar")]) == 2
    assert "missing.pth.tar" in capsys.readouterr().err
    assert test_script.main([*args, "--random_weights", "--sequence", "nope"]) == 2
    assert "no sequence 'nope'" in capsys.readouterr().err
    assert test_script.main(["other", "tiny", "--dataset_name", "got10k_val", "--random_weights"]) == 2
    assert "unknown tracker script 'other'" in capsys.readouterr().err


def _run(cmd: list[str], tmp_path: Path) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_process_pool_matches_in_process(baseline, data_env, tmp_path):
    _run([sys.executable, "tracking/test.py", *COMMON, "--dataset", "got10k_val", "--threads", "2",
          "--runid", "1", "--results_path", str(tmp_path)], tmp_path)
    assert read_boxes(tmp_path / "sutrack_dinov3" / "tiny_001" / "got10k_val") == read_boxes(baseline)


def test_torchrun_matches_single_process(baseline, data_env, tmp_path):
    torchrun = Path(sys.executable).with_name("torchrun")
    _run([str(torchrun), "--standalone", "--nproc_per_node", "2", "tracking/test.py", *COMMON,
          "--dataset_name", "got10k_val", "--results_path", str(tmp_path)], tmp_path)
    assert read_boxes(tmp_path / "sutrack_dinov3" / "tiny" / "got10k_val") == read_boxes(baseline)
