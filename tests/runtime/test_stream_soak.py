"""The soak script (benchmarks/stream_soak.py) at a short length, so it keeps working; the 10,000-frame run
is a manual benchmark (see its docstring)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.scripts import load_script

REPO = Path(__file__).resolve().parents[2]


def test_short_soak_passes_its_checks(tmp_path: Path) -> None:
    soak = load_script("benchmarks/stream_soak.py", "stream_soak")
    out = tmp_path / "soak.json"
    assert soak.main(["--frames", "300", "--fault-every", "100", "--warmup", "0", "--json", str(out)]) == 0
    figures = json.loads(out.read_text())
    assert figures["violations"] == {} and figures["tracks_on_void_frames"] == 0
    assert figures["reported_faults"]["black"] == figures["injected"]["black"] == 6
    assert [f[0] for f in figures["folders"]] == ["drive_a", "drive_a_part01", "drive_b"]
