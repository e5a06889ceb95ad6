"""benchmarks/architecture_bound.py: its rewrites are what they claim, and the script runs end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from torch import nn

from tests.bench.conftest import make_checkpoint
from tests.scripts import load_script
from vps.model.checkpoint import load_for_inference
from vps.model.fused import BitHead

bound = load_script("benchmarks/architecture_bound.py", "architecture_bound")


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_checkpoint(tmp_path_factory.mktemp("bound") / "tiny.pt")


def test_softmax_head_computes_the_shipped_bits() -> None:
    """The what-if head is the same function as :meth:`BitHead.bits` (so its time is a fair stand-in)."""
    head = BitHead(32, 256, 5, 8, 0.1, 1000)
    raw = 6.0 * torch.randn(2, 32 + 256, 5, 7)
    torch.testing.assert_close(bound._softmax_bits(head, raw), head.bits(raw), atol=1e-5, rtol=0)


def test_rewrites_remove_what_they_name(checkpoint: Path) -> None:
    model, _, _ = load_for_inference(checkpoint, "cpu")
    assert any(isinstance(m, nn.GroupNorm) for m in model.modules())
    bound.no_groupnorm(model)
    bound.relu(model)
    assert not any(isinstance(m, (nn.GroupNorm, nn.GELU)) for m in model.modules())
    x = torch.randn(1, 3, 32, 64)
    assert torch.isfinite(model.encode(x)).all()  # still a runnable network (untrained for the change)


def test_script_reports_every_variant(checkpoint: Path, tmp_path: Path,
                                      capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "bound.json"
    picked = ["shipped", "+softmax-head"]  # the last one carries every rewrite before it
    assert bound.main(["--checkpoint", str(checkpoint), "--rounds", "7", "--variants", *picked,
                       "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    assert list(report["variants"]) == picked
    for v in report["variants"].values():
        assert set(v["graph_ms"]) == set(bound.GRAPHS)
        assert v["ratio"] == pytest.approx(v["frame_ms"] / v["floor_ms"])
        assert v["gflop"] > 0
    assert "+softmax-head" in capsys.readouterr().out
