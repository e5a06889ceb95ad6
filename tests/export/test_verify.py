"""Verification runs the engine that ships: identical results on PyTorch and ONNX Runtime with the same
noise, the plans are the training sampler's steps, and a perturbed graph or a perturbed post-processing
twin makes it fail."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
import torch
from onnx import numpy_helper

from vps.export.cli import main
from vps.export.verify_data import synthetic_clips
from vps.model.checkpoint import load_for_inference
from vps.model.samplers import DDIMSampler
from vps.runtime.backends import open_backend
from vps.runtime.backends.torch import TorchBackend
from vps.runtime.manifest import Manifest, load_manifest, write_manifest
from vps.runtime.segmenter import Segmenter

pytestmark = pytest.mark.xdist_group("vps_export")  # one worker exports the shared fixture once


def _images(manifest: Manifest, n: int = 3) -> list[np.ndarray]:
    return list(synthetic_clips(1, n, manifest.program.input_size, seed=7)[0].images)


class LastStep:
    """Engine hook keeping the last denoiser step's output (the next sample) as a NumPy array."""

    def __init__(self, backend: Any) -> None:
        self.backend, self.value = backend, None

    def __call__(self, graph: str, inputs: tuple[Any, ...], out: list[Any]) -> None:
        if graph == "denoiser_step":
            self.value = self.backend.to_numpy(out[0])


@pytest.mark.parametrize("warm", [False, True])
def test_engine_identical_on_torch_and_onnxruntime(onnx_export: Path, tiny_checkpoint: Path,
                                                    warm: bool) -> None:
    manifest = load_manifest(onnx_export)
    model, _, _ = load_for_inference(tiny_checkpoint)
    backends = (TorchBackend(model), open_backend(onnx_export, manifest=manifest, threads=1))
    hooks = [LastStep(be) for be in backends]
    engines = [Segmenter(manifest.program, be, seed=3, warm_start=warm, rgb=True, hooks=[h])
               for be, h in zip(backends, hooks, strict=True)]
    for image in _images(manifest):
        torch_res, ort_res = (e.step(image) for e in engines)
        np.testing.assert_array_equal(torch_res.panoptic, ort_res.panoptic)
        np.testing.assert_array_equal(torch_res.track_ids, ort_res.track_ids)
        if hooks[0].value is not None:  # a warm frame runs one (final) call only
            np.testing.assert_allclose(hooks[0].value, hooks[1].value, atol=1e-4)
        assert torch_res.warm_start == ort_res.warm_start
    assert engines[1].state.carry.prev_bits.shape == (2, 16, 16, 32)


def test_frame_plans_are_the_training_samplers_steps(onnx_export: Path, tiny_checkpoint: Path) -> None:
    """A cold frame's first step is DDIMSampler.step of the x0 estimate, with the sampler's own gammas."""
    from vps.kernels import expected_bits

    manifest = load_manifest(onnx_export)
    model, config, _ = load_for_inference(tiny_checkpoint)
    sampler = DDIMSampler(model.schedule, td=config.diffusion.td)
    calls: list[tuple[Any, ...]] = []
    engine = Segmenter(manifest.program, TorchBackend(model), seed=5, warm_start=False, rgb=True,
                       hooks=[lambda g, inputs, out: calls.append((g, inputs, out))])
    engine.step(_images(manifest, 1)[0])
    (_, (x0_in, ctx, g0, _), (x1_in,)), (_, (x1_seen, _, g1), _) = [c for c in calls if "denoiser" in c[0]]
    (t_now, t_next), (t_second, _) = sampler.set_timesteps(manifest.program.sampler.cold.steps)
    assert float(g0[0]) == pytest.approx(sampler.gamma(t_now), rel=1e-6)
    assert float(g1[0]) == pytest.approx(sampler.gamma(t_second), rel=1e-6)
    with torch.no_grad():
        logits = model.denoise_step(x0_in, list(ctx), g0)
    want = sampler.step(expected_bits(logits, model.layout.scale).float(), t_now, t_next, x0_in)
    torch.testing.assert_close(x1_in, want, rtol=0, atol=1e-6)
    assert x1_seen is x1_in  # the step's output is the next call's input


def test_verification_fails_on_perturbed_graph(onnx_export: Path, tiny_checkpoint: Path, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "perturbed"
    shutil.copytree(onnx_export, folder)
    model = onnx.load(str(folder / "encoder.onnx"))
    conv_weights = [t for t in model.graph.initializer if len(t.dims) == 4]
    w = numpy_helper.to_array(conv_weights[-1])
    perturbed = numpy_helper.from_array((w * 3.0 + 0.5).astype(np.float32), conv_weights[-1].name)
    conv_weights[-1].CopyFrom(perturbed)
    onnx.save(model, str(folder / "encoder.onnx"))
    write_manifest(folder, load_manifest(folder, verify=False))  # re-hash: the folder is "valid" again
    code = main(["--checkpoint", str(tiny_checkpoint), "--out", str(folder), "--verify-only",
                 "--verify-clips", "1", "--verify-frames", "1", "--threads", "1", "--no-progress"])
    captured = capsys.readouterr()
    parity = json.loads((folder / "parity.json").read_text())
    assert code == 1 and not parity["passed"] and parity["diverged"] == "encoder"
    assert "encoder graph diverged" in captured.err and "FAILED" in captured.out
    assert not parity["graphs"]["encoder"]["passed"]
    load_manifest(folder)  # the re-written manifest lists the new parity.json and still verifies


def test_verification_fails_on_a_perturbed_postprocessing_twin(onnx_export: Path, tiny_checkpoint: Path,
                                                              tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    # verification runs the shipped engine: a bug in the NumPy path of the post-processing (what the
    # artifacts run; the reference runs the torch path) fails it, though every graph is exact
    import vps.runtime.segmenter as engine

    original = engine.postprocess_panoptic

    def off_by_one(pan: Any, *args: Any, **kwargs: Any) -> Any:
        out = original(pan, *args, **kwargs)
        return np.roll(out, 1, axis=-1) if isinstance(out, np.ndarray) else out

    folder = tmp_path / "copy"
    shutil.copytree(onnx_export, folder)
    monkeypatch.setattr(engine, "postprocess_panoptic", off_by_one)
    code = main(["--checkpoint", str(tiny_checkpoint), "--out", str(folder), "--verify-only",
                 "--verify-clips", "1", "--verify-frames", "3", "--threads", "1", "--no-progress"])
    parity = json.loads((folder / "parity.json").read_text())
    assert code == 1 and not parity["passed"] and parity["diverged"] == "closed loop"
    assert all(g["passed"] for g in parity["graphs"].values())  # the graphs themselves are fine
    assert parity["pipeline"]["frame_engine"] == "vps.runtime.Segmenter"
    assert "post-processing" in capsys.readouterr().err
    monkeypatch.setattr(engine, "postprocess_panoptic", original)
    assert main(["--checkpoint", str(tiny_checkpoint), "--out", str(folder), "--verify-only",
                 "--verify-clips", "1", "--verify-frames", "3", "--threads", "1", "--no-progress"]) == 0


def test_verification_fails_on_a_perturbed_fused_head(onnx_export: Path, tiny_checkpoint: Path,
                                                      tmp_path: Path) -> None:
    # the bit expectation inside the step graph reads the wrong bit for class values: the graph diverges
    folder = tmp_path / "head"
    shutil.copytree(onnx_export, folder)
    model = onnx.load(str(folder / "denoiser_step.onnx"))
    (weights,) = [t for t in model.graph.initializer if t.name == "head.w_class"]
    w = numpy_helper.to_array(weights).copy()  # [32 class values, 8 bits + the normaliser]
    w[:, [0, 1]] = w[:, [1, 0]]  # bits 0 and 1 of the class byte swapped
    weights.CopyFrom(numpy_helper.from_array(w, weights.name))
    onnx.save(model, str(folder / "denoiser_step.onnx"))
    write_manifest(folder, load_manifest(folder, verify=False))
    code = main(["--checkpoint", str(tiny_checkpoint), "--out", str(folder), "--verify-only",
                 "--verify-clips", "1", "--verify-frames", "1", "--threads", "1", "--no-progress"])
    parity = json.loads((folder / "parity.json").read_text())
    assert code == 1 and parity["diverged"] == "denoiser_step"
    assert not parity["graphs"]["denoiser_step"]["passed"] and parity["graphs"]["encoder"]["passed"]


def test_int8_export_below_the_agreement_threshold_is_refused(tiny_checkpoint: Path, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    # the refusal path of an int8 build: with the threshold above what int8 reaches, exit 1 naming the graph
    from vps.export import parity

    monkeypatch.setitem(parity.TOLERANCES, "int8", parity.Tolerance(agreement=0.99999, rel_err=0.25))
    out = tmp_path / "int8"
    code = main(["--checkpoint", str(tiny_checkpoint), "--out", str(out), "--precision", "int8",
                 "--verify-clips", "1", "--verify-frames", "2", "--threads", "1", "--no-progress"])
    parity_json = json.loads((out / "parity.json").read_text())
    assert code == 1 and not parity_json["passed"] and parity_json["precision"] == "int8"
    assert parity_json["diverged"] in ("denoiser_step", "denoiser_final", "closed loop")
    assert "do not deploy" in capsys.readouterr().err
    assert parity_json["stq_change"] is not None


def test_one_step_int8_export_leaves_the_uncalled_step_graph_in_float(tiny_checkpoint: Path,
                                                                      tmp_path: Path) -> None:
    # a 1-step plan never calls denoiser_step, so calibration records nothing for it: it stays fp32 while
    # denoiser_final (the one call per frame) is quantized
    import onnx

    out = tmp_path / "int8_1step"
    code = main(["--checkpoint", str(tiny_checkpoint), "--out", str(out), "--precision", "int8",
                 "--steps", "1", "--verify-clips", "1", "--verify-frames", "2", "--threads", "1",
                 "--no-progress"])
    assert code in (0, 1) and (out / "parity.json").is_file()
    ops = {name: {n.op_type for n in onnx.load(str(out / f"{name}.onnx")).graph.node}
           for name in ("denoiser_step", "denoiser_final")}
    assert "DequantizeLinear" not in ops["denoiser_step"] and "DequantizeLinear" in ops["denoiser_final"]
