"""Provenance and completeness: test.py refuses to mix runs, the analysis refuses mixed or shrunk benchmarks."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from conftest import load_script

from lib.data.synthetic.writers import write_got10k
from lib.test.analysis.results import score_trackers
from lib.test.evaluation import get_dataset
from lib.test.parameter.sutrack_dinov3 import parameters
from lib.test.results import ProvenanceMismatch, ResultFiles, TrackerSpec, sha256_file
from lib.test.tracker.sutrack_dinov3 import build_network

ROOT = Path(__file__).resolve().parents[1]
COMMON = ["sutrack_dinov3", "tiny", "--dataset_name", "got10k_val", "--torch_threads", "1"]
SPEC = TrackerSpec("sutrack_dinov3", "tiny")


test_script, analysis = load_script("tracking/test.py"), load_script("tracking/analysis_results.py")


@pytest.fixture
def got10k(tmp_path, monkeypatch) -> list[str]:
    names = sorted(write_got10k(tmp_path / "got10k", "val", n_sequences=2, n_frames=4, seed=3))
    monkeypatch.setenv("SUTRACK_GOT10K_DIR", str(tmp_path / "got10k"))
    return names


def _mtimes(folder: Path) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}


def test_rerun_with_other_weights_is_refused_and_overwrite_redoes(got10k, tmp_path, capsys):
    results = tmp_path / "results"
    out = SPEC.dataset_dir(results, "got10k_val")
    args = [*COMMON, "--results_path", str(results)]
    assert test_script.main([*args, "--random_weights"]) == 0
    first = _mtimes(out)
    (random_id,) = json.loads((out / "provenance.json").read_text())["records"]
    ckpt = tmp_path / "trained.pth.tar"
    torch.save({"net": build_network(parameters("tiny", random_weights=True, seed=7)).state_dict()}, ckpt)
    capsys.readouterr()

    assert test_script.main([*args, "--checkpoint", str(ckpt)]) == 2  # stale boxes are not kept as this run's
    err = capsys.readouterr().err
    assert "random weights, seed 0" in err and f"checkpoint {ckpt}" in err  # both records
    assert "--runid" in err and "--overwrite" in err
    assert _mtimes(out) == first  # nothing touched

    assert test_script.main([*args, "--checkpoint", str(ckpt), "--runid", "1"]) == 0  # another folder
    assert _mtimes(out) == first
    assert test_script.main([*args, "--checkpoint", str(ckpt), "--overwrite"]) == 0
    (record,) = json.loads((out / "provenance.json").read_text())["records"].values()
    assert record["checkpoint_sha256"] == sha256_file(ckpt) and record["checkpoint"] == str(ckpt.resolve())
    assert {ResultFiles.of(out, n).record_id() for n in got10k} == {record["id"]}
    assert all(_mtimes(out)[f"{n}.txt"] > first[f"{n}.txt"] for n in got10k)

    dataset = get_dataset("got10k_val")
    report = score_trackers([SPEC], dataset, "got10k_val", results)
    assert report.records["sutrack_dinov3_tiny"]["id"] == record["id"] and report.complete
    # one sequence copied in from the random-weights run: the analysis refuses the mix
    ResultFiles.of(out, got10k[1]).provenance.write_text(random_id + "\n")
    with pytest.raises(ProvenanceMismatch, match=f"{got10k[0]}: .*{record['id']}"):
        score_trackers([SPEC], dataset, "got10k_val", results)
    assert analysis.main(["--dataset", "got10k_val", "--config", "tiny", "--results_path", str(results)]) == 2
    assert "different runs" in capsys.readouterr().err


def test_broken_sequence_fails_the_run_and_the_analysis(got10k, tmp_path, capsys):
    results = tmp_path / "results"
    broken = got10k[0]
    (tmp_path / "got10k" / "val" / broken / "groundtruth.txt").write_text("1,2,oops,4\n" * 4)
    assert test_script.main([*COMMON, "--random_weights", "--results_path", str(results)]) == 1
    out = capsys.readouterr().out
    assert "Summary: 2 listed, 1 done (0 redone: damaged results), 0 missing on disk, 1 broken on disk, 0 failed" in out
    assert f"broken on disk (cannot be read): {broken}: " in out and "malformed groundtruth" in out

    args = ["--dataset", "got10k_val", "--config", "tiny", "--results_path", str(results),
            "--plot_dir", str(tmp_path / "plots")]
    assert analysis.main(args) == 1
    printed = capsys.readouterr()
    assert "got10k_val: 1 of 2 sequences scored" in printed.out
    assert "random weights, seed 0" in printed.out  # the run's record
    assert f"not scored: {broken}" in printed.err and "--allow_incomplete" in printed.err
    assert analysis.main([*args, "--allow_incomplete"]) == 0


def test_int8_recipe_is_part_of_a_runs_identity_and_older_records_keep_their_ids():
    """Results of another int8 recipe are another run; records written before revisions existed keep their id."""
    import hashlib

    from lib.test.results import IDENTITY_KEYS, describe, make_record, record_id
    from lib.test.tracker.backends import BACKEND_REVISIONS

    params = parameters("tiny", random_weights=True)
    int8 = make_record("sutrack_dinov3", params, "onnx_int8", "got10k_val")
    assert int8["backend_revision"] == BACKEND_REVISIONS["onnx_int8"]
    assert BACKEND_REVISIONS["onnx_int8"] in describe(int8)
    older_recipe = dict(int8, backend_revision="onnxruntime qdq v2")
    assert record_id(older_recipe) != int8["id"]
    fp32 = make_record("sutrack_dinov3", params, "pytorch", "got10k_val")
    assert fp32["backend_revision"] is None
    before = json.dumps({k: fp32.get(k) for k in IDENTITY_KEYS}, sort_keys=True)  # the id before revisions
    assert fp32["id"] == hashlib.sha256(before.encode()).hexdigest()[:12]
