"""Write local.yaml with dataset roots under --data_dir and outputs under --save_dir (pytracking's helper)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lib.utils.settings import PROJECT_ROOT, local_file, write_local_file


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workspace_dir", default=".", help="project workspace")
    parser.add_argument("--data_dir", default="./data", help="folder holding lasot/, got10k/, coco/, ...")
    parser.add_argument("--save_dir", default=".", help="root of checkpoints/, logs/, tensorboard/, test/")
    parser.add_argument("--output", default=None, help="file to write (default: $SUTRACK_LOCAL or ./local.yaml "
                        "at the repository root)")
    args = parser.parse_args(argv)
    path = Path(args.output) if args.output else (local_file() or PROJECT_ROOT / "local.yaml")
    write_local_file(path, args.workspace_dir, args.data_dir, args.save_dir)
    print(f"wrote {path}: dataset roots under {Path(args.data_dir).resolve()}, outputs under "
          f"{Path(args.save_dir).resolve()}; edit it to point at other folders")
    return 0


if __name__ == "__main__":
    sys.exit(main())
