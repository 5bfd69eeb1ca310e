"""tracking/video_demo.py on an H.264 video and on a numbered image sequence; the video it writes is H.264."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from conftest import load_script

from lib.api import build_tracker
from lib.data.synthetic.writers import synthetic_sequence, write_frames, write_got10k
from lib.utils.video import VideoWriter, probe_video

ROOT = Path(__file__).resolve().parents[1]
N_FRAMES = 8
SIZE = (96, 72)


demo = load_script("tracking/video_demo.py")


@pytest.fixture(autouse=True)
def _headless(monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> tuple[Path, Path, np.ndarray]:
    """(video file, image pattern, boxes) of one synthetic sequence."""
    folder = tmp_path_factory.mktemp("clip")
    frames, boxes = synthetic_sequence(N_FRAMES, size=SIZE, seed=2)
    video = folder / "clip.mp4"
    with VideoWriter(video, 10.0) as writer:
        for frame in frames:
            writer.write(frame)
    write_frames(folder / "frames", frames, pattern="{:05d}.jpg", start=0)
    return video, folder / "frames" / "%05d.jpg", boxes


def check_outputs(out: Path, name: str, n_frames: int) -> None:
    rows = (out / f"{name}.txt").read_text().splitlines()
    assert len(rows) == n_frames and all(len(r.split("\t")) == 4 for r in rows)
    videos = [p for p in out.iterdir() if p.stem == name and p.suffix in (".mp4", ".avi")]
    assert [p.name for p in videos] == [f"{name}.mp4"]
    info = probe_video(videos[0])  # what browsers play
    assert (info.codec, info.pix_fmt, info.width, info.height) == ("h264", "yuv420p", *SIZE)
    cap = cv2.VideoCapture(str(videos[0]))
    count = 0
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        assert frame.shape[:2] == (SIZE[1], SIZE[0])
        count += 1
    cap.release()
    assert count == n_frames


def test_video_file(clip, tmp_path):
    video, _, boxes = clip
    init = ",".join(str(int(v)) for v in boxes[0])
    assert demo.main(["tiny", str(video), "--random_weights", "--init", init, "--out", str(tmp_path)]) == 0
    check_outputs(tmp_path, "clip", N_FRAMES)
    assert (tmp_path / "clip.txt").read_text().splitlines()[0] == "\t".join(init.split(","))


def test_image_sequence_as_script(clip, tmp_path):
    _, pattern, boxes = clip
    init_file = tmp_path / "groundtruth.txt"
    init_file.write_text("\n".join(",".join(f"{v:g}" for v in b) for b in boxes) + "\n")
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    proc = subprocess.run([sys.executable, "tracking/video_demo.py", "tiny", str(pattern), "--random_weights",
                           "--init_file", str(init_file), "--out", str(tmp_path / "out")],
                          cwd=ROOT, env={**env, "OMP_NUM_THREADS": "1"}, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    check_outputs(tmp_path / "out", "frames", N_FRAMES)


def test_interrupt_closes_outputs(clip, tmp_path):
    video, _, boxes = clip
    tracker = build_tracker("tiny", random_weights=True, device="cpu")
    calls = []

    def interrupted(frame):
        if len(calls) == 3:
            raise KeyboardInterrupt
        calls.append(1)
        return [10.0, 10.0, 20.0, 20.0], 0.5

    tracker.track = interrupted
    cap, frame = demo.open_source(str(video))
    demo.run_demo(tracker, cap, frame, "clip", list(boxes[0]), tmp_path, display=False)
    check_outputs(tmp_path, "clip", 4)  # the first frame and three tracked ones


def test_bad_sources_and_boxes(clip, tmp_path, capsys):
    video, pattern, _ = clip
    assert demo.main(["tiny", str(tmp_path / "missing.mp4"), "--random_weights", "--init", "1,1,5,5"]) == 2
    assert f"video source '{tmp_path / 'missing.mp4'}': file does not exist" in capsys.readouterr().err
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video")
    assert demo.main(["tiny", str(junk), "--random_weights", "--init", "1,1,5,5"]) == 2
    assert "junk.mp4" in capsys.readouterr().err
    assert demo.main(["tiny", str(tmp_path / "nothing" / "%05d.jpg"), "--random_weights", "--init", "1,1,5,5"]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert demo.main(["tiny", str(video), "--random_weights"]) == 2  # headless and no box
    assert "no initial box" in capsys.readouterr().err
    assert demo.main(["tiny", str(video), "--random_weights", "--init", "1,2,3"]) == 2
    assert "x,y,w,h" in capsys.readouterr().err
    assert demo.main(["tiny", str(video), "--random_weights", "--init", "5,5,0,9", "--out", str(tmp_path)]) == 2
    assert "non-positive width or height" in capsys.readouterr().err
    assert demo.source_name("0") == "camera0" and demo.source_name("rtsp://cam.local/live/main") == "main"
    assert demo.source_name(str(pattern)) == "frames" and demo.source_name(str(video)) == "clip"


def test_output_that_is_the_source_is_refused(clip, tmp_path, capsys):
    video, _, boxes = clip
    source = tmp_path / "clip.mp4"
    source.write_bytes(video.read_bytes())
    init = ",".join(str(int(v)) for v in boxes[0])
    assert demo.main(["tiny", str(source), "--random_weights", "--init", init, "--out", str(tmp_path)]) == 2
    assert f"would overwrite the input {source}" in capsys.readouterr().err
    assert source.read_bytes() == video.read_bytes()  # untouched, every frame still there
    link = tmp_path / "elsewhere"
    link.mkdir()
    (link / "clip.mp4").symlink_to(source)  # the same file under another name is refused too
    assert demo.main(["tiny", str(link / "clip.mp4"), "--random_weights", "--init", init, "--out",
                      str(tmp_path)]) == 2
    assert source.read_bytes() == video.read_bytes()
    assert not [p for p in tmp_path.iterdir() if ".tmp" in p.name]


def test_sequence_frames_give_the_boxes_of_test_py(tmp_path, monkeypatch):
    test_script = load_script("tracking/test.py")
    (name,) = write_got10k(tmp_path / "got10k", "val", n_sequences=1, n_frames=N_FRAMES, seed=4)
    monkeypatch.setenv("SUTRACK_GOT10K_DIR", str(tmp_path / "got10k"))
    results = tmp_path / "results"
    assert test_script.main(["sutrack_dinov3", "tiny", "--dataset_name", "got10k_val", "--random_weights",
                             "--results_path", str(results)]) == 0
    seq_dir = tmp_path / "got10k" / "val" / name
    for source in (seq_dir / "%08d.jpg", seq_dir):  # a pattern and a folder
        out = tmp_path / f"demo_{source.name}"
        assert demo.main(["tiny", str(source), "--random_weights", "--dataset_name", "got10k_val", "--init_file",
                          str(seq_dir / "groundtruth.txt"), "--out", str(out)]) == 0
        stem = demo.source_name(str(source))
        expected = (results / "sutrack_dinov3" / "tiny" / "got10k_val" / f"{name}.txt").read_text()
        assert (out / f"{stem}.txt").read_text() == expected
