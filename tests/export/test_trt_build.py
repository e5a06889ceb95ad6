"""TensorRT engine building against a fake ``tensorrt`` module: profiles, flags, timing cache, errors.

(No TensorRT or GPU here: the fake validates arguments and returns the documented failure values.)
"""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace

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
    trt = fake_tensorrt.make(graphs=contracts)
    denoiser = contracts[2]
    profiles = denoiser.profiles((1, 2, 4), (32, 64))
    cache = tmp_path / TIMING_CACHE
    settings = BuildSettings(precision, 1 << 30, cache)
    step, engine = onnx_export / "denoiser_step.onnx", tmp_path / "denoiser_step.engine"
    info = build_engine(trt, step, engine, profiles, settings)
    builder = trt.state.builders[-1]
    config, network = builder.config, builder.network
    assert config.profiles[0].shapes["x_t"] == ((1, 16, 16, 32), (2, 16, 16, 32), (4, 16, 16, 32))
    assert set(config.profiles[0].shapes) == {"x_t", "ctx0", "ctx1", "gamma", "coef"}
    assert config.profiles[0].shapes["gamma"] == ((1,), (2,), (4,))
    assert config.pools == {"WORKSPACE": 1 << 30}
    if precision == "fp32":
        assert network.flags == 0 and "TF32" not in config.flags
    else:  # strongly typed: the ONNX types are the precision, no precision flags
        assert network.flags == 1 << 1 and not {"FP16", "INT8"} & config.flags
    assert (tmp_path / "denoiser_step.engine").read_bytes().startswith(fake_tensorrt.PLAN_MAGIC)
    assert cache.read_bytes().startswith(b"FAKECACHE:") and info["timing_cache"] == "new"
    info = build_engine(trt, step, engine, profiles, settings)
    assert info["timing_cache_reused"] and trt.state.builders[-1].config.created_cache_from


def test_parser_failure_is_one_readable_error(onnx_export: Path, tmp_path: Path, contracts: tuple) -> None:
    trt = fake_tensorrt.make(graphs=contracts)
    fake_tensorrt.OnnxParser.fail_with = "In node 3 (Unique): UNSUPPORTED_NODE\nmore detail"
    with pytest.raises(RuntimeError, match=r"encoder.onnx: the TensorRT ONNX parser failed .*Unique.*check"):
        build_engine(trt, onnx_export / "encoder.onnx", tmp_path / "e.engine",
                     contracts[0].profiles((1, 1, 2), (32, 64)), BuildSettings("fp32"))


def test_missing_profile_is_refused(onnx_export: Path, tmp_path: Path, contracts: tuple) -> None:
    with pytest.raises(ValueError, match="no shape profile"):
        build_engine(fake_tensorrt.make(graphs=contracts), onnx_export / "denoiser_step.onnx",
                     tmp_path / "d.engine", contracts[0].profiles((1, 1, 2), (32, 64)), BuildSettings("fp16"))


def test_require_tensorrt_version_and_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    monkeypatch.setitem(sys.modules, "tensorrt", fake_tensorrt.make("8.6.1"))
    with pytest.raises(BackendUnavailableError, match="TensorRT 8.6.1 is not supported"):
        require_tensorrt()
    monkeypatch.setitem(sys.modules, "tensorrt", fake_tensorrt.make("12.0.0"))  # untested major: refused
    with pytest.raises(BackendUnavailableError, match=r"TensorRT 12.0.0 is not supported \(need 10.x or 11"):
        require_tensorrt()
    monkeypatch.setitem(sys.modules, "tensorrt", fake_tensorrt.make("10.3.0"))
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda *a: (8, 7))
    trt, capability = require_tensorrt()
    assert trt.__version__ == "10.3.0" and capability == "8.7"


def _build(trt, onnx_export: Path, out: Path, contracts: tuple, precision: str = "fp16",
           cache: Path | None = None) -> dict:
    denoiser = contracts[2]
    return build_engine(trt, onnx_export / "denoiser_step.onnx", out / "denoiser_step.engine",
                        denoiser.profiles((1, 2, 4), (32, 64)), BuildSettings(precision, 1 << 30, cache))


def test_timing_cache_from_another_gpu_is_replaced_not_a_crash(onnx_export: Path, tmp_path: Path,
                                                               contracts: tuple) -> None:
    cache = tmp_path / TIMING_CACHE
    _build(fake_tensorrt.make(graphs=contracts, device="GPU-0 sm86"), onnx_export, tmp_path, contracts,
           cache=cache)
    assert b"sm86" in cache.read_bytes()
    other = fake_tensorrt.make(graphs=contracts, device="GPU-0 sm90")  # the folder re-exported elsewhere
    info = _build(other, onnx_export, tmp_path, contracts, cache=cache)
    assert info["timing_cache"] == "rejected" and info["timing_cache_saved"]
    assert b"sm90" in cache.read_bytes()  # the fresh cache of this GPU replaced the foreign one
    assert _build(other, onnx_export, tmp_path, contracts, cache=cache)["timing_cache"] == "reused"


def test_refused_profile_is_one_clear_error(onnx_export: Path, tmp_path: Path, contracts: tuple) -> None:
    trt = fake_tensorrt.make(graphs=contracts)
    trt.state.fail.add("add_optimization_profile")  # documented failure value: -1
    with pytest.raises(RuntimeError, match=r"denoiser_step.onnx: TensorRT refused the optimisation profile "
                                           r"\(add_optimization_profile returned -1"):
        _build(trt, onnx_export, tmp_path, contracts)
    bad = {**contracts[2].profiles((1, 2, 4), (32, 64))}
    bad["gamma"] = SimpleNamespace(min=(4,), opt=(2,), max=(1,))  # min > max: set_shape raises ValueError
    with pytest.raises(ValueError,
                       match=r"denoiser_step.onnx.gamma: TensorRT refused the profile min \(4,\)"):
        build_engine(fake_tensorrt.make(graphs=contracts), onnx_export / "denoiser_step.onnx",
                     tmp_path / "d.engine", bad, BuildSettings("fp32"))


def test_one_logger_for_every_build(onnx_export: Path, tmp_path: Path, contracts: tuple) -> None:
    trt = fake_tensorrt.make(graphs=contracts)
    for c in contracts:
        build_engine(trt, onnx_export / f"{c.name}.onnx", tmp_path / f"{c.name}.engine",
                     c.profiles((1, 1, 2), (32, 64)), BuildSettings("fp32"))
    assert len(trt.state.loggers) == 1 and {id(b.logger) for b in trt.state.builders} == {
        id(trt.state.loggers[0])}


@pytest.mark.parametrize("precision", ["fp32", "fp16", "int8"])
def test_tensorrt_11_is_strongly_typed_without_precision_flags(onnx_export: Path, tmp_path: Path,
                                                               contracts: tuple, precision: str) -> None:
    trt = fake_tensorrt.make("11.1.0", graphs=contracts)  # no BuilderFlag.FP16/INT8 in 11.x
    info = _build(trt, onnx_export, tmp_path, contracts, precision)
    config = trt.state.builders[-1].config
    assert info["strongly_typed"] and trt.state.builders[-1].network.strongly_typed
    assert config.flags <= {"TF32"} and ("TF32" not in config.flags) == (precision == "fp32")


def test_trt_extra_pins_the_supported_majors(repo_root: Path) -> None:
    import tomllib

    extras = tomllib.loads((repo_root / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert extras["trt"] == ["tensorrt>=10.0,<12"]
