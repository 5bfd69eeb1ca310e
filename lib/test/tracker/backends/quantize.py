"""Static int8 post-training quantisation of the exported graphs, calibrated on training crops.

Calibration crops come from the training pipeline (`SUTrackProcessing`: jittered template and search
crops of the training datasets in DATA.TRAIN.DATASETS_NAME, then GOT10K_train_full); where none is
configured, from synthetic sequences (lib/data/synthetic/writers.py). The template features fed to
the step come from the fp32 model on the sample's template crop, as at tracking time.

`int8_graph` quantises a graph with ONNX Runtime's quantize_static (QDQ, per-channel s8 weights, u8
activations; 7-bit weights on CPUs without VNNI) by the recipe of its backend (RECIPES). Both recipes
quantise the encoder (backbone, projection, relation module) and leave the box head in float: with the
head in int8 the demo's boxes, each frame tracked from the same state, agreed with fp32's at a mean IoU
of 0.976; with it in float, 0.989 (bf16 autocast: 0.993), for about 2 ms per frame on the default config.
- 'onnx_int8' (ONNX Runtime, linear form of the graphs): convolutions and linear layers. The outputs of
  MatMul / Gemm stay float (QGemm with a float output): a quantised output would put a QuantizeLinear /
  DequantizeLinear pair after every linear layer and split ConvNeXt's GELU into five element-wise ops
  that ONNX Runtime no longer fuses (default backbone, AVX2, 2 threads: 55 ms against 39 ms). Conv
  outputs stay quantised, so the depthwise convolutions run as QLinearConv (an fp32 Conv fed by
  DequantizeLinear loses ONNX Runtime's blocked-layout kernels and runs 4x slower).
- 'openvino_int8' (OpenVINO, channels-first form): convolutions only, which there are all of the
  backbone's work (the ConvNeXt Linears are 1x1 convolutions); OpenVINO turns the QDQ pairs into its
  own int8 kernels (default backbone, AVX2: 31.5 ms, against 51 ms in f32). The relation module's
  linear layers stay f32: OpenVINO's int8 matrix products, unlike its convolutions, are slow without VNNI.
  On VNNI / AMX CPUs ('openvino_int8_vnni') they are quantised too (default config, AMX, 2 threads: step
  12.7-13.9 ms against 13.9-15.3 ms with convolutions only, three interleaved runs).
NNCF's own quantisation for OpenVINO was tried on the linear form and dropped: it lost 0.0175 AO on the
demo's trained model (over the 0.01 limit) and ran no faster than f32 on AVX2.
The result is cached beside its fp32 graph in a sub-folder named by backend, recipe version
(QUANT_VERSION), library version and calibration size; the fp32 folder is keyed by config and
weights, so a new checkpoint rebuilds both.
"""
from __future__ import annotations

import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from lib.test.parameter.sutrack_dinov3 import TrackerParams
from lib.test.tracker.backends import QUANT_VERSION, int8_recipe
from lib.test.tracker.backends import onnx_export as ox
from lib.test.tracker.backends.base import has_vnni

CALIBRATION_SAMPLES = 32
log = logging.getLogger(__name__)


def _training_source(params: TrackerParams, rng: np.random.Generator):
    """An iterator of (frames [template, search], boxes) pairs from the first training dataset that loads;
    None when no training dataset is configured."""
    from lib.train.dataset import build_train_dataset

    names = [*params.cfg.DATA.TRAIN.DATASETS_NAME, "GOT10K_train_full"]
    for name in dict.fromkeys(names):
        try:
            dataset = build_train_dataset(name)
        except (FileNotFoundError, ValueError, KeyError, OSError):
            continue
        if dataset.get_num_sequences() == 0:
            continue

        def draw(dataset=dataset):
            while True:
                seq = int(rng.integers(dataset.get_num_sequences()))
                n = dataset.get_num_frames(seq)
                ids = sorted(int(i) for i in rng.integers(0, n, size=2))
                try:
                    frames, anno, _ = dataset.get_frames(seq, ids)
                except (OSError, ValueError):
                    continue
                yield frames, [np.asarray(b, dtype=np.float64) for b in anno["bbox"]]
        return name, draw()
    return None


def _synthetic_source(rng: np.random.Generator):
    from lib.data.synthetic.writers import synthetic_sequence

    while True:
        frames, boxes = synthetic_sequence(8, size=(320, 240), seed=int(rng.integers(1 << 30)), box_size=(48, 36))
        i, j = sorted(int(k) for k in rng.integers(0, len(frames), size=2))
        yield [frames[i], frames[j]], [boxes[i], boxes[j]]


def calibration_crops(params: TrackerParams, n: int = CALIBRATION_SAMPLES, seed: int = 0
                      ) -> tuple[str, list[dict[str, torch.Tensor]]]:
    """(source name, `n` processed training samples: normalised template/search crops and template boxes)."""
    from lib.train.data.processing import SampleError, SUTrackProcessing

    rng = np.random.default_rng(seed)
    found = _training_source(params, rng)
    source, draw = found if found is not None else ("synthetic", _synthetic_source(rng))
    processing = SUTrackProcessing(params.cfg)
    samples: list[dict[str, torch.Tensor]] = []
    for _ in range(50 * n):
        if len(samples) == n:
            break
        frames, boxes = next(draw)
        sample = {"template_frames": frames[:1], "template_boxes": boxes[:1], "search_frames": frames[1:],
                  "search_boxes": boxes[1:], "dataset": source, "task_index": 0, "nlp": None}
        try:
            samples.append(processing(sample, rng))
        except SampleError:
            continue
    if len(samples) < n:
        raise RuntimeError(f"calibration: only {len(samples)} of {n} usable training samples from {source}")
    return source, samples


def calibration_feeds(network: nn.Module, params: TrackerParams, graph: str, n: int = CALIBRATION_SAMPLES
                      ) -> tuple[str, list[dict[str, np.ndarray]]]:
    """Input feeds of graph 'step', 'step_text' or 'backbone' for `n` training samples."""
    source, samples = calibration_crops(params, n)
    feeds = []
    num_templates = max(1, int(params.cfg.TEST.NUM_TEMPLATES))
    text = None
    if graph == "step_text":
        from lib.models.sutrack_dinov3.clip import tokenize

        ids = tokenize([None], int(params.cfg.MODEL.TEXT_ENCODER.CONTEXT_LENGTH))
        with torch.inference_mode():
            text = network.forward_textencoder(ids).float().numpy()
    for s in samples:
        search = s["search_images"][:1].float()
        feed = {"search": search.numpy()}
        if graph != "backbone":
            template, anno = s["template_images"][:1].float(), s["template_anno"][:1].float()
            with torch.inference_mode():
                cache = network.encode_template([template] * num_templates, [anno] * num_templates)
            feed.update((k, np.ascontiguousarray(v.float().numpy())) for k, v in zip(ox.TEMPLATE_OUTPUTS, cache))
            if text is not None:
                feed["text"] = text
        feeds.append(feed)
    return source, feeds


def _library_tag(name: str) -> str:
    import importlib

    return f"{name}-{importlib.import_module(name).__version__.split('-')[0]}"


@dataclass(frozen=True)
class Recipe:
    """What ONNX Runtime's quantize_static quantises for one int8 backend (QDQ, per-channel s8 weights,
    u8 activations, MinMax calibration; 7-bit weights on CPUs without VNNI, whose u8 x s8 products
    would otherwise saturate)."""

    op_types: tuple[str, ...]
    float_outputs: tuple[str, ...] = ()  # op types whose outputs stay float
    within: tuple[str, ...] = ()  # only nodes inside these modules (names in the exported node paths); all if empty

    def excluded(self, model_path: Path) -> list[str]:
        """Names of the nodes of `model_path` this recipe leaves in float (outside the modules `within`)."""
        import onnx

        if not self.within:
            return []
        scopes = tuple(f"/{module}/" for module in self.within)
        return [n.name for n in onnx.load(str(model_path)).graph.node if not any(s in n.name for s in scopes)]


RECIPES = {
    # ONNX Runtime runs the linear form: linear layers as QGemm with float outputs, convolutions QLinearConv;
    # the head (outside the encoder) stays float
    "onnx_int8": Recipe(op_types=("Conv", "MatMul", "Gemm"), float_outputs=("MatMul", "Gemm"), within=("encoder",)),
    # OpenVINO runs the channels-first form, where the backbone is all convolutions: those are quantised;
    # the relation module's linear layers (OpenVINO's int8 matrix products are slow without VNNI) and the
    # head stay f32
    "openvino_int8": Recipe(op_types=("Conv",), within=("encoder",)),
    # on CPUs with VNNI / AMX OpenVINO's int8 matrix products pay off: the relation module's linear layers are
    # quantised too (each a Gemm once quant_pre_process has fused its MatMul and Add); the attention's products
    # of two activations (MatMul) stay float: quantising them only added Quantize nodes, OpenVINO ran them in f32
    "openvino_int8_vnni": Recipe(op_types=("Conv", "Gemm"), within=("encoder",)),
}


def int8_graph(network: nn.Module, params: TrackerParams, source: Path, folder: Path, backend: str = "onnx_int8",
               n: int = CALIBRATION_SAMPLES) -> Path:
    """`source` statically quantised for `backend` by ONNX Runtime's quantiser, calibrated on `n` training
    crops; cached in `folder`/<backend>-v<QUANT_VERSION>-onnxruntime-<version>-c<n>/."""
    name = int8_recipe(backend)  # the recipe of this CPU class
    recipe = RECIPES[name]
    out_dir = Path(folder) / f"{name}-v{QUANT_VERSION}-{_library_tag('onnxruntime')}-c{n}"
    path = out_dir / source.name
    if path.is_file():
        return path
    with ox.export_lock(Path(folder)):
        if path.is_file():
            return path
        from onnxruntime.quantization import (
            CalibrationDataReader,
            CalibrationMethod,
            QuantFormat,
            QuantType,
            quantize_static,
        )
        from onnxruntime.quantization.shape_inference import quant_pre_process

        graph = source.name.split(".")[0]  # 'step' of step.onnx and step.channels_first.onnx
        origin, feeds = calibration_feeds(network, params, graph, n)

        class Reader(CalibrationDataReader):
            def __init__(self):
                self.items = iter(feeds)

            def get_next(self):
                return next(self.items, None)

        log.info("quantising %s to int8 for %s (%d calibration crops from %s)", source.name, backend, n, origin)
        out_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=out_dir, prefix=".quantize-") as tmp, ox.quiet_root_logger():
            pre, final = Path(tmp) / "pre.onnx", Path(tmp) / source.name
            quant_pre_process(str(source), str(pre), skip_symbolic_shape=True)
            quantize_static(str(pre), str(final), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                            reduce_range=not has_vnni(), activation_type=QuantType.QUInt8,
                            weight_type=QuantType.QInt8, op_types_to_quantize=list(recipe.op_types),
                            calibrate_method=CalibrationMethod.MinMax,
                            nodes_to_exclude=recipe.excluded(pre),
                            extra_options={"OpTypesToExcludeOutputQuantization": list(recipe.float_outputs)})
            import onnx

            onnx.checker.check_model(str(final), full_check=True)
            os.replace(final, path)
        ox.write_atomic(out_dir / f"{source.name.removesuffix('.onnx')}.calibration.txt",
                        f"{n} crops from {origin}\n")
    return path
