"""Memory readers return sane values."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vps.bench import memory


def test_host_rss_readers_are_sane() -> None:
    cur, peak = memory.current_rss_bytes(), memory.peak_rss_bytes()
    assert peak >= 10 * 2**20  # a Python process with numpy holds more than 10 MiB
    if cur is not None:  # /proc present
        assert 10 * 2**20 <= cur <= peak
        assert peak < 2**40


def test_peak_grows_with_a_touched_allocation_and_resets() -> None:
    base = memory.current_rss_bytes()
    if base is None:
        pytest.skip("no /proc/self/status here")
    block = np.ones(64 * 2**20 // 8)  # 64 MiB, written so it is resident
    now = memory.current_rss_bytes()
    assert now is not None and now >= base + 48 * 2**20
    assert memory.peak_rss_bytes() >= now
    del block
    if memory.reset_peak_rss():  # Linux >= 4.0: the peak drops back to the current RSS
        assert memory.peak_rss_bytes() < now


def test_status_parser_and_missing_file(tmp_path: Path) -> None:
    f = tmp_path / "status"
    f.write_text("Name:\tpython\nVmHWM:\t  2048 kB\nVmRSS:\t1024 kB\nThreads:\t3\n")
    assert memory.read_status_kb(f) == {"VmHWM": 2048, "VmRSS": 1024}
    assert memory.read_status_kb(tmp_path / "missing") == {}


def test_device_memory_is_none_without_cuda_and_tracker_records_phases() -> None:
    import torch

    if not torch.cuda.is_available():
        assert memory.device_memory() is None
    tracker = memory.PeakTracker()
    with tracker.phase("a"):
        np.ones(2**20)
    with tracker.phase("b"):
        pass
    with tracker.phase("a"):
        pass
    assert set(tracker.host) == {"a", "b"}
    assert all(v >= 10 * 2**20 for v in tracker.host.values())
