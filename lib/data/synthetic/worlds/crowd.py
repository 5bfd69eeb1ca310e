"""World `crowd`: many look-alikes in a crowd that keep covering the target, through a poor camera.

Varies: soft patches and cut-outs mixed; softened photo or clutter backgrounds; a static or shaking camera;
smooth motion; four to six look-alike distractors that pass over the target (partial occlusion many times
per sequence) plus an occluder for a stretch; sensor noise and JPEG compression.
"""
from .engine import WorldSpec

WORLD = WorldSpec(
    name="crowd",
    objects=("patch", "silhouette"),
    backgrounds=("blurred_photo", "clutter"),
    cameras=("static", "shake"),
    motions=("smooth",),
    distractors=("lookalike",),
    n_distractors=(4, 6),
    target_side=(24, 40),
    occlusion=0.4,
    degradations=("noise", "jpeg"),
    chase=(0.5, 0.8),
)
