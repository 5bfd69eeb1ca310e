"""Task decoder: classifies which of SUTrack's five tasks (RGB, language, depth, thermal, event) a sample is."""
from __future__ import annotations

import torch
from torch import nn
from yacs.config import CfgNode

from .decoder import MLP


class TaskDecoder(nn.Module):
    """MLP(encoder_dim, NUM_CHANNELS, TASK_NUM, 3 layers) on one feature vector chosen by FEATURE_TYPE."""

    def __init__(self, cfg: CfgNode, in_dim: int):
        super().__init__()
        self.feature_type = cfg.MODEL.TASK_DECODER.FEATURE_TYPE
        if self.feature_type not in ("class", "average", "text"):
            raise ValueError("MODEL.TASK_DECODER.FEATURE_TYPE must be class, average or text, "
                             f"got '{self.feature_type}'")
        if self.feature_type == "class" and not cfg.MODEL.ENCODER.CLASS_TOKEN:
            raise ValueError("MODEL.TASK_DECODER.FEATURE_TYPE 'class' needs MODEL.ENCODER.CLASS_TOKEN: True")
        if self.feature_type == "text" and not cfg.DATA.MULTI_MODAL_LANGUAGE:
            raise ValueError("MODEL.TASK_DECODER.FEATURE_TYPE 'text' needs DATA.MULTI_MODAL_LANGUAGE: True")
        self.mlp = MLP(in_dim, cfg.MODEL.TASK_DECODER.NUM_CHANNELS, cfg.MODEL.TASK_NUM, 3)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """tokens B x L x D -> task logits B x TASK_NUM."""
        if self.feature_type == "class":
            feature = tokens[:, 0]
        elif self.feature_type == "text":
            feature = tokens[:, -1]
        else:
            feature = tokens.mean(1)
        return self.mlp(feature)
