"""open_clip text encoder: a sentence -> one token of the encoder's width (SUTrack's text branch).

MODEL.TEXT_ENCODER.TYPE is an open_clip model name or a path to an open_clip JSON config (tests use a
tiny one); PRETRAINED is an open_clip tag, a weights file, or "" (or false) for random weights, built
without any network access. The BPE tokenizer ships with open_clip and works offline.
"""
from __future__ import annotations

from pathlib import Path

import open_clip
import torch
from timm.layers import trunc_normal_
from torch import nn
from yacs.config import CfgNode

from lib.utils.hub import cache_only, hub_reachable, offline_flag
from lib.utils.settings import PROJECT_ROOT

from .weights import WeightsUnavailableError, looks_like_path

CONTEXT_LENGTH = 77
PRETRAINED_KEY = "MODEL.TEXT_ENCODER.PRETRAINED"


def tokenize(sentences: list[str | None], context_length: int = CONTEXT_LENGTH) -> torch.Tensor:
    """BPE ids B x context_length; a missing sentence gives all-zero ids (SUTrack's 'no text')."""
    ids = open_clip.tokenize([s or "" for s in sentences], context_length=context_length)
    for i, s in enumerate(sentences):
        if not s:
            ids[i].zero_()
    return ids


def _resolve_model_name(name: str) -> str:
    path = Path(name)
    if path.suffix == ".json":
        if not path.is_absolute() and not path.is_file():
            path = PROJECT_ROOT / path  # configs name it relative to the repository root
        if not path.is_file():
            raise FileNotFoundError(f"MODEL.TEXT_ENCODER.TYPE: open_clip config '{name}' not found")
        open_clip.add_model_config(path)
        return path.stem
    return name


def _text_weights_error(name: str, pretrained: str, case: str, fix: str, exc: BaseException | None = None
                        ) -> WeightsUnavailableError:
    cause = f"\nCause: {type(exc).__name__}: {exc}" if exc is not None else ""
    return WeightsUnavailableError(
        f"open_clip text encoder weights unavailable ({PRETRAINED_KEY} = '{pretrained}', MODEL.TEXT_ENCODER.TYPE "
        f"'{name}'): {case}.\nFix: {fix}.{cause}")


def create_clip(name: str, pretrained: str | None) -> nn.Module:
    """open_clip model `name` with weights `pretrained` (tag or file; None: random, no network at all).

    Offline (HF_HUB_OFFLINE, or the hub unreachable: probed once per process) a tag is served from the
    cache or fails at once with the fix, instead of retrying each download for minutes.
    """
    if not pretrained:
        return open_clip.create_model(name, pretrained=None)
    random_fix = f"set {PRETRAINED_KEY} to \"\" for random weights (tests, smoke runs; a trained checkpoint holds them)"
    is_file = looks_like_path(pretrained)
    if is_file and not Path(pretrained).expanduser().is_file():
        raise _text_weights_error(name, pretrained, f"the file '{pretrained}' does not exist",
                                  f"point {PRETRAINED_KEY} at an open_clip weights file, or {random_fix}")
    if not is_file and not open_clip.get_pretrained_cfg(name, pretrained):
        known = open_clip.list_pretrained_tags_by_model(name)
        raise _text_weights_error(name, pretrained, f"open_clip has no pretrained tag '{pretrained}' for '{name}'",
                                  f"use one of {known}, a weights file, or {random_fix}")
    offline = not is_file and not hub_reachable()
    try:
        with cache_only(offline):
            return open_clip.create_model(name, pretrained=pretrained)
    except Exception as exc:  # noqa: BLE001 - hub, cache and file failures all become the one error type
        fill = (f"run once with network access `python -c \"import open_clip; open_clip.create_model('{name}', "
                f"pretrained='{pretrained}')\"` (fills the hub cache, which later runs use offline), set "
                f"{PRETRAINED_KEY} to a local open_clip weights file, or {random_fix}")
        if offline:
            why = "HF_HUB_OFFLINE is set" if offline_flag() else "the hub does not answer"
            raise _text_weights_error(name, pretrained, f"the machine is offline ({why}) and these weights are "
                                      "not in the hub cache", fill) from None
        if is_file:
            case = f"the file '{pretrained}' is unreadable or not open_clip weights of '{name}'"
            raise _text_weights_error(name, pretrained, case, f"check the file, or {random_fix}", exc) from exc
        raise _text_weights_error(name, pretrained, "the download failed", fill, exc) from exc


class TextEncoder(nn.Module):
    """CLIP `encode_text` -> Linear(clip_dim, encoder_dim): B x 77 ids -> B x 1 x D."""

    def __init__(self, cfg: CfgNode, out_dim: int):
        super().__init__()
        text_cfg = cfg.MODEL.TEXT_ENCODER
        clip = create_clip(_resolve_model_name(text_cfg.TYPE), text_cfg.PRETRAINED or None)
        clip.visual = None  # only the text tower is used
        self.clip = clip
        self.context_length = text_cfg.CONTEXT_LENGTH
        proj = clip.text_projection
        clip_dim = proj.shape[1] if proj is not None else clip.token_embedding.weight.shape[1]
        self.proj = nn.Linear(clip_dim, out_dim)
        trunc_normal_(self.proj.weight, std=0.02)
        nn.init.zeros_(self.proj.bias)

    def forward(self, text_ids: torch.Tensor) -> torch.Tensor:
        return self.proj(self.clip.encode_text(text_ids))[:, None]  # B x 1 x D
