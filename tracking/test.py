"""Run a tracker on a dataset; results go to <results_path>/<script>/<config>[_<runid>]/<dataset>/<seq>.txt.

    python tracking/test.py sutrack_dinov3 sutrack_dinov3 --dataset got10k_val --threads 2
    python tracking/test.py sutrack_dinov3 tiny --dataset_name got10k_val --random_weights --sequence 0
    torchrun --nproc_per_node 2 tracking/test.py sutrack_dinov3 sutrack_dinov3 --dataset lasot

Sequences whose results are complete (one box row per frame) are skipped, so an interrupted run resumes where
it stopped; a damaged result (empty, truncated, more rows than frames) is redone. One run at a time writes a
results folder: a second one stops at once naming the first one's PID, command and start time (or waits with
--wait); a killed run's lock is taken over. The folder keeps a provenance record (config and checkpoint hashes,
backend, dataset, code version, date): a run with another record refuses to write there (use --runid N, or
--overwrite to redo). A failing sequence is reported and the run goes on; worker processes (--threads) die
with this process. The run ends with a summary (done, redone, missing on disk, broken on disk, failed); the exit
code is 1 when any listed sequence has no result, 2 on a setup error (bad config or weights, a dataset root that
lists no sequence, a results folder in use).
"""
from __future__ import annotations

import argparse
import os
import sys
from datetime import timedelta

import torch

from lib.test.evaluation.running import RunOutcome, distributed_rank, run_dataset
from lib.test.evaluation.tracker import TrackerRun
from lib.test.results import ProvenanceMismatch, describe
from lib.utils.run_lock import FolderBusyError, RunLock


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
    parser.add_argument("--wait", action="store_true",
                        help="when another run is writing the results folder, wait for it to end instead of stopping")
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
    for name, reason in getattr(dataset, "missing", []):
        if name == sequence:
            raise ValueError(f"sequence '{sequence}' is in the dataset's list but missing on disk: {reason}")
    for name, reason in getattr(dataset, "broken", []):
        if name == sequence:
            raise ValueError(f"sequence '{sequence}' is on disk but broken (cannot be used): {reason}")
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

        full = get_dataset(args.dataset_name)  # a root that lists no sequence stops here (EmptyDatasetError)
        dataset = select_sequences(full, args.sequence)
    except (FileNotFoundError, ValueError, KeyError) as exc:
        if args.debug:
            raise
        print(f"test.py: error: {exc}", file=sys.stderr)
        return 2
    if args.sequence is not None:
        full = type(full)([], [])  # one sequence asked for: the others' state is not this run's business
    if rank == 0:
        print(f"Run {describe(record)}", flush=True)
    num_gpus = torch.cuda.device_count() if args.num_gpus is None else args.num_gpus
    group = _process_group(world_size)
    lock = RunLock(spec.dataset_results_dir, hint="Wait for it to end, pass --wait to start when it does, or write "
                                                  "this run elsewhere with --runid N.")
    if not _lock_on_rank0(lock, rank, group, args.wait):
        return 2
    try:
        outcome = run_dataset(dataset, [spec], debug=args.debug, threads=args.threads, num_gpus=num_gpus,
                              device=device, torch_threads=args.torch_threads, rank=rank, world_size=world_size,
                              overwrite=args.overwrite)
        return _finish(spec, dataset, full, outcome, rank, group)
    except ProvenanceMismatch as exc:
        print(f"test.py: error: {exc}", file=sys.stderr)
        return 2
    finally:
        lock.release()
        if group is not None and group.is_initialized():
            group.destroy_process_group()


def _lock_on_rank0(lock: RunLock, rank: int, group, wait: bool) -> bool:
    """Rank 0 (the only process, or torchrun's first rank) takes the results folder's lock; every rank learns
    whether it got it (False: another run holds it, the error is printed). Workers never touch the lock."""
    busy = None
    if rank == 0:
        try:
            note = lock.acquire(wait=wait, on_wait=lambda message: print(message, flush=True))
            if note:
                print(f"note: {note}", flush=True)
        except FolderBusyError as exc:
            busy = exc
    if group is not None:  # ranks > 0 wait here while rank 0 waits for the lock (--wait)
        flag = torch.tensor([0 if busy is None else 1])
        group.all_reduce(flag)
        if int(flag.item()) and busy is None:
            busy = FolderBusyError("rank 0 could not lock the results folder")
    if busy is not None:
        if rank == 0:
            print(f"test.py: error: {busy}", file=sys.stderr)
        return False
    return True


def _finish(spec: TrackerRun, dataset, full, outcome: RunOutcome, rank: int, group) -> int:
    """Wait for every rank, print the summary on rank 0; the exit code (1: some listed sequence has no result)."""
    missing = 0
    redone = outcome.redone
    if group is not None:
        group.barrier()  # every rank has finished writing
        gathered: list = [None] * group.get_world_size()
        group.all_gather_object(gathered, outcome.redone)
        redone = [item for part in gathered for item in part]
    if rank == 0:
        missing = print_summary(spec, dataset, full, outcome, redone)
    if group is not None:
        total = torch.tensor([missing])
        group.all_reduce(total)
        missing = int(total.item())
    return 1 if missing else 0


def print_summary(spec: TrackerRun, dataset, full, outcome: RunOutcome,
                  redone: list[tuple[str, str]] | None = None) -> int:
    """Print done / redone / missing on disk / broken on disk / failed for the listed sequences; returns how many
    have no result. `full` is the dataset as listed (its `missing` and `broken` sequences were not run)."""
    redone = outcome.redone if redone is None else redone
    not_on_disk, broken = list(getattr(full, "missing", [])), list(getattr(full, "broken", []))
    problems = {seq.name: spec.result_problem(seq) for seq in dataset}
    done = [n for n, problem in problems.items() if problem is None]
    failed = {f.sequence for f in outcome.failures} | {n for n, problem in problems.items() if problem is not None}
    listed = len(problems) + len(not_on_disk) + len(broken)
    print(f"\nSummary: {listed} listed, {len(done)} done ({len(redone)} redone: damaged results), "
          f"{len(not_on_disk)} missing on disk, {len(broken)} broken on disk, {len(failed)} failed. "
          f"Results: {spec.dataset_results_dir}")
    for name, reason in redone:
        print(f"  redone: {name}: {reason}")
    for name, reason in not_on_disk:
        print(f"  missing on disk (listed, not found): {name}: {reason}")
    for name, reason in broken:
        print(f"  broken on disk (cannot be read): {name}: {reason}")
    for name in sorted(failed):
        print(f"  failed: {name} (its error is above; rerun to retry)")
    return listed - len(done)


if __name__ == "__main__":
    sys.exit(main())
