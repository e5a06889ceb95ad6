"""vps-train argument handling: overrides, one-line errors with exit code 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from vps.config import Config, apply_overrides
from vps.train.cli import main


def test_overrides_are_typed_and_validated() -> None:
    cfg = apply_overrides(Config(), ["train.lr=3e-4", "model.image_size=[32, 64]", "data.augment=false"])
    assert cfg.train.lr == pytest.approx(3e-4) and cfg.model.image_size == (32, 64) and not cfg.data.augment
    for bad in ["train.nope=1", "nosection.lr=1", "train.lr", "train.batch_size=abc", "train.lr=fast"]:
        with pytest.raises(ValueError):
            apply_overrides(Config(), [bad])


@pytest.mark.parametrize("argv", [
    ["--config", "does/not/exist.yaml"],
    ["--config", "configs/tiny.yaml", "--set", "train.typo=1"],
    ["--config", "configs/tiny.yaml", "--set", "data.dataset=imagenet"],
    ["--config", "configs/tiny.yaml", "--set", "train.precision=fp8"],
    ["--config", "configs/tiny.yaml", "--set", "data.track_id_order=sorted"],
    ["--config", "configs/tiny.yaml", "--max-steps", "-1"],
    [],  # no --config and nothing to resume
])
def test_bad_arguments_exit_2_with_one_line(argv: list[str], tmp_path: Path, repo_root: Path,
                                            capsys: pytest.CaptureFixture[str],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(repo_root)
    assert main([*argv, "--out", str(tmp_path / "run"), "--device", "cpu", "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("vps-train: error:") and len(err.splitlines()) == 1


def test_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        main(["--help"])
    assert e.value.code == 0 and "--resume" in capsys.readouterr().out
