"""Backends 'onnx' (ONNX Runtime on the exported fp32 graphs) and 'onnx_int8' (the step graph quantised).

`build_tracker(..., backend='onnx')`, `TEST.BACKEND: onnx` and `tracking/test.py --backend onnx` use it.
Graphs come from `TrackerParams.onnx_dir` when given, else they are exported into the cache on first
use (onnx_export.py). Sessions: ORT_ENABLE_ALL, intra-op threads = torch's thread count (the tracker's
setting); the pool's threads spin between ops (ONNX Runtime's default, `session.intra_op.allow_spinning`)
when the threads fit in the cores this process may use, and sleep when they do not (oversubscribed
cores: spinning would take them from the other threads). Spinning saves a thread wake-up per op: the
int8 step graph, AVX2, 2 threads, ran 44 ms spinning against 46-51 ms sleeping.

'onnx_int8' (opt-in) runs the step and backbone graphs with their encoder statically quantised to int8
(QDQ, s8 per-channel weights, u8 activations; the head stays float) with a calibration set of training
crops (quantize.py); the template graph (once per sequence) stays fp32. `make demo` validates it.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from lib.test.parameter.sutrack_dinov3 import TrackerParams
from lib.test.tracker.backends import onnx_export as ox
from lib.test.tracker.backends.base import usable_cores
from lib.test.tracker.backends.graph_network import GraphNetwork
from lib.test.tracker.sutrack_dinov3 import build_network, register_backend


def session_options(threads: int | None = None):
    """ORT CPU options: full graph optimisation, `threads` intra-op threads (default torch's), spinning only
    when those threads fit in this process's cores."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.intra_op_num_threads = int(threads or torch.get_num_threads())
    so.inter_op_num_threads = 1
    spin = so.intra_op_num_threads <= usable_cores()
    so.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
    so.add_session_config_entry("session.force_spinning_stop", "1")
    so.log_severity_level = 3  # QDQ graphs log a warning per unfused node otherwise
    return so


def make_session(path: str | Path, device: torch.device, threads: int | None = None):
    """An InferenceSession on `path`: CUDA provider for a CUDA device when onnxruntime has it, else CPU."""
    import onnxruntime as ort

    providers = ["CPUExecutionProvider"]
    if device.type == "cuda" and "CUDAExecutionProvider" in ort.get_available_providers():
        providers.insert(0, ("CUDAExecutionProvider", {"device_id": device.index or 0}))
    return ort.InferenceSession(str(path), session_options(threads), providers=providers)


class OnnxNetwork(GraphNetwork):
    """ONNX Runtime sessions on the exported graphs (int8: quantised step and backbone graphs)."""

    def __init__(self, network, params: TrackerParams, device: torch.device, folder: Path, export: bool = True,
                 int8: bool = False):
        super().__init__(network, params, device, folder, export)
        self.int8 = int8
        self.name = "onnx_int8" if int8 else "onnx"

    def compile(self, path: Path):
        return make_session(path, self.device)

    def run(self, compiled, feeds: dict[str, np.ndarray], outputs: list[str]) -> list[np.ndarray]:
        return compiled.run(outputs, feeds)

    def input_names(self, compiled) -> set[str]:
        return {i.name for i in compiled.get_inputs()}

    def session(self, name: str):
        """The session of graph `name` (kept for callers of the former onnx_backend module)."""
        return self.graph(name)


def load_onnx_network(params: TrackerParams, device: torch.device, int8: bool = False) -> OnnxNetwork:
    """Backend 'onnx': graphs from `params.onnx_dir` when given, else exported into the cache on first use."""
    folder, export = ox.graph_folder(params)
    backend = OnnxNetwork(build_network(params), params, device, folder, export=export, int8=int8)
    backend.warm()
    return backend


def load_onnx_int8_network(params: TrackerParams, device: torch.device) -> OnnxNetwork:
    """Backend 'onnx_int8': as 'onnx', with the statically int8-quantised step graph (opt-in)."""
    return load_onnx_network(params, device, int8=True)


register_backend("onnx", load_onnx_network)
register_backend("onnx_int8", load_onnx_int8_network)
