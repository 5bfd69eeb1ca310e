"""Backends and speed tooling: same boxes as PyTorch, valid graphs, a working profiler (no timings asserted)."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import onnx
import pytest
import yaml
from conftest import load_script

from lib.api import build_tracker
from lib.data.synthetic.writers import synthetic_sequence
from lib.test.parameter.sutrack_dinov3 import parameters
from lib.test.tracker.backends import int8_recipe
from lib.test.tracker.backends import onnx_export as ob
from lib.test.tracker.backends.onnxruntime_backend import OnnxNetwork

TOL = 1e-3  # normalised box coordinates (pixels / frame size)
SIZE = (160, 120)



@pytest.fixture(scope="module")
def sequence():
    return synthetic_sequence(10, size=SIZE, seed=1, box_size=(30, 22))


def tiny_yaml(tmp_path, repo_root, **sections) -> str:
    """tiny.yaml with `sections` ({'DATA': {...}, 'TEST': {...}}) merged in, written under tmp_path."""
    data = yaml.safe_load((repo_root / "experiments" / "sutrack_dinov3" / "tiny.yaml").read_text())
    for section, values in sections.items():
        data.setdefault(section, {}).update(values)
    path = tmp_path / "tiny_variant.yaml"
    path.write_text(yaml.safe_dump(data))
    return str(path)


def track_both(config: str, frames, boxes, reset: bool, text: str | None = None
               ) -> tuple[np.ndarray, np.ndarray, list]:
    """Boxes (normalised by the frame size) and scores of both backends; `reset` restarts each frame at the
    ground truth so every frame compares a different crop (random weights drift otherwise)."""
    results = []
    for backend in ("pytorch", "onnx"):
        tracker = build_tracker(config, random_weights=True, device="cpu", backend=backend)
        tracker.initialize(frames[0], boxes[0], text=text)
        out = []
        for frame, gt in zip(frames[1:], boxes[1:]):
            if reset:
                tracker.tracker.state = [float(v) for v in gt]
            out.append(tracker.track(frame))
        results.append(out)
    scale = np.array([SIZE[0], SIZE[1], SIZE[0], SIZE[1]], dtype=np.float64)
    torch_boxes, onnx_boxes = (np.array([box for box, _ in r]) / scale for r in results)
    return torch_boxes, onnx_boxes, results


def test_onnx_and_pytorch_give_the_same_boxes(sequence):
    frames, boxes = sequence
    for reset in (True, False):
        torch_boxes, onnx_boxes, results = track_both("tiny", frames, boxes, reset)
        np.testing.assert_allclose(onnx_boxes, torch_boxes, atol=TOL)
        np.testing.assert_allclose([s for _, s in results[1]], [s for _, s in results[0]], atol=TOL)
    assert np.ptp(torch_boxes[:, 0]) > 0  # the boxes move: the comparison is not between constants


def test_onnx_rgbx_language_and_template_update(tmp_path, repo_root, sequence):
    """6-channel input, the text-token graph and two templates (one updated) give PyTorch's boxes too."""
    frames, boxes = sequence
    config = tiny_yaml(tmp_path, repo_root, DATA={"MULTI_MODAL_VISION": True, "MULTI_MODAL_LANGUAGE": True},
                       TEST={"NUM_TEMPLATES": 2, "UPDATE_INTERVALS": {"DEFAULT": 2},
                             "UPDATE_THRESHOLD": {"DEFAULT": 0.0}, "MULTI_MODAL_LANGUAGE": {"DEFAULT": True},
                             "USE_NLP": {"DEFAULT": True}})
    torch_boxes, onnx_boxes, _ = track_both(config, frames[:6], boxes[:6], reset=True, text="the astronaut")
    np.testing.assert_allclose(onnx_boxes, torch_boxes, atol=TOL)
    folder = ob.cache_dir(parameters(config, random_weights=True))
    assert {p.name for p in folder.glob("*.onnx")} == {"template.onnx", "step.onnx", "step_text.onnx"}


def test_graphs_are_cached_and_backend_comes_from_the_config(tmp_path, repo_root, sequence, monkeypatch):
    frames, boxes = sequence
    config = tiny_yaml(tmp_path, repo_root, TEST={"BACKEND": "onnx"})
    first = build_tracker(config, random_weights=True, device="cpu")  # backend from TEST.BACKEND
    assert isinstance(first.tracker.network, OnnxNetwork)
    first.initialize(frames[0], boxes[0])
    expected = first.track(frames[1])

    def no_export(*args, **kwargs):
        raise AssertionError("the cached graphs should have been used")

    monkeypatch.setattr(ob, "export_graphs", no_export)
    again = build_tracker(config, random_weights=True, device="cpu")
    again.initialize(frames[0], boxes[0])
    assert again.track(frames[1]) == expected
    other_seed = parameters(config, random_weights=True, seed=1)
    assert ob.cache_dir(other_seed) != ob.cache_dir(again.params)  # other weights, other cache entry
    with pytest.raises(FileNotFoundError, match="does not exist"):
        build_tracker(config, random_weights=True, device="cpu", onnx_dir=tmp_path / "missing")


@pytest.mark.parametrize(("backend", "graph"), [("onnx_int8", "step.onnx"),
                                              ("openvino_int8", "step.channels_first.onnx")])
def test_int8_backend_is_opt_in_and_stays_near(sequence, backend, graph):
    """An int8 backend quantises only its step graph (static, calibrated); boxes move (flat random maps), not far."""
    frames, boxes = sequence
    tracker = build_tracker("tiny", random_weights=True, device="cpu", backend=backend)
    reference = build_tracker("tiny", random_weights=True, device="cpu")
    deviations = []
    for t in (tracker, reference):
        t.initialize(frames[0], boxes[0])
    for frame, gt in zip(frames[1:], boxes[1:]):
        for t in (tracker, reference):
            t.tracker.state = [float(v) for v in gt]
        (got, score), (want, _) = tracker.track(frame), reference.track(frame)
        assert np.all(np.isfinite(got)) and 0.0 <= score <= 1.0
        deviations.append(np.abs(np.array(got) - np.array(want)) / np.array([*SIZE, *SIZE]))
    assert np.mean(deviations) < 0.05
    folder = tracker.tracker.network.folder
    recipe = int8_recipe(backend)  # '<backend>_vnni' on VNNI / AMX CPUs
    quantised = [p.relative_to(folder).as_posix() for p in folder.glob(f"{recipe}-*/*.onnx")]
    assert [q.split("/")[1] for q in quantised] == [graph]  # the template graph stays fp32
    calibration = graph.removesuffix(".onnx") + ".calibration.txt"
    assert "crops from synthetic" in next(folder.glob(f"{recipe}-*/{calibration}")).read_text()


def test_export_cli_writes_checked_graphs(tmp_path, repo_root, sequence):
    out = tmp_path / "graphs"
    proc = subprocess.run([sys.executable, "tracking/export_onnx.py", "--config", "tiny", "--random_weights",
                           "--out", str(out)], cwd=repo_root, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "onnx.checker passed" in proc.stdout and "max abs difference" in proc.stdout
    for name, inputs in (("template", list(ob.TEMPLATE_INPUTS)), ("step", ob.step_input_names(False))):
        model = onnx.load(str(out / f"{name}.onnx"))
        onnx.checker.check_model(model, full_check=True)
        assert [i.name for i in model.graph.input] == inputs
        assert model.opset_import[0].version >= 17
    assert [o.name for o in onnx.load(str(out / "step.onnx")).graph.output] == list(ob.STEP_OUTPUTS)
    for name in ("template", "step"):  # OpenVINO's form of each graph, same inputs and outputs
        linear, channels_first = (onnx.load(str(ob.graph_file(out, name, form))) for form in ob.FORMS)
        assert [i.name for i in channels_first.graph.input] == [i.name for i in linear.graph.input]
        assert [o.name for o in channels_first.graph.output] == [o.name for o in linear.graph.output]
    frames, boxes = sequence  # the exported folder drives a tracker like the cache does
    tracker = build_tracker("tiny", random_weights=True, device="cpu", backend="onnx", onnx_dir=out)
    reference = build_tracker("tiny", random_weights=True, device="cpu")
    for t in (tracker, reference):
        t.initialize(frames[0], boxes[0])
    np.testing.assert_allclose(tracker.track(frames[1])[0], reference.track(frames[1])[0], atol=TOL * SIZE[0])


def test_profile_model_prints_the_tables(tmp_path, repo_root):
    out = tmp_path / "profile.json"
    proc = subprocess.run([sys.executable, "tracking/profile_model.py", "--config", "tiny", "--iters", "2",
                           "--warmup", "1", "--train_batch", "2", "--threads", "1", "--json", str(out),
                           "--backend", "pytorch,onnx,openvino,openvino_bf16"],
                          cwd=repo_root, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    for text in ("| backbone (search crop) |", "| relation module (+ similarity map) |", "GFLOPs", "CPU flags:",
                 "avx2 ", "avx512f ", "avx512_bf16 ", "full tracker step, pytorch", "full tracker step, onnx",
                 "backbone (search crop), openvino", "| full step / backbone |", "samples/s"):
        assert text in proc.stdout, text
    report = json.loads(out.read_text())
    assert report["model"][0]["gflops"] > 0 and report["train"]["samples_per_s"] > 0
    assert "Where eager fp32's full step goes" in proc.stdout  # the time around and after the backbone, by part
    parts = {row[0]: float(row[1]) for row in report["parts"]}
    for part in ("backbone", "relation module (+ similarity map)", "head + window + cal_bbox", "crop", "normalisation"):
        assert part in parts, part
    assert parts["backbone"] > 0 and parts["head + window + cal_bbox"] > 0
    assert {"median_ms", "p90_ms", "fps"} <= set(report["latency"]["backbone (search crop), pytorch"])
    ratios = {r["backend"]: r for r in report["ratios"]}
    assert ratios["pytorch"]["step_over_eager"] == 1.0
    latency = report["latency"]
    step, backbone = (latency[f"{w}, onnx"]["median_ms"] for w in ("full tracker step", "backbone (search crop)"))
    assert ratios["onnx"]["step_over_backbone"] == pytest.approx(step / backbone)
    # OpenVINO's step, by part from its per-node counters: every part of the tiny model runs nodes, and the
    # parts add up to the counted total
    assert "Where openvino's network step goes" in proc.stdout and "kernels: " in proc.stdout
    graph = report["graph_parts"]["openvino"]
    by_part = {part: ms for part, ms, _ in graph["parts"]}
    assert set(by_part) == {"backbone", "projection", "relation module (+ similarity map, tokens)", "head",
                            "window, cal_bbox, layout changes"}
    assert all(by_part[p] > 0 for p in ("backbone", "projection", "relation module (+ similarity map, tokens)", "head"))
    assert sum(by_part.values()) == pytest.approx(graph["total_ms"])
    assert sum(pct for *_, pct in graph["kernels"]) == pytest.approx(100.0)
    assert "onnx" not in report["graph_parts"]  # ONNX Runtime has no such counters here
    assert "fp32 floor at the layers' shapes" in proc.stdout  # the dense layers at torch.mm's speed on their shapes
    assert sum(2 * m * k * n * c for m, k, n, c in report["dense_layer_shapes"]) <= report["model"][4]["gflops"] * 1e9
    if report["info"]["cpu_flags"]["avx512_bf16"] or report["info"]["cpu_flags"]["amx_bf16"]:
        assert "openvino_bf16" in ratios
    else:  # no native bf16: the backend says why it does not run rather than run f32 under its name
        assert "openvino_bf16" in report["skipped"] and "backend openvino_bf16: not run here" in proc.stdout


def test_graph_nodes_are_given_to_the_part_their_module_path_names(repo_root):
    """Node names as the exporter writes them (and as OpenVINO keeps them, with its layout changes named
    after the node they follow) -> the step's parts."""
    part = load_script("tracking/profile_model.py").graph_part
    expected = {
        "/encoder/body/stages.0/downsample_layers.0/Conv/WithoutBiases": "backbone",
        "/encoder/body/stages.2/layers.8/Conv_1/WithoutBiases": "backbone",
        "/encoder/body/stages.0/layers.2/activation_fn/Mul_1_output_0_QuantizeLinear": "backbone",
        "/encoder/neck/neck.1/Conv/WithoutBiases": "projection",
        "/encoder/neck/neck.1/Conv/WithoutBiases_acdb_abcd_/encoder/Reshape": "projection",
        "/encoder/blocks.1/attn/qkv/Add": "relation module (+ similarity map, tokens)",
        "/encoder/MatMul": "relation module (+ similarity map, tokens)",
        "/encoder/norm/Add": "relation module (+ similarity map, tokens)",
        "/decoder/score/score.0/score.0.0/Conv/WithoutBiases": "head",
        "/Concat_1_abcd_acdb_/decoder/score/score.0/score.0.0/Conv/WithoutBiases": "window, cal_bbox, layout changes",
        "/Mul_2": "window, cal_bbox, layout changes",
        "search": "window, cal_bbox, layout changes",
    }
    assert {name: part(name) for name in expected} == expected


def test_dense_layer_shapes_of_the_tiny_step_match_the_hand_count():
    """The profiler's shape-aware floor times the matrix products the step runs: for tiny.yaml (search 128 /
    template 64 at stride 16, widths 24-48-96, depths 1-1-2, EMBED_DIM 96, 2 relation blocks with MLP 2x,
    CENTER head of 64 channels) they are counted here by hand from the architecture."""
    import torch

    from lib.test.tracker.sutrack_dinov3 import build_network

    profile_model = load_script("tracking/profile_model.py")
    params = parameters("tiny", random_weights=True)
    network = build_network(params).eval()
    search, template = torch.randn(1, 3, 128, 128), torch.randn(1, 3, 64, 64)
    with torch.inference_mode():
        cache = network.encode_template([template], [torch.tensor([[0.25, 0.25, 0.5, 0.5]])])
    shapes, depthwise = profile_model.dense_layer_shapes(network, lambda: network.track_step(search, cache))
    tokens = 8 * 8 + 4 * 4  # relation module: search + template tokens
    expected = {
        (32 * 32, 3 * 4 * 4, 24): 1,  # stem, 4x4 stride 4
        (32 * 32, 24, 96): 1, (32 * 32, 96, 24): 1,  # stage 1 block: pointwise 24 -> 96 -> 24
        (16 * 16, 24 * 2 * 2, 48): 1, (16 * 16, 48, 192): 1, (16 * 16, 192, 48): 1,  # stage 2
        (8 * 8, 48 * 2 * 2, 96): 1, (8 * 8, 96, 384): 2, (8 * 8, 384, 96): 2,  # stage 3, two blocks
        (8 * 8, 96, 96): 1,  # projection to EMBED_DIM
        (tokens, 96, 3 * 96): 2, (tokens, 96, 96): 2, (tokens, 96, 192): 2, (tokens, 192, 96): 2,  # relation
        (8 * 8, 98 * 9, 64): 3, (8 * 8, 64 * 9, 32): 3, (8 * 8, 32 * 9, 16): 3, (8 * 8, 16 * 9, 8): 3,  # towers
        (8 * 8, 8, 1): 1, (8 * 8, 8, 2): 2,  # score, size and offset outputs
    }
    assert shapes == expected
    assert depthwise == 2 * 7 * 7 * (32 * 32 * 24 + 16 * 16 * 48 + 2 * 8 * 8 * 96)
