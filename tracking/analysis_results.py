"""Score tracking results on a dataset: print a table of metrics and write success / precision plots.

    python tracking/analysis_results.py --tracker sutrack_dinov3 --config sutrack_dinov3 tiny --dataset lasot
    python tracking/analysis_results.py --dataset got10k_val --config tiny --runid 1 \\
        --trackers sutrack_dinov3:sutrack_dinov3_frozen::Frozen other_tracker:cfg:2

Results are read from `<results_path>/<tracker>/<param>[_<runid:03d>]/<dataset>/<seq>.txt`, as
tracking/test.py writes them. Each run's provenance record is printed; a run whose sequences come from
different records is refused. The table says "K of N sequences scored", N being the dataset's own list;
sequences without results, with damaged results (a box file without exactly one row per frame), missing
on disk or broken on disk are named and left out for every tracker, and the exit code is 1 unless
--allow_incomplete. A dataset root that lists no sequence is an error (exit 2). Frames with invalid ground
truth count as failures (pytracking's default, that of the published LaSOT / TrackingNet numbers) unless
--exclude_invalid_frames.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lib.test.analysis.results import score_trackers
from lib.test.results import TrackerSpec, describe
from lib.utils.settings import env_settings


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options; `--dataset` and pytracking's `--dataset_name` are the same option."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tracker", default="sutrack_dinov3",
                        help="tracker name for --config (default: %(default)s)")
    parser.add_argument("--config", nargs="+", default=[], metavar="NAME",
                        help="parameter (yaml) names to score")
    parser.add_argument("--runid", type=int, default=None, help="run id of the --config results")
    parser.add_argument("--trackers", nargs="+", default=[], metavar="TRACKER:CONFIG[:RUNID][:DISPLAY]",
                        help="more runs to compare, e.g. sutrack_dinov3:tiny:1:Tiny")
    parser.add_argument("--dataset", "--dataset_name", dest="dataset_name", required=True, metavar="NAME",
                        help="dataset name as for tracking/test.py (lasot, got10k_val, otb, ...)")
    parser.add_argument("--results_path", default=None, help="results root (default: settings results_path)")
    parser.add_argument("--plot_dir", default=None,
                        help="where the PNG plots go (default: <settings result_plot_path>/<dataset>)")
    parser.add_argument("--exclude_invalid_frames", action="store_true",
                        help="leave frames with invalid ground truth out instead of counting them as failures "
                             "(the default, pytracking's: the published LaSOT / TrackingNet convention)")
    parser.add_argument("--allow_incomplete", action="store_true",
                        help="exit 0 even when some of the dataset's sequences could not be scored")
    args = parser.parse_args(argv)
    try:
        args.specs = [TrackerSpec(args.tracker, c, args.runid) for c in args.config]
        args.specs += [TrackerSpec.parse(t) for t in args.trackers]
    except ValueError as err:
        parser.error(str(err))
    if not args.specs:
        parser.error("name at least one run: --config NAME [NAME ...] or --trackers tracker:config[:runid]")
    return args


def load_dataset(name: str):
    """The evaluation dataset's sequences, via lib.test.evaluation.get_dataset."""
    from lib.test.evaluation import get_dataset

    return get_dataset(name)


def main(argv: list[str] | None = None) -> int:
    """Print the table and problems, write the plots; exit 1 when nothing could be scored."""
    args = parse_args(argv)
    try:
        settings = env_settings()  # a settings file that is missing or not YAML stops here, named
        dataset = load_dataset(args.dataset_name)
        results_path = args.results_path or settings.results_path
        report = score_trackers(args.specs, dataset, args.dataset_name, results_path,
                                exclude_invalid=args.exclude_invalid_frames)
    except (ValueError, FileNotFoundError, KeyError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    for label, record in report.records.items():
        print(f"{label}: {describe(record)}")
    print(report.table())
    problems = report.problems()
    if problems:
        print("\n" + problems)
    if not report.scores:
        print("\nnothing to score: no sequence has results for every run", file=sys.stderr)
        return 1
    from lib.test.analysis.plots import plot_report

    plot_dir = Path(args.plot_dir or Path(settings.result_plot_path) / args.dataset_name)
    for path in plot_report(report, plot_dir):
        print(f"wrote {path}")
    if not report.complete:
        unscored = report.unscored()
        print(f"\nincomplete: {len(unscored)} of the {report.total_sequences} sequences of {args.dataset_name} "
              f"not scored: {', '.join(unscored)}. Run them (tracking/test.py), or pass --allow_incomplete to "
              "accept a partial table.", file=sys.stderr)
        return 0 if args.allow_incomplete else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
