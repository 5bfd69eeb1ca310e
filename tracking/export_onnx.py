"""Export the tracker's network to ONNX: the template encoder and the per-frame step as one graph each.

  python tracking/export_onnx.py --config sutrack_dinov3 --checkpoint SUTRACK_ep0180.pth.tar --out onnx/
  python tracking/export_onnx.py --config tiny --random_weights --out /tmp/tiny_onnx --text

template.onnx: template crop (normalised, 1 x C x Ht x Wt) + its normalised x, y, w, h box -> template
features. step.onnx: search crop (normalised) + template features -> box (normalised cxcywh after the
Hann window and cal_bbox) and score; step_text.onnx (--text) takes the text token as well. Each graph is
written in both forms: <name>.onnx (ONNX Runtime's) and <name>.channels_first.onnx (OpenVINO's: the same
function without transposes). --int8 adds the statically quantised step graph(s) of the opt-in backends
'onnx_int8' and 'openvino_int8' (calibrated on training crops: lib/test/tracker/backends/quantize.py).
Every file passes onnx.checker and is compared with PyTorch on random inputs before the command returns. Without
--out the graphs go to the ONNX backend's cache, where `build_tracker(..., backend='onnx')` finds them;
with --out, pass the folder as `build_tracker(..., backend='onnx', onnx_dir=...)`.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

from lib.models.sutrack_dinov3.decoder import select_box
from lib.models.sutrack_dinov3.encoder import TemplateFeatures
from lib.test.parameter.sutrack_dinov3 import parameters
from lib.test.tracker.backends import onnx_export as ob
from lib.test.tracker.backends.graph_network import to_numpy
from lib.test.tracker.backends.onnxruntime_backend import make_session
from lib.test.tracker.backends.quantize import int8_graph
from lib.test.tracker.sutrack_dinov3 import build_network

INT8_BACKEND = {"linear": "onnx_int8", "channels_first": "openvino_int8"}  # form -> int8 backend of its graphs


def verify(network: torch.nn.Module, params, folder: Path, text: bool, int8: bool = False, form: str = "linear"
           ) -> dict[str, float]:
    """Largest absolute difference between ONNX Runtime (on the graphs of `form`) and PyTorch on the tracing
    inputs, per output."""
    template_inputs, step_inputs = ob.example_inputs(network, params, text)
    device = torch.device("cpu")
    diffs = {}
    with torch.inference_mode():
        expected = network.encoder.encode_template([template_inputs[0]], [template_inputs[1]])
        cache = TemplateFeatures(*step_inputs[1:4])
        box, score = select_box(network.track_step(step_inputs[0], cache, *step_inputs[4:]), ob.step_window(params))
    got = make_session(ob.graph_file(folder, "template", form), device).run(
        list(ob.TEMPLATE_OUTPUTS), dict(zip(ob.TEMPLATE_INPUTS, map(to_numpy, template_inputs))))
    for name, ref, out in zip(ob.TEMPLATE_OUTPUTS, expected, got):
        diffs[name] = float(np.abs(ref.numpy() - out).max())
    step = ob.graph_file(folder, ob.step_graph_name(text), form)
    if int8:
        step = int8_graph(network, params, step, folder, INT8_BACKEND[form])
    got = make_session(step, device).run(
        list(ob.STEP_OUTPUTS), dict(zip(ob.step_input_names(text), map(to_numpy, step_inputs))))
    for name, ref, out in zip(ob.STEP_OUTPUTS, (box, score), got):
        diffs[name] = float(np.abs(ref.numpy() - out).max())
    return diffs


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0], epilog=__doc__.split("\n", 1)[1],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", required=True, help="config name in experiments/sutrack_dinov3/ or a YAML path")
    weights = p.add_mutually_exclusive_group()
    weights.add_argument("--checkpoint", default=None, help="weights (default: TEST.EPOCH's checkpoint under save_dir)")
    weights.add_argument("--random_weights", action="store_true", help="seeded random weights (tests, speed)")
    p.add_argument("--seed", type=int, default=0, help="seed of --random_weights")
    p.add_argument("--out", default=None, help="output folder (default: the ONNX backend's cache for these weights)")
    p.add_argument("--text", action="store_true", help="export step_text.onnx (language: text token input) too")
    p.add_argument("--int8", action="store_true",
                   help="also write the int8 step graph(s) of 'onnx_int8' and 'openvino_int8'")
    p.add_argument("--dynamo", action="store_true", help="use the torch.export-based exporter (slower to export)")
    args = p.parse_args(argv)

    try:
        params = parameters(args.config, checkpoint=args.checkpoint, random_weights=args.random_weights, seed=args.seed)
    except (FileNotFoundError, ValueError) as exc:
        print(f"export_onnx.py: error: {exc}", file=sys.stderr)
        return 2
    if args.text and not params.cfg.DATA.MULTI_MODAL_LANGUAGE:
        print(f"export_onnx.py: error: --text needs DATA.MULTI_MODAL_LANGUAGE in {params.yaml_file}", file=sys.stderr)
        return 2
    network = build_network(params)
    folder = Path(args.out) if args.out else ob.cache_dir(params)
    variants = [(text, int8) for text in sorted({False, args.text}) for int8 in sorted({False, args.int8})]
    graphs = ("template", *sorted({ob.step_graph_name(text) for text, _ in variants}))
    paths = []
    for form, backend in INT8_BACKEND.items():
        exported = ob.export_graphs(network, params, folder, graphs, dynamo=args.dynamo, form=form)
        paths += exported.values()
        paths += [int8_graph(network, params, exported[ob.step_graph_name(text)], folder, backend)
                  for text, int8 in variants if int8]
    for path in paths:
        print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB, onnx.checker passed)")
    for form in INT8_BACKEND:
        for text, int8 in variants:
            diffs = verify(network, params, folder, text, int8, form)
            step = ob.graph_file(folder, ob.step_graph_name(text), form).name + (" int8" if int8 else "")
            print(f"ONNX Runtime vs PyTorch ({step}), max abs difference: "
                  + ", ".join(f"{k} {v:.2e}" for k, v in diffs.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
