"""Box heads of sutrack_dinov3 (SUTrack's CENTER, CORNER and MLP), reading the search feature map.

Input: B x C x h x w (search tokens reshaped, plus the similarity map channels). Output: a dict with
`pred_boxes` B x 1 x 4 normalised (cx, cy, w, h) in the search crop, `score_map` B x 1 x h x w, and
for CENTER `size_map` / `offset_map` B x 2 x h x w.
"""
from __future__ import annotations

import math

import torch
from torch import nn
from yacs.config import CfgNode

from lib.utils.box_ops import box_xyxy_to_cxcywh


def conv_bn_relu(in_ch: int, out_ch: int, kernel: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(in_ch, out_ch, kernel, padding=kernel // 2, bias=False),
                         nn.BatchNorm2d(out_ch), nn.ReLU(inplace=True))


def conv_tower(in_ch: int, channels: int, out_ch: int, kernel: int) -> nn.Sequential:
    """SUTrack's tower: C -> N -> N/2 -> N/4 -> N/8 (conv-BN-ReLU), then a 1x1 conv to `out_ch` maps."""
    widths = [in_ch, channels, channels // 2, channels // 4, channels // 8]
    layers = [conv_bn_relu(a, b, kernel) for a, b in zip(widths[:-1], widths[1:])]
    return nn.Sequential(*layers, nn.Conv2d(widths[-1], out_ch, 1))


class MLP(nn.Module):
    """A plain MLP (Linear-ReLU ... Linear), used by the MLP box head and the task decoder."""

    def __init__(self, in_dim: int, hidden_dim: int, out_dim: int, num_layers: int):
        super().__init__()
        dims = [in_dim] + [hidden_dim] * (num_layers - 1) + [out_dim]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(dims[:-1], dims[1:]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for i, layer in enumerate(self.layers):
            x = layer(x) if i == len(self.layers) - 1 else torch.relu(layer(x))
        return x


SCORE_PRIOR = 0.1  # initial score-map probability (CenterNet's bias init): the focal loss starts sane


def init_score_bias(layer: nn.Conv2d | nn.Linear, prior: float = SCORE_PRIOR) -> None:
    """Start a score logit at `prior` instead of 0.5, so early training is not spent pushing every cell down."""
    nn.init.constant_(layer.bias, -math.log((1.0 - prior) / prior))


def _clamped_sigmoid(x: torch.Tensor) -> torch.Tensor:
    return torch.sigmoid(x).clamp(1e-4, 1 - 1e-4)


def cal_bbox(score_map: torch.Tensor, size_map: torch.Tensor, offset_map: torch.Tensor,
             return_score: bool = False):
    """Box at the score map's argmax: ((ix + off_x) / W, (iy + off_y) / H, w, h), normalised cxcywh (B x 4)."""
    _, _, h, w = score_map.shape
    max_score, idx = score_map.flatten(1).max(dim=1, keepdim=True)  # B x 1
    idx_y = torch.div(idx, w, rounding_mode="floor")
    idx_x = idx - idx_y * w
    gather = idx[:, None].expand(-1, 2, 1)  # B x 2 x 1
    size = size_map.flatten(2).gather(2, gather).squeeze(-1)  # B x 2
    offset = offset_map.flatten(2).gather(2, gather).squeeze(-1)  # B x 2
    box = torch.cat([(idx_x.to(size.dtype) + offset[:, :1]) / w, (idx_y.to(size.dtype) + offset[:, 1:]) / h, size], 1)
    return (box, max_score) if return_score else box


def select_box(out: dict, window: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Head outputs -> the tracker's box (B x 4 normalised cxcywh) and score (B).

    CENTER head with a Hann window: `cal_bbox` at the windowed score map's peak; otherwise the head's own
    box and its score map's peak. One function, so the eager tracker and the ONNX step graph agree.
    """
    if window is not None and "size_map" in out:
        box, score = cal_bbox(out["score_map"] * window, out["size_map"], out["offset_map"], return_score=True)
        return box, score[:, 0]
    return out["pred_boxes"][:, 0], out["score_map"].flatten(1).amax(1)


class CenterHead(nn.Module):
    """CenterNet-style head: score (centre), size and sub-cell offset maps."""

    def __init__(self, in_ch: int, channels: int, kernel: int):
        super().__init__()
        self.score = conv_tower(in_ch, channels, 1, kernel)
        init_score_bias(self.score[-1])
        self.size = conv_tower(in_ch, channels, 2, kernel)
        self.offset = conv_tower(in_ch, channels, 2, kernel)

    def forward(self, x: torch.Tensor) -> dict:
        score_map = _clamped_sigmoid(self.score(x))
        size_map = _clamped_sigmoid(self.size(x))
        offset_map = self.offset(x)
        boxes = cal_bbox(score_map, size_map, offset_map)
        return {"pred_boxes": boxes[:, None], "score_map": score_map, "size_map": size_map, "offset_map": offset_map}


class CornerHead(nn.Module):
    """Two towers for the top-left / bottom-right corner heat maps; soft-argmax gives the box."""

    def __init__(self, in_ch: int, channels: int, kernel: int):
        super().__init__()
        self.tl = conv_tower(in_ch, channels, 1, kernel)
        self.br = conv_tower(in_ch, channels, 1, kernel)

    @staticmethod
    def soft_argmax(logits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """B x 1 x h x w logits -> expected normalised (x, y) of cell centres (B x 2) and the probability map."""
        _, _, h, w = logits.shape
        prob = logits.flatten(1).softmax(-1)  # B x (h * w)
        ys = (torch.arange(h, device=logits.device, dtype=prob.dtype) + 0.5) / h
        xs = (torch.arange(w, device=logits.device, dtype=prob.dtype) + 0.5) / w
        grid_x = xs.repeat(h)
        grid_y = ys.repeat_interleave(w)
        return torch.stack([(prob * grid_x).sum(-1), (prob * grid_y).sum(-1)], -1), prob.view_as(logits)

    def forward(self, x: torch.Tensor) -> dict:
        tl, prob_tl = self.soft_argmax(self.tl(x))
        br, prob_br = self.soft_argmax(self.br(x))
        boxes = box_xyxy_to_cxcywh(torch.cat([tl, br], -1))
        score_map = (prob_tl * prob_br).sqrt()
        score_map = score_map / score_map.flatten(1).amax(-1)[:, None, None, None]  # peak = 1
        return {"pred_boxes": boxes[:, None], "score_map": score_map}


class MLPHead(nn.Module):
    """Per-cell MLP: a score logit and a cxcywh box for each search token; the best-scoring cell wins."""

    def __init__(self, in_ch: int, channels: int):
        super().__init__()
        self.score = MLP(in_ch, channels, 1, 3)
        init_score_bias(self.score.layers[-1])
        self.box = MLP(in_ch, channels, 4, 3)

    def forward(self, x: torch.Tensor) -> dict:
        b, _, h, w = x.shape
        tokens = x.flatten(2).transpose(1, 2)  # B x (h * w) x C
        score_map = _clamped_sigmoid(self.score(tokens)).transpose(1, 2).reshape(b, 1, h, w)
        boxes = self.box(tokens).sigmoid()  # B x (h * w) x 4
        idx = score_map.flatten(1).argmax(1)
        return {"pred_boxes": boxes[torch.arange(b, device=x.device), idx][:, None], "score_map": score_map}


def build_box_head(cfg: CfgNode, in_channels: int) -> nn.Module:
    """MODEL.DECODER -> head; the head's input width is decided by the encoder (tokens + similarity map)."""
    dec = cfg.MODEL.DECODER
    kernel = {"normal": 3, "small": 1}.get(dec.CONV_TYPE)
    if kernel is None:
        raise ValueError(f"MODEL.DECODER.CONV_TYPE must be normal or small, got '{dec.CONV_TYPE}'")
    if dec.TYPE == "CENTER":
        head = CenterHead(in_channels, dec.NUM_CHANNELS, kernel)
    elif dec.TYPE == "CORNER":
        head = CornerHead(in_channels, dec.NUM_CHANNELS, kernel)
    elif dec.TYPE == "MLP":
        head = MLPHead(in_channels, dec.NUM_CHANNELS)
    else:
        raise ValueError(f"MODEL.DECODER.TYPE must be CENTER, CORNER or MLP, got '{dec.TYPE}'")
    if dec.XAVIER_INIT:
        for m in head.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)) and m.weight.dim() > 1:
                nn.init.xavier_uniform_(m.weight)
    return head
