"""Verification: the shared host loop gives identical results on PyTorch and ONNX Runtime with the same
noise, matches the training code's sampler, and catches a deliberately perturbed graph."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from onnx import numpy_helper

from vps.export.cli import main
from vps.export.verify_data import synthetic_clips
from vps.model.inference import sample
from vps.model.samplers import DDIMSampler
from vps.runtime.backends import open_backend
from vps.runtime.backends.torch import TorchBackend
from vps.runtime.frames import prepare_frame
from vps.runtime.manifest import Manifest, load_manifest, write_manifest
from vps.runtime.sampling import SamplingLoop, StepPlan, run_denoiser
from vps.train.checkpoint import load_for_inference

pytestmark = pytest.mark.xdist_group("vps_export")  # one worker exports the shared fixture once


def _frames(manifest: Manifest, n: int = 3) -> list[np.ndarray]:
    clip = synthetic_clips(1, n, manifest.input_size, seed=7)[0]
    return [prepare_frame(im, manifest.input_size, manifest.mean, manifest.std, rgb=True)[0]
            for im in clip.images]


@pytest.mark.parametrize("warm", [False, True])
def test_sampling_loop_identical_on_torch_and_onnxruntime(onnx_export: Path, tiny_checkpoint: Path,
                                                          warm: bool) -> None:
    manifest = load_manifest(onnx_export)
    model, _, _ = load_for_inference(tiny_checkpoint)
    loops = [SamplingLoop(be, manifest.sampler, manifest.layout, seed=3, warm_start=warm)
             for be in (TorchBackend(model), open_backend(onnx_export, manifest=manifest, threads=1))]
    for x in _frames(manifest):
        torch_ids, ort_ids = (loop.step(x) for loop in loops)
        np.testing.assert_array_equal(torch_ids, ort_ids)
        logits = [loops[0].backend.to_numpy(loops[0].last_logits), loops[1].last_logits]
        np.testing.assert_allclose(logits[0], logits[1], atol=1e-4)
    assert loops[1].prev[0].shape == (1, 16, 32)


def test_host_loop_matches_training_sampler(onnx_export: Path, tiny_checkpoint: Path) -> None:
    """Same noise: the host loop on the torch backend == vps.model.inference.sample, bit for bit."""
    manifest = load_manifest(onnx_export)
    model, config, _ = load_for_inference(tiny_checkpoint)
    sampler = DDIMSampler(model.schedule, td=config.diffusion.td)
    backend = TorchBackend(model)
    with torch.no_grad():
        feats = model.encode(torch.from_numpy(_frames(manifest, 1)[0]))
        cond = torch.zeros(1, 32, 16, 32)
        ref = sample(model, feats, cond, sampler, 2, generator=torch.Generator().manual_seed(5))
        noise = torch.randn((1, 16, 16, 32), generator=torch.Generator().manual_seed(5))
        ours = run_denoiser(backend, feats, cond, StepPlan.from_schedule(manifest.sampler), noise, 0.1)
        torch.testing.assert_close(ours, ref, rtol=0, atol=0)
        x_init = torch.full((1, 16, 16, 32), 0.1)  # warm start from clean bits
        s = manifest.sampler
        ref_w = sample(model, feats, cond, sampler, len(s.warm_steps), x_init=x_init,
                       generator=torch.Generator().manual_seed(5), start_time=s.warm_start_time)
        ours_w = run_denoiser(backend, feats, cond, StepPlan.from_schedule(s, warm=True), noise, 0.1,
                              x_init=x_init)
        torch.testing.assert_close(ours_w, ref_w, rtol=0, atol=0)


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
