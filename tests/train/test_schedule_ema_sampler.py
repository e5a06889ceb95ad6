"""LR schedule, EMA and the resumable distributed batch sampler."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from vps.train.data import StepBatchSampler
from vps.train.ema import EMA
from vps.train.schedule import lr_at, set_lr


def test_warmup_is_linear_then_cosine_to_floor() -> None:
    lrs = [lr_at(s, 1e-3, 10, 110, min_lr_ratio=0.1) for s in range(130)]
    np.testing.assert_allclose(lrs[:10], [1e-4 * (i + 1) for i in range(10)], rtol=1e-12)
    assert lrs[9] == pytest.approx(1e-3) and lrs[10] == pytest.approx(1e-3)
    assert lrs[60] == pytest.approx(1e-4 + 0.9e-3 * 0.5)  # half way through the cosine
    assert all(a >= b for a, b in zip(lrs[10:], lrs[11:], strict=False))
    assert lrs[110] == pytest.approx(1e-4) and lrs[129] == pytest.approx(1e-4)
    assert lr_at(0, 1.0, 0, 10) == 1.0  # no warm-up
    with pytest.raises(ValueError):
        lr_at(-1, 1.0, 0, 10)


def test_set_lr_writes_all_groups() -> None:
    p, q = nn.Parameter(torch.zeros(1)), nn.Parameter(torch.zeros(1))
    opt = torch.optim.AdamW([{"params": [p]}, {"params": [q], "weight_decay": 0.0}], lr=1.0)
    set_lr(opt, 0.25)
    assert [g["lr"] for g in opt.param_groups] == [0.25, 0.25]


def test_ema_tracks_weights_and_copies_integer_buffers() -> None:
    model = nn.BatchNorm1d(3)
    ema = EMA(model, decay=0.9, warmup=False)
    with torch.no_grad():
        model.weight.fill_(2.0)
    model.num_batches_tracked.fill_(5)
    ema.update(model)
    torch.testing.assert_close(ema.shadow["weight"], torch.full((3,), 0.9 * 1.0 + 0.1 * 2.0))
    assert int(ema.shadow["num_batches_tracked"]) == 5
    for _ in range(200):
        ema.update(model)
    torch.testing.assert_close(ema.shadow["weight"], torch.full((3,), 2.0), atol=1e-6, rtol=0)
    target = nn.BatchNorm1d(3)
    ema.copy_to(target)
    torch.testing.assert_close(target.weight.detach(), ema.shadow["weight"])


def test_ema_warmup_and_state_round_trip() -> None:
    model = nn.Linear(2, 2)
    ema = EMA(model, decay=0.999)
    assert ema.current_decay() == pytest.approx(0.1)  # (1 + 0) / (10 + 0)
    for _ in range(3):
        ema.update(model)
    other = EMA(nn.Linear(2, 2), decay=0.5)
    other.load_state_dict(ema.state_dict())
    assert other.num_updates == 3 and other.decay == 0.999
    torch.testing.assert_close(other.shadow["weight"], ema.shadow["weight"])
    with pytest.raises(KeyError, match="missing"):
        EMA(nn.Linear(2, 3)).load_state_dict({**ema.state_dict(), "shadow": {"weight": torch.zeros(3, 2)}})
    with pytest.raises(ValueError):
        EMA(model, decay=1.0)


def test_sampler_shards_ranks_and_covers_each_epoch() -> None:
    n, b, world = 10, 2, 2
    ranks = [StepBatchSampler(n, b, seed=3, rank=r, world_size=world) for r in range(world)]
    steps = math.ceil(n / (b * world)) * 3
    stream = []
    for step in range(steps):
        batches = [s.batch(step) for s in ranks]
        stream += [i for bt in batches for i, _ in bt]
        seeds = [sd for bt in batches for _, sd in bt]
        assert len(set(seeds)) == len(seeds)  # every sample has its own seed
    for e in range(len(stream) // n):
        assert sorted(stream[e * n:(e + 1) * n]) == list(range(n))  # each epoch is a permutation
    assert stream[:n] != stream[n:2 * n]  # epochs reshuffle


def test_sampler_resumes_at_any_step() -> None:
    full = StepBatchSampler(7, 3, seed=1)
    it = iter(full)
    ref = [next(it) for _ in range(9)]
    resumed = iter(StepBatchSampler(7, 3, seed=1, start_step=5))
    assert [next(resumed) for _ in range(4)] == ref[5:]
    assert StepBatchSampler(7, 3, seed=2).batch(0) != ref[0]
    with pytest.raises(ValueError):
        StepBatchSampler(0, 1, seed=0)
