"""The SUTrack actor: one training forward through the network and its losses and stats.

`SUTrackTrainNet` wraps the model so that text, encoder, box head and task decoder run in ONE
forward call: DDP then sees one forward per backward (SUTrack called DDP three times per step).
Losses: focal (weight 1, SUTrack's) on the score map for the CENTER and MLP heads, whose score map is a
per-cell probability; the CORNER head's score map is a normalised product of two soft-argmax maps,
not a probability, so it trains on GIoU and L1 only (as STARK's corner head does) and Loss/location is 0.
GIoU (GIOU_WEIGHT) and L1 (L1_WEIGHT) compare xyxy boxes with the ground truth clamped to [0, 1];
cross-entropy (TASK_CE_WEIGHT) trains the task decoder on MODEL.TASK_INDEX of the sample's dataset.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from yacs.config import CfgNode

from lib.utils.box_ops import box_cxcywh_to_xyxy, box_xywh_to_xyxy, paired_iou

from .losses import focal_loss, giou_loss

FOCAL_WEIGHT = 1.0  # SUTrack's fixed weight of the location loss


class NonFiniteOutputError(FloatingPointError):
    """The network produced NaN/inf boxes: training stops (usually too high an LR or fp16 overflow)."""


class SUTrackTrainNet(nn.Module):
    """The model's training forward in one call: batch dict -> head outputs plus task logits."""

    def __init__(self, model: nn.Module, multi_modal_language: bool):
        super().__init__()
        self.model = model
        self.multi_modal_language = multi_modal_language

    def forward(self, template_images: torch.Tensor, template_anno: torch.Tensor, search_images: torch.Tensor,
                task_index: torch.Tensor, nlp_ids: torch.Tensor | None = None) -> dict:
        """template_images B x Nt x C x H x W, template_anno B x Nt x 4, search_images B x 1 x C x H x W."""
        text_src = self.model.forward_textencoder(nlp_ids) if self.multi_modal_language else None
        feature = self.model.forward_encoder(list(template_images.unbind(1)), list(search_images.unbind(1)),
                                             list(template_anno.unbind(1)), text_src, task_index)
        out = self.model.forward_decoder(feature)
        out["task_class"] = self.model.forward_task_decoder(feature)
        return out


class SUTrackActor:
    """Calls the (possibly DDP-wrapped) SUTrackTrainNet on a batch and returns (loss, stats)."""

    def __init__(self, net: nn.Module, cfg: CfgNode, device: torch.device):
        self.net = net
        self.device = device
        self.decoder_type = cfg.MODEL.DECODER.TYPE
        self.weights = {"giou": float(cfg.TRAIN.GIOU_WEIGHT), "l1": float(cfg.TRAIN.L1_WEIGHT),
                        "location": FOCAL_WEIGHT, "task_class": float(cfg.TRAIN.TASK_CE_WEIGHT)}
        self.multi_modal_language = bool(cfg.DATA.MULTI_MODAL_LANGUAGE)

    def to_device(self, data: dict) -> dict:
        return {k: v.to(self.device, non_blocking=True) if isinstance(v, torch.Tensor) else v
                for k, v in data.items()}

    def __call__(self, data: dict) -> tuple[torch.Tensor, dict[str, float]]:
        data = self.to_device(data)
        out = self.net(data["template_images"], data["template_anno"], data["search_images"], data["task_index"],
                       data.get("nlp_ids") if self.multi_modal_language else None)
        return self.compute_losses(out, data)

    def compute_losses(self, out: dict, data: dict) -> tuple[torch.Tensor, dict[str, float]]:
        """Weighted sum of the losses; raises NonFiniteOutputError on NaN/inf boxes."""
        pred_boxes = out["pred_boxes"].float()  # B x 1 x 4 cxcywh
        if not torch.isfinite(pred_boxes).all():
            raise NonFiniteOutputError("network output pred_boxes contains NaN/inf: stopping training "
                                       "(lower TRAIN.LR, check the data, or use AMP_DTYPE bfloat16)")
        gt_box = data["search_anno"][:, -1].float()  # B x 4 normalised xywh
        pred_xyxy = box_cxcywh_to_xyxy(pred_boxes.flatten(0, 1))
        gt_xyxy = box_xywh_to_xyxy(gt_box)[:, None].expand(-1, pred_boxes.shape[1], -1).reshape(-1, 4)
        gt_xyxy = gt_xyxy.clamp(0.0, 1.0)
        losses = {"giou": giou_loss(pred_xyxy, gt_xyxy), "l1": F.l1_loss(pred_xyxy, gt_xyxy)}
        if self.decoder_type == "CORNER" or "score_map" not in out:
            losses["location"] = pred_xyxy.new_zeros(())
        else:
            losses["location"] = focal_loss(out["score_map"], data["search_heatmap"][:, -1:])
        logits = out["task_class"].float()
        labels = data["task_index"].long()
        losses["task_class"] = F.cross_entropy(logits, labels)
        total = sum(self.weights[k] * v for k, v in losses.items())
        with torch.no_grad():
            iou = paired_iou(pred_xyxy.detach(), gt_xyxy).mean()
            acc = (logits.argmax(-1) == labels).float().mean()
            keys = ["Loss/total", "Loss/giou", "Loss/l1", "Loss/location", "Loss/task_class", "IoU", "TaskAcc"]
            values = torch.stack([total.detach(), losses["giou"].detach(), losses["l1"].detach(),
                                  losses["location"].detach(), losses["task_class"].detach(), iou, acc]).tolist()
        return total, dict(zip(keys, values))
