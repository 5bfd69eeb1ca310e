"""Run trackers over dataset sequences and save results in the pytracking layout.

Each finished sequence is saved at once, file by file through a temp file and a rename, the box file
last: a box file on disk means a finished sequence, so a rerun skips it and fills in only what is
missing. A failing sequence (unreadable frame, bad annotation, ...) is reported with its name and
error; the others still run. Sequences can be split over torchrun ranks (index % world_size == rank)
and over a pool of worker processes (`threads`).
"""
from __future__ import annotations

import multiprocessing as mp
import os
import time
import traceback
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass

import numpy as np
import torch
from tqdm import tqdm

from lib.test.evaluation.tracker import TrackerRun
from lib.test.results import SequenceOutput, claim_folder, save_results
from lib.utils.image import read_image, read_rgbx


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


def _worker_init(device: str, num_gpus: int, torch_threads: int) -> None:
    """Pool initializer: the worker's device (GPUs round-robin over workers) and torch threads."""
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
                progress: bool = True, overwrite: bool = False) -> list[Failure]:
    """Run every tracker on this rank's share of `dataset`; sequences with results are skipped.

    Each tracker's folder is first claimed for its provenance record (lib.test.results.claim_folder):
    results of another record raise ProvenanceMismatch, or with `overwrite` are deleted; `overwrite`
    also reruns finished sequences.

    threads: worker processes (0 = in this process); num_gpus: GPUs shared round-robin by the workers
    (under torchrun each rank uses cuda:LOCAL_RANK); torch_threads: per-process torch threads (0 = torch's
    default in-process, cpu_count // threads in workers). Returns the failed sequences.
    """
    sequences = [seq for i, seq in enumerate(dataset) if i % world_size == rank]
    jobs, skipped = [], 0
    for spec in trackers:
        spec.dataset_results_dir.mkdir(parents=True, exist_ok=True)
        if spec.record is None:
            spec.provenance(device)
        removed = claim_folder(spec.dataset_results_dir, spec.record, overwrite)
        if removed and rank == 0:
            print(f"{spec.label}: removed the results of {len(removed)} sequence(s) made by another run "
                  "(--overwrite)", flush=True)
        for seq in sequences:
            if spec.has_results(seq.name) and not overwrite:
                skipped += 1
            else:
                jobs.append((seq, spec))
    where = f" (rank {rank}/{world_size})" if world_size > 1 else ""
    print(f"Evaluating {len(trackers)} tracker(s) on {len(sequences)} sequences{where}: {len(jobs)} to run, "
          f"{skipped} already done", flush=True)
    failures: list[Failure] = []
    bar = tqdm(total=len(jobs), desc=f"rank {rank}" if world_size > 1 else "sequences", unit="seq",
               disable=not progress or not jobs, dynamic_ncols=True)

    def report(spec: TrackerRun, name: str, error: str | None, fps: float) -> None:
        bar.update(1)
        if error is None:
            bar.set_postfix_str(f"{name} {fps:.1f} fps")
        else:
            failures.append(Failure(spec.label, name, error))
            tqdm.write(str(failures[-1]))

    try:
        if threads <= 0:
            _set_process(device, torch_threads)
            for seq, spec in jobs:
                report(spec, *_run_job(seq, spec, debug))
        else:
            per_worker = torch_threads or max(1, (os.cpu_count() or 1) // threads)
            with ProcessPoolExecutor(threads, mp_context=mp.get_context("spawn"), initializer=_worker_init,
                                     initargs=(device, num_gpus, per_worker)) as pool:
                futures = {pool.submit(_run_job, seq, spec, debug): (seq, spec) for seq, spec in jobs}
                try:
                    for future in as_completed(futures):
                        seq, spec = futures[future]
                        try:
                            result = future.result()
                        except Exception as exc:  # a worker that died (out of memory, killed, ...)
                            if debug:
                                raise
                            result = (seq.name, f"{type(exc).__name__}: {exc}", 0.0)
                        report(spec, *result)
                except BaseException:
                    for future in futures:
                        future.cancel()
                    raise
    finally:
        bar.close()
    return failures
