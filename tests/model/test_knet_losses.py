"""Video K-Net losses on hand-computed inputs: focal, mask BCE, dice, track; targets and the criterion."""

from __future__ import annotations

import math

import torch

from vps.config import KNetConfig
from vps.model.knet.criterion import KNetCriterion, frame_targets
from vps.model.knet.head import StageOutput
from vps.model.knet.losses import dice_loss, mask_bce_loss, sigmoid_focal_loss, track_loss

LN2 = math.log(2.0)


def test_sigmoid_focal_loss_by_hand() -> None:
    logits = torch.tensor([0.0, 0.0, math.log(3.0)])  # p = 0.5, 0.5, 0.75
    targets = torch.tensor([1.0, 0.0, 1.0])
    got = sigmoid_focal_loss(logits, targets, alpha=0.25, gamma=2.0)
    want = torch.tensor([0.25 * 0.25 * LN2, 0.75 * 0.25 * LN2, 0.25 * 0.0625 * -math.log(0.75)])
    torch.testing.assert_close(got, want)
    no_alpha = sigmoid_focal_loss(logits, targets, alpha=-1, gamma=0.0)  # plain BCE
    torch.testing.assert_close(no_alpha, torch.tensor([LN2, LN2, -math.log(0.75)]))


def test_mask_bce_and_dice_by_hand() -> None:
    logits = torch.tensor([[0.0, 0.0, 0.0, 50.0]])
    targets = torch.tensor([[1.0, 1.0, 0.0, 0.0]])
    valid = torch.tensor([[1.0, 1.0, 1.0, 0.0]])  # the confident wrong last pixel is void
    torch.testing.assert_close(mask_bce_loss(logits, targets, valid), torch.tensor([LN2]))
    torch.testing.assert_close(dice_loss(logits, targets, valid), torch.tensor([1 - 3 / 4.5]))
    torch.testing.assert_close(dice_loss(logits, targets, torch.ones(1, 4)),
                               torch.tensor([1 - (2 * 1 + 1) / (2.5 + 2 + 1)]))  # |p| = 3 x 0.5 + 1


def _unit(deg: float) -> list[float]:
    return [math.cos(math.radians(deg)), math.sin(math.radians(deg))]


def test_track_loss_by_hand() -> None:
    key = torch.tensor([_unit(0), _unit(90)])  # key kernels of tracks 7 and 9
    ref = torch.tensor([_unit(10), _unit(60), _unit(180), _unit(30)])
    ref_ids = torch.tensor([7, 7, 5, -1])  # two positives for track 7; track 9 absent from the reference
    loss, n = track_loss(key, torch.tensor([7, 9]), ref, ref_ids, temperature=0.5)
    c = [math.cos(math.radians(a)) / 0.5 for a in (10, 60, 180, 30)]
    want = math.log(1 + sum(math.exp(c[neg] - c[pos]) for pos in (0, 1) for neg in (2, 3)))
    assert n == 1
    torch.testing.assert_close(loss, torch.tensor(want))
    none, zero = track_loss(key, torch.tensor([1, 2]), ref, ref_ids)
    assert zero == 0 and float(none) == 0.0


def test_frame_targets() -> None:
    target = torch.tensor([[0, 0, 13_001, 13_001],
                           [10_000, 11_002, 13_000, 255_000]])
    t = frame_targets(target, (11, 13), (0, 10, 2), 1000, 255)
    assert t.track_ids.tolist() == [11_002, 13_001] and t.labels.tolist() == [11, 13]
    assert t.masks.tolist() == [[0, 0, 0, 0, 0, 1, 0, 0], [0, 0, 1, 1, 0, 0, 0, 0]]
    assert t.stuff_present.tolist() == [True, True, False]
    assert t.stuff_masks[2].sum() == 0
    assert t.valid.tolist() == [1, 1, 1, 1, 1, 1, 0, 0]  # crowd car (13_000) and void are excluded


def test_criterion_stage_loss_by_hand() -> None:
    """All logits 0: focal, BCE and dice are known; checks class targets of matched/unmatched things and
    present/absent stuff, and the positive-count normalisation."""
    crit = KNetCriterion(KNetConfig(), num_things=2, stuff_classes=(0, 1), thing_classes=(2, 3),
                         label_divisor=1000, ignore_label=255)
    target = torch.tensor([[[0, 0, 2_001, 2_001], [0, 0, 0, 255_000]]])  # [1, 2, 4]: stuff 1 absent
    tgts = crit.targets(target)
    out = StageOutput(torch.zeros(1, 4, 4), torch.zeros(1, 4, 2, 4))  # K = 4 kernels, C = 4 classes
    parts = crit.stage_loss(out, tgts, crit.assign(out, tgts))
    pos, neg = 0.25 * 0.25 * LN2, 0.75 * 0.25 * LN2  # focal of one element at p = 0.5
    num_pos = 2  # one matched thing + one present stuff
    torch.testing.assert_close(parts["cls"], torch.tensor((2 * pos + 14 * neg) / num_pos))
    torch.testing.assert_close(parts["mask"], torch.tensor(LN2))
    dice_thing = 1 - (2 * 0.5 * 2 + 1) / (0.5 * 7 + 2 + 1)  # 7 valid pixels, instance of 2
    dice_stuff = 1 - (2 * 0.5 * 5 + 1) / (0.5 * 7 + 5 + 1)
    torch.testing.assert_close(parts["dice"], torch.tensor((dice_thing + dice_stuff) / num_pos))
