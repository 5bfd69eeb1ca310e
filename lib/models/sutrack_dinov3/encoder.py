"""DINOv3 ConvNeXt encoder of sutrack_dinov3: shared CNN, tokens, token types and the relation module.

A CNN sees template and search separately, so nothing would relate them; the relation module (joint
self-attention over [cls?, search, template(s), text?]) and the template-search similarity map bring
the template into the prediction. See docs/design.md, "Architecture".
"""
from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.nn.functional as F
from timm.layers import LayerNorm2d, trunc_normal_
from timm.models.vision_transformer import Block
from torch import nn
from torch.utils.checkpoint import checkpoint
from transformers import DINOv3ConvNextConfig, DINOv3ConvNextModel
from yacs.config import CfgNode

from lib.utils.grid import feature_grid, num_stages

from .weights import CONVNEXT_ARCHS, load_convnext

ENCODER_ARCHS = CONVNEXT_ARCHS  # MODEL.ENCODER.TYPE -> widths and depths


def build_hf_convnext(enc: CfgNode) -> DINOv3ConvNextModel:
    """The HF ConvNeXt of MODEL.ENCODER: pretrained from PRETRAIN_TYPE, or random from its config."""
    if enc.TYPE not in ENCODER_ARCHS:
        raise ValueError(f"MODEL.ENCODER.TYPE '{enc.TYPE}' is unknown; choose one of {sorted(ENCODER_ARCHS)}")
    overrides = {k: (list(v) if isinstance(v, (list, tuple)) else v) for k, v in dict(enc.HF_CONFIG).items()}
    overrides.setdefault("drop_path_rate", float(enc.DROP_PATH))
    arch = None if {"hidden_sizes", "depths"} & set(overrides) else ENCODER_ARCHS[enc.TYPE]
    if enc.PRETRAINED:
        return load_convnext(enc.PRETRAIN_TYPE, arch, overrides)
    return DINOv3ConvNextModel(DINOv3ConvNextConfig(**{**ENCODER_ARCHS[enc.TYPE], **overrides}))


def widen_stem(stem: nn.Conv2d, in_chans: int, mode: str) -> nn.Conv2d:
    """A stem conv taking `in_chans` (6 for RGB+X) initialised from the RGB kernel (SUTrack's PATCHEMBED_INIT)."""
    if in_chans == stem.in_channels:
        return stem
    if in_chans % stem.in_channels:
        raise ValueError(f"cannot widen a {stem.in_channels}-channel stem to {in_chans} channels")
    new = nn.Conv2d(in_chans, stem.out_channels, stem.kernel_size, stem.stride, stem.padding,
                    bias=stem.bias is not None)
    repeats = in_chans // stem.in_channels
    with torch.no_grad():
        rgb = stem.weight
        if mode == "copy":
            new.weight.copy_(rgb.repeat(1, repeats, 1, 1))
        elif mode == "halfcopy":
            new.weight.copy_(rgb.repeat(1, repeats, 1, 1) / repeats)
        elif mode == "random":
            new.weight[:, : stem.in_channels].copy_(rgb)  # the X half keeps its random init
        else:
            raise ValueError(f"MODEL.ENCODER.PATCHEMBED_INIT must be copy, halfcopy or random, got '{mode}'")
        if stem.bias is not None:
            new.bias.copy_(stem.bias)
    return new


class ConvNeXtBody(nn.Module):
    """Stem .. the last stage needed for the output stride (stage 4 is not kept at stride 16)."""

    def __init__(self, hf_model: DINOv3ConvNextModel, stride: int, in_chans: int, patchembed_init: str,
                 use_checkpoint: bool = False):
        super().__init__()
        n = num_stages(stride)
        # transformers >= 5 nests the stages under `.model`; 4.56+ kept them on the model itself.
        stages = hf_model.model.stages if hasattr(hf_model, "model") else hf_model.stages
        self.stages = nn.ModuleList(list(stages)[:n])
        stem_layers = self.stages[0].downsample_layers
        stem_layers[0] = widen_stem(stem_layers[0], in_chans, patchembed_init)
        self.out_channels = hf_model.config.hidden_sizes[n - 1]
        self.use_checkpoint = use_checkpoint

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = images
        for stage in self.stages:
            x = checkpoint(stage, x, use_reentrant=False) if self.use_checkpoint and self.training else stage(x)
        return x  # B x out_channels x h x w


class TemplateFeatures(NamedTuple):
    """Everything the per-frame step needs from the template(s): computed once per sequence."""

    tokens: torch.Tensor  # B x (n * Nt) x D, with position and token-type embeddings
    appearance: torch.Tensor  # B x (n * Nt) x D, L2-normalised projected features (similarity map)
    foreground: torch.Tensor  # B x (n * Nt), fraction of each token's cell inside the template box


def box_coverage(anno: torch.Tensor, grid: tuple[int, int], cell: tuple[float, float]) -> torch.Tensor:
    """Fraction of each grid cell covered by a normalised (x, y, w, h) box: B x 4 -> B x (h * w).

    `cell` is the cell side in normalised crop units (stride / crop size), so grids that floor (112 at
    stride 32 covers 96 px) stay exact.
    """
    gh, gw = grid
    x0, y0 = anno[:, 0:1], anno[:, 1:2]
    x1, y1 = x0 + anno[:, 2:3], y0 + anno[:, 3:4]
    edges_x = torch.arange(gw + 1, device=anno.device, dtype=anno.dtype) * cell[1]
    edges_y = torch.arange(gh + 1, device=anno.device, dtype=anno.dtype) * cell[0]
    cover_x = (torch.minimum(x1, edges_x[1:]) - torch.maximum(x0, edges_x[:-1])).clamp(min=0) / cell[1]  # B x gw
    cover_y = (torch.minimum(y1, edges_y[1:]) - torch.maximum(y0, edges_y[:-1])).clamp(min=0) / cell[0]  # B x gh
    return (cover_y[:, :, None] * cover_x[:, None, :]).flatten(1)  # B x (gh * gw)


def similarity_map(search: torch.Tensor, template: TemplateFeatures, grid: tuple[int, int]) -> torch.Tensor:
    """Cosine of each search token to the template's foreground tokens: mean and max, B x 2 x h x w."""
    sim = F.normalize(search, dim=-1) @ template.appearance.transpose(1, 2)  # B x Ns x Nt
    fg = template.foreground  # B x Nt
    mean = (sim * fg[:, None]).sum(-1) / fg.sum(-1, keepdim=True).clamp(min=1e-6)
    core = fg >= 0.5 * fg.amax(-1, keepdim=True)  # tokens at least half as covered as the best one
    peak = sim.masked_fill(~core[:, None], -2.0).amax(-1)
    return torch.stack([mean, peak], 1).unflatten(2, grid)  # B x 2 x gh x gw


class SUTrackEncoder(nn.Module):
    """CNN features -> tokens (+ position, token type) -> relation module over all tokens."""

    def __init__(self, cfg: CfgNode):
        super().__init__()
        enc, fusion = cfg.MODEL.ENCODER, cfg.MODEL.FUSION
        self.stride = enc.STRIDE
        self.embed_dim = dim = enc.EMBED_DIM
        self.pos_type = enc.POS_TYPE
        self.token_type_indicate = enc.TOKEN_TYPE_INDICATE
        self.use_template = fusion.TEMPLATE_TOKENS
        self.correlation = fusion.CORRELATION and fusion.TEMPLATE_TOKENS
        in_chans = 6 if cfg.DATA.MULTI_MODAL_VISION else 3

        self.body = ConvNeXtBody(build_hf_convnext(enc), enc.STRIDE, in_chans, enc.PATCHEMBED_INIT, enc.USE_CHECKPOINT)
        self.neck = nn.Sequential(LayerNorm2d(self.body.out_channels), nn.Conv2d(self.body.out_channels, dim, 1))

        self.search_grid = feature_grid(cfg.DATA.SEARCH.SIZE, enc.STRIDE)
        self.template_grid = feature_grid(cfg.DATA.TEMPLATE.SIZE, enc.STRIDE)
        self.pos_search = nn.Parameter(torch.zeros(1, math.prod(self.search_grid), dim))
        self.pos_template = nn.Parameter(torch.zeros(1, math.prod(self.template_grid), dim))
        self.type_search = nn.Parameter(torch.zeros(1, 1, dim))
        self.type_foreground = nn.Parameter(torch.zeros(1, 1, dim))
        self.type_background = nn.Parameter(torch.zeros(1, 1, dim))
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim)) if enc.CLASS_TOKEN else None

        rates = torch.linspace(0, fusion.DROP_PATH, max(fusion.DEPTH, 1)).tolist()
        self.blocks = nn.ModuleList(
            Block(dim, fusion.NUM_HEADS, fusion.MLP_RATIO, qkv_bias=True, drop_path=rates[i])
            for i in range(fusion.DEPTH)
        )
        self.norm = nn.LayerNorm(dim)
        self.use_checkpoint = enc.USE_CHECKPOINT
        for p in (self.pos_search, self.pos_template, self.type_search, self.type_foreground, self.type_background):
            trunc_normal_(p, std=0.02)
        if self.cls_token is not None:
            trunc_normal_(self.cls_token, std=0.02)

    # ------------------------------------------------------------------ tokens
    def embed(self, images: torch.Tensor) -> tuple[torch.Tensor, tuple[int, int]]:
        """Images B x C x H x W -> projected tokens B x (h * w) x D and the grid (h, w)."""
        feats = self.neck(self.body(images))  # B x D x h x w
        return feats.flatten(2).transpose(1, 2), (feats.shape[2], feats.shape[3])

    def position(self, table: torch.Tensor, table_grid: tuple[int, int], grid: tuple[int, int]) -> torch.Tensor:
        """The position table for `grid`; other grids than the trained one need POS_TYPE interpolate."""
        if tuple(grid) == tuple(table_grid):
            return table
        if self.pos_type != "interpolate":
            raise ValueError(f"input gives a {grid} grid but the position table is {table_grid}; use the trained "
                             "crop sizes or set MODEL.ENCODER.POS_TYPE: interpolate")
        table = table.transpose(1, 2).unflatten(2, table_grid)  # 1 x D x th x tw
        return F.interpolate(table, size=grid, mode="bicubic", align_corners=False).flatten(2).transpose(1, 2)

    def encode_template(self, template_list: list[torch.Tensor], template_anno_list: list[torch.Tensor]
                        ) -> TemplateFeatures:
        """Template crops and their normalised boxes -> cached template features (once per sequence)."""
        n, batch = len(template_list), template_list[0].shape[0]
        tokens, grid = self.embed(torch.cat(template_list, 0))  # (n * B) x Nt x D
        size = template_list[0].shape[-2:]
        cell = (self.stride / size[0], self.stride / size[1])
        fg = box_coverage(torch.cat(template_anno_list, 0).to(tokens.dtype), grid, cell)  # (n * B) x Nt
        appearance = F.normalize(tokens, dim=-1)
        tokens = tokens + self.position(self.pos_template, self.template_grid, grid)
        if self.token_type_indicate:
            w = fg[..., None]
            tokens = tokens + w * self.type_foreground + (1 - w) * self.type_background

        def per_sample(t: torch.Tensor) -> torch.Tensor:  # (n * B) x Nt ... -> B x (n * Nt) ...
            return t.unflatten(0, (n, batch)).transpose(0, 1).flatten(1, 2)

        return TemplateFeatures(per_sample(tokens), per_sample(appearance), per_sample(fg))

    def forward(self, search: torch.Tensor, template: TemplateFeatures | None, text: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor | None, tuple[int, int]]:
        """Search crop (+ cached template, text token) -> (tokens B x L x D, similarity map or None, grid)."""
        tokens, grid = self.embed(search)  # B x Ns x D
        sim = similarity_map(tokens, template, grid) if self.correlation and template is not None else None
        tokens = tokens + self.position(self.pos_search, self.search_grid, grid)
        if self.token_type_indicate:
            tokens = tokens + self.type_search
        parts = [] if self.cls_token is None else [self.cls_token.expand(tokens.shape[0], -1, -1)]
        parts.append(tokens)
        if self.use_template and template is not None:
            parts.append(template.tokens)
        if text is not None:
            parts.append(text)
        x = torch.cat(parts, 1)  # B x ([1] + Ns + n * Nt + [1]) x D
        for block in self.blocks:
            x = checkpoint(block, x, use_reentrant=False) if self.use_checkpoint and self.training else block(x)
        return self.norm(x), sim, grid
