"""The main job on embedded data: world families, leave one out, train, track, score, plot and render videos.

    python tracking/run_demo.py                      # the whole job (`make demo`), ~20 min on 2 CPU cores
    python tracking/run_demo.py --heldout_world blobs            # hold out another family
    python tracking/run_demo.py --no-ablation        # skip the template-blind twin
    python tracking/run_demo.py --seed 1 --workspace demo_seed1   # another draw of data and training

The data are sequences of several synthetic world families (lib/data/synthetic/worlds: how objects,
backgrounds, camera, motion, distractors and image quality are drawn). All families but one are trained on;
the held-out one is only tracked, to show what the model does on a world it never saw.

Every stage is an ordinary project command (make_demo_data.py, train.py, test.py, analysis_results.py)
run with this workspace's settings, so the output doubles as a worked example; the videos are drawn from
the scored results (lib/test/analysis/video.py: saved boxes, ground truth and each frame's IoU), not
from a second tracking run. Stages whose outputs exist are skipped: rerunning after an interruption
resumes.

It trains the tiny config twice with the same budget and seed: as is, and as its template-blind
ablation (`tiny_template_blind.yaml`, no template tokens and no similarity map), then scores both and
a tracker that stays at the first box on (a) val sequences of the training families and (b) sequences of
the held-out family (GOT-10k AO, SR, AUC, FPS), with the per-sequence paired difference tiny minus blind and
its 95% bootstrap interval (worlds.md), then tracks the in-world split again with every backend this machine
can use (backends/backends.md: fidelity and paired AO change against eager fp32 with their intervals, ms per
frame, PASS / FAIL for bf16 and int8; the verdicts are cached, so the default backend 'auto' may then pick a
validated faster one for the demo's model). The two trainings run side by side, each on half the cores
(`--no-parallel`: one after the other on all): a model this small keeps one core busy far better than
two, so together they finish ~1.4x sooner.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lib.data.synthetic.demo import DEFAULT_HELDOUT
from lib.data.synthetic.worlds import FAMILIES
from lib.test.evaluation.data import Sequence
from lib.test.results import ResultFiles, SequenceOutput, TrackerSpec, checkpoint_path, save_results

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


@dataclass(frozen=True)
class WorldSet:
    """One set of sequences the demo scores: its GOT-10k root and its own results path."""

    key: str            # "in-world" | "held-out"
    title: str
    got10k_dir: Path
    results_path: Path

    def env(self, env: dict[str, str]) -> dict[str, str]:
        return dict(env, SUTRACK_GOT10K_DIR=str(self.got10k_dir), SUTRACK_RESULTS_PATH=str(self.results_path))

    def sequences(self):
        from lib.test.evaluation import get_dataset
        from lib.utils.settings import env_settings

        settings = env_settings()
        settings.got10k_dir = str(self.got10k_dir)
        return get_dataset(DATASET, settings=settings)


def median_sequence(results_dir: Path, sequences) -> tuple[Sequence, float]:
    """The sequence with the median AO in `results_dir`: a typical one for the video, not the best."""
    from lib.test.analysis.results import sequence_aos

    aos = sequence_aos(results_dir, sequences)
    scored = sorted((ao, seq.name, seq) for seq, ao in zip(sequences, aos.values()))
    ao, _, seq = scored[(len(scored) - 1) // 2]
    return seq, ao


def write_first_box_baseline(results_path: Path, sequences) -> str:
    """Results of a tracker that never moves from the initial box (the floor any tracker must clear)."""
    out_dir = TrackerSpec("first_box", "baseline").dataset_dir(results_path, DATASET)
    for seq in sequences:
        n = len(seq.frames)
        box = [float(v) for v in seq.ground_truth_rect[0]]
        files = ResultFiles.of(out_dir, seq.name)
        start = time.perf_counter()
        boxes = [box for _ in range(n)]
        per_frame = max((time.perf_counter() - start) / n, 1e-6)
        save_results(files, SequenceOutput(boxes=boxes, times=[per_frame] * n, scores=[1.0] * n))
    return "first_box:baseline::stay-at-first-box"


def worlds_table(sets: list[WorldSet], configs: list[str]) -> str:
    """AO of each tracker on each world set (and each training family of the in-world set), and the first config
    minus the second per sequence with its 95% bootstrap interval over sequences."""
    from lib.test.analysis import metrics as M
    from lib.test.analysis.results import sequence_ious
    from lib.test.analysis.stats import paired_difference

    specs = [TrackerSpec(SCRIPT, c) for c in configs] + [TrackerSpec("first_box", "baseline")]
    labels = configs + ["stay-at-first-box"]
    head = ["world set", "sequences"] + [f"{label} AO" for label in labels]
    if len(configs) > 1:
        head.append(f"{configs[0]} - {configs[1]} per sequence [95% CI]")
    rows = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]

    def row(title: str, ious: list[list[np.ndarray]]) -> str:
        cells = [title, str(len(ious[0]))] + [f"{M.got10k_summary(i)[0]['AO'] / 100.0:.3f}" for i in ious]
        if len(configs) > 1:
            per_seq = [[float(x.mean()) if x.size else 0.0 for x in i] for i in ious[:2]]
            cells.append(str(paired_difference(per_seq[0], per_seq[1])))
        return "| " + " | ".join(cells) + " |"

    for ws in sets:
        seqs = list(ws.sequences())
        ious = [sequence_ious(spec.dataset_dir(ws.results_path, DATASET), seqs) for spec in specs]  # tracker, seq
        rows.append(row(ws.title, ious))
        families = [(getattr(seq, "meta", None) or {}).get("major_class") for seq in seqs]
        if ws.key == "in-world" and len(set(families)) > 1:
            for family in dict.fromkeys(families):
                keep = [i for i, f in enumerate(families) if f == family]
                rows.append(row(f"  of which {family}", [[i[k] for k in keep] for i in ious]))
    return "\n".join(rows) + "\n"


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
    parser.add_argument("--train", type=int, default=800, help="demo train sequences")
    parser.add_argument("--train_frames", type=int, default=40,
                        help="frames per train sequence (many short sequences: more distinct targets)")
    parser.add_argument("--val", type=int, default=20, help="demo val sequences")
    parser.add_argument("--frames", type=int, default=80, help="frames per val sequence")
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--samples_per_epoch", type=int, default=2000)
    parser.add_argument("--batch_size", type=int, default=8)
    parser.add_argument("--lr", type=float, default=2e-3, help="peak LR (1 epoch warm-up, cosine decay)")
    parser.add_argument("--parallel", action=argparse.BooleanOptionalAction, default=True,
                        help="train the two models side by side, each on half the cores (default on)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the data and of training")
    parser.add_argument("--threads", type=int, default=0, help="tracking/test.py worker processes")
    parser.add_argument("--backends", action=argparse.BooleanOptionalAction, default=True,
                        help="track the in-world val again with every backend available here (default on)")
    parser.add_argument("--heldout_world", default=DEFAULT_HELDOUT, choices=list(FAMILIES),
                        help=f"world family left out of training and scored apart (default {DEFAULT_HELDOUT})")
    parser.add_argument("--worlds", default=",".join(FAMILIES), help="comma-separated families (default: all)")
    args = parser.parse_args(argv)

    workspace = Path(args.workspace).resolve()
    data_dir = workspace / "data"
    trained = ", ".join(w for w in args.worlds.split(",") if w != args.heldout_world)
    sets = [WorldSet("in-world", f"in-world val ({trained})", data_dir / "got10k",
                     workspace / "test" / "tracking_results"),
            WorldSet("held-out", f"held-out world: {args.heldout_world}", data_dir / "heldout" / "got10k",
                     workspace / "test" / "heldout_results")]
    env = dict(os.environ, SUTRACK_LOCAL="", SUTRACK_SAVE_DIR=str(workspace),
               PYTHONUNBUFFERED="1")
    env = sets[0].env(env)
    os.environ.update({k: env[k] for k in ("SUTRACK_LOCAL", "SUTRACK_SAVE_DIR", "SUTRACK_GOT10K_DIR",
                                           "SUTRACK_RESULTS_PATH")})
    check_workspace(workspace, {k: getattr(args, k) for k in (
        "train", "train_frames", "val", "frames", "seed", "epochs", "samples_per_epoch", "batch_size", "lr",
        "heldout_world", "worlds")})
    py = sys.executable
    job_start = time.perf_counter()

    if not (data_dir / "heldout" / "got10k" / "val" / "list.txt").is_file():
        run_stage(f"1. demo data: world families {args.worlds}, {args.heldout_world} held out (GOT-10k layout)",
                  [py, "tracking/make_demo_data.py", "--out", str(data_dir), "--train", str(args.train),
                   "--val", str(args.val), "--frames", str(args.frames), "--train_frames", str(args.train_frames),
                   "--seed", str(args.seed),
                   "--worlds", args.worlds, "--heldout_world", args.heldout_world], env)

    configs = [args.config] + ([args.blind_config] if args.ablation else [])
    todo = [c for c in configs if not checkpoint_path(workspace, c, args.epochs).is_file()]
    cmds = {c: train_command(py, c, workspace, args) for c in todo}
    if args.parallel and len(todo) > 1:
        train_in_parallel(cmds, workspace, env)
    else:
        for i, (config, cmd) in enumerate(cmds.items()):
            run_stage(f"2.{i + 1} train {config}", cmd, env)

    for k, ws in enumerate(sets):
        trackers = []
        for i, config in enumerate(configs):
            ckpt = checkpoint_path(workspace, config, args.epochs)
            # fp32 only: once stage 4b has validated a reduced precision, plain 'auto' may pick it, and a rerun
            # would then meet results of another run (reduced precision is stage 4b's business)
            run_stage(f"3.{k + 1}.{i + 1} track {config} on the {ws.title}",
                      [py, "tracking/test.py", SCRIPT, config, "--dataset_name", DATASET, "--checkpoint", str(ckpt),
                       "--threads", str(args.threads), "--backend", "auto_fp32"], ws.env(env))
            trackers.append(f"{SCRIPT}:{config}")
        trackers.append(write_first_box_baseline(ws.results_path, ws.sequences()))
        run_stage(f"4.{k + 1} score on the {ws.title}",
                  [py, "tracking/analysis_results.py", "--dataset", DATASET, "--plot_dir",
                   str(workspace / "plots" / ws.key), "--trackers", *trackers], ws.env(env))

    from lib.utils.io import atomic_write_bytes

    table = worlds_table(sets, configs)
    atomic_write_bytes(workspace / "worlds.md", table.encode())
    print(f"\n=== 4.3 in-world and held-out AO (GOT-10k AO as a fraction; the last column is the mean over "
          f"sequences of each sequence's AO difference, with its 95% bootstrap interval over sequences; "
          f"{workspace / 'worlds.md'})\n{table}", flush=True)

    # every backend on the trained model against eager fp32 (tracking/validate_backends.py): fidelity, paired AO
    # change, ms per frame, and a verdict per reduced-precision backend, cached for 'auto' (rerun when missing)
    backends_done = (workspace / "backends" / "backends.md").is_file() and not verdicts_missing(workspace / "backends")
    if args.backends and not backends_done:
        run_stage(f"4b. backends: {args.config} on the {sets[0].title} with every backend available here",
                  [py, "tracking/validate_backends.py", "--config", args.config, "--checkpoint",
                   str(checkpoint_path(workspace, args.config, args.epochs)), "--dataset_name", DATASET,
                   "--threads", str(args.threads), "--out", str(workspace / "backends")], env)

    from lib.test.analysis.video import render_results_video

    for k, ws in enumerate(sets):
        scored_dir = TrackerSpec(SCRIPT, args.config).dataset_dir(ws.results_path, DATASET)
        seq, ao = median_sequence(scored_dir, list(ws.sequences()))
        print(f"\n=== 5.{k + 1} annotated video of {seq.name} (its AO {ao:.2f}: the median sequence of {args.config} "
              f"on the {ws.title}), drawn from the scored results in {scored_dir}", flush=True)
        video, ious = render_results_video(seq, scored_dir, workspace / "video" / ws.key / f"{seq.name}.mp4")
        print(f"=== 5.{k + 1} video: {video} (green: {args.config}'s saved box, red: ground truth; mean IoU over the "
              f"frames with ground truth {float(np.nanmean(ious)):.2f})", flush=True)

    print(f"\nmain job finished in {(time.perf_counter() - job_start) / 60:.1f} min; outputs in {workspace}:")
    print(f"  worlds: {workspace / 'worlds.md'}   plots: {workspace / 'plots'}   video: {workspace / 'video'}   "
          f"logs: {workspace / 'logs'}   backends: {workspace / 'backends' / 'backends.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
