"""The channels-first export form computes what transformers' ConvNeXt computes, and OpenVINO runs it."""
from __future__ import annotations

import pytest
import torch
from transformers import DINOv3ConvNextConfig
from transformers.models.dinov3_convnext.modeling_dinov3_convnext import DINOv3ConvNextLayer, DINOv3ConvNextStage

from lib.models.sutrack_dinov3.channels_first import ChannelsFirstBlock, channels_first_copy
from lib.test.parameter.sutrack_dinov3 import parameters
from lib.test.tracker.backends import onnx_export as ox
from lib.test.tracker.sutrack_dinov3 import build_network


def _randomise(module: torch.nn.Module, seed: int) -> None:
    """Every parameter random (layer scale and LayerNorm affine too: their defaults would hide a dropped term)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * 0.5)


def test_block_matches_the_transformers_block():
    config = DINOv3ConvNextConfig(hidden_sizes=[8, 16], depths=[1, 1], num_channels=3)
    block = DINOv3ConvNextLayer(config, channels=16).eval()
    _randomise(block, 0)
    x = torch.randn(2, 16, 9, 7, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        want, got = block(x), ChannelsFirstBlock(block)(x)
    assert not torch.allclose(want, x)
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)


def test_stage_with_channels_first_norms_matches():
    """A later stage starts with a channels_first LayerNorm then a strided conv: both swapped, same output."""
    config = DINOv3ConvNextConfig(hidden_sizes=[8, 16], depths=[1, 2], num_channels=3)
    stage = DINOv3ConvNextStage(config, 1).eval()
    _randomise(stage, 2)
    x = torch.randn(1, 8, 12, 12, generator=torch.Generator().manual_seed(3))
    copied = channels_first_copy(stage)
    assert sum(isinstance(m, ChannelsFirstBlock) for m in copied.modules()) == 2
    with torch.no_grad():
        torch.testing.assert_close(copied(x), stage(x), atol=1e-5, rtol=1e-5)


def test_network_copy_tracks_like_the_network_and_leaves_it_alone():
    params = parameters("tiny", random_weights=True)
    network = build_network(params)
    copied = channels_first_copy(network)
    assert any(isinstance(m, DINOv3ConvNextLayer) for m in network.modules())  # the original is untouched
    assert any(isinstance(m, ChannelsFirstBlock) for m in copied.modules())
    template_inputs, step_inputs = ox.example_inputs(network, params, False)
    with torch.inference_mode():
        for net in (network, copied):
            net.cache = net.encode_template([template_inputs[0]], [template_inputs[1]])
        torch.testing.assert_close(copied.cache.tokens, network.cache.tokens, atol=1e-4, rtol=1e-4)
        want = network.track_step(step_inputs[0], network.cache)
        got = copied.track_step(step_inputs[0], copied.cache)
    torch.testing.assert_close(got["score_map"], want["score_map"], atol=1e-4, rtol=1e-4)
    with pytest.raises(ValueError, match="inference"):
        channels_first_copy(network.train())


def test_channels_first_graph_has_no_transposes_in_the_backbone(tmp_path):
    """The point of the form: the exported backbone carries no Transpose (the linear form has two per block)."""
    import onnx

    params = parameters("tiny", random_weights=True)
    network = build_network(params)
    counts = {}
    for form in ox.FORMS:
        path = ox.export_graphs(network, params, tmp_path, ("backbone",), form=form)["backbone"]
        assert path.name == ox.graph_file(tmp_path, "backbone", form).name
        counts[form] = sum(n.op_type == "Transpose" for n in onnx.load(str(path)).graph.node)
    blocks = sum(isinstance(m, DINOv3ConvNextLayer) for m in network.encoder.body.modules())
    assert counts["linear"] >= 2 * blocks and counts["channels_first"] == 0
