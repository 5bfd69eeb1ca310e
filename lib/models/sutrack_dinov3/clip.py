"""open_clip text encoder: a sentence -> one token of the encoder's width (SUTrack's text branch).

MODEL.TEXT_ENCODER.TYPE is an open_clip model name or a path to an open_clip JSON config (tests use a
tiny one); PRETRAINED is an open_clip tag, a weights file, or "" for random weights. The BPE tokenizer
ships with open_clip and works offline.
"""
from __future__ import annotations

from pathlib import Path

import open_clip
import torch
from timm.layers import trunc_normal_
from torch import nn
from yacs.config import CfgNode

from lib.utils.settings import PROJECT_ROOT

from .weights import explain_failure

CONTEXT_LENGTH = 77


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


class TextEncoder(nn.Module):
    """CLIP `encode_text` -> Linear(clip_dim, encoder_dim): B x 77 ids -> B x 1 x D."""

    def __init__(self, cfg: CfgNode, out_dim: int):
        super().__init__()
        text_cfg = cfg.MODEL.TEXT_ENCODER
        name = _resolve_model_name(text_cfg.TYPE)
        pretrained = text_cfg.PRETRAINED or None
        try:
            clip = open_clip.create_model(name, pretrained=pretrained)
        except Exception as exc:  # hub, file and config errors all end here
            if pretrained is None:
                raise
            raise explain_failure("open_clip text encoder", str(pretrained), "MODEL.TEXT_ENCODER.PRETRAINED",
                                  exc) from exc
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
