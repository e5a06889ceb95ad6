"""Latency statistics against NumPy on known data."""

from __future__ import annotations

import numpy as np
import pytest

from vps.bench.stats import DENOISE_ALL, StageSeries, summarize, with_denoise_all


def test_percentiles_match_numpy_on_known_data() -> None:
    s = summarize(np.arange(1, 101, dtype=float))  # 1..100 ms
    assert (s.count, s.min, s.max, s.mean) == (100, 1.0, 100.0, 50.5)
    assert s.median == pytest.approx(50.5)
    assert s.p90 == pytest.approx(90.1)
    assert s.p99 == pytest.approx(99.01)
    assert s.fps == pytest.approx(1000 / 50.5)


def test_percentiles_match_numpy_on_random_data() -> None:
    x = np.random.default_rng(0).gamma(2.0, 10.0, size=537)
    s = summarize(list(x))
    np.testing.assert_allclose([s.median, s.p90, s.p99, s.max], np.percentile(x, [50, 90, 99, 100]))
    assert s.to_dict()["p99"] == s.p99


def test_single_sample_and_bad_samples() -> None:
    s = summarize([3.5])
    assert s.median == s.p90 == s.p99 == s.max == 3.5
    for bad in ([], [1.0, float("nan")], [-1.0], [float("inf")]):
        with pytest.raises(ValueError):
            summarize(bad)


def test_stage_series_keeps_order_and_missing_stages() -> None:
    series = StageSeries()
    series.add({"preprocess": 1.0, "denoise_0": 5.0, "denoise_1": 6.0, "total": 12.0})
    series.add({"preprocess": 2.0, "denoise_0": 4.0, "total": 7.0})  # a frame with one step fewer
    assert series.stages == ["preprocess", "denoise_0", "denoise_1", "total"]
    summary = series.summary()
    assert series.frames == 2
    assert summary["denoise_1"].count == 1 and summary["preprocess"].count == 2
    assert summary["total"].median == pytest.approx(9.5)


def test_denoise_all_sums_the_steps_after_the_last_step() -> None:
    t = with_denoise_all({"encoder": 1.0, "denoise_0": 2.0, "denoise_1": 3.0, "decode": 1.0, "total": 7.0})
    assert list(t) == ["encoder", "denoise_0", "denoise_1", DENOISE_ALL, "decode", "total"]
    assert t[DENOISE_ALL] == 5.0
    assert with_denoise_all({"device": 4.0, "total": 5.0}) == {"device": 4.0, "total": 5.0}
