"""World `outlined`: the original demo world. Flat-looking objects with one dark outline, told apart by hue.

Varies: rectangles and ellipses filled with a photo texture re-coloured by one hue, all with the same dark rim;
softened photo backgrounds, panning; smooth motion; small scale changes (1.3x); look-alike distractors (other
hue, other texture) that cross the target often. Nothing degrades the image.
"""
from .engine import WorldSpec

WORLD = WorldSpec(
    name="outlined",
    objects=("outlined",),
    backgrounds=("blurred_photo",),
    cameras=("pan",),
    motions=("smooth",),
    distractors=("lookalike",),
    n_distractors=(2, 4),
)
