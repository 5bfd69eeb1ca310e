"""SUTrack-DINOv3 tracker: cached template features, per-frame search crop, Hann window, template update.

The network comes from a backend (`BACKENDS`, name -> loader(params, device)); every registered backend
follows one contract (lib/test/tracker/backends/base.py): `encode_template(template_list, anno_list)`,
`track_step(search, template_cache, text_src)` -> `pred_boxes` 1 x 1 x 4 normalised cxcywh and `score`
(1,), final (Hann window and `cal_bbox` applied), and, for language, `forward_textencoder(ids)`. A bare
model passed as `network=` may instead return the head's maps; the tracker then windows them itself.
'pytorch' and 'pytorch_bf16' are registered here; the others when their module (backends/__init__.py:
BACKEND_MODULES) is first asked for.
"""
from __future__ import annotations

import importlib
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
from yacs.config import CfgNode

from lib.config.sutrack_dinov3.config import check_size_damping
from lib.models.sutrack_dinov3.clip import tokenize
from lib.models.sutrack_dinov3.decoder import select_box
from lib.test.parameter.sutrack_dinov3 import (
    TrackerParams,
    check_fits,
    parameters,
    read_checkpoint,
    untrained_network,
)
from lib.test.tracker.backends import BACKEND_MODULES
from lib.test.tracker.backends.pytorch import EagerNetwork
from lib.test.tracker.basetracker import BaseTracker, as_rgb, check_init_box
from lib.utils.box_ops import clip_box, cxcywh_to_xywh_np, damp_size
from lib.utils.crop import sample_target
from lib.utils.grid import feature_grid

BOX_MARGIN = 10  # pixels of the box kept inside the image (SUTrack's clip_box margin)

NetworkLoader = Callable[[TrackerParams, torch.device], Any]
BACKENDS: dict[str, NetworkLoader] = {}
# modules that call register_backend on import
OPTIONAL_BACKENDS = dict(BACKEND_MODULES)


def register_backend(name: str, loader: NetworkLoader) -> None:
    """Make `loader(params, device) -> network` available as backend `name`."""
    BACKENDS[name] = loader


def get_backend(name: str) -> NetworkLoader:
    """The loader of backend `name`, importing an optional backend module on first use."""
    module = OPTIONAL_BACKENDS.get(name)
    if name not in BACKENDS and module is not None:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise ValueError(f"backend '{name}' needs the package '{exc.name}', which is not installed") from exc
            raise ValueError(f"backend '{name}' is not available in this build ({module.replace('.', '/')}.py "
                             f"is missing); available backends: {sorted(BACKENDS)}") from None
    if name not in BACKENDS:
        raise ValueError(f"unknown backend '{name}'; available: {sorted(set(BACKENDS) | set(OPTIONAL_BACKENDS))}")
    return BACKENDS[name]


DEVICE_FORMS = "'auto', 'cpu', 'cuda' or 'cuda:N' (N: a GPU index, e.g. 'cuda:0')"


def resolve_device(device: str | torch.device | None = "auto") -> torch.device:
    """'auto' (or None) -> cuda when available, else cpu; other strings as torch.device; a string that is no
    device ('gpu7') or a GPU that is not there raises ValueError listing the valid forms."""
    if device is None or str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        raise ValueError(f"device {device!r} is not a device; use {DEVICE_FORMS}") from None
    if device.type not in ("cpu", "cuda"):
        raise ValueError(f"device '{device}' is not supported by the tracker; use {DEVICE_FORMS}")
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device '{device}' requested but CUDA is not available; use device='cpu' or 'auto'")
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise ValueError(f"device '{device}' requested but this machine has {torch.cuda.device_count()} GPU(s) "
                         f"(cuda:0 .. cuda:{torch.cuda.device_count() - 1}); use {DEVICE_FORMS}")
    return device


def build_network(params: TrackerParams) -> torch.nn.Module:
    """The model of `params.cfg` with its weights (checkpoint, or random seeded by `params.seed`), on the CPU.

    The backbone and text encoder are built without their pretrained weights: the checkpoint holds them.
    The network that `parameters()` built while checking the checkpoint is taken when the config is unchanged.
    """
    checked, params.checked_network = params.checked_network, None
    if checked is not None and checked[0] == params.cfg:
        return checked[1].eval()
    network = untrained_network(params.cfg, params.seed)
    if params.checkpoint is not None:
        state, whole = read_checkpoint(params.checkpoint)
        check_fits(state, network, Path(params.checkpoint), Path(params.yaml_file), params.cfg, whole.get("config"))
        network.load_state_dict(state, strict=True)
    return network.eval()


def tracker_window(params: TrackerParams) -> torch.Tensor | None:
    """The tracker's Hann window over the score map (None when TEST.WINDOW is off)."""
    grid = feature_grid(int(params.cfg.TEST.SEARCH_SIZE), params.cfg.MODEL.ENCODER.STRIDE)
    return hann2d(*grid) if params.cfg.TEST.WINDOW else None


def load_pytorch_network(params: TrackerParams, device: torch.device) -> EagerNetwork:
    """Backend 'pytorch': the eager model on `device`, fp32."""
    return EagerNetwork(build_network(params).to(device), tracker_window(params), device)


def load_pytorch_bf16_network(params: TrackerParams, device: torch.device) -> EagerNetwork:
    """Backend 'pytorch_bf16' (opt-in): the eager model under bf16 autocast (CPU or CUDA). On CPUs without
    avx512_bf16 / AMX bf16 is emulated and slower than fp32 (tracking/profile_model.py shows it)."""
    return EagerNetwork(build_network(params).to(device), tracker_window(params), device, torch.bfloat16,
                        name="pytorch_bf16")


register_backend("pytorch", load_pytorch_network)
register_backend("pytorch_bf16", load_pytorch_bf16_network)


def available_backends() -> list[str]:
    """Every backend name: registered ones and those whose module registers them on import."""
    return sorted(set(BACKENDS) | set(OPTIONAL_BACKENDS))


def per_dataset(node: CfgNode, dataset_name: str | None):
    """SUTrack's per-dataset TEST keys: the upper-case dataset name, else its family (the part before the
    first '_': GOT10K_VAL -> GOT10K, LASOT_LANG -> LASOT), else DEFAULT."""
    key = (dataset_name or "").upper()
    for candidate in (key, key.split("_")[0]):
        if candidate and candidate in node:
            return node[candidate]
    return node.DEFAULT


def hann2d(height: int, width: int) -> torch.Tensor:
    """pytracking's centred 2-D Hann window (non-zero at the border), 1 x 1 x height x width."""
    def hann1d(n: int) -> torch.Tensor:
        k = torch.arange(1, n + 1, dtype=torch.float32)
        return 0.5 - 0.5 * torch.cos(2 * math.pi * k / (n + 1))
    return (hann1d(height)[:, None] * hann1d(width)[None, :])[None, None]


class SUTrackDINOv3Tracker(BaseTracker):
    """SUTrack's test-time procedure around the DINOv3 ConvNeXt network (pytracking interface)."""

    def __init__(self, params: TrackerParams, dataset_name: str | None = None, network: Any = None,
                 device: str | torch.device | None = "auto", backend: str = "pytorch") -> None:
        super().__init__(params)
        cfg = params.cfg
        self.device = resolve_device(device)
        self.network = network if network is not None else get_backend(backend)(params, self.device)
        self.dataset_name = dataset_name
        test = cfg.TEST
        self.num_templates = max(1, int(test.NUM_TEMPLATES))
        self.update_interval = max(1, int(per_dataset(test.UPDATE_INTERVALS, dataset_name)))
        self.update_threshold = float(per_dataset(test.UPDATE_THRESHOLD, dataset_name))
        check_size_damping(test, params.yaml_file)  # again here: a config changed after loading
        self.size_lr, self.max_scale_change = float(test.SIZE_LR), float(test.MAX_SCALE_CHANGE)
        self.in_chans = 6 if cfg.DATA.MULTI_MODAL_VISION else 3
        # TEST.MULTI_MODAL_VISION.<DATASET>: feed RGB-X frames whole; off, only their RGB half is used (the
        # RGB-only ablation). RGB frames are duplicated to 6 channels for a 6-channel model either way.
        self.multi_modal_vision = bool(per_dataset(test.MULTI_MODAL_VISION, dataset_name))
        if self.multi_modal_vision and self.in_chans != 6:
            raise ValueError(f"TEST.MULTI_MODAL_VISION is on for '{dataset_name}' but the model of "
                             f"{params.yaml_file} takes 3 channels (DATA.MULTI_MODAL_VISION is False)")
        self.use_language = bool(per_dataset(test.MULTI_MODAL_LANGUAGE, dataset_name))
        self.use_nlp = bool(per_dataset(test.USE_NLP, dataset_name))
        if self.use_language and not cfg.DATA.MULTI_MODAL_LANGUAGE:
            raise ValueError(f"TEST.MULTI_MODAL_LANGUAGE is on for '{dataset_name}' but the model of "
                             f"{params.yaml_file} has no text encoder (DATA.MULTI_MODAL_LANGUAGE is False)")
        self.context_length = int(cfg.MODEL.TEXT_ENCODER.CONTEXT_LENGTH)

        # Constants, allocated once on the device: x * scale + shift == (x / 255 - mean) / std.
        repeats = self.in_chans // 3
        mean = torch.tensor(list(cfg.DATA.MEAN) * repeats, dtype=torch.float32)
        std = torch.tensor(list(cfg.DATA.STD) * repeats, dtype=torch.float32)
        self._scale = (1.0 / (255.0 * std)).view(1, -1, 1, 1).to(self.device)
        self._shift = (-mean / std).view(1, -1, 1, 1).to(self.device)
        self._scale_np, self._shift_np = self._scale.cpu().numpy().reshape(-1), self._shift.cpu().numpy().reshape(-1)
        self._norm_rows: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}
        grid = feature_grid(params.search_size, cfg.MODEL.ENCODER.STRIDE)
        self.window = hann2d(*grid).to(self.device) if test.WINDOW else None

        self.template_list: list[torch.Tensor] = []
        self.template_anno_list: list[torch.Tensor] = []
        self.template_cache = None
        self.text_src: torch.Tensor | None = None

    # ------------------------------------------------------------------ helpers
    def _frame(self, image: np.ndarray) -> np.ndarray:
        """The frame as the model takes it: 3 channels, or 6 (RGB-X) when this dataset is multi-modal."""
        image = as_rgb(image, self.in_chans)
        return image[:, :, :3] if image.shape[2] == 6 and not self.multi_modal_vision else image

    def _to_tensor(self, crop: np.ndarray) -> torch.Tensor:
        """H x W x C uint8 crop -> normalised 1 x in_chans x H x W float tensor (3 -> 6 by duplication).

        On the CPU numpy normalises (the same float32 arithmetic, bit for bit): torch's element-wise ops wake
        OpenMP threads, which spin for up to ~20 ms per frame when other processes share the cores.
        """
        h, w, c = crop.shape
        if self.device.type == "cpu":
            rows = self._norm_rows.get((w, c))
            if rows is None:  # per-channel constants tiled along a row: numpy then runs long inner loops
                rows = self._norm_rows[(w, c)] = (np.tile(self._scale_np[:c], w), np.tile(self._shift_np[:c], w))
            x = crop.reshape(h, w * c).astype(np.float32)
            x *= rows[0]
            x += rows[1]
            x = torch.from_numpy(x.reshape(h, w, c)).permute(2, 0, 1)[None]
        else:  # upload uint8 (4x less to copy), normalise on the device
            x = torch.from_numpy(np.ascontiguousarray(crop)).to(self.device, non_blocking=True)
            x = x.permute(2, 0, 1)[None].float() * self._scale[:, :c] + self._shift[:, :c]
        return torch.cat([x, x], 1) if c == 3 and self.in_chans == 6 else x

    def _template(self, image: np.ndarray, box) -> tuple[torch.Tensor, torch.Tensor]:
        """Template crop at `box` and the box in it (normalised x, y, w, h), both on the device."""
        crop, info = sample_target(image, box, self.params.template_factor, self.params.template_size)
        anno = torch.tensor(info.box_to_crop(box), dtype=torch.float32).view(1, 4).to(self.device)
        return self._to_tensor(crop), anno

    def _decode(self, out: dict) -> tuple[np.ndarray, float]:
        """Head outputs -> (normalised cxcywh box in the search crop, confidence), windowed if TEST.WINDOW.

        One device -> host copy per frame (box and score together).
        """
        if "score" in out:  # the backend's graph already applied the window and cal_bbox
            boxes, score = out["pred_boxes"][:, 0], out["score"]
        else:
            score_map = out["score_map"]
            if self.window is not None and "size_map" in out and score_map.shape[-2:] != self.window.shape[-2:]:
                raise ValueError(f"score map {tuple(score_map.shape[-2:])} does not match the Hann window "
                                 f"{tuple(self.window.shape[-2:])} of TEST.SEARCH_SIZE {self.params.search_size}")
            boxes, score = select_box(out, self.window)
        values = torch.cat([boxes[0].reshape(4), score.reshape(-1)[:1]]).float().cpu().numpy()
        return values[:4].astype(np.float64), float(values[4])

    # ------------------------------------------------------------------ pytracking interface
    @torch.inference_mode()
    def initialize(self, image: np.ndarray, info: dict) -> None:
        """Crop and encode the template(s) once; encode the sentence once when language is on.

        A failing call (bad box, bad frame) leaves the tracker uninitialised: track() then raises instead of
        following the previous target."""
        self.state, self.frame_size, self.template_cache, self.text_src = None, None, None, None
        try:
            self._initialize(image, info)
            self.init_error = None
        except Exception as exc:
            self.init_error = f"{type(exc).__name__}: {exc}"
            raise

    def _initialize(self, image: np.ndarray, info: dict) -> None:
        image = self._frame(image)
        if "init_bbox" not in info:
            raise ValueError(f"initialize() needs info['init_bbox'] = [x, y, w, h], got keys {sorted(info)}")
        box = check_init_box(info["init_bbox"], image.shape[:2])
        template, anno = self._template(image, box)
        self.template_list = [template] * self.num_templates
        self.template_anno_list = [anno] * self.num_templates
        self.template_cache = self.network.encode_template(self.template_list, self.template_anno_list)
        self.text_src = None
        if self.use_language:
            sentence = info.get("init_nlp") if self.use_nlp else None
            ids = tokenize([sentence], self.context_length).to(self.device)
            self.text_src = self.network.forward_textencoder(ids)
        self.state = [float(v) for v in box]
        self.frame_size = (image.shape[0], image.shape[1])
        self.frame_id = 0

    @torch.inference_mode()
    def track(self, image: np.ndarray, info: dict | None = None) -> dict:
        """Search around the previous box; returns {'target_bbox': [x, y, w, h], 'best_score': float}."""
        if self.state is None:
            if getattr(self, "init_error", None):
                raise RuntimeError(f"track() called after a failed initialize() ({self.init_error}); the tracker "
                                   "has no target: call initialize() again with a valid frame and box")
            raise RuntimeError("track() called before initialize()")
        image = self._frame(image)
        height, width = image.shape[:2]
        if self.frame_size is not None and (height, width) != self.frame_size:
            raise ValueError(f"frame {self.frame_id + 1} is {width} x {height} pixels but the sequence started "
                             f"at {self.frame_size[1]} x {self.frame_size[0]}; all frames of a sequence must have "
                             "one size (call initialize() again for a new video)")
        self.frame_id += 1
        crop, crop_info = sample_target(image, self.state, self.params.search_factor, self.params.search_size)
        out = self.network.track_step(self._to_tensor(crop), self.template_cache, self.text_src)
        box, score = self._decode(out)
        image_box = damp_size(self.state, crop_info.box_to_image(cxcywh_to_xywh_np(box)), self.size_lr,
                              self.max_scale_change)
        if np.all(np.isfinite(image_box)) and math.isfinite(score):
            self.state = [float(v) for v in clip_box(image_box, height, width, margin=BOX_MARGIN)]
        else:  # a non-finite prediction keeps the previous box
            score = 0.0
        if (self.num_templates > 1 and self.frame_id % self.update_interval == 0
                and score > self.update_threshold):
            self._update_template(image)
        return {"target_bbox": list(self.state), "best_score": score}

    def _update_template(self, image: np.ndarray) -> None:
        """Crop a template at the current box, drop the oldest non-initial one, re-encode the cache."""
        template, anno = self._template(image, self.state)
        self.template_list = [*self.template_list, template]
        self.template_anno_list = [*self.template_anno_list, anno]
        if len(self.template_list) > self.num_templates:
            del self.template_list[1], self.template_anno_list[1]
        self.template_cache = self.network.encode_template(self.template_list, self.template_anno_list)


def bgr_to_rgb(frame: np.ndarray) -> np.ndarray:
    """cv2's BGR (or BGRA) frame -> RGB; grayscale frames pass through."""
    if frame.ndim == 3 and frame.shape[2] == 3:
        return cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
    if frame.ndim == 3 and frame.shape[2] == 4:
        return cv2.cvtColor(frame, cv2.COLOR_BGRA2RGB)
    return frame


class FrameTracker:
    """The user-facing tracker: `initialize(frame, box)` once, then `track(frame) -> (box, score)`."""

    def __init__(self, tracker: SUTrackDINOv3Tracker, bgr: bool = False) -> None:
        self.tracker = tracker
        self.bgr = bgr

    @property
    def params(self) -> TrackerParams:
        return self.tracker.params

    @property
    def device(self):
        return self.tracker.device

    def _frame(self, frame: np.ndarray) -> np.ndarray:
        return bgr_to_rgb(frame) if self.bgr else frame

    def initialize(self, frame: np.ndarray, box, text: str | None = None) -> None:
        """Start on `frame` with `box` = [x, y, w, h] (pixels); `text` describes the target (language)."""
        self.tracker.initialize(self._frame(frame), {"init_bbox": box, "init_nlp": text})

    def track(self, frame: np.ndarray) -> tuple[list[float], float]:
        """The target's [x, y, w, h] in `frame` and the confidence."""
        out = self.tracker.track(self._frame(frame))
        return out["target_bbox"], out["best_score"]


def build_tracker(config: str | Path, checkpoint: str | Path | None = None, device: str = "auto",
                  backend: str | None = None, dataset_name: str | None = None, *, random_weights: bool = False,
                  seed: int = 0, bgr: bool = False, onnx_dir: str | Path | None = None,
                  params: TrackerParams | None = None) -> FrameTracker:
    """A ready tracker for `config` (name under experiments/sutrack_dinov3 or a YAML path).

    checkpoint: a `.pth.tar` from training; None takes TEST.EPOCH's checkpoint under save_dir (a missing
    one raises naming the path) unless `random_weights` (seeded by `seed`, for smoke runs).
    device: 'auto' (cuda if available), 'cpu', 'cuda', 'cuda:1', ...; backend: 'auto', 'pytorch', 'onnx',
    'openvino', 'pytorch_bf16', 'onnx_int8', 'openvino_int8', 'openvino_bf16' (lib/test/tracker/backends/),
    None = the config's TEST.BACKEND (default 'auto'). dataset_name selects the
    per-dataset TEST keys (template update, multi-modal, language). bgr: frames come from cv2. onnx_dir:
    graphs from tracking/export_onnx.py for backend 'onnx' (default: exported into the cache on first use).
    params: parameters already built by `parameters()` (then config, checkpoint, random_weights and seed
    are not read again).
    """
    if params is None:
        params = parameters(config, checkpoint=checkpoint, random_weights=random_weights, seed=seed)
    params.onnx_dir = None if onnx_dir is None else str(onnx_dir)
    torch_device = resolve_device(device)
    network = get_backend(backend or params.cfg.TEST.BACKEND)(params, torch_device)
    inner = SUTrackDINOv3Tracker(params, dataset_name=dataset_name, network=network, device=torch_device)
    return FrameTracker(inner, bgr=bgr)
