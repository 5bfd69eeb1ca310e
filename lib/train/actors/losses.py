"""SUTrack's training losses: CenterNet focal loss on the score map; GIoU and L1 on xyxy boxes."""
from __future__ import annotations

import torch
from torchvision.ops import generalized_box_iou_loss


def focal_loss(pred: torch.Tensor, target: torch.Tensor, alpha: float = 2.0, beta: float = 4.0) -> torch.Tensor:
    """CenterNet focal loss: pred in (0, 1) (clamped sigmoid), target Gaussian with 1 at the centre cells.

    Summed over the batch and divided by the number of centre cells (SUTrack/OSTrack's normalisation).
    """
    pred = pred.float().clamp(1e-6, 1 - 1e-6)
    target = target.float()
    pos = target.eq(1).float()
    neg = 1.0 - pos
    pos_loss = torch.log(pred) * (1 - pred).pow(alpha) * pos
    neg_loss = torch.log(1 - pred) * pred.pow(alpha) * (1 - target).pow(beta) * neg
    num_pos = pos.sum()
    return -(pos_loss.sum() + neg_loss.sum()) / num_pos.clamp(min=1.0)


def giou_loss(pred_xyxy: torch.Tensor, gt_xyxy: torch.Tensor) -> torch.Tensor:
    """Mean generalised-IoU loss (torchvision); a degenerate prediction gives a finite loss, never NaN."""
    return generalized_box_iou_loss(pred_xyxy.float(), gt_xyxy.float(), reduction="none").nan_to_num(2.0).mean()
