"""Training throughput: samples/s of the data loader alone and of full training steps, as a table.

  python tracking/profile_train.py --config tiny --iters 20
  python tracking/profile_train.py --config sutrack_dinov3 --iters 5 --opts TRAIN.BATCH_SIZE 4 \\
      MODEL.ENCODER.PRETRAINED False

By default it trains on a temporary GOT-10k-layout set of --frame_size frames (smooth random content
and a textured target, JPEG), so no dataset is needed; --real uses the config's datasets instead.
Rows: the loader alone (sampling, JPEG decode, crops, augmentation, collation), one training step on
a batch already in memory (forward + backward + optimizer step), and the end-to-end step (loader and
step together, what an epoch costs). Not a test: numbers depend on the machine and its load.
"""
from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch


def write_profile_data(root: Path, n_seq: int, n_frames: int, size: tuple[int, int], seed: int = 0) -> None:
    """GOT-10k train split of `n_seq` sequences: smooth random backgrounds, a moving textured box."""
    import cv2

    from lib.data.synthetic.got10k_format import write_got10k_list, write_got10k_sequence

    rng = np.random.default_rng(seed)
    w, h = size
    names = []
    for k in range(n_seq):
        bg = cv2.resize(rng.integers(0, 256, (h // 16 + 1, w // 16 + 1, 3), dtype=np.uint8), (w, h),
                        interpolation=cv2.INTER_CUBIC)
        bw, bh = int(w * rng.uniform(0.08, 0.2)), int(h * rng.uniform(0.08, 0.2))
        tex = cv2.resize(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8), (bw, bh), interpolation=cv2.INTER_NEAREST)
        pos = np.array([rng.uniform(0, w - bw), rng.uniform(0, h - bh)])
        vel = rng.uniform(-6, 6, 2)
        frames, boxes = [], []
        for _ in range(n_frames):
            pos = np.clip(pos + vel, 0, [w - bw, h - bh])
            x, y = int(pos[0]), int(pos[1])
            frame = bg.copy()
            frame[y:y + bh, x:x + bw] = tex
            frames.append(frame)
            boxes.append([x, y, bw, bh])
        name = f"GOT-10k_Train_{k + 1:06d}"
        write_got10k_sequence(root / "train", name, frames, np.array(boxes, float))
        names.append(name)
    write_got10k_list(root / "train", names)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def main(argv: list[str] | None = None) -> int:
    from lib.train.actors import SUTrackActor, SUTrackTrainNet
    from lib.train.data.loader import build_train_loader
    from lib.train.optim import amp_settings, build_optimizer, configure_trainable, optimizer_step
    from lib.train.run_training import build_config, build_sampler

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--script", default="sutrack_dinov3")
    p.add_argument("--config", required=True, help="experiments/<script>/<config>.yaml or a YAML path")
    p.add_argument("--iters", type=int, default=10, help="timed iterations per row (after 2 warm-up ones)")
    p.add_argument("--device", default=None, help="cuda or cpu (default: cuda when available)")
    p.add_argument("--real", action="store_true", help="use the config's datasets instead of synthetic frames")
    p.add_argument("--frame_size", type=int, nargs=2, default=(640, 360), metavar=("W", "H"))
    p.add_argument("--opts", nargs=argparse.REMAINDER, default=[], help="config overrides KEY VALUE ...")
    args = p.parse_args(argv)
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))

    run_args = argparse.Namespace(script=args.script, config=args.config, opts=list(args.opts), epochs=None,
                                  samples_per_epoch=None, seed=None)
    warm = 2
    with tempfile.TemporaryDirectory() as tmp:
        import os

        if not args.real:
            write_profile_data(Path(tmp) / "got10k", n_seq=8, n_frames=30, size=tuple(args.frame_size))
            os.environ["SUTRACK_GOT10K_DIR"] = str(Path(tmp) / "got10k")
            os.environ.setdefault("SUTRACK_CACHE_DIR", str(Path(tmp) / "cache"))
            run_args.opts += ["DATA.TRAIN.DATASETS_NAME", "['GOT10K_train_full']", "DATA.TRAIN.DATASETS_RATIO", "[1]"]
        try:
            cfg, name = build_config(run_args)
            sampler = build_sampler(cfg)
        except (FileNotFoundError, ValueError, KeyError) as exc:  # bad config, settings file or data: one line
            print(f"error: {exc}", file=sys.stderr)
            return 2
        batch = int(cfg.TRAIN.BATCH_SIZE)
        workers = int(cfg.TRAIN.NUM_WORKER)
        sampler.samples = batch * (3 * (args.iters + warm) + 2)
        loader = build_train_loader(sampler, batch, workers, seed=0, pin_memory=device.type == "cuda")

        from lib.models.sutrack_dinov3 import build_sutrack_dinov3

        model = build_sutrack_dinov3(cfg)
        configure_trainable(model, cfg)
        model.to(device).train()
        net = SUTrackTrainNet(model, bool(cfg.DATA.MULTI_MODAL_LANGUAGE))
        actor = SUTrackActor(net, cfg, device)
        optimizer = build_optimizer(model, cfg)
        amp, dtype, scaler = amp_settings(cfg, device)
        params = [q for q in model.parameters() if q.requires_grad]

        def train_step(data: dict) -> None:
            with torch.autocast(device.type, dtype=dtype, enabled=amp):
                loss, _ = actor(data)
            scaler.scale(loss).backward()
            optimizer_step(optimizer, scaler, params, cfg.TRAIN.GRAD_CLIP_NORM)

        it = iter(loader)
        rows = []
        times = []
        for i in range(args.iters + warm):  # loader alone
            t0 = time.perf_counter()
            data = next(it)
            if i >= warm:
                times.append(time.perf_counter() - t0)
        rows.append(("loader only (sample, decode, crop, augment, collate)", times))
        times = []
        for i in range(args.iters + warm):  # step on an in-memory batch
            sync(device)
            t0 = time.perf_counter()
            train_step(data)
            sync(device)
            if i >= warm:
                times.append(time.perf_counter() - t0)
        rows.append(("train step, batch in memory (fwd + bwd + AdamW step)", times))
        times = []
        for i in range(args.iters + warm):  # end to end
            sync(device)
            t0 = time.perf_counter()
            train_step(next(it))
            sync(device)
            if i >= warm:
                times.append(time.perf_counter() - t0)
        rows.append(("train step with loader (end to end)", times))

    params_m = sum(q.numel() for q in model.parameters()) / 1e6
    source = "real datasets" if args.real else "synthetic {}x{} JPEG frames".format(*args.frame_size)
    print(f"\nconfig {name}: device {device}, torch threads {torch.get_num_threads()}, batch {batch}, "
          f"workers {workers}, AMP {amp}, search {cfg.DATA.SEARCH.SIZE} / template {cfg.DATA.TEMPLATE.SIZE}, "
          f"{params_m:.2f} M params, {args.iters} timed iterations, "
          f"{source}")
    print("| what | median s/iter | samples/s |")
    print("| --- | --- | --- |")
    for label, values in rows:
        med = float(np.median(values))
        print(f"| {label} | {med:.3f} | {batch / med if med > 0 else math.inf:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
