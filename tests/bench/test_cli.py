"""``vps-bench`` end to end in-process: tiny checkpoint, torch backend, 3 frames, a 2-step baseline."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.bench.conftest import make_torch_artifacts

pytest.importorskip("vps.runtime.segmenter")

from vps.bench import cli  # noqa: E402

FAST = ["--backend", "torch", "--frames", "3", "--warmup", "1", "--baseline-steps", "2", "--threads", "1",
        "--no-progress"]


def test_end_to_end_with_baseline(torch_artifacts: Path, tiny_checkpoint: Path, tmp_path: Path,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    out, png, md = tmp_path / "bench.json", tmp_path / "bench.png", tmp_path / "bench.md"
    code = cli.main(["--artifacts", str(torch_artifacts), "--checkpoint", str(tiny_checkpoint), *FAST,
                     "--baseline-frames", "2", "--size", "40x72", "--json", str(out), "--plot", str(png),
                     "--markdown", str(md)])
    assert code == 0
    report = json.loads(out.read_text())
    assert report["speedup"] > 0 and isinstance(report["stq_delta"], float)
    d, b = report["deployed"], report["baseline"]
    assert d["frames"] == 3 and b["frames"] == 2 and d["warmup"] == 1
    assert d["info"]["backend"] == "torch" and d["info"]["steps"] == 2 and d["info"]["min_instance_area"] == 2
    for stage in ("preprocess", "encoder", "context", "denoise_0", "denoise_1", "decode", "tracking",
                  "total"):
        assert d["stages"][stage]["count"] == 3
    assert {"denoise_0", "denoise_1", "decode", "tracking", "total"} <= set(b["stages"])  # the same engine
    assert report["clip"]["size"] == [40, 72] and report["clip"]["has_gt"]
    assert report["settings"]["interleave"]["blocks"] == 2
    assert any("baseline ran 2 timed frames" in n for n in report["notes"])
    assert png.read_bytes()[:4] == b"\x89PNG"
    assert report["mode"] == "single" and report["settings"]["artifacts"] == str(torch_artifacts)
    table = md.read_text()  # the comparison tables: the export, then the baseline
    assert "| artifacts | pix2seq_d |" in table and "| baseline | pix2seq_d |" in table
    assert "| 2 (from noise) |" in table
    printed = capsys.readouterr().out
    assert "speed-up" in printed and "deployed [artifacts]" in printed


def test_steps_sweep_reexports_other_counts(torch_artifacts: Path, tiny_checkpoint: Path, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """--steps 1,2: 2 is the artifacts' own count, 1 is re-exported (here by the fixture's writer)."""
    calls: list[int] = []

    def fake_reexport(checkpoint: Path, template: Path, steps: int, out: Path,
                      progress: bool = False) -> Path:
        calls.append(steps)
        return make_torch_artifacts(Path(checkpoint), Path(out), steps, steps)

    monkeypatch.setattr(cli, "reexport", fake_reexport)
    out = tmp_path / "sweep.json"
    code = cli.main(["--artifacts", str(torch_artifacts), "--checkpoint", str(tiny_checkpoint), *FAST,
                     "--no-baseline", "--steps", "1,2", "--json", str(out),
                     "--plot", str(tmp_path / "s.png")])
    assert code == 0 and calls == [1]
    report = json.loads(out.read_text())
    assert [v["info"]["steps"] for v in report["variants"]] == [2, 1]
    assert report["variants"][1]["info"]["reexported"] and report["speedup"] is None
    assert "denoise_1" not in report["variants"][1]["stages"]


@pytest.mark.parametrize("extra, message", [
    (["--frames", "0"], "--frames must be >= 1"),
    ([], "--checkpoint is needed for the baseline"),
    (["--no-baseline", "--steps", "3"], "re-exported from --checkpoint"),
])
def test_bad_arguments_exit_2(torch_artifacts: Path, extra: list[str], message: str,
                              capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--artifacts", str(torch_artifacts), "--no-progress", *extra]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_tampered_or_missing_artifacts_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--artifacts", str(tmp_path / "nope"), "--no-baseline"]) == 2
    assert "manifest.json" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["--artifacts", str(tmp_path), "--steps", "0"])


@pytest.mark.slow
def test_reexport_and_onnxruntime_end_to_end(torch_artifacts: Path, tiny_checkpoint: Path,
                                             tmp_path: Path) -> None:
    """The real path: re-export (vps.export, 1 step) and stream the ONNX graphs through ONNX Runtime."""
    pytest.importorskip("onnxscript")
    from vps.bench.deployed import manifest_steps, reexport

    folder = reexport(tiny_checkpoint, torch_artifacts, 1, tmp_path / "steps1")
    assert manifest_steps(folder) == (1, 1)
    out = tmp_path / "ort.json"
    code = cli.main(["--artifacts", str(folder), "--checkpoint", str(tiny_checkpoint),
                     "--backend", "onnxruntime",
                     "--frames", "2", "--warmup", "1", "--baseline-steps", "1", "--threads", "1",
                     "--no-progress", "--json", str(out)])
    assert code == 0
    report = json.loads(out.read_text())
    d = report["deployed"]
    assert d["info"]["backend"] == "onnxruntime" and d["info"]["engine"] == "onnx"
    assert d["stages"]["denoise_0"]["count"] == 2 and report["baseline"]["frames"] == 2
    assert -1.0 <= report["stq_delta"] <= 1.0 and report["speedup"] > 0
    assert report["versions"]["onnxruntime"] and report["settings"]["threads_resolved"] == 1
