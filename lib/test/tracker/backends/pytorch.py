"""Backends 'pytorch' and 'pytorch_bf16': the eager model, fp32 or under bf16 autocast, with the window inside."""
from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from lib.models.sutrack_dinov3.decoder import select_box


class EagerNetwork:
    """The eager model as a backend: track_step returns the final (windowed) box and score.

    Other attributes (encoder, forward_encoder, ...) are the model's, so code written for the bare model
    keeps working.
    """

    def __init__(self, network: nn.Module, window: torch.Tensor | None, device: torch.device,
                 amp_dtype: torch.dtype | None = None, name: str = "pytorch", compile_mode: str | None = None):
        self.network, self.window, self.device, self.amp_dtype, self.name = network, window, device, amp_dtype, name
        if window is not None:
            self.window = window.to(device)
        # torch.compile (the profiler's CUDA variant): the step and the bare backbone, compiled lazily
        self.compile_mode = compile_mode
        self._step = torch.compile(network.track_step, mode=compile_mode) if compile_mode else network.track_step
        self._body = torch.compile(network.encoder.body, mode=compile_mode) if compile_mode else network.encoder.body

    def __getattr__(self, item: str) -> Any:  # only called for attributes not found on the wrapper
        return getattr(self.__dict__["network"], item)

    def autocast(self):
        """bf16 autocast on the model's device for 'pytorch_bf16', nothing for 'pytorch'."""
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.amp_dtype)

    def encode_template(self, template_list: list[torch.Tensor], anno_list: list[torch.Tensor]):
        with self.autocast():
            return self.network.encode_template(template_list, anno_list)

    def track_step(self, search: torch.Tensor, cache, text_src: torch.Tensor | None = None) -> dict:
        """Search crop + cached template -> {'pred_boxes': 1 x 1 x 4, 'score': (1,)}, windowed, float32
        (plus the head's maps: 'score_map', ...)."""
        with self.autocast():
            out = self._step(search, cache, text_src)
        out = {k: v.float() for k, v in out.items() if torch.is_tensor(v)}
        box, score = select_box(out, self.window)
        # the head's maps stay in the dict (for inspection); 'pred_boxes' and 'score' are the final pick
        return {**out, "pred_boxes": box[:, None], "score": score.reshape(-1)}

    def forward_textencoder(self, ids: torch.Tensor) -> torch.Tensor:
        with self.autocast():
            return self.network.forward_textencoder(ids).float()

    def backbone_fn(self, search: torch.Tensor) -> Callable[[], object]:
        body = self._body

        def run() -> object:
            with torch.inference_mode(), self.autocast():
                return body(search)
        return run
