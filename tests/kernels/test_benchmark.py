"""benchmarks/kernels.py without CUDA: a clear message and exit code 0; --cpu times the references."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType

import pytest

from tests.scripts import load_script

torch = pytest.importorskip("torch")


def _load(repo_root: Path) -> ModuleType:
    return load_script("benchmarks/kernels.py", "bench_kernels")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-CUDA behaviour")
def test_without_cuda_exits_zero(repo_root: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRITON_INTERPRET", raising=False)
    bench = _load(repo_root)
    assert bench.main([]) == 0
    assert "CUDA is not available" in capsys.readouterr().out
    out = tmp_path / "bench.json"
    assert bench.main(["--cpu", "--small", "--repeats", "1", "--warmup", "0", "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["device"] == "cpu" and len(report["rows"]) == 10
    assert all(row["reference_us"] > 0 and row["kernel_us"] is None for row in report["rows"])
    assert "hist vote 256x19" in capsys.readouterr().out


def test_bad_arguments_exit_2(repo_root: Path) -> None:
    with pytest.raises(SystemExit) as exc:
        _load(repo_root).main(["--repeats", "0"])
    assert exc.value.code == 2
