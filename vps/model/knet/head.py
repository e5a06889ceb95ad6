"""Kernel update head of Video K-Net: stages of mask pooling, gated update, self-attention, FFN, heads.

One :class:`KernelUpdateStage` (K-Net's KernelUpdateHead) maps ``(kernels, mask logits)`` to new kernels,
class logits and the next mask logits:

1. ``sigmoid`` of the current mask logits pools the features of each kernel's group (:func:`mask_pool`);
2. the :class:`KernelUpdator` merges the pooled features into the kernels (input and update gates);
3. multi-head self-attention among the kernels (post-norm), then an FFN;
4. (last stage only) the :class:`TemporalLink`: the kernels attend to the previous frame's final kernels;
   its output is multiplied by ``has_prev``, so a first frame does not depend on ``prev_kernels``;
5. a classifier tower (sigmoid, ``C`` classes) and a mask tower giving the dynamic mask kernels, whose
   1x1 convolution with the features gives the next mask logits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from vps.model.knet.layers import FFN, Attention, KernelUpdator, dynamic_masks, fc_ln_relu, mask_pool

CLS_PRIOR = 0.01  # initial class probability (focal-loss prior, as K-Net / RetinaNet)


@dataclass
class StageOutput:
    """One stage's predictions (logits, before sigmoid) at the feature stride."""

    cls_logits: Tensor | None  # [B, K, C]; None for the initial masks (stage 0)
    mask_logits: Tensor  # [B, K, h, w]


class TemporalLink(nn.Module):
    """Current kernels attend to the previous frame's kernels; gated by ``has_prev``.

    ``forward(kernels [B, K, E], prev [B, K, E], has_prev [B])``
    ``-> LN(kernels + has_prev * attn(kernels, prev))``
    """

    def __init__(self, dim: int, heads: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.attn = Attention(dim, heads, dropout)
        self.norm = nn.LayerNorm(dim)

    def forward(self, kernels: Tensor, prev: Tensor, has_prev: Tensor) -> Tensor:
        gate = has_prev.to(kernels.dtype).reshape(-1, 1, 1)  # [B, 1, 1]
        return self.norm(kernels + gate * self.attn(kernels, prev))


class KernelUpdateStage(nn.Module):
    """One kernel update stage (see module doc); ``temporal`` adds the :class:`TemporalLink`."""

    def __init__(self, dim: int, num_classes: int, heads: int, ffn_dim: int, dropout: float = 0.0,
                 temporal: bool = False, cls_fcs: int = 1, mask_fcs: int = 3) -> None:
        super().__init__()
        self.updator = KernelUpdator(dim)
        self.self_attn = Attention(dim, heads, dropout)
        self.attn_norm = nn.LayerNorm(dim)
        self.ffn = FFN(dim, ffn_dim, dropout)
        self.link = TemporalLink(dim, heads, dropout) if temporal else None
        self.cls_tower = fc_ln_relu(dim, cls_fcs)
        self.fc_cls = nn.Linear(dim, num_classes)
        self.mask_tower = fc_ln_relu(dim, mask_fcs)
        self.fc_mask = nn.Linear(dim, dim)
        nn.init.constant_(self.fc_cls.bias, -math.log((1 - CLS_PRIOR) / CLS_PRIOR))

    def forward(self, kernels: Tensor, mask_logits: Tensor, feats: Tensor, prev: Tensor | None = None,
                has_prev: Tensor | None = None) -> tuple[Tensor, Tensor, Tensor]:
        """``kernels [B, K, E]``, ``mask_logits [B, K, h, w]``, ``feats [B, E, h, w]`` ->
        ``(kernels [B, K, E], cls_logits [B, K, C], mask_logits [B, K, h, w])``."""
        pooled = mask_pool(torch.sigmoid(mask_logits), feats)  # [B, K, E]
        x = self.updator(pooled, kernels)  # [B, K, E]
        x = self.attn_norm(x + self.self_attn(x, x))
        x = self.ffn(x)
        if self.link is not None:
            if prev is None or has_prev is None:
                raise ValueError("the temporal stage needs prev_kernels and has_prev")
            x = self.link(x, prev, has_prev)
        cls_logits = self.fc_cls(self.cls_tower(x))  # [B, K, C]
        mask_kernels = self.fc_mask(self.mask_tower(x))  # [B, K, E]
        return x, cls_logits, dynamic_masks(mask_kernels, feats)


class KernelHead(nn.Module):
    """Initial kernels (1x1 conv weights) + ``stages`` update stages, the last one temporal.

    ``forward(feats [B, E, h, w], prev [B, K, E], has_prev [B]) -> (kernels [B, K, E], outputs)`` where
    ``outputs`` holds stage 0 (initial masks, no classes) and every update stage (deep supervision).
    """

    def __init__(self, num_kernels: int, dim: int, num_classes: int, stages: int, heads: int, ffn_dim: int,
                 dropout: float = 0.0) -> None:
        super().__init__()
        if stages < 1:
            raise ValueError(f"knet.stages must be >= 1, got {stages}")
        self.init_kernels = nn.Parameter(torch.randn(num_kernels, dim) / math.sqrt(dim))  # [K, E]
        self.stages = nn.ModuleList(
            KernelUpdateStage(dim, num_classes, heads, ffn_dim, dropout, temporal=i == stages - 1)
            for i in range(stages))

    def forward(self, feats: Tensor, prev: Tensor, has_prev: Tensor) -> tuple[Tensor, list[StageOutput]]:
        B = feats.shape[0]
        kernels = self.init_kernels[None].expand(B, -1, -1)  # [B, K, E]
        masks = dynamic_masks(kernels, feats)  # [B, K, h, w]: the initial 1x1 convolutions
        outputs = [StageOutput(None, masks)]
        for stage in self.stages:
            kernels, cls_logits, masks = stage(kernels, masks, feats, prev, has_prev)
            outputs.append(StageOutput(cls_logits, masks))
        return kernels, outputs
