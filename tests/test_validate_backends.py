"""Backend validation resolves what it claims: the bootstrap bounds by hand, a perturbed backend FAILS and a
faithful one PASSES end to end, verdicts are cached per checkpoint content, and 'auto' takes only what passed."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from lib.test.evaluation.tracker import TrackerRun
from lib.test.parameter.sutrack_dinov3 import parameters
from lib.test.tracker import sutrack_dinov3 as tracker_module
from lib.test.tracker.backends import FP32_BACKENDS, auto, base
from lib.test.tracker.backends import verdicts as V
from lib.test.tracker.sutrack_dinov3 import build_network, load_pytorch_network
from tests.conftest import load_script

CPU = torch.device("cpu")


def test_bootstrap_bounds_by_hand():
    """Two sequences: resampling both gives the worse one with probability 1/4, so the 5% / 2.5% quantiles
    are the worse sequence's value exactly; constant inputs give degenerate intervals; reruns are identical."""
    mean, low = V.fidelity_bound([np.ones(10), np.full(30, 0.9)])
    assert mean == pytest.approx(37 / 40) and low == pytest.approx(0.9)  # frames weighted: (10 + 27) / 40
    diff, lo, hi = V.ao_interval(np.array([-0.1, 0.1]))
    assert diff == pytest.approx(0.0) and lo == pytest.approx(-0.1) and hi == pytest.approx(0.1)
    assert V.ao_interval(np.full(7, 0.03)) == pytest.approx((0.03, 0.03, 0.03))
    rng = np.random.default_rng(5)
    seqs = [rng.uniform(0.9, 1.0, size=n) for n in (5, 9, 12, 7, 20)]
    assert V.fidelity_bound(seqs) == V.fidelity_bound(seqs)  # seeded: same boxes, same bound
    assert V.judge(V.FIDELITY_LIMIT, -V.AO_LIMIT)[0]
    passed, reason = V.judge(V.FIDELITY_LIMIT - 1e-3, 0.0)
    assert not passed and f"< {V.FIDELITY_LIMIT}" in reason
    passed, reason = V.judge(1.0, -V.AO_LIMIT - 1e-3)
    assert not passed and f"< {-V.AO_LIMIT}" in reason


class Perturbed:
    """Eager fp32 whose final boxes are moved by Gaussian noise (`sigma`, a fraction of the search crop)."""

    def __init__(self, inner, sigma: float):
        self.inner, self.sigma, self.gen = inner, sigma, torch.Generator().manual_seed(0)
        self.name = "perturbed"

    def __getattr__(self, item):
        return getattr(self.inner, item)

    def track_step(self, search, cache, text_src=None):
        out = dict(self.inner.track_step(search, cache, text_src))
        raw = out["pred_boxes"] if "pred_boxes" in out else None
        if raw is not None and self.sigma > 0:
            out["pred_boxes"] = raw + self.sigma * torch.randn(raw.shape, generator=self.gen)
        return out


@pytest.fixture
def checkpoint(tmp_path):
    path = tmp_path / "tiny.pth.tar"
    torch.save({"net": build_network(parameters("tiny", random_weights=True, seed=3)).state_dict()}, path)
    return path


def test_perturbed_backend_fails_and_faithful_one_passes(root, tmp_path, monkeypatch, checkpoint):
    from lib.data.synthetic.writers import write_got10k

    write_got10k(root("got10k_dir"), "val", n_sequences=4, n_frames=8)
    monkeypatch.setenv("SUTRACK_RESULTS_PATH", str(tmp_path / "results"))
    for name, sigma in (("faithful_int8", 0.0), ("noisy_int8", 0.05)):
        monkeypatch.setitem(tracker_module.BACKENDS, name,
                            lambda p, d, s=sigma: Perturbed(load_pytorch_network(p, d), s))
    validate, test_script = load_script("tracking/validate_backends.py"), load_script("tracking/test.py")
    monkeypatch.setattr(validate, "run_tracking", lambda cmd: test_script.main(cmd[2:]))  # in-process: fakes known
    out = tmp_path / "out"
    args = ["--config", "tiny", "--checkpoint", str(checkpoint), "--backends", "pytorch,faithful_int8,noisy_int8",
            "--out", str(out)]
    assert validate.main(args) == 0
    rows = {r["backend"]: r for r in json.loads((out / "backends.json").read_text())["rows"]}
    assert rows["faithful_int8"]["passed"] and rows["faithful_int8"]["fidelity_low"] == pytest.approx(1.0)
    assert rows["faithful_int8"]["dAO_low"] == pytest.approx(0.0)
    noisy = rows["noisy_int8"]
    assert not noisy["passed"] and noisy["fidelity_low"] < V.FIDELITY_LIMIT and "fidelity" in noisy["reason"]
    assert noisy["frames"] == rows["faithful_int8"]["frames"] > 0
    table = (out / "backends.md").read_text()
    assert "| faithful_int8 | int8 |" in table and "PASS: fidelity" in table and "FAIL: fidelity" in table
    params = parameters("tiny", checkpoint=str(checkpoint))
    assert V.read_verdict(params, "faithful_int8")["passed"] and not V.read_verdict(params, "noisy_int8")["passed"]
    # a rerun on the same boxes (results reused) gives the same numbers and verdicts
    assert validate.main(args) == 0
    again = {r["backend"]: r for r in json.loads((out / "backends.json").read_text())["rows"]}
    for name in ("faithful_int8", "noisy_int8"):
        assert {k: again[name][k] for k in ("passed", "fidelity_low", "dAO_low")} == \
               {k: rows[name][k] for k in ("passed", "fidelity_low", "dAO_low")}


def test_verdict_key_follows_the_checkpoint_content(checkpoint):
    params = parameters("tiny", checkpoint=str(checkpoint))
    V.write_verdict(params, "onnx_int8", True, "ok", {"dataset": "got10k_val", "sequences": 4})
    key = V.verdict_key(params, "onnx_int8")
    assert V.read_verdict(params, "onnx_int8")["passed"]
    torch.save({"net": build_network(parameters("tiny", random_weights=True, seed=4)).state_dict()}, checkpoint)
    changed = parameters("tiny", checkpoint=str(checkpoint))  # same path, other contents
    assert V.verdict_key(changed, "onnx_int8")["model"] != key["model"]
    assert V.verdict_path(V.verdict_key(changed, "onnx_int8")) != V.verdict_path(key)
    assert V.read_verdict(changed, "onnx_int8") is None  # the old verdict does not carry over
    assert V.verdict_key(params, "openvino_int8") != key  # nor to another backend


def fake_measure(seen: list):
    """auto.measure stand-in: reports every candidate, reduced precision fastest, and records what it got."""
    def measure(params, device, candidates=FP32_BACKENDS, validated=()):
        seen.append(tuple(candidates))
        return {n: {"median_ms": 1.0 if n in validated else 5.0 + i, "max_box_diff": 0.0}
                for i, n in enumerate(candidates)}
    return measure


def test_auto_picks_reduced_precision_only_with_a_passing_verdict(checkpoint, monkeypatch, capsys):
    seen: list = []
    monkeypatch.setattr(auto, "measure", fake_measure(seen))
    monkeypatch.setattr(base, "native_bf16", lambda: False)  # an AVX2-like CPU: no bf16 candidates
    params = parameters("tiny", checkpoint=str(checkpoint))
    run = TrackerRun("sutrack_dinov3", "tiny", "got10k_val", checkpoint=str(checkpoint), backend="auto")

    assert auto.choose(params, CPU).name in FP32_BACKENDS  # no verdict: fp32
    assert "validate_backends.py --config tiny" in capsys.readouterr().out
    V.write_verdict(params, "onnx_int8", False, "fidelity low", {"dataset": "d", "sequences": 4})
    assert auto.choose(params, CPU).name in FP32_BACKENDS and "onnx_int8" not in seen[-1]  # a FAIL: still fp32
    fp32_record = run.provenance("cpu")
    assert fp32_record["backend_verdict"] is None and fp32_record["backend_revision"] is None

    for name in ("onnx_int8", "openvino_bf16"):  # bf16 passes too, but this CPU cannot use it
        V.write_verdict(params, name, True, "fidelity >= 0.99", {"dataset": "d", "sequences": 4})
    capsys.readouterr()
    choice = auto.choose(params, CPU)
    assert choice.name == "onnx_int8" and choice.verdict.startswith("PASS (fidelity >= 0.99")
    assert "openvino_bf16" not in seen[-1] and "validate_backends.py" not in capsys.readouterr().out
    record = TrackerRun("sutrack_dinov3", "tiny", "got10k_val", checkpoint=str(checkpoint),
                        backend="auto").provenance("cpu")
    assert record["backend_resolved"] == "onnx_int8" and record["backend_verdict"].startswith("PASS")
    assert "onnx_int8" in record["backend_revision"] and record["id"] != fp32_record["id"]

    calls = len(seen)
    fp32_only = auto.choose(params, CPU, fp32_only=True)  # 'auto_fp32' never takes it
    assert fp32_only.name in FP32_BACKENDS and fp32_only.verdict is None
    assert len(seen) == calls + 1 and not set(seen[-1]) - set(FP32_BACKENDS)
