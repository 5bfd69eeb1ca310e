"""Defaults of sutrack_dinov3 (SUTrack's key names, yacs) and the YAML loader that rejects unknown keys."""
from __future__ import annotations

import ast
import sys
from pathlib import Path

import yaml
from yacs.config import CfgNode as CN

from lib.utils.settings import PROJECT_ROOT
from lib.utils.yamlio import load_yaml_file, parse_yaml_value

_C = CN()

# ----------------------------------------------------------------------------- MODEL
_C.MODEL = CN()
_C.MODEL.TASK_NUM = 5
_C.MODEL.TASK_INDEX = CN()  # dataset name (upper case) -> task class of the task decoder
_C.MODEL.TASK_INDEX.VASTTRACK = 0
_C.MODEL.TASK_INDEX.LASOT = 0
_C.MODEL.TASK_INDEX.TRACKINGNET = 0
_C.MODEL.TASK_INDEX.GOT10K = 0
_C.MODEL.TASK_INDEX.COCO = 0
_C.MODEL.TASK_INDEX.CUSTOM = 0
_C.MODEL.TASK_INDEX.TNL2K = 1
_C.MODEL.TASK_INDEX.OTB99 = 1
_C.MODEL.TASK_INDEX.REFCOCOG = 1
_C.MODEL.TASK_INDEX.DEPTHTRACK = 2
_C.MODEL.TASK_INDEX.LASHER = 3
_C.MODEL.TASK_INDEX.VISEVENT = 4

_C.MODEL.TEXT_ENCODER = CN()
_C.MODEL.TEXT_ENCODER.TYPE = "ViT-B-32"  # open_clip model name, or a path to an open_clip JSON config
_C.MODEL.TEXT_ENCODER.PRETRAINED = "openai"  # open_clip tag, a weights file, or "" for random weights
_C.MODEL.TEXT_ENCODER.CONTEXT_LENGTH = 77

_C.MODEL.ENCODER = CN()
_C.MODEL.ENCODER.TYPE = "dinov3_convnext_tiny"  # dinov3_convnext_{tiny,small,base,large}
_C.MODEL.ENCODER.PRETRAINED = True  # False: same architecture, random weights, no download
_C.MODEL.ENCODER.PRETRAIN_TYPE = "facebook/dinov3-convnext-tiny-pretrain-lvd1689m"  # hub id or folder
_C.MODEL.ENCODER.HF_CONFIG = CN(new_allowed=True)  # DINOv3ConvNextConfig overrides (tiny test models)
_C.MODEL.ENCODER.DROP_PATH = 0.0
_C.MODEL.ENCODER.PATCHEMBED_INIT = "halfcopy"  # copy | halfcopy | random (6-channel stem)
_C.MODEL.ENCODER.USE_CHECKPOINT = False
_C.MODEL.ENCODER.STRIDE = 16  # 16: stem..stage 3; 32: stem..stage 4
_C.MODEL.ENCODER.POS_TYPE = "index"  # index: one table per grid | interpolate: resize to other grids
_C.MODEL.ENCODER.TOKEN_TYPE_INDICATE = True
_C.MODEL.ENCODER.CLASS_TOKEN = False
_C.MODEL.ENCODER.EMBED_DIM = 256  # token width after the 1x1 projection

_C.MODEL.FUSION = CN()  # the relation module that mixes template, search and text tokens
_C.MODEL.FUSION.DEPTH = 2
_C.MODEL.FUSION.NUM_HEADS = 8
_C.MODEL.FUSION.MLP_RATIO = 2.0
_C.MODEL.FUSION.DROP_PATH = 0.0
_C.MODEL.FUSION.CORRELATION = True  # template-search similarity map fed to the head
_C.MODEL.FUSION.TEMPLATE_TOKENS = True  # False: template-blind ablation only

_C.MODEL.DECODER = CN()
_C.MODEL.DECODER.TYPE = "CENTER"  # MLP | CORNER | CENTER
_C.MODEL.DECODER.NUM_CHANNELS = 128
_C.MODEL.DECODER.CONV_TYPE = "normal"  # normal (3x3) | small (1x1)
_C.MODEL.DECODER.XAVIER_INIT = True

_C.MODEL.TASK_DECODER = CN()
_C.MODEL.TASK_DECODER.NUM_CHANNELS = 256
_C.MODEL.TASK_DECODER.FEATURE_TYPE = "average"  # class | average | text

# ----------------------------------------------------------------------------- TRAIN
_C.TRAIN = CN()
_C.TRAIN.LR = 1e-4
_C.TRAIN.WEIGHT_DECAY = 1e-4
_C.TRAIN.EPOCH = 180
_C.TRAIN.LR_DROP_EPOCH = 144
_C.TRAIN.BATCH_SIZE = 32
_C.TRAIN.NUM_WORKER = 8
_C.TRAIN.OPTIMIZER = "ADAMW"
_C.TRAIN.ENCODER_MULTIPLIER = 0.1
_C.TRAIN.FREEZE_ENCODER = False
_C.TRAIN.ENCODER_OPEN = []
_C.TRAIN.CE_WEIGHT = 1.0
_C.TRAIN.GIOU_WEIGHT = 2.0
_C.TRAIN.L1_WEIGHT = 5.0
_C.TRAIN.TASK_CE_WEIGHT = 1.0
_C.TRAIN.PRINT_INTERVAL = 50
_C.TRAIN.VAL_EPOCH_INTERVAL = 10
_C.TRAIN.GRAD_CLIP_NORM = 0.1
_C.TRAIN.FIX_BN = False
_C.TRAIN.TYPE = "normal"  # normal | peft | fft | text_frozen
_C.TRAIN.PRETRAINED_PATH = ""
_C.TRAIN.AMP = False  # autocast on CUDA
_C.TRAIN.AMP_DTYPE = "bfloat16"  # bfloat16 | float16
_C.TRAIN.ACCUM_STEPS = 1  # gradient accumulation
_C.TRAIN.KEEP_LAST = 3  # checkpoints kept (0 keeps all)
_C.TRAIN.SEED = 42
_C.TRAIN.SAMPLE_PER_EPOCH = 0  # 0: use DATA.TRAIN.SAMPLE_PER_EPOCH
_C.TRAIN.SCHEDULER = CN()
_C.TRAIN.SCHEDULER.TYPE = "step"  # step | Mstep | cosine
_C.TRAIN.SCHEDULER.DECAY_RATE = 0.1
_C.TRAIN.SCHEDULER.MILESTONES = [144]
_C.TRAIN.SCHEDULER.WARMUP_EPOCHS = 0.0
_C.TRAIN.SCHEDULER.MIN_LR_RATIO = 0.01

# ----------------------------------------------------------------------------- DATA
_C.DATA = CN()
_C.DATA.MEAN = [0.485, 0.456, 0.406]
_C.DATA.STD = [0.229, 0.224, 0.225]
_C.DATA.MAX_SAMPLE_INTERVAL = 200
_C.DATA.SAMPLER_MODE = "order"  # order | causal
_C.DATA.LOADER = "tracking"
_C.DATA.MULTI_MODAL_VISION = False
_C.DATA.MULTI_MODAL_LANGUAGE = False
_C.DATA.USE_NLP = CN()
for _name in ("LASOT", "GOT10K", "COCO", "TRACKINGNET", "VASTTRACK", "REFCOCOG", "TNL2K", "OTB99",
              "DEPTHTRACK", "LASHER", "VISEVENT", "CUSTOM"):
    setattr(_C.DATA.USE_NLP, _name, False)
_C.DATA.TRAIN = CN()
_C.DATA.TRAIN.DATASETS_NAME = ["LASOT", "GOT10K_vottrain"]
_C.DATA.TRAIN.DATASETS_RATIO = [1, 1]
_C.DATA.TRAIN.SAMPLE_PER_EPOCH = 60000
_C.DATA.VAL = CN()
_C.DATA.VAL.DATASETS_NAME = ["GOT10K_votval"]
_C.DATA.VAL.DATASETS_RATIO = [1]
_C.DATA.VAL.SAMPLE_PER_EPOCH = 10000
_C.DATA.SEARCH = CN()
_C.DATA.SEARCH.NUMBER = 1
_C.DATA.SEARCH.SIZE = 224
_C.DATA.SEARCH.FACTOR = 4.0
_C.DATA.SEARCH.CENTER_JITTER = 3.5
_C.DATA.SEARCH.SCALE_JITTER = 0.5
_C.DATA.TEMPLATE = CN()
_C.DATA.TEMPLATE.NUMBER = 1
_C.DATA.TEMPLATE.SIZE = 112
_C.DATA.TEMPLATE.FACTOR = 2.0
_C.DATA.TEMPLATE.CENTER_JITTER = 0.0
_C.DATA.TEMPLATE.SCALE_JITTER = 0.0
# Augmentations beyond SUTrack's (grayscale, flip, brightness), for training that must generalise beyond its
# data (lib/train/data/augment.py). All off by default, as in SUTrack; the demo's tiny config turns on those that
# measured better on a world family it never trained on.
_C.DATA.AUG = CN()
_C.DATA.AUG.COLOR_JITTER = 0.0  # contrast/saturation jitter per crop group, hue rotation shared by the sample
_C.DATA.AUG.BLUR_PROB = 0.0  # Gaussian or motion blur of the search crop
_C.DATA.AUG.DEGRADE_PROB = 0.0  # sensor noise and JPEG artefacts on the search crop
_C.DATA.AUG.OCCLUDE_PROB = 0.0  # a patch pasted over part of the target in the search crop
_C.DATA.AUG.OCCLUDE_MAX = 0.6  # largest fraction of the target's box an occluder covers

# ----------------------------------------------------------------------------- TEST
_C.TEST = CN()
_C.TEST.TEMPLATE_FACTOR = 2.0
_C.TEST.TEMPLATE_SIZE = 112
_C.TEST.SEARCH_FACTOR = 4.0
_C.TEST.SEARCH_SIZE = 224
_C.TEST.EPOCH = 180
_C.TEST.WINDOW = True
_C.TEST.NUM_TEMPLATES = 1
# Size damping (lib/utils/box_ops.damp_size): each side moves SIZE_LR of the predicted change in log scale, at
# most MAX_SCALE_CHANGE times per frame (0: unbounded). 1.0 and 0.0 take the head's box as is, as SUTrack does.
_C.TEST.SIZE_LR = 1.0
_C.TEST.MAX_SCALE_CHANGE = 0.0
# auto: the fastest fp32 backend agreeing with eager here; or pytorch | onnx | openvino, and the opt-in
# reduced precisions pytorch_bf16 | onnx_int8 | openvino_int8 | openvino_bf16 (lib/test/tracker/backends/)
_C.TEST.BACKEND = "auto"
_C.TEST.UPDATE_INTERVALS = CN(new_allowed=True)  # per dataset (upper case) with a DEFAULT
_C.TEST.UPDATE_INTERVALS.DEFAULT = 999999
_C.TEST.UPDATE_THRESHOLD = CN(new_allowed=True)
_C.TEST.UPDATE_THRESHOLD.DEFAULT = 1.0
_C.TEST.MULTI_MODAL_VISION = CN(new_allowed=True)
_C.TEST.MULTI_MODAL_VISION.DEFAULT = False
_C.TEST.MULTI_MODAL_LANGUAGE = CN(new_allowed=True)
_C.TEST.MULTI_MODAL_LANGUAGE.DEFAULT = False
_C.TEST.USE_NLP = CN(new_allowed=True)
_C.TEST.USE_NLP.DEFAULT = False
_C.TEST.USE_NLP.TNL2K = True
_C.TEST.USE_NLP.LASOT_LANG = True
_C.TEST.USE_NLP.OTB99_LANG = True

cfg = _C
# a YAML may start from another one: `_BASE_: tiny.yaml`, relative to the file, else one of CONFIG_DIR's by name
BASE_KEY = "_BASE_"
CONFIG_DIR = PROJECT_ROOT / "experiments" / "sutrack_dinov3"
# keys that must be > 0 (a zero batch, LR or crop cannot train or track); "int" keys must be whole numbers too
POSITIVE_KEYS = ("TRAIN.BATCH_SIZE", "TRAIN.LR", "TRAIN.EPOCH", "TRAIN.ACCUM_STEPS", "DATA.TRAIN.SAMPLE_PER_EPOCH",
                 "DATA.SEARCH.SIZE", "DATA.SEARCH.FACTOR", "DATA.TEMPLATE.SIZE", "DATA.TEMPLATE.FACTOR",
                 "TEST.SEARCH_SIZE", "TEST.SEARCH_FACTOR", "TEST.TEMPLATE_SIZE", "TEST.TEMPLATE_FACTOR")
NON_NEGATIVE_KEYS = ("TRAIN.NUM_WORKER", "TRAIN.WEIGHT_DECAY", "TRAIN.SAMPLE_PER_EPOCH", "TRAIN.KEEP_LAST")
OFF_MEANS_EMPTY = {"MODEL.TEXT_ENCODER.PRETRAINED"}  # string keys where YAML `false` means "" (no weights)


def get_default_config() -> CN:
    """A fresh, mutable copy of the defaults."""
    return _C.clone()


def _merge(defaults: CN, data: dict, path: Path | str, prefix: str = "") -> None:
    for key, value in data.items():
        full = f"{prefix}{key}"
        if key not in defaults:
            if defaults.is_new_allowed():
                defaults[key] = CN(value, new_allowed=True) if isinstance(value, dict) else value
                continue
            raise ValueError(f"{full} not exist in config.py (in {path})")
        if isinstance(defaults[key], CN):
            if not isinstance(value, dict):
                raise ValueError(f"{full} in {path} must be a mapping, got {type(value).__name__}")
            _merge(defaults[key], value, path, full + ".")
        else:
            default = defaults[key]
            if full in OFF_MEANS_EMPTY and value is False:
                value = ""  # `PRETRAINED: false` reads as "no pretrained weights"
            if value is None and default is not None:
                raise ValueError(f"{full} in {path} is empty (null); give a {type(default).__name__} such as "
                                 f"{default!r}, or delete the line to keep the default")
            if isinstance(value, bool) and default is not None and not isinstance(default, bool):
                raise ValueError(f"{full} in {path} must be {type(default).__name__} (e.g. {default!r}), got {value!r}")
            if isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)
            if (default is not None and value is not None and not isinstance(value, type(default))
                    and not (isinstance(default, (list, tuple)) and isinstance(value, (list, tuple)))):
                raise ValueError(f"{full} in {path} must be {type(default).__name__}, got {value!r}")
            defaults[key] = value


def resolve_base(base: str, path: Path) -> Path:
    """The file `_BASE_: base` of `path` names: beside `path`, else one of the repository's configs
    (experiments/sutrack_dinov3/, `.yaml` optional); a missing one raises naming both places."""
    beside = path.parent / base
    if beside.is_file():
        return beside
    for candidate in (CONFIG_DIR / base, CONFIG_DIR / f"{base}.yaml"):
        if candidate.is_file():
            return candidate
    known = ", ".join(sorted(p.name for p in CONFIG_DIR.glob("*.yaml")))
    raise FileNotFoundError(f"config file not found: {base} ({BASE_KEY} of {path}): neither {beside} nor "
                            f"{CONFIG_DIR / base} exists; the repository's configs: {known}")


def update_config_from_file(filename: str | Path, config: CN | None = None, _chain: tuple[Path, ...] = ()) -> CN:
    """Merge a YAML file into `config` (default: the module's cfg); unknown keys raise naming key and file."""
    path = Path(filename)
    if not path.is_file():
        via = f" ({BASE_KEY} of {_chain[-1]})" if _chain else ""
        raise FileNotFoundError(f"config file not found: {path}{via}")
    chain = (*_chain, path.resolve())
    data = load_yaml_file(path)
    if data is None:
        print(f"note: config {path} is empty: every key keeps its default (lib/config/sutrack_dinov3/config.py)",
              file=sys.stderr)
        data = {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: the top level must be a mapping of config sections")
    target = cfg if config is None else config
    target.defrost()
    base = data.pop(BASE_KEY, None)
    if base is not None:  # a variant of another config: merge that one first, then the differences
        if not isinstance(base, str):
            raise ValueError(f"{path}: {BASE_KEY} must be one file name, got {base!r}")
        base_path = resolve_base(base, path)
        if base_path.resolve() == path.resolve():
            raise ValueError(f"{path}: {BASE_KEY} names the file itself")
        if base_path.resolve() in chain:
            cycle = " -> ".join(p.name for p in (*chain, base_path.resolve()))
            raise ValueError(f"{path}: {BASE_KEY} chain is a cycle ({cycle}); one of these files must not name "
                             f"the other as its {BASE_KEY}")
        update_config_from_file(base_path, target, chain)
    _merge(target, data, path)
    return target


def check_values(config: CN, source: str | Path) -> None:
    """Raise ValueError naming the key and `source` when a size, LR, batch or count is zero or negative."""
    for keys, least, word in ((POSITIVE_KEYS, 0, "positive (> 0)"), (NON_NEGATIVE_KEYS, -1, "0 or more")):
        for key in keys:
            node = config
            for part in key.split("."):
                node = node[part]
            if node <= least:
                raise ValueError(f"{key} = {node!r} (from {source}): it must be {word}")
    check_size_damping(config.TEST, source)


def check_size_damping(test: CN, source: str | Path) -> None:
    """TEST.SIZE_LR in (0, 1] and TEST.MAX_SCALE_CHANGE 0 (off) or above 1, else ValueError naming `source`."""
    size_lr, max_change = float(test.SIZE_LR), float(test.MAX_SCALE_CHANGE)
    if not 0.0 < size_lr <= 1.0 or (max_change and max_change <= 1.0):
        raise ValueError(f"TEST.SIZE_LR must be in (0, 1] (got {size_lr}) and TEST.MAX_SCALE_CHANGE 0 (off) or above 1 "
                         f"(got {max_change}) in {source}")


def _yaml_or_text(text: str):
    try:
        return parse_yaml_value(text)
    except yaml.YAMLError:
        return text


def parse_opt_value(text: str, default) -> object:
    """One --opts value as the config key's type: YAML (`1e-4`, `True`, `[LASOT, COCO17]`), a Python literal
    (`['LASOT', 'COCO17']`) or, for list keys, comma-separated items (`LASOT,COCO17`) or one item (`LASOT`)."""
    value = _yaml_or_text(text)
    if isinstance(default, (list, tuple)) and not isinstance(value, (list, tuple)):
        if isinstance(value, str):
            try:
                value = ast.literal_eval(text)
            except (ValueError, SyntaxError):
                value = [_yaml_or_text(item.strip()) for item in text.strip().strip("[]").split(",") if item.strip()]
        value = list(value) if isinstance(value, (list, tuple)) else [value]
    return value


def merge_opts(config: CN, opts: list[str]) -> None:
    """Merge --opts KEY VALUE pairs into `config` with the type checks of a YAML file (source '--opts')."""
    if len(opts) % 2:
        raise ValueError(f"--opts needs KEY VALUE pairs, got {len(opts)} items: {opts}")
    config.defrost()
    for key, text in zip(opts[::2], opts[1::2]):
        node, parts = config, key.split(".")
        for part in parts[:-1]:
            if part not in node or not isinstance(node[part], CN):
                raise ValueError(f"--opts: {key} is not a config key ({part} is not a section of config.py)")
            node = node[part]
        default = node.get(parts[-1])
        value = parse_opt_value(text, default) if not isinstance(default, CN) else text
        nested: dict = {parts[-1]: value}
        for part in reversed(parts[:-1]):
            nested = {part: nested}
        _merge(config, nested, "--opts")


def load_config(filename: str | Path) -> CN:
    """Defaults updated from `filename`, frozen: what train/test/profile scripts use."""
    config = update_config_from_file(filename, get_default_config())
    check_values(config, filename)
    config.freeze()
    return config
