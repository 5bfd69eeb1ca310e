"""World families of the synthetic data: each a module with one `WorldSpec` (its docstring says what it varies).

`FAMILIES` maps a family's name to its spec, in a fixed order. `render_sequence(rng, spec)` draws a sequence.
"""
from __future__ import annotations

from . import blobs, crowd, cutouts, outlined, patches, solo
from .engine import RenderedSequence, WorldSpec, render_sequence

FAMILIES: dict[str, WorldSpec] = {m.WORLD.name: m.WORLD for m in (outlined, patches, cutouts, blobs, crowd, solo)}

__all__ = ["FAMILIES", "RenderedSequence", "WorldSpec", "render_sequence", "world"]


def world(name: str) -> WorldSpec:
    """The family called `name`; an unknown name fails listing the known ones."""
    try:
        return FAMILIES[name]
    except KeyError:
        raise ValueError(f"unknown world family '{name}'; known: {', '.join(FAMILIES)}") from None
