"""Semantic FPN neck of Video K-Net: backbone features -> one feature map of ``kernel_dim`` channels.

Lateral 1x1 convolutions bring ``f4, f8, f16`` (:class:`vps.model.backbone.ResNetStride16`) to ``E``
channels, a top-down pathway adds each coarser level (upsampled) to the finer one, and every level is
refined by a 3x3 conv (GroupNorm, ReLU), upsampled to the output stride and summed (the semantic-FPN merge
K-Net uses). Two normalised coordinate channels are concatenated to the coarsest level before its lateral
conv (K-Net's CoordConv): the kernels are position-agnostic vectors, so without position in the features two
identical cars could not get different masks.

All sizes are read from the tensors (no Python ints from shapes), so the graph exports with dynamic sizes.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from vps.model.layers import group_norm

FEATURE_STRIDES = (4, 8)


def coord_features(x: Tensor) -> Tensor:
    """``[B, 2, h, w]`` x and y coordinates in ``[-1, 1]`` for the grid of ``x [B, C, h, w]``.

    Built from ``arange`` and broadcasting (no ``linspace``/``expand``), which keeps the exported graph
    valid for any input size.
    """
    h, w = x.shape[-2], x.shape[-1]
    ys = torch.arange(h, device=x.device, dtype=x.dtype) * (2.0 / max(h - 1, 1)) - 1.0  # [h]
    xs = torch.arange(w, device=x.device, dtype=x.dtype) * (2.0 / max(w - 1, 1)) - 1.0  # [w]
    zero = torch.zeros_like(x[:, :1])  # [B, 1, h, w]
    return torch.cat([zero + xs[None, None, None, :], zero + ys[None, None, :, None]], 1)


def _conv_gn_relu(cin: int, cout: int, k: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, k, padding=k // 2, bias=False), group_norm(cout), nn.ReLU())


class SemanticFPN(nn.Module):
    """``[f2, f4, f8, f16]`` -> ``feats [B, E, H/s, W/s]`` with ``s = feature_stride`` (4 or 8)."""

    def __init__(self, in_channels: tuple[int, ...], dim: int, feature_stride: int = 4) -> None:
        super().__init__()
        if feature_stride not in FEATURE_STRIDES:
            raise ValueError(f"knet.feature_stride must be one of {FEATURE_STRIDES}, got {feature_stride}")
        c4, c8, c16 = in_channels[-3:]
        self.feature_stride = feature_stride
        # finest level first: stride 4 (when used), 8, 16 (with the two coordinate channels)
        cins = (c4, c8, c16 + 2) if feature_stride == 4 else (c8, c16 + 2)
        self.lateral = nn.ModuleList(nn.Conv2d(c, dim, 1) for c in cins)
        self.refine = nn.ModuleList(_conv_gn_relu(dim, dim, 3) for _ in cins)
        self.out = nn.Conv2d(dim, dim, 1)

    def forward(self, feats: list[Tensor]) -> Tensor:
        f16 = feats[-1]
        f16 = torch.cat([f16, coord_features(f16)], 1)  # [B, c16 + 2, H/16, W/16]
        levels = [*feats[-3:-1], f16] if self.feature_stride == 4 else [feats[-2], f16]
        lat = [conv(f) for conv, f in zip(self.lateral, levels, strict=True)]  # each [B, E, h_i, w_i]
        for i in range(len(lat) - 2, -1, -1):  # top-down: add the coarser level upsampled
            lat[i] = lat[i] + F.interpolate(lat[i + 1], size=lat[i].shape[-2:], mode="nearest")
        size = lat[0].shape[-2:]
        merged = self.refine[0](lat[0])  # [B, E, H/s, W/s]
        for conv, x in zip(self.refine[1:], lat[1:], strict=True):
            merged = merged + F.interpolate(conv(x), size=size, mode="bilinear", align_corners=False)
        return self.out(merged)
