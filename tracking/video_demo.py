"""Track one object in a video file, a camera, a stream or an image sequence; save the boxes and the video.

    python tracking/video_demo.py sutrack_dinov3 clip.mp4 --init 120,80,40,60
    python tracking/video_demo.py tiny frames/%05d.jpg --random_weights --init_file groundtruth.txt
    python tracking/video_demo.py sutrack_dinov3 0                       # camera 0, draw the box with the mouse
    python tracking/video_demo.py sutrack_dinov3 rtsp://host/stream --init 10,10,50,50

SOURCE is a video file, a camera index (digits) or a stream URL (read with cv2.VideoCapture), or an image
sequence: a folder of images or a pattern such as `frames/%05d.jpg`, read with the evaluation's reader
(lib.utils.image.read_image), so on a dataset sequence's frames (with --dataset_name) it gives the boxes
tracking/test.py gives. With a display, a window shows the box and FPS (q or Esc stops) and, without
--init/--init_file, the first box is drawn with the mouse. Outputs in --out: `<name>.txt` (tab-separated
x y w h per frame, like tracking results, with `_time` and `_confidence` files) and the annotated video
`<name>.mp4` (H.264, yuv420p: plays in browsers; written a frame at a time as the frames are tracked), all
written to temp files and renamed; an output that
would be one of the inputs is refused. Ctrl-C or the end of the stream closes both cleanly.
"""
from __future__ import annotations

import argparse
import glob
import os
import re
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from lib.api import FrameTracker, bgr_to_rgb, build_tracker
from lib.test.parameter.sutrack_dinov3 import parameters
from lib.test.results import ResultFiles, SequenceOutput, save_results
from lib.utils.image import list_image_files, read_image
from lib.utils.settings import env_settings
from lib.utils.video import VideoWriter

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


class FrameSource:
    """Frames of a source as RGB uint8: image sequences through the evaluation's reader (read_image, so
    tracking a sequence's frames gives tracking/test.py's boxes), anything else through cv2.VideoCapture."""

    def __init__(self, source: str, files: list[Path] | None = None, cap: cv2.VideoCapture | None = None) -> None:
        self.source, self.files, self.cap, self.index = source, files, cap, 0

    @property
    def fps(self) -> float:
        fps = self.cap.get(cv2.CAP_PROP_FPS) if self.cap is not None else 10.0
        return fps if np.isfinite(fps) and 1 <= fps <= 240 else 30.0

    def inputs(self) -> list[Path]:
        """The files this source reads (outputs must never be one of them)."""
        if self.files is not None:
            return list(self.files)
        return [Path(self.source)] if self.cap is not None and Path(self.source).is_file() else []

    def read(self) -> np.ndarray | None:
        """The next frame (RGB), or None at the end."""
        if self.files is not None:
            if self.index >= len(self.files):
                return None
            self.index += 1
            return read_image(self.files[self.index - 1])
        ok, frame = self.cap.read()
        return bgr_to_rgb(frame) if ok and frame is not None else None

    def release(self) -> None:
        if self.cap is not None:
            self.cap.release()


def pattern_files(pattern: str, max_start: int = 1000) -> list[Path]:
    """The files of a printf pattern ('frames/%05d.jpg'): from the first index in 0..max_start that exists,
    while the next one does."""
    start = next((i for i in range(max_start + 1) if Path(pattern % i).is_file()), None)
    files = []
    while start is not None and Path(pattern % (start + len(files))).is_file():
        files.append(Path(pattern % (start + len(files))))
    return files


def open_source(source: str) -> tuple[FrameSource, np.ndarray]:
    """Open `source` and read its first frame (RGB); SourceError names the source when that fails."""
    path = Path(source)
    if not source.isdigit() and "://" not in source and ("%" in path.name or path.is_dir()):
        if "%" in path.name and not path.parent.is_dir():
            raise SourceError(f"video source '{source}': folder {path.parent} does not exist")
        files = pattern_files(source) if "%" in path.name else [path / n for n in list_image_files(path)]
        if not files:
            raise SourceError(f"video source '{source}': no image files")
        frames = FrameSource(source, files=files)
    else:
        if source.isdigit():
            cap = cv2.VideoCapture(int(source))
        else:
            if "://" not in source and not path.is_file():
                raise SourceError(f"video source '{source}': file does not exist")
            cap = cv2.VideoCapture(source)
        if not cap.isOpened():
            raise SourceError(f"video source '{source}': cv2.VideoCapture cannot open it (not a video, camera, "
                              "stream or image pattern it can read)")
        frames = FrameSource(source, cap=cap)
    try:
        frame = frames.read()
    except OSError as exc:
        frames.release()
        raise SourceError(f"video source '{source}': {exc}") from None
    if frame is None:
        frames.release()
        raise SourceError(f"video source '{source}': opened but no frame could be read")
    return frames, frame


def output_paths(out_dir: Path, name: str) -> tuple[ResultFiles, list[Path]]:
    """The box files and the video path (`.mp4`) of a demo run."""
    return ResultFiles.of(out_dir, name), [out_dir / f"{name}.mp4"]


def check_out_dir(out_dir: Path) -> None:
    """Refuse an --out that is an existing file: --out names the folder the video and box files go into."""
    if out_dir.exists() and not out_dir.is_dir():
        raise ValueError(f"--out {out_dir} is an existing file, not a folder; --out names the folder that receives "
                         f"<name>.mp4 and the box files: pass a folder (e.g. --out {out_dir.parent})")


def remove_stale_temps(out_dir: Path, name: str) -> list[Path]:
    """Delete the hidden temp files (`.<name>.*.tmp.mp4`, `.<name>.txt.*.tmp`, ...) a killed run of `name` left
    in `out_dir` (lib/utils/io.py's atomic writers name them so); returns them."""
    files, videos = output_paths(out_dir, name)
    prefixes = {f".{p.name}." for p in (files.boxes, files.time, files.confidence)} | {f".{v.stem}." for v in videos}
    stale = sorted({p for prefix in prefixes for p in out_dir.glob(f"{glob.escape(prefix)}*.tmp*") if p.is_file()})
    for p in stale:
        p.unlink(missing_ok=True)
    return stale


def check_not_inputs(outputs: list[Path], inputs: list[Path]) -> None:
    """Refuse an output that is one of the inputs (same path after resolving links, or the same file)."""
    resolved = {p.resolve(): p for p in inputs}
    for out in outputs:
        same = resolved.get(out.resolve())
        if same is None and out.exists():
            same = next((p for p in inputs if p.exists() and os.path.samefile(p, out)), None)
        if same is not None:
            raise ValueError(f"output {out} would overwrite the input {same}; pass another --out folder")


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


def open_writer(paths: list[Path], fps: float) -> VideoWriter:
    """The atomic H.264 writer of the video path; frames are the BGR images of draw()."""
    return VideoWriter(paths[0], fps, bgr=True)


def draw(frame: np.ndarray, box, score: float, fps: float) -> np.ndarray:
    """The RGB frame as BGR, with the box, the score and the FPS drawn on it."""
    image = cv2.cvtColor(np.ascontiguousarray(frame[:, :, :3]), cv2.COLOR_RGB2BGR)
    x, y, w, h = (int(round(v)) for v in box)
    cv2.rectangle(image, (x, y), (x + w, y + h), (0, 255, 0), 2)
    cv2.putText(image, f"{fps:5.1f} FPS  score {score:.2f}", (8, 22), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 255, 255), 2)
    return image


def run_demo(tracker: FrameTracker, source: FrameSource, frame: np.ndarray, name: str,
             init_box: list[float] | None, out_dir: Path, display: bool, max_frames: int = 0) -> ResultFiles:
    """Track from `frame` (the first, RGB) through `source` with an RGB tracker; returns the box files."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in remove_stale_temps(out_dir, name):
        print(f"removed {stale}, a temp file of an interrupted run")
    files, video_paths = output_paths(out_dir, name)
    writer = None
    output = SequenceOutput()
    try:
        box = init_box if init_box is not None else select_box(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
        start = time.perf_counter()
        tracker.initialize(frame, box)
        output.times.append(time.perf_counter() - start)
        writer = open_writer(video_paths, source.fps)
        output.boxes.append(list(box))
        output.scores.append(1.0)
        score, rate = 1.0, 0.0
        while True:
            image = draw(frame, box, score, rate)
            writer.write(image)
            if display:
                cv2.imshow(WINDOW, image)
                if (cv2.waitKey(1) & 0xFF) in (ord("q"), 27):
                    break
            if max_frames and len(output.boxes) >= max_frames:
                break
            frame = source.read()
            if frame is None:
                break
            start = time.perf_counter()
            box, score = tracker.track(frame)
            elapsed = time.perf_counter() - start
            rate = 0.9 * rate + 0.1 / max(elapsed, 1e-6) if rate else 1.0 / max(elapsed, 1e-6)
            output.times.append(elapsed)
            output.boxes.append(box)
            output.scores.append(score)
        print(f"{len(output.boxes)} frames; video: {writer.path}; boxes: {files.boxes}")
    except KeyboardInterrupt:
        print(f"interrupted after {len(output.boxes)} frames; outputs closed")
    finally:
        source.release()
        if writer is not None:
            writer.close()
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
    parser.add_argument("--dataset_name", default=None,
                        help="apply this dataset's TEST keys (template update, ...), as tracking/test.py does")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the demo; 2 with a message on bad input (source, box, config, weights)."""
    args = parse_args(argv)
    try:
        init_box = parse_box(args.init) if args.init else read_init_file(args.init_file) if args.init_file else None
        display = not args.no_display and has_display()
        if init_box is None and not display:
            raise ValueError("no initial box: pass --init x,y,w,h or --init_file F (no display for mouse selection)")
        params = parameters(args.config, checkpoint=args.checkpoint, random_weights=args.random_weights)
        name = source_name(args.source)
        out_dir = Path(args.out) if args.out else Path(env_settings().save_dir) / "video_demo"
        check_out_dir(out_dir)
        source, frame = open_source(args.source)  # a bad source fails before the model is built
        try:
            files, videos = output_paths(out_dir, name)
            inputs = source.inputs() + ([Path(args.init_file)] if args.init_file else [])
            check_not_inputs([files.boxes, files.time, files.confidence, *videos], inputs)
            tracker = build_tracker(args.config, device=args.device, dataset_name=args.dataset_name, params=params)
        except BaseException:
            source.release()
            raise
        run_demo(tracker, source, frame, name, init_box, out_dir, display, args.max_frames)
    except (SourceError, FileNotFoundError, ValueError) as exc:
        print(f"video_demo.py: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
