"""World `patches`: soft-edged photo patches in their own colours, seen by a zooming camera.

Varies: objects are pieces of photographs with feathered edges (no outline); sharp photo backgrounds of the
same photographs; the camera zooms in and out; the target grows or shrinks 3x and more over a sequence and
changes aspect; distractors are same-texture twins in another colour; the light changes slowly, then drops.
"""
from .engine import WorldSpec

WORLD = WorldSpec(
    name="patches",
    objects=("patch",),
    backgrounds=("photo",),
    cameras=("zoom", "static"),
    motions=("smooth",),
    distractors=("twin_colour", "lookalike"),
    n_distractors=(1, 3),
    target_side=(28, 50),
    scale_change=4.5,
    aspect_change=0.35,
    degradations=("illumination",),
)
