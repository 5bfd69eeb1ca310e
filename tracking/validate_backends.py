"""Validate every backend on a trained model against eager fp32: fidelity, paired AO change, ms per frame.

    python tracking/validate_backends.py --config tiny --checkpoint SUTRACK_ep0014.pth.tar \\
        --dataset_name got10k_val --out demo_workspace/backends

For each backend this CPU class can use (pytorch, onnx, openvino, onnx_int8, openvino_int8; pytorch_bf16 and
openvino_bf16 only where the CPU computes bf16: elsewhere they are listed as skipped, not tried) it runs the
ordinary tracking/test.py with `--backend NAME` and its own `--runid` (one results folder per backend) and
measures, against 'pytorch' (eager fp32), per sequence:
  fidelity  each frame's box tracked from the previous frame's ground truth ("one-step", the tracker's state
            reset every frame, so backends differ only by their numerics), as IoU with fp32's one-step box;
  AO diff   the sequence's AO (whole tracking runs) minus fp32's on the same sequence.
Criterion (lib/test/tracker/backends/verdicts.py): a backend PASSES when the one-sided 95% lower bound of its
mean fidelity (bootstrap over sequences, fixed seed) is >= FIDELITY_LIMIT (0.98) and the 95% bootstrap
interval of its mean paired AO diff ends no lower than -AO_LIMIT (-0.08); the reason says which part failed.
Same boxes, same verdict: the bootstrap is seeded. The fidelity bound is the sharp part: whole runs diverge
after one different frame, so AO alone moves by +-0.03 on 20 sequences between backends of equal numerics.

The table (backends.md, backends.json in --out) shows AO (the mean of the sequences' AOs, which the paired
differences average; analysis_results.py pools the frames of all sequences, GOT-10k's way, so its AO can
differ in the third decimal), the AO diff with its interval, the fidelity with its lower bound, the whole-run
IoU with fp32, median ms per frame and the verdict with its reason. Each
reduced-precision verdict is cached for this checkpoint, backend, recipe, library versions and CPU flags
(`<cache_dir>/verdicts/`): backend 'auto' picks a reduced-precision backend only with a passing one.
`make demo` runs it as a stage. --overwrite redoes the tracking runs (a rerun otherwise reuses them).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from lib.test.tracker.backends import FP32_BACKENDS

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


def one_step_boxes(name: str, config: str, checkpoint: str, sequences) -> dict[str, np.ndarray]:
    """Per sequence, (N, 4) boxes of backend `name`, each frame tracked from the ground truth of the frame
    before (the tracker's state reset every frame; frames after an invalid box left out): boxes that differ
    between backends only by their numerics, not by where a run's earlier frames led it."""
    from tqdm import tqdm

    from lib.api import build_tracker
    from lib.test.evaluation.running import read_frame

    tracker = build_tracker(config, checkpoint=checkpoint, device="cpu", backend=name)
    out = {}
    for seq in tqdm(sequences, desc=f"one-step boxes, {name}", leave=False):
        info = seq.init_info()
        tracker.initialize(read_frame(seq, 0), info["init_bbox"], text=info.get("init_nlp"))
        gt = np.asarray(seq.ground_truth_rect, dtype=np.float64)
        boxes = []
        for i in range(1, min(len(seq.frames), len(gt))):
            if not (np.all(np.isfinite(gt[i - 1])) and gt[i - 1, 2] > 0 and gt[i - 1, 3] > 0):
                continue
            tracker.tracker.state = [float(v) for v in gt[i - 1]]
            boxes.append(tracker.track(read_frame(seq, i))[0])
        out[seq.name] = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    return out


def sequence_aos(results_dir: Path, sequences, dataset_name: str) -> dict[str, float]:
    """Per sequence, its AO (mean overlap with the ground truth; GOT-10k's protocol on GOT-10k layouts)."""
    from lib.test.analysis.metrics import box_iou, got10k_ious, valid_frames
    from lib.test.analysis.results import dataset_kind, got10k_meta
    from lib.test.results import ResultFiles, load_result_boxes

    got10k = dataset_kind(dataset_name) == "got10k"
    aos = {}
    for seq in sequences:
        gt = np.asarray(seq.ground_truth_rect, dtype=np.float64)
        pred = load_result_boxes(ResultFiles.of(results_dir, seq.name).boxes, len(gt))
        if got10k:
            aos[seq.name] = float(got10k_ious(pred, gt, *got10k_meta(seq)).mean())
        else:
            valid = valid_frames(gt)
            aos[seq.name] = float(box_iou(pred[valid], gt[valid]).mean()) if valid.any() else float("nan")
    return aos


def assess(one_step: dict[str, np.ndarray], reference: dict[str, np.ndarray], aos: dict[str, float],
           reference_aos: dict[str, float]) -> dict:
    """Fidelity (mean and lower bound), paired AO diff (mean and interval) and the verdict of one backend
    against the reference's boxes, over the sequences both have."""
    from lib.test.analysis.metrics import box_iou
    from lib.test.tracker.backends import verdicts as V

    names = [n for n in reference if n in one_step and len(one_step[n]) == len(reference[n])]
    fidelity, fidelity_low = V.fidelity_bound([box_iou(one_step[n], reference[n]) for n in names])
    paired = [n for n in reference_aos if n in aos and np.isfinite(aos[n]) and np.isfinite(reference_aos[n])]
    diff, low, high = V.ao_interval(np.array([aos[n] - reference_aos[n] for n in paired]))
    passed, reason = V.judge(fidelity_low, low)
    return {"fidelity": fidelity, "fidelity_low": fidelity_low, "dAO": diff, "dAO_low": low, "dAO_high": high,
            "passed": passed, "reason": reason, "frames": int(sum(len(reference[n]) for n in names)),
            "fidelity_sequences": len(names), "ao_sequences": len(paired)}


def _cell(value: float | None, fmt: str) -> str:
    return "-" if value is None or np.isnan(value) else format(value, fmt)


def table(rows: list[dict]) -> str:
    """The markdown table of `rows`."""
    lines = ["| backend | precision | AO (mean of sequences) | AO - fp32 [95% interval] "
             "| one-step IoU with fp32 [95% lower bound] | run IoU with fp32 | median ms / frame | verdict |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        if "skipped" in r:
            lines.append(f"| {r['backend']} | {r['precision']} | - | - | - | - | - | not run here: {r['skipped']} |")
            continue
        interval = "" if np.isnan(r.get("dAO_low", np.nan)) else f" [{r['dAO_low']:+.4f}, {r['dAO_high']:+.4f}]"
        bound = "" if np.isnan(r.get("fidelity_low", np.nan)) else f" [>= {r['fidelity_low']:.4f}]"
        lines.append(f"| {r['backend']} | {r['precision']} | {r['AO']:.4f} | {_cell(r['dAO'], '+.4f')}{interval} | "
                     f"{_cell(r['fidelity'], '.4f')}{bound} | {_cell(r['iou_fp32'], '.4f')} | {r['ms']:.1f} | "
                     f"{r['check']} |")
    return "\n".join(lines)


def run_tracking(cmd: list[str]) -> int:
    """Run one tracking/test.py command (its own process: its threads and memory end with it)."""
    return subprocess.call(cmd, cwd=ROOT)


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
    p.add_argument("--overwrite", action="store_true", help="redo the tracking runs even where results exist")
    p.add_argument("--out", required=True, help="folder for backends.md and backends.json")
    args = p.parse_args(argv)

    import torch

    from lib.test.evaluation import get_dataset
    from lib.test.parameter.sutrack_dinov3 import parameters
    from lib.test.results import TrackerSpec
    from lib.test.tracker.backends import not_for_this_cpu
    from lib.test.tracker.backends import verdicts as V
    from lib.test.tracker.backends.base import cpu_summary
    from lib.utils.io import atomic_write_bytes
    from lib.utils.settings import env_settings

    names = [n.strip() for n in args.backends.split(",") if n.strip()]
    if names[0] != "pytorch":
        names = ["pytorch", *[n for n in names if n != "pytorch"]]
    rows, specs = [], {}
    for i, name in enumerate(names):
        precision = "fp32" if name in FP32_BACKENDS else ("bf16" if "bf16" in name else "int8")
        why = not_for_this_cpu(name) or unavailable(name, args.config, args.checkpoint)
        if why is not None:
            print(f"backend {name}: not run here ({why})", flush=True)
            rows.append({"backend": name, "precision": precision, "skipped": why})
            continue
        runid = args.runid + (BACKENDS.index(name) if name in BACKENDS else len(BACKENDS) + i)  # fixed per name
        cmd = [sys.executable, "tracking/test.py", SCRIPT, args.config, "--dataset_name", args.dataset_name,
               "--checkpoint", args.checkpoint, "--backend", name, "--runid", str(runid), "--threads",
               str(args.threads), "--torch_threads", str(args.torch_threads)] + (["--overwrite"] * args.overwrite)
        print(f"\n--- backend {name}\n$ {' '.join(cmd)}", flush=True)
        if run_tracking(cmd) != 0:
            rows.append({"backend": name, "precision": precision, "skipped": "tracking/test.py failed (see above)"})
            continue
        specs[name] = TrackerSpec(SCRIPT, args.config, runid, display_name=name)
        rows.append({"backend": name, "precision": precision})
    results_path = env_settings().results_path
    sequences = get_dataset(args.dataset_name)
    aos = {name: sequence_aos(spec.dataset_dir(results_path, args.dataset_name), sequences, args.dataset_name)
           for name, spec in specs.items()}
    if args.torch_threads > 0:
        torch.set_num_threads(args.torch_threads)
    has_reference = "pytorch" in specs
    reference = one_step_boxes("pytorch", args.config, args.checkpoint, sequences) if has_reference else None
    params = parameters(args.config, checkpoint=args.checkpoint)
    seq_names = [seq.name for seq in sequences]
    for row in rows:
        if "skipped" in row:
            continue
        name = row["backend"]
        row["AO"] = float(np.mean(list(aos[name].values())))
        row["ms"] = median_ms(specs[name].results_dir(results_path) / args.dataset_name)
        if not has_reference:
            row.update(dAO=float("nan"), fidelity=float("nan"), iou_fp32=float("nan"),
                       check="unchecked (no eager fp32 reference: the 'pytorch' run failed or was not asked for)")
            continue
        row["iou_fp32"] = iou_with_reference(specs[name].dataset_dir(results_path, args.dataset_name),
                                             specs["pytorch"].dataset_dir(results_path, args.dataset_name),
                                             seq_names)
        if name == "pytorch":  # eager's own boxes are the reference: tracked once, not again for its row
            row.update(dAO=0.0, fidelity=1.0, check="reference")
            continue
        boxes = one_step_boxes(name, args.config, args.checkpoint, sequences)
        row.update(assess(boxes, reference, aos[name], aos["pytorch"]))
        row["check"] = f"{'PASS' if row['passed'] else 'FAIL'}: {row['reason']}"
        if name not in FP32_BACKENDS:  # fp32 runtimes are checked by 'auto' itself (boxes within 1e-3)
            evidence = {k: row[k] for k in ("fidelity", "fidelity_low", "dAO", "dAO_low", "dAO_high", "frames")}
            path = V.write_verdict(params, name, row["passed"], row["reason"],
                                   {"dataset": args.dataset_name, "sequences": row["ao_sequences"], **evidence})
            row["verdict_file"] = str(path)
    text = (f"Backends on {args.dataset_name} ({len(seq_names)} sequences), {args.config} at {args.checkpoint}. "
            f"PASS: fidelity (one-step IoU with fp32, mean over all frames) with a 95% lower bound >= "
            f"{V.FIDELITY_LIMIT}, and the 95% interval of the mean per-sequence AO diff above -{V.AO_LIMIT} "
            f"(bootstrap over sequences, {V.BOOTSTRAP_DRAWS} draws, seed {V.SEED})\n\n" + table(rows))
    text += f"\n\nCPU flags: {cpu_summary()}\n"
    print("\n" + text)
    out = Path(args.out)
    atomic_write_bytes(out / "backends.md", text.encode())
    record = {"rows": rows, "sequences": seq_names, "cpu_flags": cpu_summary(),
              "model": {"config": args.config, "checkpoint": args.checkpoint}, "dataset": args.dataset_name}
    atomic_write_bytes(out / "backends.json", json.dumps(record, indent=1).encode())
    for row in rows:
        if "verdict_file" in row:
            print(f"verdict of {row['backend']} cached in {row['verdict_file']}")
    print(f"saved {out / 'backends.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
