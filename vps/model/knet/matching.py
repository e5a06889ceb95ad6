"""Hungarian matching of thing kernels to ground-truth thing instances (K-Net's mask assigner).

The cost of giving kernel ``k`` instance ``g`` is ``w_cls * focal + w_dice * dice + w_mask * BCE`` (the
paper's 2 / 4 / 1): the focal cost of predicting the instance's class, the dice cost and the mean binary
cross-entropy of the kernel's mask against the instance's mask. Void pixels (``valid = 0``) take no part.
:func:`hungarian` solves the assignment with ``scipy.optimize.linear_sum_assignment`` (training only: the
exported graph has no scipy).

Shapes: ``K`` kernels, ``G`` instances, ``P`` pixels (flattened masks), ``C`` classes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from scipy.optimize import linear_sum_assignment
from torch import Tensor

EPS = 1e-8


@dataclass(frozen=True)
class CostWeights:
    """Weights of the matching cost terms (``knet.cls_weight``, ``dice_weight``, ``mask_weight``)."""

    cls: float = 2.0
    dice: float = 4.0
    mask: float = 1.0
    alpha: float = 0.25  # focal alpha
    gamma: float = 2.0  # focal gamma


def focal_cost(cls_logits: Tensor, labels: Tensor, alpha: float = 0.25, gamma: float = 2.0) -> Tensor:
    """``cls_logits [K, C]``, ``labels [G]`` -> ``[K, G]``: the focal loss of calling class ``labels[g]``
    positive minus that of calling it negative (lower = the kernel already predicts that class)."""
    p = torch.sigmoid(cls_logits)  # [K, C]
    neg = -(1 - p + EPS).log() * (1 - alpha) * p.pow(gamma)
    pos = -(p + EPS).log() * alpha * (1 - p).pow(gamma)
    return pos[:, labels] - neg[:, labels]


def dice_cost(mask_logits: Tensor, targets: Tensor, valid: Tensor) -> Tensor:
    """``mask_logits [K, P]``, ``targets [G, P]`` (0/1), ``valid [P]`` (0/1) -> ``[K, G]`` = ``1 - dice``
    with dice ``(2 |p t| + 1) / (|p| + |t| + 1)`` over valid pixels."""
    p = torch.sigmoid(mask_logits) * valid  # [K, P]
    t = targets * valid  # [G, P]
    inter = p @ t.T  # [K, G]
    return 1 - (2 * inter + 1) / (p.sum(1)[:, None] + t.sum(1)[None, :] + 1)


def mask_bce_cost(mask_logits: Tensor, targets: Tensor, valid: Tensor) -> Tensor:
    """``mask_logits [K, P]``, ``targets [G, P]``, ``valid [P]`` -> ``[K, G]``: binary cross-entropy of
    kernel ``k``'s mask against instance ``g``'s, averaged over the valid pixels."""
    pos = F.softplus(-mask_logits) * valid  # -log(p)       [K, P]
    neg = F.softplus(mask_logits) * valid  # -log(1 - p)    [K, P]
    t = targets * valid
    n = valid.sum().clamp(min=1)
    return (pos @ t.T + neg @ (valid - t).T) / n


def match_cost(cls_logits: Tensor | None, mask_logits: Tensor, labels: Tensor, targets: Tensor,
               valid: Tensor, weights: CostWeights) -> Tensor:
    """The weighted matching cost ``[K, G]`` (no class term when ``cls_logits`` is None: stage 0)."""
    cost = weights.dice * dice_cost(mask_logits, targets, valid)
    cost = cost + weights.mask * mask_bce_cost(mask_logits, targets, valid)
    if cls_logits is not None:
        cost = cost + weights.cls * focal_cost(cls_logits, labels, weights.alpha, weights.gamma)
    return cost


def hungarian(cost: Tensor) -> tuple[Tensor, Tensor]:
    """Minimum-cost one-to-one assignment of rows (kernels) to columns (instances) of ``cost [K, G]``.

    Returns ``(rows, cols)`` int64 tensors on ``cost``'s device, of length ``min(K, G)``, sorted by row.
    """
    c = cost.detach().float().cpu().numpy()
    if c.size == 0:
        empty = torch.zeros(0, dtype=torch.int64, device=cost.device)
        return empty, empty.clone()
    if not np.isfinite(c).all():
        c = np.nan_to_num(c, nan=1e6, posinf=1e6, neginf=-1e6)
    rows, cols = linear_sum_assignment(c)
    order = np.argsort(rows)
    as_t = lambda a: torch.as_tensor(a[order], dtype=torch.int64, device=cost.device)  # noqa: E731
    return as_t(rows), as_t(cols)
