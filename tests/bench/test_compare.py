"""``vps-bench`` with several export folders: one interleaved session, one table, whatever the family.

End to end with two tiny random Pix2Seq-D exports (1 and 2 steps; torch backend, placeholder graphs, see
``conftest.py``), and the tables / plot on handmade lanes of a family with other stages and no step plan.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tests.bench.conftest import make_torch_artifacts
from tests.bench.test_report import lane
from vps.bench import cli
from vps.bench.compare import compare_markdown, format_compare, lane_labels, stage_order, summary_table
from vps.bench.deployed import _plan_info
from vps.bench.plot import plot_compare
from vps.bench.report import build_report, lane_summary
from vps.bench.stats import StageSeries

FAST = ["--backend", "torch", "--frames", "3", "--warmup", "1", "--threads", "1", "--size", "40x72",
        "--no-progress"]


@pytest.fixture(scope="module")
def two_exports(tiny_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The same tiny checkpoint exported at 2 steps and at 1 step, each manifest naming the checkpoint."""
    root = tmp_path_factory.mktemp("compare")
    return (make_torch_artifacts(tiny_checkpoint, root / "two", 2, 2, record_checkpoint=True),
            make_torch_artifacts(tiny_checkpoint, root / "one", 1, 1, record_checkpoint=True))


def test_two_exports_in_one_session(two_exports: tuple[Path, Path], tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    a, b = two_exports
    out, md, png = tmp_path / "cmp.json", tmp_path / "cmp.md", tmp_path / "cmp.png"
    code = cli.main(["--artifacts", str(a), "--artifacts", str(b), *FAST, "--json", str(out),
                     "--markdown", str(md), "--plot", str(png)])
    assert code == 0
    report = json.loads(out.read_text())
    assert report["mode"] == "compare" and report["baseline"] is None and report["speedup"] is None
    lanes = report["variants"]
    assert [v["info"]["label"] for v in lanes] == ["two", "one"]
    assert [v["info"]["steps"] for v in lanes] == [2, 1]
    assert {v["info"]["family"] for v in lanes} == {"pix2seq_d"}
    for v in lanes:
        assert v["frames"] == 3 and v["stages"]["total"]["count"] == 3 and 0.0 <= v["stq"]["STQ"] <= 1.0
        assert v["memory"]["host_peak_rss_bytes"] > 0 and v["info"]["graph_bytes"] > 0
    assert "denoise_1" in lanes[0]["stages"] and "denoise_1" not in lanes[1]["stages"]
    assert report["settings"]["interleave"]["blocks"] == 3 and report["settings"]["artifacts"] == [str(a),
                                                                                                 str(b)]
    printed = capsys.readouterr().out
    assert "export" in printed and "stage (median / p99 ms)" in printed
    table = md.read_text()
    assert "| export | family | preset | precision | steps | STQ | AQ | SQ |" in table
    assert "| two | pix2seq_d |" in table and "| one | pix2seq_d |" in table
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_several_folders_after_one_flag(two_exports: tuple[Path, Path]) -> None:
    a, b = two_exports
    args = cli.build_parser().parse_args(["--artifacts", str(a), str(b), "--artifacts", str(a)])
    assert args.artifacts == [a, b, a]
    assert lane_labels(args.artifacts) == ["two", "one", "two (2)"]


def test_labels_of_folders_with_the_same_name_use_their_parent(tmp_path: Path) -> None:
    folders = [tmp_path / "teacher" / "int8", tmp_path / "student" / "int8", tmp_path / "fp32"]
    assert lane_labels(folders) == ["teacher/int8", "student/int8", "fp32"]


@pytest.mark.parametrize("extra, message", [
    (["--checkpoint", "x.pt"], "--checkpoint applies to one --artifacts folder"),
    (["--steps", "1,4"], "--steps applies to one --artifacts folder"),
    (["--frames", "0"], "--frames must be >= 1"),
])
def test_single_folder_options_exit_2(two_exports: tuple[Path, Path], extra: list[str], message: str,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    a, b = two_exports
    assert cli.main(["--artifacts", str(a), str(b), "--no-progress", *extra]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_exports_of_other_classes_exit_2(two_exports: tuple[Path, Path], tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    from vps.data.meta import CITYSCAPES
    from vps.runtime.manifest import load_manifest, write_manifest

    a, _ = two_exports
    other = tmp_path / "cityscapes"
    shutil.copytree(a, other)
    m = load_manifest(other)
    write_manifest(other, replace(m, program=replace(m.program, meta=CITYSCAPES)))
    assert cli.main(["--artifacts", str(a), str(other), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"vps-bench: error: --artifacts {other}: its classes") and "\n" not in err
    (other / "manifest.json").write_text("{}")
    assert cli.main(["--artifacts", str(a), str(other), "--no-progress"]) == 2
    assert "manifest.json" in capsys.readouterr().err


# ---- a family with other stages and no step plan (handmade lanes) ------------------------------------
def kernel_lane(total: float, stq: float | None) -> dict[str, Any]:
    """A lane of a family whose frames run 'backbone', 'kernels', 'fusion' (no denoiser, no steps)."""
    series = StageSeries()
    for k in range(4):
        series.add({"preprocess": 0.5, "backbone": 3.0, "kernels": 2.0, "fusion": 1.0, "decode": 0.4,
                    "tracking": 0.3, "total": total + k})
    scores = None if stq is None else {"STQ": stq, "AQ": stq - 0.1, "SQ": stq + 0.1}
    return {"frames": 4, "warmup": 1, "stages": series.to_dict(), "stq": scores, "stq_common": scores,
            "memory": {"host_peak_rss_bytes": 400 * 2**20, "device": None}}


def info(label: str, family: str, steps: int | None) -> dict[str, Any]:
    return {"kind": "deployed", "label": label, "family": family, "preset": "tiny", "backend": "onnxruntime",
            "device": "cpu", "engine": "onnx", "precision": "fp16", "steps": steps, "warm_steps": steps,
            "warm_start": steps is not None, "reexported": False, "graph_bytes": 3 * 2**20}


def mixed_report() -> dict[str, Any]:
    lanes = [lane_summary(lane(10.0, 2, 0.5, frames=4), info("diffusion", "pix2seq_d", 2)),
             lane_summary(kernel_lane(8.0, 0.6), info("kernels", "video_knet", None))]
    return build_report(lanes, 0, None, {"threads_resolved": 1},
                        {"source": "a clip", "frames": 4}, ["a note"], mode="compare")


def test_tables_take_any_family() -> None:
    report = mixed_report()
    order = stage_order(report["variants"])
    assert order[0] == "preprocess" and order[-3:] == ["decode", "tracking", "total"]
    assert {"encoder", "denoise_0", "denoise_1", "denoise_all", "backbone", "kernels", "fusion"} <= set(order)
    headers, rows = summary_table(report)
    row = dict(zip(headers, rows[1], strict=True))
    assert row["family"] == "video_knet" and row["steps"] == "–" and row["STQ"] == "0.6000"
    assert row["median ms"] == "9.50" and row["graphs MiB"] == "3" and row["precision"] == "onnx fp16"
    text = "\n".join(format_compare(report))
    assert "backbone" in text and "kernels" in text
    md = compare_markdown(report)
    assert "| fusion | – | 1.00 / 1.00 |" in md and "| encoder | 2.00 / 2.00 | – |" in md
    assert "| export | family |" in md and "| --- | --- |" in md and "* a note" in md


def test_compare_plot_and_program_without_steps(tmp_path: Path) -> None:
    path = plot_compare(mixed_report(), tmp_path / "sub" / "cmp.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    program = SimpleNamespace(family="video_knet", preset="knet_tiny", input_size=(96, 320),
                              min_instance_area=4, min_part_area=0, sampler=None, step_counts=None)
    plan = _plan_info(program, warm_start=True)  # type: ignore[arg-type]
    assert plan["steps"] is None and plan["warm_steps"] is None and plan["family"] == "video_knet"


def test_a_video_knet_export_beside_a_pix2seq_d_one(tiny_checkpoint: Path, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    # the comparison the issue asks for: both families in one session and one table, K-Net without steps;
    # alone, a K-Net export runs without the (diffusion-only) naive baseline and gets its compute floor row
    from tests.export.conftest import make_knet_checkpoint

    knet = make_torch_artifacts(make_knet_checkpoint(tmp_path / "knet.pt"), tmp_path / "knet",
                                record_checkpoint=True)
    pix = make_torch_artifacts(tiny_checkpoint, tmp_path / "pix", 1, 1, record_checkpoint=True)
    out = tmp_path / "cmp.json"
    assert cli.main(["--artifacts", str(pix), str(knet), *FAST, "--json", str(out), "--no-progress"]) == 0
    lanes = {lane["info"]["label"]: lane for lane in json.loads(out.read_text())["variants"]}
    assert lanes["knet"]["info"]["family"] == "video_knet" and lanes["knet"]["info"]["steps"] is None
    assert "knet_frame" in lanes["knet"]["stages"] and "denoise_0" in lanes["pix"]["stages"]
    assert 0.0 <= lanes["knet"]["stq"]["STQ"] <= 1.0
    single = tmp_path / "one.json"
    assert cli.main(["--artifacts", str(knet), *FAST, "--json", str(single), "--no-progress"]) == 0
    report = json.loads(single.read_text())
    assert report["baseline"] is None and len(report["variants"]) == 1
    assert cli.main(["--artifacts", str(knet), "--steps", "1,2", "--no-progress"]) == 2
    assert "has no denoising steps" in capsys.readouterr().err
