"""Report JSON schema, printed table and plot file (from handmade lane results; no pipeline runs)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from vps.bench.plot import plot_report
from vps.bench.report import build_report, format_table, lane_summary, versions, write_json
from vps.bench.stats import StageSeries, with_denoise_all

STAT_KEYS = {"count", "mean", "median", "p50", "p90", "p99", "max", "min"}


def lane(total: float, steps: int, stq: float, frames: int = 5) -> dict[str, Any]:
    series = StageSeries()
    for k in range(frames):
        t = {"preprocess": 0.5, "encoder": 2.0, **{f"denoise_{i}": 1.0 for i in range(steps)}, "decode": 0.5}
        t["total"] = total + k
        series.add(with_denoise_all(t))
    scores = {"STQ": stq, "AQ": stq, "SQ": stq}
    return {"frames": frames, "warmup": 1, "stages": series.to_dict(), "stq": scores, "stq_common": scores,
            "memory": {"host_peak_rss_bytes": 300 * 2**20, "device": None}}


def deployed_info(steps: int, label: str = "artifacts") -> dict[str, Any]:
    return {"kind": "deployed", "label": label, "backend": "onnxruntime", "device": "cpu", "engine": "onnx",
            "precision": "fp32", "steps": steps, "warm_steps": steps, "warm_start": True, "reexported": False}


BASE_INFO = {"kind": "baseline", "label": "baseline", "device": "cpu", "precision": "fp32", "steps": 100,
             "warm_start": False}


def make_report() -> dict[str, Any]:
    variants = [lane_summary(lane(10.0, 2, 0.30), deployed_info(2)),
                lane_summary(lane(20.0, 4, 0.32), deployed_info(4, "steps=4"))]
    base = lane_summary(lane(1000.0, 100, 0.31, frames=3), BASE_INFO)
    return build_report(variants, 0, base, {"frames": 5, "threads_resolved": 2}, {"frames": 5}, ["a note"])


def test_report_schema_and_ratios(tmp_path: Path) -> None:
    report = json.loads(write_json(make_report(), tmp_path / "r.json").read_text())
    for key in ("speedup", "stq_delta", "deployed", "variants", "baseline", "machine", "versions", "settings",
                "clip", "notes"):
        assert key in report
    d = report["deployed"]
    assert report["speedup"] == pytest.approx(1001.0 / 12.0)  # medians of 1000..1002 and 10..14
    assert report["stq_delta"] == pytest.approx(0.30 - 0.31)
    assert report["variants"][1]["speedup"] == pytest.approx(1001.0 / 22.0)
    for name in ("preprocess", "encoder", "denoise_0", "denoise_1", "denoise_all", "decode", "total"):
        assert set(d["stages"][name]) == STAT_KEYS
    assert d["fps"] == pytest.approx(1000 / 12.0)
    assert {"cpu_model", "cpu_cores", "gpu"} <= set(report["machine"])
    assert report["machine"]["cpu_cores"] >= 1
    assert {"python", "numpy", "onnxruntime", "torch", "tensorrt"} <= set(report["versions"])
    assert report["versions"]["numpy"] and report["settings"]["threads_resolved"] == 2


def test_without_baseline_ratios_are_null() -> None:
    report = build_report([lane_summary(lane(10.0, 2, 0.3), deployed_info(2))], 0, None, {}, {}, [])
    assert report["speedup"] is None and report["stq_delta"] is None and report["baseline"] is None
    assert "speed-up" not in format_table(report)


def test_table_shortens_long_step_runs() -> None:
    text = format_table(make_report())
    assert "denoise_0" in text and "denoise_99" in text and "denoise_50 " not in text
    assert "98 more denoiser steps" in text
    assert "speed-up 83.4x" in text and "STQ change -0.0100" in text and "note: a note" in text


def test_plot_file_is_written(tmp_path: Path) -> None:
    path = plot_report(make_report(), tmp_path / "sub" / "plot.png")
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
    single = build_report([lane_summary(lane(10.0, 1, 0.3), deployed_info(1))], 0, None, {}, {}, [])
    assert plot_report(single, tmp_path / "one.png").stat().st_size > 0


def test_versions_do_not_import_tensorrt() -> None:
    import sys

    v = versions()
    assert v["python"].count(".") == 2
    assert "tensorrt" not in sys.modules or v["tensorrt"] is not None
