"""Annotation cache for training datasets: parse once, reload fast (JSON + .npz, never pickle).

An entry is two files under `settings.cache_dir`: `<stem>.npz` (numeric arrays) and `<stem>.json`
(strings and structure). Both carry a key hashed from the dataset root, its options and the
(mtime, size) of every annotation file and frame folder, so editing any of them rebuilds the entry.
The JSON is written last and acts as the commit marker; a cache that cannot be written only warns.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import warnings
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from lib.utils.io import atomic_write_bytes

__all__ = ["CACHE_VERSION", "AnnotationCache", "cache_key"]

CACHE_VERSION = 1


def _stat(path: os.PathLike | str) -> str:
    try:
        st = os.stat(path)
    except OSError:
        return "missing"
    return f"{st.st_mtime_ns}:{st.st_size}"


def cache_key(parts: Iterable[str], paths: Iterable[os.PathLike | str]) -> str:
    """Hash of `parts` (root, options, sequence names) and the (mtime, size) of every path."""
    h = hashlib.sha256(f"v{CACHE_VERSION}".encode())
    for part in parts:
        h.update(b"\0p" + str(part).encode())
    for path in paths:
        h.update(b"\0f" + os.fspath(path).encode() + b"=" + _stat(path).encode())
    return h.hexdigest()


class AnnotationCache:
    """One cache entry, named after the dataset and a hash of its root and tag."""

    def __init__(self, cache_dir: str | os.PathLike, dataset: str, root: str | os.PathLike, tag: str = ""):
        digest = hashlib.sha1(f"{os.fspath(root)}|{tag}".encode()).hexdigest()[:12]
        stem = f"{dataset.replace('/', '_')}-{digest}"
        self.dir = Path(cache_dir)
        self.json_path = self.dir / f"{stem}.json"
        self.npz_path = self.dir / f"{stem}.npz"

    def load(self, key: str) -> tuple[dict, dict[str, np.ndarray]] | None:
        """(meta, arrays) if a complete entry with this key exists, else None (missing or stale)."""
        try:
            meta = json.loads(self.json_path.read_text())
            if meta.get("key") != key:
                return None
            with np.load(self.npz_path, allow_pickle=False) as data:
                arrays = {k: data[k] for k in data.files}
        except (OSError, ValueError, KeyError):
            return None
        if str(arrays.pop("__key__", "")) != key:
            return None
        return meta, arrays

    def save(self, key: str, meta: dict, arrays: dict[str, np.ndarray]) -> None:
        """Write the entry atomically; failure (read-only or full disk) is a warning, not an error."""
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            buf = io.BytesIO()
            np.savez(buf, __key__=np.array(key), **arrays)
            atomic_write_bytes(self.npz_path, buf.getvalue())
            atomic_write_bytes(self.json_path, json.dumps({**meta, "key": key}).encode())
        except OSError as e:
            warnings.warn(f"could not write annotation cache {self.json_path}: {e}", stacklevel=2)
