"""Checkpoint files: atomic writes, listing, pruning, and RNG state as plain tensors/lists.

A checkpoint is a dict loadable with torch.load(weights_only=True): 'net' (the bare model's state
dict, what the tracker loads strictly), 'optimizer', 'scheduler', 'scaler', 'epoch', 'rng' (torch,
cuda, numpy, python random, the loader's generator), 'config' (YAML text) and 'history' (per-epoch
means of the stats).
"""
from __future__ import annotations

import errno
import os
import random
import re
import shutil
import time
from pathlib import Path

import numpy as np
import torch

CHECKPOINT_PATTERN = re.compile(r"^SUTRACK_ep(\d{4,})\.pth\.tar$")


def checkpoint_name(epoch: int) -> str:
    return f"SUTRACK_ep{epoch:04d}.pth.tar"


def list_checkpoints(folder: Path) -> list[tuple[int, Path]]:
    """(epoch, path) of the checkpoints in `folder`, oldest first."""
    if not folder.is_dir():
        return []
    found = []
    for p in folder.iterdir():
        m = CHECKPOINT_PATTERN.match(p.name)
        if m and p.is_file():
            found.append((int(m.group(1)), p))
    return sorted(found)


class DiskFullError(OSError):
    """A checkpoint could not be written for lack of space; the message names the path and the free space."""


class ResumeError(ValueError):
    """The latest checkpoint does not fit the model or optimizer built from the config (the config changed)."""


def _is_disk_full(exc: BaseException) -> bool:
    """True when `exc` or an exception it was raised from is ENOSPC / EDQUOT (torch.save's zip writer turns a
    failed write into RuntimeError 'unexpected pos ...' whose context is the OSError)."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def tensor_bytes(obj) -> int:
    """Bytes of the tensors in a (nested) checkpoint dict: about the size torch.save writes."""
    if isinstance(obj, torch.Tensor):
        return obj.numel() * obj.element_size()
    if isinstance(obj, dict):
        return sum(tensor_bytes(v) for v in obj.values())
    if isinstance(obj, (list, tuple)):
        return sum(tensor_bytes(v) for v in obj)
    return 0


def save_atomic(state: dict, path: Path) -> None:
    """torch.save to a temp file in the same folder, fsync, then os.replace: never a half-written file. A full
    disk raises DiskFullError naming the path and the free space; the previous checkpoint stays as it was."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            torch.save(state, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except (OSError, RuntimeError) as exc:
        if not _is_disk_full(exc):
            raise
        tmp.unlink(missing_ok=True)
        free = shutil.disk_usage(path.parent).free
        previous = list_checkpoints(path.parent)
        kept = f"the previous checkpoint {previous[-1][1]} is intact" if previous else "no earlier checkpoint exists"
        raise DiskFullError(exc.errno if isinstance(exc, OSError) else errno.ENOSPC,
                            f"disk full: cannot write checkpoint {path} (about {tensor_bytes(state) / 1e6:.0f} MB) "
                            f"with {free / 1e6:.0f} MB free on {path.parent}; {kept}. Free space there (or pass "
                            "another --save_dir) and rerun: training resumes from the last checkpoint") from None
    finally:
        if tmp.exists():
            tmp.unlink()


def remove_stale_temps(folder: Path) -> int:
    """Delete temp files left by a run killed while writing; returns how many."""
    if not folder.is_dir():
        return 0
    stale = [p for p in folder.glob(".SUTRACK_ep*.tmp") if p.is_file()]
    for p in stale:
        p.unlink(missing_ok=True)
    return len(stale)


def prune(folder: Path, keep_last: int) -> list[Path]:
    """Delete all but the `keep_last` newest checkpoints (0 keeps all); returns the deleted paths."""
    if keep_last <= 0:
        return []
    old = list_checkpoints(folder)[:-keep_last]
    for _, p in old:
        p.unlink(missing_ok=True)
    return [p for _, p in old]


def move_aside(folder: Path) -> Path | None:
    """Move existing checkpoints into folder/previous-<time>/ (a fresh run must not mix with them)."""
    found = list_checkpoints(folder)
    if not found:
        return None
    dest = folder / time.strftime("previous-%Y%m%d-%H%M%S")
    dest.mkdir(parents=True, exist_ok=True)
    for _, p in found:
        shutil.move(str(p), dest / p.name)
    return dest


def load_checkpoint(path: Path) -> dict:
    """torch.load(weights_only=True) on CPU: checkpoints are data, never code."""
    return torch.load(path, map_location="cpu", weights_only=True)


def capture_rng(generators: dict[str, torch.Generator] | None = None) -> dict:
    """All RNG states as tensors, lists and numbers (weights_only-loadable)."""
    np_state = np.random.get_state()
    py_version, py_state, py_gauss = random.getstate()
    state = {
        "torch": torch.get_rng_state(),
        "numpy": {"name": str(np_state[0]), "keys": torch.from_numpy(np.asarray(np_state[1], dtype=np.int64)),
                  "pos": int(np_state[2]), "has_gauss": int(np_state[3]), "gauss": float(np_state[4])},
        "python": {"version": int(py_version), "state": [int(v) for v in py_state], "gauss": py_gauss},
        "generators": {k: g.get_state() for k, g in (generators or {}).items()},
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: dict, generators: dict[str, torch.Generator] | None = None) -> None:
    """Inverse of capture_rng (CUDA states only when the device count matches)."""
    torch.set_rng_state(state["torch"])
    np_state = state["numpy"]
    np.random.set_state((np_state["name"], np_state["keys"].numpy().astype(np.uint32), np_state["pos"],
                         np_state["has_gauss"], np_state["gauss"]))
    py = state["python"]
    random.setstate((py["version"], tuple(py["state"]), py["gauss"]))
    for key, g in (generators or {}).items():
        if key in state.get("generators", {}):
            g.set_state(state["generators"][key])
    cuda = state.get("cuda")
    if cuda is not None and torch.cuda.is_available() and len(cuda) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(cuda)
