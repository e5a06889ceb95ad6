"""Small shared building blocks: 2-D sin-cos position embedding, timestep embedding, group-norm helper."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn


def group_norm(channels: int, max_groups: int = 32) -> nn.GroupNorm:
    """GroupNorm with the largest group count <= ``max_groups`` that divides ``channels``."""
    groups = max(g for g in range(1, min(max_groups, channels) + 1) if channels % g == 0)
    return nn.GroupNorm(groups, channels)


def sincos_2d(h: int, w: int, dim: int, device: torch.device, dtype: torch.dtype = torch.float32) -> Tensor:
    """Fixed 2-D sine-cosine position embedding ``[h * w, dim]`` (row-major tokens; ``dim % 4 == 0``).

    Computed from the feature-map size at run time, so any input size works and ONNX export keeps it as
    a few arange/sin/cos nodes.
    """
    if dim % 4:
        raise ValueError(f"sin-cos position embedding needs dim divisible by 4, got {dim}")
    quarter = dim // 4
    omega = 1.0 / (10000 ** (torch.arange(quarter, device=device, dtype=torch.float32) / quarter))  # [d/4]
    ys = torch.arange(h, device=device, dtype=torch.float32)[:, None] * omega  # [h, d/4]
    xs = torch.arange(w, device=device, dtype=torch.float32)[:, None] * omega  # [w, d/4]
    ey = torch.cat([ys.sin(), ys.cos()], 1)[:, None, :].expand(h, w, 2 * quarter)
    ex = torch.cat([xs.sin(), xs.cos()], 1)[None, :, :].expand(h, w, 2 * quarter)
    return torch.cat([ey, ex], -1).reshape(h * w, dim).to(dtype)


def timestep_embedding(gamma: Tensor, dim: int, scale: float = 1000.0) -> Tensor:
    """Sinusoidal embedding ``[B, dim]`` of the noise level ``gamma [B]`` (multiplied by ``scale``)."""
    half = dim // 2
    steps = torch.arange(half, device=gamma.device, dtype=torch.float32)
    freqs = torch.exp(-math.log(10000.0) * steps / half)
    args = gamma.float()[:, None] * scale * freqs[None]  # [B, half]
    emb = torch.cat([args.sin(), args.cos()], 1)
    if dim % 2:
        emb = torch.cat([emb, torch.zeros_like(emb[:, :1])], 1)
    return emb


class TransformerBlock(nn.Module):
    """Pre-norm self-attention + MLP block on ``[B, N, D]`` (uses fused scaled-dot-product attention)."""

    def __init__(self, dim: int, heads: int, dropout: float = 0.0, mlp_ratio: int = 4) -> None:
        super().__init__()
        if dim % heads:
            raise ValueError(f"transformer dim {dim} not divisible by heads {heads}")
        self.heads = heads
        self.dropout = dropout
        self.norm1 = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, dim * mlp_ratio), nn.GELU(), nn.Dropout(dropout),
                                 nn.Linear(dim * mlp_ratio, dim), nn.Dropout(dropout))

    def forward(self, x: Tensor) -> Tensor:
        B, N, D = x.shape
        qkv = self.qkv(self.norm1(x)).reshape(B, N, 3, self.heads, D // self.heads).permute(2, 0, 3, 1, 4)
        att = nn.functional.scaled_dot_product_attention(
            qkv[0], qkv[1], qkv[2], dropout_p=self.dropout if self.training else 0.0)  # [B, heads, N, d]
        x = x + self.proj(att.transpose(1, 2).reshape(B, N, D))
        return x + self.mlp(self.norm2(x))


class TransformerStack(nn.Module):
    """``layers`` pre-norm transformer blocks over ``[B, N, D]`` tokens, followed by a final LayerNorm."""

    def __init__(self, dim: int, layers: int, heads: int, dropout: float = 0.0, mlp_ratio: int = 4) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(TransformerBlock(dim, heads, dropout, mlp_ratio) for _ in range(layers))
        self.norm = nn.LayerNorm(dim)

    def forward(self, x: Tensor) -> Tensor:
        for block in self.blocks:
            x = block(x)
        return self.norm(x)
