"""The backend contract, and the CPU facts backends and the profiler choose by.

A backend object has
  encode_template(template_list, anno_list) -> cache     once per sequence (and per template update)
  track_step(search, cache, text=None) -> {'pred_boxes': 1 x 1 x 4 normalised cxcywh, 'score': (1,)}
                                                       final: Hann window and cal_bbox applied
  forward_textencoder(ids) -> text token                 once per sequence (language models)
  backbone_fn(search) -> callable                        the bare backbone on `search`, for the profiler
and `name`, the registered name it was loaded as.
"""
from __future__ import annotations

import functools
import os
import platform
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import torch

CPU_FLAGS = ("avx2", "avx512f", "avx512_bf16", "avx512_vnni", "avx_vnni", "amx_bf16", "amx_int8")


class Backend(Protocol):
    """What the tracker calls (see the module docstring)."""

    name: str

    def encode_template(self, template_list: list[torch.Tensor], anno_list: list[torch.Tensor]) -> Any: ...

    def track_step(self, search: torch.Tensor, cache: Any, text_src: torch.Tensor | None = None) -> dict: ...

    def forward_textencoder(self, ids: torch.Tensor) -> torch.Tensor: ...

    def backbone_fn(self, search: torch.Tensor) -> Callable[[], object]: ...


class BackendUnavailable(ValueError):
    """This backend cannot run here (missing package, or a CPU without the instructions it needs)."""


@functools.lru_cache(maxsize=1)
def cpu_flags() -> dict[str, bool]:
    """Which of CPU_FLAGS this CPU has (Linux /proc/cpuinfo; all False where it cannot be read)."""
    text = ""
    with_info = Path("/proc/cpuinfo")
    if with_info.is_file():
        for line in with_info.read_text().splitlines():
            if line.startswith("flags"):
                text = line
                break
    flags = set(text.split(":", 1)[-1].split())
    return {f: f in flags for f in CPU_FLAGS}


def cpu_summary() -> str:
    """'<model>: avx2 yes, avx512f no, ...' for tables and logs."""
    model = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"{model}: " + ", ".join(f"{k} {'yes' if v else 'no'}" for k, v in cpu_flags().items())


def usable_cores() -> int:
    """The CPUs this process may run on (its affinity mask where the OS has one, else the CPU count)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def native_bf16() -> bool:
    """True when the CPU computes bf16 natively (AVX-512 BF16 or AMX); otherwise bf16 is emulated (slow)."""
    flags = cpu_flags()
    return flags["avx512_bf16"] or flags["amx_bf16"]


def has_vnni() -> bool:
    """int8 dot-product instructions (AVX-512 VNNI or AVX-VNNI): without them int8 gains less."""
    flags = cpu_flags()
    return flags["avx512_vnni"] or flags["avx_vnni"] or flags["amx_int8"]
