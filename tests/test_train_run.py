"""End-to-end training on datasets written in the real GOT-10k layout: CLI, resume, DDP, learning, bad input."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml
from conftest import load_script

from lib.train import run_training
from lib.train.trainers.checkpoint import list_checkpoints, load_checkpoint

ROOT = Path(__file__).resolve().parents[1]
QUICK = ["TRAIN.BATCH_SIZE", "4", "TRAIN.PRINT_INTERVAL", "2", "MODEL.FUSION.DROP_PATH", "0.1",
         "MODEL.ENCODER.DROP_PATH", "0.1"]



@pytest.fixture(scope="module")
def got10k_root(tmp_path_factory) -> Path:
    from lib.data.synthetic.writers import write_got10k

    root = tmp_path_factory.mktemp("data") / "got10k"
    write_got10k(root, "train", n_sequences=4, n_frames=12)
    return root


@pytest.fixture
def data_env(got10k_root, monkeypatch) -> dict:
    monkeypatch.setenv("SUTRACK_GOT10K_DIR", str(got10k_root))
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    return env


def ckpt_dir(save_dir: Path, config: str = "tiny") -> Path:
    return save_dir / "checkpoints" / "train" / "sutrack_dinov3" / config


def train_in_process(save_dir: Path, *args: str, opts: list[str] = QUICK) -> int:
    return run_training.main(["--config", "tiny", "--save_dir", str(save_dir), *args, "--opts", *opts])


def test_cli_two_short_epochs_write_checkpoints_logs_and_plots(data_env, tmp_path):
    cmd = [sys.executable, str(ROOT / "tracking" / "train.py"), "--script", "sutrack_dinov3", "--config", "tiny",
           "--save_dir", str(tmp_path), "--mode", "single", "--epochs", "2", "--samples_per_epoch", "8",
           "--opts", *QUICK]
    proc = subprocess.run(cmd, env=data_env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    found = list_checkpoints(ckpt_dir(tmp_path))
    assert [e for e, _ in found] == [1, 2]
    state = load_checkpoint(found[-1][1])  # weights_only=True
    assert {"net", "optimizer", "scheduler", "epoch", "rng", "config", "history"} <= set(state)
    assert state["epoch"] == 2 and yaml.safe_load(state["config"])["TRAIN"]["EPOCH"] == 2
    from lib.config.sutrack_dinov3.config import load_config
    from lib.models.sutrack_dinov3 import build_sutrack_dinov3

    build_sutrack_dinov3(load_config(ROOT / "experiments" / "sutrack_dinov3" / "tiny.yaml")).load_state_dict(
        state["net"], strict=True)  # what the tracker does
    log = (tmp_path / "logs" / "sutrack_dinov3-tiny.log").read_text()
    assert "epoch 2 done" in log and "Loss/giou" in log and "samples/s" in log
    assert (tmp_path / "logs" / "sutrack_dinov3-tiny_loss.png").stat().st_size > 1000
    assert list((tmp_path / "tensorboard").rglob("events.out.tfevents*"))
    lines = (tmp_path / "logs" / "sutrack_dinov3-tiny.stats.jsonl").read_text().splitlines()
    assert [json.loads(x)["epoch"] for x in lines] == [1.0, 2.0]


def test_resume_after_epoch_one_reproduces_the_uninterrupted_run(data_env, tmp_path, capsys):
    full, split = tmp_path / "full", tmp_path / "split"
    assert train_in_process(full, "--epochs", "2", "--samples_per_epoch", "16") == 0
    assert train_in_process(split, "--epochs", "1", "--samples_per_epoch", "16") == 0
    assert [e for e, _ in list_checkpoints(ckpt_dir(split))] == [1]
    assert train_in_process(split, "--epochs", "2", "--samples_per_epoch", "16") == 0
    log = (split / "logs" / "sutrack_dinov3-tiny.log").read_text()
    assert "epoch 1 done, continuing at epoch 2" in log
    a = load_checkpoint(ckpt_dir(full) / "SUTRACK_ep0002.pth.tar")
    b = load_checkpoint(ckpt_dir(split) / "SUTRACK_ep0002.pth.tar")
    print(f"epoch-2 loss uninterrupted {a['history']['Loss/total'][1]!r} resumed {b['history']['Loss/total'][1]!r}")
    assert a["history"]["Loss/total"] == b["history"]["Loss/total"]  # exact, on CPU
    assert all(torch.equal(a["net"][k], b["net"][k]) for k in a["net"])
    assert train_in_process(split, "--epochs", "2", "--samples_per_epoch", "16") == 0
    assert "nothing to do" in (split / "logs" / "sutrack_dinov3-tiny.log").read_text()
    assert train_in_process(split, "--epochs", "1", "--samples_per_epoch", "16", "--no-resume") == 0
    assert "--no-resume: starting fresh" in (split / "logs" / "sutrack_dinov3-tiny.log").read_text()
    assert [e for e, _ in list_checkpoints(ckpt_dir(split))] == [1]
    assert list(ckpt_dir(split).glob("previous-*/SUTRACK_ep0002.pth.tar"))


def test_killed_run_resumes_at_the_right_epoch(data_env, tmp_path):
    cmd = [sys.executable, str(ROOT / "tracking" / "train.py"), "--config", "tiny", "--save_dir", str(tmp_path),
           "--epochs", "4", "--samples_per_epoch", "32", "--opts", *QUICK]
    proc = subprocess.Popen(cmd, env=data_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 240
        while not list_checkpoints(ckpt_dir(tmp_path)) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
    # 3 epochs remain after the first checkpoint (seconds of work), far longer than one 50 ms poll: a run
    # that ended on its own before the kill crashed or never wrote a checkpoint.
    assert proc.returncode == -signal.SIGKILL, f"the run ended by itself (exit code {proc.returncode})"
    done = max(e for e, _ in list_checkpoints(ckpt_dir(tmp_path)))
    assert done < 4
    rerun = subprocess.run(cmd, env=data_env, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stdout[-3000:] + rerun.stderr[-3000:]
    log = (tmp_path / "logs" / "sutrack_dinov3-tiny.log").read_text()
    assert f"epoch {done} done, continuing at epoch {done + 1}" in log
    assert [e for e, _ in list_checkpoints(ckpt_dir(tmp_path))] == [2, 3, 4]  # KEEP_LAST 3
    assert not list(ckpt_dir(tmp_path).glob(".*.tmp"))


def test_gradient_accumulation_steps_the_optimizer_once_per_group(data_env, tmp_path):
    opts = [*QUICK, "TRAIN.ACCUM_STEPS", "2", "TRAIN.SCHEDULER.TYPE", "cosine",
            "TRAIN.SCHEDULER.WARMUP_EPOCHS", "0.5"]
    assert train_in_process(tmp_path, "--epochs", "1", "--samples_per_epoch", "20", opts=opts) == 0
    state = load_checkpoint(ckpt_dir(tmp_path) / "SUTRACK_ep0001.pth.tar")
    assert state["scheduler"]["last_epoch"] == 3  # 5 batches of 4 -> groups of 2, 2, 1
    assert all(s["step"].item() == 3 for s in state["optimizer"]["state"].values())


def test_torchrun_two_cpu_processes_keep_parameters_identical(data_env, tmp_path):
    cmd = [sys.executable, str(ROOT / "tracking" / "train.py"), "--config", "tiny", "--save_dir", str(tmp_path),
           "--mode", "multiple", "--nproc_per_node", "2", "--device", "cpu", "--epochs", "1",
           "--samples_per_epoch", "24", "--opts", *QUICK]
    proc = subprocess.run(cmd, env=data_env, capture_output=True, text=True, timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    log = (tmp_path / "logs" / "sutrack_dinov3-tiny.log").read_text()
    assert "world size 2" in log
    assert "DDP check: parameters identical on all 2 ranks" in log
    assert "[epoch 1 iter 3/3]" in log  # 24 samples / 2 ranks / batch 4
    assert [e for e, _ in list_checkpoints(ckpt_dir(tmp_path))] == [1]


def test_training_on_a_small_synthetic_set_lowers_the_loss(tmp_path, monkeypatch, capsys):
    from lib.data.synthetic.writers import write_got10k

    write_got10k(tmp_path / "got10k", "train", n_sequences=6, n_frames=16)
    monkeypatch.setenv("SUTRACK_GOT10K_DIR", str(tmp_path / "got10k"))
    opts = ["TRAIN.BATCH_SIZE", "8", "TRAIN.PRINT_INTERVAL", "100"]
    assert train_in_process(tmp_path / "out", "--epochs", "8", "--samples_per_epoch", "64", opts=opts) == 0
    hist = load_checkpoint(ckpt_dir(tmp_path / "out") / "SUTRACK_ep0008.pth.tar")["history"]
    with capsys.disabled():
        print("\ntiny config, 8 epochs x 64 samples (epoch means, first -> last):")
        for key in ("Loss/total", "Loss/location", "Loss/giou", "Loss/l1", "IoU"):
            print(f"  {key:14s} {hist[key][0]:8.3f} -> {hist[key][-1]:8.3f}")

    def early(key):
        return sum(hist[key][:2]) / 2

    def late(key):
        return sum(hist[key][-2:]) / 2

    assert hist["Loss/total"][-1] < 0.5 * hist["Loss/total"][0]
    assert late("Loss/location") < 0.5 * early("Loss/location")
    assert late("Loss/giou") < early("Loss/giou") and late("Loss/l1") < early("Loss/l1")
    assert late("IoU") > early("IoU")


# ----------------------------------------------------------------------------- bad input
def test_unreadable_frames_are_redrawn_with_warnings_counted_in_the_log(tmp_path, monkeypatch):
    from lib.data.synthetic.writers import write_got10k

    names = list(write_got10k(tmp_path / "got10k", "train", n_sequences=4, n_frames=10))
    for jpg in (tmp_path / "got10k" / "train" / names[1]).glob("*.jpg"):
        jpg.write_bytes(b"not a jpeg")  # listed, annotated, undecodable: fails at sampling time
    for jpg in (tmp_path / "got10k" / "train" / names[2]).glob("*.jpg"):
        jpg.unlink()  # no frames at all: the dataset leaves it out at start-up
    monkeypatch.setenv("SUTRACK_GOT10K_DIR", str(tmp_path / "got10k"))
    assert train_in_process(tmp_path / "out", "--epochs", "1", "--samples_per_epoch", "16") == 0
    log = (tmp_path / "out" / "logs" / "sutrack_dinov3-tiny.log").read_text()
    assert "1 skipped as unreadable" in log and names[2] in log
    assert "redrawing a training sample" in log and names[1] in log and "cannot read frame" in log
    redrawn = int(log.split("samples redrawn")[0].rsplit("|", 1)[1])
    assert redrawn > 0


def test_missing_dataset_root_names_key_and_path(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SUTRACK_GOT10K_DIR", str(tmp_path / "nowhere"))
    assert train_in_process(tmp_path) == 2
    err = capsys.readouterr().err
    assert "got10k_dir" in err and str(tmp_path / "nowhere") in err


def test_unknown_dataset_lists_known_ones(data_env, tmp_path, capsys):
    assert train_in_process(tmp_path, opts=["DATA.TRAIN.DATASETS_NAME", "['NOPE']"]) == 2
    err = capsys.readouterr().err
    assert "NOPE" in err and "GOT10K_train_full" in err and "LASOT" in err


def test_bad_options(tmp_path, capsys):
    train = load_script("tracking/train.py")
    with pytest.raises(SystemExit):
        train.main(["--config", "tiny", "--use_lmdb", "1"])
    assert "not supported" in capsys.readouterr().err
    assert train_in_process(tmp_path, opts=["TRAIN.NO_SUCH_KEY", "1"]) == 2
    assert "NO_SUCH_KEY" in capsys.readouterr().err
    assert run_training.main(["--config", "no_such_config", "--save_dir", str(tmp_path)]) == 2
    assert "tiny" in capsys.readouterr().err  # lists the available configs


def test_create_default_local_file(tmp_path):
    out = tmp_path / "local.yaml"
    assert load_script("tracking/create_default_local_file.py").main(
        ["--workspace_dir", str(tmp_path), "--data_dir", str(tmp_path / "data"), "--save_dir", str(tmp_path),
         "--output", str(out)]) == 0
    data = yaml.safe_load(out.read_text())
    assert data["got10k_dir"] == str(tmp_path / "data" / "got10k") and data["save_dir"] == str(tmp_path)
