"""Run trackers over dataset sequences and save results in the pytracking layout.

Each finished sequence is saved at once, file by file through a temp file and a rename, the box file
last: a box file with one row per frame means a finished sequence, so a rerun skips it and fills in only
what is missing; a damaged box file (empty, truncated, unparsable, more rows than frames) is redone and
reported. A failing sequence (unreadable frame, bad annotation, ...) is reported with its name and error;
the others still run. Sequences can be split over torchrun ranks (index % world_size == rank) and over a
pool of worker processes (`threads`). Workers die with their parent (Linux's parent-death signal, and a
watchdog thread on the parent's PID); a worker killed by the OS (kill -9, out of memory) fails only the
sequence it was tracking, named with the signal, and the others go on in a fresh pool.
"""
from __future__ import annotations

import multiprocessing as mp
import os
import shutil
import signal
import tempfile
import time
import traceback
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from lib.test.evaluation.tracker import TrackerRun
from lib.test.results import SequenceOutput, claim_folder, save_results
from lib.utils.image import read_image, read_rgbx
from lib.utils.process import die_with_parent, killed_message


@dataclass
class RunOutcome:
    """What run_dataset did: the sequences that failed, and those redone because their results were damaged."""

    failures: list[Failure] = field(default_factory=list)
    redone: list[tuple[str, str]] = field(default_factory=list)  # (sequence, what was wrong with its box file)


@dataclass(frozen=True)
class Failure:
    """A sequence that could not be tracked, with the error that stopped it."""

    tracker: str
    sequence: str
    error: str

    def __str__(self) -> str:
        return f"{self.tracker}: sequence '{self.sequence}' failed: {self.error}"


def read_frame(seq, index: int) -> np.ndarray:
    """Frame `index` of `seq`: H x W x 3 RGB, or H x W x 6 RGB-X when the sequence has `aux_frames`."""
    aux = getattr(seq, "aux_frames", None)
    if aux:
        return read_rgbx(seq.frames[index], aux[index], seq.modality)
    return read_image(seq.frames[index])


def run_sequence(seq, tracker, debug: int = 0) -> SequenceOutput:
    """Track one sequence with a FrameTracker; frame 0 reports the initial box with confidence 1."""
    info = seq.init_info()
    frames = list(seq.frames)
    if not frames:
        raise ValueError("the sequence has no frames")
    output = SequenceOutput()
    image = read_frame(seq, 0)
    start = time.perf_counter()
    tracker.initialize(image, info["init_bbox"], text=info.get("init_nlp"))
    output.times.append(time.perf_counter() - start)
    output.boxes.append([float(v) for v in info["init_bbox"]])
    output.scores.append(1.0)
    for index in range(1, len(frames)):
        image = read_frame(seq, index)
        start = time.perf_counter()
        box, score = tracker.track(image)
        output.times.append(time.perf_counter() - start)
        output.boxes.append(box)
        output.scores.append(score)
        if debug > 1:
            print(f"{seq.name} frame {index}: box {np.round(box, 1).tolist()} score {score:.3f}")
    return output


# ---------------------------------------------------------------------- per process state
_BUILT: dict[tuple, object] = {}  # (tracker configuration, device) -> FrameTracker, one per process
_DEVICE = "auto"


def _set_process(device: str, torch_threads: int) -> None:
    global _DEVICE
    _DEVICE = device
    if torch_threads > 0:
        torch.set_num_threads(torch_threads)


_STARTED_DIR: Path | None = None  # where a worker notes the sequence it is tracking (<dir>/<pid>)
MAX_STALLED_POOLS = 2  # pools in a row whose workers die before any sequence finishes: then the rest fail


def _worker_init(device: str, num_gpus: int, torch_threads: int, parent_pid: int | None = None,
                 started_dir: str | None = None) -> None:
    """Pool initializer: die with the parent, the worker's device (GPUs round-robin over workers), torch threads."""
    global _STARTED_DIR
    if parent_pid is not None:
        die_with_parent(parent_pid)
    _STARTED_DIR = Path(started_dir) if started_dir else None
    identity = (mp.current_process()._identity or (1,))[0] - 1
    if device == "auto" and num_gpus > 0 and torch.cuda.is_available():
        device = f"cuda:{identity % min(num_gpus, torch.cuda.device_count())}"
    _set_process(device, torch_threads)


def _get_tracker(spec: TrackerRun):
    key = (repr(spec), _DEVICE)
    if key not in _BUILT:
        _BUILT[key] = spec.create(_DEVICE)
    return _BUILT[key]


def _run_job(seq, spec: TrackerRun, debug: int) -> tuple[str, str | None, float]:
    """Track and save one sequence; returns (name, error or None, tracking frames per second)."""
    if _STARTED_DIR is not None:  # the parent names this sequence if the OS kills this worker
        (_STARTED_DIR / str(os.getpid())).write_text(f"{spec.label}\n{seq.name}")
    try:
        output = run_sequence(seq, _get_tracker(spec), debug)
        save_results(spec.result_files(seq.name), output, spec.record_id)
        return seq.name, None, len(output.times) / max(sum(output.times), 1e-9)
    except Exception as exc:
        if debug:
            raise
        detail = f"{type(exc).__name__}: {exc}"
        if not isinstance(exc, (OSError, ValueError)):
            detail += "\n" + traceback.format_exc(limit=-3)
        return seq.name, detail, 0.0


def distributed_rank() -> tuple[int, int, int]:
    """(rank, world_size, local_rank) from torchrun's environment; (0, 1, 0) otherwise."""
    env = os.environ
    return int(env.get("RANK", 0)), int(env.get("WORLD_SIZE", 1)), int(env.get("LOCAL_RANK", 0))


def run_dataset(dataset, trackers: list[TrackerRun], debug: int = 0, threads: int = 0, num_gpus: int = 0,
                device: str = "auto", torch_threads: int = 0, rank: int = 0, world_size: int = 1,
                progress: bool = True, overwrite: bool = False) -> RunOutcome:
    """Run every tracker on this rank's share of `dataset`; finished sequences are skipped, damaged ones redone.

    Each tracker's folder is first claimed for its provenance record (lib.test.results.claim_folder):
    results of another record raise ProvenanceMismatch, or with `overwrite` are deleted; `overwrite`
    also reruns finished sequences.

    threads: worker processes (0 = in this process); num_gpus: GPUs shared round-robin by the workers
    (under torchrun each rank uses cuda:LOCAL_RANK); torch_threads: per-process torch threads (0 = torch's
    default in-process, cpu_count // threads in workers). Returns the failed and the redone sequences.
    """
    sequences = [seq for i, seq in enumerate(dataset) if i % world_size == rank]
    jobs, skipped = [], 0
    outcome = RunOutcome()
    for spec in trackers:
        spec.dataset_results_dir.mkdir(parents=True, exist_ok=True)
        if spec.record is None:
            spec.provenance(device)
        removed = claim_folder(spec.dataset_results_dir, spec.record, overwrite)
        if removed and rank == 0:
            print(f"{spec.label}: removed the results of {len(removed)} sequence(s) made by another run "
                  "(--overwrite)", flush=True)
        for seq in sequences:
            problem = None if overwrite else spec.result_problem(seq)
            if not overwrite and problem is None:
                skipped += 1
                continue
            if problem is not None and spec.result_files(seq.name).exists():
                outcome.redone.append((seq.name, problem))
            jobs.append((seq, spec))
    where = f" (rank {rank}/{world_size})" if world_size > 1 else ""
    redo = f" ({len(outcome.redone)} of them redone: damaged results)" if outcome.redone else ""
    print(f"Evaluating {len(trackers)} tracker(s) on {len(sequences)} sequences{where}: {len(jobs)} to run{redo}, "
          f"{skipped} already done", flush=True)
    for name, problem in outcome.redone:
        print(f"  redoing {name}: {problem}", flush=True)
    bar = tqdm(total=len(jobs), desc=f"rank {rank}" if world_size > 1 else "sequences", unit="seq",
               disable=not progress or not jobs, dynamic_ncols=True)

    def report(spec: TrackerRun, name: str, error: str | None, fps: float) -> None:
        bar.update(1)
        if error is None:
            bar.set_postfix_str(f"{name} {fps:.1f} fps")
        else:
            outcome.failures.append(Failure(spec.label, name, error))
            tqdm.write(str(outcome.failures[-1]))

    try:
        if threads <= 0:
            _set_process(device, torch_threads)
            for seq, spec in jobs:
                report(spec, *_run_job(seq, spec, debug))
        else:
            per_worker = torch_threads or max(1, (os.cpu_count() or 1) // threads)
            _run_pool(jobs, threads, (device, num_gpus, per_worker), debug, report)
    finally:
        bar.close()
    return outcome


def _run_pool(jobs: list, threads: int, init: tuple, debug: int, report) -> None:
    """Run `jobs` in `threads` worker processes. A worker that dies (killed by the OS, out of memory) fails the
    sequence it was tracking, named with its signal; the sequences that were still to run go to a new pool."""
    pending, stalls = list(jobs), 0
    while pending:
        started_dir = tempfile.mkdtemp(prefix="sutrack_workers_")
        try:
            rest, reason = _pool_round(pending, threads, init, started_dir, debug, report)
        finally:
            shutil.rmtree(started_dir, ignore_errors=True)
        stalls = stalls + 1 if rest and len(rest) == len(pending) else 0
        if stalls >= MAX_STALLED_POOLS:  # workers keep dying before finishing anything: stop rather than loop
            for seq, spec in rest:
                report(spec, seq.name, f"not tracked: {reason} ({stalls} pools in a row died before any sequence "
                                       "finished)", 0.0)
            return
        if rest:
            tqdm.write(f"{len(rest)} sequence(s) not finished when a worker died ({reason}): running them in "
                       "new workers")
        pending = rest


def _pool_round(jobs: list, threads: int, init: tuple, started_dir: str, debug: int, report
                ) -> tuple[list, str]:
    """One pool over `jobs`; returns the jobs to rerun when a worker died (empty when the pool finished) and
    how the worker ended."""
    done: set[int] = set()
    with ProcessPoolExecutor(threads, mp_context=mp.get_context("spawn"), initializer=_worker_init,
                             initargs=(*init, os.getpid(), started_dir)) as pool:
        futures = {pool.submit(_run_job, seq, spec, debug): k for k, (seq, spec) in enumerate(jobs)}
        workers = dict(getattr(pool, "_processes", None) or {})  # pid -> Process, to read a dead one's exit code
        broken = False
        try:
            for future in as_completed(futures):
                k = futures[future]
                seq, spec = jobs[k]
                try:
                    result = future.result()
                except BrokenProcessPool:
                    if debug:
                        raise
                    broken = True
                    continue
                except Exception as exc:  # e.g. an argument that cannot be pickled
                    if debug:
                        raise
                    result = (seq.name, f"{type(exc).__name__}: {exc}", 0.0)
                done.add(k)
                report(spec, *result)
        except BaseException:
            for future in futures:
                future.cancel()
            raise
    if not broken:
        return [], ""
    return _after_broken_pool(jobs, done, workers, Path(started_dir), report)


def _after_broken_pool(jobs: list, done: set[int], workers: dict, started_dir: Path, report
                       ) -> tuple[list, str]:
    """Fail the sequences whose worker was killed (naming the signal); return the others, to run again, and
    how the dead workers ended."""
    for process in workers.values():
        process.join(timeout=5)
    terminated = -int(signal.SIGTERM)  # the pool terminates the surviving workers itself once one dies
    dead = {pid: p.exitcode for pid, p in workers.items() if p.exitcode not in (0, None, terminated)}
    if not dead:  # only SIGTERMs seen: someone terminated a worker
        dead = {pid: p.exitcode for pid, p in workers.items() if p.exitcode not in (0, None)}
    index = {(spec.label, seq.name): k for k, (seq, spec) in enumerate(jobs) if k not in done}
    failed: set[int] = set()
    for pid, exitcode in dead.items():
        try:
            label, name = (started_dir / str(pid)).read_text().split("\n", 1)
        except (OSError, ValueError):
            continue  # died before it took a sequence (e.g. while starting)
        k = index.get((label, name))
        if k is not None and k not in failed:
            failed.add(k)
            seq, spec = jobs[k]
            report(spec, seq.name, f"{killed_message(exitcode)}; the other sequences go on in new workers", 0.0)
    reason = "; ".join(sorted({killed_message(code) for code in dead.values()})) or "the worker pool broke"
    return [job for k, job in enumerate(jobs) if k not in done and k not in failed], reason
