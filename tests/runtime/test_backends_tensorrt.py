"""TensorRT backend against the strict fake ``tensorrt`` and a CPU CUDA double (no GPU here).

The fake engines are the handmade graphs' contracts (``tiny_manifest``): shapes follow the inputs, every
enqueue really reads its inputs at their addresses and writes ``out[b] = sum_i mean(input_i[b])``, and
every documented failure value can be forced, so each check of the backend is exercised.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from tests.export import fake_tensorrt
from tests.runtime.fake_cuda import FakeCudaOps, aligned_empty
from tests.runtime.test_backends import tiny_manifest
from vps.runtime.backends.base import BackendUnavailableError
from vps.runtime.backends.tensorrt import TensorRTBackend, TrtGraph, check_engine_compat, import_tensorrt
from vps.runtime.manifest import Manifest

VERSION = "10.3.0"


def _profile(dims: tuple, lo: int, hi: int, hw: tuple[int, int] = (16, 24)) -> list[list[int]]:
    def at(batch: int) -> list[int]:
        out = []
        for d in dims:
            axis, _, div = str(d).partition("/")
            out.append(batch if d == "batch" else d if isinstance(d, int)
                       else hw[axis == "width"] // int(div or 1))
        return out

    return [at(lo), at(lo), at(hi)]


def engines(tmp_path: Path, version: str = VERSION, **make: object) -> tuple[Manifest, Path, object]:
    """The handmade graphs as fake engines (batch 1..4 at 16x24) and a manifest listing them."""
    folder = tmp_path / "art"
    manifest = tiny_manifest(folder)
    trt = fake_tensorrt.make(version, manifest.graphs, ops=make.get("ops"))
    graphs = []
    for g in manifest.graphs:
        ins = [(t.name, t.shape, t.dtype) for t in g.inputs]
        outs = [(t.name, t.shape, t.dtype) for t in g.outputs]
        profile = {t.name: _profile(t.shape, 1, 4) for t in g.inputs}
        plan = fake_tensorrt.plan_bytes(trt.state, g.name, ins, outs, profile)
        (folder / f"{g.name}.engine").write_bytes(plan)
        graphs.append(replace(g, engine="trt", file=f"{g.name}.engine"))
    manifest = replace(manifest, graphs=tuple(graphs), versions={"tensorrt": version},
                       compute_capability="9.0")
    return manifest, folder, trt


@pytest.fixture()
def setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[TensorRTBackend, object, FakeCudaOps]:
    ops = FakeCudaOps()
    manifest, folder, trt = engines(tmp_path, ops=ops)
    monkeypatch.setitem(sys.modules, "tensorrt", trt)
    return TensorRTBackend(manifest, folder, ops=ops), trt, ops


def _rand(*shape: int) -> torch.Tensor:
    t = aligned_empty(shape, torch.float32)
    return t.copy_(torch.randn(shape))


def _means(*tensors: torch.Tensor) -> torch.Tensor:
    return sum(t.reshape(t.shape[0], -1).double().mean(1) for t in tensors).float()


def test_calls_run_on_the_backends_own_stream_ordered_with_the_caller(setup: tuple) -> None:
    backend, trt, ops = setup
    image = _rand(2, 3, 16, 24)
    (feats,) = backend.run("encoder", image)
    assert feats.shape == (2, 4, 8, 12)
    torch.testing.assert_close(feats[:, 0, 0, 0], _means(image))  # the engine read the image's address
    own = backend.stream
    assert own.handle != 0 and trt.state.default_stream_syncs == 0
    assert [c.enqueues for c in trt.state.contexts] == [[own.handle], [], [], []]
    waits = [e for e in ops.timeline if e[0] == "wait"]
    assert waits == [("wait", own, ops.default), ("wait", ops.default, own)]


def test_every_failure_value_is_one_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ops = FakeCudaOps()
    manifest, folder, trt = engines(tmp_path, ops=ops)
    monkeypatch.setitem(sys.modules, "tensorrt", trt)
    trt.state.fail.add("create_execution_context")
    with pytest.raises(RuntimeError, match="^encoder: TensorRT could not create an execution context"):
        TensorRTBackend(manifest, folder, ops=ops)
    trt.state.fail.clear()
    backend = TensorRTBackend(manifest, folder, ops=ops)
    cases = {"set_input_shape": r"^encoder.image: TensorRT refused shape \(1, 3, 16, 24\)",
             "set_tensor_address": r"^encoder.image: TensorRT set_tensor_address\(0x[0-9a-f]+\) failed",
             "execute_async_v3": r"^encoder: TensorRT execute_async_v3 failed"}
    for call, message in cases.items():
        trt.state.fail = {call}
        with pytest.raises((RuntimeError, ValueError), match=message) as e:
            backend.run("encoder", _rand(1, 3, 16, 24))
        assert "\n" not in str(e.value)
    trt.state.fail = set()
    trt.state.fail.add("deserialize_cuda_engine")
    with pytest.raises(ValueError, match="encoder: TensorRT could not deserialise the engine"):
        TensorRTBackend(manifest, folder, ops=ops)


def test_shapes_outside_the_profile_and_uninferable_outputs(setup: tuple) -> None:
    backend, _, _ = setup
    with pytest.raises(ValueError, match=r"encoder.image: TensorRT refused shape \(5, 3, 16, 24\) .*min "
                                         r"\(1, 3, 16, 24\), max \(4, 3, 16, 24\)"):
        backend.run("encoder", _rand(5, 3, 16, 24))
    ctx = [_rand(2, 8, 8, 12), _rand(2, 8, 4, 6)]
    with pytest.raises(RuntimeError, match=r"denoiser_final.ids: TensorRT cannot infer the output shape"):
        backend.run("denoiser_final", _rand(2, 16, 8, 12), ctx, _rand(1))  # gamma's batch contradicts x_t's


def test_addresses_must_be_256_byte_aligned(setup: tuple) -> None:
    backend, trt, ops = setup
    graph: TrtGraph = backend.graphs["encoder"]
    view = aligned_empty((1 * 3 * 16 * 24 + 1,), torch.float32)[1:].view(1, 3, 16, 24)  # 4 bytes off
    view.copy_(torch.randn(1, 3, 16, 24))
    with pytest.raises(ValueError, match=r"encoder.image: address 0x[0-9a-f]+ is not 256-byte aligned"):
        graph.set_inputs({"image": view})
    # the backend copies it once
    torch.testing.assert_close(backend.run("encoder", view)[0][:, 0, 0, 0], _means(view))


def test_cuda_graphs_capture_per_shape_on_own_contexts_and_bind_context_once_per_frame(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ops = FakeCudaOps()
    manifest, folder, trt = engines(tmp_path, ops=ops)
    monkeypatch.setitem(sys.modules, "tensorrt", trt)
    eager = TensorRTBackend(manifest, folder, ops=ops)
    graphs = TensorRTBackend(manifest, folder, cuda_graph=True, ops=ops)
    for batch in (2, 1, 2):  # two shapes, the first one again
        for _ in range(2):  # frames
            ctx = graphs.run("context", _rand(batch, 32, 8, 12), _rand(batch, 4, 8, 12))
            for _ in range(2):  # denoiser steps
                x_t, gamma, coef = _rand(batch, 16, 8, 12), _rand(batch), _rand(batch, 2)
                torch.testing.assert_close(graphs.run("denoiser_step", x_t, ctx, gamma, coef),
                                           eager.run("denoiser_step", x_t, ctx, gamma, coef))
            torch.testing.assert_close(graphs.run("denoiser_final", x_t, ctx, gamma),
                                       eager.run("denoiser_final", x_t, ctx, gamma))
    step = graphs.steps["denoiser_step"]
    assert len(step) == 2 and len(graphs.steps["denoiser_final"]) == 2
    step_contexts = [c.prepared.state for c in step.captures.values()]
    assert len({id(c) for c in step_contexts}) == 2
    assert graphs.graphs["denoiser_step"].context not in step_contexts
    assert step.copies == {"x_t": 12, "gamma": 12, "coef": 12, "ctx0": 6, "ctx1": 6}  # ctx: once per frame
    assert trt.state.default_stream_syncs == 0


def test_one_logger_for_all_engines(setup: tuple) -> None:
    _, trt, _ = setup
    assert len(trt.state.loggers) == 1


def test_engines_must_match_tensorrt_version_and_gpu(tmp_path: Path) -> None:
    manifest = replace(tiny_manifest(tmp_path), versions={"tensorrt": "10.3.0"}, compute_capability="8.7")
    check_engine_compat(manifest, "10.3.0", "8.7")
    with pytest.raises(ValueError, match="built with TensorRT 10.3.0, this machine has 10.4.0"):
        check_engine_compat(manifest, "10.4.0", "8.7")
    with pytest.raises(ValueError, match="compute capability 8.7, this GPU is 9.0"):
        check_engine_compat(manifest, "10.3.0", "9.0")


def test_tensorrt_11_engines_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ops = FakeCudaOps()
    manifest, folder, trt = engines(tmp_path, "11.1.0", ops=ops)
    monkeypatch.setitem(sys.modules, "tensorrt", trt)
    image = _rand(1, 3, 16, 24)
    backend = TensorRTBackend(manifest, folder, ops=ops)
    torch.testing.assert_close(backend.run("encoder", image)[0][:, 0, 0, 0],
                               _means(image))


def test_import_tensorrt_explains_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "tensorrt", None)
    with pytest.raises(BackendUnavailableError, match=r'pip install "vps-toolkit\[trt\]"') as e:
        import_tensorrt()
    assert "\n" not in str(e.value)


def test_a_failed_enqueue_during_capture_names_the_shapes(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    ops = FakeCudaOps()
    manifest, folder, trt = engines(tmp_path, ops=ops)
    monkeypatch.setitem(sys.modules, "tensorrt", trt)
    backend = TensorRTBackend(manifest, folder, cuda_graph=True, ops=ops)
    ctx = backend.run("context", _rand(1, 32, 8, 12), _rand(1, 4, 8, 12))
    trt.state.fail = {"execute_async_v3"}
    with pytest.raises(RuntimeError, match=r"^denoiser_step: TensorRT execute_async_v3 failed \(CUDA graph "
                                           r"for shapes \(\('coef', \(1, 2\)\), \('ctx0', \(1, 8, 8, 12\)\)"):
        backend.run("denoiser_step", _rand(1, 16, 8, 12), ctx, _rand(1), _rand(1, 2))
