"""What the graph runtimes (ONNX Runtime, OpenVINO) share: feeds, template concatenation, the text encoder."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch import nn

from lib.models.sutrack_dinov3.encoder import TemplateFeatures
from lib.test.parameter.sutrack_dinov3 import TrackerParams
from lib.test.tracker.backends import onnx_export as ox


def to_numpy(x: torch.Tensor) -> np.ndarray:
    """A contiguous float32 host array (no copy when the tensor already is one)."""
    return np.ascontiguousarray(x.detach().to("cpu", torch.float32).numpy())


class GraphNetwork:
    """A backend over the exported graphs; subclasses say where a graph comes from and how it runs.

    `graph_path(name)` gives the file of graph `name` ('template', 'step', 'step_text', 'backbone') in the
    runtime's export `form`, building it when missing (int8: the step and backbone graphs quantised by the
    recipe of the backend `name`; the template graph, once per sequence, stays float); `compile(path)`
    loads it; `run(compiled, feeds)` -> outputs in order.
    """

    name = "graph"
    form = "linear"  # the export form this runtime runs fastest (onnx_export.FORMS)
    int8 = False

    def __init__(self, network: nn.Module, params: TrackerParams, device: torch.device, folder: Path,
                 export: bool = True):
        self.network, self.params, self.device, self.folder = network, params, device, Path(folder)
        self.export_allowed = export
        self.compiled: dict[str, object] = {}
        self._inputs: dict[object, set[str]] = {}
        self.num_templates = max(1, int(params.cfg.TEST.NUM_TEMPLATES))
        self._template_feeds: tuple[TemplateFeatures | None, dict[str, np.ndarray]] = (None, {})

    # -- to be provided by the runtime
    def graph_path(self, name: str) -> Path:
        source = ox.ensure_graph(self.network, self.params, self.folder, name, self.export_allowed, self.form)
        if not self.int8 or name == "template":
            return source
        from lib.test.tracker.backends.quantize import int8_graph

        return int8_graph(self.network, self.params, source, self.folder, self.name)

    def compile(self, path: Path) -> object:
        raise NotImplementedError

    def run(self, compiled: object, feeds: dict[str, np.ndarray], outputs: list[str]) -> list[np.ndarray]:
        raise NotImplementedError

    def input_names(self, compiled: object) -> set[str]:
        raise NotImplementedError

    # -- the contract
    def graph(self, name: str) -> object:
        """The loaded graph `name`, built and compiled on first use."""
        if name not in self.compiled:
            self.compiled[name] = self.compile(self.graph_path(name))
        return self.compiled[name]

    def encode_template(self, template_list: list[torch.Tensor], template_anno_list: list[torch.Tensor]
                        ) -> TemplateFeatures:
        """Each template through the template graph, concatenated along tokens (as the model does for B = 1)."""
        if len(template_list) != self.num_templates or template_list[0].shape[0] != 1:
            raise ValueError(f"the exported step graph takes {self.num_templates} template(s) of batch 1 "
                             f"(TEST.NUM_TEMPLATES), got {len(template_list)} of batch {template_list[0].shape[0]}")
        graph = self.graph("template")
        outs = [self.run(graph, {"template": to_numpy(t), "template_anno": to_numpy(a)}, list(ox.TEMPLATE_OUTPUTS))
                for t, a in zip(template_list, template_anno_list)]
        return TemplateFeatures(*(torch.from_numpy(np.concatenate(parts, 1)) for parts in zip(*outs)))

    def track_step(self, search: torch.Tensor, template_cache: TemplateFeatures,
                   text_src: torch.Tensor | None = None) -> dict:
        """One frame through the step graph -> {'pred_boxes': 1 x 1 x 4, 'score': (1,)}, final (windowed)."""
        name, feeds = self.step_feeds(search, template_cache, text_src)
        box, score = self.run(self.graph(name), feeds, list(ox.STEP_OUTPUTS))
        return {"pred_boxes": torch.from_numpy(np.asarray(box))[:, None],
                "score": torch.from_numpy(np.asarray(score)).reshape(-1)}

    def step_feeds(self, search: torch.Tensor, template_cache: TemplateFeatures,
                   text_src: torch.Tensor | None = None) -> tuple[str, dict[str, np.ndarray]]:
        """The step graph's name and its input arrays for one frame (the template's arrays are built once per
        template, not per frame)."""
        name = ox.step_graph_name(text_src is not None)
        graph = self.graph(name)
        if graph not in self._inputs:  # the exporter drops inputs the model ignores (no template tokens: foreground)
            self._inputs[graph] = self.input_names(graph)
        names = self._inputs[graph]
        cached, template_feeds = self._template_feeds
        if cached is not template_cache:
            template_feeds = {k: to_numpy(v) for k, v in zip(ox.TEMPLATE_OUTPUTS, template_cache)}
            self._template_feeds = (template_cache, template_feeds)
        feeds = {k: v for k, v in template_feeds.items() if k in names}
        feeds["search"] = to_numpy(search)
        if text_src is not None and "text" in names:
            feeds["text"] = to_numpy(text_src)
        return name, feeds

    def forward_textencoder(self, text_data: torch.Tensor) -> torch.Tensor:
        """Text token (once per sequence) from the PyTorch text encoder."""
        with torch.inference_mode():
            return self.network.forward_textencoder(text_data.cpu())

    def backbone_fn(self, search: torch.Tensor) -> Callable[[], object]:
        graph, feeds = self.graph("backbone"), {"search": to_numpy(search)}
        return lambda: self.run(graph, feeds, ["features"])

    def warm(self) -> None:
        """Build and load the template and step graphs now, not inside the first frame's timing."""
        self.graph("template")
        self.graph("step")
