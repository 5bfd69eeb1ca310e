"""Check the datasets of a config's training mix (and named evaluation sets) before a multi-day run.

  python tracking/check_data.py --config sutrack_dinov3
  python tracking/check_data.py --config sutrack_dinov3_mm --dataset_name lasot got10k_test --sample 50

For each dataset: the root (from local.yaml / SUTRACK_<KEY>), the split list's count against the
sequences found, the first missing names, and the annotation, first and last frame of --sample sequences
(frame count checked against annotation lines). Prints one table; exit code 0 only when every dataset is
complete (1 otherwise, 2 on a bad config).
"""
from __future__ import annotations

import argparse
import sys

from lib.data.check import check_datasets, format_table
from lib.train.run_training import resolve_config_path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--script", default="sutrack_dinov3")
    parser.add_argument("--config", default="sutrack_dinov3", help="experiments/<script>/<config>.yaml or a path")
    parser.add_argument("--dataset_name", nargs="*", default=[], help="evaluation sets to check too (lasot, ...)")
    parser.add_argument("--sample", type=int, default=20,
                        help="sequences read per dataset (annotation, first and last frame); -1: all, 0: none")
    parser.add_argument("--no_train", action="store_true", help="check only the --dataset_name sets")
    args = parser.parse_args(argv)
    from lib.config.sutrack_dinov3.config import load_config
    from lib.utils.settings import env_settings

    try:
        path, _ = resolve_config_path(args.script, args.config)
        cfg = load_config(path)
        settings = env_settings()  # a settings file that is missing or not YAML stops here, named
    except (FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    train = [] if args.no_train else list(cfg.DATA.TRAIN.DATASETS_NAME)
    rows = check_datasets(train, args.dataset_name, settings=settings,
                          sample=None if args.sample < 0 else args.sample, progress=True)
    print(format_table(rows))
    return 0 if all(r.status == "ok" for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
