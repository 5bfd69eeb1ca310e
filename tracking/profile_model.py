"""Model profile: params and GFLOPs per module, latency per backend, training-step throughput, as a table.

  python tracking/profile_model.py --config sutrack_dinov3 --backend all --threads 2
  python tracking/profile_model.py --config tiny --backend pytorch,onnx,openvino --iters 5
  python tracking/profile_model.py --config tiny --iters 2 --json /tmp/profile.json
  python tracking/profile_model.py --config sutrack_dinov3 --device cuda     # fp32, AMP, torch.compile rows

Latency rows run interleaved (one call of each row per round, so machine load hits all rows alike) and
report the median and p90 after warm-up: the bare backbone on the search crop, the network step (model,
Hann window and cal_bbox on a crop already in memory), the full tracker step (crop from a frame,
normalise, network with the cached template, post-processing, box mapping) and the template branch
(once per sequence), for each registered backend (lib/test/tracker/backends/): the objects the tracker
runs, so exports and int8 calibration are cached and reused; with 'pytorch' among them, eager fp32's full step
is also cut into parts (crop, normalisation, backbone, projection, relation module, head), which shows where
the time around and after the backbone goes. For the OpenVINO backends the network step is also cut
into the same parts from OpenVINO's own per-node counters (PERF_COUNT, on a second compiled copy after
the timed rounds), with the share of each kernel. Backends this CPU class cannot use (bf16 without avx512_bf16 /
AMX) are listed as skipped under --backend all, not run. The first line gives the CPU's flags
(avx2, avx512f, avx512_bf16, VNNI, AMX): they decide which backend is fastest, so the ratios between
rows, not the milliseconds, carry over to other machines. On CUDA the rows are eager fp32, bf16
autocast and torch.compile (mode reduce-overhead: CUDA graphs). Weights are random (seeded) unless --checkpoint
is given: speed does not depend on them. GFLOPs count multiply-adds as 2 FLOPs (convolutions, matrix
products, attention; element-wise work is not counted). Two fp32 floors close the report: the step's FLOPs at
the machine's matrix-product peak (torch.mm 1024^3), and a tighter one with every dense layer at torch.mm's
speed on that layer's own shape (small products may run below the peak). The data loader is profiled by
tracking/profile_train.py. Not a test: numbers depend on the machine and its load.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import math
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode
from tqdm import tqdm

from lib.config.sutrack_dinov3.config import check_values, merge_opts
from lib.data.synthetic.writers import synthetic_sequence
from lib.models.sutrack_dinov3.decoder import select_box
from lib.models.sutrack_dinov3.encoder import TemplateFeatures
from lib.test.parameter.sutrack_dinov3 import TrackerParams, parameters
from lib.test.tracker.backends import FP32_BACKENDS, REDUCED_PRECISION_BACKENDS, not_for_this_cpu
from lib.test.tracker.backends.base import cpu_flags, cpu_summary, has_vnni, native_bf16
from lib.test.tracker.backends.pytorch import EagerNetwork
from lib.test.tracker.sutrack_dinov3 import (
    SUTrackDINOv3Tracker,
    build_network,
    get_backend,
    resolve_device,
    tracker_window,
)
from lib.utils.io import atomic_write_bytes

Row = Callable[[], object]


# ---------------------------------------------------------------------------------------------- model size
def count_flops(fn: Row) -> int:
    """FLOPs of one call of `fn` (FlopCounterMode: matmul, conv, attention; 2 per multiply-add)."""
    with FlopCounterMode(display=False) as counter, torch.inference_mode():
        fn()
    return int(counter.get_total_flops())


def num_params(*modules: nn.Module | nn.Parameter | None) -> int:
    """Parameters of the given modules / parameters together (None is skipped)."""
    total = 0
    for m in modules:
        if isinstance(m, nn.Parameter):
            total += m.numel()
        elif m is not None:
            total += sum(p.numel() for p in m.parameters())
    return total


def model_table(network: nn.Module, search: torch.Tensor, cache: TemplateFeatures, template: torch.Tensor,
                anno: torch.Tensor, window: torch.Tensor | None) -> list[dict]:
    """Params (M) and GFLOPs of backbone, projection, relation module and head for one tracker step."""
    enc = network.encoder
    with torch.inference_mode():
        feat = enc.body(search)
        tokens, sim, grid = enc(search, cache)
    flops = {
        "backbone": count_flops(lambda: enc.body(search)),
        "projection": count_flops(lambda: enc.neck(feat)),
        "encoder": count_flops(lambda: enc(search, cache)),
        "head": count_flops(lambda: select_box(network.forward_decoder([tokens, sim, grid]), window)),
        "step": count_flops(lambda: select_box(network.track_step(search, cache), window)),
        "template": count_flops(lambda: enc.encode_template([template], [anno])),
    }
    relation_flops = flops["encoder"] - flops["backbone"] - flops["projection"]
    body, neck = num_params(enc.body), num_params(enc.neck)
    rows = [
        ("backbone (search crop)", body, flops["backbone"]),
        ("projection (1x1 conv to EMBED_DIM)", neck, flops["projection"]),
        ("relation module (+ similarity map)", num_params(enc) - body - neck, relation_flops),
        ("head (+ window, cal_bbox)", num_params(network.decoder), flops["head"]),
        ("per-frame step, total", num_params(enc, network.decoder), flops["step"]),
        ("template branch (once per sequence)", body + neck, flops["template"]),
        ("task decoder (training only)", num_params(network.task_decoder), None),
    ]
    if network.text_encoder is not None:
        rows.append(("text encoder (once per sequence)", num_params(network.text_encoder), None))
    return [{"module": name, "params_m": p / 1e6, "gflops": None if f is None else f / 1e9} for name, p, f in rows]


# ---------------------------------------------------------------------------------------------- timing
def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_rows(rows: dict[str, Row], iters: int, warmup: int, device: torch.device) -> dict[str, list[float]]:
    """Seconds per call of every row, interleaved: each round calls every row once."""
    for fn in rows.values():
        for _ in range(warmup):
            fn()
    sync(device)
    times: dict[str, list[float]] = {name: [] for name in rows}
    for _ in range(iters):
        for name, fn in rows.items():
            t0 = time.perf_counter()
            fn()
            sync(device)
            times[name].append(time.perf_counter() - t0)
    return times


def summarize(times: list[float]) -> dict:
    ms = np.asarray(times) * 1e3
    med = float(np.median(ms))
    return {"median_ms": med, "p90_ms": float(np.percentile(ms, 90)), "fps": 1e3 / med if med > 0 else math.inf,
            "n": len(ms)}


def tracker_row(tracker: SUTrackDINOv3Tracker, frames: list[np.ndarray], init_box) -> Row:
    """A row that tracks the next frame (cycling over `frames`) after initialising on the first one."""
    tracker.initialize(frames[0], {"init_bbox": list(init_box)})
    state = {"i": 0}

    def step() -> None:
        state["i"] = state["i"] % (len(frames) - 1) + 1
        tracker.track(frames[state["i"]])

    return step


def load_backend(name: str, params: TrackerParams, device: torch.device):
    """The registered backend `name` ('compile': eager under torch.compile, the CUDA variant), or the reason
    it cannot run here (a string)."""
    if name == "compile":
        mode = "reduce-overhead" if device.type == "cuda" else "default"
        return EagerNetwork(build_network(params).to(device), tracker_window(params), device, compile_mode=mode,
                            name="torch.compile")
    try:
        return get_backend(name)(params, device)
    except (ValueError, ImportError, RuntimeError) as exc:
        return f"{type(exc).__name__}: {exc}"


def backend_rows(label: str, backend, params: TrackerParams, device: torch.device, search: torch.Tensor,
                 template: torch.Tensor, anno: torch.Tensor, frames: list[np.ndarray], init_box) -> dict[str, Row]:
    """Bare backbone, network step (crop in memory -> final box), full tracker step and template rows of one
    registered backend: the same objects the tracker runs."""
    with torch.inference_mode():
        cache = backend.encode_template([template], [anno])

    def net_step() -> None:
        with torch.inference_mode():
            backend.track_step(search, cache)["score"].sum().item()  # the tracker's one device -> host copy

    def template_row() -> None:
        with torch.inference_mode():
            backend.encode_template([template], [anno])

    tracker = SUTrackDINOv3Tracker(params, network=backend, device=device)
    return {f"backbone (search crop), {label}": backend.backbone_fn(search), f"network step, {label}": net_step,
            f"full tracker step, {label}": tracker_row(tracker, frames, init_box),
            f"template branch (once per sequence), {label}": template_row}


PARTS = ("crop (search region from the frame)", "normalisation (uint8 crop -> float tensor)",
         "backbone (eager)", "backbone + projection (eager)", "encoder: + relation module (eager)",
         "head + window + cal_bbox (eager)")


def part_rows(network: nn.Module, params: TrackerParams, device: torch.device, frames: list[np.ndarray],
              init_box, search: torch.Tensor, cache: TemplateFeatures, window: torch.Tensor | None) -> dict[str, Row]:
    """Eager fp32 rows of the full step's parts, nested where they cannot be cut apart (the relation module's
    time is the encoder's minus backbone + projection's): where the time goes around and after the backbone."""
    from lib.utils.crop import sample_target

    tracker = SUTrackDINOv3Tracker(params, network=EagerNetwork(network, window, device), device=device)
    tracker.initialize(frames[0], {"init_bbox": list(init_box)})
    crop, _ = sample_target(frames[1], tracker.state, params.search_factor, params.search_size)
    enc = network.encoder
    with torch.inference_mode():
        tokens, sim, grid = enc(search, cache)

    def run(fn: Row) -> Row:
        def call() -> None:
            with torch.inference_mode():
                fn()
        return call

    fns = (lambda: sample_target(frames[1], tracker.state, params.search_factor, params.search_size),
           lambda: tracker._to_tensor(crop), lambda: enc.body(search), lambda: enc.embed(search),
           lambda: enc(search, cache), lambda: select_box(network.forward_decoder([tokens, sim, grid]), window))
    return {name: run(fn) for name, fn in zip(PARTS, fns)}


def parts_table(latency: dict[str, dict]) -> list[list[str]]:
    """Rows 'part, median ms, % of eager's full step' from the part rows (differences of nested medians)."""
    med = {name: latency[name]["median_ms"] for name in PARTS if name in latency}
    full = latency.get("full tracker step, pytorch", {}).get("median_ms")
    net = latency.get("network step, pytorch", {}).get("median_ms")
    if len(med) < len(PARTS) or not full:
        return []
    crop, norm, body, embed, encoder, head = (med[n] for n in PARTS)
    parts = [("backbone", body), ("projection", embed - body), ("relation module (+ similarity map)", encoder - embed),
             ("head + window + cal_bbox", head), ("crop", crop), ("normalisation", norm)]
    if net:
        parts.append(("rest of the full step (decode, map back, Python)", full - net - crop - norm))
    return [[name, f"{ms:.2f}", f"{100 * ms / full:.1f}"] for name, ms in parts]


GRAPH_PARTS = (("/encoder/body/", "backbone"), ("/encoder/neck/", "projection"),
               ("/encoder/", "relation module (+ similarity map, tokens)"), ("/decoder/", "head"))
GRAPH_REST = "window, cal_bbox, layout changes"


def graph_part(node: str) -> str:
    """The part of the step a node of an exported step graph belongs to, read from its module path (the
    exporter names nodes /encoder/body/..., /encoder/neck/..., /encoder/blocks.0/..., /decoder/...)."""
    for prefix, part in GRAPH_PARTS:
        if node.startswith(prefix):
            return part
    return GRAPH_REST


def graph_parts(backend, search: torch.Tensor, template: torch.Tensor, anno: torch.Tensor, calls: int) -> dict:
    """Where a graph backend's network step goes, from the runtime's per-node counters: ms and share per part
    (backbone, projection, relation module, head, the rest) and per kernel (the runtime's implementation)."""
    with torch.inference_mode():
        cache = backend.encode_template([template], [anno])
    name, feeds = backend.step_feeds(search, cache)
    nodes = backend.node_times(name, feeds, calls)
    total = sum(n.ms for n in nodes)
    parts: dict[str, float] = {part: 0.0 for _, part in GRAPH_PARTS} | {GRAPH_REST: 0.0}
    kernels: dict[str, float] = {}
    for n in nodes:
        parts[graph_part(n.node)] += n.ms
        kernels[n.kernel] = kernels.get(n.kernel, 0.0) + n.ms
    return {"total_ms": total, "parts": [[part, ms, 100 * ms / total] for part, ms in parts.items()],
            "kernels": sorted(([k, ms, 100 * ms / total] for k, ms in kernels.items()), key=lambda r: -r[1])}


# ---------------------------------------------------------------------------------------------- training
def fake_batch(params: TrackerParams, batch: int) -> dict:
    """A training batch of random crops and a fixed target box, in the data loader's format."""
    from lib.train.data.heatmap import gaussian_target
    from lib.utils.grid import feature_grid

    cfg = params.cfg
    chans = 6 if cfg.DATA.MULTI_MODAL_VISION else 3
    t_size, s_size = cfg.DATA.TEMPLATE.SIZE, cfg.DATA.SEARCH.SIZE
    box = np.array([0.40, 0.35, 0.2, 0.25], dtype=np.float32)
    heat = gaussian_target(box, feature_grid(s_size, cfg.MODEL.ENCODER.STRIDE))
    data = {"template_images": torch.randn(batch, 1, chans, t_size, t_size),
            "template_anno": torch.tensor([[[0.25, 0.25, 0.5, 0.5]]]).repeat(batch, 1, 1),
            "search_images": torch.randn(batch, 1, chans, s_size, s_size),
            "search_anno": torch.from_numpy(box)[None, None].repeat(batch, 1, 1),
            "search_heatmap": torch.from_numpy(heat)[None, None].repeat(batch, 1, 1, 1),
            "task_index": torch.zeros(batch, dtype=torch.long)}
    if cfg.DATA.MULTI_MODAL_LANGUAGE:
        from lib.models.sutrack_dinov3.clip import tokenize

        data["nlp_ids"] = tokenize(["a moving object"] * batch, int(cfg.MODEL.TEXT_ENCODER.CONTEXT_LENGTH))
    return data


def train_throughput(params: TrackerParams, device: torch.device, batch: int, iters: int, warmup: int) -> dict:
    """Samples/s of forward + backward + optimizer step on a batch in memory (the config's AMP on CUDA)."""
    from lib.train.actors import SUTrackActor, SUTrackTrainNet
    from lib.train.optim import amp_settings, build_optimizer, configure_trainable, optimizer_step

    cfg = params.cfg
    model = build_network(params).to(device)
    configure_trainable(model, cfg)
    model.train()
    actor = SUTrackActor(SUTrackTrainNet(model, bool(cfg.DATA.MULTI_MODAL_LANGUAGE)), cfg, device)
    optimizer = build_optimizer(model, cfg)
    amp, dtype, scaler = amp_settings(cfg, device)
    trainable = [p for p in model.parameters() if p.requires_grad]
    data = actor.to_device(fake_batch(params, batch))

    def step() -> None:
        with torch.autocast(device.type, dtype=dtype, enabled=amp):
            loss, _ = actor(data)
        scaler.scale(loss).backward()
        optimizer_step(optimizer, scaler, trainable, cfg.TRAIN.GRAD_CLIP_NORM)

    stats = summarize(time_rows({"train": step}, iters, warmup, device)["train"])
    return {"batch": batch, "amp": amp, "median_s": stats["median_ms"] / 1e3,
            "samples_per_s": batch * 1e3 / stats["median_ms"]}


# ---------------------------------------------------------------------------------------------- main
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0], epilog=__doc__.split("\n", 1)[1],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", required=True, help="config name in experiments/sutrack_dinov3/ or a YAML path")
    p.add_argument("--checkpoint", default=None, help="weights (default: seeded random weights)")
    p.add_argument("--device", default="cpu", help="cpu | cuda | cuda:N | auto")
    p.add_argument("--threads", type=int, default=0, help="torch and ONNX Runtime threads (0: torch's default)")
    p.add_argument("--backend", default="all",
                   help="all, or comma-separated registered backends (pytorch, pytorch_bf16, onnx, onnx_int8, "
                        "openvino, openvino_int8, openvino_bf16; compile: eager under torch.compile)")
    p.add_argument("--iters", type=int, default=30, help="timed rounds (every row once per round)")
    p.add_argument("--warmup", type=int, default=3, help="untimed calls per row first")
    p.add_argument("--train_batch", type=int, default=4, help="batch of the training-step row (0: skip it)")
    p.add_argument("--train_iters", type=int, default=0, help="timed training steps (default: min(iters, 5))")
    p.add_argument("--frame_size", type=int, nargs=2, default=(640, 480), metavar=("W", "H"))
    p.add_argument("--onnx_dir", default=None, help="folder of exported graphs (default: the ONNX backend's cache)")
    p.add_argument("--json", default=None, metavar="OUT", help="also save everything as JSON")
    p.add_argument("--opts", nargs=argparse.REMAINDER, default=[], help="config overrides KEY VALUE ...")
    return p.parse_args(argv)


def default_backends(device: torch.device) -> list[str]:
    """--backend all: every registered backend on the CPU (those this CPU class cannot use are listed as skipped);
    eager, bf16 autocast and torch.compile on CUDA."""
    if device.type == "cuda":
        return ["pytorch", "pytorch_bf16", "compile"]
    return [*FP32_BACKENDS, *REDUCED_PRECISION_BACKENDS]


def best_mm_seconds(m: int, k: int, n: int, device: torch.device, calls: int) -> float:
    """The fastest of `calls` timed torch.mm calls of an (m x k) by (k x n) fp32 product (after one untimed)."""
    a, b = torch.randn(m, k, device=device), torch.randn(k, n, device=device)
    torch.mm(a, b)
    best = math.inf
    for _ in range(calls):
        sync(device)
        start = time.perf_counter()
        torch.mm(a, b)
        sync(device)
        best = min(best, time.perf_counter() - start)
    return best


def matmul_peak_gflops(device: torch.device, n: int = 1024, calls: int = 10) -> float:
    """This device's fp32 matrix-product rate (GFLOP/s, torch.mm n x n x n, torch's threads): the ceiling of a
    step that is mostly matrix products, so `step GFLOPs / peak` is the fastest an fp32 step can be here."""
    return 2 * n**3 / best_mm_seconds(n, n, n, device, calls) / 1e9


def dense_layer_shapes(network: nn.Module, fn: Row) -> tuple[dict[tuple[int, int, int], int], int]:
    """The matrix products the dense layers of `network` run in one call of `fn`, as {(M, K, N): count}
    (Linear: rows x in -> out; Conv2d as im2col: output positions x in/groups * kernel -> out/groups, once
    per group), and the FLOPs of the depthwise convolutions, which are not matrix products."""
    shapes: dict[tuple[int, int, int], int] = {}
    depthwise = [0]

    def linear(module: nn.Linear, inputs: tuple, _output) -> None:
        key = (inputs[0].numel() // module.in_features, module.in_features, module.out_features)
        shapes[key] = shapes.get(key, 0) + 1

    def conv(module: nn.Conv2d, _inputs, output: torch.Tensor) -> None:
        batch, _, h, w = output.shape
        kernel = module.kernel_size[0] * module.kernel_size[1]
        groups = module.groups
        if groups > 1 and groups == module.in_channels:  # depthwise: a multiply-add per tap, no matrix product
            depthwise[0] += 2 * batch * h * w * module.out_channels * kernel * module.in_channels // groups
            return
        key = (batch * h * w, module.in_channels // groups * kernel, module.out_channels // groups)
        shapes[key] = shapes.get(key, 0) + groups

    handles = [m.register_forward_hook(linear if isinstance(m, nn.Linear) else conv)
               for m in network.modules() if isinstance(m, (nn.Linear, nn.Conv2d))]
    try:
        with torch.inference_mode():
            fn()
    finally:
        for handle in handles:
            handle.remove()
    return shapes, depthwise[0]


def shape_floor_ms(shapes: dict[tuple[int, int, int], int], device: torch.device, calls: int = 20) -> float:
    """ms of the given matrix products at torch.mm's best speed on each shape here: what the dense layers cost
    when every one runs as fast as this machine multiplies matrices of its size (small ones may run slower)."""
    return sum(count * best_mm_seconds(m, k, n, device, calls) * 1e3 for (m, k, n), count in shapes.items())


def build_params(args: argparse.Namespace) -> TrackerParams:
    """Tracker parameters with --opts applied (PRETRAINED is off: the tracker loads the checkpoint, if any)."""
    params = parameters(args.config, checkpoint=args.checkpoint, random_weights=args.checkpoint is None)
    if args.opts:
        cfg = params.cfg.clone()
        cfg.defrost()
        merge_opts(cfg, list(args.opts))  # the type checks and value forms of tracking/train.py's --opts
        check_values(cfg, f"{params.yaml_file} with --opts")
        cfg.freeze()
        params.cfg = cfg
    return params


def format_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def ratio_table(latency: dict[str, dict], labels: list[str]) -> list[dict]:
    """Per backend: backbone and full-step medians, full step / its backbone, full step / eager fp32's."""
    ref = latency.get("full tracker step, pytorch")
    rows = []
    for label in labels:
        bb, step = latency.get(f"backbone (search crop), {label}"), latency.get(f"full tracker step, {label}")
        if not (bb and step):
            continue
        rows.append({"backend": label, "backbone_ms": bb["median_ms"], "step_ms": step["median_ms"],
                     "step_over_backbone": step["median_ms"] / bb["median_ms"],
                     "step_over_eager": step["median_ms"] / ref["median_ms"] if ref else None})
    return rows


def targets(rows: list[dict]) -> list[str]:
    """The speed issue's targets for this CPU class, checked on these ratios (a benchmark note, not a test)."""
    flags = cpu_flags()
    avx512, fast_low = flags["avx512f"], native_bf16() or has_vnni()
    fp32 = [r for r in rows if r["backend"] in FP32_BACKENDS and r["step_over_eager"] is not None]
    low = [r for r in rows if r["backend"] in REDUCED_PRECISION_BACKENDS and r["step_over_eager"] is not None]
    lines = []
    if fp32:
        best = min(fp32, key=lambda r: r["step_ms"])
        goal = 0.65 if avx512 else 0.75
        lines.append(f"fastest fp32 full step: {best['backend']} {best['step_over_eager']:.2f}x eager fp32 (target "
                     f"<= {goal}x on {'an AVX-512' if avx512 else 'an AVX2-only'} CPU)")
    if low:
        best = min(low, key=lambda r: r["step_ms"])
        goal = 0.30 if fast_low else 0.50
        lines.append(f"fastest reduced-precision full step: {best['backend']} {best['step_over_eager']:.2f}x eager "
                     f"fp32 (target <= {goal}x on a CPU {'with' if fast_low else 'without'} bf16/VNNI; 'auto' takes it "
                     "only with a passing verdict of tracking/validate_backends.py)")
    worst = max(rows, key=lambda r: r["step_over_backbone"], default=None)
    if worst:
        lines.append(f"largest full step / backbone: {worst['backend']} {worst['step_over_backbone']:.2f}x (target "
                     "<= 1.3x on every backend)")
    return lines


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    params = build_params(args)
    params.onnx_dir = args.onnx_dir
    cfg = params.cfg
    network = build_network(params).to(device).eval()
    chans = 6 if cfg.DATA.MULTI_MODAL_VISION else 3
    gen = torch.Generator().manual_seed(0)
    search = torch.randn(1, chans, params.search_size, params.search_size, generator=gen).to(device)
    template = torch.randn(1, chans, params.template_size, params.template_size, generator=gen).to(device)
    anno = torch.tensor([[0.3, 0.3, 0.4, 0.4]], device=device)
    with torch.inference_mode():
        cache = network.encode_template([template], [anno])
    window = tracker_window(params)
    window_dev = window.to(device) if window is not None else None
    frames, boxes = synthetic_sequence(8, size=tuple(args.frame_size), seed=0,
                                       box_size=(args.frame_size[0] // 8, args.frame_size[1] // 8))

    info = {"config": params.config_name, "device": str(device), "threads": torch.get_num_threads(),
            "torch": torch.__version__, "cpu": cpu_summary(), "cpu_flags": cpu_flags(),
            "template": params.template_size, "search": params.search_size, "iters": args.iters,
            "weights": args.checkpoint or "random (seeded)", "frame_size": list(args.frame_size)}
    for lib in ("onnxruntime", "openvino"):
        with contextlib.suppress(ModuleNotFoundError):
            info[lib] = __import__(lib).__version__
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
    size_rows = model_table(network, search, cache, template, anno, window_dev)
    # the floors first, while no runtime's threads are about (they would share the cores with torch.mm)
    peak = matmul_peak_gflops(device)
    shapes, _ = dense_layer_shapes(network, lambda: select_box(network.track_step(search, cache), window_dev))
    dense_gflops = sum(2 * m * k * n * c for (m, k, n), c in shapes.items()) / 1e9
    rest_gflops = size_rows[4]["gflops"] - dense_gflops
    shape_ms = shape_floor_ms(shapes, device) + 1e3 * rest_gflops / peak

    names = default_backends(device) if args.backend == "all" else [n.strip() for n in args.backend.split(",")]
    rows: dict[str, Row] = {}
    skipped: dict[str, str] = {}
    loaded: dict[str, object] = {}
    labels = []
    for name in tqdm(names, desc="loading backends (export / quantise on first use)", leave=False):
        why = not_for_this_cpu(name) if device.type == "cpu" and args.backend == "all" else None
        backend = why or load_backend(name, params, device)
        if isinstance(backend, str):
            skipped[name] = backend
            continue
        labels.append(name)
        loaded[name] = backend
        rows.update(backend_rows(name, backend, params, device, search, template, anno, frames, boxes[0]))
    order = ["backbone (search crop)", "network step", "full tracker step", "template branch (once per sequence)"]
    rows = dict(sorted(rows.items(), key=lambda kv: order.index(kv[0].split(", ", 1)[0])))
    if "pytorch" in labels:
        rows.update(part_rows(network, params, device, frames, boxes[0], search, cache,
                              window_dev))
    latency = {name: summarize(t) for name, t in time_rows(rows, args.iters, args.warmup, device).items()}

    graph = {name: graph_parts(b, search, template, anno, max(args.iters, 5)) for name, b in loaded.items()
             if hasattr(b, "node_times")}  # after the timed rounds: the counters slow the runtime a little

    train = None
    if args.train_batch > 0:
        train = train_throughput(params, device, args.train_batch, args.train_iters or min(args.iters, 5), 1)

    backbone_gflops = size_rows[0]["gflops"]
    print(f"\nconfig {params.config_name}: device {device}, {torch.get_num_threads()} threads, template "
          f"{params.template_size} / search {params.search_size}, weights {info['weights']}, torch {torch.__version__}"
          + "".join(f", {lib} {info[lib]}" for lib in ("onnxruntime", "openvino") if lib in info))
    print(f"CPU flags: {info['cpu']}" + (f"; GPU {info['gpu']}" if "gpu" in info else ""))
    print("\nModel (GFLOPs: 2 per multiply-add; the per-frame step runs with the cached template)")
    print(format_table(["module", "params (M)", "GFLOPs", "% of backbone"], [
        [r["module"], f"{r['params_m']:.2f}", "-" if r["gflops"] is None else f"{r['gflops']:.3f}",
         "-" if r["gflops"] is None else f"{100 * r['gflops'] / backbone_gflops:.1f}"] for r in size_rows]))
    budget = (size_rows[2]["gflops"] + size_rows[3]["gflops"]) / backbone_gflops
    print(f"relation module + head: {100 * budget:.1f}% of the backbone's FLOPs "
          f"({100 * (budget + size_rows[1]['gflops'] / backbone_gflops):.1f}% with the projection); budget ~30%")
    print(f"\nLatency, batch 1, {args.iters} interleaved rounds after {args.warmup} warm-up calls per row")
    print(format_table(["what", "median ms", "p90 ms", "FPS"], [
        [name, f"{s['median_ms']:.1f}", f"{s['p90_ms']:.1f}", f"{s['fps']:.1f}"] for name, s in latency.items()]))
    for name, why in skipped.items():
        print(f"backend {name}: not run here ({why})")
    table = ratio_table(latency, labels)
    print("\nRatios (within this run: absolute ms depend on the machine and its load)")
    print(format_table(["backend", "backbone ms", "full step ms", "full step / backbone", "full step / eager fp32"], [
        [r["backend"], f"{r['backbone_ms']:.1f}", f"{r['step_ms']:.1f}", f"{r['step_over_backbone']:.2f}",
         "-" if r["step_over_eager"] is None else f"{r['step_over_eager']:.2f}"] for r in table]))
    parts = parts_table(latency)
    if parts:
        print("\nWhere eager fp32's full step goes (relation module and projection: differences of nested rows)")
        print(format_table(["part", "median ms", "% of full step"], parts))
    for name, g in graph.items():
        print(f"\nWhere {name}'s network step goes (the runtime's per-node counters, {g['total_ms']:.1f} ms in all; "
              "counting adds a little)")
        print(format_table(["part", "ms", "% of the step"],
                           [[part, f"{ms:.2f}", f"{pct:.1f}"] for part, ms, pct in g["parts"]]))
        print("kernels: " + ", ".join(f"{k} {pct:.0f}%" for k, _, pct in g["kernels"][:5]))
    notes = targets(table)
    eager = latency.get("full tracker step, pytorch")
    floor_ms = 1e3 * size_rows[4]["gflops"] / peak
    notes.append(f"fp32 floor: the step's {size_rows[4]['gflops']:.2f} GFLOPs at this machine's fp32 matrix-product "
                 f"peak ({peak:.0f} GFLOP/s, torch.mm 1024^3) take {floor_ms:.1f} ms"
                 + (f" = {floor_ms / eager['median_ms']:.2f}x eager fp32" if eager else ""))
    notes.append(f"fp32 floor at the layers' shapes: the dense layers' {dense_gflops:.2f} GFLOPs at torch.mm's speed "
                 f"on each layer's own shape, the other {rest_gflops:.2f} (attention, depthwise, similarity map) at "
                 f"the peak: {shape_ms:.1f} ms"
                 + (f" = {shape_ms / eager['median_ms']:.2f}x eager fp32" if eager else "")
                 + "; element-wise work (norms, activations) comes on top")
    for line in notes:
        print(line)
    if train is not None:
        print(f"\nTraining step (forward + backward + optimizer, batch {train['batch']} in memory, "
              f"AMP {train['amp']}): {train['median_s']:.3f} s/step, {train['samples_per_s']:.1f} samples/s")

    if args.json:
        out = {"info": info, "model": size_rows, "parts": parts, "relation_head_fraction": budget, "latency": latency,
               "ratios": table, "graph_parts": graph, "dense_layer_shapes": [[*k, c] for k, c in shapes.items()],
               "targets": notes, "skipped": skipped, "train": train}
        path = Path(args.json)
        atomic_write_bytes(path, json.dumps(out, indent=1).encode())
        print(f"\nsaved {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
