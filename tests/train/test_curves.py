"""Training-curve plot from vps-train logs (single run and stages concatenated)."""

from __future__ import annotations

from pathlib import Path

import pytest

from vps.train.curves import main, read_log

HEADER = "step,loss,lr,grad_norm,time_s,steps_per_s,STQ,AQ,SQ\n"


def test_single_run_and_stages(tmp_path: Path) -> None:
    single = tmp_path / "log.csv"
    single.write_text(HEADER + "10,2.0,1e-4,1,1,1,,,\n20,1.0,1e-4,1,2,1,,,\n20,,,,2,,0.5,0.4,0.6\n")
    c = read_log(single)
    assert c.loss == [(10, 2.0), (20, 1.0)] and c.stq == [(20, 0.5, 0.4, 0.6)] and c.stage_starts == []
    staged = tmp_path / "all.csv"
    rows = ["1,10,2.0,,,,,,,", "1,20,1.5,,,,,0.2,0.1,0.4", "2,10,1.0,,,,,,,", "2,20,0.5,,,,,0.3,0.2,0.5"]
    staged.write_text("stage," + HEADER + "\n".join(rows) + "\n")
    c = read_log(staged)
    assert [s for s, _ in c.loss] == [10, 20, 30, 40]  # stage 2 continues the axis
    assert c.stage_starts == [(0, "1"), (20, "2")] and [p[0] for p in c.stq] == [20, 40]
    out = tmp_path / "curves.png"
    assert main([str(staged), "--out", str(out)]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not list(tmp_path.glob(".*.tmp"))


def test_bad_logs_exit_2_naming_the_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    assert main([str(bad), "--out", str(tmp_path / "x.png")]) == 2
    assert "bad.csv" in capsys.readouterr().err
    broken = tmp_path / "broken.csv"
    broken.write_text(HEADER + "ten,1.0,,,,,,,\n")
    with pytest.raises(ValueError, match=r"broken.csv:2"):
        read_log(broken)
    assert main([str(tmp_path / "missing.csv"), "--out", str(tmp_path / "x.png")]) == 2
