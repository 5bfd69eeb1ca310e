"""LTRTrainer: epochs of (forward, backward, step) with AMP, accumulation, clipping, checkpoints, logs.

One epoch: set the loader's epoch, train mode (BatchNorm in eval with FIX_BN; a fully frozen ConvNeXt
body in eval), run ACCUM_STEPS micro-batches per optimizer step (DDP syncs only on the last one),
unscale (fp16), clip at GRAD_CLIP_NORM, step, and step the per-iteration LR schedule. Rank 0 then
logs the epoch means, writes TensorBoard scalars, the stats JSONL and the loss-curve PNG, and saves
the checkpoint atomically, keeping the last KEEP_LAST.
"""
from __future__ import annotations

import contextlib
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
import yaml
from torch import nn
from torch.utils.data import DataLoader
from tqdm import tqdm
from yacs.config import CfgNode

from lib.utils.io import atomic_write_bytes
from lib.utils.state_dict import describe_mismatches, mismatched_keys

from ..actors import NonFiniteOutputError, SUTrackActor
from ..admin.multigpu import DistInfo, all_reduce_sums, barrier, parameter_digest, ranks_agree
from ..admin.run_folder import RunPaths, get_logger
from ..admin.stats import StatsMeter, plot_loss_curves
from ..admin.tensorboard import TensorboardWriter
from ..optim import amp_settings, body_fully_frozen, optimizer_step, scheduler_state
from . import checkpoint as ckpt

IGNORED_CONFIG_DIFFS = {"TRAIN.EPOCH", "TEST.EPOCH"}  # extending a run is not a mismatch


@dataclass
class TrainState:
    """What a checkpoint restores besides the weights: next epoch and the per-epoch history."""

    epoch: int = 0
    history: dict[str, list[float]] = field(default_factory=dict)


def _flatten(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flatten(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def config_differences(saved_yaml: str, cfg: CfgNode) -> list[str]:
    """Keys whose values differ between a checkpoint's config and the current one."""
    try:
        saved = _flatten(yaml.safe_load(saved_yaml) or {})
    except yaml.YAMLError:
        return ["<checkpoint config unreadable>"]
    now = _flatten(yaml.safe_load(cfg.dump()))
    keys = sorted((set(saved) | set(now)) - IGNORED_CONFIG_DIFFS)
    return [f"{k}: {saved.get(k)!r} -> {now.get(k)!r}" for k in keys if saved.get(k) != now.get(k)]


class LTRTrainer:
    """Trains `model` (wrapped as `actor.net`, maybe DDP) on `loader` for TRAIN.EPOCH epochs."""

    def __init__(self, actor: SUTrackActor, model: nn.Module, loader: DataLoader, optimizer: torch.optim.Optimizer,
                 scheduler: torch.optim.lr_scheduler.LRScheduler, cfg: CfgNode, paths: RunPaths, dist: DistInfo,
                 generators: dict[str, torch.Generator] | None = None):
        self.actor, self.model, self.loader = actor, model, loader
        self.optimizer, self.scheduler, self.cfg, self.paths, self.dist = optimizer, scheduler, cfg, paths, dist
        self.generators = generators or {}
        self.log = get_logger()
        self.accum = max(1, int(cfg.TRAIN.ACCUM_STEPS))
        self.clip = float(cfg.TRAIN.GRAD_CLIP_NORM)
        self.print_interval = max(1, int(cfg.TRAIN.PRINT_INTERVAL))
        self.amp, self.amp_dtype, self.scaler = amp_settings(cfg, dist.device)  # fp32 on CPU
        self.params = [p for p in model.parameters() if p.requires_grad]
        self.state = TrainState()
        self.tb = TensorboardWriter(paths.tensorboard_dir if dist.is_main else None)

    # ------------------------------------------------------------------ checkpoints
    def checkpoint_state(self, epoch: int) -> dict:
        return {
            "net": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": scheduler_state(self.scheduler),
            "scaler": self.scaler.state_dict(),
            "epoch": epoch,
            "rng": ckpt.capture_rng(self.generators),
            "config": self.cfg.dump(),
            "history": self.state.history,
            "net_type": type(self.model).__name__,
        }

    def save_checkpoint(self, epoch: int) -> Path:
        path = self.paths.checkpoint_dir / ckpt.checkpoint_name(epoch)
        ckpt.save_atomic(self.checkpoint_state(epoch), path)
        removed = ckpt.prune(self.paths.checkpoint_dir, int(self.cfg.TRAIN.KEEP_LAST))
        self.log.info("saved checkpoint %s%s", path, f" (removed {len(removed)} older)" if removed else "")
        return path

    def load_latest(self) -> bool:
        """Restore the newest readable checkpoint; False when there is none."""
        removed = ckpt.remove_stale_temps(self.paths.checkpoint_dir)
        if removed:
            self.log.warning("removed %d incomplete checkpoint temp file(s) of an interrupted run", removed)
        for _epoch, path in reversed(ckpt.list_checkpoints(self.paths.checkpoint_dir)):
            try:
                state = ckpt.load_checkpoint(path)
            except Exception as exc:  # a corrupt or foreign file: say so and try the previous one
                self.log.warning("cannot read checkpoint %s (%s): trying an older one", path, exc)
                continue
            self.restore(state, path)
            return True
        return False

    def restore(self, state: dict, path: Path) -> None:
        """Load weights, optimizer, scheduler, RNG and history; a checkpoint of another architecture (or other
        trainable parameters) raises ResumeError naming the keys that differ and --no-resume."""
        diffs = config_differences(state.get("config", ""), self.cfg)
        for diff in diffs:
            self.log.warning("resumed config differs from the checkpoint's: %s", diff)
        expected = self.model.state_dict()
        shapes, unexpected, missing = mismatched_keys(state["net"], expected)
        fix = (f"start fresh with --no-resume (the checkpoints in {path.parent} are moved aside to previous-<time>/), "
               f"or resume with the config the checkpoint was trained with")
        changed = f"; config keys that changed: {'; '.join(diffs[:5])}" if diffs else ""
        if shapes or unexpected or missing:
            raise ckpt.ResumeError(f"cannot resume from {path}: the model built from the config differs from the "
                                   f"checkpoint's: {describe_mismatches(shapes, unexpected, missing, len(expected))}"
                                   f"{changed}.\nFix: {fix}.")
        self.model.load_state_dict(state["net"], strict=True)
        try:
            self.optimizer.load_state_dict(state["optimizer"])
        except ValueError as exc:  # other trainable parameters (e.g. TRAIN.FREEZE_ENCODER changed)
            raise ckpt.ResumeError(f"cannot resume from {path}: its optimizer state does not fit the trainable "
                                   f"parameters of this config ({exc}){changed}.\nFix: {fix}.") from None
        self.scheduler.load_state_dict(state["scheduler"])
        if state.get("scaler"):
            self.scaler.load_state_dict(state["scaler"])
        ckpt.restore_rng(state["rng"], self.generators)
        self.state = TrainState(int(state["epoch"]), {k: list(v) for k, v in state.get("history", {}).items()})
        self.log.info("resuming from %s: epoch %d done, continuing at epoch %d", path, self.state.epoch,
                      self.state.epoch + 1)

    # ------------------------------------------------------------------ training
    def train(self, max_epochs: int, resume: bool = True) -> TrainState:
        """Train up to `max_epochs` (resuming from the latest checkpoint unless `resume` is False)."""
        folder = self.paths.checkpoint_dir
        if resume:
            if not self.load_latest():
                self.log.info("no checkpoint in %s: starting from epoch 1", folder)
        else:
            moved = ckpt.move_aside(folder) if self.dist.is_main else None
            barrier()
            self.log.info("--no-resume: starting fresh at epoch 1%s", f"; earlier checkpoints moved to {moved}"
                          if moved else "")
        if self.state.epoch >= max_epochs:
            self.log.info("already trained %d epochs (TRAIN.EPOCH %d): nothing to do", self.state.epoch, max_epochs)
        for epoch in range(self.state.epoch + 1, max_epochs + 1):
            self.train_epoch(epoch, max_epochs)
            if self.dist.is_main:
                self.save_checkpoint(epoch)
            barrier()
        self.tb.close()
        return self.state

    def set_modes(self) -> None:
        self.actor.net.train()
        if self.cfg.TRAIN.FIX_BN:
            for m in self.model.modules():
                if isinstance(m, nn.modules.batchnorm._BatchNorm):
                    m.eval()
        if body_fully_frozen(self.model):
            self.model.encoder.body.eval()

    def current_lr(self) -> float:
        return float(self.optimizer.param_groups[0]["lr"])

    def train_epoch(self, epoch: int, max_epochs: int) -> dict[str, float]:
        """One pass over the loader; returns the epoch means of the stats (all ranks)."""
        sampler = self.loader.sampler
        if hasattr(sampler, "set_epoch"):
            sampler.set_epoch(epoch - 1)
        self.set_modes()
        meter, interval = StatsMeter(), StatsMeter()
        n_batches = len(self.loader)
        redraws = 0
        samples = 0
        t_start = time.perf_counter()
        bar = tqdm(total=n_batches, desc=f"Epoch {epoch}/{max_epochs}", disable=not self.dist.is_main,
                   dynamic_ncols=True, mininterval=1.0, leave=True)
        self.optimizer.zero_grad(set_to_none=True)
        for i, data in enumerate(self.loader, start=1):
            group_start = (i - 1) // self.accum * self.accum
            group_size = min(self.accum, n_batches - group_start)
            last_micro = i == group_start + group_size
            sync = contextlib.nullcontext() if last_micro or not self.dist.distributed else self.actor.net.no_sync()
            with sync:
                with torch.autocast(self.dist.device.type, dtype=self.amp_dtype, enabled=self.amp):
                    try:
                        loss, stats = self.actor(data)
                    except NonFiniteOutputError as exc:
                        raise NonFiniteOutputError(f"epoch {epoch}, iteration {i}: {exc}") from None
                if not math.isfinite(stats["Loss/total"]):
                    raise NonFiniteOutputError(f"epoch {epoch}, iteration {i}: loss is {stats['Loss/total']} "
                                               f"({stats}); stopping training")
                self.scaler.scale(loss / group_size).backward()
            if last_micro:
                self.step()
            batch = int(data["search_images"].shape[0])
            samples += batch
            redraws += int(data["redraws"].sum()) if "redraws" in data else 0
            meter.update(stats, batch)
            interval.update(stats, batch)
            rate = samples * self.dist.world_size / max(time.perf_counter() - t_start, 1e-9)
            bar.set_postfix(loss=f"{stats['Loss/total']:.3f}", IoU=f"{stats['IoU']:.3f}",
                            lr=f"{self.current_lr():.2e}", sps=f"{rate:.1f}", refresh=False)
            bar.update(1)
            if i % self.print_interval == 0 or i == n_batches:
                means = interval.means()
                interval = StatsMeter()
                if self.dist.is_main:
                    text = "  ".join(f"{k} {v:.4f}" for k, v in means.items())
                    self.log.info("[epoch %d iter %d/%d] %s  lr %.3e  %.1f samples/s", epoch, i, n_batches, text,
                                  self.current_lr(), rate)
                    step = (epoch - 1) * n_batches + i
                    self.tb.scalars(means, step, prefix="iter/")
                    self.tb.scalars({"lr": self.current_lr()}, step, prefix="iter/")
        bar.close()
        elapsed = time.perf_counter() - t_start
        pairs = meter.pairs()
        pairs["_redraws"] = (float(redraws), 1)
        pairs["_samples"] = (float(samples), 1)
        pairs = all_reduce_sums(pairs, self.dist.device)
        redraws_all, samples_all = int(pairs.pop("_redraws")[0]), int(pairs.pop("_samples")[0])
        means = {k: s / c for k, (s, c) in pairs.items() if c}
        self.end_of_epoch(epoch, means, samples_all, redraws_all, elapsed)
        return means

    def step(self) -> None:
        """Unscale (fp16), clip, optimizer step, zero the gradients, LR schedule step."""
        optimizer_step(self.optimizer, self.scaler, self.params, self.clip)
        self.scheduler.step()

    def end_of_epoch(self, epoch: int, means: dict[str, float], samples: int, redraws: int, elapsed: float) -> None:
        self.state.epoch = epoch
        if self.dist.distributed:
            same = ranks_agree(parameter_digest(self.model), self.dist.device)
            if same:
                self.log.info("DDP check: parameters identical on all %d ranks", self.dist.world_size)
            else:
                self.log.warning("DDP check: parameters DIFFER between ranks after epoch %d", epoch)
        if not self.dist.is_main:
            return
        text = "  ".join(f"{k} {v:.4f}" for k, v in means.items())
        self.log.info("epoch %d done: %s | %d samples in %.1f s (%.1f samples/s) | %d samples redrawn "
                      "(bad frames/sequences or degenerate boxes)", epoch, text, samples, elapsed,
                      samples / max(elapsed, 1e-9), redraws)
        history = self.state.history
        row = {"epoch": float(epoch), **means, "lr": self.current_lr(), "redraws": float(redraws),
               "samples_per_s": samples / max(elapsed, 1e-9)}
        for k, v in row.items():
            history.setdefault(k, []).append(float(v))
        self.tb.scalars({**means, "lr": self.current_lr(), "redraws": redraws}, epoch, prefix="epoch/")
        self.tb.flush()
        self.write_stats_file()
        try:
            plot_loss_curves(history, self.paths.loss_plot, f"{self.paths.script} {self.paths.config}")
        except Exception as exc:  # a plotting problem must not end a training run
            self.log.warning("could not write the loss curve %s: %s", self.paths.loss_plot, exc)

    def write_stats_file(self) -> None:
        """The history as JSON lines (one per epoch, full precision), rewritten atomically."""
        history = self.state.history
        n = len(history.get("epoch", []))
        lines = [json.dumps({k: v[i] for k, v in history.items() if i < len(v)}) for i in range(n)]
        atomic_write_bytes(self.paths.stats_file, "".join(line + "\n" for line in lines).encode())
