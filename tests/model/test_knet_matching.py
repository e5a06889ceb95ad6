"""Hungarian matching of thing kernels: cost terms on hand-computed inputs, known permutations, weights."""

from __future__ import annotations

import math

import pytest
import torch

from vps.model.knet.matching import CostWeights, dice_cost, focal_cost, hungarian, mask_bce_cost, match_cost

BIG = 12.0  # mask logit: sigmoid(12) = 1 - 6e-6


def _blocks(G: int, P: int = 12) -> torch.Tensor:
    """``G`` disjoint masks ``[G, P]``: instance g covers pixels ``[g * P/G, (g+1) * P/G)``."""
    masks = torch.zeros(G, P)
    for g in range(G):
        masks[g, g * P // G:(g + 1) * P // G] = 1
    return masks


def test_focal_cost_by_hand() -> None:
    logits = torch.tensor([[0.0, math.log(3.0)]])  # p = 0.5, 0.75
    cost = focal_cost(logits, torch.tensor([1, 0, 1]), alpha=0.25, gamma=2.0)
    # class 1 (p = 0.75): pos = -log(.75) * .25 * .25**2, neg = -log(.25) * .75 * .75**2
    c1 = -math.log(0.75) * 0.25 * 0.0625 + math.log(0.25) * 0.75 * 0.5625
    c0 = -math.log(0.5) * 0.25 * 0.25 + math.log(0.5) * 0.75 * 0.25  # p = 0.5
    torch.testing.assert_close(cost, torch.tensor([[c1, c0, c1]]), rtol=1e-5, atol=1e-6)


def test_dice_and_bce_costs_by_hand_and_void_excluded() -> None:
    logits = torch.zeros(1, 4)  # p = 0.5 everywhere
    targets = torch.tensor([[1.0, 1.0, 0.0, 0.0]])
    all_valid = torch.ones(4)
    # dice = (2 * 1 + 1) / (2 + 2 + 1) = 0.6
    torch.testing.assert_close(dice_cost(logits, targets, all_valid), torch.tensor([[0.4]]))
    torch.testing.assert_close(mask_bce_cost(logits, targets, all_valid), torch.tensor([[math.log(2)]]))
    # the last pixel is void: a confident wrong prediction there costs nothing
    logits = torch.tensor([[0.0, 0.0, 0.0, 50.0]])
    valid = torch.tensor([1.0, 1.0, 1.0, 0.0])
    torch.testing.assert_close(dice_cost(logits, targets, valid), torch.tensor([[1 - 3 / 4.5]]))
    torch.testing.assert_close(mask_bce_cost(logits, targets, valid), torch.tensor([[math.log(2)]]))


def test_known_permutation_is_recovered() -> None:
    G, perm = 4, torch.tensor([2, 0, 3, 1])  # kernel k predicts instance perm[k]
    masks = _blocks(G)
    labels = torch.tensor([11, 13, 13, 11])
    mask_logits = torch.cat([BIG * (2 * masks[perm] - 1), torch.full((2, 12), -BIG)])  # 6 kernels, 2 spare
    cls_logits = torch.full((6, 19), -5.0)
    cls_logits[torch.arange(G), labels[perm]] = 5.0
    cost = match_cost(cls_logits, mask_logits, labels, masks, torch.ones(12), CostWeights())
    rows, cols = hungarian(cost)
    assert rows.tolist() == [0, 1, 2, 3] and cols.tolist() == perm.tolist()
    # without classes (stage 0) the masks alone decide
    rows, cols = hungarian(match_cost(None, mask_logits, labels, masks, torch.ones(12), CostWeights()))
    assert cols.tolist() == perm.tolist()


def test_cost_weights_decide_between_class_and_mask() -> None:
    """Kernel 0 has instance 0's mask but instance 1's class, kernel 1 the reverse."""
    masks, labels = _blocks(2), torch.tensor([11, 13])
    mask_logits = 3.0 * (2 * masks - 1)  # kernel g: instance g's mask
    cls_logits = torch.full((2, 19), -6.0)
    cls_logits[0, 13], cls_logits[1, 11] = 6.0, 6.0  # swapped classes
    valid = torch.ones(12)
    by_mask = match_cost(cls_logits, mask_logits, labels, masks, valid, CostWeights(0.1, 4, 1))
    by_class = match_cost(cls_logits, mask_logits, labels, masks, valid, CostWeights(20, 0.1, 0))
    assert hungarian(by_mask)[1].tolist() == [0, 1]
    assert hungarian(by_class)[1].tolist() == [1, 0]


@pytest.mark.parametrize(("K", "G"), [(5, 2), (3, 0), (2, 3)])
def test_hungarian_sizes(K: int, G: int) -> None:
    cost = torch.rand(K, G, generator=torch.Generator().manual_seed(0))
    rows, cols = hungarian(cost)
    assert len(rows) == len(cols) == min(K, G)
    assert len(set(rows.tolist())) == len(rows) and len(set(cols.tolist())) == len(cols)
    assert rows.dtype == torch.int64 and rows.tolist() == sorted(rows.tolist())
