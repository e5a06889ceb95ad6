"""Checkpoints: round trip, atomic write, clear errors for corrupt/foreign/incompatible files, slim export."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.train.stand_in import StandIn, stand_in_factory
from vps.config import Config
from vps.data.meta import KITTI_STEP
from vps.errors import DataError
from vps.train.checkpoint import (
    Checkpoint,
    capture_rng,
    check_compatible,
    export_slim,
    load_checkpoint,
    load_for_inference,
    restore_rng,
    save_checkpoint,
)


def _config() -> Config:
    cfg = Config(name="unit")
    cfg.model.image_size = (32, 64)
    return cfg


def _ckpt(model: StandIn, step: int = 7) -> Checkpoint:
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    model.net[0].weight.grad = torch.ones_like(model.net[0].weight)
    opt.step()
    return Checkpoint(step=step, config=_config().to_dict(), meta=KITTI_STEP.to_dict(),
                      layout=model.layout.to_dict(), ema_weights=model.state_dict(), ema_updates=step,
                      model=model.state_dict(), optimizer=opt.state_dict(), rng=capture_rng(),
                      sampler={"seed": 0, "step": step}, metrics={"STQ": 0.5})


def test_round_trip_and_atomic_write(tmp_path: Path) -> None:
    model = StandIn()
    path = save_checkpoint(_ckpt(model), tmp_path / "run" / "last.pt")
    assert sorted(p.name for p in path.parent.iterdir()) == ["last.pt"]  # no temp file left behind
    ck = load_checkpoint(path)
    assert ck.step == 7 and ck.metrics == {"STQ": 0.5} and not ck.slim
    assert ck.typed_config().model.image_size == (32, 64)
    assert ck.typed_meta() == KITTI_STEP and ck.bit_layout() == model.layout
    for k, v in model.state_dict().items():
        assert torch.equal(ck.model[k], v)
    assert ck.optimizer["state"][0]["step"] == 1


def test_rng_capture_restore() -> None:
    gen = torch.Generator().manual_seed(3)
    state = capture_rng({"g": gen})
    a = (random.random(), np.random.rand(), torch.rand(1).item(), torch.rand(1, generator=gen).item())
    restore_rng(state, {"g": gen})
    b = (random.random(), np.random.rand(), torch.rand(1).item(), torch.rand(1, generator=gen).item())
    assert a == b


@pytest.mark.parametrize("kind", ["garbage", "truncated", "foreign", "missing"])
def test_bad_files_raise_data_error_naming_the_file(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "last.pt"
    if kind == "garbage":
        path.write_bytes(b"not a checkpoint at all")
    elif kind == "truncated":
        save_checkpoint(_ckpt(StandIn()), path)
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    elif kind == "foreign":
        torch.save({"state_dict": {}}, path)
    with pytest.raises(DataError) as err:
        load_checkpoint(path)
    assert str(path) in str(err.value)


def test_incompatible_config_and_weights(tmp_path: Path) -> None:
    path = save_checkpoint(_ckpt(StandIn()), tmp_path / "a.pt")
    ck = load_checkpoint(path)
    other = _config()
    other.model.image_size = (64, 64)
    with pytest.raises(DataError, match="image_size"):
        check_compatible(ck, other, path)
    check_compatible(ck, _config(), path)  # same architecture: fine
    ck.ema_weights = {k: v for k, v in ck.ema_weights.items() if "bias" not in k}
    bad = save_checkpoint(ck, tmp_path / "b.pt")
    with pytest.raises(DataError, match="missing"):
        load_for_inference(bad, model_factory=stand_in_factory)


def test_slim_export_is_smaller_and_loads_for_inference(tmp_path: Path) -> None:
    model = StandIn()
    full = save_checkpoint(_ckpt(model), tmp_path / "last.pt")
    slim = export_slim(full, tmp_path / "slim.pt", dtype=torch.float16)
    assert slim.stat().st_size < full.stat().st_size
    ck = load_checkpoint(slim)
    assert ck.slim and ck.model is None and ck.optimizer is None
    assert all(v.dtype == torch.float16 for v in ck.ema_weights.values())
    net, cfg, meta = load_for_inference(slim, model_factory=stand_in_factory)
    assert not net.training and cfg.name == "unit" and meta == KITTI_STEP
    w = net.net[0].weight
    assert w.dtype == torch.float32
    torch.testing.assert_close(w, model.net[0].weight.detach().half().float())
    changed = export_slim(full, tmp_path / "set.pt", overrides=["diffusion.min_part_area=7"])
    stored = load_checkpoint(changed).config["diffusion"]
    assert stored["min_part_area"] == 7 and stored["min_instance_area"] == cfg.diffusion.min_instance_area
    with pytest.raises(ValueError, match="unknown key"):
        export_slim(full, tmp_path / "bad.pt", overrides=["diffusion.min_part_areas=7"])
