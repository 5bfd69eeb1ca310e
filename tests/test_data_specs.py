"""The shipped split lists and the loaders that use them: fake roots whose names come from the lists."""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from lib.data.catalog import LeakageError
from lib.data.splits import (
    DATA_SPECS,
    GOT10K_TRAIN_COUNT,
    SplitError,
    got10k_exclude,
    got10k_split_names,
    lasot_test_names,
    lasot_train_names,
    read_index_split,
    trackingnet_classmap,
)
from lib.data.synthetic import writers as W
from lib.data.synthetic.benchmarks import got10k_split_numbers
from lib.train import run_training
from lib.train.dataset import CustomDataset, Got10k, TrackingNet, build_train_dataset

# lib/train/data_specs/README.md's table (non-empty lines, as `grep -c .` counts them)
COUNTS = {"got10k_train_full_split.txt": 9335, "got10k_train_split.txt": 7934, "got10k_val_split.txt": 1401,
          "got10k_vot_train_split.txt": 7086, "got10k_vot_val_split.txt": 1249, "got10k_vot_exclude.txt": 1000,
          "lasot_train_split.txt": 1120, "lasot_test_split.txt": 280, "trackingnet_classmap.txt": 30134,
          "lasher_train.txt": 882, "lasher_val.txt": 97, "lasher_all.txt": 979, "depthtrack_train.txt": 146,
          "depthtrack_val.txt": 6, "otb99_train_split.txt": 50, "otb99_test_split.txt": 48,
          "vasttrack_train_split.txt": 47103, "vasttrack_broken_split.txt": 1}
FULL_NAMES = [f"GOT-10k_Train_{i:06d}" for i in range(1, GOT10K_TRAIN_COUNT + 1)]


def test_shipped_lists_have_the_documented_counts():
    assert sorted(p.name for p in DATA_SPECS.glob("*.txt")) == sorted(COUNTS)
    for file, count in COUNTS.items():
        lines = [line for line in (DATA_SPECS / file).read_text().splitlines() if line.strip()]
        assert len(lines) == count, file
    readme = (DATA_SPECS / "README.md").read_text()
    assert all(f"{file} | {count} |" in readme or file.split("_")[0] in readme for file, count in COUNTS.items())


def test_lasot_test_split_is_the_complement_of_the_train_list():
    train, test = set(lasot_train_names()), set(lasot_test_names())
    assert len(test) == 280 and not train & test
    classes = {n.rsplit("-", 1)[0] for n in train}
    assert len(classes) == 70 and train | test == {f"{c}-{k}" for c in classes for k in range(1, 21)}


def test_vot_splits_never_hold_an_excluded_name():
    excluded = got10k_exclude()
    vottrain = got10k_split_names("vottrain", FULL_NAMES, Path("train"))
    votval = got10k_split_names("votval", FULL_NAMES, Path("train"))
    assert not excluded & set(vottrain) and not excluded & set(votval) and not set(vottrain) & set(votval)
    assert (len(vottrain), len(votval)) == (6321, 1124)
    # what the filter removes: the raw index lists name 765 / 125 excluded sequences (upstream off-by-one)
    raw = read_index_split(DATA_SPECS / "got10k_vot_train_split.txt", FULL_NAMES)
    assert len(raw) == 7086 and len(excluded & set(raw)) == 765
    full = got10k_split_names("train_full", FULL_NAMES, Path("train"))
    assert sorted(full) == FULL_NAMES  # a permutation of all of train


def test_got10k_index_splits_on_a_full_root(root):
    base = root("got10k_dir")
    vottrain, votval = got10k_split_numbers("got10k_vot_train_split.txt", 1), got10k_split_numbers(
        "got10k_vot_val_split.txt", 1)
    numbers = vottrain + votval + [4]  # GOT-10k_Train_000004 is excluded by VOT
    written = W.write_got10k(base, "train", numbers=numbers, list_size=GOT10K_TRAIN_COUNT)
    names = list(written)
    list_txt = base / "train" / "list.txt"
    list_txt.write_text("\n".join(reversed(list_txt.read_text().split())) + "\n")  # indices refer to the sorted list
    with pytest.warns(UserWarning, match="not found under"):
        train = Got10k("vottrain")
    assert [train.get_sequence_name(i) for i in range(len(train))] == [names[0]]
    with pytest.warns(UserWarning):
        val = Got10k("votval")
    assert [val.get_sequence_name(i) for i in range(len(val))] == [names[1]]
    with pytest.warns(UserWarning):
        full = Got10k("train_full")
    assert sorted(full.get_sequence_name(i) for i in range(len(full))) == sorted(names)
    np.testing.assert_allclose(train.get_sequence_info(0)["bbox"].numpy(), written[names[0]], atol=1e-3)


def test_got10k_index_splits_refuse_custom_data_but_train_full_takes_it_all(root):
    base = root("got10k_dir")
    written = W.write_got10k(base, "train", n_sequences=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        full = build_train_dataset("GOT10K_train_full")
    assert [full.get_sequence_name(i) for i in range(len(full))] == list(written)
    for split in ("train", "val", "vottrain", "votval"):
        with pytest.raises(SplitError, match=f"{base / 'train'}/list.txt holds 3 sequences .* 9335"):
            Got10k(split)


def test_trackingnet_classes_come_from_the_class_map(root):
    base = root("trackingnet_dir")
    videos = list(trackingnet_classmap())[:2]
    W.write_trackingnet(base, "TRAIN_0", names=videos)
    ds = build_train_dataset("TRACKINGNET")
    names = [ds.get_sequence_name(i) for i in range(len(ds))]
    assert sorted(names) == sorted(videos)
    assert [ds.get_meta(i)["object_class_name"] for i in range(2)] == [trackingnet_classmap()[v] for v in names]
    assert {trackingnet_classmap()[v] for v in videos} == {"airplane", "person"}  # the map's first two lines


def test_otb99_lang_evaluates_the_test_list_only(root):
    from lib.test.evaluation import get_dataset

    W.write_otb99_lang(root("otb99_lang_dir"), ("Biker", "Basketball"), split="test")  # Basketball: train list
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        seqs = get_dataset("otb99_lang")
    assert [s.name for s in seqs] == ["Biker"] and len(seqs.skipped) == 47


# ----------------------------------------------------------------------------- no test sequences in training
def test_mixes_with_test_sequences_are_refused(root):
    custom = root("custom_dir")
    W.write_custom(custom, names=("walk", "airplane-1"))  # airplane-1 is a LaSOT test sequence
    with pytest.raises(LeakageError, match=r"CUSTOM: 1 sequence.*airplane-1 \(LaSOT test\)"):
        CustomDataset()
    tn = root("trackingnet_dir")
    W.write_trackingnet(tn, "TRAIN_0", n_videos=1)
    W.write_trackingnet(tn, "TEST", n_videos=1)
    with pytest.raises(LeakageError, match=r"TRACKINGNET.*TEST/test_video0_0 \(TrackingNet TEST\)"):
        TrackingNet(sets=["TRAIN_0", "TEST"])
    assert len(TrackingNet()) == 1  # the default takes TRAIN_<i> only


def test_training_refuses_to_start_naming_dataset_and_sequences(root, tmp_path, capsys):
    custom = root("custom_dir")
    W.write_custom(custom, names=("GOT-10k_Test_000007", "walk"))
    opts = ["DATA.TRAIN.DATASETS_NAME", "['CUSTOM']", "DATA.TRAIN.DATASETS_RATIO", "[1]"]
    code = run_training.main(["--config", "tiny", "--save_dir", str(tmp_path / "out"), "--opts", *opts])
    err = capsys.readouterr().err
    assert code == 2 and "CUSTOM" in err and "test leak" in err and "GOT-10k_Test_000007 (GOT-10k test)" in err
    assert not list((tmp_path / "out").rglob("*.pth.tar"))


# ----------------------------------------------------------------------------- VastTrack
VAST = ("Yellow-Throated Warbler-2", "Dogfish Shark-1", "Colorimeter-1")  # from vasttrack_train_split.txt


def test_vasttrack_loads_exactly_the_listed_names(root):
    base = root("vasttrack_dir")
    written = W.write_vasttrack(base, VAST + ("Colorimeter-999",))  # the last is in no list
    with pytest.warns(UserWarning, match="not found under"):
        ds = build_train_dataset("VASTTRACK")
    names = [ds.get_sequence_name(i) for i in range(len(ds))]
    assert sorted(names) == sorted(VAST) and ds.get_name() == "vasttrack"
    i = names.index("Yellow-Throated Warbler-2")
    assert ds.get_meta(i)["object_class_name"] == "Yellow-Throated Warbler"
    assert ds.get_meta(i)["nlp"] == "the astronaut patch in Yellow-Throated Warbler-2"  # first written has nlp.txt
    assert ds.get_meta(names.index("Dogfish Shark-1"))["nlp"] is None  # nlp.txt is optional
    np.testing.assert_array_equal(ds.get_sequence_info(i)["bbox"].numpy(), written[names[i]])
    assert ds.get_frame_path(i, 0).endswith("Yellow-Throated Warbler/Yellow-Throated Warbler-2/imgs/00001.jpg")


def test_vasttrack_trains_one_step(root, tmp_path):
    W.write_vasttrack(root("vasttrack_dir"), VAST[:2], n_frames=8)
    opts = ["DATA.TRAIN.DATASETS_NAME", "['VASTTRACK']", "DATA.TRAIN.DATASETS_RATIO", "[1]", "TRAIN.BATCH_SIZE", "2",
            "TRAIN.NUM_WORKER", "0"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = run_training.main(["--config", "tiny", "--save_dir", str(tmp_path / "out"), "--epochs", "1",
                                  "--samples_per_epoch", "2", "--opts", *opts])
    assert code == 0
    log = next((tmp_path / "out" / "logs").glob("*.log")).read_text()
    assert "dataset vasttrack: 2 sequences" in log and "training finished: 1 epochs" in log
    assert [line.split()[-1] for line in log.splitlines() if line.startswith("VASTTRACK ")] == ["incomplete"]
