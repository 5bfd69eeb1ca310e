"""VOT toolkit (TraX) wrapper: serve sutrack_dinov3 to `vot evaluate` for VOT-ST/LT/RGBD/RGBT stacks.

Needs the `vot-trax` package in this environment (`pip install -c constraints.txt vot-trax`); the toolkit
itself (`vot-toolkit`) is best kept in its own environment, since it pulls the GUI build of OpenCV. In the
VOT workspace's trackers.ini:

    [sutrack_dinov3_mm]
    label = sutrack_dinov3_mm
    protocol = trax
    command = /path/to/repo/.venv/bin/python /path/to/repo/tracking/vot_trax.py sutrack_dinov3_mm --modality depth

--modality rgb takes the colour channel only; depth asks for color + depth, thermal for color + ir, and
frames become 6 channels through lib/utils/image.read_rgbx as in evaluation. Every reply carries the box
and its `confidence` (the long-term and RGBD stacks threshold it).
"""
from __future__ import annotations

import argparse
import sys

import numpy as np

from lib.utils.image import read_image, read_rgbx

CHANNELS = {"rgb": ["color"], "depth": ["color", "depth"], "thermal": ["color", "ir"]}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command line: config, weights, modality and the dataset name whose TEST keys apply."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("config", help="config name in experiments/sutrack_dinov3/ or a YAML path")
    parser.add_argument("--checkpoint", default=None, help="weights file (default: TEST.EPOCH's under save_dir)")
    parser.add_argument("--random_weights", action="store_true", help="seeded random weights, for smoke runs")
    parser.add_argument("--modality", choices=sorted(CHANNELS), default="rgb", help="image channels to request")
    parser.add_argument("--dataset_name", default=None,
                        help="whose per-dataset TEST keys apply (default: vot22_rgbd, lasher or vot by modality)")
    parser.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N")
    parser.add_argument("--log", default=None, help="TraX log file (default: none)")
    return parser.parse_args(argv)


def read_request_frame(images: dict, modality: str) -> np.ndarray:
    """The frame of a TraX request ({channel: FileImage}) as H x W x 3, or x 6 for depth / thermal."""
    color = images["color"].path()
    if modality == "rgb":
        return read_image(color)
    aux = images[CHANNELS[modality][1]].path()
    return read_rgbx(color, aux, modality)


def region_box(region) -> list[float]:
    """[x, y, w, h] of a TraX rectangle, or the bounding box of a polygon."""
    if hasattr(region, "bounds"):
        return [float(v) for v in region.bounds()]
    points = np.array([region.get(i) for i in range(region.size())], dtype=np.float64)
    x0, y0 = points.min(axis=0)
    x1, y1 = points.max(axis=0)
    return [x0, y0, x1 - x0, y1 - y0]


def serve(tracker, server, modality: str) -> int:
    """Answer TraX requests until the client quits; returns the number of frames tracked."""
    from trax import TraxStatus
    from trax.region import Rectangle

    frames = 0
    while True:
        request = server.wait()
        if request.type == TraxStatus.QUIT:
            return frames
        image = read_request_frame(request.image, modality)
        if request.type == TraxStatus.INITIALIZE:
            box, score = region_box(request.objects[0][0]), 1.0
            tracker.initialize(image, box)
        else:
            box, score = tracker.track(image)
            frames += 1
        server.status([(Rectangle.create(*box), {"confidence": f"{score:.6f}"})])


def main(argv: list[str] | None = None) -> int:
    """Build the tracker, then serve the TraX session on the channels of --modality."""
    args = parse_args(argv)
    try:
        from trax import Image, Region
        from trax.server import Server
    except ModuleNotFoundError:
        print("vot_trax.py: the 'vot-trax' package is not installed: pip install -c constraints.txt vot-trax",
              file=sys.stderr)
        return 2
    from lib.api import build_tracker

    dataset = args.dataset_name or {"rgb": "vot", "depth": "vot22_rgbd", "thermal": "lasher"}[args.modality]
    tracker = build_tracker(args.config, checkpoint=args.checkpoint, device=args.device, dataset_name=dataset,
                            random_weights=args.random_weights)
    with Server([Region.RECTANGLE], [Image.PATH], CHANNELS[args.modality], tracker_name="sutrack_dinov3",
                log=args.log or False) as server:
        serve(tracker, server, args.modality)
    return 0


if __name__ == "__main__":
    sys.exit(main())
