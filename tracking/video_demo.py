"""Track one object in a video file, a camera, a stream or an image sequence; save the boxes and the video.

    python tracking/video_demo.py sutrack_dinov3 clip.mp4 --init 120,80,40,60
    python tracking/video_demo.py tiny frames/%05d.jpg --random_weights --init_file groundtruth.txt
    python tracking/video_demo.py sutrack_dinov3 0                       # camera 0, draw the box with the mouse
    python tracking/video_demo.py sutrack_dinov3 rtsp://host/stream --init 10,10,50,50

SOURCE is anything cv2.VideoCapture opens: a file, a camera index (digits), a stream URL, or an image
sequence pattern such as `frames/%05d.jpg`. With a display, a window shows the box and FPS (q or Esc
stops) and, without --init/--init_file, the first box is drawn with the mouse. Outputs in --out:
`<name>.txt` (tab-separated x y w h per frame, like tracking results, with `_time` and `_confidence`
files) and the annotated video `<name>.mp4` (or `.avi` where mp4v is unavailable). Ctrl-C or the end of
the stream closes both cleanly.
"""
from __future__ import annotations

import argparse
import os
import re
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from lib.api import Tracker, build_tracker
from lib.test.evaluation.running import SequenceOutput, save_results
from lib.test.evaluation.tracker import ResultFiles
from lib.utils.settings import env_settings

WINDOW = "sutrack_dinov3"


class SourceError(ValueError):
    """A video source that cannot be opened or read; the message names it."""


def source_name(source: str) -> str:
    """A file-name-safe name for the outputs: video stem, image folder, camera<N> or the URL's last part."""
    if source.isdigit():
        return f"camera{source}"
    if "://" in source:
        tail = source.split("://", 1)[1].rstrip("/")
        return re.sub(r"[^A-Za-z0-9_.-]+", "_", tail.rsplit("/", 1)[-1] or tail) or "stream"
    path = Path(source)
    return (path.parent.name or "frames") if "%" in path.name else path.stem


def open_source(source: str) -> tuple[cv2.VideoCapture, np.ndarray]:
    """Open `source` and read its first frame (BGR); SourceError names the source when that fails."""
    if source.isdigit():
        cap = cv2.VideoCapture(int(source))
    else:
        if "://" not in source:
            path = Path(source)
            if "%" in path.name:
                if not path.parent.is_dir():
                    raise SourceError(f"video source '{source}': folder {path.parent} does not exist")
            elif not path.is_file():
                raise SourceError(f"video source '{source}': file does not exist")
        cap = cv2.VideoCapture(source)
    if not cap.isOpened():
        raise SourceError(f"video source '{source}': cv2.VideoCapture cannot open it (not a video, camera, "
                          "stream or image pattern it can read)")
    ok, frame = cap.read()
    if not ok or frame is None:
        cap.release()
        raise SourceError(f"video source '{source}': opened but no frame could be read")
    return cap, frame


def parse_box(text: str) -> list[float]:
    """'x,y,w,h' (commas, tabs or spaces) -> [x, y, w, h]."""
    parts = text.replace(",", " ").split()
    try:
        box = [float(p) for p in parts]
    except ValueError:
        box = []
    if len(box) != 4:
        raise ValueError(f"initial box must be 'x,y,w,h', got '{text}'")
    return box


def read_init_file(path: str) -> list[float]:
    """The first box of a groundtruth-style file (x,y,w,h on the first non-empty line)."""
    file = Path(path)
    if not file.is_file():
        raise FileNotFoundError(f"--init_file {path} does not exist")
    for line in file.read_text().splitlines():
        if line.strip():
            try:
                return parse_box(line)
            except ValueError as exc:
                raise ValueError(f"{path}: {exc}") from None
    raise ValueError(f"{path}: no box in the file")


def has_display() -> bool:
    """True when a window can be shown (a display is set and cv2 was built with a GUI)."""
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return False
    try:
        cv2.namedWindow(WINDOW, cv2.WINDOW_NORMAL)
        return True
    except cv2.error:
        return False


def select_box(frame: np.ndarray) -> list[float]:
    """Let the user draw the initial box on `frame` with the mouse (Enter or Space confirms)."""
    x, y, w, h = cv2.selectROI(WINDOW, frame, showCrosshair=True, fromCenter=False)
    if w <= 0 or h <= 0:
        raise ValueError("no box was selected")
    return [float(x), float(y), float(w), float(h)]


def open_writer(base: Path, fps: float, size: tuple[int, int]) -> tuple[cv2.VideoWriter, Path]:
    """An mp4v writer for `<base>.mp4`, or MJPG `<base>.avi` where mp4v is not available."""
    for suffix, codec in ((".mp4", "mp4v"), (".avi", "MJPG")):
        path = base.with_suffix(suffix)
        writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*codec), fps, size)
        if writer.isOpened():
            return writer, path
        writer.release()
    raise OSError(f"cannot write a video at {base}.mp4 or .avi (no mp4v or MJPG encoder in this cv2 build)")


def draw(frame: np.ndarray, box, score: float, fps: float) -> np.ndarray:
    """The frame with the box, the score and the FPS drawn on it (in place)."""
    x, y, w, h = (int(round(v)) for v in box)
    cv2.rectangle(frame, (x, y), (x + w, y + h), (0, 255, 0), 2)
    cv2.putText(frame, f"{fps:5.1f} FPS  score {score:.2f}", (8, 22), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 255, 255), 2)
    return frame


def run_demo(tracker: Tracker, cap: cv2.VideoCapture, frame: np.ndarray, name: str, init_box: list[float] | None,
             out_dir: Path, display: bool, max_frames: int = 0) -> ResultFiles:
    """Track from `frame` (the first, BGR) through `cap` with a tracker built with bgr=True; returns the files."""
    out_dir.mkdir(parents=True, exist_ok=True)
    files = ResultFiles(out_dir / f"{name}.txt", out_dir / f"{name}_time.txt", out_dir / f"{name}_confidence.txt")
    writer = None
    output = SequenceOutput()
    try:
        box = init_box if init_box is not None else select_box(frame)
        start = time.perf_counter()
        tracker.initialize(frame, box)
        output.times.append(time.perf_counter() - start)
        fps = cap.get(cv2.CAP_PROP_FPS)
        fps = fps if np.isfinite(fps) and 1 <= fps <= 240 else 30.0
        writer, video_path = open_writer(out_dir / name, fps, (frame.shape[1], frame.shape[0]))
        output.boxes.append(list(box))
        output.scores.append(1.0)
        score, rate = 1.0, 0.0
        while True:
            writer.write(draw(frame, box, score, rate))
            if display:
                cv2.imshow(WINDOW, frame)
                if (cv2.waitKey(1) & 0xFF) in (ord("q"), 27):
                    break
            if max_frames and len(output.boxes) >= max_frames:
                break
            ok, frame = cap.read()
            if not ok or frame is None:
                break
            start = time.perf_counter()
            box, score = tracker.track(frame)
            elapsed = time.perf_counter() - start
            rate = 0.9 * rate + 0.1 / max(elapsed, 1e-6) if rate else 1.0 / max(elapsed, 1e-6)
            output.times.append(elapsed)
            output.boxes.append(box)
            output.scores.append(score)
        print(f"{len(output.boxes)} frames; video: {video_path}; boxes: {files.boxes}")
    except KeyboardInterrupt:
        print(f"interrupted after {len(output.boxes)} frames; outputs closed")
    finally:
        cap.release()
        if writer is not None:
            writer.release()
        if output.boxes:
            save_results(files, output)
        if display:
            cv2.destroyAllWindows()
    return files


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command line of tracking/video_demo.py."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("config", help="config name in experiments/sutrack_dinov3/ or a YAML path")
    parser.add_argument("source", help="video file, camera index, stream URL or image pattern (frames/%%05d.jpg)")
    parser.add_argument("--checkpoint", default=None, help="weights file (default: TEST.EPOCH's under save_dir)")
    parser.add_argument("--random_weights", action="store_true", help="seeded random weights (smoke runs)")
    init = parser.add_mutually_exclusive_group()
    init.add_argument("--init", default=None, help="initial box x,y,w,h in pixels")
    init.add_argument("--init_file", default=None, help="file whose first line is the initial box x,y,w,h")
    parser.add_argument("--out", default=None, help="output folder (default: <save_dir>/video_demo)")
    parser.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N")
    parser.add_argument("--no_display", action="store_true", help="never open a window")
    parser.add_argument("--max_frames", type=int, default=0, help="stop after this many frames (0: all)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the demo; 2 with a message on bad input (source, box, config, weights)."""
    args = parse_args(argv)
    try:
        init_box = parse_box(args.init) if args.init else read_init_file(args.init_file) if args.init_file else None
        display = not args.no_display and has_display()
        if init_box is None and not display:
            raise ValueError("no initial box: pass --init x,y,w,h or --init_file F (no display for mouse selection)")
        cap, frame = open_source(args.source)  # a bad source fails before the model is built
        try:
            tracker = build_tracker(args.config, checkpoint=args.checkpoint, device=args.device,
                                    random_weights=args.random_weights, bgr=True)
        except BaseException:
            cap.release()
            raise
        out_dir = Path(args.out) if args.out else Path(env_settings().save_dir) / "video_demo"
        run_demo(tracker, cap, frame, source_name(args.source), init_box, out_dir, display, args.max_frames)
    except (SourceError, FileNotFoundError, ValueError) as exc:
        print(f"video_demo.py: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
