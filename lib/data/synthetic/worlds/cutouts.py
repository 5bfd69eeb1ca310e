"""World `cutouts`: photo cut-outs by silhouette masks in clutter, with a shaking camera and abrupt motion.

Varies: objects are photo regions cut out by a silhouette (a horse, a logo, a random star-shaped outline);
procedural clutter backgrounds (random shapes, lines and photo pieces); a shaking camera; abrupt motion
(sudden turns and stops); rotation; distractors of the target's colour with another texture; an occluder that
hides the target partly or fully for a stretch; the target leaving the frame and coming back.
"""
from .engine import WorldSpec

WORLD = WorldSpec(
    name="cutouts",
    objects=("silhouette",),
    backgrounds=("clutter",),
    cameras=("shake",),
    motions=("abrupt",),
    distractors=("twin_texture", "lookalike"),
    n_distractors=(1, 3),
    rotation=25.0,
    occlusion=0.4,
    leave_frame=0.3,
)
