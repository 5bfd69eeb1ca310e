"""Reading frames and annotation text files: one implementation shared by training and evaluation.

Annotation readers never crash on one bad line: they return what they could parse together with the
(line number, text) of every malformed line, so the caller can name the file and line and skip the
sequence. Files are data: plain text parsing only, no pickle, no eval.
"""
from __future__ import annotations

import io
import os
import re
from pathlib import Path

import cv2
import numpy as np

__all__ = [
    "AUX_MODALITIES",
    "IMAGE_EXTENSIONS",
    "AnnotationError",
    "FrameReadError",
    "depth_colormap",
    "list_files",
    "list_image_files",
    "natural_key",
    "read_annotation",
    "read_depth",
    "read_image",
    "read_label_file",
    "read_list_file",
    "read_rgbx",
    "read_sentence",
]

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")

PathLike = str | os.PathLike


class FrameReadError(OSError):
    """A frame file is missing or cannot be decoded; `path` names it (samplers catch this and resample)."""

    def __init__(self, path: PathLike, reason: str = "missing or unreadable image file"):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"cannot read frame {self.path}: {reason}")

    def __reduce__(self):  # keep the two-argument form across DataLoader worker processes
        return (type(self), (self.path, self.reason))


class AnnotationError(ValueError):
    """An annotation or label file that cannot be used; the message names the file (and line)."""


def read_image(path: PathLike) -> np.ndarray:
    """Read an image as H x W x 3 uint8 RGB (grayscale expanded), or raise FrameReadError naming the file."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FrameReadError(path, "file does not exist")
    image = cv2.imread(path, cv2.IMREAD_COLOR)  # 8-bit BGR; grayscale is expanded to 3 channels
    if image is None:
        raise FrameReadError(path, "file exists but could not be decoded as an image")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


MAX_DEPTH = 10000  # SUTrack's depth clip: min(3 x median, MAX_DEPTH), in the sensor's units (mm)
AUX_MODALITIES = ("depth", "thermal", "event")  # the X of RGB-X: how read_rgbx turns the X frame into 3 channels


def read_depth(path: PathLike) -> np.ndarray:
    """Read a depth map (16-bit PNG, kept at its bit depth) as H x W float32, or raise FrameReadError."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FrameReadError(path, "file does not exist")
    depth = cv2.imread(path, cv2.IMREAD_ANYDEPTH)
    if depth is None:
        raise FrameReadError(path, "file exists but could not be decoded as a depth image")
    return depth.astype(np.float32)


def depth_colormap(depth: np.ndarray) -> np.ndarray:
    """SUTrack's `rgbcolormap` X half: clip at min(3 x median, 10000), min-max to 0..255, JET (as RGB)."""
    depth = np.asarray(depth, dtype=np.float32)
    depth = np.minimum(depth, min(3.0 * float(np.median(depth)), MAX_DEPTH))
    low, high = float(depth.min()), float(depth.max())
    scaled = (depth - low) * (255.0 / (high - low)) if high > low else np.zeros_like(depth)
    colored = cv2.applyColorMap(np.clip(np.rint(scaled), 0, 255).astype(np.uint8), cv2.COLORMAP_JET)
    return cv2.cvtColor(colored, cv2.COLOR_BGR2RGB)


def read_rgbx(rgb_path: PathLike, aux_path: PathLike, modality: str) -> np.ndarray:
    """RGB frame + auxiliary frame -> H x W x 6 uint8 (RGB, then X as 3 channels); one reader for train and test.

    modality 'depth': the depth map through `depth_colormap`; 'thermal' / 'event': the X image read as RGB
    (grayscale expanded). An X frame of another size than the RGB frame is resized to it.
    """
    rgb = read_image(rgb_path)
    if modality == "depth":
        aux = depth_colormap(read_depth(aux_path))
    elif modality in AUX_MODALITIES:
        aux = read_image(aux_path)
    else:
        raise ValueError(f"unknown auxiliary modality '{modality}' for {aux_path}; known: {list(AUX_MODALITIES)}")
    if aux.shape[:2] != rgb.shape[:2]:
        aux = cv2.resize(aux, (rgb.shape[1], rgb.shape[0]), interpolation=cv2.INTER_LINEAR)
    return np.concatenate([rgb, aux], axis=2)


def natural_key(name: str) -> tuple:
    """Sort key that orders embedded numbers numerically ('2.jpg' before '10.jpg')."""
    return tuple((0, int(t), t) if t.isdigit() else (1, 0, t) for t in re.split(r"(\d+)", name) if t)


def list_image_files(folder: PathLike) -> list[str]:
    """Names (not paths) of the image files in `folder`, sorted numerically; [] if the folder is missing."""
    return list_files(folder, IMAGE_EXTENSIONS)


def list_files(folder: PathLike, extensions: tuple[str, ...]) -> list[str]:
    """Names of the files in `folder` ending in one of `extensions` (any case), sorted numerically."""
    try:
        with os.scandir(folder) as it:
            names = [e.name for e in it if e.name.lower().endswith(extensions) and not e.name.startswith(".")]
    except (FileNotFoundError, NotADirectoryError):
        return []
    return sorted(names, key=natural_key)


def _read_text(path: PathLike) -> str:
    """Whole file as text (UTF-8, BOM stripped, undecodable bytes replaced), or FileNotFoundError naming it."""
    try:
        data = Path(path).read_bytes()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        raise FileNotFoundError(f"file not found: {path}") from None
    return data.decode("utf-8-sig", errors="replace")


def _content_lines(text: str) -> list[str]:
    """Lines of `text` with trailing blank lines dropped (blank lines inside are kept: they hold a frame)."""
    lines = text.splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    return lines


_SEPARATORS = str.maketrans({",": " ", ";": " "})


def read_annotation(path: PathLike, ncols: int = 4) -> tuple[np.ndarray, list[tuple[int, str]]]:
    """Read comma/tab/space separated rows (x, y, w, h per frame) as an (N, ncols) float64 array.

    Returns (values, bad_lines): a malformed line becomes a NaN row (so frame indices stay aligned)
    and is listed as (1-based line number, text). 'NaN' values are accepted (absent target).
    Raises FileNotFoundError naming the file when it does not exist.
    """
    lines = _content_lines(_read_text(path))
    if not lines:
        return np.zeros((0, ncols), dtype=np.float64), []
    # Fast path (numpy's C parser): every line holds exactly ncols numbers. loadtxt skips blank lines,
    # so a row count that differs from the line count sends the file to the line-by-line path.
    try:
        text = "\n".join(lines).translate(_SEPARATORS)
        values = np.loadtxt(io.StringIO(text), dtype=np.float64, comments=None, ndmin=2)
        if values.shape == (len(lines), ncols):
            return values, []
    except ValueError:
        pass
    values = np.full((len(lines), ncols), np.nan, dtype=np.float64)
    bad: list[tuple[int, str]] = []
    for i, line in enumerate(lines):
        parts = line.translate(_SEPARATORS).split()
        try:
            if len(parts) != ncols:
                raise ValueError
            values[i] = [float(p) for p in parts]
        except ValueError:
            bad.append((i + 1, line.strip()))
    return values, bad


def read_label_file(path: PathLike) -> np.ndarray:
    """Integer flags, one per frame, from a label file (one per line or comma separated on one line).

    Serves absence.label / cover.label / cut_by_image.label (GOT-10k), full_occlusion.txt and
    out_of_view.txt (LaSOT). Raises FileNotFoundError or AnnotationError naming the file and line.
    """
    out: list[int] = []
    for line_no, line in enumerate(_content_lines(_read_text(path)), start=1):
        for token in line.translate(_SEPARATORS).split():
            try:
                value = float(token)
                if not value.is_integer():
                    raise ValueError
            except ValueError:
                raise AnnotationError(f"{path}:{line_no}: expected integer labels, got {token!r}") from None
            out.append(int(value))
    return np.asarray(out, dtype=np.int64)


def read_sentence(path: PathLike) -> str | None:
    """The language description in a text file (lines joined by spaces), or None if missing or empty."""
    try:
        text = _read_text(path)
    except FileNotFoundError:
        return None
    sentence = " ".join(line.strip() for line in text.splitlines() if line.strip())
    return sentence or None


def read_list_file(path: PathLike) -> list[str]:
    """Non-empty, stripped lines of a list file (list.txt, testing_set.txt, split files)."""
    return [line.strip() for line in _read_text(path).splitlines() if line.strip()]


def motion_blur_kernel(length: int, dx: float, dy: float) -> np.ndarray:
    """A normalised length x length kernel: a line through its centre along (dx, dy), for linear motion blur."""
    kernel = np.zeros((length, length), np.float32)
    norm = float(np.hypot(dx, dy)) or 1.0
    c = (length - 1) / 2.0
    for t in np.linspace(-c, c, 2 * length):
        kernel[int(round(c + t * dy / norm)), int(round(c + t * dx / norm))] = 1.0
    return kernel / kernel.sum()
