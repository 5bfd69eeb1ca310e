"""World `blobs`: procedural blobs with painted patterns, fast motion and a degraded image.

Varies: objects are metaball blobs painted with a two-colour pattern (stripes, spots or noise); flat
backgrounds with a colour gradient; a static camera; fast motion (a fifth to almost half the object's size
per frame); motion blur, sensor noise and strong JPEG compression; distractors that share the target's
pattern in other colours, or its colours with another pattern, or neither.
"""
from .engine import WorldSpec

WORLD = WorldSpec(
    name="blobs",
    objects=("blob",),
    backgrounds=("flat",),
    cameras=("static",),
    motions=("fast",),
    distractors=("twin_colour", "twin_texture", "lookalike"),
    n_distractors=(1, 3),
    target_side=(30, 55),
    aspect_change=0.2,
    degradations=("motion_blur", "noise", "jpeg"),
)
