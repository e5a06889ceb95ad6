"""benchmarks/gpu_check.py without a GPU: one line and exit 0; its dry run plans every stage and checks
the planned command lines against the tools' own parsers."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tests.scripts import load_script

torch = pytest.importorskip("torch")


def _load(repo_root: Path) -> ModuleType:
    return load_script("benchmarks/gpu_check.py", "gpu_check")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-CUDA behaviour")
def test_without_cuda_one_line_and_exit_zero(repo_root: Path, tmp_path: Path) -> None:
    env = {"PYTHON": sys.executable, "PATH": "/usr/bin:/bin", "PYTHONPATH": str(repo_root)}
    script = str(repo_root / "benchmarks" / "gpu_check.sh")
    done = subprocess.run(["bash", script, "--out", str(tmp_path / "o")], capture_output=True, text=True,
                          env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("\n") == 1 and "no CUDA GPU here" in done.stdout
    assert not (tmp_path / "o").exists()  # nothing written


def test_dry_run_plans_every_stage_with_valid_commands(repo_root: Path, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    check = _load(repo_root)
    assert check.main(["--dry-run", "--out", str(tmp_path), "--frames", "50"]) == 0
    report = json.loads((tmp_path / "gpu_check.json").read_text())
    names = [s["name"] for s in report["stages"]]
    assert names == ["gpu-tests", "kernels", "r50-checkpoint", "r50-onnx", "torch-graphs", "torch-eager",
                     "trt-export", "tensorrt", "ort-cuda"]
    assert report["dry_run"] and report["plan_problems"] == [] and report["budget_s"] == 480
    for s in report["stages"]:
        assert s["status"] == "planned" or s["status"].startswith("skipped (no ")
    bench = next(s for s in report["stages"] if s["name"] == "torch-graphs")["cmd"]
    assert "384x1248" in bench and "--no-cuda-graph" not in bench
    assert "--no-cuda-graph" in next(s for s in report["stages"] if s["name"] == "torch-eager")["cmd"]
    assert (repo_root / "benchmarks" / "kernels.py").is_file() and "gpu-tests" in capsys.readouterr().out


def test_key_figures_from_the_reports(repo_root: Path, tmp_path: Path) -> None:
    check = _load(repo_root)
    stages = {s.name: s for s in check.plan(tmp_path, 50)}
    total = {"median": 4.2, "p99": 7.9}
    deployed = {"stages": {"total": total}, "fps": 230.0}
    (tmp_path / "tensorrt.json").write_text(json.dumps({"deployed": deployed}))
    assert check.figures(stages["tensorrt"], tmp_path, "") == {"median_ms": 4.2, "p99_ms": 7.9, "fps": 230.0}
    rows = [{"pct_copy": 71.0}, {"pct_copy": 88.5}, {"pct_copy": None}]
    (tmp_path / "kernels.json").write_text(json.dumps({"copy_gbps": 3900.0, "rows": rows, "goals": {}}))
    assert check.figures(stages["kernels"], tmp_path, "")["pct_copy_min"] == 71.0
    summary = check.figures(stages["gpu-tests"], tmp_path, "x\n3 passed in 2.0s\n")
    assert summary == {"summary": "3 passed in 2.0s"}


def test_bad_arguments_exit_2(repo_root: Path) -> None:
    with pytest.raises(SystemExit) as exc:
        _load(repo_root).main(["--budget", "5"])
    assert exc.value.code == 2
