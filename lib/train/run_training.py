"""One training process: single-process training, or one rank under torchrun (tracking/train.py launches it).

`python lib/train/run_training.py --script sutrack_dinov3 --config tiny --save_dir .` works alone too;
under torchrun RANK / WORLD_SIZE / LOCAL_RANK come from the environment (never a --local_rank flag).
"""
from __future__ import annotations

import argparse
import logging
import math
import os
import platform
import random
import sys
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn
from yacs.config import CfgNode

from lib.train.actors import NonFiniteOutputError, SUTrackActor, SUTrackTrainNet
from lib.train.admin.multigpu import DistInfo, cleanup_distributed, init_distributed
from lib.train.admin.run_folder import RunPaths, close_logging, setup_logging
from lib.train.data.loader import build_train_loader, collate
from lib.train.data.processing import SUTrackProcessing
from lib.train.data.sampler import TrackingSampler
from lib.train.optim import build_optimizer, build_scheduler, configure_trainable
from lib.train.trainers import LTRTrainer
from lib.train.trainers.checkpoint import DiskFullError, ResumeError, load_checkpoint
from lib.utils.run_lock import FolderBusyError, RunLock
from lib.utils.settings import PROJECT_ROOT, env_settings

SCRIPTS = ("sutrack_dinov3",)
# ConvNeXt's depthwise kernels (C x 1 x k x k) get gradients whose stride on the size-1 dim differs from
# DDP's bucket view; the layouts are equivalent, the warning is noise.
warnings.filterwarnings("ignore", message="Grad strides do not match bucket view strides")
PROBE_INDEX = 2**40  # sample indices no epoch reaches: the unused-parameter probe's batch


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of one training process (tracking/train.py adds the launcher's own)."""
    parser.add_argument("--script", default="sutrack_dinov3", help="training script name (sutrack_dinov3)")
    parser.add_argument("--config", default="sutrack_dinov3",
                        help="experiments/<script>/<config>.yaml, or a path to a YAML file")
    parser.add_argument("--save_dir", default=None, help="root of checkpoints/, logs/, tensorboard/ "
                        "(default: save_dir of lib/utils/settings.py)")
    parser.add_argument("--resume", action=argparse.BooleanOptionalAction, default=True,
                        help="continue from the latest checkpoint of this config (default); --no-resume starts "
                        "fresh and moves earlier checkpoints aside")
    parser.add_argument("--seed", type=int, default=None, help="TRAIN.SEED override")
    parser.add_argument("--epochs", type=int, default=None, help="TRAIN.EPOCH override")
    parser.add_argument("--samples_per_epoch", type=int, default=None, help="TRAIN.SAMPLE_PER_EPOCH override")
    parser.add_argument("--device", default=None, help="cuda or cpu (default: cuda when available)")
    parser.add_argument("--wait", action="store_true",
                        help="when another run trains this config in this save_dir, wait for it to end instead of "
                        "stopping")
    parser.add_argument("--opts", nargs=argparse.REMAINDER, default=[],
                        help="config overrides as KEY VALUE pairs, e.g. --opts TRAIN.BATCH_SIZE 4 TRAIN.LR 1e-4 "
                        "DATA.TRAIN.DATASETS_NAME [LASOT,COCO17] (flags after --opts are parsed as flags)")


def parse_run_args(parser: argparse.ArgumentParser, argv: list[str] | None = None) -> argparse.Namespace:
    """parser.parse_args, then flags written after --opts (`--opts TRAIN.LR 1e-4 --seed 3`) parsed as flags:
    --opts takes the rest of the line, so its KEY VALUE pairs end at the first item starting with '--'."""
    args = parser.parse_args(argv)
    opts = list(args.opts or [])
    cut = next((i for i, item in enumerate(opts) if item.startswith("--")), None)
    if cut is not None:
        args.opts = opts[:cut]
        tail = opts[cut:]
        if tail[0] == "--opts":
            parser.error("--opts given twice; put every KEY VALUE pair after one --opts")
        extra = parser.parse_args(tail, namespace=argparse.Namespace())
        for key, value in vars(extra).items():
            if value != parser.get_default(key):
                setattr(args, key, value)
        args.opts += list(extra.opts or [])
    return args


def resolve_config_path(script: str, config: str) -> tuple[Path, str]:
    """(YAML path, config name) for --config given as a name or a path."""
    if script not in SCRIPTS:
        raise ValueError(f"--script '{script}' is unknown; available: {list(SCRIPTS)}")
    as_path = Path(config)
    if as_path.suffix in (".yaml", ".yml"):
        if not as_path.is_file():
            raise FileNotFoundError(f"config file not found: {as_path}")
        return as_path, as_path.stem
    path = PROJECT_ROOT / "experiments" / script / f"{config}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in path.parent.glob("*.yaml"))
        raise FileNotFoundError(f"config '{config}' not found ({path}); available: {known}")
    return path, config


def build_config(args: argparse.Namespace) -> tuple[CfgNode, str]:
    """Defaults <- experiments YAML <- --opts <- --epochs/--samples_per_epoch/--seed; frozen."""
    from lib.config.sutrack_dinov3.config import check_values, load_config, merge_opts

    path, name = resolve_config_path(args.script, args.config)
    cfg = load_config(path)
    cfg.defrost()
    merge_opts(cfg, list(args.opts or []))
    if args.epochs is not None:
        cfg.TRAIN.EPOCH = int(args.epochs)
    if args.samples_per_epoch is not None:
        cfg.TRAIN.SAMPLE_PER_EPOCH = int(args.samples_per_epoch)
    if args.seed is not None:
        cfg.TRAIN.SEED = int(args.seed)
    if int(cfg.DATA.SEARCH.NUMBER) != 1:
        raise ValueError("DATA.SEARCH.NUMBER must be 1: the network predicts the box in one search crop")
    check_values(cfg, f"{path} with --opts and flags" if args.opts or args.epochs is not None else path)
    cfg.freeze()
    return cfg, name


def lock_run_folder(args: argparse.Namespace, dist: DistInfo) -> RunLock:
    """One run per run folder: the main process locks `<save_dir>/checkpoints/train/<script>/<config>` for the
    run's life (lib/utils/run_lock.py); every rank raises FolderBusyError when another live run holds it."""
    _, config_name = resolve_config_path(args.script, args.config)
    paths = RunPaths(Path(args.save_dir or env_settings().save_dir).resolve(), args.script, config_name)
    lock = RunLock(paths.checkpoint_dir, hint="Wait for it to end, pass --wait to start when it does, or train "
                                              "into another --save_dir.")
    busy = None
    if dist.is_main:
        try:
            note = lock.acquire(wait=args.wait, on_wait=lambda message: print(message, flush=True))
            if note:
                print(f"note: {note}", flush=True)
        except FolderBusyError as exc:
            busy = exc
    if dist.distributed:  # the other ranks wait here while rank 0 waits for the lock (--wait)
        flag = torch.tensor([0 if busy is None else 1], device=dist.device)
        torch.distributed.all_reduce(flag)
        if int(flag.item()) and busy is None:
            busy = FolderBusyError("rank 0 could not lock the run folder")
    if busy is not None:
        raise busy
    return lock


def samples_per_epoch(cfg: CfgNode) -> int:
    return int(cfg.TRAIN.SAMPLE_PER_EPOCH) or int(cfg.DATA.TRAIN.SAMPLE_PER_EPOCH)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def build_sampler(cfg: CfgNode, rank: int = 0, world_size: int = 1, settings=None) -> TrackingSampler:
    """The datasets of DATA.TRAIN (roots from lib/utils/settings.py) behind a TrackingSampler for this rank."""
    from lib.train.dataset import build_train_dataset

    settings = settings or env_settings()
    datasets = [build_train_dataset(name, settings) for name in cfg.DATA.TRAIN.DATASETS_NAME]
    per_rank = samples_per_epoch(cfg) // world_size
    return TrackingSampler(datasets, list(cfg.DATA.TRAIN.DATASETS_RATIO), SUTrackProcessing(cfg), cfg,
                           seed=int(cfg.TRAIN.SEED), rank=rank, samples=per_rank)


def check_training_data(cfg: CfgNode, settings, log) -> None:
    """The cheap part of tracking/check_data.py (roots, counts; no frames read): log the table, and stop with
    DataCheckError when a dataset of the mix is missing entirely (an incomplete one only gets the table)."""
    from lib.data.check import FATAL, DataCheckError, check_datasets, format_table

    rows = check_datasets(cfg.DATA.TRAIN.DATASETS_NAME, settings=settings, sample=0)
    table = format_table(rows)
    if any(r.status in FATAL for r in rows):
        raise DataCheckError(f"training data missing (python tracking/check_data.py checks it):\n{table}")
    log.info("training data (python tracking/check_data.py reads a sample too):\n%s", table)


def unused_parameters(train_net: nn.Module, sampler: TrackingSampler, device: torch.device) -> list[str]:
    """Names of trainable parameters that get no gradient (one eval-mode forward/backward, no update)."""
    batch = collate([sampler[PROBE_INDEX + k] for k in range(2)])
    was_training = train_net.training
    train_net.eval()
    actor = SUTrackActor(train_net, sampler.cfg, device)
    loss, _ = actor(batch)
    loss.backward()
    unused = [n for n, p in train_net.named_parameters() if p.requires_grad and p.grad is None]
    train_net.zero_grad(set_to_none=True)
    train_net.train(was_training)
    return unused


def build_model(cfg: CfgNode, log) -> nn.Module:
    from lib.models.sutrack_dinov3 import build_sutrack_dinov3

    model = build_sutrack_dinov3(cfg)
    counts = configure_trainable(model, cfg)
    log.info("model: %.2f M parameters trainable, %.2f M frozen", counts["trainable"] / 1e6, counts["frozen"] / 1e6)
    if cfg.TRAIN.PRETRAINED_PATH:
        state = load_checkpoint(Path(cfg.TRAIN.PRETRAINED_PATH))
        missing, unexpected = model.load_state_dict(state.get("net", state), strict=False)
        log.info("loaded TRAIN.PRETRAINED_PATH %s (%d missing, %d unexpected keys)", cfg.TRAIN.PRETRAINED_PATH,
                 len(missing), len(unexpected))
    return model


def setup(args: argparse.Namespace, dist: DistInfo) -> tuple[LTRTrainer, CfgNode, logging.Logger]:
    """Config, run folder and logging, data, model (DDP when distributed), optimizer and trainer."""
    cfg, config_name = build_config(args)
    settings = env_settings()
    save_dir = Path(args.save_dir or settings.save_dir).resolve()
    paths = RunPaths(save_dir, args.script, config_name)
    if dist.is_main:
        paths.make()
    log = setup_logging(paths.log_file, dist.rank)
    log.info("===== training %s/%s: %s", args.script, config_name, " ".join(sys.argv))
    log.info("torch %s, python %s, device %s, world size %d, save_dir %s", torch.__version__,
             platform.python_version(), dist.device, dist.world_size, save_dir)
    log.info("config:\n%s", cfg.dump())
    seed_everything(int(cfg.TRAIN.SEED) + dist.rank)
    if dist.device.type == "cuda":
        torch.backends.cudnn.benchmark = True

    check_training_data(cfg, settings, log)
    sampler = build_sampler(cfg, dist.rank, dist.world_size, settings)
    for d in sampler.datasets:
        skipped = getattr(d, "skipped", [])
        log.info("dataset %s: %d sequences%s", d.get_name(), d.get_num_sequences(),
                 f", {len(skipped)} skipped as unreadable (first: {skipped[0][0]}: {skipped[0][1]})"
                 if skipped else "")
    log.info("dataset ratios %s; %d samples per epoch per process, batch %d, %d workers",
             list(cfg.DATA.TRAIN.DATASETS_RATIO), len(sampler), cfg.TRAIN.BATCH_SIZE, cfg.TRAIN.NUM_WORKER)
    loader = build_train_loader(sampler, int(cfg.TRAIN.BATCH_SIZE), int(cfg.TRAIN.NUM_WORKER),
                                int(cfg.TRAIN.SEED), dist.rank, pin_memory=dist.device.type == "cuda")
    model = build_model(cfg, log).to(dist.device)
    train_net: nn.Module = SUTrackTrainNet(model, bool(cfg.DATA.MULTI_MODAL_LANGUAGE))
    if dist.distributed:
        unused = unused_parameters(train_net, sampler, dist.device)
        if unused:
            log.info("DDP: %d trainable parameters get no gradient (e.g. %s): find_unused_parameters=True",
                     len(unused), unused[:3])
        train_net = nn.parallel.DistributedDataParallel(
            train_net, device_ids=[dist.device.index] if dist.device.type == "cuda" else None,
            find_unused_parameters=bool(unused))
    actor = SUTrackActor(train_net, cfg, dist.device)
    optimizer = build_optimizer(model, cfg)
    steps = math.ceil(len(loader) / max(1, int(cfg.TRAIN.ACCUM_STEPS)))
    scheduler = build_scheduler(optimizer, cfg, steps)
    trainer = LTRTrainer(actor, model, loader, optimizer, scheduler, cfg, paths, dist,
                         generators={"loader": loader.generator})
    return trainer, cfg, log


def run(args: argparse.Namespace) -> int:
    """Set up this process and train; returns the exit code (2: bad config/data/weights, 1: NaN outputs)."""
    from lib.models.sutrack_dinov3 import WeightsUnavailableError

    lock = None
    try:
        try:
            dist = init_distributed(args.device)
            lock = lock_run_folder(args, dist)
            trainer, cfg, log = setup(args, dist)
        except (FileNotFoundError, ValueError, WeightsUnavailableError, FolderBusyError) as exc:  # config, data, busy
            if os.environ.get("SUTRACK_TRACEBACK"):
                raise
            print(f"error: {exc}", file=sys.stderr)
            return 2
        try:
            trainer.train(int(cfg.TRAIN.EPOCH), resume=args.resume)
        except NonFiniteOutputError as exc:
            log.error("%s", exc)
            print(f"error: {exc}", file=sys.stderr)
            return 1
        except (ResumeError, DiskFullError) as exc:  # a changed config, a full disk: the message says what to do
            if not isinstance(exc, DiskFullError):  # (a full disk may not take the log line either)
                log.error("%s", exc)
            print(f"error: {exc}", file=sys.stderr)
            return 2
        log.info("training finished: %d epochs; checkpoints in %s", trainer.state.epoch,
                 trainer.paths.checkpoint_dir)
        return 0
    finally:
        close_logging()
        cleanup_distributed()
        if lock is not None:
            lock.release()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    add_run_arguments(parser)
    return run(parse_run_args(parser, argv))


if __name__ == "__main__":
    sys.exit(main())
