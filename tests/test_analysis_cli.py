"""Result loading, scoring against the GOT-10k toolkit, the analysis CLI and the server packing scripts."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from conftest import load_script

from lib.data.synthetic.got10k_format import write_got10k_list, write_got10k_sequence
from lib.test.analysis.results import score_trackers
from lib.test.results import ResultFileError, TrackerSpec, load_result_boxes, load_sequence_result, load_values

ROOT = Path(__file__).resolve().parents[1]
W, H = 64, 48
SEQS = ["GOT-10k_Val_000001", "GOT-10k_Val_000002", "GOT-10k_Val_000003"]
MAIN = TrackerSpec("sutrack_dinov3", "tiny")
OTHER = TrackerSpec("sutrack_dinov3", "other", 2, "Other")


def write_result(folder: Path, seq: str, boxes: np.ndarray, times: np.ndarray | None = None,
                 conf: np.ndarray | None = None, delimiter: str = "\t") -> None:
    """Write result files the way tracking/test.py does (integer boxes, one value per line)."""
    folder.mkdir(parents=True, exist_ok=True)
    np.savetxt(folder / f"{seq}.txt", boxes, fmt="%d", delimiter=delimiter)
    if times is not None:
        np.savetxt(folder / f"{seq}_time.txt", times, fmt="%.6f")
    if conf is not None:
        np.savetxt(folder / f"{seq}_confidence.txt", conf, fmt="%.4f")


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> SimpleNamespace:
    """A 3-sequence GOT-10k val set (cover 0 frames, boxes at the border) and two trackers' results."""
    base = tmp_path_factory.mktemp("analysis")
    rng = np.random.default_rng(0)
    val = base / "got10k" / "val"
    results = base / "results"
    predictions = {}
    for i, seq in enumerate(SEQS):
        n = 8 + 2 * i
        gt = np.c_[rng.integers(0, 30, (n, 2)), rng.integers(8, 30, (n, 2))].astype(float)
        cover = np.full(n, 8)
        cover[3] = 0
        frames = [np.full((H, W, 3), 40 * i, np.uint8)] * n
        write_got10k_sequence(val, seq, frames, gt, cover=cover)
        pred = (gt + rng.integers(-4, 5, (n, 4))).astype(int)
        pred[0] = gt[0]
        pred[2] = [-6, 5, 20, 20]  # left of the image
        pred[4] = [W - 10, H - 10, 30, 30]  # past the bottom-right corner
        predictions[seq] = pred
        times = rng.uniform(0.01, 0.05, n)
        write_result(MAIN.results_dir(results) / "got10k_val", seq, pred, times, rng.random(n))
        if i < 2:  # the other run misses the last sequence
            write_result(OTHER.results_dir(results) / "got10k_val", seq, pred + 1, times, delimiter=",")
    write_got10k_list(val, SEQS)
    return SimpleNamespace(base=base, got10k=base / "got10k", results=results, predictions=predictions)


@pytest.fixture
def got10k_env(workspace, monkeypatch) -> SimpleNamespace:
    monkeypatch.setenv("SUTRACK_GOT10K_DIR", str(workspace.got10k))
    monkeypatch.setenv("SUTRACK_RESULTS_PATH", str(workspace.results))
    return workspace


def test_load_files_in_any_separator_and_name_bad_files(tmp_path):
    boxes = np.array([[1, 2, 3, 4], [5, 6, 7, 8]])
    for sep in ("\t", ",", " "):
        (tmp_path / "a.txt").write_text("\n".join(sep.join(map(str, b)) for b in boxes) + "\n")
        np.testing.assert_array_equal(load_result_boxes(tmp_path / "a.txt", 2), boxes)
    (tmp_path / "nan.txt").write_text("1,2,3,4\nnan,nan,nan,nan\n")
    assert np.isnan(load_result_boxes(tmp_path / "nan.txt", 2)[1]).all()
    (tmp_path / "long.txt").write_text("1\n2\n3\n")
    np.testing.assert_array_equal(load_values(tmp_path / "long.txt", 3), [1, 2, 3])
    with pytest.raises(ResultFileError, match="long.txt: 3 rows, the sequence has 2 frames \\(more rows than frames"):
        load_values(tmp_path / "long.txt", 2)  # one row per frame: a longer file is not cut, it is refused
    (tmp_path / "bad.txt").write_text("1,2,3,4\n5,6,x,8\n")
    cases = {"a.txt": 3, "missing.txt": None, "bad.txt": None}
    for name, n in cases.items():
        with pytest.raises(ResultFileError, match=re.escape(str(tmp_path / name))):
            load_result_boxes(tmp_path / name, n)
    with pytest.raises(ResultFileError, match="_confidence.txt: file not found"):
        load_sequence_result(tmp_path, "a", 2, need_confidence=True)


def test_tracker_spec_parse():
    assert TrackerSpec.parse("trk:cfg") == TrackerSpec("trk", "cfg")
    assert TrackerSpec.parse("trk:cfg:3:Name: x") == TrackerSpec("trk", "cfg", 3, "Name: x")
    assert TrackerSpec.parse("trk:cfg::Disp").label == "Disp"
    assert TrackerSpec("trk", "cfg", 7).results_dir("/r") == Path("/r/trk/cfg_007")
    for bad in ("trk", "trk::1", "trk:cfg:one"):
        with pytest.raises(ValueError, match=bad):
            TrackerSpec.parse(bad)


def test_got10k_scores_match_the_got10k_toolkit(got10k_env, tmp_path):
    from got10k.experiments.got10k import ExperimentGOT10k

    from lib.test.evaluation import get_dataset

    report = score_trackers([MAIN], get_dataset("got10k_val"), "got10k_val")
    assert report.sequences == SEQS and not report.problems()
    ours = report.scores[0]

    experiment = ExperimentGOT10k(str(got10k_env.got10k), subset="val", result_dir=str(tmp_path / "res"),
                                  report_dir=str(tmp_path / "rep"))
    for seq, pred in got10k_env.predictions.items():
        folder = tmp_path / "res" / "GOT-10k" / "ours" / seq
        folder.mkdir(parents=True)
        np.savetxt(folder / f"{seq}_001.txt", pred, fmt="%d", delimiter=",")
        times = load_values(MAIN.results_dir(got10k_env.results) / "got10k_val" / f"{seq}_time.txt")
        np.savetxt(folder / f"{seq}_time.txt", times, fmt="%.6f")
    theirs = experiment.report(["ours"])["ours"]["overall"]
    assert ours.metrics["AO"] == pytest.approx(100 * theirs["ao"], abs=1e-6)
    assert ours.metrics["SR0.50"] == pytest.approx(100 * theirs["sr"], abs=1e-6)
    assert ours.metrics["FPS"] == pytest.approx(theirs["speed_fps"], rel=1e-4)  # times written with 6 digits
    np.testing.assert_allclose(ours.got10k_curve, theirs["succ_curve"], atol=1e-6)


def test_cli_prints_table_names_missing_sequences_and_writes_plots(got10k_env, tmp_path):
    plot_dir = tmp_path / "plots"
    cmd = [sys.executable, "tracking/analysis_results.py", "--tracker", "sutrack_dinov3", "--config", "tiny",
           "--trackers", "sutrack_dinov3:other:2:Other", "--dataset", "got10k_val",
           "--results_path", str(got10k_env.results), "--plot_dir", str(plot_dir)]
    run = subprocess.run(cmd, cwd=ROOT, env=dict(os.environ), capture_output=True, text=True, timeout=120)
    assert run.returncode == 1, run.stderr  # incomplete: one of the dataset's 3 sequences has no result
    assert f"1 of the 3 sequences of got10k_val not scored: {SEQS[2]}" in run.stderr
    assert "--allow_incomplete" in run.stderr
    out = run.stdout
    header = next(line for line in out.splitlines() if line.startswith("Tracker"))
    for column in ("AUC", "OP50", "OP75", "Precision", "Norm Precision", "FPS", "AO", "SR0.50", "SR0.75"):
        assert column in header
    assert "got10k_val: 2 of 3 sequences scored" in out
    assert any(line.startswith("sutrack_dinov3_tiny ") for line in out.splitlines())
    assert any(line.startswith("Other ") for line in out.splitlines())
    assert f"Other: no results for 1 sequence(s): {SEQS[2]}" in out
    pngs = sorted(p.name for p in plot_dir.glob("*.png"))
    assert pngs == ["got10k_success_plot.png", "norm_precision_plot.png", "precision_plot.png", "success_plot.png"]
    assert all((plot_dir / p).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in pngs)
    run = subprocess.run([*cmd, "--allow_incomplete"], cwd=ROOT, env=dict(os.environ), capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "2 of 3 sequences scored" in run.stdout and f"not scored: {SEQS[2]}" in run.stderr


def test_cli_accepts_dataset_name_and_reports_a_missing_run(got10k_env, capsys):
    analysis_results = load_script("tracking/analysis_results.py")
    assert analysis_results.main(["--dataset_name", "got10k_val", "--config", "nothing"]) == 1
    out = capsys.readouterr()
    assert "sutrack_dinov3_nothing: no results for 3 sequence(s)" in out.out
    with pytest.raises(SystemExit):
        analysis_results.parse_args(["--dataset", "got10k_val"])  # no run named


def test_longterm_dataset_reports_pr_re_f_and_bad_files(tmp_path):
    gt = np.array([[0, 0, 10, 10]] * 4, float)
    seqs = [SimpleNamespace(name=f"s{i}", ground_truth_rect=gt, target_visible=None, dataset="depthtrack",
                            frames=[f"{i}.jpg"] * 4) for i in range(3)]
    folder = MAIN.results_dir(tmp_path) / "depthtrack"
    write_result(folder, "s0", gt, np.full(4, 0.02), np.array([1, 0.9, 0.8, 0.7]))
    write_result(folder, "s1", gt, np.full(4, 0.02))  # no confidence file
    write_result(folder, "s2", gt[:3], np.full(4, 0.02), np.ones(4))  # short result file
    report = score_trackers([MAIN], seqs, "depthtrack", tmp_path)
    assert report.sequences == ["s0"]
    assert report.scores[0].metrics["F"] == pytest.approx(100.0)
    assert report.scores[0].metrics["FPS"] == pytest.approx(50.0)
    problems = report.problems()
    assert "s1_confidence.txt: file not found" in problems and "s2.txt: 3 rows" in problems
    assert "Pr" in report.table() and "Re" in report.table()


def test_rgbt234_reads_infrared_ground_truth_beside_the_frames(tmp_path):
    gt_v = np.array([[0, 0, 10, 10]] * 3, float)
    seq_dir = tmp_path / "data" / "seq"
    seq_dir.mkdir(parents=True)
    (seq_dir / "infrared.txt").write_text("0,0,10,10\n25,0,10,10\n0,0,0,0\n")
    seq = SimpleNamespace(name="seq", ground_truth_rect=gt_v, dataset="rgbt234",
                          frames=[str(seq_dir / "visible" / f"{i:05d}.jpg") for i in range(3)])
    write_result(MAIN.results_dir(tmp_path) / "rgbt234", "seq", np.array([[0, 0, 10, 10], [25, 0, 10, 10],
                                                                          [0, 0, 10, 20]]))
    scores = score_trackers([MAIN], [seq], "rgbt234", tmp_path).scores[0].metrics
    # the hand-computed example of test_metrics.test_rgbt_metrics_hand_computed
    assert scores["MSR"] == pytest.approx(100 * 50 / 63) and scores["MPR"] == pytest.approx(100.0)
    assert scores["SR"] == pytest.approx(100 * 10 / 21) and scores["PR"] == pytest.approx(100 * 2 / 3)


def test_withheld_ground_truth_points_to_packing():
    seq = SimpleNamespace(name="GOT-10k_Test_000001", ground_truth_rect=np.ones((1, 4)), frames=["a", "b"])
    with pytest.raises(ValueError, match="transform_got10k.py"):
        score_trackers([MAIN], [seq], "got10k_test", "/nonexistent")


def test_pack_got10k_and_trackingnet(tmp_path):
    from lib.test.utils.transform_trackingnet import main as pack_trackingnet

    boxes = np.array([[1, 2, 30, 40], [3, 4, 31, 41]])
    for seq in ("GOT-10k_Test_000001", "GOT-10k_Test_000002"):
        write_result(MAIN.results_dir(tmp_path) / "got10k_test", seq, boxes, np.array([0.5, 0.25]), np.ones(2))
    cmd = [sys.executable, "lib/test/utils/transform_got10k.py", "--tracker", "sutrack_dinov3", "--config",
           "tiny", "--results_path", str(tmp_path)]
    run = subprocess.run(cmd, cwd=ROOT, env=dict(os.environ), capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    with zipfile.ZipFile(MAIN.results_dir(tmp_path) / "got10k_test_submit.zip") as archive:
        assert sorted(archive.namelist()) == [
            "GOT-10k_Test_000001/GOT-10k_Test_000001_001.txt", "GOT-10k_Test_000001/GOT-10k_Test_000001_time.txt",
            "GOT-10k_Test_000002/GOT-10k_Test_000002_001.txt", "GOT-10k_Test_000002/GOT-10k_Test_000002_time.txt"]
        assert archive.read("GOT-10k_Test_000001/GOT-10k_Test_000001_001.txt") == b"1,2,30,40\n3,4,31,41\n"
        times = archive.read("GOT-10k_Test_000002/GOT-10k_Test_000002_time.txt").decode().split()
        assert [float(t) for t in times] == [0.5, 0.25]

    run_dir = TrackerSpec("sutrack_dinov3", "tiny", 1).results_dir(tmp_path)
    (run_dir / "trackingnet").mkdir(parents=True)
    (run_dir / "trackingnet" / "video_a.txt").write_text("1.4,2.6,30,40\n")  # floats are rounded
    out = tmp_path / "tn.zip"
    assert pack_trackingnet(["--config", "tiny", "--runid", "1", "--results_path", str(tmp_path),
                             "--output", str(out)]) == 0
    with zipfile.ZipFile(out) as archive:
        assert archive.namelist() == ["video_a.txt"]
        assert archive.read("video_a.txt") == b"1,3,30,40\n"
    assert pack_trackingnet(["--config", "absent", "--results_path", str(tmp_path)]) == 1


def test_invalid_frames_count_as_failures_unless_excluded(tmp_path, capsys):
    # frame 2 has no ground-truth box; the prediction equals the ground truth elsewhere (IoU 1, which passes
    # the 20 thresholds below 1.0). Default (pytracking): 3 of 4 frames pass -> AUC 100 * 20 * 0.75 / 21;
    # excluded: 3 of 3 -> 100 * 20 / 21.
    gt = np.array([[5, 5, 10, 10], [6, 5, 10, 10], [0, 0, 0, 0], [8, 5, 10, 10]], float)
    seqs = [SimpleNamespace(name="s", ground_truth_rect=gt, target_visible=None, dataset="otb", frames=["a"] * 4)]
    write_result(MAIN.results_dir(tmp_path) / "otb", "s", np.where(gt[:, 2:3] > 0, gt, 7.0))
    counted = score_trackers([MAIN], seqs, "otb", tmp_path).scores[0].metrics["AUC"]
    excluded = score_trackers([MAIN], seqs, "otb", tmp_path, exclude_invalid=True).scores[0].metrics["AUC"]
    assert counted == pytest.approx(100 * 20 * 0.75 / 21) and excluded == pytest.approx(100 * 20 / 21)
