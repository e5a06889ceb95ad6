"""The loss terms of Video K-Net: sigmoid focal classification, mask BCE, dice, quasi-dense tracking.

Each function is the plain formula on already matched predictions and targets (no reduction across the
batch beyond what its docstring says); :mod:`vps.model.knet.criterion` assembles them. Masks are
flattened to ``P`` pixels; ``valid [M, P]`` (0/1) marks the non-void pixels of each mask's frame.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def sigmoid_focal_loss(logits: Tensor, targets: Tensor, alpha: float = 0.25, gamma: float = 2.0) -> Tensor:
    """Element-wise sigmoid focal loss (Lin et al. 2017), same shape as ``logits``.

    ``FL = -alpha_t (1 - p_t)^gamma log(p_t)`` with ``p_t = p`` where the target is 1 and ``1 - p`` where 0,
    ``alpha_t = alpha`` for positives and ``1 - alpha`` for negatives (``alpha < 0``: no weighting).
    """
    p = torch.sigmoid(logits)
    ce = F.binary_cross_entropy_with_logits(logits, targets, reduction="none")
    p_t = p * targets + (1 - p) * (1 - targets)
    loss = ce * (1 - p_t).pow(gamma)
    if alpha >= 0:
        loss = loss * (alpha * targets + (1 - alpha) * (1 - targets))
    return loss


def mask_bce_loss(mask_logits: Tensor, targets: Tensor, valid: Tensor) -> Tensor:
    """``[M]``: binary cross-entropy of each mask ``mask_logits [M, P]`` against ``targets [M, P]``,
    averaged over its valid pixels."""
    ce = F.binary_cross_entropy_with_logits(mask_logits, targets, reduction="none")  # [M, P]
    return (ce * valid).sum(1) / valid.sum(1).clamp(min=1)


def dice_loss(mask_logits: Tensor, targets: Tensor, valid: Tensor) -> Tensor:
    """``[M]``: ``1 - (2 |p t| + 1) / (|p| + |t| + 1)`` per mask over its valid pixels (``p`` = sigmoid)."""
    p = torch.sigmoid(mask_logits) * valid
    t = targets * valid
    return 1 - (2 * (p * t).sum(1) + 1) / (p.sum(1) + t.sum(1) + 1)


def track_loss(key_embeds: Tensor, key_ids: Tensor, ref_embeds: Tensor, ref_ids: Tensor,
               temperature: float = 0.1) -> tuple[Tensor, int]:
    """Quasi-dense multi-positive contrastive loss (QDTrack, Pang et al. 2021) of matched key kernels.

    ``key_embeds [M, D]`` with their ground-truth track ids ``key_ids [M]``; ``ref_embeds [N, D]`` all
    reference thing kernels with ``ref_ids [N]`` (-1 for unmatched kernels). For key kernel ``i`` with
    similarities ``s = key_i . ref / temperature``, positives ``P`` = reference kernels of the same track,
    negatives = all other reference kernels:
    ``L_i = log(1 + sum_{p in P} sum_{n not in P} exp(s_n - s_p))``.
    Returns ``(sum of L_i over key kernels that have a positive, their number)``.
    """
    sims = key_embeds @ ref_embeds.T / temperature  # [M, N]
    pos = (key_ids[:, None] == ref_ids[None, :]) & (ref_ids[None, :] >= 0)  # [M, N]
    has_pos = pos.any(1)  # [M]
    if not bool(has_pos.any()):
        return sims.sum() * 0.0, 0
    sims, pos = sims[has_pos], pos[has_pos]  # [M', N]
    diff = sims[:, None, :] - sims[:, :, None]  # [M', N(p), N(n)]: s_n - s_p
    pair = pos[:, :, None] & ~pos[:, None, :]  # p positive, n negative
    diff = diff.masked_fill(~pair, float("-inf")).flatten(1)  # [M', N * N]
    zero = torch.zeros_like(diff[:, :1])
    losses = torch.logsumexp(torch.cat([zero, diff], 1), 1)  # log(1 + sum exp)
    return losses.sum(), int(has_pos.sum())
