"""Backends 'auto' (the default TEST.BACKEND) and 'auto_fp32': the fastest backend validated here.

On a CPU device, the candidates each track a short synthetic sequence (lib/data/synthetic/writers.py) with
the same weights, and the fastest (median full tracker step, rounds interleaved) wins:
- the fp32 backends ('pytorch', 'onnx', 'openvino' where installed); one whose boxes differ from eager
  fp32 by more than AGREEMENT (1e-3 of the frame) on any frame is out;
- for 'auto' only, the reduced-precision backends (bf16, int8) with a passing verdict cached for this
  model, recipe, library versions and CPU flags (verdicts.py; written by tracking/validate_backends.py and
  `make demo`), among those this CPU class can use (no bf16 without avx512_bf16 / AMX). Without one, 'auto'
  stays fp32 and prints one line naming the validate_backends.py command that would allow the faster ones.
The choice is measured once per machine, model and set of passing verdicts and cached in `auto.json`
(`auto_fp32.json`) beside the exported graphs, keyed by the CPU flags, thread count, library versions and
those verdicts; it is printed with the timings when measured. On CUDA, both are eager 'pytorch'.
"""
from __future__ import annotations

import json
import logging
import time
from typing import NamedTuple

import numpy as np
import torch

from lib.test.parameter.sutrack_dinov3 import TrackerParams
from lib.test.tracker.backends import FP32_BACKENDS, REDUCED_PRECISION_BACKENDS, not_for_this_cpu, verdicts
from lib.test.tracker.backends import onnx_export as ox
from lib.test.tracker.backends.base import cpu_flags
from lib.test.tracker.sutrack_dinov3 import SUTrackDINOv3Tracker, get_backend, register_backend

AGREEMENT = 1e-3  # largest box difference from eager fp32, as a fraction of the frame's width / height
FRAMES, ROUNDS = 6, 3  # synthetic frames tracked per round; timed rounds
log = logging.getLogger(__name__)


def machine_key() -> dict:
    """What the choice depends on besides the model: CPU flags, threads, library versions."""
    return {"cpu_flags": sorted(k for k, v in cpu_flags().items() if v), "threads": torch.get_num_threads(),
            **verdicts.library_versions()}


def measure(params: TrackerParams, device: torch.device, candidates: tuple[str, ...] = FP32_BACKENDS,
            validated: tuple[str, ...] = ()) -> dict:
    """Per candidate: median ms of a full tracker step, largest box difference from eager, or why it is out.
    Candidates in `validated` (reduced precision with a passing verdict) are not held to AGREEMENT."""
    from lib.data.synthetic.writers import synthetic_sequence

    size = (4 * int(params.cfg.TEST.SEARCH_SIZE) // 2, 3 * int(params.cfg.TEST.SEARCH_SIZE) // 2)
    frames, boxes = synthetic_sequence(FRAMES + 1, size=size, seed=0, box_size=(size[0] // 8, size[1] // 8))
    scale = np.array([*size, *size], dtype=np.float64)
    trackers, report = {}, {}
    for name in candidates:
        try:
            network = get_backend(name)(params, device)
        except (ValueError, ImportError, RuntimeError, OSError) as exc:
            report[name] = {"out": f"unavailable: {exc}"}
            continue
        trackers[name] = SUTrackDINOv3Tracker(params, network=network, device=device)
    times: dict[str, list[float]] = {name: [] for name in trackers}
    result_boxes: dict[str, list] = {name: [] for name in trackers}
    for r in range(ROUNDS + 1):  # round 0 warms up
        for name, tracker in list(trackers.items()):
            try:
                tracker.initialize(frames[0], {"init_bbox": list(boxes[0])})
                for frame in frames[1:]:
                    start = time.perf_counter()
                    out = tracker.track(frame)
                    if r > 0:
                        times[name].append(time.perf_counter() - start)
                    if r == 0:
                        result_boxes[name].append(out["target_bbox"])
            except Exception as exc:  # a runtime that fails on this model is out, not the end of tracking
                if name == "pytorch":
                    raise
                report[name] = {"out": f"failed: {type(exc).__name__}: {exc}"}
                del trackers[name]
    reference = np.asarray(result_boxes.get("pytorch", []), dtype=np.float64)
    for name in trackers:
        diff = float((np.abs(np.asarray(result_boxes[name]) - reference) / scale).max()) if reference.size else None
        entry = {"median_ms": 1e3 * float(np.median(times[name])), "max_box_diff": diff}
        if name in validated:
            entry["validated"] = True
        elif diff is None or diff > AGREEMENT:
            entry["out"] = f"boxes differ from eager fp32 by {diff} of the frame (> {AGREEMENT})"
        report[name] = entry
    return report


class Choice(NamedTuple):
    """What 'auto' picked, why, and for a reduced-precision pick the one-line summary of its verdict."""

    name: str
    why: str
    verdict: str | None = None


def passing_verdicts(params: TrackerParams) -> dict[str, dict]:
    """The reduced-precision backends this CPU class can use that have a passing verdict for this model here."""
    if not params.checkpoint:  # validation needs a checkpoint: random weights are never validated
        return {}
    found = {}
    for name in REDUCED_PRECISION_BACKENDS:
        if not_for_this_cpu(name) is None:
            verdict = verdicts.read_verdict(params, name)
            if verdict is not None and verdict.get("passed"):
                found[name] = verdict
    return found


def validate_command(params: TrackerParams) -> str:
    """The command that validates the reduced-precision backends for this model (see verdicts.py)."""
    return (f"python tracking/validate_backends.py --config {params.config_name} --checkpoint {params.checkpoint} "
            "--dataset_name DATASET --out OUT_DIR")


def choose(params: TrackerParams, device: torch.device, fp32_only: bool = False) -> Choice:
    """The backend 'auto' ('auto_fp32' with `fp32_only`) runs: cached beside the exports, measured when
    missing or stale (see the module docstring)."""
    mode = "auto_fp32" if fp32_only else "auto"
    if device.type != "cpu":
        return Choice("pytorch", f"device {device}: eager PyTorch")
    passing = {} if fp32_only else passing_verdicts(params)
    if not fp32_only and not passing and params.checkpoint:
        usable = [n for n in REDUCED_PRECISION_BACKENDS if not_for_this_cpu(n) is None]
        print(f"backend auto: fp32 only, no passing verdict here for {', '.join(usable)} on this checkpoint; to "
              f"let 'auto' pick a faster validated one, run: {validate_command(params)}", flush=True)
    folder = ox.cache_dir(params)
    path = folder / f"{mode}.json"
    key = machine_key()
    allowed = {name: v["path"] for name, v in sorted(passing.items())}  # the verdicts that let it in
    choice = None
    if path.is_file():
        try:
            cached = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            cached = {}
        if cached.get("machine") == key and cached.get("verdicts", {}) == allowed and cached.get("choice"):
            choice, why = cached["choice"], f"cached in {path}"
    if choice is None:
        with ox.export_lock(folder / ".auto"):  # its own lock: measuring takes the export lock of `folder`
            report = measure(params, device, (*FP32_BACKENDS, *passing), validated=tuple(passing))
            ok = {n: e for n, e in report.items() if "out" not in e}
            choice = min(ok, key=lambda n: ok[n]["median_ms"]) if ok else "pytorch"
            ox.write_atomic(path, json.dumps({"machine": key, "verdicts": allowed, "choice": choice,
                                               "report": report}, indent=1))
        rows = ", ".join(f"{n} {e['median_ms']:.1f} ms" if "out" not in e else f"{n} out ({e['out']})"
                         for n, e in report.items())
        why = (f"fastest full step among the fp32 backends agreeing with eager within {AGREEMENT} of the frame"
               + (f" and the validated {', '.join(passing)}" if passing else "") + f": {rows}")
        print(f"backend {mode}: picked '{choice}' ({why}); cached in {path}", flush=True)
    verdict = verdicts.summary(passing[choice]) if choice in passing else None
    if verdict:
        print(f"backend {mode}: '{choice}' validated for this checkpoint: {verdict}", flush=True)
    return Choice(choice, why, verdict)


def load_auto_network(params: TrackerParams, device: torch.device, fp32_only: bool = False):
    """Backend 'auto' / 'auto_fp32': the chosen backend's network."""
    choice = choose(params, device, fp32_only)
    log.info("backend %s -> %s (%s)", "auto_fp32" if fp32_only else "auto", choice.name, choice.why)
    network = get_backend(choice.name)(params, device)
    network.auto_choice = choice.name
    network.auto_verdict = choice.verdict
    return network


register_backend("auto", load_auto_network)
register_backend("auto_fp32", lambda params, device: load_auto_network(params, device, fp32_only=True))
