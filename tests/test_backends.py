"""Backends under one contract: final (windowed) box and score, fp32 runtimes agree with eager, reduced
precision is what it says, int8 calibrates on training crops and is cached, 'auto' picks and caches."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from lib.api import build_tracker
from lib.data.synthetic.writers import synthetic_sequence, write_got10k
from lib.models.sutrack_dinov3.decoder import select_box
from lib.test.parameter.sutrack_dinov3 import parameters
from lib.test.tracker import sutrack_dinov3 as tracker_module
from lib.test.tracker.backends import auto, base, quantize
from lib.test.tracker.backends import onnx_export as ox
from lib.test.tracker.backends.base import BackendUnavailable
from lib.test.tracker.sutrack_dinov3 import build_network, get_backend, tracker_window

SIZE = (160, 120)
CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def sequence():
    return synthetic_sequence(8, size=SIZE, seed=2, box_size=(30, 22))


def tracked(backend: str, frames, boxes, config: str = "tiny") -> np.ndarray:
    """Boxes (normalised by the frame size) of `backend`, each frame restarted at the ground truth."""
    tracker = build_tracker(config, random_weights=True, device="cpu", backend=backend)
    tracker.initialize(frames[0], boxes[0])
    out = []
    for frame, gt in zip(frames[1:], boxes[1:]):
        tracker.tracker.state = [float(v) for v in gt]
        out.append(tracker.track(frame)[0])
    return np.array(out) / np.array([*SIZE, *SIZE])


def test_every_backend_returns_the_final_windowed_box():
    """track_step of a registered backend == select_box(eager head maps, Hann window): window included."""
    params = parameters("tiny", random_weights=True)
    network = build_network(params)
    gen = torch.Generator().manual_seed(3)
    search = torch.randn(1, 3, params.search_size, params.search_size, generator=gen)
    template = torch.randn(1, 3, params.template_size, params.template_size, generator=gen)
    anno = torch.tensor([[0.3, 0.3, 0.4, 0.4]])
    with torch.inference_mode():
        raw = network.track_step(search, network.encode_template([template], [anno]))
    want_box, want_score = select_box(raw, tracker_window(params))
    unwindowed_box, _ = select_box(raw, None)
    assert not torch.allclose(want_box, unwindowed_box)  # the window changes the pick on this crop
    for name in ("pytorch", "onnx", "openvino"):
        backend = get_backend(name)(params, CPU)
        with torch.inference_mode():
            out = backend.track_step(search, backend.encode_template([template], [anno]))
        assert out["pred_boxes"].shape == (1, 1, 4) and out["score"].shape == (1,), name
        torch.testing.assert_close(out["pred_boxes"][:, 0], want_box, atol=1e-4, rtol=0, msg=name)
        torch.testing.assert_close(out["score"], want_score, atol=1e-4, rtol=0, msg=name)


def test_fp32_backends_agree_and_bf16_runs_in_bf16(sequence):
    frames, boxes = sequence
    eager = tracked("pytorch", frames, boxes)
    assert np.ptp(eager[:, 0]) > 0
    for name in ("onnx", "openvino"):
        np.testing.assert_allclose(tracked(name, frames, boxes), eager, atol=1e-3, err_msg=name)
    bf16 = build_tracker("tiny", random_weights=True, device="cpu", backend="pytorch_bf16")
    dtypes = []
    linears = [m for m in bf16.tracker.network.encoder.body.modules() if isinstance(m, torch.nn.Linear)]
    for module in linears:  # the backbone's matrix products: bf16 under autocast
        module.register_forward_hook(lambda m, i, o: dtypes.append(o.dtype))
    bf16.initialize(frames[0], boxes[0])
    box, score = bf16.track(frames[1])
    assert linears and set(dtypes) == {torch.bfloat16} and np.all(np.isfinite(box)) and 0.0 <= score <= 1.0
    deviation = np.abs(tracked("pytorch_bf16", frames, boxes) - eager)
    assert 0 < deviation.max() and deviation.mean() < 0.05  # bf16 moves boxes a little, not far


def test_template_blind_model_on_the_graph_backends(sequence):
    """The ablation without template tokens: its exported step has no foreground input; feeds follow the graph."""
    frames, boxes = sequence
    eager = tracked("pytorch", frames[:4], boxes[:4], "tiny_template_blind")
    for name in ("onnx", "openvino"):
        np.testing.assert_allclose(tracked(name, frames[:4], boxes[:4], "tiny_template_blind"), eager, atol=1e-3,
                                   err_msg=name)


def test_openvino_bf16_only_where_the_cpu_has_it(monkeypatch):
    monkeypatch.setattr(base, "cpu_flags", lambda: dict.fromkeys(base.CPU_FLAGS, False) | {"avx2": True})
    from lib.test.tracker.backends import openvino_backend

    monkeypatch.setattr(openvino_backend, "cpu_flags", base.cpu_flags)
    monkeypatch.setattr(openvino_backend, "native_bf16", lambda: False)
    with pytest.raises(BackendUnavailable, match="avx512_bf16 or AMX .*this one has: avx2"):
        build_tracker("tiny", random_weights=True, device="cpu", backend="openvino_bf16")


def test_int8_calibrates_on_training_crops_and_is_cached(tmp_path, monkeypatch, sequence):
    """With a GOT-10k train split configured, calibration crops come from it; the quantised IR is reused."""
    write_got10k(tmp_path / "got10k", "train", n_sequences=2, n_frames=6)
    monkeypatch.setenv("SUTRACK_GOT10K_DIR", str(tmp_path / "got10k"))
    params = parameters("tiny", random_weights=True)
    source, samples = quantize.calibration_crops(params, n=4)
    assert source == "GOT10K_train_full" and len(samples) == 4
    assert samples[0]["search_images"].shape[-1] == params.cfg.DATA.SEARCH.SIZE
    frames, boxes = sequence
    tracker = build_tracker("tiny", random_weights=True, device="cpu", backend="onnx_int8")
    tracker.initialize(frames[0], boxes[0])
    box, score = tracker.track(frames[1])
    assert np.all(np.isfinite(box)) and 0.0 <= score <= 1.0
    folder = tracker.tracker.network.folder
    (graph,) = folder.glob("onnx_int8-*/step.onnx")
    assert "crops from GOT10K_train_full" in graph.with_name("step.calibration.txt").read_text()
    # the recipe: linear layers give float outputs (no QuantizeLinear right after a MatMul / Gemm, so ONNX
    # Runtime fuses GELU), convolutions stay quantised end to end (QLinearConv)
    import onnx

    model = onnx.load(str(graph))
    produced_by = {out: node.op_type for node in model.graph.node for out in node.output}
    requantised = [n.name for n in model.graph.node
                   if n.op_type == "QuantizeLinear" and produced_by.get(n.input[0]) in ("MatMul", "Gemm")]
    assert not requantised, f"linear outputs quantised: {requantised[:3]}"
    conv_outputs_quantised = [produced_by.get(n.input[0]) == "Conv" for n in model.graph.node
                              if n.op_type == "QuantizeLinear"]
    assert any(conv_outputs_quantised)
    import onnxruntime.quantization

    monkeypatch.setattr(onnxruntime.quantization, "quantize_static",
                        lambda *a, **k: pytest.fail("the cached int8 graph should be reused"))
    build_tracker("tiny", random_weights=True, device="cpu", backend="onnx_int8")


def test_cache_key_follows_the_checkpoint(tmp_path):
    """Exports (and the int8 copies beside them) are keyed by the checkpoint's contents."""
    ckpt = tmp_path / "w.pth.tar"
    torch.save({"net": build_network(parameters("tiny", random_weights=True, seed=0)).state_dict()}, ckpt)
    first = ox.cache_dir(parameters("tiny", checkpoint=ckpt))
    assert first == ox.cache_dir(parameters("tiny", checkpoint=ckpt))
    torch.save({"net": build_network(parameters("tiny", random_weights=True, seed=1)).state_dict()}, ckpt)
    assert ox.cache_dir(parameters("tiny", checkpoint=ckpt)) != first


def test_auto_picks_an_agreeing_backend_and_caches_the_choice(monkeypatch, capsys):
    tracker = build_tracker("tiny", random_weights=True, device="cpu")  # TEST.BACKEND defaults to auto
    choice = tracker.tracker.network.auto_choice
    assert f"backend auto: picked '{choice}'" in capsys.readouterr().out
    record = json.loads((ox.cache_dir(tracker.params) / "auto.json").read_text())
    assert record["choice"] == choice and record["machine"] == auto.machine_key()
    ok = {n: e for n, e in record["report"].items() if "out" not in e}
    assert choice == min(ok, key=lambda n: ok[n]["median_ms"])
    assert all(e["max_box_diff"] <= auto.AGREEMENT for e in ok.values())
    monkeypatch.setattr(auto, "measure", lambda *a, **k: pytest.fail("the cached choice should be used"))
    assert build_tracker("tiny", random_weights=True, device="cpu").tracker.network.auto_choice == choice


def test_auto_leaves_out_a_backend_whose_boxes_differ(monkeypatch):
    """A fast backend that shifts boxes by 1% of the crop is measured but never picked."""
    def shifted(params, device):
        network = get_backend("pytorch")(params, device)
        step = network.track_step

        def track_step(search, cache, text=None):
            out = step(search, cache, text)
            return {"pred_boxes": out["pred_boxes"] + 0.01, "score": out["score"]}
        network.track_step = track_step
        return network

    monkeypatch.setitem(tracker_module.BACKENDS, "shifted", shifted)
    report = auto.measure(parameters("tiny", random_weights=True), CPU, candidates=("pytorch", "shifted"))
    assert report["pytorch"]["max_box_diff"] == 0.0 and "out" not in report["pytorch"]
    assert report["shifted"]["max_box_diff"] > auto.AGREEMENT and "boxes differ" in report["shifted"]["out"]


def test_onnxruntime_threads_spin_only_on_free_cores_and_stop_after_each_run(monkeypatch):
    """Pool threads spin during a run when they fit in the process's cores, sleep otherwise, and never spin
    on after a run (they would take the cores from the tracker's own work between frames)."""
    from lib.test.tracker.backends import onnxruntime_backend as ortb

    monkeypatch.setattr(ortb, "usable_cores", lambda: 2)
    fits, oversubscribed = ortb.session_options(2), ortb.session_options(3)
    assert fits.get_session_config_entry("session.intra_op.allow_spinning") == "1"
    assert oversubscribed.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    assert fits.get_session_config_entry("session.force_spinning_stop") == "1"
    assert base.usable_cores() >= 1


@pytest.mark.parametrize(("vnni", "bf16"), [(False, False), (True, False), (True, True)])
def test_openvino_int8_recipe_follows_the_cpu_class(sequence, monkeypatch, vnni, bf16):
    """Its recipe: every ConvNeXt product is a 1x1 convolution in the channels-first graph, quantised; the
    head's convolutions stay float; the relation module's linear layers (Gemm after pre-processing) are
    quantised only on CPUs with int8 dot products (VNNI / AMX), where OpenVINO's int8 matrix products pay off,
    and the attention's products of two activations never are. The float layers run in bf16 where the CPU
    computes it natively. OpenVINO compiles and tracks with it."""
    import onnx

    from lib.test.tracker.backends import backend_revision

    monkeypatch.setattr(base, "has_vnni", lambda: vnni)
    monkeypatch.setattr(base, "native_bf16", lambda: bf16)
    frames, boxes = sequence
    tracker = build_tracker("tiny", random_weights=True, device="cpu", backend="openvino_int8")
    network = tracker.tracker.network
    path = network.graph_path("step")
    recipe = "openvino_int8_vnni" if vnni else "openvino_int8"
    assert path.name == "step.channels_first.onnx" and path.parent.name.startswith(f"{recipe}-v")
    assert ("VNNI variant" in backend_revision("openvino_int8")) == vnni
    assert ("float layers in bf16" in backend_revision("openvino_int8")) == bf16
    assert network.config()["INFERENCE_PRECISION_HINT"] == ("bf16" if bf16 else "f32")
    assert backend_revision("onnx_int8") == f"int8 recipe v{quantize.QUANT_VERSION}"  # the same on both classes
    model = onnx.load(str(path))
    produced_by = {out: node.op_type for node in model.graph.node for out in node.output}

    def weight_sources(op: str, scope: str) -> list[str | None]:
        return [produced_by.get(n.input[1]) for n in model.graph.node if n.op_type == op and scope in n.name]

    backbone, head = weight_sources("Conv", "/body/"), weight_sources("Conv", "/decoder/")
    assert len(backbone) >= 10 and set(backbone) == {"DequantizeLinear"}
    assert head and "DequantizeLinear" not in head
    linear = weight_sources("Gemm", "/encoder/blocks")  # qkv, proj, fc1, fc2 of each relation block
    assert len(linear) == 4 * 2
    assert set(linear) == {"DequantizeLinear"} if vnni else "DequantizeLinear" not in linear
    attention = [produced_by.get(i) for n in model.graph.node if n.op_type == "MatMul" and "/attn/" in n.name
                 for i in n.input[:2]]
    assert attention and "DequantizeLinear" not in attention
    tracker.initialize(frames[0], boxes[0])
    box, score = tracker.track(frames[1])
    assert np.all(np.isfinite(box)) and 0.0 <= score <= 1.0
