"""TensorRT backend plumbing against a fake ``tensorrt`` module (no GPU here): I/O discovery, shapes,
addresses, profile errors, and the version / compute-capability check at load."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from tests.export import fake_tensorrt
from tests.runtime.test_backends import tiny_manifest
from vps.runtime.backends.base import BackendUnavailableError
from vps.runtime.backends.tensorrt import TrtGraph, check_engine_compat, import_tensorrt


def _graph() -> TrtGraph:
    trt = fake_tensorrt.make()
    return TrtGraph(trt, b"ENGINE", "denoiser", lambda shape, dtype: torch.zeros(shape, dtype=dtype),
                    lambda: 7)


def test_run_sets_shapes_addresses_and_enqueues_on_the_stream() -> None:
    g = _graph()
    assert g.inputs == ["x_t", "gamma"] and g.outputs == ["logits"] and g.dtypes["logits"] == torch.float32
    feeds = {"x_t": torch.zeros(2, 16, 8, 12), "gamma": torch.ones(2)}
    out = g.run(feeds)
    ctx = g.context
    assert ctx.shapes == {"x_t": (2, 16, 8, 12), "gamma": (2,)}
    assert out["logits"].shape == (2, 512, 8, 12)
    assert ctx.addresses == {"x_t": feeds["x_t"].data_ptr(), "gamma": feeds["gamma"].data_ptr(),
                             "logits": out["logits"].data_ptr()}
    assert ctx.executed == [7]


def test_bad_inputs_are_refused_with_the_profile() -> None:
    g = _graph()
    with pytest.raises(ValueError, match=r"outside the engine's profile \(min \(1, 16, 8, 8\), max \(4, 16"):
        g.run({"x_t": torch.zeros(5, 16, 8, 8), "gamma": torch.ones(5)})
    with pytest.raises(ValueError, match="missing inputs"):
        g.run({"x_t": torch.zeros(1, 16, 8, 8)})
    with pytest.raises(ValueError, match="float32"):
        g.run({"x_t": torch.zeros(1, 16, 8, 8, dtype=torch.float16), "gamma": torch.ones(1)})
    with pytest.raises(ValueError, match="could not deserialise"):
        TrtGraph(fake_tensorrt.make(), b"garbage", "encoder", torch.zeros, lambda: 0)


def test_engines_must_match_tensorrt_version_and_gpu(tmp_path: Path) -> None:
    manifest = replace(tiny_manifest(tmp_path), versions={"tensorrt": "10.3.0"}, compute_capability="8.7")
    check_engine_compat(manifest, "10.3.0", "8.7")
    with pytest.raises(ValueError, match="built with TensorRT 10.3.0, this machine has 10.4.0"):
        check_engine_compat(manifest, "10.4.0", "8.7")
    with pytest.raises(ValueError, match="compute capability 8.7, this GPU is 9.0"):
        check_engine_compat(manifest, "10.3.0", "9.0")


def test_import_tensorrt_explains_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "tensorrt", None)
    with pytest.raises(BackendUnavailableError, match=r'pip install "vps-toolkit\[trt\]"') as e:
        import_tensorrt()
    assert "\n" not in str(e.value)
