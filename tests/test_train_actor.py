"""Losses, actor, freezing / parameter groups, LR schedules and checkpoint RNG state."""
from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from lib.config.sutrack_dinov3.config import load_config
from lib.models.sutrack_dinov3 import build_sutrack_dinov3
from lib.train.actors import NonFiniteOutputError, SUTrackActor, SUTrackTrainNet
from lib.train.actors.losses import focal_loss
from lib.train.data.heatmap import gaussian_target
from lib.train.optim import LRFactor, build_optimizer, configure_trainable
from lib.train.trainers import checkpoint as ckpt


def tiny_cfg(repo_root, **overrides):
    cfg = load_config(repo_root / "experiments" / "sutrack_dinov3" / "tiny.yaml")
    cfg.defrost()
    cfg.merge_from_list([x for kv in overrides.items() for x in (kv[0].replace("__", "."), kv[1])])
    cfg.freeze()
    return cfg


def fake_batch(b=2, task=0):
    box = torch.tensor([[0.40, 0.35, 0.2, 0.25]]).repeat(b, 1)
    heat = torch.from_numpy(np.stack([gaussian_target(x.numpy(), (8, 8)) for x in box]))[:, None]
    return {"template_images": torch.randn(b, 1, 3, 64, 64),
            "template_anno": torch.tensor([[[0.25, 0.25, 0.5, 0.5]]] * b),
            "search_images": torch.randn(b, 1, 3, 128, 128), "search_anno": box[:, None], "search_heatmap": heat,
            "task_index": torch.full((b,), task), "dataset": ["GOT10K"] * b}


def test_focal_loss_matches_formula_and_rewards_the_right_peak():
    target = torch.zeros(1, 1, 4, 4)
    target[0, 0, 1, 2] = 1.0
    target[0, 0, 1, 1] = 0.5
    pred = torch.full((1, 1, 4, 4), 0.1)
    pred[0, 0, 1, 2] = 0.8
    expected = -(np.log(0.8) * 0.2**2 + np.log(0.9) * 0.1**2 * (0.5**4 + 14))
    assert focal_loss(pred, target).item() == pytest.approx(expected, rel=1e-5)
    good = target.clamp(1e-4, 1 - 1e-4)
    assert focal_loss(good, target) < focal_loss(pred, target)


@pytest.mark.parametrize("head", ["CENTER", "CORNER", "MLP"])
def test_actor_losses_and_stats(repo_root, head):
    cfg = tiny_cfg(repo_root, MODEL__DECODER__TYPE=head)
    torch.manual_seed(0)
    net = SUTrackTrainNet(build_sutrack_dinov3(cfg), False)
    actor = SUTrackActor(net, cfg, torch.device("cpu"))
    loss, stats = actor(fake_batch())
    loss.backward()
    assert set(stats) == {"Loss/total", "Loss/giou", "Loss/l1", "Loss/location", "Loss/task_class", "IoU", "TaskAcc"}
    assert np.isfinite(list(stats.values())).all()
    assert (stats["Loss/location"] == 0.0) == (head == "CORNER")
    w = cfg.TRAIN
    total = (w.GIOU_WEIGHT * stats["Loss/giou"] + w.L1_WEIGHT * stats["Loss/l1"] + stats["Loss/location"]
             + w.TASK_CE_WEIGHT * stats["Loss/task_class"])
    assert stats["Loss/total"] == pytest.approx(total, rel=1e-5)
    assert all(p.grad is not None for n, p in net.named_parameters() if n.startswith("model.decoder"))


def test_nan_boxes_stop_training(repo_root):
    cfg = tiny_cfg(repo_root)
    actor = SUTrackActor(SUTrackTrainNet(build_sutrack_dinov3(cfg), False), cfg, torch.device("cpu"))
    batch = fake_batch()
    out = {"pred_boxes": torch.full((2, 1, 4), float("nan")), "score_map": torch.rand(2, 1, 8, 8),
           "task_class": torch.zeros(2, 5)}
    with pytest.raises(NonFiniteOutputError, match="NaN"):
        actor.compute_losses(out, batch)


def test_param_groups_put_only_pretrained_weights_at_low_lr(repo_root):
    cfg = tiny_cfg(repo_root, TRAIN__ENCODER_MULTIPLIER=0.1)
    model = build_sutrack_dinov3(cfg)
    configure_trainable(model, cfg)
    opt = build_optimizer(model, cfg)
    by_group = {g["name"]: {id(p) for p in g["params"]} for g in opt.param_groups}
    lrs = {g["name"]: g["lr"] for g in opt.param_groups}
    assert lrs == {"new": pytest.approx(cfg.TRAIN.LR), "pretrained": pytest.approx(cfg.TRAIN.LR * 0.1)}
    for name, p in model.named_parameters():
        group = "pretrained" if name.startswith("encoder.body.") else "new"
        assert id(p) in by_group[group], name  # neck, embeddings and relation blocks are new layers


def test_freeze_encoder_keeps_encoder_open_trainable(repo_root):
    cfg = tiny_cfg(repo_root, TRAIN__FREEZE_ENCODER=True, TRAIN__ENCODER_OPEN=["stages.2"])
    model = build_sutrack_dinov3(cfg)
    configure_trainable(model, cfg)
    for name, p in model.named_parameters():
        if name.startswith("encoder.body."):
            assert p.requires_grad == ("stages.2" in name), name
        else:
            assert p.requires_grad, name
    cfg0 = tiny_cfg(repo_root, TRAIN__ENCODER_MULTIPLIER=0.0)
    configure_trainable(model, cfg0)
    assert not any(p.requires_grad for n, p in model.named_parameters() if n.startswith("encoder.body."))


def test_text_frozen_freezes_clip_tower_only(repo_root):
    cfg = tiny_cfg(repo_root, DATA__MULTI_MODAL_LANGUAGE=True, TRAIN__TYPE="text_frozen")
    model = build_sutrack_dinov3(cfg)
    configure_trainable(model, cfg)
    clip = [p.requires_grad for n, p in model.named_parameters() if n.startswith("text_encoder.clip.")]
    assert clip and not any(clip)
    assert all(p.requires_grad for p in model.text_encoder.proj.parameters())
    with pytest.raises(ValueError, match="TRAIN.TYPE"):
        configure_trainable(model, tiny_cfg(repo_root, TRAIN__TYPE="peft"))


def test_schedules(repo_root):
    step = LRFactor(tiny_cfg(repo_root, TRAIN__EPOCH=10, TRAIN__LR_DROP_EPOCH=4), steps_per_epoch=5)
    assert [step(s) for s in (0, 19, 20, 39, 40)] == pytest.approx([1, 1, 0.1, 0.1, 0.01])
    mstep = LRFactor(tiny_cfg(repo_root, TRAIN__SCHEDULER__TYPE="Mstep", TRAIN__SCHEDULER__MILESTONES=[2, 3]), 5)
    assert [mstep(s) for s in (9, 10, 15)] == pytest.approx([1, 0.1, 0.01])
    cos = LRFactor(tiny_cfg(repo_root, TRAIN__SCHEDULER__TYPE="cosine", TRAIN__EPOCH=10,
                            TRAIN__SCHEDULER__WARMUP_EPOCHS=2.0, TRAIN__SCHEDULER__MIN_LR_RATIO=0.01), 5)
    values = [cos(s) for s in range(50)]
    assert values[0] == pytest.approx(0.1) and values[9] == pytest.approx(1.0)
    assert all(a >= b for a, b in zip(values[10:], values[11:])) and values[-1] > 0.01


def test_rng_state_round_trips_through_weights_only_checkpoint(tmp_path):
    gen = torch.Generator().manual_seed(3)
    torch.manual_seed(1), np.random.seed(2), random.seed(3)
    ckpt.save_atomic({"rng": ckpt.capture_rng({"loader": gen})}, tmp_path / "c.pth.tar")
    expected = (torch.rand(3), np.random.rand(3), random.random(), torch.rand(2, generator=gen))
    torch.manual_seed(9), np.random.seed(9), random.seed(9)
    gen.manual_seed(9)
    ckpt.restore_rng(ckpt.load_checkpoint(tmp_path / "c.pth.tar")["rng"], {"loader": gen})
    got = (torch.rand(3), np.random.rand(3), random.random(), torch.rand(2, generator=gen))
    assert torch.equal(got[0], expected[0]) and np.array_equal(got[1], expected[1])
    assert got[2] == expected[2] and torch.equal(got[3], expected[3])
    assert not list(tmp_path.glob("*.tmp"))
