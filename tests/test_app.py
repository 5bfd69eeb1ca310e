"""tracking/app.py without a browser: its errors are one sentence, the frame limit holds, the trained model
is found (or random weights are offered with a warning), and language configs get a text box."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import load_script

from lib.data.synthetic.writers import synthetic_sequence, write_got10k
from lib.test.parameter.sutrack_dinov3 import parameters, untrained_network
from lib.test.results import checkpoint_path
from lib.utils.image import list_image_files, read_image
from lib.utils.video import VideoInfo, VideoWriter, read_frames

app = load_script("tracking/app.py")
N_FRAMES = 8
SIZE = (96, 72)


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    frames, boxes = synthetic_sequence(N_FRAMES, size=SIZE, seed=5)
    path = tmp_path_factory.mktemp("clip") / "clip.mp4"
    with VideoWriter(path, 10.0) as writer:
        for frame in frames:
            writer.write(frame)
    return path, ",".join(f"{v:g}" for v in boxes[0])


@pytest.fixture(scope="module")
def random_session(tmp_path_factory):
    weights = app.load_weights("tiny", None, True, workspace=tmp_path_factory.mktemp("no_demo"))
    return app.Session(weights, device="cpu", out_root=tmp_path_factory.mktemp("runs"))


def one_sentence(text: str) -> bool:
    return "\n" not in text and "Traceback" not in text and text.endswith(".") and ". " not in text


def test_errors_are_one_sentence(clip, random_session, tmp_path):
    video, box = clip
    junk = tmp_path / "holiday.mp4"
    junk.write_bytes(b"this is not a video")
    cases = [
        ((None, box), "Upload a video first"),
        ((str(junk), box), "The file 'holiday.mp4' cannot be read as a video"),
        ((str(video), "1,2,3"), "The box must be four numbers x,y,w,h"),
        ((str(video), "10,10,0,5"), "has no area"),
        ((str(video), "90,10,20,20"), "The box 90,10,20,20 lies outside the 96 x 72 frame"),
        ((str(video), "-1,10,20,20"), "lies outside the 96 x 72 frame"),
    ]
    for (path, box_text), expected in cases:
        with pytest.raises(app.AppError) as err:
            random_session.run(path, box_text, None, "pytorch", True)
        assert expected in str(err.value) and one_sentence(str(err.value)), str(err.value)
        page = app.error_text(err.value)
        assert page == f"**Error:** {err.value}"
    # anything unexpected: a generic sentence in the page, the details only in the log
    page = app.error_text(RuntimeError("CUDA error: device-side assert\nTraceback (most recent call last)"))
    assert page == "**Error:** tracking failed (RuntimeError); the server log has the details."


def test_frame_limit(clip, random_session, monkeypatch, tmp_path):
    video, box = clip
    limited = app.Session(random_session.weights, device="cpu", max_frames=5, out_root=tmp_path / "runs")
    with pytest.raises(app.AppError, match=r"^The video has 8 frames; this server tracks at most 5 \(--max_frames\)"):
        limited.run(str(video), box, None, "pytorch", True)
    # a container that does not store its frame count is stopped while decoding, its outputs not kept
    info = app.probe_video(video)
    monkeypatch.setattr(app, "probe_video", lambda p: VideoInfo(info.width, info.height, info.fps, info.codec,
                                                                info.pix_fmt, None))
    with pytest.raises(app.AppError, match=r"^The video has more than 5 frames"):
        limited.run(str(video), box, None, "pytorch", True)
    assert not list((tmp_path / "runs").rglob("*.mp4")) and not list((tmp_path / "runs").rglob("*.txt"))
    result = random_session.run(str(video), box, None, "pytorch", True)  # no limit
    rows = result.boxes_file.read_text().splitlines()
    assert result.frames == N_FRAMES and len(rows) == N_FRAMES and rows[0] == box.replace(",", "\t")
    assert app.probe_video(result.video).codec == "h264" and len(result.scores) == N_FRAMES


def test_trained_model_is_found_or_random_weights_offered(clip, tmp_path, monkeypatch):
    video, box = clip
    monkeypatch.setenv("SUTRACK_SAVE_DIR", str(tmp_path / "save"))
    workspace = tmp_path / "demo_workspace"
    weights = app.load_weights("tiny", None, False, workspace=workspace)
    assert weights.params is None and weights.warning
    assert "No trained model found" in weights.note and str(tmp_path / "save") in weights.note
    session = app.Session(weights, device="cpu", out_root=tmp_path / "runs")
    with pytest.raises(app.AppError, match="No trained model was found for config tiny. Tick 'Use random weights'"):
        session.run(str(video), box, None, "pytorch", False)
    assert session.run(str(video), box, None, "pytorch", True).frames == N_FRAMES  # random weights on request

    # make demo's checkpoints: the latest epoch is taken; TEST.EPOCH's under save_dir comes first
    cfg = parameters("tiny", random_weights=True).cfg
    for epoch, seed in ((9, 1), (14, 2)):
        path = checkpoint_path(workspace, "tiny", epoch)
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save({"net": untrained_network(cfg, seed).state_dict()}, path)
    assert app.find_trained_checkpoint("tiny", cfg.TEST.EPOCH, workspace)[0] == checkpoint_path(workspace, "tiny", 14)
    weights = app.load_weights("tiny", None, False, workspace=workspace)
    assert weights.params.checkpoint == str(checkpoint_path(workspace, "tiny", 14)) and not weights.warning
    saved = checkpoint_path(tmp_path / "save", "tiny", cfg.TEST.EPOCH)
    saved.parent.mkdir(parents=True)
    torch.save({"net": untrained_network(cfg, 3).state_dict()}, saved)
    assert app.find_trained_checkpoint("tiny", cfg.TEST.EPOCH, workspace)[0] == saved


def test_language_config_gets_a_text_box(tmp_path):
    import gradio as gr

    for config, language in (("tiny", False), ("tiny_mm", True)):
        weights = app.load_weights(config, None, True, workspace=tmp_path)
        session = app.Session(weights, device="cpu", out_root=tmp_path / "runs")
        page = app.build_app(session)
        (sentence,) = [b for b in page.blocks.values() if isinstance(b, gr.Textbox) and b.elem_id == "sentence"]
        assert weights.language is language and sentence.visible is language
    tracker = session.tracker("pytorch", True)  # tiny_mm: the sentence reaches the text encoder
    frame = np.full((SIZE[1], SIZE[0], 3), 120, np.uint8)
    tracker.initialize(frame, [10, 10, 30, 20], "a red cup")
    with_text = tracker.tracker.text_src.clone()
    tracker.initialize(frame, [10, 10, 30, 20], None)
    assert not torch.equal(with_text, tracker.tracker.text_src)


def test_example_is_a_demo_val_sequence(tmp_path):
    workspace = tmp_path / "demo_workspace"
    assert app.demo_example(workspace, tmp_path / "examples") is None  # no demo run yet: no example
    names = sorted(write_got10k(workspace / "data" / "got10k", "val", n_sequences=2, n_frames=5, seed=1))
    clip, box = app.demo_example(workspace, tmp_path / "examples")
    seq = workspace / "data" / "got10k" / "val" / names[0]
    first = (seq / "groundtruth.txt").read_text().splitlines()[0]
    assert clip.name == f"{names[0]}.mp4" and [float(v) for v in box.split(",")] == [float(v) for v in
                                                                                     first.split(",")]
    frames = list(read_frames(clip))
    originals = [read_image(seq / n) for n in list_image_files(seq)]
    assert len(frames) == len(originals) == 5 and frames[0].shape == originals[0].shape
    assert np.abs(frames[2].astype(int) - originals[2]).mean() < 6  # the same pictures, through lossy H.264


def test_bad_command_line_exits_2(tmp_path, capsys):
    assert app.main(["--config", "no_such_config"]) == 2
    assert "no config named 'no_such_config'" in capsys.readouterr().err
    bad = tmp_path / "broken.pth.tar"
    bad.write_bytes(b"not a checkpoint")
    assert app.main(["--config", "tiny", "--checkpoint", str(bad)]) == 2
    assert f"checkpoint {bad}: not a PyTorch checkpoint" in capsys.readouterr().err
    assert app.main(["--random_weights", "--max_frames", "-1"]) == 2
    assert "--max_frames must be 0 (no limit) or positive" in capsys.readouterr().err
