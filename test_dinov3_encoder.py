"""Smoke check of the DINOv3 ConvNeXt SUTrack model: build, forward and backward for every head.

    python test_dinov3_encoder.py                      # tiny config, random weights (no download)
    python test_dinov3_encoder.py --config sutrack_dinov3            # default architecture, random weights
    python test_dinov3_encoder.py --config sutrack_dinov3_mm         # with the text encoder, random weights
    python test_dinov3_encoder.py --config sutrack_dinov3 --pretrained  # real weights (PRETRAIN_TYPE, and
                                                                        # TEXT_ENCODER.PRETRAINED for _mm)

Prints the shape of every tensor on the way and the parameter counts, then one all-passed line, or
exits non-zero naming the check that failed.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

from lib.config.sutrack_dinov3.config import load_config
from lib.models.sutrack_dinov3 import WeightsUnavailableError, build_sutrack_dinov3
from lib.utils.grid import feature_grid


def config_path(name: str) -> Path:
    path = Path(name)
    return path if path.suffix == ".yaml" else Path(__file__).parent / "experiments" / "sutrack_dinov3" / f"{name}.yaml"


def count(module: torch.nn.Module | None) -> str:
    return "-" if module is None else f"{sum(p.numel() for p in module.parameters()) / 1e6:.2f} M"


def check(name: str, condition: bool, detail: str = "") -> None:
    if not condition:
        raise AssertionError(f"{name} {detail}".strip())


def run(cfg_file: Path, pretrained: bool, batch: int) -> None:
    failures = []
    for head in ("CENTER", "CORNER", "MLP"):
        cfg = load_config(cfg_file)
        cfg.defrost()
        cfg.MODEL.DECODER.TYPE = head
        if not pretrained:  # random weights: no network at all
            cfg.MODEL.ENCODER.PRETRAINED = False
            cfg.MODEL.TEXT_ENCODER.PRETRAINED = ""
        cfg.freeze()
        try:
            model = build_sutrack_dinov3(cfg)
            chans = 6 if cfg.DATA.MULTI_MODAL_VISION else 3
            tsz, ssz, stride = cfg.DATA.TEMPLATE.SIZE, cfg.DATA.SEARCH.SIZE, cfg.MODEL.ENCODER.STRIDE
            template = torch.randn(batch, chans, tsz, tsz)
            search = torch.randn(batch, chans, ssz, ssz)
            anno = torch.tensor([[0.25, 0.25, 0.5, 0.5]]).repeat(batch, 1)
            gh, gw = feature_grid(ssz, stride)
            th, tw = feature_grid(tsz, stride)
            if head == "CENTER":
                body = model.encoder.body
                text_weights = cfg.MODEL.TEXT_ENCODER.PRETRAINED or "random"
                print(f"config {cfg_file.name}  encoder {cfg.MODEL.ENCODER.TYPE}  stride {stride}  "
                      f"pretrained {cfg.MODEL.ENCODER.PRETRAINED}  text weights {text_weights}")
                print(f"  template crop            {tuple(template.shape)}")
                print(f"  search crop              {tuple(search.shape)}")
                with torch.no_grad():
                    print(f"  backbone map, template   {tuple(body(template).shape)}  (grid {th}x{tw})")
                    print(f"  backbone map, search     {tuple(body(search).shape)}  (grid {gh}x{gw})")
                print(f"  params: backbone {count(body)}, projection {count(model.encoder.neck)}, "
                      f"relation module {count(model.encoder.blocks)}, task decoder {count(model.task_decoder)}, "
                      f"text encoder {count(model.text_encoder)}")
            feature = model.forward_encoder([template], [search], [anno])
            expected_tokens = int(cfg.MODEL.ENCODER.CLASS_TOKEN) + gh * gw + th * tw * cfg.MODEL.FUSION.TEMPLATE_TOKENS
            check(f"{head}: tokens", feature[0].shape[1] == expected_tokens, f"{tuple(feature[0].shape)}")
            out, task = model(feature=feature, mode="decoder")
            check(f"{head}: pred_boxes", out["pred_boxes"].shape == (batch, 1, 4), f"{tuple(out['pred_boxes'].shape)}")
            score_shape = tuple(out["score_map"].shape)
            check(f"{head}: score_map", score_shape == (batch, 1, gh, gw), f"{score_shape}")
            check(f"{head}: finite boxes", bool(torch.isfinite(out["pred_boxes"]).all()))
            loss = out["pred_boxes"].sum() + out["score_map"].mean() + task.logsumexp(-1).mean()
            loss.backward()
            grads = [p.grad for p in model.parameters() if p.requires_grad and p.grad is not None]
            check(f"{head}: gradients", len(grads) > 0 and all(torch.isfinite(g).all() for g in grads))
            sim = "-" if feature[1] is None else tuple(feature[1].shape)
            print(f"  head {head:6s}: tokens {tuple(feature[0].shape)}  similarity {sim}  "
                  f"score_map {tuple(out['score_map'].shape)}  pred_boxes {tuple(out['pred_boxes'].shape)}  "
                  f"task {tuple(task.shape)}  head params {count(model.decoder)}  forward+backward ok")
        except WeightsUnavailableError as exc:  # the same for every head: say it once and stop
            print(f"FAILED: {exc}")
            sys.exit(1)
        except Exception as exc:  # report every failing head, then exit non-zero
            failures.append(f"{head}: {type(exc).__name__}: {exc}")
            print(f"  head {head:6s}: FAILED {type(exc).__name__}: {exc}")
    if failures:
        print(f"FAILED {len(failures)} check(s): " + "; ".join(failures))
        sys.exit(1)
    print("ALL CHECKS PASSED")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="tiny", help="config name under experiments/sutrack_dinov3 or a yaml path")
    parser.add_argument("--pretrained", action="store_true",
                        help="load MODEL.ENCODER.PRETRAIN_TYPE (and MODEL.TEXT_ENCODER.PRETRAINED) weights")
    parser.add_argument("--batch", type=int, default=2)
    args = parser.parse_args()
    torch.manual_seed(0)
    run(config_path(args.config), args.pretrained, args.batch)


if __name__ == "__main__":
    main()
