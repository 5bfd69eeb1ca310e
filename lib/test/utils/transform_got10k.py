"""Pack GOT-10k test results for the evaluation server: `<seq>/<seq>_001.txt` and `<seq>/<seq>_time.txt`.

    python lib/test/utils/transform_got10k.py --tracker sutrack_dinov3 --config NAME [--runid N]

Reads `<results_path>/<tracker>/<config>[_<runid:03d>]/got10k_test/` (or `got10k/`) as tracking/test.py
writes it and writes `<that run folder>/got10k_test_submit.zip` (comma-separated integer boxes, seconds
per frame), atomically. The packing helpers here are shared with transform_trackingnet.py.
"""
from __future__ import annotations

import argparse
import io
import sys
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from lib.test.results import ResultFileError, TrackerSpec, finished_sequences, load_result_boxes, load_values
from lib.utils.io import atomic_write_bytes
from lib.utils.settings import env_settings

GOT10K_TEST_SEQUENCES = 180


def result_sequences(results_dir: str | Path) -> list[str]:
    """Names of the sequences with a box file `<seq>.txt` (time, confidence, provenance files left aside)."""
    return list(finished_sequences(results_dir))


def integer_box_lines(path: str | Path) -> str:
    """A result file's boxes as comma-separated integer lines (rounded); non-finite boxes raise."""
    boxes = load_result_boxes(path)
    if not np.isfinite(boxes).all():
        raise ResultFileError(f"{path}: non-finite boxes cannot be submitted")
    return "".join(",".join(str(int(v)) for v in row) + "\n" for row in np.rint(boxes))


def got10k_entries(results_dir: str | Path) -> dict[str, str]:
    """Zip entries of the GOT-10k server layout: `<seq>/<seq>_001.txt` and `<seq>/<seq>_time.txt`."""
    results_dir = Path(results_dir)
    entries = {}
    for seq in result_sequences(results_dir):
        boxes = integer_box_lines(results_dir / f"{seq}.txt")
        times = load_values(results_dir / f"{seq}_time.txt", n_frames=boxes.count("\n"))
        entries[f"{seq}/{seq}_001.txt"] = boxes
        entries[f"{seq}/{seq}_time.txt"] = "".join(f"{t:.6f}\n" for t in times)
    return entries


def write_zip(entries: dict[str, str], path: str | Path) -> Path:
    """Write text entries into a zip file atomically (built in memory, then renamed into place)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, text in entries.items():
            archive.writestr(name, text)
    atomic_write_bytes(path, buffer.getvalue())
    return Path(path)


def find_results_dir(run_dir: Path, dataset_dirs: Sequence[str]) -> Path:
    """The first existing `<run_dir>/<dataset_dir>`; raises FileNotFoundError naming every path tried."""
    for name in dataset_dirs:
        if (run_dir / name).is_dir():
            return run_dir / name
    tried = ", ".join(str(run_dir / name) for name in dataset_dirs)
    raise FileNotFoundError(f"no results folder: tried {tried} (run tracking/test.py first)")


def pack_results(spec: TrackerSpec, benchmark: str, entries_of: Callable[[Path], dict[str, str]],
                 dataset_dirs: Sequence[str], expected: int, results_path: str | Path | None = None,
                 output: str | Path | None = None) -> Path:
    """Pack one run's results for `benchmark`'s server; warn when the sequence count is not `expected`."""
    run_dir = spec.results_dir(results_path or env_settings().results_path)
    results_dir = find_results_dir(run_dir, dataset_dirs)
    num = len(result_sequences(results_dir))
    if num == 0:
        raise FileNotFoundError(f"{results_dir}: no result files")
    if num != expected:
        print(f"warning: {num} sequences in {results_dir}, the {benchmark} test set has {expected}",
              file=sys.stderr)
    path = write_zip(entries_of(results_dir), output or run_dir / f"{results_dir.name}_submit.zip")
    print(f"{benchmark}: packed {num} sequences into {path}")
    return path


def pack_got10k(spec: TrackerSpec, results_path: str | Path | None = None, output: str | Path | None = None,
                dataset_dirs: Sequence[str] = ("got10k_test", "got10k")) -> Path:
    """Zip a run's GOT-10k test results in the server layout."""
    return pack_results(spec, "GOT-10k", got10k_entries, dataset_dirs, GOT10K_TEST_SEQUENCES,
                        results_path, output)


def pack_cli(argv: list[str] | None, benchmark: str, pack: Callable[..., Path]) -> int:
    """Shared command line: --tracker, --config, --runid, --results_path, --dataset_dir, --output."""
    parser = argparse.ArgumentParser(description=f"Pack {benchmark} test results for its evaluation server.")
    parser.add_argument("--tracker", default="sutrack_dinov3")
    parser.add_argument("--config", required=True, help="parameter (yaml) name of the run")
    parser.add_argument("--runid", type=int, default=None)
    parser.add_argument("--results_path", default=None, help="results root (default: settings results_path)")
    parser.add_argument("--dataset_dir", default=None, help="results sub-folder (default: searched)")
    parser.add_argument("--output", default=None,
                        help="zip path (default: <run folder>/<dataset>_submit.zip)")
    args = parser.parse_args(argv)
    extra = {"dataset_dirs": (args.dataset_dir,)} if args.dataset_dir else {}
    try:
        pack(TrackerSpec(args.tracker, args.config, args.runid), args.results_path, args.output, **extra)
    except (FileNotFoundError, ResultFileError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    """CLI entry point."""
    return pack_cli(argv, "GOT-10k", pack_got10k)


if __name__ == "__main__":
    sys.exit(main())
