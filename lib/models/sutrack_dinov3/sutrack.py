"""SUTrack with a DINOv3 ConvNeXt encoder: encoder, box head, task decoder and optional text encoder.

Keeps SUTrack's interface: `forward(..., mode='encoder'|'decoder'|'text')`, `forward_encoder`,
`forward_decoder`, `forward_task_decoder`, `forward_textencoder`. `forward_encoder` returns the list
[tokens B x L x D, similarity map B x 2 x h x w (or None), search grid (h, w)]. Trackers call
`encode_template` once per sequence and `track_step` per frame.
"""
from __future__ import annotations

import torch
from torch import nn
from yacs.config import CfgNode

from .clip import TextEncoder
from .decoder import build_box_head
from .encoder import SUTrackEncoder, TemplateFeatures
from .task_decoder import TaskDecoder


class SUTrackDINOv3(nn.Module):
    """The whole network; sizes come from the config, grids from input size and stride."""

    def __init__(self, cfg: CfgNode):
        super().__init__()
        self.encoder = SUTrackEncoder(cfg)
        dim = self.encoder.embed_dim
        self.num_sim_channels = 2 if self.encoder.correlation else 0
        self.decoder = build_box_head(cfg, dim + self.num_sim_channels)
        self.task_decoder = TaskDecoder(cfg, dim)
        self.text_encoder = TextEncoder(cfg, dim) if cfg.DATA.MULTI_MODAL_LANGUAGE else None
        self.has_cls = cfg.MODEL.ENCODER.CLASS_TOKEN

    # ------------------------------------------------------------------ SUTrack interface
    def forward(self, text_data=None, template_list=None, search_list=None, template_anno_list=None,
                text_src=None, task_index=None, feature=None, mode: str = "encoder"):
        if mode == "text":
            return self.forward_textencoder(text_data)
        if mode == "encoder":
            return self.forward_encoder(template_list, search_list, template_anno_list, text_src, task_index)
        if mode == "decoder":
            return self.forward_decoder(feature), self.forward_task_decoder(feature)
        raise ValueError(f"mode must be 'text', 'encoder' or 'decoder', got '{mode}'")

    def forward_textencoder(self, text_data: torch.Tensor) -> torch.Tensor:
        """CLIP BPE ids B x 77 -> text token B x 1 x D."""
        if self.text_encoder is None:
            raise RuntimeError("the text branch is off: set DATA.MULTI_MODAL_LANGUAGE: True")
        return self.text_encoder(text_data)

    def encode_template(self, template_list: list[torch.Tensor], template_anno_list: list[torch.Tensor]
                        ) -> TemplateFeatures | None:
        """Template features for the per-frame step; None in the template-blind ablation."""
        if not self.encoder.use_template:
            return None
        return self.encoder.encode_template(template_list, template_anno_list)

    def forward_encoder(self, template_list, search_list, template_anno_list, text_src=None, task_index=None,
                        template_cache: TemplateFeatures | None = None) -> list:
        """[tokens, similarity map or None, search grid]; pass `template_cache` to skip the template CNN."""
        if template_cache is None:
            template_cache = self.encode_template(template_list, template_anno_list)
        tokens, sim, grid = self.encoder(search_list[0], template_cache, text_src)
        return [tokens, sim, grid]

    def forward_decoder(self, feature: list) -> dict:
        """Search tokens (and similarity map) -> box head outputs."""
        tokens, sim, grid = feature
        start = 1 if self.has_cls else 0
        search = tokens[:, start:start + grid[0] * grid[1]]
        fmap = search.transpose(1, 2).unflatten(2, grid)  # B x D x h x w
        if sim is not None:
            fmap = torch.cat([fmap, sim.to(fmap.dtype)], 1)  # B x (D + 2) x h x w
        return self.decoder(fmap)

    def forward_task_decoder(self, feature: list) -> torch.Tensor:
        return self.task_decoder(feature[0])

    # ------------------------------------------------------------------ tracking
    def track_step(self, search: torch.Tensor, template_cache: TemplateFeatures | None,
                   text_src: torch.Tensor | None = None) -> dict:
        """One frame: search crop + cached template (+ text token) -> head outputs."""
        tokens, sim, grid = self.encoder(search, template_cache, text_src)
        return self.forward_decoder([tokens, sim, grid])


def build_sutrack_dinov3(cfg: CfgNode) -> SUTrackDINOv3:
    """Build the model from a config (pretrained backbone per MODEL.ENCODER)."""
    return SUTrackDINOv3(cfg)
