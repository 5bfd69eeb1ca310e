"""Build the synthetic demo data: world families in the GOT-10k layout, one family held out.

    python tracking/make_demo_data.py --out demo_workspace/data                      # every family, cutouts held out
    python tracking/make_demo_data.py --out d --worlds outlined,blobs --heldout_world none
    python tracking/make_demo_data.py --list_worlds                                  # what each family varies
    python tracking/make_demo_data.py --montage docs/worlds.jpg                      # first/middle/last frames

Writes OUT/got10k/{train,val} (the training families) and OUT/heldout/got10k/val (the held-out family).
"""
from __future__ import annotations

import argparse
import os
import sys
import time

from lib.data.synthetic.demo import DEFAULT_HELDOUT, build_demo_data, render_montage
from lib.data.synthetic.worlds import FAMILIES


def main(argv: list[str] | None = None) -> int:
    """Parse arguments and write the splits."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", help="output folder")
    p.add_argument("--train", type=int, default=200, help="number of train sequences (over the training families)")
    p.add_argument("--val", type=int, default=20, help="val sequences of the training families and of the held-out one")
    p.add_argument("--frames", type=int, default=80, help="frames per sequence")
    p.add_argument("--train_frames", type=int, default=None, help="frames per train sequence (default: --frames)")
    p.add_argument("--size", type=int, nargs=2, default=(320, 240), metavar=("W", "H"), help="frame size")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=None, help="worker processes (default: up to 2)")
    p.add_argument("--worlds", default=",".join(FAMILIES), help="comma-separated families (default: all)")
    p.add_argument("--heldout_world", default=DEFAULT_HELDOUT,
                   help=f"family left out of training and scored apart (default {DEFAULT_HELDOUT}; 'none': none)")
    p.add_argument("--list_worlds", action="store_true", help="print each family's description and exit")
    p.add_argument("--montage", metavar="IMAGE", help="write the first, middle and last frame of each family, exit")
    args = p.parse_args(argv)
    if args.montage:
        print(f"wrote {render_montage(args.montage, args.seed, args.frames, tuple(args.size), per_family=2)}")
        return 0
    if args.list_worlds:
        import importlib

        for name in FAMILIES:
            doc = importlib.import_module(f"lib.data.synthetic.worlds.{name}").__doc__ or ""
            print(f"{name}\n    " + "\n    ".join(doc.strip().splitlines()) + "\n")
        return 0
    if not args.out:
        p.error("--out is required")
    short = args.frames < 2 or (args.train_frames is not None and args.train_frames < 2)
    if short or args.train < 0 or args.val < 0 or min(args.size) < 64:
        p.error("need --frames and --train_frames >= 2, non-negative counts and a frame size of at least 64x64")
    worlds = [w.strip() for w in args.worlds.split(",") if w.strip()]
    heldout = None if args.heldout_world.lower() == "none" else args.heldout_world
    unknown = [w for w in worlds + ([heldout] if heldout else []) if w not in FAMILIES]
    if unknown:
        p.error(f"unknown world families {unknown}; known: {', '.join(FAMILIES)}")
    t0 = time.time()
    names = build_demo_data(args.out, args.train, args.val, args.frames, tuple(args.size), args.seed,
                            args.workers, worlds=worlds, heldout=heldout, train_frames=args.train_frames)
    trained = [w for w in worlds if w != heldout]
    print(f"wrote {len(names['train'])} train and {len(names['val'])} val sequences of {', '.join(trained)} to "
          f"{os.path.join(args.out, 'got10k')}" + (f", {len(names['heldout'])} val sequences of the held-out "
                                                    f"family {heldout} to {os.path.join(args.out, 'heldout', 'got10k')}"
                                                    if heldout else "") + f" in {time.time() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
