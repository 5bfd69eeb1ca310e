"""Tracker backends: one contract, several runtimes (see `base.py`).

Every backend takes the normalised search crop and the cached template features and returns the final
box and score (Hann window and `cal_bbox` included). Names and the modules that register them on import:

  pytorch        eager PyTorch, fp32                      (lib/test/tracker/sutrack_dinov3.py)
  pytorch_bf16   eager PyTorch under bf16 autocast (CPU or CUDA)
  onnx           ONNX Runtime on the exported fp32 graphs (onnxruntime_backend.py; export: onnx_export.py)
  onnx_int8      ONNX Runtime, step graph statically quantised to int8 on training crops (quantize.py)
  openvino       OpenVINO CPU plugin on the exported graphs (channels-first form), f32 (openvino_backend.py)
  openvino_int8  OpenVINO on the channels-first graphs with their convolutions quantised to int8 (quantize.py)
  openvino_bf16  OpenVINO with the bf16 precision hint: only where the CPU has avx512_bf16 or AMX
  auto           the fastest backend that is validated here: fp32 ones whose boxes agree with eager fp32, and
                 reduced-precision ones with a passing cached verdict for this model and CPU (auto.py, verdicts.py)
  auto_fp32      the same among the fp32 backends only
"""
from __future__ import annotations

BACKEND_MODULES = {
    "onnx": "lib.test.tracker.backends.onnxruntime_backend",
    "onnx_int8": "lib.test.tracker.backends.onnxruntime_backend",
    "openvino": "lib.test.tracker.backends.openvino_backend",
    "openvino_bf16": "lib.test.tracker.backends.openvino_backend",
    "openvino_int8": "lib.test.tracker.backends.openvino_backend",
    "auto": "lib.test.tracker.backends.auto",
    "auto_fp32": "lib.test.tracker.backends.auto",
}
AUTO_BACKENDS = ("auto", "auto_fp32")
FP32_BACKENDS = ("pytorch", "onnx", "openvino")
REDUCED_PRECISION_BACKENDS = ("pytorch_bf16", "onnx_int8", "openvino_int8", "openvino_bf16")

QUANT_VERSION = "4"  # the int8 recipe (quantize.py): bump when it changes; cached int8 graphs are rebuilt
# What else decides a backend's boxes besides config, weights and name: part of a results run's identity
# (lib/test/results.py), so results of an older int8 recipe are never resumed into or mixed with new ones.
BACKEND_REVISIONS = {"onnx_int8": f"int8 recipe v{QUANT_VERSION}", "openvino_int8": f"int8 recipe v{QUANT_VERSION}"}


# int8 backends with a recipe of their own on CPUs with int8 dot products (VNNI / AMX): quantize.py RECIPES
# holds it under '<backend>_vnni'
VNNI_RECIPES = ("openvino_int8",)


def int8_recipe(name: str) -> str:
    """The quantize.RECIPES entry int8 backend `name` uses on this CPU ('<name>_vnni' on VNNI / AMX CPUs where
    that recipe is faster at equal fidelity, else `name`)."""
    from lib.test.tracker.backends.base import has_vnni

    return f"{name}_vnni" if name in VNNI_RECIPES and has_vnni() else name


def int8_float_precision(name: str) -> str:
    """The precision of the layers int8 backend `name` leaves unquantised on this CPU: 'bf16' for OpenVINO's
    VNNI recipe where the CPU also computes bf16 natively (AVX-512 BF16 / AMX: the head and the attention run
    faster there), else 'f32'."""
    from lib.test.tracker.backends.base import native_bf16

    return "bf16" if name.startswith("openvino") and int8_recipe(name) != name and native_bf16() else "f32"


def backend_revision(name: str) -> str | None:
    """What besides the name decides backend `name`'s boxes here (the int8 recipe, with its CPU variant and the
    precision of its float layers), or None."""
    revision = BACKEND_REVISIONS.get(name)
    if revision is not None and int8_recipe(name) != name:
        revision += ", VNNI variant"
    precision = int8_float_precision(name) if revision is not None else "f32"
    if precision != "f32":
        revision += f", float layers in {precision}"
    return revision


def not_for_this_cpu(name: str) -> str | None:
    """Why backend `name` is not worth running on this CPU class (None: it is): bf16 without avx512_bf16 / AMX
    is emulated (eager: ~13x slower than fp32) or refused (OpenVINO). Such backends are skipped, not tried."""
    from lib.test.tracker.backends.base import native_bf16

    if "bf16" in name and not native_bf16():
        return "no avx512_bf16 / AMX on this CPU: bf16 would be emulated"
    return None
