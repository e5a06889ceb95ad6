"""Steps study: seed plan, mean and spread over seeds, table and plot files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vps.train.study import _seed_plan, main, summarize


def _row(label: str, mode: str, steps: int, seed: int, stq: float) -> dict[str, object]:
    return {"label": label, "mode": mode, "steps": steps, "seed": seed, "STQ": stq, "AQ": stq - 0.1,
            "SQ": stq + 0.1}


def test_seed_plan_overrides_one_step_count() -> None:
    assert _seed_plan([1, 8], [0, 1, 2], ["8=0"]) == {1: [0, 1, 2], 8: [0]}


def test_summary_is_mean_and_half_range_over_seeds() -> None:
    rows = [_row("student", "cold", 1, s, v) for s, v in enumerate((0.5, 0.6, 0.55))]
    s = summarize(rows)[("student", "cold", 1)]
    assert s["n"] == 3
    assert s["STQ"] == pytest.approx(0.55) and s["STQ_spread"] == pytest.approx(0.05)
    assert s["SQ"] == pytest.approx(0.65)


def test_table_writes_markdown_and_plot(tmp_path: Path) -> None:
    rows = [_row(lab, mode, n, s, 0.5 + 0.01 * n) for lab in ("teacher", "student")
            for mode in ("cold", "warm")
            for n in (1, 2) for s in (0, 1)]
    (tmp_path / "r.json").write_text(json.dumps(rows))
    assert main(["table", str(tmp_path / "r.json"), "--out", str(tmp_path / "study")]) == 0
    md = (tmp_path / "study.md").read_text()
    assert "| teacher | warm | 2 | 2 | 0.5200 ± 0.0000" in md
    assert (tmp_path / "study.png").stat().st_size > 1000
