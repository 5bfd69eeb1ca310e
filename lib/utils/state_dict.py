"""Comparing a state dict with a model's: the one place that lists keys of another shape, unexpected or missing
keys, and tensors holding NaN or Inf (the tracker's checkpoint check and the trainer's resume both use it)."""
from __future__ import annotations

from collections.abc import Mapping

import torch

__all__ = ["describe_mismatches", "mismatched_keys", "non_finite_keys"]


def mismatched_keys(state: Mapping[str, torch.Tensor], expected: Mapping[str, torch.Tensor]
                    ) -> tuple[list[str], list[str], list[str]]:
    """(keys of another shape, with both shapes; unexpected keys; missing keys) of `state` against `expected`."""
    shapes = [f"{k} {tuple(state[k].shape)} (model: {tuple(v.shape)})" for k, v in expected.items()
              if k in state and tuple(state[k].shape) != tuple(v.shape)]
    unexpected = [f"{k} (unexpected)" for k in state if k not in expected]
    missing = [f"{k} (missing)" for k in expected if k not in state]
    return shapes, unexpected, missing


def describe_mismatches(shapes: list[str], unexpected: list[str], missing: list[str], total: int,
                        limit: int = 10) -> str:
    """'N mismatched keys (a of another shape, b unexpected, c missing; the model has total): first ...'."""
    problems = shapes + unexpected + missing
    more = f", ... ({len(problems) - limit} more)" if len(problems) > limit else ""
    return (f"{len(problems)} mismatched keys ({len(shapes)} of another shape, {len(unexpected)} unexpected, "
            f"{len(missing)} missing; the model has {total}): {', '.join(problems[:limit])}{more}")


def non_finite_keys(state: Mapping[str, torch.Tensor]) -> list[str]:
    """Keys of floating-point tensors holding NaN or Inf, each with how many of its values are not finite."""
    bad = []
    for key, value in state.items():
        if isinstance(value, torch.Tensor) and (value.is_floating_point() or value.is_complex()):
            count = int((~torch.isfinite(value)).sum())
            if count:
                bad.append(f"{key} ({count} of {value.numel()} values NaN/Inf)")
    return bad
