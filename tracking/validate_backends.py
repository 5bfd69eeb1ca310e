"""Validate every backend on a trained model: AO on a dataset, its change against eager fp32, ms per frame.

    python tracking/validate_backends.py --config tiny --checkpoint SUTRACK_ep0014.pth.tar \\
        --dataset_name got10k_val --out demo_workspace/backends

For each backend available on this machine (pytorch, onnx, openvino, pytorch_bf16, onnx_int8,
openvino_int8, openvino_bf16 where the CPU computes bf16) it runs the ordinary tracking/test.py with
`--backend NAME` and its own `--runid` (one results folder per backend), scores the runs together with
lib/test/analysis/results.py, and prints and saves a table: AO, AO change against 'pytorch' (eager
fp32), how close its boxes are to eager fp32's (mean IoU, frame by frame: "one-step" from the same
state, each frame tracked from the previous frame's ground truth, which measures the backend's numerics;
"run" over the whole tracking runs, where one early difference sends the rest of a run elsewhere),
median ms per frame (from the _time files, initial frames left out) and, for reduced precision (bf16,
int8), PASS or FAIL: FAIL when its AO (a fraction, 0..1) falls more than MAX_AO_DROP below fp32.
`make demo` runs it as a stage; a backend that cannot run here is listed with the reason.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from lib.test.tracker.backends import FP32_BACKENDS, REDUCED_PRECISION_BACKENDS

MAX_AO_DROP = 0.01
SCRIPT = "sutrack_dinov3"
ROOT = Path(__file__).resolve().parents[1]
# in the table in this order; a backend's run id is --runid + its index here, so new ones go last
BACKENDS = ["pytorch", "onnx", "openvino", "pytorch_bf16", "onnx_int8", "openvino_bf16", "openvino_int8"]


def unavailable(name: str, config: str, checkpoint: str) -> str | None:
    """Why backend `name` cannot run here (None: it can). Loading it also builds and caches its exports and
    int8 calibration once, before test.py's workers start."""
    import torch

    from lib.test.parameter.sutrack_dinov3 import parameters
    from lib.test.tracker.sutrack_dinov3 import get_backend

    try:
        get_backend(name)(parameters(config, checkpoint=checkpoint), torch.device("cpu"))
    except (ValueError, ImportError, RuntimeError) as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def median_ms(results_dir: Path) -> float:
    """Median seconds per tracked frame over the run's _time files (each sequence's initial frame left out)."""
    from lib.test.results import load_values

    times = [load_values(p)[1:].ravel() for p in sorted(results_dir.rglob("*_time.txt"))]
    return 1e3 * float(np.median(np.concatenate(times))) if times else float("nan")


def iou_with_reference(folder: Path, reference: Path, sequences: list[str]) -> float:
    """Mean IoU between the boxes of two runs over every tracked frame (initial frames left out): how far a
    backend's boxes are from eager fp32's, which AO alone hides (errors can cancel over a small set)."""
    from lib.test.analysis.metrics import box_iou
    from lib.test.results import ResultFiles, load_result_boxes

    ious = [box_iou(load_result_boxes(ResultFiles.of(folder, s).boxes)[1:],
                    load_result_boxes(ResultFiles.of(reference, s).boxes)[1:]) for s in sequences]
    return float(np.mean(np.concatenate(ious))) if ious else float("nan")


def one_step_boxes(name: str, config: str, checkpoint: str, sequences) -> np.ndarray:
    """(N, 4) boxes of backend `name`, each frame tracked from the ground truth of the frame before (the
    tracker's state reset every frame; frames after an invalid box left out): boxes that differ between
    backends only by their numerics, not by where a run's earlier frames led it."""
    from tqdm import tqdm

    from lib.api import build_tracker
    from lib.test.evaluation.running import read_frame

    tracker = build_tracker(config, checkpoint=checkpoint, device="cpu", backend=name)
    boxes = []
    for seq in tqdm(sequences, desc=f"one-step boxes, {name}", leave=False):
        info = seq.init_info()
        tracker.initialize(read_frame(seq, 0), info["init_bbox"], text=info.get("init_nlp"))
        gt = np.asarray(seq.ground_truth_rect, dtype=np.float64)
        for i in range(1, min(len(seq.frames), len(gt))):
            if not (np.all(np.isfinite(gt[i - 1])) and gt[i - 1, 2] > 0 and gt[i - 1, 3] > 0):
                continue
            tracker.tracker.state = [float(v) for v in gt[i - 1]]
            boxes.append(tracker.track(read_frame(seq, i))[0])
    return np.asarray(boxes, dtype=np.float64).reshape(-1, 4)


def _cell(value: float, fmt: str) -> str:
    return "-" if value is None or np.isnan(value) else format(value, fmt)


def table(rows: list[dict]) -> str:
    """The markdown table of `rows`."""
    lines = ["| backend | precision | AO | AO - fp32 | one-step IoU with fp32 | run IoU with fp32 | median ms / frame "
             "| check |", "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        if "skipped" in r:
            lines.append(f"| {r['backend']} | {r['precision']} | - | - | - | - | - | not run here: {r['skipped']} |")
            continue
        lines.append(f"| {r['backend']} | {r['precision']} | {r['AO']:.4f} | {_cell(r['dAO'], '+.4f')} | "
                     f"{_cell(r['one_step_iou_fp32'], '.4f')} | {_cell(r['iou_fp32'], '.4f')} | {r['ms']:.1f} | "
                     f"{r['check']} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0], epilog=__doc__.split("\n", 1)[1],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", required=True)
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--dataset_name", default="got10k_val")
    p.add_argument("--backends", default=",".join(BACKENDS), help="comma-separated backends (pytorch first)")
    p.add_argument("--runid", type=int, default=100,
                   help="run id of 'pytorch'; each backend has its own (its index in the default list added)")
    p.add_argument("--threads", type=int, default=0, help="tracking/test.py worker processes")
    p.add_argument("--torch_threads", type=int, default=0,
                   help="threads per tracking process, every backend alike (0: torch's default)")
    p.add_argument("--out", required=True, help="folder for backends.md and backends.json")
    args = p.parse_args(argv)

    import torch

    from lib.test.analysis.metrics import box_iou
    from lib.test.analysis.results import score_trackers
    from lib.test.evaluation import get_dataset
    from lib.test.results import TrackerSpec
    from lib.utils.io import atomic_write_bytes
    from lib.utils.settings import env_settings

    names = [n.strip() for n in args.backends.split(",") if n.strip()]
    if names[0] != "pytorch":
        names = ["pytorch", *[n for n in names if n != "pytorch"]]
    rows, specs = [], {}
    for i, name in enumerate(names):
        precision = "fp32" if name in FP32_BACKENDS else ("bf16" if "bf16" in name else "int8")
        why = unavailable(name, args.config, args.checkpoint)
        if why is not None:
            print(f"backend {name}: not run here ({why})", flush=True)
            rows.append({"backend": name, "precision": precision, "skipped": why})
            continue
        runid = args.runid + (BACKENDS.index(name) if name in BACKENDS else len(BACKENDS) + i)  # fixed per name
        cmd = [sys.executable, "tracking/test.py", SCRIPT, args.config, "--dataset_name", args.dataset_name,
               "--checkpoint", args.checkpoint, "--backend", name, "--runid", str(runid), "--threads",
               str(args.threads), "--torch_threads", str(args.torch_threads)]
        print(f"\n--- backend {name}\n$ {' '.join(cmd)}", flush=True)
        if subprocess.call(cmd, cwd=ROOT) != 0:
            rows.append({"backend": name, "precision": precision, "skipped": "tracking/test.py failed (see above)"})
            continue
        specs[name] = TrackerSpec(SCRIPT, args.config, runid, display_name=name)
        rows.append({"backend": name, "precision": precision})
    results_path = env_settings().results_path
    sequences = get_dataset(args.dataset_name)
    report = score_trackers(list(specs.values()), sequences, args.dataset_name, results_path)
    scores = {s.spec.display_name: s.metrics for s in report.scores}
    reference = scores["pytorch"]["AO"] / 100.0 if "pytorch" in scores else None
    if args.torch_threads > 0:
        torch.set_num_threads(args.torch_threads)
    one_step_reference = one_step_boxes("pytorch", args.config, args.checkpoint, sequences) if reference else None
    for row in rows:
        if "skipped" in row:
            continue
        row["AO"] = float(scores[row["backend"]]["AO"]) / 100.0  # the analysis reports percent
        row["dAO"] = row["AO"] - reference if reference is not None else float("nan")
        row["ms"] = median_ms(specs[row["backend"]].results_dir(results_path) / args.dataset_name)
        row["iou_fp32"] = float("nan") if reference is None else iou_with_reference(
            specs[row["backend"]].dataset_dir(results_path, args.dataset_name),
            specs["pytorch"].dataset_dir(results_path, args.dataset_name), list(report.sequences))
        row["one_step_iou_fp32"] = float("nan")
        if reference is not None:  # eager's own boxes are the reference: tracked once, not again for its row
            boxes = one_step_reference if row["backend"] == "pytorch" else one_step_boxes(
                row["backend"], args.config, args.checkpoint, sequences)
            if len(boxes):
                row["one_step_iou_fp32"] = float(np.mean(box_iou(boxes, one_step_reference)))
        if row["backend"] in REDUCED_PRECISION_BACKENDS and reference is None:
            row["check"] = "unchecked (no eager fp32 reference: the 'pytorch' run failed or was not asked for)"
        elif row["backend"] in REDUCED_PRECISION_BACKENDS:
            row["check"] = "PASS" if row["dAO"] >= -MAX_AO_DROP else f"FAIL (AO drop > {MAX_AO_DROP})"
        else:
            row["check"] = "reference" if row["backend"] == "pytorch" else "fp32"
    text = (f"Backends on {args.dataset_name} ({len(report.sequences)} sequences), {args.config} at "
            f"{args.checkpoint}; reduced precision fails when its AO drops more than {MAX_AO_DROP} below fp32\n\n"
            + table(rows))
    from lib.test.tracker.backends.base import cpu_summary

    text += f"\n\nCPU flags: {cpu_summary()}\n"
    print("\n" + text)
    out = Path(args.out)
    atomic_write_bytes(out / "backends.md", text.encode())
    record = {"rows": rows, "sequences": report.sequences, "cpu_flags": cpu_summary()}
    atomic_write_bytes(out / "backends.json", json.dumps(record, indent=1).encode())
    print(f"saved {out / 'backends.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
