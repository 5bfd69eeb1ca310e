"""Where backbone and text-encoder weights come from, and the one error raised when they cannot be had.

`WeightsUnavailableError` names the case (gated repository / no token, offline / no cache, folder or file
missing or incomplete, timm cache empty) and the fix, so a user never has to decode a hub stack trace.

`load_convnext` reads DINOv3 ConvNeXt weights from every source users can reach (REFERENCE.md 10.11):
a hub id or HF folder, `timm:<name>` (timm's own hub copy), or a checkpoint file in timm's, Meta's
(facebookresearch/dinov3) or HF's key layout, renamed by one mapping into the HF model.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from transformers import DINOv3ConvNextConfig, DINOv3ConvNextModel

from lib.utils.hub import cache_only, hub_reachable, offline_flag


class WeightsUnavailableError(RuntimeError):
    """Pretrained weights could not be loaded; the message says why and what to do."""


class WeightsMismatchError(WeightsUnavailableError):
    """Weights were found but do not fit the configured architecture (sizes, keys or shapes)."""


SOURCE_KEY = "MODEL.ENCODER.PRETRAIN_TYPE"
TYPE_KEY = "MODEL.ENCODER.TYPE"
OVERRIDES_KEY = "MODEL.ENCODER.HF_CONFIG"
TIMM_PREFIX = "timm:"
_WHAT = "DINOv3 ConvNeXt"

# The four sizes Meta released (dinov3/models/convnext.py `convnext_sizes`), keyed by MODEL.ENCODER.TYPE.
CONVNEXT_ARCHS: dict[str, dict[str, list[int]]] = {
    "dinov3_convnext_tiny": {"hidden_sizes": [96, 192, 384, 768], "depths": [3, 3, 9, 3]},
    "dinov3_convnext_small": {"hidden_sizes": [96, 192, 384, 768], "depths": [3, 3, 27, 3]},
    "dinov3_convnext_base": {"hidden_sizes": [128, 256, 512, 1024], "depths": [3, 3, 27, 3]},
    "dinov3_convnext_large": {"hidden_sizes": [192, 384, 768, 1536], "depths": [3, 3, 27, 3]},
}

_FIX_GATED = ("accept Meta's licence on the model page at huggingface.co, create a read token and "
              "`export HF_TOKEN=hf_...` (or `hf auth login`); if the access request is refused, set "
              "PRETRAIN_TYPE to timm's copy of the same weights, e.g. `timm:convnext_tiny.dinov3_lvd1689m`")
_FIX_FOLDER = ("download once on a machine with access (`hf download <repo> --local-dir DIR`, "
               "or tracking/convert_weights.py from timm / Meta files) and set PRETRAIN_TYPE to that folder")
_FIX_OFFLINE = "or fill the hub cache once and run with `HF_HUB_OFFLINE=1`"
_FIX_TIMM = ("run once with network access `python -c \"import timm; "
             "timm.create_model('{name}', pretrained=True)\"` (fills the hub cache; then `HF_HUB_OFFLINE=1` "
             "works), or `python tracking/convert_weights.py timm:{name} DIR` and set PRETRAIN_TYPE to DIR")
_FIX_TIMM_NAME = ("name one of timm's DINOv3 ConvNeXt models, e.g. `timm:convnext_tiny.dinov3_lvd1689m` "
                  "(`timm.list_pretrained('*dinov3*')` lists them; older timm versions lack them)")
_FIX_FILE = ("download the checkpoint again; `.pth`/`.pt` files are read with "
             "`torch.load(weights_only=True)`, so a file holding pickled objects must be re-saved as a plain "
             "state dict (or as `.safetensors`)")
_FILE_SUFFIXES = (".safetensors", ".pth", ".pt", ".bin", ".ckpt")
_OFFLINE_WORDS = ("offline", "connect", "resolve", "network", "cannot find the requested",
                  "localentrynotfound", "couldn't connect", "timed out")


def looks_like_path(source: str) -> bool:
    """True when `source` names a local file or folder rather than a hub repository id."""
    path = Path(source).expanduser()
    return (source.startswith((".", "/", "~")) or source.count("/") > 1 or path.suffix in _FILE_SUFFIXES
            or path.exists())


def _path_case(source: str, what: str) -> tuple[str, str]:
    """(case, fix) for a local file or folder source."""
    path = Path(source).expanduser()
    kind = "file" if path.suffix in _FILE_SUFFIXES or path.is_file() else "folder"
    fix = f"point {SOURCE_KEY} at a complete folder or a checkpoint file: {_FIX_FOLDER}"
    if not path.exists():
        return f"the {kind} '{source}' does not exist", fix
    if kind == "file":
        return f"the file '{source}' is unreadable, truncated or not a {what} checkpoint", _FIX_FILE
    return f"the folder '{source}' is incomplete or not a {what} checkpoint (config or weights missing)", fix


def explain_failure(what: str, source: str, config_key: str, exc: BaseException) -> WeightsUnavailableError:
    """Turn a loading exception into a WeightsUnavailableError naming the case and the fix."""
    text = f"{type(exc).__name__}: {exc}"
    lowered = text.lower()
    offline = offline_flag() or any(k in lowered for k in _OFFLINE_WORDS)
    if source.startswith(TIMM_PREFIX):
        name = source[len(TIMM_PREFIX):]
        fix = _FIX_TIMM.format(name=name)
        if "unknown model" in lowered or "invalid pretrained tag" in lowered:
            case, fix = f"timm has no model '{name}'", _FIX_TIMM_NAME
        elif offline:
            case = f"the hub is unreachable (offline) and timm's copy of '{name}' is not in the hub cache"
        else:
            case = f"timm could not fetch the weights of '{name}'"
    elif looks_like_path(source):
        case, fix = _path_case(source, what)
    elif any(k in lowered for k in ("gated", "401", "403", "access to model", "restricted", "authenticat")):
        case = f"'{source}' is a gated repository and this machine has no accepted access token"
        fix = f"{_FIX_GATED}; or {_FIX_FOLDER}"
    elif offline:
        case = f"the hub is unreachable (offline) and '{source}' is not in the local cache"
        fix = f"{_FIX_FOLDER}, {_FIX_OFFLINE}"
    elif any(k in lowered for k in ("not found", "404", "repositorynotfound", "does not appear")):
        case = f"'{source}' is neither an existing folder nor a repository on the hub"
        fix = f"check the spelling of {config_key}; {_FIX_FOLDER}"
    else:
        case = f"loading '{source}' failed"
        fix = f"{_FIX_GATED}; or {_FIX_FOLDER}, {_FIX_OFFLINE}"
    return WeightsUnavailableError(
        f"{what} weights unavailable ({config_key} = '{source}'): {case}.\nFix: {fix}.\nCause: {text}"
    )


# --------------------------------------------------------------------------------------------------------
# Key layouts. Every layout is renamed to the names HF writes to disk (`stages.<i>.downsample_layers.<0|1>`,
# `stages.<i>.layers.<j>.{depthwise_conv,layer_norm,pointwise_conv1,pointwise_conv2,gamma}`, `layer_norm`).


@dataclass(frozen=True)
class _Layout:
    """How one family of checkpoints names the ConvNeXt parameters."""

    anchors: tuple[str, ...]  # the stem conv weight: finds the layout and any wrapper prefix before it
    rules: tuple[tuple[str, str], ...]  # (full-match regex, replacement) into HF disk names
    block_names: dict[str, str] = field(default_factory=dict)  # module renames inside a block
    ignore: str = r"$^"  # keys dropped on purpose (classifier heads, duplicate norms)


_LAYOUTS: dict[str, _Layout] = {
    # transformers' modeling_dinov3_convnext.py (in memory under `model.`, on disk without it).
    "hf": _Layout(
        anchors=("model.stages.0.downsample_layers.0.weight", "stages.0.downsample_layers.0.weight"),
        rules=((r"(?:model\.)?(stages\.\d+\.(?:downsample_layers|layers)\..+)", r"\1"),
               (r"(layer_norm\.\w+)", r"\1")),
    ),
    # timm/models/convnext.py: stem.{0,1}, stages.i.downsample.{0,1}, stages.i.blocks.j.*, head.norm.
    "timm": _Layout(
        anchors=("stem.0.weight",),
        rules=((r"stem\.(\d)\.(\w+)", r"stages.0.downsample_layers.\1.\2"),
               (r"stages\.(\d+)\.downsample\.(\d)\.(\w+)", r"stages.\1.downsample_layers.\2.\3"),
               (r"stages\.(\d+)\.blocks\.(\d+)\.(.+)", r"stages.\1.layers.\2.\3"),
               (r"head\.norm\.(\w+)", r"layer_norm.\1")),
        block_names={"conv_dw": "depthwise_conv", "norm": "layer_norm", "mlp.fc1": "pointwise_conv1",
                     "mlp.fc2": "pointwise_conv2"},
        ignore=r"head\.(?:fc|pre_logits)\..*",
    ),
    # facebookresearch/dinov3 dinov3/models/convnext.py: downsample_layers.i.{0,1}, stages.i.j.*, norm
    # (`norms.3` is the same module as `norm`; `head` is an Identity there, a classifier elsewhere).
    "meta": _Layout(
        anchors=("downsample_layers.0.0.weight",),
        rules=((r"downsample_layers\.(\d+)\.(\d)\.(\w+)", r"stages.\1.downsample_layers.\2.\3"),
               (r"stages\.(\d+)\.(\d+)\.(.+)", r"stages.\1.layers.\2.\3"),
               (r"norm\.(\w+)", r"layer_norm.\1")),
        block_names={"dwconv": "depthwise_conv", "norm": "layer_norm", "pwconv1": "pointwise_conv1",
                     "pwconv2": "pointwise_conv2"},
        ignore=r"(?:norms|head)\..*",
    ),
}
_WRAPPER_KEYS = ("teacher", "model", "state_dict", "model_ema", "module")
_SIZE_KEYS = ("hidden_sizes", "depths", "num_channels")  # fixed by the weights; HF_CONFIG may not change them


@dataclass
class ConvNextWeights:
    """What a weights source holds: HF-named tensors plus the layout and sizes found in them."""

    source: str
    layout: str
    state_dict: dict[str, torch.Tensor]
    hidden_sizes: list[int]
    depths: list[int]
    num_channels: int
    renamed_from: dict[str, str] = field(default_factory=dict)  # HF name -> name in the source
    dropped: list[str] = field(default_factory=list)  # source keys left out on purpose

    @property
    def where(self) -> str:
        """The source as error messages name it."""
        return f"'{self.source}' ({SOURCE_KEY}, {self.layout} layout)"

    def summary(self) -> str:
        """One line for logs and convert_weights.py: layout, sizes, parameter count."""
        params = sum(t.numel() for t in self.state_dict.values())
        name = arch_name(self.hidden_sizes, self.depths) or "no released size"
        return (f"layout {self.layout}, widths {self.hidden_sizes}, depths {self.depths} ({name}), "
                f"{self.num_channels} input channels, {params / 1e6:.2f} M params, "
                f"{len(self.dropped)} keys dropped")


def arch_name(hidden_sizes: list[int], depths: list[int]) -> str | None:
    """The MODEL.ENCODER.TYPE with these widths and depths, or None."""
    for name, arch in CONVNEXT_ARCHS.items():
        if list(arch["hidden_sizes"]) == list(hidden_sizes) and list(arch["depths"]) == list(depths):
            return name
    return None


def _listing(keys: list[str], limit: int = 5) -> str:
    """`n: a, b, c, ...` for error messages."""
    keys = sorted(keys)
    more = f", ... ({len(keys) - limit} more)" if len(keys) > limit else ""
    return f"{len(keys)}: " + ", ".join(keys[:limit]) + more


def _unwrap(obj: Any, source: str) -> dict[str, torch.Tensor]:
    """The tensor dict inside a checkpoint that may wrap it under 'teacher' / 'model' / 'state_dict'."""
    where = f"'{source}' ({SOURCE_KEY})"
    while isinstance(obj, dict) and not any(isinstance(v, torch.Tensor) for v in obj.values()):
        inner = next((obj[k] for k in _WRAPPER_KEYS if isinstance(obj.get(k), dict)), None)
        if inner is None:
            raise WeightsMismatchError(
                f"{where} holds no state dict: top-level keys {_listing([str(k) for k in obj])}; "
                f"expected tensors, or one of {list(_WRAPPER_KEYS)} wrapping them")
        obj = inner
    if not isinstance(obj, dict):
        raise WeightsMismatchError(f"{where} holds a {type(obj).__name__}, not a state dict")
    return {k: v for k, v in obj.items() if isinstance(v, torch.Tensor)}


def _find_layout(keys: list[str], source: str) -> tuple[str, str]:
    """(layout name, wrapper prefix such as 'module.backbone.') found from the stem conv's key."""
    for layout_name, layout in _LAYOUTS.items():
        for anchor in layout.anchors:
            prefixes = {k[: -len(anchor)] for k in keys if k == anchor or k.endswith("." + anchor)}
            if len(prefixes) > 1:
                teacher = [p for p in prefixes if "teacher" in p]
                if len(teacher) != 1:
                    raise WeightsMismatchError(
                        f"'{source}' ({SOURCE_KEY}) holds several ConvNeXt backbones under prefixes "
                        f"{sorted(prefixes)}; save the one you want on its own")
                prefixes = set(teacher)
            if prefixes:
                return layout_name, prefixes.pop()
    raise WeightsMismatchError(
        f"'{source}' ({SOURCE_KEY}) holds no ConvNeXt in a known layout (timm, Meta DINOv3, HF): "
        f"no stem convolution among keys {_listing(keys)}")


def _rename(key: str, layout: _Layout) -> str | None:
    """The HF disk name of one source key, or None when no rule of the layout matches it."""
    for pattern, replacement in layout.rules:
        match = re.fullmatch(pattern, key)
        if match is None:
            continue
        name = match.expand(replacement)
        block = re.fullmatch(r"(stages\.\d+\.layers\.\d+\.)(.+)", name)
        if block:
            head, rest = block.groups()
            old = next((o for o in layout.block_names if rest.startswith(o + ".")), None)
            name = head + (layout.block_names[old] + rest[len(old):] if old else rest)
        return name
    return None


def to_hf_names(state_dict: dict[str, torch.Tensor], source: str) -> ConvNextWeights:
    """Rename a timm / Meta / HF ConvNeXt state dict to HF names; infer widths, depths, input channels."""
    layout_name, prefix = _find_layout(list(state_dict), source)
    layout = _LAYOUTS[layout_name]
    found = ConvNextWeights(source, layout_name, {}, [], [], 0)
    unknown = []
    for key, tensor in state_dict.items():
        short = key[len(prefix):]
        if not key.startswith(prefix) or re.fullmatch(layout.ignore, short):
            found.dropped.append(key)
        elif (name := _rename(short, layout)) is None:
            unknown.append(key)
        else:
            found.state_dict[name], found.renamed_from[name] = tensor, key
    if unknown:
        raise WeightsMismatchError(
            f"{found.where} has keys that are not part of a DINOv3 ConvNeXt, unexpected {_listing(unknown)}")
    tensors = found.state_dict
    stages = sorted({int(k.split(".")[1]) for k in tensors if k.startswith("stages.")})
    convs = [f"stages.{i}.downsample_layers.{min(i, 1)}.weight" for i in range(max(stages, default=0) + 1)]
    missing = [c for c in convs if c not in tensors]
    if missing:
        raise WeightsMismatchError(f"{found.where} lacks stage convolutions, missing {_listing(missing)}")
    found.hidden_sizes = [tensors[c].shape[0] for c in convs]
    found.depths = [len({k.split(".")[3] for k in tensors if k.startswith(f"stages.{i}.layers.")})
                    for i in range(len(convs))]
    found.num_channels = tensors[convs[0]].shape[1]
    return found


# --------------------------------------------------------------------------------------------------------
# Sources.


def _read_file(path: Path, source: str) -> Any:
    """The contents of a checkpoint file, read as data (safetensors, or torch.load with weights_only)."""
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            return load_file(str(path), device="cpu")
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any reader failure becomes the one error type
        raise explain_failure(_WHAT, source, SOURCE_KEY, exc) from exc


def _read_timm(name: str, source: str) -> dict[str, torch.Tensor]:
    """Tensors of timm's pretrained `name`, fetched through timm's own hub loader and cache."""
    try:
        import timm

        with cache_only(not hub_reachable()):  # offline: the cache or an error now, not minutes of retries
            model = timm.create_model(name, pretrained=True, num_classes=0)
    except Exception as exc:  # noqa: BLE001 - hub, cache and name failures all become the one error type
        raise explain_failure(f"{_WHAT} (timm)", source, SOURCE_KEY, exc) from exc
    return model.state_dict()


def _weights_file_in(folder: Path) -> Path | None:
    """The checkpoint file of a folder that is not an HF DINOv3 ConvNeXt folder (e.g. timm's hub folder)."""
    config = folder / "config.json"
    if config.is_file():
        try:
            if json.loads(config.read_text()).get("model_type") == DINOv3ConvNextConfig.model_type:
                return None
        except (OSError, ValueError):
            return None
    files = [p for p in sorted(folder.iterdir()) if p.suffix in _FILE_SUFFIXES and p.is_file()]
    safe = [p for p in files if p.suffix == ".safetensors"]
    for group in (safe, files):  # timm's hub folders hold model.safetensors beside pytorch_model.bin
        if len(group) == 1:
            return group[0]
    return None


def read_convnext_weights(source: str) -> ConvNextWeights | None:
    """HF-named tensors of a `timm:` name, checkpoint file or non-HF folder; None for hub ids, HF folders."""
    if source.startswith(TIMM_PREFIX):
        return to_hf_names(_read_timm(source[len(TIMM_PREFIX):], source), source)
    path = Path(source).expanduser()
    if path.is_dir():
        path = _weights_file_in(path) or path
    if path.is_file():
        return to_hf_names(_unwrap(_read_file(path, source), source), source)
    if looks_like_path(source) and not path.exists():
        raise explain_failure(_WHAT, source, SOURCE_KEY, FileNotFoundError(str(path)))
    return None


# --------------------------------------------------------------------------------------------------------
# Checks and the entry point.


def _check_sizes(where: str, sizes: dict[str, Any], arch: dict | None, overrides: dict) -> None:
    """Raise when the weights' sizes differ from MODEL.ENCODER.TYPE's or from sizes set in HF_CONFIG."""
    hidden_sizes, depths = list(sizes["hidden_sizes"]), list(sizes["depths"])
    if arch is not None and (hidden_sizes, depths) != (list(arch["hidden_sizes"]), list(arch["depths"])):
        want_sizes, want_depths = list(arch["hidden_sizes"]), list(arch["depths"])
        found_name = arch_name(hidden_sizes, depths)
        want_name = arch_name(want_sizes, want_depths) or "(custom)"
        fix = f"set {TYPE_KEY} to {found_name}" if found_name else f"set the sizes in {OVERRIDES_KEY}"
        raise WeightsMismatchError(
            f"{where} holds a ConvNeXt with widths {hidden_sizes} depths {depths} "
            f"({found_name or 'no released size'}); {TYPE_KEY} {want_name} expects widths {want_sizes} "
            f"depths {want_depths}.\nFix: {fix}, or point {SOURCE_KEY} at {want_name} weights.")
    given = {k: list(v) if isinstance(v, (list, tuple)) else v for k, v in overrides.items()}
    clashes = [f"{k}={given[k]} (weights: {v})" for k, v in sizes.items() if k in given and given[k] != v]
    if clashes:
        raise WeightsMismatchError(
            f"{where}: {OVERRIDES_KEY} sets {', '.join(clashes)}, which the pretrained weights cannot fill.\n"
            f"Fix: drop these overrides, or set MODEL.ENCODER.PRETRAINED False for random weights.")


def _model_key(disk_name: str, model: DINOv3ConvNextModel) -> str:
    """The in-memory state-dict key of an HF disk name (transformers >= 5 nests the stages in `.model`)."""
    return f"model.{disk_name}" if disk_name.startswith("stages.") and hasattr(model, "model") else disk_name


def _as_model(found: ConvNextWeights, overrides: dict) -> DINOv3ConvNextModel:
    """An HF model built from the found sizes and filled with the found tensors; keys and shapes checked."""
    sizes = {k: getattr(found, k) for k in _SIZE_KEYS}
    model = DINOv3ConvNextModel(DINOv3ConvNextConfig(**{**sizes, **overrides}))
    expected = model.state_dict()
    tensors, unexpected, shapes = {}, [], []
    for name, tensor in found.state_dict.items():
        key, source_key = _model_key(name, model), found.renamed_from[name]
        want = expected.get(key)
        if want is None:
            unexpected.append(source_key)
            continue
        if tensor.shape != want.shape and tensor.squeeze().shape == want.squeeze().shape:
            tensor = tensor.reshape(want.shape)  # timm's conv_mlp keeps the pointwise layers as 1x1 convs
        if tensor.shape != want.shape:
            shapes.append(f"{source_key} {tuple(tensor.shape)} vs {tuple(want.shape)}")
        tensors[key] = tensor
    missing = [k for k in expected if k not in tensors]
    problems = [f"{label} {_listing(keys)}" for label, keys in
                (("missing", missing), ("unexpected", unexpected), ("wrong shape", shapes)) if keys]
    if problems:
        raise WeightsMismatchError(f"{found.where} does not fit DINOv3ConvNextModel: " + "; ".join(problems))
    model.load_state_dict(tensors, strict=True)
    return model


def _from_hf(source: str, arch: dict | None, overrides: dict) -> DINOv3ConvNextModel:
    """`from_pretrained` of a hub id or HF folder, with the size checks and the one error type."""
    where = f"'{source}' ({SOURCE_KEY})"
    try:
        with cache_only(not looks_like_path(source) and not hub_reachable()):  # offline: cache or error now
            config = DINOv3ConvNextConfig.from_pretrained(source)
            _check_sizes(where, {k: getattr(config, k) for k in _SIZE_KEYS}, arch, overrides)
            model, info = DINOv3ConvNextModel.from_pretrained(source, output_loading_info=True, **overrides)
    except WeightsUnavailableError:
        raise
    except Exception as exc:  # noqa: BLE001 - hub, token, cache and folder failures become the one error type
        raise explain_failure(_WHAT, source, SOURCE_KEY, exc) from exc
    problems = [f"{label} {_listing([str(k) for k in info[label]])}"
                for label in ("missing_keys", "mismatched_keys") if info.get(label)]
    if problems:
        raise WeightsMismatchError(f"{where} does not fit DINOv3ConvNextModel: " + "; ".join(problems))
    return model


def load_convnext_with_report(source: str, arch: dict | None, overrides: dict
                              ) -> tuple[DINOv3ConvNextModel, ConvNextWeights | None]:
    """`load_convnext`, also returning what a file or timm source held (None for hub ids and HF folders)."""
    found = read_convnext_weights(source)
    if found is None:
        return _from_hf(source, arch, overrides), None
    _check_sizes(found.where, {k: getattr(found, k) for k in _SIZE_KEYS}, arch, overrides)
    return _as_model(found, overrides), found


def load_convnext(source: str, arch: dict | None, overrides: dict) -> DINOv3ConvNextModel:
    """The pretrained HF DINOv3 ConvNeXt of a hub id, HF folder, `timm:<name>` or checkpoint file."""
    return load_convnext_with_report(source, arch, overrides)[0]
