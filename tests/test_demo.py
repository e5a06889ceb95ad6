"""``make demo`` end to end at a tiny size: synthetic clip -> export of the shipped checkpoint -> vps-run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vps import demo
from vps.viz import count_frames

CHECKPOINT = Path(__file__).resolve().parents[1] / demo.DEFAULT_CHECKPOINT


@pytest.mark.slow
def test_demo_full_loop(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    if not CHECKPOINT.is_file():
        pytest.skip(f"shipped checkpoint {CHECKPOINT} not present")
    out = tmp_path / "demo"
    assert demo.main(["--out", str(out), "--checkpoint", str(CHECKPOINT), "--frames", "3", "--size", "48x160",
                      "--verify-frames", "1"]) == 0
    text = capsys.readouterr().out
    assert "PASSED: parity OK" in text and "STQ" in text and "median ms per frame" in text
    assert (out / "export" / "manifest.json").is_file()
    assert len(list((out / "predictions" / "panoptic_maps" / "val" / "0000").glob("*.png"))) == 3
    summary = json.loads((out / "predictions" / "run.json").read_text())
    assert summary["frames"] == 3 and 0.0 <= summary["metrics"]["STQ"] <= 1.0
    assert count_frames(out / "overlay.mp4") == 3 and count_frames(out / "comparison.mp4") == 3


def test_demo_without_checkpoint_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert demo.main(["--out", str(tmp_path), "--checkpoint", str(tmp_path / "none.pt")]) == 2
    assert "not found" in capsys.readouterr().err
