"""Run a tracker on a dataset; results go to <results_path>/<script>/<config>[_<runid>]/<dataset>/<seq>.txt.

    python tracking/test.py sutrack_dinov3 sutrack_dinov3 --dataset got10k_val --threads 2
    python tracking/test.py sutrack_dinov3 tiny --dataset_name got10k_val --random_weights --sequence 0
    torchrun --nproc_per_node 2 tracking/test.py sutrack_dinov3 sutrack_dinov3 --dataset lasot

Sequences whose results exist are skipped, so an interrupted run resumes where it stopped. The results
folder keeps a provenance record (config and checkpoint hashes, backend, dataset, code version, date):
a run with another record refuses to write there (use --runid N, or --overwrite to redo). A failing
sequence is reported and the run goes on. The run ends with a summary (done, skipped as broken, failed);
the exit code is 1 when any listed sequence has no result, 2 on a setup error.
"""
from __future__ import annotations

import argparse
import os
import sys
from datetime import timedelta

import torch

from lib.test.evaluation.running import Failure, distributed_rank, run_dataset
from lib.test.evaluation.tracker import TrackerRun
from lib.test.results import ProvenanceMismatch, describe


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command line of tracking/test.py (SUTrack's options plus weights, device and results path)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0], allow_abbrev=True)
    parser.add_argument("tracker_name", help="tracker script: sutrack_dinov3")
    parser.add_argument("tracker_param", help="config name in experiments/<script>/ or a YAML path")
    parser.add_argument("--dataset_name", required=True, help="e.g. got10k_val, lasot, otb, tnl2k (--dataset works)")
    parser.add_argument("--sequence", default=None, help="one sequence, by name or index")
    parser.add_argument("--runid", type=int, default=None, help="run id: results go to <config>_<runid:03d>")
    parser.add_argument("--debug", type=int, nargs="?", const=1, default=0,
                        help="1: errors stop the run with a traceback; 2: also print every frame's box")
    parser.add_argument("--threads", type=int, default=0, help="worker processes (0: run in this process)")
    parser.add_argument("--num_gpus", type=int, default=None, help="GPUs shared by the workers (default: all)")
    parser.add_argument("--checkpoint", default=None, help="weights file (default: TEST.EPOCH's under save_dir)")
    parser.add_argument("--random_weights", action="store_true", help="seeded random weights, for smoke runs")
    parser.add_argument("--seed", type=int, default=0, help="seed of --random_weights")
    parser.add_argument("--results_path", default=None, help="default: results_path of lib/utils/settings")
    parser.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N")
    parser.add_argument("--backend", default=None,
                        help="auto | pytorch | onnx | openvino | pytorch_bf16 | onnx_int8 | openvino_int8 | "
                             "openvino_bf16 (default: the config's TEST.BACKEND)")
    parser.add_argument("--torch_threads", type=int, default=0, help="torch threads per process (0: default)")
    parser.add_argument("--overwrite", action="store_true",
                        help="redo the sequences even if finished; results of another run in the folder are deleted")
    return parser.parse_args(argv)


def select_sequences(dataset, sequence: str | None):
    """The whole dataset, or the one sequence named (or indexed) by `sequence`."""
    if sequence is None:
        return dataset
    names = [seq.name for seq in dataset]
    if sequence in names:
        return [dataset[names.index(sequence)]]
    if sequence.lstrip("-").isdigit() and -len(names) <= int(sequence) < len(names):
        return [dataset[int(sequence)]]
    broken = dict(getattr(dataset, "skipped", []))
    if sequence in broken:
        raise ValueError(f"sequence '{sequence}' is in the dataset's list but cannot be used: {broken[sequence]}")
    shown = ", ".join(names[:10]) + (", ..." if len(names) > 10 else "")
    raise ValueError(f"no sequence '{sequence}' in the dataset ({len(names)} sequences: {shown})")


def _process_group(world_size: int):
    """A gloo group under torchrun, so ranks wait for each other before exiting (torchrun stops the rest
    when one rank exits with an error); None when not distributed."""
    if world_size <= 1 or "MASTER_ADDR" not in os.environ or not torch.distributed.is_available():
        return None
    torch.distributed.init_process_group("gloo", timeout=timedelta(days=7))
    return torch.distributed


def main(argv: list[str] | None = None) -> int:
    """Run; 0 when every sequence finished, 1 when any failed, 2 on a setup error."""
    args = parse_args(argv)
    rank, world_size, local_rank = distributed_rank()
    try:
        spec = TrackerRun(args.tracker_name, args.tracker_param, args.dataset_name, args.runid,
                          checkpoint=args.checkpoint, random_weights=args.random_weights, seed=args.seed,
                          backend=args.backend, results_path=args.results_path)
        device = args.device
        if device == "auto" and world_size > 1 and torch.cuda.is_available():
            device = f"cuda:{local_rank % torch.cuda.device_count()}"
        record = spec.provenance(device)  # builds the parameters once: a bad config or checkpoint stops here
        from lib.test.evaluation import get_dataset

        full = get_dataset(args.dataset_name)
        dataset = select_sequences(full, args.sequence)
    except (FileNotFoundError, ValueError, KeyError) as exc:
        if args.debug:
            raise
        print(f"test.py: error: {exc}", file=sys.stderr)
        return 2
    broken = list(full.skipped) if args.sequence is None else []
    if rank == 0:
        print(f"Run {describe(record)}", flush=True)
    num_gpus = torch.cuda.device_count() if args.num_gpus is None else args.num_gpus
    group = _process_group(world_size)
    try:
        failures = run_dataset(dataset, [spec], debug=args.debug, threads=args.threads, num_gpus=num_gpus,
                               device=device, torch_threads=args.torch_threads, rank=rank, world_size=world_size,
                               overwrite=args.overwrite)
    except ProvenanceMismatch as exc:
        print(f"test.py: error: {exc}", file=sys.stderr)
        return 2
    missing = 0
    if group is not None:
        group.barrier()  # every rank has finished writing
    if rank == 0:
        missing = print_summary(spec, dataset, broken, failures)
    if group is not None:
        total = torch.tensor([missing])
        group.all_reduce(total)
        missing = int(total.item())
        group.destroy_process_group()
    return 1 if missing else 0


def print_summary(spec: TrackerRun, dataset, broken: list[tuple[str, str]], failures: list[Failure]) -> int:
    """Print done / skipped as broken / failed for the listed sequences; returns how many have no result."""
    names = [seq.name for seq in dataset]
    done = [n for n in names if spec.has_results(n)]
    failed = {f.sequence for f in failures} | {n for n in names if n not in done}
    listed = len(names) + len(broken)
    print(f"\nSummary: {listed} listed, {len(done)} done, {len(broken)} skipped as broken, {len(failed)} failed. "
          f"Results: {spec.dataset_results_dir}")
    for name, reason in broken:
        print(f"  skipped as broken: {name}: {reason}")
    for name in sorted(failed):
        print(f"  failed: {name} (its error is above; rerun to retry)")
    return listed - len(done)


if __name__ == "__main__":
    sys.exit(main())
