"""World `solo`: one object and nothing like it, changing size, shape and angle under a moving camera.

Varies: outlined shapes, patches or blobs alone (no distractors); sharp or softened photo backgrounds; the
camera pans or zooms; smooth or abrupt motion; the object grows or shrinks up to 3x, changes aspect and
rotates; it leaves the frame and comes back; the light changes. Here the difficulty is the target's own
change of appearance, not confusion.
"""
from .engine import WorldSpec

WORLD = WorldSpec(
    name="solo",
    objects=("outlined", "patch", "blob"),
    backgrounds=("photo", "blurred_photo"),
    cameras=("pan", "zoom"),
    motions=("smooth", "abrupt"),
    distractors=("none",),
    target_side=(30, 55),
    scale_change=3.5,
    aspect_change=0.3,
    rotation=30.0,
    leave_frame=0.3,
    degradations=("illumination",),
)
