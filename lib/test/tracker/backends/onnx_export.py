"""ONNX export of the tracker's network: the template branch, the per-frame step and the bare backbone.

Graphs (static shapes, opset 18), written atomically into a folder, one folder per config and weights:
  template.onnx  template crop 1 x C x Ht x Wt (normalised) + its box 1 x 4 (normalised x, y, w, h)
                 -> template_tokens, template_appearance 1 x Nt x D, template_foreground 1 x Nt
  step.onnx      search crop 1 x C x Hs x Ws (normalised) + the cached template features of the
                 TEST.NUM_TEMPLATES templates (+ text token 1 x 1 x D in step_text.onnx)
                 -> box 1 x 4 (normalised cxcywh in the crop, after the Hann window and cal_bbox), score 1
  backbone.onnx  search crop -> backbone features (the profiler's bare-backbone row)
Each graph has two forms of the same function: `<name>.onnx` with ConvNeXt blocks as transformers writes
them (permute + Linear: ONNX Runtime's fast form) and `<name>.channels_first.onnx` without transposes
(1x1 convolutions: OpenVINO's fast form; lib/models/sutrack_dinov3/channels_first.py).
The default folder is `<cache_dir>/onnx/<config>-<key>/`, the key hashing the resolved config, the weights
(checkpoint contents, or the random-weights seed) and the exporter; runtimes (ONNX Runtime, OpenVINO) and
their quantised copies read from there (quantised copies in sub-folders named by backend and library
versions), so a new checkpoint, config or library version rebuilds them.
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

import torch
from torch import nn

from lib.models.sutrack_dinov3.decoder import select_box
from lib.models.sutrack_dinov3.encoder import TemplateFeatures
from lib.test.parameter.sutrack_dinov3 import TrackerParams
from lib.test.tracker.sutrack_dinov3 import hann2d
from lib.utils.grid import feature_grid

EXPORT_VERSION = "3"  # bump when the graphs' inputs, outputs or contents change: invalidates the cache
OPSET = 18
TEMPLATE_INPUTS = ("template", "template_anno")
TEMPLATE_OUTPUTS = ("template_tokens", "template_appearance", "template_foreground")
STEP_OUTPUTS = ("box", "score")
FORMS = {"linear": "", "channels_first": ".channels_first"}  # form -> file name suffix


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


class _BodyScope(nn.Module):
    def __init__(self, body: nn.Module):
        super().__init__()
        self.body = body

    def forward(self, search: torch.Tensor) -> torch.Tensor:
        return self.body(search)


class BackboneGraph(nn.Module):
    """The bare backbone on the search crop (the profiler's row). Its nodes are named /encoder/body/... as
    in the step graph, so a quantisation recipe that picks nodes by module treats both graphs alike."""

    def __init__(self, network: nn.Module):
        super().__init__()
        self.encoder = _BodyScope(network.encoder.body)

    def forward(self, search: torch.Tensor) -> torch.Tensor:
        return self.encoder(search)


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


def step_graph_name(text: bool) -> str:
    """'step', or 'step_text' (the step that takes the text token)."""
    return "step_text" if text else "step"


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


def graph_file(folder: Path, name: str, form: str = "linear") -> Path:
    """`folder`/<name>.onnx, or <name>.channels_first.onnx for that form."""
    if form not in FORMS:
        raise ValueError(f"unknown graph form '{form}'; choose from {', '.join(FORMS)}")
    return Path(folder) / f"{name}{FORMS[form]}.onnx"


def export_graphs(network: nn.Module, params: TrackerParams, out_dir: str | Path,
                  graphs: tuple[str, ...] = ("template", "step"), dynamo: bool = False, form: str = "linear"
                  ) -> dict[str, Path]:
    """Export the named graphs ('template', 'step', 'step_text', 'backbone') in `form` into `out_dir`."""
    out_dir = Path(out_dir)
    network = network.eval()
    if form == "channels_first":
        from lib.models.sutrack_dinov3.channels_first import channels_first_copy

        network = channels_first_copy(network)
    paths = {}
    for name in graphs:
        text = name == "step_text"
        template_inputs, step_inputs = example_inputs(network, params, text)
        paths[name] = graph_file(out_dir, name, form)
        if name == "template":
            export_module(TemplateGraph(network).eval(), template_inputs, paths[name], list(TEMPLATE_INPUTS),
                          list(TEMPLATE_OUTPUTS), dynamo)
        elif name in ("step", "step_text"):
            export_module(StepGraph(network, step_window(params)).eval(), step_inputs, paths[name],
                          step_input_names(text), list(STEP_OUTPUTS), dynamo)
        elif name == "backbone":
            export_module(BackboneGraph(network).eval(), (step_inputs[0],), paths[name], ["search"], ["features"],
                          dynamo)
        else:
            raise ValueError(f"unknown graph '{name}'; choose from template, step, step_text, backbone")
    meta = {"config": params.config_name, "key": cache_key(params), "export_version": EXPORT_VERSION, "opset": OPSET,
            "num_templates": int(params.cfg.TEST.NUM_TEMPLATES), "torch": torch.__version__}
    write_atomic(out_dir / "meta.json", json.dumps(meta, indent=1))
    return paths


def ensure_graph(network: nn.Module, params: TrackerParams, folder: Path, name: str, export: bool = True,
                 form: str = "linear") -> Path:
    """Graph `name` in `form` in `folder`, exported first when missing (under the folder's lock: parallel
    workers wait). A folder that may not be written (a given --onnx_dir) without the channels-first form
    serves the linear one: the same function, a little slower on OpenVINO."""
    path = graph_file(folder, name, form)
    if path.is_file():
        return path
    if not export and form != "linear":
        return ensure_graph(network, params, folder, name, export)
    if not export:
        flags = " --text" if "text" in name else ""
        raise FileNotFoundError(f"ONNX graph {path} not found; export it with tracking/export_onnx.py{flags} "
                                f"--out {folder}")
    with export_lock(Path(folder)):
        if not path.is_file():
            export_graphs(network, params, folder, (name,), form=form)
    return path


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


def graph_folder(params: TrackerParams) -> tuple[Path, bool]:
    """(folder of the graphs, whether missing graphs may be exported into it): `params.onnx_dir` when given
    (checked, never written), else the cache folder of this config and these weights."""
    given = getattr(params, "onnx_dir", None)
    if given:
        check_folder(Path(given), params)
        return Path(given), False
    return cache_dir(params), True


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
def quiet_root_logger():
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        yield
    finally:
        root.setLevel(level)


def write_atomic(path: Path, text: str) -> None:
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


