"""Whether a reduced-precision backend is faithful to eager fp32 on a model: the criterion and its cache.

tracking/validate_backends.py measures, per sequence of a dataset, two things against eager fp32:
  fidelity  the one-step IoU of each frame's box with fp32's (every frame tracked from the previous frame's
            ground truth, so the two differ only by their numerics), averaged over all frames;
  AO diff   the backend's AO minus fp32's on that sequence (whole tracking runs).
The criterion (`judge`): a backend PASSES when the one-sided 95% lower bound of its fidelity (bootstrap over
sequences, frames weighted) is >= FIDELITY_LIMIT and the lower end of the 95% bootstrap interval of its
mean paired AO diff is >= -AO_LIMIT. The bootstrap draws sequences (the runs' unit of independence) with a
fixed seed, so the same boxes always give the same verdict. FIDELITY_LIMIT comes from the demo's trained
model: fp32 runtimes give 1.000, bf16 / int8 with the box head in float 0.99, int8 with the head quantised
too 0.976 (README, "Speed"). AO_LIMIT comes from the spread of the paired AO diffs (see its comment): the
fidelity bound is the fine check, the AO interval a coarse guard against a drop that per-frame IoU hides.

A verdict is cached under `<cache_dir>/verdicts/` keyed by the model (config and checkpoint contents,
onnx_export.cache_key), the backend, its int8 recipe, the library versions and the CPU flags, so `auto`
(auto.py) only ever takes a reduced-precision backend validated for exactly this model on this kind of CPU.
"""
from __future__ import annotations

import datetime
import hashlib
import json
from pathlib import Path

import numpy as np

from lib.test.analysis.stats import bootstrap_interval
from lib.test.parameter.sutrack_dinov3 import TrackerParams
from lib.test.tracker.backends import backend_revision

FIDELITY_LIMIT = 0.98  # lower bound of the mean one-step IoU with fp32's boxes
# the paired AO diff's interval may reach at most this far below 0. Whole runs diverge after one different frame,
# so per-sequence AO diffs of a backend with faithful numerics spread by ~0.07 (SD): on the demo's 12-20
# sequences the 95% interval is +-0.03..0.04 wide, and its lower end for bf16 / int8 at one-step IoU 0.99 fell
# to -0.058. 0.08 keeps such a backend's false FAIL rate near 1-2% there; the interval narrows as
# 1 / sqrt(sequences), so on a large validation set the same limit rules out far smaller drops in practice.
AO_LIMIT = 0.08
CONFIDENCE = 0.95
BOOTSTRAP_DRAWS = 10000
SEED = 0
VERDICT_VERSION = "1"  # bump when the criterion changes: older verdicts no longer count


def _draws(num_sequences: int, draws: int = BOOTSTRAP_DRAWS, seed: int = SEED) -> np.ndarray:
    """(draws, num_sequences) indices of sequences drawn with replacement, the same for every backend."""
    return np.random.default_rng(seed).integers(0, num_sequences, size=(draws, num_sequences))


def fidelity_bound(frame_ious: list[np.ndarray]) -> tuple[float, float]:
    """(mean IoU over all frames, its one-sided CONFIDENCE lower bound): bootstrap over sequences of the
    frame-weighted mean, each sequence's frames kept together (frames of one run are not independent)."""
    frame_ious = [np.asarray(s, dtype=np.float64) for s in frame_ious if len(s)]
    if not frame_ious:
        return float("nan"), float("nan")
    sums = np.array([s.sum() for s in frame_ious])
    counts = np.array([len(s) for s in frame_ious], dtype=np.float64)
    idx = _draws(len(frame_ious))
    means = sums[idx].sum(1) / counts[idx].sum(1)
    return float(sums.sum() / counts.sum()), float(np.quantile(means, 1.0 - CONFIDENCE))


def ao_interval(diffs: np.ndarray) -> tuple[float, float, float]:
    """(mean, low, high): the mean of the per-sequence paired AO diffs and its two-sided CONFIDENCE
    percentile bootstrap interval over sequences (the same resampling as fidelity_bound's)."""
    diffs = np.asarray(diffs, dtype=np.float64)
    if not len(diffs):
        return float("nan"), float("nan"), float("nan")
    return bootstrap_interval(diffs, BOOTSTRAP_DRAWS, CONFIDENCE, SEED)


def judge(fidelity_low: float, ao_low: float) -> tuple[bool, str]:
    """(passed, the reason in words) by the criterion of the module docstring."""
    fid = f"fidelity >= {fidelity_low:.4f} {'>=' if fidelity_low >= FIDELITY_LIMIT else '<'} {FIDELITY_LIMIT}"
    ao = f"AO diff >= {ao_low:+.4f} {'>=' if ao_low >= -AO_LIMIT else '<'} {-AO_LIMIT}"
    if not (np.isfinite(fidelity_low) and np.isfinite(ao_low)):
        return False, "no frames or sequences to judge"
    passed = fidelity_low >= FIDELITY_LIMIT and ao_low >= -AO_LIMIT
    return passed, f"{fid}; {ao}"


def library_versions() -> dict[str, str | None]:
    """Versions of the libraries that compute a backend's boxes."""
    import torch

    versions: dict[str, str | None] = {"torch": torch.__version__}
    for lib in ("onnxruntime", "openvino"):
        try:
            versions[lib] = __import__(lib).__version__
        except ModuleNotFoundError:
            versions[lib] = None
    return versions


def verdict_key(params: TrackerParams, backend: str) -> dict:
    """What a verdict holds for: model (config, checkpoint contents), backend, recipe, libraries, CPU flags."""
    from lib.test.tracker.backends import onnx_export as ox
    from lib.test.tracker.backends.base import cpu_flags

    return {"criterion": VERDICT_VERSION, "config": params.config_name, "model": ox.cache_key(params),
            "backend": backend, "recipe": backend_revision(backend), "libraries": library_versions(),
            "cpu_flags": sorted(k for k, v in cpu_flags().items() if v)}


def verdict_path(key: dict) -> Path:
    """`<cache_dir>/verdicts/<config>-<backend>-<hash of the key>.json` for a `verdict_key`."""
    from lib.utils.settings import env_settings

    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    return Path(env_settings().cache_dir) / "verdicts" / f"{key['config']}-{key['backend']}-{digest}.json"


def write_verdict(params: TrackerParams, backend: str, passed: bool, reason: str, evidence: dict) -> Path:
    """Cache the verdict of `backend` on this model and machine (atomically); returns its path."""
    from lib.utils.io import atomic_write_bytes

    key = verdict_key(params, backend)
    path = verdict_path(key)
    record = {"key": key, "passed": bool(passed), "reason": reason,
              "checkpoint": str(params.checkpoint) if params.checkpoint else None,
              "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"), **evidence}
    atomic_write_bytes(path, (json.dumps(record, indent=1) + "\n").encode())
    return path


def read_verdict(params: TrackerParams, backend: str) -> dict | None:
    """The cached verdict of `backend` for this model and machine, or None (never validated, or stale)."""
    key = verdict_key(params, backend)
    path = verdict_path(key)
    try:
        record = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None
    if record.get("key") != key:
        return None
    record["path"] = str(path)
    return record


def summary(verdict: dict) -> str:
    """One line for logs and run records: 'PASS (reason; validated on DATASET, DATE)'."""
    where = (f"validated on {verdict.get('dataset', '?')} ({verdict.get('sequences', '?')} sequences), "
             f"{verdict.get('date')}")
    return f"{'PASS' if verdict.get('passed') else 'FAIL'} ({verdict.get('reason')}; {where})"
