"""What trains and how fast: freezing, AdamW parameter groups and the LR schedule.

Parameter groups. SUTrack puts every name containing 'encoder' at LR * ENCODER_MULTIPLIER. Here the
projection (neck), position/token-type embeddings and the relation module also live under
`encoder.` but are new, randomly initialised layers; a 10x lower LR would starve exactly the part that
must learn to relate template and search. So only the *pretrained* weights get the multiplier:
`encoder.body.*` (the DINOv3 ConvNeXt) and `text_encoder.clip.*` (open_clip's text tower; SUTrack's
'text_encoder' name also fell in its low group). Everything else trains at LR.

Freezing. The ConvNeXt body is frozen when TRAIN.FREEZE_ENCODER or ENCODER_MULTIPLIER <= 0 (SUTrack's
rule); names containing an entry of TRAIN.ENCODER_OPEN stay trainable. TRAIN.TYPE text_frozen freezes
the CLIP tower (its projection to the token width stays trainable).
"""
from __future__ import annotations

import math

import torch
from torch import nn
from yacs.config import CfgNode

PRETRAINED_PREFIXES = ("encoder.body.", "text_encoder.clip.")
BODY_PREFIX = "encoder.body."
CLIP_PREFIX = "text_encoder.clip."
TRAIN_TYPES = ("normal", "fft", "text_frozen")


def encoder_trainable(cfg: CfgNode) -> bool:
    return float(cfg.TRAIN.ENCODER_MULTIPLIER) > 0 and not cfg.TRAIN.FREEZE_ENCODER


def configure_trainable(model: nn.Module, cfg: CfgNode) -> dict[str, int]:
    """Set requires_grad per the freezing rules; returns parameter counts (trainable, frozen)."""
    if cfg.TRAIN.TYPE not in TRAIN_TYPES:
        raise ValueError(f"TRAIN.TYPE '{cfg.TRAIN.TYPE}' is not supported here; choose one of {list(TRAIN_TYPES)}")
    open_names = [str(n) for n in cfg.TRAIN.ENCODER_OPEN]
    body_on = encoder_trainable(cfg)
    for name, p in model.named_parameters():
        if name.startswith(BODY_PREFIX):
            p.requires_grad_(body_on or any(o in name for o in open_names))
        elif name.startswith(CLIP_PREFIX):
            p.requires_grad_(cfg.TRAIN.TYPE != "text_frozen")
        else:
            p.requires_grad_(True)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    frozen = sum(p.numel() for p in model.parameters() if not p.requires_grad)
    return {"trainable": trainable, "frozen": frozen}


def body_fully_frozen(model: nn.Module) -> bool:
    """True when no ConvNeXt body parameter trains (the body then runs in eval mode: no drop path)."""
    body = [p for n, p in model.named_parameters() if n.startswith(BODY_PREFIX)]
    return bool(body) and not any(p.requires_grad for p in body)


def param_groups(model: nn.Module, cfg: CfgNode) -> list[dict]:
    """Two AdamW groups: new layers at LR, pretrained weights (see module docstring) at LR * multiplier."""
    lr = float(cfg.TRAIN.LR)
    new, pretrained = [], []
    for name, p in model.named_parameters():
        if p.requires_grad:
            (pretrained if name.startswith(PRETRAINED_PREFIXES) else new).append(p)
    groups = [{"params": new, "lr": lr, "name": "new"}]
    if pretrained:
        groups.append({"params": pretrained, "lr": lr * float(cfg.TRAIN.ENCODER_MULTIPLIER), "name": "pretrained"})
    return groups


def build_optimizer(model: nn.Module, cfg: CfgNode) -> torch.optim.Optimizer:
    """AdamW (TRAIN.OPTIMIZER ADAMW) over param_groups with TRAIN.WEIGHT_DECAY."""
    if cfg.TRAIN.OPTIMIZER.upper() != "ADAMW":
        raise ValueError(f"TRAIN.OPTIMIZER '{cfg.TRAIN.OPTIMIZER}' is not supported; use ADAMW")
    return torch.optim.AdamW(param_groups(model, cfg), lr=float(cfg.TRAIN.LR),
                             weight_decay=float(cfg.TRAIN.WEIGHT_DECAY))


class LRFactor:
    """LR multiplier after `step` optimizer steps: warm-up, then step / Mstep / cosine by (fractional) epoch.

    step: DECAY_RATE ** (epoch // LR_DROP_EPOCH) (torch StepLR per epoch); Mstep: DECAY_RATE ** (number of
    MILESTONES reached); cosine: from 1 to MIN_LR_RATIO over the epochs after warm-up. Warm-up scales
    linearly from 1 / warm-up steps to 1 over WARMUP_EPOCHS (fractional epochs allowed).
    """

    def __init__(self, cfg: CfgNode, steps_per_epoch: int):
        sch = cfg.TRAIN.SCHEDULER
        self.type = str(sch.TYPE)
        if self.type not in ("step", "Mstep", "cosine"):
            raise ValueError(f"TRAIN.SCHEDULER.TYPE must be step, Mstep or cosine, got '{self.type}'")
        self.steps_per_epoch = max(1, int(steps_per_epoch))
        self.epochs = int(cfg.TRAIN.EPOCH)
        self.drop_epoch = max(1, int(cfg.TRAIN.LR_DROP_EPOCH))
        self.decay = float(sch.DECAY_RATE)
        self.milestones = [int(m) for m in sch.MILESTONES]
        self.warmup = float(sch.WARMUP_EPOCHS)
        self.min_ratio = float(sch.MIN_LR_RATIO)

    def __call__(self, step: int) -> float:
        epoch = step / self.steps_per_epoch  # fractional epochs completed
        whole = int(math.floor(epoch + 1e-9))
        if self.type == "step":
            factor = self.decay ** (whole // self.drop_epoch)
        elif self.type == "Mstep":
            factor = self.decay ** sum(whole >= m for m in self.milestones)
        else:
            span = max(self.epochs - self.warmup, 1e-9)
            t = min(max(epoch - self.warmup, 0.0) / span, 1.0)
            factor = self.min_ratio + (1 - self.min_ratio) * 0.5 * (1 + math.cos(math.pi * t))
        warmup_steps = self.warmup * self.steps_per_epoch
        if warmup_steps > 0 and step < warmup_steps:
            factor *= (step + 1) / warmup_steps
        return factor


def build_scheduler(optimizer: torch.optim.Optimizer, cfg: CfgNode, steps_per_epoch: int
                    ) -> torch.optim.lr_scheduler.LambdaLR:
    """Per-optimizer-step LambdaLR with LRFactor (the same factor for both groups)."""
    factor = LRFactor(cfg, steps_per_epoch)
    return torch.optim.lr_scheduler.LambdaLR(optimizer, [factor] * len(optimizer.param_groups))


def scheduler_state(scheduler: torch.optim.lr_scheduler.LRScheduler) -> dict:
    """The scheduler's state without its lambdas: a resumed run follows the schedule of its own config."""
    state = scheduler.state_dict()
    if "lr_lambdas" in state:
        state["lr_lambdas"] = [None] * len(state["lr_lambdas"])
    return state


AMP_DTYPES = {"bfloat16": torch.bfloat16, "bf16": torch.bfloat16, "float16": torch.float16, "fp16": torch.float16}


def amp_settings(cfg: CfgNode, device: torch.device) -> tuple[bool, torch.dtype, torch.amp.GradScaler]:
    """(autocast on?, its dtype, GradScaler): AMP only on CUDA (fp32 on CPU), the scaler only for float16."""
    if cfg.TRAIN.AMP_DTYPE not in AMP_DTYPES:
        raise ValueError(f"TRAIN.AMP_DTYPE must be bfloat16 or float16, got '{cfg.TRAIN.AMP_DTYPE}'")
    amp = bool(cfg.TRAIN.AMP) and device.type == "cuda"
    dtype = AMP_DTYPES[cfg.TRAIN.AMP_DTYPE]
    return amp, dtype, torch.amp.GradScaler("cuda", enabled=amp and dtype == torch.float16)


def optimizer_step(optimizer: torch.optim.Optimizer, scaler: torch.amp.GradScaler, params: list[nn.Parameter],
                   clip: float) -> None:
    """Unscale (fp16), clip the gradient norm to `clip` (if > 0), step, and zero the gradients."""
    if clip > 0:
        scaler.unscale_(optimizer)
        torch.nn.utils.clip_grad_norm_(params, clip)
    scaler.step(optimizer)
    scaler.update()
    optimizer.zero_grad(set_to_none=True)
