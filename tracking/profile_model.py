"""Model profile: params and GFLOPs per module, latency per backend, training-step throughput, as a table.

  python tracking/profile_model.py --config sutrack_dinov3 --threads 2
  python tracking/profile_model.py --config tiny --iters 2 --json /tmp/profile.json
  python tracking/profile_model.py --config sutrack_dinov3 --device cuda     # fp32, AMP, torch.compile rows

Latency rows run interleaved (one call of each row per round, so machine load hits all rows alike) and
report the median and p90 after warm-up: the bare backbone on the search crop, the network step (model,
Hann window and cal_bbox on a crop already in memory), the full tracker step (crop from a frame,
normalise, network with the cached template, post-processing, box mapping) and the template branch
(once per sequence), for each backend. On CUDA the PyTorch rows come in fp32, under AMP autocast and
with torch.compile (mode reduce-overhead: CUDA graphs). Weights are random (seeded) unless --checkpoint
is given: speed does not depend on them. GFLOPs count multiply-adds as 2 FLOPs (convolutions, matrix
products, attention; element-wise work is not counted). The data loader is profiled by
tracking/profile_train.py. Not a test: numbers depend on the machine and its load.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import math
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from lib.data.synthetic.writers import synthetic_sequence
from lib.models.sutrack_dinov3.decoder import select_box
from lib.models.sutrack_dinov3.encoder import TemplateFeatures
from lib.test.parameter.sutrack_dinov3 import TrackerParams, parameters
from lib.test.tracker.sutrack_dinov3 import SUTrackDINOv3Tracker, build_network, resolve_device
from lib.utils.io import atomic_write_bytes

Row = Callable[[], object]
TARGET_MS, TARGET_RATIO = 57.0, 1.3  # the speed issue's targets for the full step on the fastest backend


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


class VariantNetwork:
    """The eager network as a tracker backend under autocast and/or torch.compile (CUDA speed variants)."""

    def __init__(self, network: nn.Module, device: torch.device, amp_dtype: torch.dtype | None = None,
                 compile_mode: str | None = None):
        self.network = network
        self.device = device
        self.amp_dtype = amp_dtype
        self.compile_mode = compile_mode
        self.step = torch.compile(network.track_step, mode=compile_mode) if compile_mode else network.track_step

    def autocast(self):
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.amp_dtype)

    def encode_template(self, template_list: list[torch.Tensor], anno_list: list[torch.Tensor]):
        with self.autocast():
            return self.network.encode_template(template_list, anno_list)

    def track_step(self, search: torch.Tensor, cache, text_src: torch.Tensor | None = None) -> dict:
        with self.autocast():
            out = self.step(search, cache, text_src)
        return {k: v.float() for k, v in out.items()}

    def forward_textencoder(self, ids: torch.Tensor) -> torch.Tensor:
        return self.network.forward_textencoder(ids)


def tracker_row(tracker: SUTrackDINOv3Tracker, frames: list[np.ndarray], init_box) -> Row:
    """A row that tracks the next frame (cycling over `frames`) after initialising on the first one."""
    tracker.initialize(frames[0], {"init_bbox": list(init_box)})
    state = {"i": 0}

    def step() -> None:
        state["i"] = state["i"] % (len(frames) - 1) + 1
        tracker.track(frames[state["i"]])

    return step


def eager_rows(label: str, network: nn.Module, variant: VariantNetwork, params: TrackerParams,
               device: torch.device, search: torch.Tensor, template: torch.Tensor, anno: torch.Tensor,
               window: torch.Tensor | None, frames: list[np.ndarray], init_box) -> dict[str, Row]:
    """Backbone, network step, full tracker step and template rows of one PyTorch variant."""
    body = network.encoder.body
    if variant.compile_mode:  # compiled variant: compile the backbone alone too
        body = torch.compile(body, mode=variant.compile_mode)
    with torch.inference_mode(), variant.autocast():
        cache = network.encode_template([template], [anno])

    def backbone() -> None:
        with torch.inference_mode(), variant.autocast():
            body(search)

    def net_step() -> None:
        with torch.inference_mode():
            out = variant.track_step(search, cache)
            select_box(out, window)[0].sum().item()  # the tracker's one device -> host copy

    def template_row() -> None:
        with torch.inference_mode():
            variant.encode_template([template], [anno])

    tracker = SUTrackDINOv3Tracker(params, network=variant, device=device)
    return {f"backbone (search crop), {label}": backbone, f"network step, {label}": net_step,
            f"full tracker step, {label}": tracker_row(tracker, frames, init_box),
            f"template branch (once per sequence), {label}": template_row}


def onnx_rows(network: nn.Module, params: TrackerParams, device: torch.device, search: torch.Tensor,
              template: torch.Tensor, anno: torch.Tensor, frames: list[np.ndarray], init_box,
              folder: Path, int8: bool = False) -> dict[str, Row]:
    """The same rows through ONNX Runtime (graphs exported into `folder` when missing); int8: backend 'onnx_int8'."""
    from lib.test.tracker import onnx_backend as ob

    backend = ob.OnnxNetwork(network, params, device, folder, int8=int8)
    backbone_path = folder / "backbone.onnx"
    if not backbone_path.is_file():
        ob.export_module(network.encoder.body.eval(), (search.cpu(),), backbone_path, ["search"], ["features"])
    if int8:
        backbone_path = ob.quantize_int8(backbone_path, folder / "backbone_int8.onnx")
    backbone_sess = ob.make_session(backbone_path, device)
    provider = backbone_sess.get_providers()[0].replace("ExecutionProvider", "")
    label = f"onnxruntime {provider}" + (" int8" if int8 else "")
    x = ob.to_numpy(search)
    cache = backend.encode_template([template], [anno])
    tracker = SUTrackDINOv3Tracker(params, network=backend, device=device)
    rows = {f"backbone (search crop), {label}": lambda: backbone_sess.run(None, {"search": x}),
            f"network step, {label}": lambda: backend.track_step(search, cache),
            f"full tracker step, {label}": tracker_row(tracker, frames, init_box)}
    if not int8:  # the template graph is not quantised
        rows[f"template branch (once per sequence), {label}"] = lambda: backend.encode_template([template], [anno])
    return rows


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
    p.add_argument("--backend", default="all", choices=["pytorch", "onnx", "onnx_int8", "all"],
                   help="all: pytorch, onnx and onnx_int8 (the opt-in int8 ONNX backend)")
    p.add_argument("--iters", type=int, default=30, help="timed rounds (every row once per round)")
    p.add_argument("--warmup", type=int, default=3, help="untimed calls per row first")
    p.add_argument("--variants", default=None,
                   help="PyTorch variants, comma-separated from fp32, bf16, fp16, compile (default: fp32 on CPU; "
                        "fp32, bf16 or fp16 AMP, compile on CUDA)")
    p.add_argument("--train_batch", type=int, default=4, help="batch of the training-step row (0: skip it)")
    p.add_argument("--train_iters", type=int, default=0, help="timed training steps (default: min(iters, 5))")
    p.add_argument("--frame_size", type=int, nargs=2, default=(640, 480), metavar=("W", "H"))
    p.add_argument("--onnx_dir", default=None, help="folder of exported graphs (default: the ONNX backend's cache)")
    p.add_argument("--json", default=None, metavar="OUT", help="also save everything as JSON")
    p.add_argument("--opts", nargs=argparse.REMAINDER, default=[], help="config overrides KEY VALUE ...")
    return p.parse_args(argv)


def default_variants(device: torch.device) -> list[str]:
    if device.type != "cuda":
        return ["fp32"]
    amp = "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    return ["fp32", amp, "compile"]


def variant_network(name: str, network: nn.Module, device: torch.device) -> VariantNetwork:
    dtypes = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16, "compile": None}
    if name not in dtypes:
        raise ValueError(f"unknown variant '{name}'; choose from {sorted(dtypes)}")
    mode = ("reduce-overhead" if device.type == "cuda" else "default") if name == "compile" else None
    return VariantNetwork(network, device, dtypes[name], mode)


def build_params(args: argparse.Namespace) -> TrackerParams:
    """Tracker parameters with --opts applied (PRETRAINED is off: the tracker loads the checkpoint, if any)."""
    params = parameters(args.config, checkpoint=args.checkpoint, random_weights=args.checkpoint is None)
    if args.opts:
        cfg = params.cfg.clone()
        cfg.defrost()
        cfg.merge_from_list(list(args.opts))
        cfg.freeze()
        params.cfg = cfg
    return params


def format_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def ratios(latency: dict[str, dict]) -> dict[str, float]:
    """Full step / backbone per backend, and each backend's speed-up over eager fp32, from the latency rows."""
    out: dict[str, float] = {}
    labels = sorted({name.split(", ", 1)[1] for name in latency})
    for label in labels:
        bb, step = latency.get(f"backbone (search crop), {label}"), latency.get(f"full tracker step, {label}")
        if bb and step:
            out[f"full step / backbone, {label}"] = step["median_ms"] / bb["median_ms"]
    for label in labels:
        for what in ("backbone (search crop)", "full tracker step"):
            ref, other = latency.get(f"{what}, eager fp32"), latency.get(f"{what}, {label}")
            if label != "eager fp32" and ref and other:
                out[f"{what}: {label} speed-up over eager fp32"] = ref["median_ms"] / other["median_ms"]
    return out


def fastest_step(latency: dict[str, dict]) -> dict | None:
    """The fastest full tracker step row, with its ratio to the backbone on the same backend."""
    steps = {name.split(", ", 1)[1]: s for name, s in latency.items() if name.startswith("full tracker step, ")}
    if not steps:
        return None
    label = min(steps, key=lambda k: steps[k]["median_ms"])
    backbone = latency.get(f"backbone (search crop), {label}")
    return {"backend": label, "median_ms": steps[label]["median_ms"], "p90_ms": steps[label]["p90_ms"],
            "step_over_backbone": steps[label]["median_ms"] / backbone["median_ms"] if backbone else None}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    params = build_params(args)
    cfg = params.cfg
    network = build_network(params).to(device).eval()
    chans = 6 if cfg.DATA.MULTI_MODAL_VISION else 3
    gen = torch.Generator().manual_seed(0)
    search = torch.randn(1, chans, params.search_size, params.search_size, generator=gen).to(device)
    template = torch.randn(1, chans, params.template_size, params.template_size, generator=gen).to(device)
    anno = torch.tensor([[0.3, 0.3, 0.4, 0.4]], device=device)
    with torch.inference_mode():
        cache = network.encode_template([template], [anno])
    probe = SUTrackDINOv3Tracker(params, network=network, device=device)
    window = probe.window
    frames, boxes = synthetic_sequence(8, size=tuple(args.frame_size), seed=0,
                                       box_size=(args.frame_size[0] // 8, args.frame_size[1] // 8))

    info = {"config": params.config_name, "device": str(device), "threads": torch.get_num_threads(),
            "torch": torch.__version__, "cpu": platform.processor() or platform.machine(),
            "template": params.template_size, "search": params.search_size, "iters": args.iters,
            "weights": args.checkpoint or "random (seeded)", "frame_size": list(args.frame_size)}
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
    size_rows = model_table(network, search, cache, template, anno, window)

    rows: dict[str, Row] = {}
    if args.backend in ("pytorch", "all"):
        for name in (args.variants.split(",") if args.variants else default_variants(device)):
            variant = variant_network(name.strip(), network, device)
            label = "eager fp32" if name == "fp32" else ("torch.compile" if name == "compile" else f"AMP {name}")
            rows.update(eager_rows(label, network, variant, params, device, search, template, anno, window,
                                   frames, boxes[0]))
    if args.backend in ("onnx", "onnx_int8", "all"):
        import onnxruntime

        from lib.test.tracker.onnx_backend import cache_dir

        info["onnxruntime"] = onnxruntime.__version__
        folder = Path(args.onnx_dir) if args.onnx_dir else cache_dir(params)
        for int8 in {"onnx": [False], "onnx_int8": [True], "all": [False, True]}[args.backend]:
            rows.update(onnx_rows(network, params, device, search, template, anno, frames, boxes[0], folder, int8))
    order = ["backbone (search crop)", "network step", "full tracker step", "template branch (once per sequence)"]
    rows = dict(sorted(rows.items(), key=lambda kv: order.index(kv[0].split(", ", 1)[0])))
    latency = {name: summarize(t) for name, t in time_rows(rows, args.iters, args.warmup, device).items()}

    train = None
    if args.train_batch > 0:
        train = train_throughput(params, device, args.train_batch, args.train_iters or min(args.iters, 5), 1)

    backbone_gflops = size_rows[0]["gflops"]
    print(f"\nconfig {params.config_name}: device {device}, {torch.get_num_threads()} threads, template "
          f"{params.template_size} / search {params.search_size}, weights {info['weights']}, torch {torch.__version__}"
          + (f", onnxruntime {info['onnxruntime']}" if "onnxruntime" in info else ""))
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
    derived = ratios(latency)
    for name, value in derived.items():
        print(f"{name}: {value:.2f}x")
    best = fastest_step(latency)
    if best is not None:
        ratio = "-" if best["step_over_backbone"] is None else f"{best['step_over_backbone']:.2f}x"
        print(f"fastest full tracker step: {best['backend']}, median {best['median_ms']:.1f} ms, p90 "
              f"{best['p90_ms']:.1f} ms, {ratio} its backbone (issue's targets: <= {TARGET_MS:.0f} ms, "
              f"<= {TARGET_RATIO}x)")
    if train is not None:
        print(f"\nTraining step (forward + backward + optimizer, batch {train['batch']} in memory, "
              f"AMP {train['amp']}): {train['median_s']:.3f} s/step, {train['samples_per_s']:.1f} samples/s")

    if args.json:
        out = {"info": info, "model": size_rows, "relation_head_fraction": budget, "latency": latency,
               "ratios": derived, "fastest_step": best, "train": train}
        path = Path(args.json)
        atomic_write_bytes(path, json.dumps(out, indent=1).encode())
        print(f"\nsaved {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
