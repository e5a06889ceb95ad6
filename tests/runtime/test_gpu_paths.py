"""The CUDA paths on a real GPU (marked ``gpu``: skipped without CUDA; run by benchmarks/gpu_check.py).

The CUDA-graph mechanism with torch, the TensorRT backend on engines built here from the handmade graphs
(eager and CUDA-graph replay against ONNX Runtime on the CPU), and ONNX Runtime's CUDA provider.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from tests.runtime.test_backends import tiny_manifest
from tests.runtime.test_backends_tensorrt import _profile
from vps.runtime.backends import open_backend
from vps.runtime.backends.cuda_graph import GraphCache, Prepared, TorchCudaOps
from vps.runtime.manifest import ShapeProfile

pytestmark = pytest.mark.gpu


def _inputs(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {"image": rng.normal(size=(2, 3, 16, 24)).astype(np.float32),
            "cond": rng.normal(size=(2, 32, 8, 12)).astype(np.float32),
            "x_t": rng.normal(size=(2, 16, 8, 12)).astype(np.float32),
            "gamma": np.array([0.3, 0.8], np.float32),
            "coef": np.array([[0.6, 0.4], [1.0, 0.0]], np.float32)}


def _run(backend: Any, a: dict[str, np.ndarray], steps: int = 3) -> list[np.ndarray]:
    (feats,) = backend.run("encoder", backend.asarray(a["image"]))
    ctx = backend.run("context", backend.asarray(a["cond"]), feats)
    out = [backend.to_numpy(feats), *(backend.to_numpy(c) for c in ctx)]
    x_t, gamma, coef = (backend.asarray(a[k]) for k in ("x_t", "gamma", "coef"))
    for _ in range(steps):  # the same step repeated: replay must give the same result every time
        out.append(backend.to_numpy(backend.run("denoiser_step", x_t, ctx, gamma, coef)[0]))
        out.append(backend.to_numpy(backend.run("denoiser_final", x_t, ctx, gamma)[0]))
    return out


def test_graph_cache_captures_and_replays_on_cuda() -> None:
    ops = TorchCudaOps()

    def setup(key: Any, feeds: Any) -> Prepared:
        inputs = {n: torch.empty_like(t) for n, t in feeds.items()}
        return Prepared(inputs, lambda _: {"y": 2 * inputs["x"] + inputs["ctx"]})

    cache = GraphCache(setup, ops, per_frame=("ctx",))
    ctx = torch.randn(4, 8, device="cuda")
    for step in range(3):
        x = torch.full((4, 8), float(step), device="cuda")
        torch.testing.assert_close(cache.run("k", {"x": x, "ctx": ctx})["y"].clone(), 2 * x + ctx)
    assert cache.copies == {"x": 3, "ctx": 1}


def test_tensorrt_backend_matches_onnxruntime(tmp_path: Path) -> None:
    trt = pytest.importorskip("tensorrt")
    from vps.export.trt_build import BuildSettings, build_engine
    from vps.runtime.backends.tensorrt import TensorRTBackend, cuda_capability

    folder = tmp_path / "art"
    manifest = tiny_manifest(folder)
    graphs = []
    for g in manifest.graphs:
        profiles = {t.name: ShapeProfile(*(tuple(s) for s in _profile(t.shape, 1, 4))) for t in g.inputs}
        build_engine(trt, folder / g.file, folder / f"{g.name}.engine", profiles,
                     BuildSettings("fp32", 1 << 28, folder / "timing.cache"))
        graphs.append(replace(g, engine="trt", file=f"{g.name}.engine"))
    trt_manifest = replace(manifest, graphs=tuple(graphs), versions={"tensorrt": str(trt.__version__)},
                           compute_capability=cuda_capability())
    reference = _run(open_backend(folder, manifest=manifest), _inputs())
    for cuda_graph in (False, True):
        got = _run(TensorRTBackend(trt_manifest, folder, cuda_graph=cuda_graph), _inputs())
        for r, g in zip(reference, got, strict=True):
            np.testing.assert_allclose(g, r, rtol=1e-3, atol=1e-3)


def test_onnxruntime_cuda_provider_matches_the_cpu(tmp_path: Path) -> None:
    import onnxruntime

    if "CUDAExecutionProvider" not in onnxruntime.get_available_providers():
        pytest.skip("onnxruntime-gpu is not installed")
    folder = tmp_path / "art"
    tiny_manifest(folder)
    cuda = open_backend(folder, device="cuda")
    assert all(p[0] == "CUDAExecutionProvider" for p in cuda.session_providers.values())
    for r, g in zip(_run(open_backend(folder), _inputs()), _run(cuda, _inputs()), strict=True):
        np.testing.assert_allclose(g, r, rtol=1e-3, atol=1e-3)
