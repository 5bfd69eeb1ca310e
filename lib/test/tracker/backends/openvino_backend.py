"""Backends 'openvino' and 'openvino_bf16': OpenVINO's CPU plugin on the exported graphs.

'openvino' compiles the same ONNX graphs as 'onnx' (onnx_export.py) with INFERENCE_PRECISION_HINT f32,
so its boxes match eager fp32; 'openvino_bf16' (opt-in) asks for bf16 and exists only on CPUs that
compute bf16 natively (avx512_bf16 or AMX): elsewhere OpenVINO would quietly run f32, so the backend
refuses rather than report a bf16 it does not run. There is no OpenVINO int8 backend: NNCF's static
quantisation of these graphs lost 0.0175 AO on the demo's trained model (limit 0.01) and was slower
than 'onnx_int8' on an AVX2 CPU, so only ONNX Runtime's int8 is kept. Threads: torch's thread count;
one stream, latency hint (batch 1, one frame at a time).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from lib.test.parameter.sutrack_dinov3 import TrackerParams
from lib.test.tracker.backends import onnx_export as ox
from lib.test.tracker.backends.base import BackendUnavailable, cpu_flags, native_bf16
from lib.test.tracker.backends.graph_network import GraphNetwork
from lib.test.tracker.sutrack_dinov3 import build_network, register_backend

PRECISIONS = ("f32", "bf16")


def _core():
    try:
        import openvino as ov
    except ModuleNotFoundError as exc:
        raise BackendUnavailable("the OpenVINO backends need the package 'openvino' (pip install openvino)") from exc
    return ov.Core()


class OpenVINONetwork(GraphNetwork):
    """Compiled OpenVINO models of the exported graphs, in precision f32 or bf16."""

    def __init__(self, network, params: TrackerParams, device: torch.device, folder: Path, export: bool = True,
                 precision: str = "f32", threads: int | None = None):
        super().__init__(network, params, device, folder, export)
        if precision not in PRECISIONS:
            raise ValueError(f"OpenVINO precision '{precision}' unknown; choose from {PRECISIONS}")
        if device.type != "cpu":
            raise BackendUnavailable(f"the OpenVINO backends run on the CPU plugin only, not on {device}")
        if precision == "bf16" and not native_bf16():
            flags = ", ".join(k for k, v in cpu_flags().items() if v) or "none of the relevant ones"
            raise BackendUnavailable(f"'openvino_bf16' needs a CPU with avx512_bf16 or AMX (this one has: {flags}); "
                                     "OpenVINO would run f32 instead")
        self.precision = precision
        self.threads = int(threads or torch.get_num_threads())
        self.name = "openvino" if precision == "f32" else f"openvino_{precision}"
        self.core = _core()

    def compile(self, path: Path):
        config = {"INFERENCE_PRECISION_HINT": self.precision, "PERFORMANCE_HINT": "LATENCY", "NUM_STREAMS": "1",
                  "INFERENCE_NUM_THREADS": str(self.threads)}
        return self.core.compile_model(str(path), "CPU", config).create_infer_request()

    def input_names(self, compiled) -> set[str]:
        return {name for port in compiled.model_inputs for name in port.get_names()}

    def run(self, compiled, feeds: dict[str, np.ndarray], outputs: list[str]) -> list[np.ndarray]:
        result = compiled.infer(feeds)
        by_name = {name: value for port, value in result.items() for name in port.get_names()}
        return [np.array(by_name[name]) for name in outputs]


def load_openvino_network(params: TrackerParams, device: torch.device, precision: str = "f32") -> OpenVINONetwork:
    """Backend 'openvino' (f32): the exported graphs (from `params.onnx_dir` or the cache) on OpenVINO's CPU plugin."""
    folder, export = ox.graph_folder(params)
    backend = OpenVINONetwork(build_network(params), params, device, folder, export=export, precision=precision)
    backend.warm()
    return backend


register_backend("openvino", load_openvino_network)
register_backend("openvino_bf16", lambda params, device: load_openvino_network(params, device, "bf16"))
