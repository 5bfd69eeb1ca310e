"""Track an object in your own video in a browser: a Gradio app (pip install -e '.[app]').

    python tracking/app.py                                   # config tiny; the model `make demo` trained
    python tracking/app.py --config sutrack_dinov3 --checkpoint SUTRACK_ep0180.pth.tar --port 7860
    python tracking/app.py --config tiny --random_weights    # untrained: for trying the page only

Upload a video (or pick an example), click two opposite corners of the target on the first frame (or type
`x,y,w,h`), pick a backend and press Track. The page shows the annotated video (H.264 MP4), the score per
frame, and offers the box file (tab-separated x y w h per frame, as tracking/test.py writes) and the video.
Every error shows in the page as one sentence; the server log has the details. The app listens on
127.0.0.1 unless --host says otherwise. Without --checkpoint the weights are TEST.EPOCH's checkpoint under
save_dir, else the latest one `make demo` trained for the config; with none, the page says so and offers
random weights with a warning.
"""
from __future__ import annotations

import argparse
import atexit
import logging
import os
import re
import shutil
import sys
import tempfile
import threading
import time
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from lib.test.analysis.video import draw_result_frame
from lib.test.parameter.sutrack_dinov3 import CheckpointError, TrackerParams, default_checkpoint, parameters
from lib.test.results import ResultFiles, SequenceOutput, checkpoint_path, save_results
from lib.test.tracker.sutrack_dinov3 import available_backends, build_tracker
from lib.utils.settings import PROJECT_ROOT
from lib.utils.video import VideoError, VideoWriter, probe_video, read_frames

LOG = logging.getLogger("sutrack_app")
DEMO_WORKSPACE = PROJECT_ROOT / "demo_workspace"
PREVIEW_WIDTH = 640  # pixels: the first frame is shown at this width (the page scales it down, never up, so
#                     a click's pixel in the image maps back to the frame exactly)
MIN_LABEL_WIDTH = 240  # pixels: narrower frames get no caption (the score plot has it)
NO_WEIGHTS = "Tick 'Use random weights' to track without a trained model, or restart the app with --checkpoint."


class AppError(ValueError):
    """A problem the user can fix; its message (one sentence) is shown in the page."""


# ------------------------------------------------------------------------------------------------ weights
def find_trained_checkpoint(config_name: str, epoch: int, workspace: Path = DEMO_WORKSPACE) -> tuple[Path | None,
                                                                                                      list[Path]]:
    """The trained model of `config_name`: TEST.EPOCH's checkpoint under save_dir, else the latest epoch that
    `make demo` (tracking/run_demo.py) wrote into `workspace`; with the places looked at."""
    candidates = [default_checkpoint(config_name, epoch)]
    demo_dir = checkpoint_path(workspace, config_name, 0).parent
    demo = sorted(demo_dir.glob("SUTRACK_ep*.pth.tar"), key=lambda p: int(re.sub(r"\D", "", p.name) or 0))
    for path in candidates + demo[::-1]:
        if path.is_file():
            return path, candidates + [demo_dir]
    return None, candidates + [demo_dir]


@dataclass
class Weights:
    """The model the page tracks with: a checkpoint's parameters, or random ones (seeded), and what the page
    says about them."""

    config: str
    params: TrackerParams | None  # None: no trained model found (random weights only when the user asks)
    random_params: TrackerParams
    note: str  # Markdown shown at the top of the page
    warning: bool  # the note is a warning (random weights offered or in use)

    @property
    def language(self) -> bool:
        return bool(self.random_params.cfg.DATA.MULTI_MODAL_LANGUAGE)


def with_language(params: TrackerParams) -> TrackerParams:
    """`params` whose tracker takes the page's sentence: language (and the sentence) on for every video."""
    cfg = params.cfg.clone()
    cfg.defrost()
    cfg.TEST.MULTI_MODAL_LANGUAGE.DEFAULT = True
    cfg.TEST.USE_NLP.DEFAULT = True
    cfg.freeze()
    if params.checked_network is not None:  # the checked network holds the same weights: no second load
        params.checked_network = (cfg, params.checked_network[1])
    params.cfg = cfg
    return params


def load_weights(config: str, checkpoint: str | None, random_weights: bool, seed: int = 0,
                 workspace: Path = DEMO_WORKSPACE) -> Weights:
    """The app's weights from its command line; a bad config or checkpoint raises (FileNotFoundError,
    CheckpointError) before the server starts."""
    random_params = parameters(config, random_weights=True, seed=seed)
    name = Path(random_params.yaml_file).stem
    params, note, warning = None, "", True
    if random_weights:
        params = random_params
        note = (f"**Warning: random weights** (seed {seed}, --random_weights): the {name} model is untrained, "
                "so its boxes are meaningless. This mode is for trying the page.")
    else:
        found, looked_at = find_trained_checkpoint(name, random_params.cfg.TEST.EPOCH, workspace)
        path = Path(checkpoint) if checkpoint else found
        if path is not None:
            params = parameters(config, checkpoint=path)
            note, warning = f"Model: config **{name}**, weights `{path}`.", False
        else:
            looked = ", ".join(f"`{p}`" for p in looked_at)
            note = (f"**No trained model found** for config {name} (looked for {looked}). Train one (`make demo` "
                    f"trains tiny) or restart with --checkpoint. You can still try the page with **random "
                    "weights**: the model is untrained and its boxes are meaningless.")
    if random_params.cfg.DATA.MULTI_MODAL_LANGUAGE:
        with_language(random_params)
        if params is not None and params is not random_params:
            with_language(params)
    return Weights(name, params, random_params, note, warning)


# ------------------------------------------------------------------------------------------------ tracking
def parse_box_text(text: str) -> list[float]:
    """'x,y,w,h' (commas or spaces) -> 4 floats; AppError otherwise."""
    parts = (text or "").replace(",", " ").split()
    try:
        box = [float(p) for p in parts]
    except ValueError:
        box = []
    if len(box) != 4 or not np.all(np.isfinite(box)):
        raise AppError(f"The box must be four numbers x,y,w,h in pixels of the first frame, got '{text or ''}'.")
    return box


def check_box(box: list[float], width: int, height: int) -> list[float]:
    """The box if it has a positive size and lies inside the `width` x `height` frame; AppError otherwise."""
    x, y, w, h = box
    if w <= 0 or h <= 0:
        raise AppError(f"The box {format_box(box)} has no area: width and height must be positive (x,y,w,h).")
    if x < 0 or y < 0 or x + w > width or y + h > height:
        raise AppError(f"The box {format_box(box)} lies outside the {width} x {height} frame: x + w must be at "
                       f"most {width} and y + h at most {height}.")
    return box


def format_box(box) -> str:
    return ",".join(f"{v:g}" for v in box)


def safe_stem(path: str | Path) -> str:
    """A file-name-safe name for the outputs of an uploaded video."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(path).stem).strip("._") or "video"


def check_video(path: str | None, max_frames: int):
    """The video's VideoInfo; AppError for no video, an unreadable file, or one longer than `max_frames`."""
    if not path:
        raise AppError("Upload a video first (or pick an example).")
    try:
        info = probe_video(path)
    except VideoError as exc:
        LOG.warning("unreadable upload: %s", exc)
        raise AppError(f"The file '{Path(path).name}' cannot be read as a video; upload an MP4, WebM, AVI or "
                       "MOV file.") from None
    if max_frames and info.frames is not None and info.frames > max_frames:
        raise AppError(f"The video has {info.frames} frames; this server tracks at most {max_frames} "
                       "(--max_frames), so cut it shorter.")
    return info


def first_frame(path: str) -> np.ndarray:
    """The first decoded frame (RGB) of a video; AppError when there is none."""
    frames = read_frames(path)
    try:
        return next(frames)
    except VideoError as exc:
        LOG.warning("unreadable upload: %s", exc)
        raise AppError(f"The file '{Path(path).name}' cannot be read as a video; upload an MP4, WebM, AVI or "
                       "MOV file.") from None
    finally:
        frames.close()


def draw_box(frame: np.ndarray, box, label: str = "") -> np.ndarray:
    """The RGB frame with `box` drawn (green) and `label` (left out on frames too narrow for it)."""
    return draw_result_frame(frame, box, [np.nan] * 4, label if frame.shape[1] >= MIN_LABEL_WIDTH else "")


def preview_image(frame: np.ndarray, box=None) -> np.ndarray:
    """The first frame resized to PREVIEW_WIDTH, with `box` (frame pixels) drawn when given."""
    import cv2

    scale = PREVIEW_WIDTH / frame.shape[1]
    size = (PREVIEW_WIDTH, max(1, round(frame.shape[0] * scale)))
    image = cv2.resize(frame, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    if box is not None:
        x, y, w, h = (int(round(v * scale)) for v in box)
        cv2.rectangle(image, (x, y), (x + w - 1, y + h - 1), (0, 255, 0), 2)
    return image


@dataclass
class RunResult:
    """What one tracking run gives the page."""

    video: Path
    boxes_file: Path
    scores: list[float]
    frames: int
    seconds: float


@dataclass
class Session:
    """The trackers of the app (one per backend and weights choice, built on first use) and its outputs."""

    weights: Weights
    device: str = "auto"
    max_frames: int = 0
    out_root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="sutrack_app_")))
    trackers: dict = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    runs: int = 0

    def tracker(self, backend: str, random_weights: bool):
        """The tracker of `backend` with the trained weights (or random ones when asked)."""
        params = self.weights.random_params if random_weights else self.weights.params
        if params is None:
            raise AppError(f"No trained model was found for config {self.weights.config}. {NO_WEIGHTS}")
        key = (backend, params.random_weights)
        if key not in self.trackers:
            try:
                self.trackers[key] = build_tracker(params.yaml_file, device=self.device, backend=backend,
                                                   params=params)
            except (ValueError, ImportError, OSError, RuntimeError) as exc:
                LOG.exception("backend %s failed to load", backend)
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                raise AppError(f"Backend '{backend}' cannot be used here ({first.rstrip('.')}); pick another "
                               "one, e.g. pytorch.") from None
        return self.trackers[key]

    def run(self, video: str | None, box_text: str, text: str | None, backend: str, random_weights: bool,
            progress=None) -> RunResult:
        """Track the video from the box on its first frame; writes the annotated video (H.264, frame by frame
        as they are tracked) and the box files into a new folder; AppError on bad input."""
        info = check_video(video, self.max_frames)
        box = check_box(parse_box_text(box_text), info.width, info.height)
        with self.lock:  # one run at a time: the trackers hold per-video state
            tracker = self.tracker(backend, random_weights)
            self.runs += 1
            out_dir = self.out_root / f"run{self.runs:04d}"
            # the page was given copies of older runs' files (gradio's cache): keep only the last run's
            shutil.rmtree(self.out_root / f"run{self.runs - 2:04d}", ignore_errors=True)
            stem = safe_stem(video)
            files = ResultFiles.of(out_dir, stem)
            output = SequenceOutput()
            start = time.perf_counter()
            try:
                with VideoWriter(out_dir / f"{stem}_tracked.mp4", info.fps) as writer, \
                        closing(read_frames(video)) as frames:
                    for index, frame in enumerate(frames):
                        if self.max_frames and index >= self.max_frames:
                            raise AppError(f"The video has more than {self.max_frames} frames; this server tracks "
                                           f"at most {self.max_frames} (--max_frames), so cut it shorter.")
                        tick = time.perf_counter()
                        if index == 0:
                            tracker.initialize(frame, box, text or None)
                            out_box, score = list(box), 1.0
                        else:
                            out_box, score = tracker.track(frame)
                        output.times.append(time.perf_counter() - tick)
                        output.boxes.append(out_box)
                        output.scores.append(score)
                        writer.write(draw_box(frame, out_box, f"frame {index}  score {score:.2f}"))
                        if progress is not None:
                            progress((index + 1, info.frames), desc="Tracking", unit="frames")
            except VideoError as exc:
                LOG.warning("decoding %s failed: %s", video, exc)
                raise AppError(f"The video could not be decoded to the end (frame {len(output.boxes)}); "
                               "re-encode it or upload another file.") from None
            seconds = time.perf_counter() - start
            save_results(files, output)
        LOG.info("tracked %s: %d frames in %.1f s with %s -> %s", video, len(output.boxes), seconds, backend, out_dir)
        return RunResult(writer.path, files.boxes, output.scores, len(output.boxes), seconds)


def score_figure(scores: list[float]):
    """A matplotlib figure of the score per frame (frame 0 is the given box)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 2.4), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    ax.plot(range(1, len(scores)), scores[1:], color="tab:green", marker="." if len(scores) < 60 else None)
    ax.set_xlim(0, max(len(scores) - 1, 1))
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("frame")
    ax.set_ylabel("score")
    ax.grid(alpha=0.3)
    return fig


# ------------------------------------------------------------------------------------------------ the page
def demo_example(workspace: Path, out_dir: Path) -> tuple[Path, str] | None:
    """One of the demo's val sequences (`make demo`) rendered to an H.264 clip in `out_dir`, with its first
    ground-truth box; None when there is no demo workspace."""
    from lib.utils.image import list_image_files, read_image

    val = workspace / "data" / "got10k" / "val"
    names = [n for n in (val / "list.txt").read_text().split() if (val / n).is_dir()] if (val / "list.txt").is_file() \
        else []
    if not names:
        return None
    seq = val / names[0]
    first = (seq / "groundtruth.txt").read_text().splitlines()[0]
    clip = out_dir / f"{names[0]}.mp4"
    if not clip.is_file():
        with VideoWriter(clip, 10.0) as writer:
            for name in list_image_files(seq):
                writer.write(read_image(seq / name))
    return clip, format_box(parse_box_text(first))


def error_text(exc: BaseException) -> str:
    """The page's one sentence for an error: the AppError's own, else a generic one (the log has the rest)."""
    if isinstance(exc, AppError):
        return f"**Error:** {exc}"
    LOG.error("tracking failed", exc_info=exc)
    return f"**Error:** tracking failed ({type(exc).__name__}); the server log has the details."


def build_app(session: Session, examples: list[list[str]] | None = None):
    """The Gradio page of `session`."""
    import gradio as gr

    weights = session.weights
    backends = available_backends()
    default_backend = "pytorch" if "pytorch" in backends else backends[0]

    def on_video(video):
        if not video:
            return None, None, "Upload a video."
        try:
            info = check_video(video, session.max_frames)
            frame = first_frame(video)
        except AppError as exc:
            return None, None, error_text(exc)
        count = f"{info.frames} frames" if info.frames else "frame count not stored"
        return frame, preview_image(frame), (f"{info.width} x {info.height}, {count}, {info.fps:g} fps. Click two "
                                             "opposite corners of the target on the first frame, or type its box "
                                             "as x,y,w,h.")

    def on_box(frame, box_text):
        if frame is None:
            return None
        try:
            box = parse_box_text(box_text)
        except AppError:
            box = None
        return preview_image(np.asarray(frame), box)

    def on_click(frame, corner, evt: gr.SelectData):
        if frame is None:
            return gr.update(), None, "Upload a video first."
        scale = np.asarray(frame).shape[1] / PREVIEW_WIDTH  # preview pixels -> frame pixels
        x, y = (round(float(v) * scale) for v in evt.index[:2])
        if corner is None:
            return gr.update(), (x, y), f"First corner at {x:g},{y:g}: now click the opposite corner."
        (x0, y0), (x1, y1) = (min(corner[0], x), min(corner[1], y)), (max(corner[0], x), max(corner[1], y))
        box = [x0, y0, max(x1 - x0, 1.0), max(y1 - y0, 1.0)]
        return format_box(box), None, f"Box {format_box(box)}: press Track."

    on_click.__annotations__["evt"] = gr.SelectData  # gradio finds the event argument by its (resolved) type

    def on_track(video, box_text, text, backend, use_random, progress=gr.Progress()):  # noqa: B008 (gradio reads it)
        try:
            result = session.run(video, box_text, text, backend, bool(use_random), progress)
        except Exception as exc:  # noqa: BLE001 - every error becomes one sentence in the page
            return None, None, None, None, error_text(exc)
        fps = (result.frames - 1) / result.seconds if result.frames > 1 and result.seconds > 0 else 0.0
        status = (f"Tracked {result.frames} frames in {result.seconds:.1f} s ({fps:.1f} frames/s) with backend "
                  f"{backend}.")
        return str(result.video), score_figure(result.scores), str(result.boxes_file), str(result.video), status

    # gradio's copies of uploads and outputs are deleted after an hour
    with gr.Blocks(title="sutrack_dinov3", analytics_enabled=False, delete_cache=(3600, 3600)) as page:
        gr.Markdown("# sutrack_dinov3: track an object in a video\nUpload a video, mark the target on its first "
                    "frame (two clicks, or type `x,y,w,h`), pick a backend and press **Track**.")
        gr.Markdown(weights.note, elem_id="weights_note",
                    elem_classes=["weights-warning"] if weights.warning else None)
        frame_state = gr.State(None)
        corner_state = gr.State(None)
        with gr.Row():
            with gr.Column():
                video_in = gr.Video(label="Video", sources=["upload"], elem_id="video_input")
                preview = gr.Image(label="First frame: click two opposite corners of the target", type="numpy",
                                   interactive=False, height=320, elem_id="first_frame")
                box_text = gr.Textbox(label="Box on the first frame: x,y,w,h (pixels)", elem_id="box_text",
                                      placeholder="e.g. 120,80,40,60")
                sentence = gr.Textbox(label="Describe the target (language model)", visible=weights.language,
                                      elem_id="sentence")
                with gr.Row():
                    backend = gr.Dropdown(backends, value=default_backend, label="Backend", elem_id="backend")
                    use_random = gr.Checkbox(label="Use random weights (untrained: boxes are meaningless)",
                                             value=weights.params is not None and weights.params.random_weights,
                                             visible=weights.params is None, elem_id="use_random")
                run = gr.Button("Track", variant="primary", elem_id="run_button")
                if examples:
                    gr.Examples(examples, inputs=[video_in, box_text], label="Example (a demo val sequence)")
            with gr.Column():
                status = gr.Markdown("Upload a video.", elem_id="status")
                video_out = gr.Video(label="Tracked video", interactive=False, elem_id="result_video")
                plot = gr.Plot(label="Score per frame", elem_id="score_plot")
                boxes_file = gr.File(label="Box file (x y w h per frame, as tracking/test.py writes)",
                                     interactive=False, elem_id="box_file")
                video_file = gr.File(label="Tracked video (H.264 MP4)", interactive=False, elem_id="video_file")

        video_in.change(on_video, video_in, [frame_state, preview, status]).then(
            on_box, [frame_state, box_text], preview)
        box_text.change(on_box, [frame_state, box_text], preview)
        preview.select(on_click, [frame_state, corner_state], [box_text, corner_state, status])
        run.click(on_track, [video_in, box_text, sentence, backend, use_random],
                  [video_out, plot, boxes_file, video_file, status], concurrency_limit=1)
    return page


CSS = ".weights-warning { border: 2px solid #d97706; background: #fef3c7; border-radius: 6px; padding: 6px 10px; }"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command line of tracking/app.py."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", default="tiny",
                        help="config name in experiments/sutrack_dinov3/ or a YAML path (default: tiny, the model "
                             "make demo trains)")
    parser.add_argument("--checkpoint", default=None, help="weights file (default: the trained model found)")
    parser.add_argument("--random_weights", action="store_true", help="seeded random weights (trying the page)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random weights")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: loopback only)")
    parser.add_argument("--port", type=int, default=7860)
    parser.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N")
    parser.add_argument("--max_frames", type=int, default=3000, help="longest video tracked, in frames (0: any)")
    parser.add_argument("--workspace", default=str(DEMO_WORKSPACE),
                        help="the make demo workspace (trained model and example clip)")
    return parser.parse_args(argv)


def start(argv: list[str] | None = None):
    """Start the server without blocking and print the start-up line: (0, page); (2, None) after a message on
    a bad config, checkpoint or missing package."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    try:
        import gradio as gr
    except ModuleNotFoundError:
        print("app.py: error: gradio is not installed: pip install -c constraints.txt -e '.[app]'", file=sys.stderr)
        return 2, None
    if args.max_frames < 0:
        print("app.py: error: --max_frames must be 0 (no limit) or positive", file=sys.stderr)
        return 2, None
    try:
        weights = load_weights(args.config, args.checkpoint, args.random_weights, args.seed, Path(args.workspace))
    except (FileNotFoundError, CheckpointError, ValueError) as exc:
        print(f"app.py: error: {exc}", file=sys.stderr)
        return 2, None
    session = Session(weights, device=args.device, max_frames=args.max_frames)
    atexit.register(shutil.rmtree, session.out_root, ignore_errors=True)
    examples = None
    try:
        found = demo_example(Path(args.workspace), session.out_root / "examples")
        examples = [[str(found[0]), found[1]]] if found else None
    except (OSError, ValueError, AppError) as exc:
        LOG.warning("no example from the demo workspace %s: %s", args.workspace, exc)
    page = build_app(session, examples)
    theme = gr.themes.Default(font=["ui-sans-serif", "system-ui", "sans-serif"],
                              font_mono=["ui-monospace", "monospace"])  # no font download
    page.queue(default_concurrency_limit=1)
    page.launch(server_name=args.host, server_port=args.port, prevent_thread_lock=True, quiet=True, theme=theme,
                css=CSS, ssr_mode=False, allowed_paths=[str(session.out_root)], footer_links=["api"])
    weights_text = ("random weights" if weights.params is not None and weights.params.random_weights
                    else f"checkpoint {weights.params.checkpoint}" if weights.params is not None
                    else "no trained model found (random weights on request)")
    print(f"sutrack_dinov3 app: config {weights.config}, {weights_text}; open http://{args.host}:{args.port} "
          "(Ctrl-C stops)", flush=True)
    return 0, page


def main(argv: list[str] | None = None) -> int:
    """Run the app until Ctrl-C; 2 with a message on a bad config, checkpoint or missing package."""
    code, page = start(argv)
    if page is None:
        return code
    try:
        page.block_thread()
    except KeyboardInterrupt:
        pass
    finally:
        page.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
