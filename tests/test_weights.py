"""DINOv3 ConvNeXt weights from every source: hub id / HF folder, `timm:<name>`, timm and Meta checkpoint files.

No network: tiny random models are saved in each source's own format and loaded back through the real code
(`load_convnext`, timm's hub loader, `from_pretrained`, tracking/convert_weights.py).

Where the source key names come from:
- timm: timm/models/convnext.py of the installed timm (`stem.0/1`, `stages.i.downsample.0/1`,
  `stages.i.blocks.j.{conv_dw,norm,mlp.fc1,mlp.fc2,gamma}`, `head.norm`); the tests build timm's own model.
- Meta: facebookresearch/dinov3, dinov3/models/convnext.py (`ConvNeXt.__init__`; read in an unmodified fork,
  chahyon-ku/dinov3, as the search index lacks the upstream file): `downsample_layers.0` is
  the stem (conv, LayerNorm), `downsample_layers.i` (i>0) is (LayerNorm, conv); blocks are
  `stages.i.j.{dwconv,norm,pwconv1,pwconv2,gamma}`; the final `norm` is also registered as `norms.3`.
  Its training checkpoints keep the backbone under `teacher` with a `backbone.` prefix beside the DINO heads.
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import huggingface_hub
import pytest
import timm
import torch
from safetensors.torch import save_file
from timm.models import get_pretrained_cfg
from timm.models.convnext import ConvNeXt
from transformers import DINOv3ConvNextConfig, DINOv3ConvNextModel

from lib.models.sutrack_dinov3.weights import (
    CONVNEXT_ARCHS,
    WeightsMismatchError,
    WeightsUnavailableError,
    load_convnext,
)

TINY = {"hidden_sizes": [8, 16, 24, 32], "depths": [1, 1, 2, 1]}
# timm -> Meta names, written from dinov3/models/convnext.py (see the module docstring), not from the loader.
TIMM_TO_META = (
    (r"stem\.(\d)\.", r"downsample_layers.0.\1."),
    (r"stages\.(\d+)\.downsample\.(\d)\.", r"downsample_layers.\1.\2."),
    (r"stages\.(\d+)\.blocks\.(\d+)\.conv_dw\.", r"stages.\1.\2.dwconv."),
    (r"stages\.(\d+)\.blocks\.(\d+)\.mlp\.fc(\d)\.", r"stages.\1.\2.pwconv\3."),
    (r"stages\.(\d+)\.blocks\.(\d+)\.", r"stages.\1.\2."),  # norm, gamma keep their names
    (r"head\.norm\.", r"norm."),
)


def _perturb(module: torch.nn.Module) -> torch.nn.Module:
    """Move every parameter off its init (layer scale 1e-6, norms 1/0) so that each one matters."""
    torch.manual_seed(0)
    with torch.no_grad():
        for p in module.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    return module.eval()


def _timm_convnext(conv_mlp: bool = False) -> ConvNeXt:
    """A tiny random timm ConvNeXt (DINOv3's block: layer scale, LayerNorm eps 1e-6, GELU)."""
    return _perturb(ConvNeXt(depths=TINY["depths"], dims=TINY["hidden_sizes"], num_classes=0,
                             ls_init_value=1e-6, conv_mlp=conv_mlp))


def _to_meta(state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """timm's state dict under Meta's DINOv3 names."""
    out = {}
    for key, value in state_dict.items():
        for pattern, replacement in TIMM_TO_META:
            new = re.sub("^" + pattern, replacement, key)
            if new != key:
                out[new] = value
                break
    out["norms.3.weight"], out["norms.3.bias"] = out["norm.weight"], out["norm.bias"]
    return out


@pytest.fixture(scope="module")
def pixels() -> torch.Tensor:
    torch.manual_seed(1)
    return torch.randn(2, 3, 64, 64)


def _assert_same_features(model: DINOv3ConvNextModel, net: ConvNeXt, pixels: torch.Tensor) -> None:
    """Stage-3 maps (stride 16) and the final-norm pooled vector of the HF model equal timm's own."""
    with torch.no_grad():
        out = model.eval()(pixels, output_hidden_states=True)
        want = net.forward_intermediates(pixels, indices=[2], intermediates_only=True)[0]
        pooled = net.forward_head(net.forward_features(pixels), pre_logits=True)
    assert out.hidden_states[3].shape == want.shape
    torch.testing.assert_close(out.hidden_states[3], want, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(out.pooler_output, pooled, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("name, conv_mlp", [("model.safetensors", False), ("ckpt.pth", True)])
def test_timm_checkpoint_file(tmp_path, pixels, name, conv_mlp):
    net = _timm_convnext(conv_mlp)
    path = tmp_path / name
    if path.suffix == ".safetensors":
        save_file(net.state_dict(), path)
    else:  # a training checkpoint: wrapped and DataParallel-prefixed
        torch.save({"state_dict": {f"module.{k}": v for k, v in net.state_dict().items()}, "epoch": 3}, path)
    model = load_convnext(str(path), TINY, {"drop_path_rate": 0.1})
    assert model.config.drop_path_rate == 0.1
    _assert_same_features(model, net, pixels)


def test_timm_hub_folder(tmp_path, pixels):
    """A folder as `hf download timm/<name>` leaves it: timm's config.json and two weight files."""
    net = _timm_convnext()
    (tmp_path / "config.json").write_text(json.dumps({"architecture": "convnext_tiny", "num_classes": 0}))
    save_file(net.state_dict(), tmp_path / "model.safetensors")
    torch.save(net.state_dict(), tmp_path / "pytorch_model.bin")
    _assert_same_features(load_convnext(str(tmp_path), TINY, {}), net, pixels)


def test_meta_checkpoint_file(tmp_path, pixels):
    net = _timm_convnext()
    teacher = {f"backbone.{k}": v for k, v in _to_meta(net.state_dict()).items()}
    teacher["dino_head.mlp.0.weight"] = torch.zeros(4, 32)
    torch.save({"teacher": teacher}, tmp_path / "dinov3_convnext_tiny.pth")
    model = load_convnext(str(tmp_path / "dinov3_convnext_tiny.pth"), TINY, {})
    _assert_same_features(model, net, pixels)


def test_timm_source_uses_timms_hub_cache(tmp_path, pixels, monkeypatch):
    """`timm:<name>` goes through timm's own loader: offline with an empty cache it explains the timm case;
    once the cache holds the file (placed where huggingface_hub's documented cache layout keeps it) it loads.
    convnext_atto (3.7 M params, conv_mlp, 1000-class head) stands in for the DINOv3 names to keep this fast."""
    assert get_pretrained_cfg("convnext_tiny.dinov3_lvd1689m").hf_hub_id == "timm/convnext_tiny.dinov3_lvd1689m"
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path))
    source, arch = "timm:convnext_atto.d2_in1k", {"hidden_sizes": [40, 80, 160, 320], "depths": [2, 2, 6, 2]}
    with pytest.raises(WeightsUnavailableError, match="offline") as err:
        load_convnext(source, arch, {})
    assert "timm's copy of 'convnext_atto.d2_in1k'" in str(err.value) and "convert_weights.py" in str(err.value)

    net = _perturb(timm.create_model("convnext_atto", pretrained=False))
    repo = tmp_path / "models--timm--convnext_atto.d2_in1k"
    (repo / "snapshots" / ("0" * 40)).mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("0" * 40)
    save_file(net.state_dict(), repo / "snapshots" / ("0" * 40) / "model.safetensors")
    _assert_same_features(load_convnext(source, arch, {}), net, pixels)


def test_size_and_key_mismatches_name_what_differs(tmp_path):
    net = _timm_convnext()
    save_file(net.state_dict(), tmp_path / "tiny.safetensors")
    base = CONVNEXT_ARCHS["dinov3_convnext_base"]
    with pytest.raises(WeightsMismatchError) as err:
        load_convnext(str(tmp_path / "tiny.safetensors"), base, {})
    message = str(err.value)
    assert "[8, 16, 24, 32]" in message and "[128, 256, 512, 1024]" in message
    assert "dinov3_convnext_base" in message and "tiny.safetensors" in message
    with pytest.raises(WeightsMismatchError, match="HF_CONFIG sets depths"):
        load_convnext(str(tmp_path / "tiny.safetensors"), None, {"depths": [1, 1, 1, 1]})

    broken = dict(net.state_dict())
    del broken["stages.2.blocks.1.gamma"]
    broken["stages.2.blocks.1.extra.weight"] = torch.zeros(3)
    save_file(broken, tmp_path / "broken.safetensors")
    with pytest.raises(WeightsMismatchError) as err:
        load_convnext(str(tmp_path / "broken.safetensors"), None, {})
    assert "missing 1: model.stages.2.layers.1.gamma" in str(err.value)
    assert "unexpected 1: stages.2.blocks.1.extra.weight" in str(err.value)


def test_hf_folder_and_file_load_back(tmp_path):
    saved = _perturb(DINOv3ConvNextModel(DINOv3ConvNextConfig(**TINY)))
    saved.save_pretrained(tmp_path / "hf")
    for source in (tmp_path / "hf", tmp_path / "hf" / "model.safetensors"):
        loaded = load_convnext(str(source), TINY, {})
        assert loaded.state_dict().keys() == saved.state_dict().keys()
        for key, value in saved.state_dict().items():
            assert torch.equal(loaded.state_dict()[key], value), (source, key)
    with pytest.raises(WeightsMismatchError, match="dinov3_convnext_large expects widths"):
        load_convnext(str(tmp_path / "hf"), CONVNEXT_ARCHS["dinov3_convnext_large"], {})


def test_missing_folder_names_the_folder_case(tmp_path):
    missing = tmp_path / "no_such_weights"
    with pytest.raises(WeightsUnavailableError, match="folder .* does not exist") as err:
        load_convnext(str(missing), None, {})
    assert "MODEL.ENCODER.PRETRAIN_TYPE" in str(err.value) and "Fix:" in str(err.value)


def test_unknown_hub_id_offline_names_the_offline_case(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path))
    with pytest.raises(WeightsUnavailableError, match="offline") as err:
        load_convnext("facebook/dinov3-convnext-nonexistent", None, {})
    assert "HF_HUB_OFFLINE=1" in str(err.value)


def test_convert_weights_round_trip(tmp_path, pixels, repo_root):
    net = _timm_convnext()
    torch.save(_to_meta(net.state_dict()), tmp_path / "meta.pth")
    done = subprocess.run([sys.executable, str(repo_root / "tracking" / "convert_weights.py"),
                           str(tmp_path / "meta.pth"), str(tmp_path / "out")],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "layout meta" in done.stdout and "widths [8, 16, 24, 32]" in done.stdout
    assert {p.name for p in Path(tmp_path / "out").iterdir()} >= {"config.json", "model.safetensors"}
    _assert_same_features(DINOv3ConvNextModel.from_pretrained(tmp_path / "out"), net, pixels)
