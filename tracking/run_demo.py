"""The main job on embedded data: build demo data, train, track, score, plot and render a video.

    python tracking/run_demo.py                      # the whole job (`make demo`), ~15 min on 2 CPU cores
    python tracking/run_demo.py --no-ablation        # skip the template-blind twin
    python tracking/run_demo.py --seed 1 --workspace demo_seed1   # another draw of data and training

Every stage is an ordinary project command (make_demo_data.py, train.py, test.py, analysis_results.py)
run with this workspace's settings, so the output doubles as a worked example; the video is drawn from
the scored results (lib/test/analysis/video.py: saved boxes, ground truth and each frame's IoU), not
from a second tracking run. Stages whose outputs exist are skipped: rerunning after an interruption
resumes.

It trains the tiny config twice with the same budget and seed: as is, and as its template-blind
ablation (`tiny_template_blind.yaml`, no template tokens and no similarity map), then scores both and
a tracker that stays at the first box on the demo val split (GOT-10k AO, SR, AUC, FPS), then tracks
the split again with every backend this machine can use (backends/backends.md: fidelity and paired AO
change against eager fp32 with their intervals, ms per frame, PASS / FAIL for bf16 and int8; the verdicts
are cached, so the default backend 'auto' may then pick a validated faster one for the demo's model). The two
trainings run side by side, each on half the cores (`--no-parallel`: one after the other on all):
a model this small keeps one core busy far better than two, so together they finish ~1.4x sooner.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from lib.test.evaluation.data import Sequence
from lib.test.results import ResultFiles, SequenceOutput, TrackerSpec, checkpoint_path, load_result_boxes, save_results

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = "sutrack_dinov3"
DATASET = "got10k_val"


def check_workspace(workspace: Path, settings: dict) -> None:
    """Record the job's data and training settings; refuse a workspace made with others (stale stages)."""
    from lib.utils.io import atomic_write_bytes

    record = workspace / "demo_settings.json"
    if record.is_file():
        old = json.loads(record.read_text())
        changed = [f"{k} {old.get(k)!r} -> {v!r}" for k, v in settings.items() if old.get(k) != v]
        if changed:
            sys.exit(f"{workspace} holds a demo run made with other settings ({', '.join(changed)}); its finished "
                     f"stages would be reused. Pass --workspace NEW_DIR, or remove it (make clean-demo).")
        return
    if any((workspace / d).exists() for d in ("data", "checkpoints")):
        sys.exit(f"{workspace} holds a demo run without a settings record ({record.name}), so its stages may "
                 "not match these settings. Pass --workspace NEW_DIR, or remove it (make clean-demo).")
    atomic_write_bytes(record, (json.dumps(settings, indent=1) + "\n").encode())


def run_stage(title: str, cmd: list[str], env: dict[str, str]) -> None:
    """Run one project command, streaming its output; stop the job with its exit code if it fails."""
    print(f"\n=== {title}\n$ {' '.join(cmd)}", flush=True)
    start = time.perf_counter()
    code = subprocess.call(cmd, cwd=ROOT, env=env)
    if code != 0:
        sys.exit(f"stage '{title}' failed with exit code {code}")
    print(f"=== {title}: done in {time.perf_counter() - start:.0f} s", flush=True)


def train_command(py: str, config: str, workspace: Path, args: argparse.Namespace) -> list[str]:
    """The ordinary tracking/train.py command for one demo model (same budget and seed for every config)."""
    return [py, "tracking/train.py", "--config", config, "--save_dir", str(workspace), "--seed", str(args.seed),
            "--epochs", str(args.epochs), "--samples_per_epoch", str(args.samples_per_epoch),
            "--opts", "TRAIN.BATCH_SIZE", str(args.batch_size), "TRAIN.LR", str(args.lr),
            "TRAIN.PRINT_INTERVAL", "100000", "TRAIN.SCHEDULER.TYPE", "cosine",
            "TRAIN.SCHEDULER.WARMUP_EPOCHS", "1.0", "DATA.TRAIN.DATASETS_NAME", "['GOT10K_train_full']"]


def train_in_parallel(cmds: dict[str, list[str]], workspace: Path, env: dict[str, str]) -> None:
    """Train several configs at once, each on its share of the cores: the first streams to the terminal, the
    others to logs/train_<config>.out. Small models use cores poorly, so side by side beats one after another.
    """
    env = dict(env, OMP_NUM_THREADS=str(max(1, (os.cpu_count() or 2) // len(cmds))))
    first, *others = cmds
    procs = {}
    (workspace / "logs").mkdir(parents=True, exist_ok=True)
    for i, config in enumerate(others):
        log = workspace / "logs" / f"train_{config}.out"
        print(f"\n=== 2.{i + 2} train {config} alongside (progress: {log})\n$ {' '.join(cmds[config])}", flush=True)
        with open(log, "w") as fh:
            procs[config] = subprocess.Popen(cmds[config], cwd=ROOT, env=env, stdout=fh, stderr=subprocess.STDOUT)
    try:
        run_stage(f"2.1 train {first}", cmds[first], env)
        for config, proc in procs.items():
            start = time.perf_counter()
            print(f"=== waiting for {config} ...", flush=True)
            if proc.wait() != 0:
                sys.exit(f"stage 'train {config}' failed with exit code {proc.returncode}; see "
                         f"{workspace / 'logs' / f'train_{config}.out'}")
            print(f"=== train {config}: done ({time.perf_counter() - start:.0f} s after {first})", flush=True)
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.terminate()


def median_sequence(results_dir: Path) -> tuple[Sequence, float]:
    """The val sequence with the median AO in `results_dir`: a typical one for the video, not the best."""
    from lib.test.analysis.metrics import got10k_ious
    from lib.test.analysis.results import got10k_meta
    from lib.test.evaluation import get_dataset

    scored = []
    for seq in get_dataset(DATASET):
        resolution, cover = got10k_meta(seq)
        pred = load_result_boxes(ResultFiles.of(results_dir, seq.name).boxes, len(seq.frames))
        scored.append((float(got10k_ious(pred, seq.ground_truth_rect, resolution, cover).mean()), seq.name, seq))
    scored.sort(key=lambda item: item[:2])
    ao, _, seq = scored[(len(scored) - 1) // 2]
    return seq, ao


def write_first_box_baseline(results_path: Path) -> str:
    """Results of a tracker that never moves from the initial box (the floor any tracker must clear)."""
    from lib.test.evaluation import get_dataset

    out_dir = TrackerSpec("first_box", "baseline").dataset_dir(results_path, DATASET)
    for seq in get_dataset(DATASET):
        n = len(seq.frames)
        box = [float(v) for v in seq.ground_truth_rect[0]]
        files = ResultFiles.of(out_dir, seq.name)
        start = time.perf_counter()
        boxes = [box for _ in range(n)]
        per_frame = max((time.perf_counter() - start) / n, 1e-6)
        save_results(files, SequenceOutput(boxes=boxes, times=[per_frame] * n, scores=[1.0] * n))
    return "first_box:baseline::stay-at-first-box"


def verdicts_missing(out: Path) -> bool:
    """True when a verdict validate_backends.py wrote into the cache for 'auto' is gone or stale (other library
    versions, CPU flags or int8 recipe): the backends stage then runs again and writes it."""
    from lib.test.parameter.sutrack_dinov3 import parameters
    from lib.test.tracker.backends.verdicts import read_verdict

    try:
        record = json.loads((out / "backends.json").read_text())
    except (OSError, json.JSONDecodeError):
        return True
    model = record.get("model")
    rows = [r for r in record.get("rows", []) if "verdict_file" in r]
    if not model or not rows:
        return not model
    params = parameters(model["config"], checkpoint=model["checkpoint"])
    return any(read_verdict(params, r["backend"]) is None for r in rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workspace", default=str(ROOT / "demo_workspace"), help="all outputs go here")
    parser.add_argument("--config", default="tiny", help="config trained and evaluated")
    parser.add_argument("--blind_config", default="tiny_template_blind", help="its template-blind ablation")
    parser.add_argument("--ablation", action=argparse.BooleanOptionalAction, default=True,
                        help="also train and score the template-blind twin (default on)")
    parser.add_argument("--train", type=int, default=200, help="demo train sequences")
    parser.add_argument("--val", type=int, default=20, help="demo val sequences")
    parser.add_argument("--frames", type=int, default=80, help="frames per sequence")
    parser.add_argument("--epochs", type=int, default=14)
    parser.add_argument("--samples_per_epoch", type=int, default=2000)
    parser.add_argument("--batch_size", type=int, default=8)
    parser.add_argument("--lr", type=float, default=2e-3, help="peak LR (1 epoch warm-up, cosine decay)")
    parser.add_argument("--parallel", action=argparse.BooleanOptionalAction, default=True,
                        help="train the two models side by side, each on half the cores (default on)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the data and of training")
    parser.add_argument("--threads", type=int, default=0, help="tracking/test.py worker processes")
    args = parser.parse_args(argv)

    workspace = Path(args.workspace).resolve()
    data_dir = workspace / "data"
    results_path = workspace / "test" / "tracking_results"
    env = dict(os.environ, SUTRACK_LOCAL=str(workspace / "local.yaml"), SUTRACK_SAVE_DIR=str(workspace),
               SUTRACK_GOT10K_DIR=str(data_dir / "got10k"), SUTRACK_RESULTS_PATH=str(results_path),
               PYTHONUNBUFFERED="1")
    os.environ.update({k: env[k] for k in ("SUTRACK_LOCAL", "SUTRACK_SAVE_DIR", "SUTRACK_GOT10K_DIR",
                                           "SUTRACK_RESULTS_PATH")})
    check_workspace(workspace, {k: getattr(args, k) for k in (
        "train", "val", "frames", "seed", "epochs", "samples_per_epoch", "batch_size", "lr")})
    py = sys.executable
    job_start = time.perf_counter()

    if not (data_dir / "got10k" / "val" / "list.txt").is_file():
        run_stage("1. demo data (GOT-10k layout)",
                  [py, "tracking/make_demo_data.py", "--out", str(data_dir), "--train", str(args.train),
                   "--val", str(args.val), "--frames", str(args.frames), "--seed", str(args.seed)], env)

    configs = [args.config] + ([args.blind_config] if args.ablation else [])
    todo = [c for c in configs if not checkpoint_path(workspace, c, args.epochs).is_file()]
    cmds = {c: train_command(py, c, workspace, args) for c in todo}
    if args.parallel and len(todo) > 1:
        train_in_parallel(cmds, workspace, env)
    else:
        for i, (config, cmd) in enumerate(cmds.items()):
            run_stage(f"2.{i + 1} train {config}", cmd, env)

    trackers = []
    for i, config in enumerate(configs):
        ckpt = checkpoint_path(workspace, config, args.epochs)
        run_stage(f"3.{i + 1} track {config} on the demo val split",
                  [py, "tracking/test.py", SCRIPT, config, "--dataset_name", DATASET, "--checkpoint", str(ckpt),
                   "--threads", str(args.threads)], env)
        trackers.append(f"{SCRIPT}:{config}")

    trackers.append(write_first_box_baseline(results_path))
    run_stage("4. score", [py, "tracking/analysis_results.py", "--dataset", DATASET, "--plot_dir",
                           str(workspace / "plots"), "--trackers", *trackers], env)

    # every backend on the trained model against eager fp32 (tracking/validate_backends.py): fidelity, paired AO
    # change, ms per frame, and a verdict per reduced-precision backend, cached for 'auto' (rerun when missing)
    if not (workspace / "backends" / "backends.md").is_file() or verdicts_missing(workspace / "backends"):
        run_stage(f"4b. backends: {args.config} on the demo val split with every backend available here",
                  [py, "tracking/validate_backends.py", "--config", args.config, "--checkpoint",
                   str(checkpoint_path(workspace, args.config, args.epochs)), "--dataset_name", DATASET,
                   "--threads", str(args.threads), "--out", str(workspace / "backends")], env)

    from lib.test.analysis.video import render_results_video

    scored_dir = TrackerSpec(SCRIPT, args.config).dataset_dir(results_path, DATASET)
    seq, ao = median_sequence(scored_dir)
    print(f"\n=== 5. annotated video of {seq.name} (its AO {ao:.2f}: the median sequence of {args.config}), "
          f"drawn from the scored results in {scored_dir}", flush=True)
    video, ious = render_results_video(seq, scored_dir, workspace / "video" / f"{seq.name}.mp4")
    print(f"=== 5. video: {video} (green: {args.config}'s saved box, red: ground truth; mean IoU over the frames "
          f"with ground truth {float(np.nanmean(ious)):.2f})", flush=True)

    print(f"\nmain job finished in {(time.perf_counter() - job_start) / 60:.1f} min; outputs in {workspace}:")
    print(f"  plots: {workspace / 'plots'}   video: {workspace / 'video'}   logs: {workspace / 'logs'}   "
          f"backends: {workspace / 'backends' / 'backends.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
