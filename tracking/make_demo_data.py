"""Build the synthetic GOT-10k-style demo data set (train and val splits with list.txt)."""
from __future__ import annotations

import argparse
import os
import sys
import time

from lib.data.synthetic.demo import build_demo_data


def main(argv: list[str] | None = None) -> int:
    """Parse arguments and write DIR/got10k/{train,val}."""
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--out", required=True, help="output folder; data goes to OUT/got10k/{train,val}")
    p.add_argument("--train", type=int, default=200, help="number of train sequences")
    p.add_argument("--val", type=int, default=20, help="number of val sequences")
    p.add_argument("--frames", type=int, default=80, help="frames per sequence")
    p.add_argument("--size", type=int, nargs=2, default=(320, 240), metavar=("W", "H"), help="frame size")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=None, help="worker processes (default: up to 2)")
    args = p.parse_args(argv)
    if args.frames < 2 or args.train < 0 or args.val < 0 or min(args.size) < 64:
        p.error("need --frames >= 2, non-negative counts and a frame size of at least 64x64")
    t0 = time.time()
    names = build_demo_data(args.out, args.train, args.val, args.frames, tuple(args.size), args.seed,
                            args.workers)
    print(f"wrote {len(names['train'])} train and {len(names['val'])} val sequences to "
          f"{os.path.join(args.out, 'got10k')} in {time.time() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
