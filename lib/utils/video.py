"""Video files through PyAV (its wheels carry FFmpeg with libx264): the one writer of every video the project
writes (H.264 in MP4, yuv420p, even sizes: what browsers and players play) and the one reader of video files.

    with VideoWriter("out.mp4", fps=10) as writer:    # frames are encoded as they come, never held in memory
        for frame in frames:                          # RGB uint8 H x W x 3 (bgr=True for cv2's BGR)
            writer.write(frame)
    for frame in read_frames("out.mp4"): ...          # RGB uint8, decoded one at a time
"""
from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

CODEC = "libx264"  # encoder; the stream's codec name is "h264"
PIX_FMT = "yuv420p"  # the 4:2:0 layout every browser decodes (it needs even width and height)
DEFAULT_FPS = 30.0


class VideoError(ValueError):
    """A video that cannot be read or written; the message names the file and the cause."""


def _av():
    try:
        import av
    except ModuleNotFoundError as exc:  # a core dependency (pyproject.toml): only a broken install lands here
        raise VideoError("PyAV is not installed (pip install -c constraints.txt av); it writes and reads "
                         "the project's videos") from exc
    return av


def _cause(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]


def even_size(width: int, height: int) -> tuple[int, int]:
    """(width, height) rounded up to even numbers: yuv420p stores colour per 2 x 2 pixels."""
    return width + width % 2, height + height % 2


def pad_even(frame: np.ndarray) -> np.ndarray:
    """`frame` with its last column / row repeated where its width / height is odd."""
    height, width = frame.shape[:2]
    if width % 2 == 0 and height % 2 == 0:
        return frame
    return np.pad(frame, ((0, height % 2), (0, width % 2), (0, 0)), mode="edge")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


class VideoWriter:
    """H.264 MP4 (yuv420p) written into a temp file beside `path` and renamed over `path` by close(), so a
    killed run never leaves a half-written video nor clobbers the old one. Frames (H x W x 3 uint8, RGB, or
    BGR with bgr=True) are encoded as they come; odd sizes are padded by one edge pixel to even ones."""

    def __init__(self, path: str | os.PathLike, fps: float = DEFAULT_FPS, bgr: bool = False, crf: int = 20,
                 preset: str = "veryfast") -> None:
        self._av = av = _av()
        self.path = Path(path)
        self.bgr = bgr
        self.size: tuple[int, int] | None = None  # (width, height) of the frames given, set by the first
        self.frames = 0
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.stem}.", suffix=".tmp.mp4", dir=self.path.parent)
        os.close(fd)
        self.tmp = Path(tmp)
        fps = float(fps) if math.isfinite(fps) and 1 <= fps <= 240 else DEFAULT_FPS
        try:
            # faststart: the index goes before the frames, so a browser can play while downloading
            self.container = av.open(str(self.tmp), "w", format="mp4", options={"movflags": "+faststart"})
            self.stream = self.container.add_stream(CODEC, rate=Fraction(fps).limit_denominator(1001))
        except Exception as exc:
            self.tmp.unlink(missing_ok=True)
            raise VideoError(f"cannot write a video at {self.path}: {_cause(exc)}") from exc
        self.stream.pix_fmt = PIX_FMT
        self.stream.options = {"crf": str(crf), "preset": preset}

    def write(self, frame: np.ndarray) -> None:
        """Encode one frame (the first fixes the video's size; later ones must have it)."""
        frame = np.asarray(frame)
        if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
            raise VideoError(f"{self.path}: frames must be H x W x 3 uint8, got {frame.shape} {frame.dtype}")
        size = (frame.shape[1], frame.shape[0])
        if self.size is None:
            self.size = size
            self.stream.width, self.stream.height = even_size(*size)
        elif size != self.size:
            raise VideoError(f"{self.path}: frame {self.frames} is {size[0]} x {size[1]} pixels, the video "
                             f"started at {self.size[0]} x {self.size[1]}")
        image = self._av.VideoFrame.from_ndarray(np.ascontiguousarray(pad_even(frame)),
                                              format="bgr24" if self.bgr else "rgb24")
        for packet in self.stream.encode(image):
            self.container.mux(packet)
        self.frames += 1

    def close(self) -> Path:
        """Flush the encoder, finish the file and rename it to `path` (returned)."""
        if self.frames == 0:
            self.discard()
            raise VideoError(f"{self.path}: no frames were written")
        for packet in self.stream.encode():
            self.container.mux(packet)
        self.container.close()
        os.chmod(self.tmp, 0o666 & ~_umask())
        os.replace(self.tmp, self.path)
        return self.path

    def discard(self) -> None:
        """Drop the temp file (an aborted video); `path` is left as it was."""
        try:
            self.container.close()
        except Exception:  # noqa: BLE001 - a container that never got a frame cannot write its header
            pass
        self.tmp.unlink(missing_ok=True)

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.discard()


@dataclass(frozen=True)
class VideoInfo:
    """What a video file says about itself: size, frame rate, codec, and its frame count where stored."""

    width: int
    height: int
    fps: float
    codec: str
    pix_fmt: str | None
    frames: int | None


def _open(path: Path):
    if not path.is_file():
        raise VideoError(f"{path}: file does not exist")
    av = _av()
    try:
        container = av.open(str(path))
    except Exception as exc:  # noqa: BLE001 - FFmpeg's many errors for a file it cannot parse
        raise VideoError(f"{path}: not a video file that can be read ({_cause(exc)})") from None
    if not container.streams.video:
        container.close()
        raise VideoError(f"{path}: the file has no video stream")
    return container


def probe_video(path: str | os.PathLike) -> VideoInfo:
    """Size, frame rate, codec name ('h264', ...), pixel format and stored frame count (None: not stored)."""
    path = Path(path)
    container = _open(path)
    try:
        stream = container.streams.video[0]
        rate = stream.average_rate or stream.guessed_rate
        fps = float(rate) if rate and 1 <= float(rate) <= 240 else DEFAULT_FPS
        ctx = stream.codec_context
        return VideoInfo(ctx.width, ctx.height, fps, ctx.name, ctx.pix_fmt, stream.frames or None)
    finally:
        container.close()


def read_frames(path: str | os.PathLike) -> Iterator[np.ndarray]:
    """The frames of a video file as RGB uint8 arrays, decoded one at a time; VideoError names the file and
    the frame where decoding fails."""
    path = Path(path)
    container = _open(path)
    index = 0
    try:
        frames = container.decode(video=0)
        while True:
            try:
                frame = next(frames)
            except StopIteration:
                break
            except Exception as exc:  # noqa: BLE001 - FFmpeg's decoding errors
                raise VideoError(f"{path}: frame {index} cannot be decoded ({_cause(exc)})") from None
            yield frame.to_ndarray(format="rgb24")
            index += 1
    finally:
        container.close()
    if index == 0:
        raise VideoError(f"{path}: the video has no frames that can be decoded")
