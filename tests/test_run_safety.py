"""Runs that cannot be mixed, lost or silently wrong: one run per folder (test.py, train.py), resume that checks
what is done, empty or duplicated benchmark lists, missing vs broken on disk, workers that die with their parent."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from conftest import load_script

from lib.data.check import EVAL_LAYOUTS, check_datasets
from lib.data.synthetic.writers import write_got10k
from lib.test.evaluation import get_dataset
from lib.test.evaluation.data import EmptyDatasetError
from lib.test.evaluation.running import run_dataset
from lib.test.evaluation.tracker import TrackerRun
from lib.test.results import TrackerSpec
from lib.train import run_training
from lib.utils.process import killed_message
from lib.utils.run_lock import HOLDER_FILE, FolderBusyError, RunLock

ROOT = Path(__file__).resolve().parents[1]
N_SEQ, N_FRAMES = 5, 8
RUN = ["sutrack_dinov3", "tiny", "--dataset_name", "got10k_val", "--random_weights", "--backend", "pytorch",
       "--torch_threads", "1"]
SPEC = TrackerSpec("sutrack_dinov3", "tiny")
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}

test_script, analysis = load_script("tracking/test.py"), load_script("tracking/analysis_results.py")


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("data") / "got10k"
    write_got10k(root, "val", n_sequences=N_SEQ, n_frames=N_FRAMES, seed=4)
    return root


@pytest.fixture(scope="module")
def finished(data, tmp_path_factory) -> Path:
    """A results root with one complete run of every sequence (copied by the tests that damage it)."""
    results = tmp_path_factory.mktemp("finished")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SUTRACK_GOT10K_DIR", str(data))
        assert test_script.main([*RUN, "--results_path", str(results)]) == 0
    return results


@pytest.fixture
def got10k(data, monkeypatch) -> list[str]:
    monkeypatch.setenv("SUTRACK_GOT10K_DIR", str(data))
    return [f"GOT-10k_Val_{k:06d}" for k in range(1, N_SEQ + 1)]


def _holder(folder: Path, until: Path) -> subprocess.Popen:
    """Another process that holds `folder`'s run lock until the file `until` appears (then exits without
    releasing it)."""
    code = ("import os, sys, time; from lib.utils.run_lock import RunLock; lock = RunLock(sys.argv[1]); "
            "lock.acquire(); print('held', flush=True)\nwhile not os.path.exists(sys.argv[2]): time.sleep(0.05)")
    proc = subprocess.Popen([sys.executable, "-c", code, str(folder), str(until)], cwd=ROOT, env=ENV,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


# ------------------------------------------------------------------------------------------- one run per folder
def test_busy_folder_names_the_holder_and_a_killed_holders_lock_is_taken_over(tmp_path):
    holder = _holder(tmp_path, tmp_path / "never")
    try:
        with pytest.raises(FolderBusyError) as err:
            RunLock(tmp_path, hint="Pass --wait.").acquire()
        message = str(err.value)
        assert f"{tmp_path} is in use by another run (PID {holder.pid} on " in message
        assert "started 20" in message and "lock = RunLock(sys.argv[1])" in message and message.endswith("Pass --wait.")
    finally:
        holder.kill()  # kill -9: the OS drops its flock, its holder record stays behind
        holder.wait()
    lock = RunLock(tmp_path)
    note = lock.acquire()
    assert f"from a run that ended without releasing it (PID {holder.pid} on " in note
    lock.release()
    assert not (tmp_path / HOLDER_FILE).exists()
    with RunLock(tmp_path) as again:  # released: free at once, no stale-holder note
        assert again.held


def test_wait_starts_when_the_holder_ends(tmp_path):
    done = tmp_path / "done"
    holder = _holder(tmp_path, done)
    messages: list[str] = []

    def on_wait(message: str) -> None:  # told it waits: now let the holder end
        messages.append(message)
        done.touch()

    lock = RunLock(tmp_path)
    lock.acquire(wait=True, on_wait=on_wait, poll_s=0.1)
    try:  # the holder ends only once told that we wait, so the lock was taken after that, from a holder gone
        assert len(messages) == 1 and f"PID {holder.pid}" in messages[0] and "waiting for it to end" in messages[0]
        assert holder.wait(timeout=60) == 0
    finally:
        lock.release()
        holder.kill()
        holder.wait()


def test_second_test_run_into_a_busy_results_folder_stops_at_once(got10k, tmp_path, capsys):
    results = tmp_path / "results"
    folder = SPEC.dataset_dir(results, "got10k_val")
    with RunLock(folder):
        assert test_script.main([*RUN, "--seed", "1", "--results_path", str(results)]) == 2
        err = capsys.readouterr().err
        assert f"{folder} is in use by another run (PID {os.getpid()} on " in err
        assert "--wait" in err and "--runid N" in err
        assert sorted(p.name for p in folder.iterdir()) == [".run.lock", HOLDER_FILE]  # nothing of its own
    assert test_script.main([*RUN, "--seed", "1", "--results_path", str(results)]) == 0


def test_second_training_run_in_a_save_dir_stops_at_once(tmp_path, capsys):
    folder = tmp_path / "checkpoints" / "train" / "sutrack_dinov3" / "tiny"
    with RunLock(folder):
        assert run_training.main(["--config", "tiny", "--save_dir", str(tmp_path)]) == 2
        err = capsys.readouterr().err
        assert f"{folder} is in use by another run (PID {os.getpid()} on " in err and "--wait" in err
        launcher = load_script("tracking/train.py")  # torchrun mode: refused before any rank starts
        assert launcher.main(["--config", "tiny", "--save_dir", str(tmp_path), "--mode", "multiple"]) == 2
        out = capsys.readouterr()
        assert f"{folder} is in use by another run (PID {os.getpid()} on " in out.err and "launching" not in out.out
    assert not (tmp_path / "logs").exists()  # stopped before its log, stats or checkpoints


# ------------------------------------------------------------------------------------ resume checks what is done
def test_damaged_box_files_are_redone_and_the_summary_says_why(got10k, finished, tmp_path, capsys):
    results = tmp_path / "results"
    shutil.copytree(finished, results)
    folder = SPEC.dataset_dir(results, "got10k_val")
    boxes = {n: (folder / f"{n}.txt").read_text() for n in got10k}
    lines = {n: text.splitlines(keepends=True) for n, text in boxes.items()}
    (folder / f"{got10k[0]}.txt").write_text("".join(lines[got10k[0]][:5]))  # truncated
    (folder / f"{got10k[1]}.txt").write_text("")  # emptied
    (folder / f"{got10k[2]}.txt").write_text(lines[got10k[2]][0] + boxes[got10k[2]])  # one row too many
    (folder / f"{got10k[3]}.txt").write_text(boxes[got10k[3]].replace("\t", "\tx", 1))  # unparsable
    untouched = (folder / f"{got10k[4]}.txt").stat().st_mtime_ns
    capsys.readouterr()
    assert test_script.main([*RUN, "--results_path", str(results)]) == 0
    out = capsys.readouterr().out
    assert "4 to run (4 of them redone: damaged results), 1 already done" in out
    assert f"Summary: {N_SEQ} listed, {N_SEQ} done (4 redone: damaged results), 0 missing on disk" in out
    assert f"redone: {got10k[0]}: {folder / got10k[0]}.txt: 5 rows, the sequence has {N_FRAMES} frames (fewer" in out
    assert f"redone: {got10k[1]}: {folder / got10k[1]}.txt: file is empty" in out
    assert f"redone: {got10k[2]}: {folder / got10k[2]}.txt: {N_FRAMES + 1} rows, the sequence has {N_FRAMES} " \
           "frames (more rows than frames" in out
    assert f"redone: {got10k[3]}: {folder / got10k[3]}.txt: " in out
    assert {n: (folder / f"{n}.txt").read_text() for n in got10k} == boxes  # redone as the run made them
    assert (folder / f"{got10k[4]}.txt").stat().st_mtime_ns == untouched


def test_analysis_refuses_a_box_file_with_more_rows_than_frames(got10k, finished, tmp_path, capsys):
    results = tmp_path / "results"
    shutil.copytree(finished, results)
    path = SPEC.dataset_dir(results, "got10k_val") / f"{got10k[0]}.txt"
    text = path.read_text()
    path.write_text(text.splitlines(keepends=True)[0] + text)  # one row prepended: every box one frame late
    args = ["--dataset", "got10k_val", "--config", "tiny", "--results_path", str(results),
            "--plot_dir", str(tmp_path / "plots")]
    assert analysis.main(args) == 1
    printed = capsys.readouterr()
    assert f"{path}: {N_FRAMES + 1} rows, the sequence has {N_FRAMES} frames (more rows than frames" in printed.out
    assert f"got10k_val: {N_SEQ - 1} of {N_SEQ} sequences scored" in printed.out
    assert f"not scored: {got10k[0]}" in printed.err


# --------------------------------------------------------------------------------- empty or duplicated benchmarks
def _empty_root(kind: str, data: Path, tmp_path: Path) -> tuple[Path, str]:
    """A GOT-10k root that lists no sequence, and what the error says about it."""
    if kind == "one level too deep":
        return data / "val", f"no sequence found under {data / 'val' / 'val'}"
    root = tmp_path / "got10k"
    (root / "val").mkdir(parents=True)
    if kind == "empty list.txt":
        (root / "val" / "list.txt").write_text("")
        return root, f"{root / 'val' / 'list.txt'} is empty"
    return root, f"no sequence found under {root / 'val'}"


@pytest.mark.parametrize("kind", ["one level too deep", "empty list.txt", "empty folder"])
def test_a_root_that_lists_no_sequence_is_a_setup_error(kind, data, tmp_path, monkeypatch, capsys):
    root, where = _empty_root(kind, data, tmp_path)
    monkeypatch.setenv("SUTRACK_GOT10K_DIR", str(root))
    results = tmp_path / "results"
    assert test_script.main([*RUN, "--results_path", str(results)]) == 2
    err = capsys.readouterr().err
    assert f"got10k_val: 0 sequences to evaluate: {where} (dataset root {root}, settings key got10k_dir" in err
    assert f"Expected layout: {EVAL_LAYOUTS['got10k']}." in err and "tracking/check_data.py" in err
    assert not results.exists()  # no provenance.json, no empty results folder
    assert analysis.main(["--dataset", "got10k_val", "--config", "tiny", "--results_path", str(results)]) == 2
    assert f"0 sequences to evaluate: {where}" in capsys.readouterr().err


def test_a_lasot_root_with_none_of_its_listed_sequences_is_a_setup_error(tmp_path, monkeypatch):
    monkeypatch.setenv("SUTRACK_LASOT_DIR", str(tmp_path))
    with pytest.raises(EmptyDatasetError, match=rf"lasot: 0 sequences to evaluate: none of the 280 listed sequences "
                                                rf"is on disk under {tmp_path}.*Expected layout: <root>/<class>/"):
        get_dataset("lasot")


def test_a_name_listed_twice_names_the_list_file_and_lines(data, tmp_path, monkeypatch, capsys):
    root = tmp_path / "got10k"
    shutil.copytree(data, root)
    names = (root / "val" / "list.txt").read_text().split()
    (root / "val" / "list.txt").write_text("\n".join([*names, names[0]]) + "\n")
    monkeypatch.setenv("SUTRACK_GOT10K_DIR", str(root))
    assert test_script.main([*RUN, "--results_path", str(tmp_path / "results")]) == 2
    message = (f"got10k_val: sequence '{names[0]}' is listed 2 times in {root / 'val' / 'list.txt'} (lines 1 and "
               f"{len(names) + 1}); list each sequence once")
    assert message in capsys.readouterr().err
    (row,) = check_datasets([], ["got10k_val"])  # check_data.py says the same
    assert row.status == "error" and row.notes == [message]


# ---------------------------------------------------------------------------------- missing vs broken on disk
def test_missing_and_broken_on_disk_are_told_apart(data, tmp_path, monkeypatch, capsys):
    root = tmp_path / "got10k"
    shutil.copytree(data, root)
    listed = (root / "val" / "list.txt").read_text().split()
    absent, broken = "GOT-10k_Val_000999", listed[1]
    (root / "val" / "list.txt").write_text("\n".join([*listed, absent]) + "\n")
    (root / "val" / broken / "groundtruth.txt").write_text("1,2,oops,4\n" * N_FRAMES)
    monkeypatch.setenv("SUTRACK_GOT10K_DIR", str(root))

    dataset = get_dataset("got10k_val")
    assert [n for n, _ in dataset.missing] == [absent] and [n for n, _ in dataset.broken] == [broken]
    (row,) = check_datasets([], ["got10k_val"], sample=None)
    assert row.missing == [absent] and [n for n, _ in row.broken] == [broken]

    results = tmp_path / "results"
    assert test_script.main([*RUN, "--results_path", str(results)]) == 1
    out = capsys.readouterr().out
    assert (f"Summary: {N_SEQ + 1} listed, {N_SEQ - 1} done (0 redone: damaged results), 1 missing on disk, "
            "1 broken on disk, 0 failed") in out
    assert f"missing on disk (listed, not found): {absent}: " in out
    assert f"broken on disk (cannot be read): {broken}: " in out and "malformed groundtruth" in out
    assert analysis.main(["--dataset", "got10k_val", "--config", "tiny", "--results_path", str(results),
                          "--plot_dir", str(tmp_path / "plots")]) == 1
    out = capsys.readouterr().out
    assert f"missing on disk (listed, not found): {absent}: " in out
    assert f"broken on disk (cannot be read): {broken}: " in out
    assert test_script.main([*RUN, "--results_path", str(results), "--sequence", absent]) == 2
    assert f"sequence '{absent}' is in the dataset's list but missing on disk" in capsys.readouterr().err
    assert test_script.main([*RUN, "--results_path", str(results), "--sequence", broken]) == 2
    assert f"sequence '{broken}' is on disk but broken (cannot be used)" in capsys.readouterr().err


# ------------------------------------------------------------------------------- workers die with their parent
CHILD = """
import os, sys, time
if sys.argv[1] == "watchdog":
    sys.platform = "watchdog-only"  # no prctl: the watchdog thread alone must end this process
from lib.utils.process import die_with_parent
die_with_parent(os.getppid(), poll_s=0.1, watchdog=sys.argv[1] == "watchdog")  # each mechanism alone
print(os.getpid(), flush=True)
time.sleep(120)
"""
PARENT = """
import subprocess, sys, time
subprocess.Popen([sys.executable, "-c", sys.argv[1], sys.argv[2]])
time.sleep(120)
"""


def _gone(pid: int) -> bool:
    """True when `pid` no longer runs (exited, or a zombie nobody reaped)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] in ("Z", "X")
    except (FileNotFoundError, ProcessLookupError):
        return True


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc to see the orphan")
@pytest.mark.parametrize("mode", ["prctl", "watchdog"])
def test_a_child_dies_when_its_parent_is_killed(mode):
    parent = subprocess.Popen([sys.executable, "-c", PARENT, CHILD, mode], cwd=ROOT, env=ENV, stdout=subprocess.PIPE,
                              text=True)
    child = int(parent.stdout.readline())
    assert not _gone(child)
    parent.kill()  # kill -9: no cleanup code of the parent runs
    parent.wait()
    for _ in range(100):
        if _gone(child):
            break
        time.sleep(0.1)
    else:
        os.kill(child, signal.SIGKILL)
        pytest.fail(f"{mode}: the child {child} outlived its parent")


class _InitBoxTracker:
    """Stands in for the network: reports the init box. The first one to initialise, in any worker, kills its
    own process with SIGKILL, as the OOM killer would."""

    def initialize(self, frame, box, text=None) -> None:
        self.box = [float(v) for v in box]
        try:
            os.close(os.open(os.environ["SUTRACK_TEST_KILL_MARKER"], os.O_CREAT | os.O_EXCL))
        except FileExistsError:
            return
        os.kill(os.getpid(), signal.SIGKILL)

    def track(self, frame):
        return self.box, 1.0


@dataclass
class KillOnceRun(TrackerRun):
    """A TrackerRun whose workers build _InitBoxTracker (pickled by reference into the spawned workers)."""

    def create(self, device: str = "auto"):
        return _InitBoxTracker()


def test_a_worker_killed_by_the_os_fails_only_its_sequence_and_the_run_goes_on(got10k, tmp_path, monkeypatch):
    marker = tmp_path / "killed"
    monkeypatch.setenv("SUTRACK_TEST_KILL_MARKER", str(marker))
    spec = KillOnceRun("sutrack_dinov3", "tiny", "got10k_val", random_weights=True, results_path=str(tmp_path))
    dataset = get_dataset("got10k_val")
    outcome = run_dataset(dataset, [spec], threads=2, torch_threads=1, progress=False)
    assert marker.exists()
    (failure,) = outcome.failures
    assert failure.error.startswith("worker killed (signal 9), possibly out of memory; the other sequences go on")
    for seq in dataset:
        files = spec.result_files(seq.name)
        if seq.name == failure.sequence:
            assert not files.exists()
        else:
            np.testing.assert_array_equal(np.loadtxt(files.boxes), np.repeat(seq.ground_truth_rect[:1], N_FRAMES, 0))
    assert killed_message(-15) == "worker killed (signal 15)" and "exit code 3" in killed_message(3)
