"""Pack TrackingNet test results for the evaluation server: `<seq>.txt`, comma-separated integers, zipped.

    python lib/test/utils/transform_trackingnet.py --tracker sutrack_dinov3 --config NAME [--runid N]

Reads `<results_path>/<tracker>/<config>[_<runid:03d>]/trackingnet/` and writes
`<that run folder>/trackingnet_submit.zip` atomically.
"""
from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from lib.test.results import TrackerSpec
from lib.test.utils.transform_got10k import integer_box_lines, pack_cli, pack_results, result_sequences

TRACKINGNET_TEST_SEQUENCES = 511


def trackingnet_entries(results_dir: str | Path) -> dict[str, str]:
    """Zip entries of the TrackingNet server layout: `<seq>.txt` at the top level."""
    results_dir = Path(results_dir)
    return {f"{seq}.txt": integer_box_lines(results_dir / f"{seq}.txt")
            for seq in result_sequences(results_dir)}


def pack_trackingnet(spec: TrackerSpec, results_path: str | Path | None = None,
                     output: str | Path | None = None,
                     dataset_dirs: Sequence[str] = ("trackingnet", "trackingnet_test")) -> Path:
    """Zip a run's TrackingNet test results in the server layout."""
    return pack_results(spec, "TrackingNet", trackingnet_entries, dataset_dirs, TRACKINGNET_TEST_SEQUENCES,
                        results_path, output)


def main(argv: list[str] | None = None) -> int:
    """CLI entry point."""
    return pack_cli(argv, "TrackingNet", pack_trackingnet)


if __name__ == "__main__":
    sys.exit(main())
