"""vps-export --engine onnx: artifacts, manifest integrity, dynamic batch and input sizes, fp16 graphs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch

from vps.export.cli import main
from vps.export.contracts import ContextContract, ModelGeometry, contracts_for
from vps.export.onnx_export import export_graph
from vps.runtime.backends import open_backend
from vps.runtime.manifest import ManifestError, load_manifest
from vps.train.checkpoint import load_for_inference

pytestmark = pytest.mark.xdist_group("vps_export")  # one worker exports the shared fixture once


def test_export_writes_verified_artifacts(onnx_export: Path) -> None:
    manifest = load_manifest(onnx_export)  # verifies every sha256
    assert [g.name for g in manifest.graphs] == ["encoder", "context", "denoiser_step", "denoiser_final"]
    assert all(g.engine == "onnx" and g.precision == "fp32" for g in manifest.graphs)
    program = manifest.program
    assert program.family == "pix2seq_d" and program.sampler.sampler == "ddim"
    assert program.sampler.cold.steps == 2 and program.sampler.cold.times[0][0] == 1.0
    assert program.sampler.cold.coefficients[-1] == (pytest.approx(1.0), 0.0)  # last move: the x0 estimate
    assert program.input_size == (32, 64) and program.mask_size == (16, 32) and manifest.opset == 18
    assert {"torch", "onnx", "onnxruntime", "vps"} <= set(manifest.versions)
    assert "parity.json" in manifest.files
    assert (program.min_instance_area, program.min_part_area) == (2, 16)  # the checkpoint's post-processing
    step, final = manifest.graph("denoiser_step"), manifest.graph("denoiser_final")
    assert [t.name for t in step.inputs] == ["x_t", "ctx0", "ctx1", "gamma", "coef"]
    assert [t.name for t in final.inputs] == ["x_t", "ctx0", "ctx1", "gamma"]
    assert step.inputs[0].shape == ("batch", 16, "height/2", "width/2") and step.outputs[0].name == "x_next"
    assert final.outputs[0].dtype == "int32" and final.outputs[0].shape == ("batch", "height/2", "width/2")
    assert step.profiles["ctx1"].max == (4, 32, 8, 16)
    parity = json.loads((onnx_export / "parity.json").read_text())
    assert parity["passed"] and parity["closed_loop"]["agreement"] >= 0.995
    assert parity["graphs"]["denoiser_final"]["teacher_forced_agreement"] >= 0.995
    assert parity["graphs"]["denoiser_step"]["rel_err"] <= 1e-3
    assert set(parity["stq"]) == {"torch", "onnxruntime"}
    assert parity["pipeline"]["frame_engine"] == "vps.runtime.Segmenter" and parity["pipeline"]["tracking"]
    assert not list(onnx_export.parent.glob(".tiny.*"))  # no staging leftovers


def test_tampered_graph_is_refused(onnx_export: Path, tmp_path: Path, tiny_checkpoint: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "tampered"
    shutil.copytree(onnx_export, folder)
    data = bytearray((folder / "denoiser_step.onnx").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (folder / "denoiser_step.onnx").write_bytes(bytes(data))
    with pytest.raises(ManifestError, match="denoiser_step.onnx.*sha256"):
        load_manifest(folder)
    with pytest.raises(ManifestError, match="denoiser_step.onnx"):
        open_backend(folder)
    code = main(["--checkpoint", str(tiny_checkpoint), "--out", str(folder), "--verify-only",
                 "--no-progress"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "denoiser_step.onnx" in err and len(err.splitlines()) == 1


def test_dynamic_batch_and_input_size(onnx_export: Path, tiny_checkpoint: Path) -> None:
    # the fused graphs against the host reference of the same step: the module's logits through the kernels'
    # reference twins (bits close; ids equal except where fp32 noise flips a near-tie)
    from vps.kernels.reference import decode_panoptic_reference, expected_bits_reference

    model, _, _ = load_for_inference(tiny_checkpoint)
    enc, ctx, step, final = (ort.InferenceSession(str(onnx_export / f"{n}.onnx"),
                                                  providers=["CPUExecutionProvider"])
                             for n in ("encoder", "context", "denoiser_step", "denoiser_final"))
    gen = torch.Generator().manual_seed(1)
    for batch, hw in ((2, (32, 64)), (1, (48, 96)), (3, (64, 32))):  # other sizes: multiples of 16
        image = torch.randn(batch, 3, *hw, generator=gen)
        feats = enc.run(None, {"image": image.numpy()})[0]
        with torch.no_grad():
            ref = model.encode(image)
        assert feats.shape == (batch, 32, hw[0] // 2, hw[1] // 2)
        np.testing.assert_allclose(feats, ref.numpy(), atol=1e-4)
        cond = np.zeros((batch, 32, hw[0] // 2, hw[1] // 2), np.float32)
        c0, c1 = ctx.run(None, {"cond": cond, "feats": feats})
        x_t = torch.randn(batch, 16, hw[0] // 2, hw[1] // 2, generator=gen).numpy()
        gamma = np.linspace(0.1, 0.9, batch).astype(np.float32)
        coef = np.stack([np.linspace(0.2, 0.9, batch), np.linspace(0.7, 0.1, batch)], 1).astype(np.float32)
        feeds = {"x_t": x_t, "ctx0": c0, "ctx1": c1, "gamma": gamma}
        x_next = step.run(None, {**feeds, "coef": coef})[0]
        ids = final.run(None, feeds)[0]
        with torch.no_grad():
            logits = model.denoise(torch.from_numpy(x_t), torch.from_numpy(cond), torch.from_numpy(feats),
                                   torch.from_numpy(gamma)).numpy()
        want = expected_bits_reference(logits, 0.1) * coef[:, :1, None, None] + x_t * coef[:, 1:, None, None]
        assert x_next.shape == (batch, 16, hw[0] // 2, hw[1] // 2) and ids.dtype == np.int32
        np.testing.assert_allclose(x_next, want, atol=1e-4)
        assert (ids == decode_panoptic_reference(logits)).mean() > 0.999


def test_fp16_graph_keeps_float32_io(tiny_checkpoint: Path, tmp_path: Path) -> None:
    model, _, _ = load_for_inference(tiny_checkpoint)
    contract = ContextContract(ModelGeometry.from_model(model))
    path = export_graph(model, contract, tmp_path / "context.onnx", precision="fp16")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert all(i.type == "tensor(float)" for i in session.get_inputs() + session.get_outputs())
    cond, feats = (t.numpy() for t in contract.sample_inputs(batch=1, hw=(32, 64)))
    out = session.run(None, {"cond": cond, "feats": feats})
    with torch.no_grad():
        ref = model.context(torch.from_numpy(cond), torch.from_numpy(feats))
    for a, b in zip(out, ref, strict=True):
        assert np.abs(a - b.numpy()).max() <= 2e-2 * np.abs(b.numpy()).max()


def test_contract_shapes_and_profiles(tiny_checkpoint: Path) -> None:
    model, _, _ = load_for_inference(tiny_checkpoint)
    geometry = ModelGeometry.from_model(model)
    assert geometry.multiple == 16 and geometry.levels == 2
    encoder, context, step, final = contracts_for(geometry)
    assert encoder.input_shapes(2, (48, 96)) == {"image": (2, 3, 48, 96)}
    assert context.profiles((1, 2, 8), (32, 64))["feats"].opt == (2, 32, 16, 32)
    ins, outs = step.tensor_specs()
    assert outs[0].shape == ("batch", 16, "height/2", "width/2") and ins[2].shape[2] == "height/4"
    assert ins[-1].shape == ("batch", 2) and step.profiles((1, 1, 4), (32, 64))["coef"].max == (4, 2)
    ins, outs = final.tensor_specs()
    assert [t.name for t in ins] == ["x_t", "ctx0", "ctx1", "gamma"] and outs[0].dtype == "int32"
    with pytest.raises(ValueError, match="multiples of 16"):
        geometry.check_size((40, 64))
