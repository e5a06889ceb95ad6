"""The compute floor: FLOPs counted from the graphs, the measured MatMul peak, and the report block."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.runtime.test_backends import tiny_manifest
from vps.bench.floor import floor_report, graph_flops, matmul_peak_gflops, stage_flops
from vps.bench.stats import summarize


def test_flops_of_the_handmade_graphs(tmp_path: Path) -> None:
    folder = tmp_path / "art"
    manifest = tiny_manifest(folder)  # input 16x24, mask 8x12
    # encoder: Conv 3 -> 4 channels, 2x2 kernel, stride 2: 2 * (4 * 8 * 12 outputs) * (3 * 2 * 2)
    assert graph_flops(folder / "encoder.onnx", {"image": (1, 3, 16, 24)}) == 2 * 4 * 8 * 12 * 12
    stages = stage_flops(folder, manifest)
    assert list(stages) == ["encoder", "context", "denoise_0"]  # the warm plan: one (final) call
    assert stages["context"] == 2 * 8 * 8 * 12 * 36  # 1x1 conv, 36 -> 8 channels
    assert stages["denoise_0"] == 2 * 32 * 8 * 12 * 24  # the final graph's 1x1 conv, 24 -> 32 channels


def test_floor_report_and_peak() -> None:
    report = floor_report({"encoder": 2e9, "denoise_0": 6e9}, peak_gflops=200.0,
                          medians_ms={"encoder": 20.0, "denoise_0": 40.0, "total": 80.0})
    assert report["floor_ms"] == pytest.approx(40.0) and report["ratio_to_floor"] == pytest.approx(2.0)
    assert report["achieved_gflops"] == pytest.approx(100.0)
    assert report["stages"]["encoder"]["ratio_to_floor"] == pytest.approx(2.0)
    assert matmul_peak_gflops(1, sizes=(64,), repeats=2) > 0


def test_percentile_keys_people_search_for() -> None:
    d = summarize([1.0, 2.0, 3.0, 4.0, 5.0]).to_dict()
    assert d["p50"] == d["median"] == 3.0 and {"p90", "p99", "max"} <= set(d)


def test_floor_refuses_a_family_it_does_not_know(tmp_path: Path) -> None:
    from dataclasses import replace

    folder = tmp_path / "art"
    manifest = tiny_manifest(folder)
    other = replace(manifest, program=replace(manifest.program, family="kmax_deeplab"))
    with pytest.raises(ValueError, match="'kmax_deeplab'"):
        stage_flops(folder, other)
