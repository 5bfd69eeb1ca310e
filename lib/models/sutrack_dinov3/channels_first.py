"""The ConvNeXt blocks in (N, C, H, W) throughout: an export form for runtimes that prefer it (OpenVINO).

transformers' ConvNeXt block runs `dwconv -> permute to NHWC -> LayerNorm -> Linear -> GELU -> Linear ->
x gamma -> permute back`, the fast form in eager PyTorch. Exported, each block carries two Transposes,
and OpenVINO's CPU plugin adds layout reorders around them. The same block written channels-first
(LayerNorm over the channel axis, its affine part folded into the first Linear, the Linears as 1x1
convolutions, gamma folded into the second one) is the same function with no transposes at all: OpenVINO
runs it as 1x1 convolutions on its blocked layout (default backbone, AVX2, 2 threads: 51 ms against 55 ms).
ONNX Runtime prefers the Linear form, so only the OpenVINO graphs are exported this way. Weights are shared
with the source modules.
"""
from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn
from transformers.models.dinov3_convnext.modeling_dinov3_convnext import DINOv3ConvNextLayer, DINOv3ConvNextLayerNorm


def channel_normalise(x: torch.Tensor, eps: float) -> torch.Tensor:
    """Zero mean, unit variance over the channels of B x C x H x W (a LayerNorm without its affine part)."""
    centred = x - x.mean(1, keepdim=True)
    var = (centred * centred).mean(1, keepdim=True)
    return centred * torch.rsqrt(var + eps)


def channel_layer_norm(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, eps: float) -> torch.Tensor:
    """LayerNorm over the channels of B x C x H x W (what a channels_last LayerNorm does after a permute)."""
    return channel_normalise(x, eps) * weight[:, None, None] + bias[:, None, None]


class ChannelsFirstLayerNorm(nn.Module):
    """A channels_first DINOv3ConvNextLayerNorm without its two permutes."""

    def __init__(self, norm: DINOv3ConvNextLayerNorm):
        super().__init__()
        self.norm = norm

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return channel_layer_norm(x, self.norm.weight, self.norm.bias, self.norm.eps)


class ChannelsFirstBlock(nn.Module):
    """A DINOv3ConvNextLayer (inference) as dwconv -> channel LayerNorm -> 1x1 conv -> GELU -> 1x1 conv."""

    def __init__(self, block: DINOv3ConvNextLayer):
        super().__init__()
        self.block = block

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b = self.block
        y = b.depthwise_conv(x)
        y = channel_normalise(y, b.layer_norm.eps)
        # the LayerNorm's affine part folded into the first 1x1 conv: W (w * n + b) + c = (W w) n + (W b + c)
        norm_w, norm_b, fc1 = b.layer_norm.weight, b.layer_norm.bias, b.pointwise_conv1
        y = F.conv2d(y, (fc1.weight * norm_w)[:, :, None, None], fc1.bias + fc1.weight @ norm_b)  # C -> 4C, 1x1
        y = b.activation_fn(y)
        gamma = b.gamma
        y = F.conv2d(y, (b.pointwise_conv2.weight * gamma[:, None])[:, :, None, None], b.pointwise_conv2.bias * gamma)
        return x + y  # drop path is the identity at inference


def _swap(module: nn.Module) -> None:
    for name, child in module.named_children():
        if isinstance(child, DINOv3ConvNextLayer):
            setattr(module, name, ChannelsFirstBlock(child))
        elif isinstance(child, DINOv3ConvNextLayerNorm) and child.data_format == "channels_first":
            setattr(module, name, ChannelsFirstLayerNorm(child))
        else:
            _swap(child)


def channels_first_copy(network: nn.Module) -> nn.Module:
    """A copy of `network` (eval mode) whose ConvNeXt blocks and channels_first LayerNorms run channels-first."""
    if network.training:
        raise ValueError("the channels-first form is for inference: its blocks leave out drop path")
    copied = copy.deepcopy(network)
    _swap(copied)
    return copied.eval()
