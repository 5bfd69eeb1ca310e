"""Backend 'onnx': the tracker's network as two ONNX Runtime graphs, exported on the fly and cached.

Graphs (static shapes, opset 18):
  template.onnx  template crop 1 x C x Ht x Wt (normalised) + its box 1 x 4 (normalised x, y, w, h)
                 -> template_tokens, template_appearance 1 x Nt x D, template_foreground 1 x Nt
  step.onnx      search crop 1 x C x Hs x Ws (normalised) + the cached template features of the
                 TEST.NUM_TEMPLATES templates (+ text token 1 x 1 x D in step_text.onnx)
                 -> box 1 x 4 (normalised cxcywh in the crop, after the Hann window and cal_bbox), score 1
So each frame is one graph call and Python only crops, normalises and maps the box back.

`build_tracker(..., backend='onnx')`, `TEST.BACKEND: onnx` and `tracking/test.py --backend onnx` use it.
Without an exported folder (`TrackerParams.onnx_dir`, `build_tracker(onnx_dir=...)`), the graphs are
exported into `<cache_dir>/onnx/<config>-<key>/`, the key hashing the resolved config, the weights and the
exporter; files appear atomically, so parallel workers never read a half-written graph. The text encoder
(once per sequence) stays in PyTorch. Sessions: ORT_ENABLE_ALL, intra-op threads = torch's thread count
(the tracker's setting), `session.intra_op.allow_spinning = 0` (DESIGN.md, "The speed budget").

Backend 'onnx_int8' (opt-in, never the default) runs step_int8.onnx: the step graph with its matrix
products dynamically quantised to int8 (onnxruntime.quantization, s8 weights). It is faster on CPUs
without VNNI too, but moves boxes by up to a few 1e-3 of the frame (random weights): check it on your
sequences before use.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import tempfile
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from lib.models.sutrack_dinov3.decoder import select_box
from lib.models.sutrack_dinov3.encoder import TemplateFeatures
from lib.test.parameter.sutrack_dinov3 import TrackerParams
from lib.test.tracker.sutrack_dinov3 import build_network, hann2d, register_backend
from lib.utils.grid import feature_grid

EXPORT_VERSION = "1"  # bump when the graphs' inputs, outputs or contents change: invalidates the cache
OPSET = 18
TEMPLATE_INPUTS = ("template", "template_anno")
TEMPLATE_OUTPUTS = ("template_tokens", "template_appearance", "template_foreground")
STEP_OUTPUTS = ("box", "score")


class TemplateGraph(nn.Module):
    """One template crop and its box -> the cached template features (the template branch)."""

    def __init__(self, network: nn.Module):
        super().__init__()
        self.network = network

    def forward(self, template: torch.Tensor, anno: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        feats = self.network.encoder.encode_template([template], [anno])
        return feats.tokens, feats.appearance, feats.foreground


class StepGraph(nn.Module):
    """The per-frame step as one graph: search crop + cached template (+ text) -> final box and score."""

    def __init__(self, network: nn.Module, window: torch.Tensor | None):
        super().__init__()
        self.network = network
        self.register_buffer("window", window, persistent=False)

    def forward(self, search: torch.Tensor, tokens: torch.Tensor, appearance: torch.Tensor, foreground: torch.Tensor,
                text: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.network.track_step(search, TemplateFeatures(tokens, appearance, foreground), text)
        return select_box(out, self.window)


def step_window(params: TrackerParams) -> torch.Tensor | None:
    """The tracker's Hann window (None when TEST.WINDOW is off), baked into the step graph."""
    grid = feature_grid(params.search_size, params.cfg.MODEL.ENCODER.STRIDE)
    return hann2d(*grid) if params.cfg.TEST.WINDOW else None


def example_inputs(network: nn.Module, params: TrackerParams, text: bool
                   ) -> tuple[tuple[torch.Tensor, ...], tuple[torch.Tensor, ...]]:
    """Inputs of the right shapes for tracing: (template graph inputs, step graph inputs)."""
    cfg = params.cfg
    chans = 6 if cfg.DATA.MULTI_MODAL_VISION else 3
    gen = torch.Generator().manual_seed(0)
    template = torch.randn(1, chans, params.template_size, params.template_size, generator=gen)
    anno = torch.tensor([[0.25, 0.25, 0.5, 0.5]])
    with torch.inference_mode():
        feats = network.encoder.encode_template([template], [anno])
    n = max(1, int(cfg.TEST.NUM_TEMPLATES))
    cache = [t.repeat(1, n, *([1] * (t.dim() - 2))).clone() for t in feats]
    search = torch.randn(1, chans, params.search_size, params.search_size, generator=gen)
    step = (search, *cache) + ((torch.randn(1, 1, network.encoder.embed_dim, generator=gen),) if text else ())
    return (template, anno), step


def step_graph_name(text: bool, int8: bool = False) -> str:
    """'step', 'step_text' (takes the text token), with '_int8' for the quantised copy."""
    return ("step_text" if text else "step") + ("_int8" if int8 else "")


def step_input_names(text: bool) -> list[str]:
    """Input names of the step graph, in order."""
    return ["search", *TEMPLATE_OUTPUTS] + (["text"] if text else [])


def export_module(module: nn.Module, inputs: tuple, path: Path, input_names: list[str], output_names: list[str],
                  dynamo: bool = False) -> None:
    """torch.onnx.export -> onnx.checker -> one self-contained file written atomically at `path`."""
    import onnx

    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=".export-") as tmp:
        raw = Path(tmp) / "raw.onnx"
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # the TorchScript exporter is deprecated, not gone
            warnings.simplefilter("ignore", torch.jit.TracerWarning)  # shapes are static: grid checks are constants
            torch.onnx.export(module, inputs, str(raw), input_names=input_names, output_names=output_names,
                              opset_version=OPSET, dynamo=dynamo, external_data=False, verbose=False)
        model = onnx.load(str(raw))
        onnx.checker.check_model(model, full_check=True)
        final = Path(tmp) / path.name
        onnx.save(model, str(final))
        os.replace(final, path)


def export_graphs(network: nn.Module, params: TrackerParams, out_dir: str | Path,
                  graphs: tuple[str, ...] = ("template", "step"), dynamo: bool = False) -> dict[str, Path]:
    """Export the named graphs ('template', 'step', 'step_text', and their '_int8' copies) into `out_dir`/<name>.onnx.

    An int8 graph is quantised from its fp32 graph, which is exported first when missing.
    """
    out_dir = Path(out_dir)
    network = network.eval()
    paths = {}
    for name in graphs:
        if name.endswith("_int8"):
            source = out_dir / f"{name[:-len('_int8')]}.onnx"
            if not source.is_file():
                export_graphs(network, params, out_dir, (source.stem,), dynamo)
            paths[name] = quantize_int8(source, out_dir / f"{name}.onnx")
            continue
        text = name == "step_text"
        template_inputs, step_inputs = example_inputs(network, params, text)
        paths[name] = out_dir / f"{name}.onnx"
        if name == "template":
            export_module(TemplateGraph(network).eval(), template_inputs, paths[name], list(TEMPLATE_INPUTS),
                          list(TEMPLATE_OUTPUTS), dynamo)
        elif name in ("step", "step_text"):
            export_module(StepGraph(network, step_window(params)).eval(), step_inputs, paths[name],
                          step_input_names(text), list(STEP_OUTPUTS), dynamo)
        else:
            raise ValueError(f"unknown graph '{name}'; choose from template, step, step_text (+ _int8)")
    meta = {"config": params.config_name, "key": cache_key(params), "export_version": EXPORT_VERSION, "opset": OPSET,
            "num_templates": int(params.cfg.TEST.NUM_TEMPLATES), "torch": torch.__version__}
    _write_atomic(out_dir / "meta.json", json.dumps(meta, indent=1))
    return paths


def quantize_int8(source: Path, path: Path) -> Path:
    """Dynamic int8 quantisation of the graph's MatMul / Gemm (s8 weights, u8 activations), written atomically."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with tempfile.TemporaryDirectory(dir=path.parent, prefix=".quantize-") as tmp:
        final = Path(tmp) / path.name
        with _quiet_root_logger():  # it advises a pre-processing pass on every call
            quantize_dynamic(source, final, weight_type=QuantType.QInt8, op_types_to_quantize=["MatMul", "Gemm"])
        onnx.checker.check_model(str(final), full_check=True)
        os.replace(final, path)
    return path


@contextlib.contextmanager
def export_lock(folder: Path):
    """An exclusive lock on `folder`/.lock (POSIX flock; no lock where fcntl is missing)."""
    folder.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # not POSIX: atomic writes still keep every file whole
        yield
        return
    with open(folder / ".lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextlib.contextmanager
def _quiet_root_logger():
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        yield
    finally:
        root.setLevel(level)


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def _file_digest(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            digest.update(chunk)
    return digest.hexdigest()


def cache_key(params: TrackerParams) -> str:
    """Hash of the resolved config, the weights (checkpoint contents or random seed) and the exporter version."""
    weights = _file_digest(params.checkpoint) if params.checkpoint else f"random-seed-{params.seed}"
    parts = [params.cfg.dump(), weights, EXPORT_VERSION, str(OPSET), torch.__version__]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def cache_dir(params: TrackerParams) -> Path:
    """`<cache_dir>/onnx/<config>-<key>`: where graphs of this config and these weights are cached."""
    from lib.utils.settings import env_settings

    return Path(env_settings().cache_dir) / "onnx" / f"{params.config_name}-{cache_key(params)}"


def session_options(threads: int | None = None):
    """ORT CPU options: full graph optimisation, `threads` intra-op threads (default torch's), no spinning."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.intra_op_num_threads = int(threads or torch.get_num_threads())
    so.inter_op_num_threads = 1
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return so


def make_session(path: str | Path, device: torch.device, threads: int | None = None):
    """An InferenceSession on `path`: CUDA provider for a CUDA device when onnxruntime has it, else CPU."""
    import onnxruntime as ort

    providers = ["CPUExecutionProvider"]
    if device.type == "cuda" and "CUDAExecutionProvider" in ort.get_available_providers():
        providers.insert(0, ("CUDAExecutionProvider", {"device_id": device.index or 0}))
    return ort.InferenceSession(str(path), session_options(threads), providers=providers)


def to_numpy(x: torch.Tensor) -> np.ndarray:
    """A contiguous float32 host array for ONNX Runtime (no copy when the tensor already is one)."""
    return np.ascontiguousarray(x.detach().to("cpu", torch.float32).numpy())


class OnnxNetwork:
    """The backend object: ONNX Runtime template and step graphs, the PyTorch text encoder."""

    def __init__(self, network: nn.Module, params: TrackerParams, device: torch.device, folder: Path,
                 export: bool = True, int8: bool = False):
        self.network, self.params, self.device, self.folder = network, params, device, Path(folder)
        self.export_allowed = export
        self.int8 = int8
        self.sessions: dict[str, object] = {}
        self.num_templates = max(1, int(params.cfg.TEST.NUM_TEMPLATES))

    def session(self, name: str):
        """The session of graph `name` ('template', 'step', 'step_text'), exporting the graph if missing."""
        if name not in self.sessions:
            path = self.folder / f"{name}.onnx"
            if not path.is_file():
                if not self.export_allowed:
                    flags = (" --text" if "text" in name else "") + (" --int8" if "int8" in name else "")
                    raise FileNotFoundError(f"ONNX graph {path} not found; export it with tracking/export_onnx.py"
                                            f"{flags} --out {self.folder}")
                with export_lock(self.folder):  # parallel workers: one exports, the others wait for its files
                    if not path.is_file():
                        export_graphs(self.network, self.params, self.folder, (name,))
            self.sessions[name] = make_session(path, self.device)
        return self.sessions[name]

    def encode_template(self, template_list: list[torch.Tensor], template_anno_list: list[torch.Tensor]
                        ) -> TemplateFeatures:
        """Each template through the template graph, concatenated along tokens (as the model does for B = 1)."""
        if len(template_list) != self.num_templates or template_list[0].shape[0] != 1:
            raise ValueError(f"the ONNX step graph takes {self.num_templates} template(s) of batch 1 "
                             f"(TEST.NUM_TEMPLATES), got {len(template_list)} of batch {template_list[0].shape[0]}")
        sess = self.session("template")
        outs = [sess.run(list(TEMPLATE_OUTPUTS), {"template": to_numpy(t), "template_anno": to_numpy(a)})
                for t, a in zip(template_list, template_anno_list)]
        return TemplateFeatures(*(torch.from_numpy(np.concatenate(parts, 1)) for parts in zip(*outs)))

    def track_step(self, search: torch.Tensor, template_cache: TemplateFeatures,
                   text_src: torch.Tensor | None = None) -> dict:
        """One frame through the step graph -> {'pred_boxes': 1 x 1 x 4, 'score': 1}, final (windowed)."""
        name = step_graph_name(text_src is not None, self.int8)
        feeds = {"search": to_numpy(search)}
        feeds.update((k, to_numpy(v)) for k, v in zip(TEMPLATE_OUTPUTS, template_cache))
        if text_src is not None:
            feeds["text"] = to_numpy(text_src)
        box, score = self.session(name).run(list(STEP_OUTPUTS), feeds)
        return {"pred_boxes": torch.from_numpy(box)[:, None], "score": torch.from_numpy(score)}

    def forward_textencoder(self, text_data: torch.Tensor) -> torch.Tensor:
        """Text token (once per sequence) from the PyTorch text encoder."""
        with torch.inference_mode():
            return self.network.forward_textencoder(text_data.cpu())


def check_folder(folder: Path, params: TrackerParams) -> None:
    """A given graph folder must exist; graphs exported from other weights or another config only warn."""
    if not folder.is_dir():
        raise FileNotFoundError(f"ONNX folder {folder} does not exist; export into it with "
                                f"tracking/export_onnx.py --out {folder}")
    meta = folder / "meta.json"
    key = json.loads(meta.read_text()).get("key") if meta.is_file() else None
    if key != cache_key(params):
        warnings.warn(f"ONNX graphs in {folder} were exported from other weights, config or exporter version than "
                      f"{params.yaml_file} with {params.checkpoint or 'random weights'}; boxes may differ",
                      stacklevel=3)


def load_onnx_network(params: TrackerParams, device: torch.device, int8: bool = False) -> OnnxNetwork:
    """Backend 'onnx': graphs from `params.onnx_dir` when given, else exported into the cache on first use."""
    network = build_network(params)
    given = getattr(params, "onnx_dir", None)
    if given:
        check_folder(Path(given), params)
    backend = OnnxNetwork(network, params, device, Path(given) if given else cache_dir(params), export=not given,
                          int8=int8)
    backend.session("template")  # export and load now, not inside the first frame's timing
    backend.session(step_graph_name(False, int8))
    return backend


def load_onnx_int8_network(params: TrackerParams, device: torch.device) -> OnnxNetwork:
    """Backend 'onnx_int8': as 'onnx', with the int8-quantised step graph (opt-in; boxes move slightly)."""
    return load_onnx_network(params, device, int8=True)


register_backend("onnx", load_onnx_network)
register_backend("onnx_int8", load_onnx_int8_network)
