"""Image encoder: ResNet (stride 16) -> transformer encoder -> feature-pyramid merge to mask resolution.

As in Pix2Seq-D, the ResNet tokens at stride 16 go through a transformer encoder (2-D sin-cos position
embedding) for global context; a top-down feature-pyramid merge then adds the higher-resolution ResNet
features (strides 8, 4 and, for mask stride 2, the stem at stride 2) and returns one map at the mask
resolution ``image / mask_stride``. Run once per frame; the denoiser reuses it for every sampling step.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from vps.model.backbone import ResNetStride16
from vps.model.layers import TransformerStack, group_norm, sincos_2d

_STRIDES = (2, 4, 8, 16)


class _ConvGN(nn.Sequential):
    def __init__(self, cin: int, cout: int, k: int = 3) -> None:
        super().__init__(nn.Conv2d(cin, cout, k, padding=k // 2, bias=False), group_norm(cout), nn.GELU())


class ImageEncoder(nn.Module):
    """``forward(images [B, 3, H, W]) -> feats [B, out_dim, H / mask_stride, W / mask_stride]``."""

    def __init__(self, backbone: ResNetStride16, dim: int, layers: int, heads: int, mask_stride: int,
                 dropout: float = 0.0, out_dim: int | None = None) -> None:
        super().__init__()
        if mask_stride not in _STRIDES:
            raise ValueError(f"mask_stride must be one of {_STRIDES}, got {mask_stride}")
        self.backbone = backbone
        self.dim = dim
        self.out_dim = out_dim = out_dim or dim
        self.mask_stride = mask_stride
        chans = backbone.out_channels  # strides 2, 4, 8, 16
        self.proj = nn.Conv2d(chans[3], dim, 1)
        self.transformer = TransformerStack(dim, layers, heads, dropout)
        self.top = nn.Identity() if out_dim == dim else nn.Conv2d(dim, out_dim, 1)
        # top-down merge from stride 16 down to mask_stride: one lateral + smoothing conv per level
        n_up = _STRIDES.index(16) - _STRIDES.index(mask_stride)
        self.laterals = nn.ModuleList(nn.Conv2d(chans[2 - i], out_dim, 1) for i in range(n_up))
        self.smooth = nn.ModuleList(_ConvGN(out_dim, out_dim) for _ in range(n_up))
        self.out_norm = group_norm(out_dim)

    def forward(self, images: Tensor) -> Tensor:
        feats = self.backbone(images)  # [f2, f4, f8, f16]
        x = self.proj(feats[3])  # [B, D, H/16, W/16]
        B, D, h, w = x.shape
        tokens = x.flatten(2).transpose(1, 2) + sincos_2d(h, w, D, x.device, x.dtype)  # [B, h*w, D]
        x = self.top(self.transformer(tokens).transpose(1, 2).reshape(B, D, h, w))  # [B, out_dim, h, w]
        for i, (lat, smooth) in enumerate(zip(self.laterals, self.smooth, strict=True)):
            skip = feats[2 - i]  # strides 8, 4, 2
            x = F.interpolate(x, size=skip.shape[-2:], mode="nearest") + lat(skip)
            x = smooth(x)
        return self.out_norm(x)  # [B, out_dim, H/s, W/s]
