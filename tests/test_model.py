"""Model and config: grids, shapes, HF loading, errors, 6-channel stem, text path, template cache."""
from __future__ import annotations

import pytest
import torch
from transformers import DINOv3ConvNextConfig, DINOv3ConvNextModel

from lib.config.sutrack_dinov3.config import get_default_config, load_config, update_config_from_file
from lib.models.sutrack_dinov3 import WeightsUnavailableError, build_sutrack_dinov3
from lib.models.sutrack_dinov3.clip import tokenize
from lib.models.sutrack_dinov3.encoder import box_coverage, widen_stem
from lib.utils.grid import feature_grid, feature_size

TINY = "experiments/sutrack_dinov3/tiny.yaml"


def tiny_cfg(**overrides):
    """The tiny config with dotted-key overrides, e.g. tiny_cfg(**{"MODEL.DECODER.TYPE": "MLP"})."""
    cfg = load_config(TINY)
    cfg.defrost()
    cfg.merge_from_list([item for pair in overrides.items() for item in pair])
    cfg.freeze()
    return cfg


def inputs(cfg, batch=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    chans = 6 if cfg.DATA.MULTI_MODAL_VISION else 3
    t = torch.randn(batch, chans, cfg.DATA.TEMPLATE.SIZE, cfg.DATA.TEMPLATE.SIZE, generator=g)
    s = torch.randn(batch, chans, cfg.DATA.SEARCH.SIZE, cfg.DATA.SEARCH.SIZE, generator=g)
    anno = torch.tensor([[0.25, 0.25, 0.5, 0.5]]).repeat(batch, 1)
    return t, s, anno


@pytest.mark.parametrize("head", ["CENTER", "MLP"])
def test_score_map_starts_at_the_prior(head):
    """A fresh head scores cells near SCORE_PRIOR, not 0.5 (CenterNet's bias init, a sane first focal loss)."""
    from lib.models.sutrack_dinov3.decoder import SCORE_PRIOR

    torch.manual_seed(0)
    cfg = tiny_cfg(**{"MODEL.DECODER.TYPE": head})
    model = build_sutrack_dinov3(cfg).eval()
    t, s, anno = inputs(cfg, batch=4)
    last = model.decoder.score[-1] if head == "CENTER" else model.decoder.score.layers[-1]

    def median_score() -> float:
        with torch.no_grad():
            return model.forward_decoder(model.forward_encoder([t], [s], [anno]))["score_map"].median().item()

    assert abs(median_score() - SCORE_PRIOR) < 0.1
    with torch.no_grad():
        last.bias.zero_()  # what the head would start from without the prior
    assert median_score() > 0.3


@pytest.mark.parametrize(("size", "stride", "expected"), [
    (112, 16, 7), (112, 32, 3), (128, 16, 8), (128, 32, 4), (224, 16, 14), (224, 32, 7),
    (256, 16, 16), (256, 32, 8), (384, 16, 24), (384, 32, 12),
])
def test_grid_sizes(size, stride, expected):
    assert feature_size(size, stride) == expected


@pytest.mark.parametrize("size", [112, 128, 130, 224])
def test_grid_matches_real_convnext(size):
    """The derived grid is what the HF ConvNeXt actually produces at every stage."""
    model = DINOv3ConvNextModel(DINOv3ConvNextConfig(hidden_sizes=[8, 8, 8, 8], depths=[1, 1, 1, 1])).eval()
    with torch.no_grad():
        hidden = model(torch.zeros(1, 3, size, size), output_hidden_states=True).hidden_states
    for stride, fmap in zip((4, 8, 16, 32), hidden[1:]):
        assert tuple(fmap.shape[-2:]) == feature_grid(size, stride)


def test_grid_rejects_bad_stride():
    with pytest.raises(ValueError, match="STRIDE"):
        feature_size(224, 24)


@pytest.mark.parametrize("head", ["CENTER", "CORNER", "MLP"])
@pytest.mark.parametrize("cls_token", [False, True])
def test_output_shapes(head, cls_token):
    cfg = tiny_cfg(**{"MODEL.DECODER.TYPE": head, "MODEL.ENCODER.CLASS_TOKEN": cls_token})
    model = build_sutrack_dinov3(cfg)
    t, s, anno = inputs(cfg)
    feature = model.forward_encoder([t], [s], [anno])
    gh, gw = feature_grid(cfg.DATA.SEARCH.SIZE, cfg.MODEL.ENCODER.STRIDE)
    th, tw = feature_grid(cfg.DATA.TEMPLATE.SIZE, cfg.MODEL.ENCODER.STRIDE)
    assert feature[0].shape == (2, int(cls_token) + gh * gw + th * tw, cfg.MODEL.ENCODER.EMBED_DIM)
    assert feature[1].shape == (2, 2, gh, gw)
    out, task = model(feature=feature, mode="decoder")
    assert out["pred_boxes"].shape == (2, 1, 4)
    assert out["score_map"].shape == (2, 1, gh, gw)
    if head == "CENTER":
        assert out["size_map"].shape == out["offset_map"].shape == (2, 2, gh, gw)
    assert task.shape == (2, cfg.MODEL.TASK_NUM)
    (out["pred_boxes"].sum() + task.sum()).backward()
    assert model.encoder.body.stages[0].downsample_layers[0].weight.grad is not None


def test_default_config_shapes_match_design():
    """docs/design.md's shapes table: 112/224 at stride 16 -> 7x7 / 14x14 maps, 245 tokens, 14x14 score map."""
    cfg = load_config("experiments/sutrack_dinov3/sutrack_dinov3.yaml")
    cfg.defrost()
    cfg.MODEL.ENCODER.PRETRAINED = False
    model = build_sutrack_dinov3(cfg).eval()
    t, s, anno = inputs(cfg, batch=1)
    with torch.no_grad():
        assert model.encoder.body(s).shape == (1, 384, 14, 14)
        assert model.encoder.body(t).shape == (1, 384, 7, 7)
        feature = model.forward_encoder([t], [s], [anno])
        out = model.forward_decoder(feature)
    assert feature[0].shape == (1, 196 + 49, 256)
    assert feature[1].shape == (1, 2, 14, 14)
    assert out["score_map"].shape == (1, 1, 14, 14)
    assert len(model.encoder.body.stages) == 3  # stage 4 is not kept at stride 16


def test_stride32_config_grids():
    cfg = load_config("experiments/sutrack_dinov3/sutrack_dinov3_stride32.yaml")
    assert feature_grid(cfg.DATA.TEMPLATE.SIZE, cfg.MODEL.ENCODER.STRIDE) == (4, 4)
    assert feature_grid(cfg.DATA.SEARCH.SIZE, cfg.MODEL.ENCODER.STRIDE) == (7, 7)


def test_hf_folder_roundtrip(tmp_path):
    """A tiny HF model saved with save_pretrained loads back through PRETRAIN_TYPE with equal weights."""
    hf_cfg = DINOv3ConvNextConfig(hidden_sizes=[24, 48, 96, 192], depths=[1, 1, 2, 1])
    source = DINOv3ConvNextModel(hf_cfg)
    source.save_pretrained(tmp_path / "convnext")
    cfg = tiny_cfg(**{"MODEL.ENCODER.PRETRAINED": True, "MODEL.ENCODER.PRETRAIN_TYPE": str(tmp_path / "convnext")})
    model = build_sutrack_dinov3(cfg)
    ours = model.encoder.body.stages.state_dict()
    theirs = {k.split("stages.", 1)[1]: v for k, v in source.state_dict().items() if "stages." in k}
    assert set(ours) == {k for k in theirs if int(k.split(".")[0]) < 3}
    for key, value in ours.items():
        torch.testing.assert_close(value, theirs[key], rtol=0, atol=0)


def test_missing_folder_error_names_case(tmp_path):
    cfg = tiny_cfg(**{"MODEL.ENCODER.PRETRAINED": True, "MODEL.ENCODER.PRETRAIN_TYPE": str(tmp_path / "nowhere")})
    with pytest.raises(WeightsUnavailableError, match="does not exist") as err:
        build_sutrack_dinov3(cfg)
    assert "PRETRAIN_TYPE" in str(err.value)


def test_offline_hub_error_names_case(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    cfg = tiny_cfg(**{"MODEL.ENCODER.PRETRAINED": True,
                      "MODEL.ENCODER.PRETRAIN_TYPE": "facebook/dinov3-convnext-tiny-pretrain-lvd1689m"})
    with pytest.raises(WeightsUnavailableError, match="offline") as err:
        build_sutrack_dinov3(cfg)
    assert "HF_TOKEN" in str(err.value) or "HF_HUB_OFFLINE" in str(err.value)


def test_unknown_config_key_names_key_and_file(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("MODEL:\n  ENCODER:\n    STRDE: 16\n")
    with pytest.raises(ValueError, match=r"MODEL\.ENCODER\.STRDE not exist in config\.py \(in .*bad\.yaml\)"):
        update_config_from_file(bad, get_default_config())


def test_config_type_mismatch(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("TRAIN:\n  EPOCH: many\n")
    with pytest.raises(ValueError, match="TRAIN.EPOCH"):
        update_config_from_file(bad, get_default_config())


@pytest.mark.parametrize(("mode", "rgb_scale", "x_scale"), [("copy", 1.0, 1.0), ("halfcopy", 0.5, 0.5)])
def test_six_channel_stem_init(mode, rgb_scale, x_scale):
    stem = torch.nn.Conv2d(3, 8, 4, 4)
    wide = widen_stem(stem, 6, mode)
    torch.testing.assert_close(wide.weight[:, :3], stem.weight * rgb_scale)
    torch.testing.assert_close(wide.weight[:, 3:], stem.weight * x_scale)
    torch.testing.assert_close(wide.bias, stem.bias)


def test_six_channel_stem_random_keeps_rgb():
    stem = torch.nn.Conv2d(3, 8, 4, 4)
    wide = widen_stem(stem, 6, "random")
    torch.testing.assert_close(wide.weight[:, :3], stem.weight)
    assert not torch.allclose(wide.weight[:, 3:], stem.weight)


def test_six_channel_model_loads_pretrained(tmp_path):
    """Pretrained 3-channel weights go into a 6-channel stem without failing (halfcopy)."""
    source = DINOv3ConvNextModel(DINOv3ConvNextConfig(hidden_sizes=[24, 48, 96, 192], depths=[1, 1, 2, 1]))
    source.save_pretrained(tmp_path / "convnext")
    cfg = tiny_cfg(**{"MODEL.ENCODER.PRETRAINED": True, "MODEL.ENCODER.PRETRAIN_TYPE": str(tmp_path / "convnext"),
                      "DATA.MULTI_MODAL_VISION": True})
    model = build_sutrack_dinov3(cfg)
    stem = model.encoder.body.stages[0].downsample_layers[0].weight
    rgb = source.state_dict()["model.stages.0.downsample_layers.0.weight"]
    torch.testing.assert_close(stem, torch.cat([rgb, rgb], 1) / 2)
    t, s, anno = inputs(cfg)
    assert model.forward_decoder(model.forward_encoder([t], [s], [anno]))["pred_boxes"].shape == (2, 1, 4)


def test_text_changes_prediction():
    """Random tiny open_clip text tower: same frames, two sentences -> two different score maps."""
    cfg = tiny_cfg(**{"DATA.MULTI_MODAL_LANGUAGE": True})
    model = build_sutrack_dinov3(cfg).eval()
    t, s, anno = inputs(cfg, batch=1)
    ids = tokenize(["a red car on the left", "the dog running in the grass"])
    assert ids.shape == (2, 77) and not torch.equal(ids[0], ids[1])
    with torch.no_grad():
        text = model(text_data=ids, mode="text")
        assert text.shape == (2, 1, cfg.MODEL.ENCODER.EMBED_DIM)
        maps = [model.forward_decoder(model.forward_encoder([t], [s], [anno], text_src=text[i:i + 1]))["score_map"]
                for i in range(2)]
    assert not torch.allclose(maps[0], maps[1])
    assert torch.count_nonzero(tokenize([None])) == 0


def test_template_cache_equals_uncached():
    cfg = tiny_cfg()
    model = build_sutrack_dinov3(cfg).eval()
    t, s, anno = inputs(cfg)
    with torch.no_grad():
        direct = model.forward_decoder(model.forward_encoder([t], [s], [anno]))
        cache = model.encode_template([t], [anno])
        cached = model.track_step(s, cache)
    for key in direct:
        torch.testing.assert_close(direct[key], cached[key])


def test_template_matters():
    """Same search crop, two templates -> two score maps; the template-blind ablation ignores it."""
    cfg = tiny_cfg()
    model = build_sutrack_dinov3(cfg).eval()
    t, s, anno = inputs(cfg, batch=1)
    t2 = torch.randn_like(t)
    with torch.no_grad():
        a = model.track_step(s, model.encode_template([t], [anno]))["score_map"]
        b = model.track_step(s, model.encode_template([t2], [anno]))["score_map"]
    assert (a - b).abs().max() > 1e-4

    blind = build_sutrack_dinov3(tiny_cfg(**{"MODEL.FUSION.TEMPLATE_TOKENS": False})).eval()
    assert blind.encode_template([t], [anno]) is None
    with torch.no_grad():
        a = blind.forward_decoder(blind.forward_encoder([t], [s], [anno]))["score_map"]
        b = blind.forward_decoder(blind.forward_encoder([t2], [s], [anno]))["score_map"]
    torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_multiple_templates():
    cfg = tiny_cfg()
    model = build_sutrack_dinov3(cfg).eval()
    t, s, anno = inputs(cfg)
    with torch.no_grad():
        feature = model.forward_encoder([t, t.flip(-1)], [s], [anno, anno])
    th, tw = feature_grid(cfg.DATA.TEMPLATE.SIZE, cfg.MODEL.ENCODER.STRIDE)
    gh, gw = feature_grid(cfg.DATA.SEARCH.SIZE, cfg.MODEL.ENCODER.STRIDE)
    assert feature[0].shape[1] == gh * gw + 2 * th * tw


def test_box_coverage_exact():
    """Token-type weights are the exact fraction of each cell inside the template box."""
    anno = torch.tensor([[0.25, 0.0, 0.5, 0.5]])
    cover = box_coverage(anno, (2, 2), (0.5, 0.5)).view(2, 2)
    torch.testing.assert_close(cover, torch.tensor([[0.5, 0.5], [0.0, 0.0]]))
    # A floored grid (112 px at stride 32 -> 3 cells of 32 px) keeps cells in crop units.
    cover = box_coverage(torch.tensor([[0.0, 0.0, 96 / 112, 96 / 112]]), (3, 3), (32 / 112, 32 / 112))
    torch.testing.assert_close(cover, torch.ones(1, 9))


def test_interpolated_positions_for_other_crop_sizes():
    cfg = tiny_cfg(**{"MODEL.ENCODER.POS_TYPE": "interpolate"})
    model = build_sutrack_dinov3(cfg).eval()
    t, _, anno = inputs(cfg, batch=1)
    with torch.no_grad():
        out = model.track_step(torch.randn(1, 3, 160, 160), model.encode_template([t], [anno]))
    assert out["score_map"].shape[-2:] == feature_grid(160, cfg.MODEL.ENCODER.STRIDE)
    strict = build_sutrack_dinov3(tiny_cfg()).eval()
    with pytest.raises(ValueError, match="POS_TYPE"):
        strict.track_step(torch.randn(1, 3, 160, 160), strict.encode_template([t], [anno]))


def test_base_config_inheritance(tmp_path):
    """`_BASE_` merges the named YAML first; the ablation config differs from tiny in one key only."""
    blind = load_config("experiments/sutrack_dinov3/tiny_template_blind.yaml")
    tiny = load_config(TINY)
    assert blind.MODEL.FUSION.TEMPLATE_TOKENS is False and tiny.MODEL.FUSION.TEMPLATE_TOKENS is True
    blind.defrost()
    blind.MODEL.FUSION.TEMPLATE_TOKENS = True
    assert blind == tiny
    loop = tmp_path / "loop.yaml"
    loop.write_text("_BASE_: loop.yaml\n")
    with pytest.raises(ValueError, match="names the file itself"):
        load_config(loop)
