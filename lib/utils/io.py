"""Atomic file writes: results, caches, plots and archives are never left half-written by a killed run."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write `data` to a temp file beside `path`, then rename it over `path` (same permissions as open())."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp creates 0600; results are meant to be shared
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


class AtomicVideoWriter:
    """cv2.VideoWriter into a temp file beside `path` (same suffix, so cv2 picks the same container), renamed
    over `path` by close(): a killed run never leaves a half-written video, nor clobbers the old one."""

    def __init__(self, path: str | os.PathLike, fourcc: str, fps: float, size: tuple[int, int]) -> None:
        import cv2

        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.stem}.", suffix=f".tmp{self.path.suffix}",
                                   dir=self.path.parent)
        os.close(fd)
        self.tmp = Path(tmp)
        self.writer = cv2.VideoWriter(str(self.tmp), cv2.VideoWriter_fourcc(*fourcc), fps, size)

    def isOpened(self) -> bool:  # noqa: N802 (cv2.VideoWriter's name)
        return self.writer.isOpened()

    def write(self, frame) -> None:
        self.writer.write(frame)

    def close(self) -> None:
        """Finish the file and rename it to `path`."""
        self.writer.release()
        os.chmod(self.tmp, 0o666 & ~_umask())
        os.replace(self.tmp, self.path)

    def discard(self) -> None:
        """Drop the temp file (a writer that could not open, or an aborted video)."""
        self.writer.release()
        self.tmp.unlink(missing_ok=True)
