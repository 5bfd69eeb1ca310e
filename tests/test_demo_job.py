"""The main job end to end on a shortened budget: world data with one family held out, both trainings, tracking
and scoring on the in-world and held-out sets, the paired table, plots, videos."""
from __future__ import annotations

import subprocess
import sys


def test_main_job_runs_end_to_end(tmp_path, repo_root):
    ws = tmp_path / "ws"
    cmd = [sys.executable, "tracking/run_demo.py", "--workspace", str(ws), "--train", "3", "--val", "2",
           "--frames", "10", "--train_frames", "6", "--epochs", "1", "--samples_per_epoch", "16", "--batch_size", "4"]
    proc = subprocess.run(cmd, cwd=repo_root, capture_output=True, text=True, timeout=600)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    # the analysis tables (in-world val, then the held-out family) have a row for each of the three trackers
    for stage in ("=== 4.1 score", "=== 4.2 score"):
        table = out[out.index(stage):]
        assert "AO" in table and "SR0.50" in table
        for label in ("tiny", "tiny_template_blind", "stay-at-first-box"):
            assert label in table
    for config in ("tiny", "tiny_template_blind"):
        assert (ws / "checkpoints/train/sutrack_dinov3" / config / "SUTRACK_ep0001.pth.tar").is_file()
        for results in ("tracking_results", "heldout_results"):
            folder = ws / "test" / results / "sutrack_dinov3" / config / "got10k_val"
            assert len(list(folder.glob("GOT-10k_Val_*[0-9].txt"))) == 2
    for key in ("in-world", "held-out"):
        assert (ws / "plots" / key / "success_plot.png").is_file()
    # train sequences are --train_frames long, the scored ones --frames
    for split, frames in (("got10k/train", 6), ("got10k/val", 10), ("heldout/got10k/val", 10)):
        seq = sorted(p for p in (ws / "data" / split).iterdir() if p.is_dir())[0]
        assert len(list(seq.glob("*.jpg"))) == frames, seq
    # the world table: both sets, AO of each tracker, and the paired difference with its interval
    worlds = (ws / "worlds.md").read_text()
    assert "tiny - tiny_template_blind per sequence [95% CI]" in worlds
    rows = [line for line in worlds.splitlines() if line.startswith("| in-world") or line.startswith("| held-out")]
    assert len(rows) == 2 and "held-out world: cutouts" in rows[1]
    for row in rows:
        cells = [c.strip() for c in row.split("|")[1:-1]]
        assert cells[1] == "2" and all(0.0 <= float(c) <= 1.0 for c in cells[2:5])
        mean, lo, hi = (float(v) for v in cells[5].replace("[", "").replace("]", "").replace(",", "").split())
        assert lo <= mean <= hi
    assert "=== 4.3 in-world and held-out AO" in out
    # the per-backend table: a row per backend, eager fp32 the reference, reduced precision checked
    backends = (ws / "backends" / "backends.md").read_text()
    assert "| pytorch | fp32 |" in backends and "reference" in backends
    assert "one-step IoU with fp32 [95% lower bound] | run IoU with fp32" in backends
    rows = {line.split("|")[1].strip(): line.split("|")[2:-1] for line in backends.splitlines()
            if line.startswith("| ") and "---" not in line}
    assert [c.strip() for c in rows["pytorch"][3:5]] == ["1.0000", "1.0000"]  # eager against itself
    assert 0.99 < float(rows["onnx"][3].split()[0]) <= 1.0  # an fp32 runtime: the same boxes up to rounding
    for name in ("onnx", "openvino", "pytorch_bf16", "onnx_int8", "openvino_int8", "openvino_bf16"):
        assert name in rows, name
    assert "PASS" in backends or "FAIL" in backends
    assert list((ws / "cache" / "verdicts").glob("tiny-*int8-*.json"))  # cached for backend auto
    assert len(list((ws / "test/tracking_results/sutrack_dinov3").glob("tiny_1[0-9][0-9]"))) >= 6
    for key in ("in-world", "held-out"):  # drawn from the scored results: no second run, no box file
        videos = list((ws / "video" / key).iterdir())
        assert len(videos) == 1 and videos[0].suffix == ".mp4" and videos[0].stem.startswith("GOT-10k_Val_")
    assert "drawn from the scored results" in out
    assert "main job finished" in out
    # a rerun skips every finished stage
    rerun = subprocess.run(cmd, cwd=repo_root, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0 and "2.1 train" not in rerun.stdout and "1. demo data" not in rerun.stdout
    # another budget in the same workspace is refused instead of silently reusing the stale stages
    other = subprocess.run([*cmd[:-2], "--batch_size", "2"], cwd=repo_root, capture_output=True, text=True,
                           timeout=600)
    assert other.returncode != 0 and "other settings" in other.stderr and "batch_size 4 -> 2" in other.stderr
