"""Backend 'auto' (the default TEST.BACKEND): the fastest fp32 backend whose boxes match eager fp32 here.

On a CPU device, the candidates ('pytorch', 'onnx', 'openvino' where installed) each track a short
synthetic sequence (lib/data/synthetic/writers.py) with the same weights; a candidate whose boxes
differ from eager fp32 by more than AGREEMENT (1e-3 of the frame) on any frame is out, and the fastest
of the rest (median full tracker step, rounds interleaved) wins. The choice is measured once per machine
and model and cached in `auto.json` beside the exported graphs, keyed by the CPU flags, thread count and
library versions; it is printed with the timings when measured. Reduced precision (bf16, int8) is never
picked: those backends are opt-in and validated by `make demo`. On CUDA, 'auto' is eager 'pytorch'.
"""
from __future__ import annotations

import json
import logging
import time

import numpy as np
import torch

from lib.test.parameter.sutrack_dinov3 import TrackerParams
from lib.test.tracker.backends import FP32_BACKENDS
from lib.test.tracker.backends import onnx_export as ox
from lib.test.tracker.backends.base import cpu_flags
from lib.test.tracker.sutrack_dinov3 import SUTrackDINOv3Tracker, get_backend, register_backend

AGREEMENT = 1e-3  # largest box difference from eager fp32, as a fraction of the frame's width / height
FRAMES, ROUNDS = 6, 3  # synthetic frames tracked per round; timed rounds
log = logging.getLogger(__name__)


def machine_key() -> dict:
    """What the choice depends on besides the model: CPU flags, threads, library versions."""
    key = {"cpu_flags": sorted(k for k, v in cpu_flags().items() if v), "threads": torch.get_num_threads(),
           "torch": torch.__version__}
    for lib in ("onnxruntime", "openvino"):
        try:
            key[lib] = __import__(lib).__version__
        except ModuleNotFoundError:
            key[lib] = None
    return key


def measure(params: TrackerParams, device: torch.device, candidates: tuple[str, ...] = FP32_BACKENDS) -> dict:
    """Per candidate: median ms of a full tracker step, largest box difference from eager, or why it is out."""
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
        if diff is None or diff > AGREEMENT:
            entry["out"] = f"boxes differ from eager fp32 by {diff} of the frame (> {AGREEMENT})"
        report[name] = entry
    return report


def choose(params: TrackerParams, device: torch.device) -> tuple[str, str]:
    """(backend name, why): cached in auto.json beside the exports, measured when missing or stale."""
    if device.type != "cpu":
        return "pytorch", f"device {device}: eager PyTorch"
    folder = ox.cache_dir(params)
    path = folder / "auto.json"
    key = machine_key()
    if path.is_file():
        try:
            cached = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            cached = {}
        if cached.get("machine") == key and cached.get("choice"):
            return cached["choice"], f"cached in {path}"
    with ox.export_lock(folder / ".auto"):  # its own lock: measuring takes the export lock of `folder`
        report = measure(params, device)
        ok = {n: e for n, e in report.items() if "out" not in e}
        choice = min(ok, key=lambda n: ok[n]["median_ms"]) if ok else "pytorch"
        ox.write_atomic(path, json.dumps({"machine": key, "choice": choice, "report": report}, indent=1))
    rows = ", ".join(f"{n} {e['median_ms']:.1f} ms" if "out" not in e else f"{n} out ({e['out']})"
                     for n, e in report.items())
    why = f"fastest full step agreeing with eager fp32 within {AGREEMENT} of the frame: {rows}"
    print(f"backend auto: picked '{choice}' ({why}); cached in {path}", flush=True)
    return choice, why


def load_auto_network(params: TrackerParams, device: torch.device):
    """Backend 'auto': the chosen backend's network."""
    name, why = choose(params, device)
    log.info("backend auto -> %s (%s)", name, why)
    network = get_backend(name)(params, device)
    network.auto_choice = name
    return network


register_backend("auto", load_auto_network)
