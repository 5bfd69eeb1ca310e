"""Backends 'openvino', 'openvino_int8' and 'openvino_bf16': OpenVINO's CPU plugin on the exported graphs.

'openvino' compiles the channels-first form of the exported graphs (onnx_export.py: the same function
as 'onnx' runs, without transposes) with INFERENCE_PRECISION_HINT f32, so its boxes match eager fp32.
'openvino_int8' (opt-in, validated by `make demo`) compiles the same graphs with their convolutions
quantised by quantize.py (QDQ pairs calibrated on training crops, which OpenVINO runs as int8 kernels; on
VNNI / AMX CPUs the relation module's linear layers too), the other layers in f32, or in bf16 on CPUs that
compute bf16 natively (default config, AMX: about 8% faster than with them in f32).
'openvino_bf16' (opt-in) asks for bf16 and exists only on CPUs that compute bf16 natively (avx512_bf16
or AMX): elsewhere OpenVINO would quietly run f32, so the backend refuses rather than report a bf16 it
does not run. Threads: torch's thread count; one stream, latency hint (batch 1, one frame at a time).
"""
from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch

from lib.test.parameter.sutrack_dinov3 import TrackerParams
from lib.test.tracker.backends import int8_float_precision
from lib.test.tracker.backends import onnx_export as ox
from lib.test.tracker.backends.base import BackendUnavailable, cpu_flags, native_bf16
from lib.test.tracker.backends.graph_network import GraphNetwork
from lib.test.tracker.sutrack_dinov3 import build_network, register_backend

PRECISIONS = ("f32", "bf16", "int8")


class NodeTime(NamedTuple):
    """One executed node of a compiled graph: its name (the exporter's module path), type, kernel and time."""

    node: str
    type: str
    kernel: str
    ms: float


def _core():
    try:
        import openvino as ov
    except ModuleNotFoundError as exc:
        raise BackendUnavailable("the OpenVINO backends need the package 'openvino' (pip install openvino)") from exc
    return ov.Core()


class OpenVINONetwork(GraphNetwork):
    """Compiled OpenVINO models of the exported graphs (channels-first form: no transposes), in precision
    f32, bf16 or int8."""

    form = "channels_first"

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
        self.int8 = precision == "int8"
        self.threads = int(threads or torch.get_num_threads())
        self.name = "openvino" if precision == "f32" else f"openvino_{precision}"
        self.core = _core()

    def config(self) -> dict[str, str]:
        """The CPU plugin's compile settings of this backend."""
        # int8: the QDQ graph says what runs in int8; the hint sets the precision of the rest
        hint = int8_float_precision(self.name) if self.int8 else self.precision
        return {"INFERENCE_PRECISION_HINT": hint, "PERFORMANCE_HINT": "LATENCY", "NUM_STREAMS": "1",
                "INFERENCE_NUM_THREADS": str(self.threads)}

    def compile(self, path: Path):
        return self.core.compile_model(str(path), "CPU", self.config()).create_infer_request()

    def node_times(self, name: str, feeds: dict[str, np.ndarray], calls: int = 20, warmup: int = 3
                   ) -> list[NodeTime]:
        """Graph `name` compiled again with OpenVINO's per-node counters (PERF_COUNT), run `calls` times after
        `warmup`: each executed node with its kernel and mean ms per call. Where the graph's time goes."""
        request = self.core.compile_model(str(self.graph_path(name)), "CPU",
                                          {**self.config(), "PERF_COUNT": "YES"}).create_infer_request()
        totals: dict[tuple[str, str, str], float] = {}
        for i in range(warmup + calls):
            request.infer(feeds)
            if i < warmup:
                continue
            for info in request.profiling_info:
                key = (info.node_name, info.node_type, info.exec_type)
                totals[key] = totals.get(key, 0.0) + info.real_time.total_seconds() * 1e3 / calls
        return [NodeTime(*key, ms) for key, ms in totals.items() if ms > 0]

    def input_names(self, compiled) -> set[str]:
        return {name for port in compiled.model_inputs for name in port.get_names()}

    def run(self, compiled, feeds: dict[str, np.ndarray], outputs: list[str]) -> list[np.ndarray]:
        compiled.infer(feeds, share_inputs=True)  # the feeds are contiguous float32: no copy in
        return [compiled.get_tensor(name).data.copy() for name in outputs]


def load_openvino_network(params: TrackerParams, device: torch.device, precision: str = "f32") -> OpenVINONetwork:
    """Backend 'openvino' (f32): the exported graphs (from `params.onnx_dir` or the cache) on OpenVINO's CPU plugin."""
    folder, export = ox.graph_folder(params)
    backend = OpenVINONetwork(build_network(params), params, device, folder, export=export, precision=precision)
    backend.warm()
    return backend


register_backend("openvino", load_openvino_network)
register_backend("openvino_bf16", lambda params, device: load_openvino_network(params, device, "bf16"))
register_backend("openvino_int8", lambda params, device: load_openvino_network(params, device, "int8"))
