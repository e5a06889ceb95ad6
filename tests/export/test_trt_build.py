"""TensorRT engine building against a fake ``tensorrt`` module: profiles, flags, timing cache, errors.

(No TensorRT or GPU here: this checks the plumbing against the documented API names only.)
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.export import fake_tensorrt
from vps.export.contracts import ModelGeometry, contracts_for
from vps.export.trt_build import TIMING_CACHE, BuildSettings, build_engine, require_tensorrt
from vps.runtime.backends.base import BackendUnavailableError
from vps.train.checkpoint import load_for_inference

pytestmark = pytest.mark.xdist_group("vps_export")  # one worker exports the shared fixture once


@pytest.fixture()
def contracts(tiny_checkpoint: Path) -> tuple:
    model, _, _ = load_for_inference(tiny_checkpoint)
    return contracts_for(ModelGeometry.from_model(model))


@pytest.mark.parametrize("precision", ["fp32", "fp16", "int8"])
def test_build_engine_profiles_flags_and_timing_cache(onnx_export: Path, tmp_path: Path, contracts: tuple,
                                                      precision: str) -> None:
    trt = fake_tensorrt.make()
    denoiser = contracts[2]
    profiles = denoiser.profiles((1, 2, 4), (32, 64))
    cache = tmp_path / TIMING_CACHE
    settings = BuildSettings(precision, 1 << 30, cache)
    info = build_engine(trt, onnx_export / "denoiser.onnx", tmp_path / "denoiser.engine", profiles, settings)
    builder = fake_tensorrt.Builder.instances[-1]
    config, network = builder.config, builder.network
    assert config.profiles[0].shapes["x_t"] == ((1, 16, 16, 32), (2, 16, 16, 32), (4, 16, 16, 32))
    assert set(config.profiles[0].shapes) == {"x_t", "ctx0", "ctx1", "gamma"}
    assert config.profiles[0].shapes["gamma"] == ((1,), (2,), (4,))
    assert config.pools == {"WORKSPACE": 1 << 30}
    if precision == "fp32":
        assert network.flags == 0 and "TF32" not in config.flags
    else:  # strongly typed: the ONNX types are the precision, no precision flags
        assert network.flags == 1 << 1 and not {"FP16", "INT8"} & config.flags
    assert (tmp_path / "denoiser.engine").read_bytes().startswith(b"ENGINE:x_t")
    assert cache.read_bytes().startswith(b"CACHE:") and not info["timing_cache_reused"]
    info = build_engine(trt, onnx_export / "denoiser.onnx", tmp_path / "denoiser.engine", profiles, settings)
    assert info["timing_cache_reused"] and fake_tensorrt.Builder.instances[-1].config.created_cache_from


def test_parser_failure_is_one_readable_error(onnx_export: Path, tmp_path: Path, contracts: tuple) -> None:
    trt = fake_tensorrt.make()
    fake_tensorrt.OnnxParser.fail_with = "In node 3 (Unique): UNSUPPORTED_NODE\nmore detail"
    with pytest.raises(RuntimeError, match=r"encoder.onnx: the TensorRT ONNX parser failed .*Unique.*check"):
        build_engine(trt, onnx_export / "encoder.onnx", tmp_path / "e.engine",
                     contracts[0].profiles((1, 1, 2), (32, 64)), BuildSettings("fp32"))


def test_missing_profile_is_refused(onnx_export: Path, tmp_path: Path, contracts: tuple) -> None:
    with pytest.raises(ValueError, match="no shape profile"):
        build_engine(fake_tensorrt.make(), onnx_export / "denoiser.onnx", tmp_path / "d.engine",
                     contracts[0].profiles((1, 1, 2), (32, 64)), BuildSettings("fp16"))


def test_require_tensorrt_version_and_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    monkeypatch.setitem(sys.modules, "tensorrt", fake_tensorrt.make("8.6.1"))
    with pytest.raises(BackendUnavailableError, match="TensorRT 8.6.1 is too old"):
        require_tensorrt()
    monkeypatch.setitem(sys.modules, "tensorrt", fake_tensorrt.make("10.3.0"))
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda *a: (8, 7))
    trt, capability = require_tensorrt()
    assert trt.__version__ == "10.3.0" and capability == "8.7"
