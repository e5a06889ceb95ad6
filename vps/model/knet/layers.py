"""Building blocks of the kernel update head: attention, FFN, the gated kernel updator, small MLPs.

Kernels are vectors ``[B, K, E]`` (K-Net's 1x1 dynamic kernels). Attention uses
``scaled_dot_product_attention`` (fused, exports with the dynamo exporter) rather than
``nn.MultiheadAttention``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class Attention(nn.Module):
    """Multi-head attention of queries ``[B, Q, E]`` over keys/values ``[B, M, E]`` -> ``[B, Q, E]``."""

    def __init__(self, dim: int, heads: int, dropout: float = 0.0) -> None:
        super().__init__()
        if dim % heads:
            raise ValueError(f"kernel_dim {dim} is not divisible by heads {heads}")
        self.heads, self.dropout = heads, dropout
        self.q = nn.Linear(dim, dim)
        self.kv = nn.Linear(dim, 2 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: Tensor, memory: Tensor) -> Tensor:
        B, Q, E = x.shape
        M, h = memory.shape[1], self.heads
        q = self.q(x).reshape(B, Q, h, E // h).transpose(1, 2)  # [B, h, Q, d]
        kv = self.kv(memory).reshape(B, M, 2, h, E // h).permute(2, 0, 3, 1, 4)  # [2, B, h, M, d]
        att = F.scaled_dot_product_attention(q, kv[0], kv[1],
                                             dropout_p=self.dropout if self.training else 0.0)  # [B, h, Q, d]
        return self.proj(att.transpose(1, 2).reshape(B, Q, E))


class FFN(nn.Module):
    """Post-norm feed-forward block with residual: ``LN(x + W2 relu(W1 x))`` on ``[B, K, E]``."""

    def __init__(self, dim: int, hidden: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(dim, hidden), nn.ReLU(), nn.Dropout(dropout),
                                 nn.Linear(hidden, dim), nn.Dropout(dropout))
        self.norm = nn.LayerNorm(dim)

    def forward(self, x: Tensor) -> Tensor:
        return self.norm(x + self.net(x))


def fc_ln_relu(dim: int, layers: int) -> nn.Sequential:
    """``layers`` x (Linear, LayerNorm, ReLU) on ``[..., dim]`` (K-Net's cls/mask FC towers)."""
    mods: list[nn.Module] = []
    for _ in range(layers):
        mods += [nn.Linear(dim, dim, bias=False), nn.LayerNorm(dim), nn.ReLU()]
    return nn.Sequential(*mods)


class KernelUpdator(nn.Module):
    """K-Net's adaptive kernel update: group features gate the kernels (input and update gates).

    ``forward(update [B, K, E] mask-pooled features, kernels [B, K, E]) -> [B, K, E]``:

    * ``F_in, F_out = split(W_d update)``, ``K_in, K_out = split(W_k kernels)`` (dynamic and input layers);
    * ``G = F_in * K_in``; input gate ``g_k = sigmoid(LN(W_i G))``, update gate ``g_f = sigmoid(LN(W_u G))``;
    * ``new = g_f * ReLU(LN(F_out)) + g_k * ReLU(LN(K_out))``, then ``ReLU(LN(W_o new))``.
    """

    def __init__(self, dim: int, feat_dim: int | None = None) -> None:
        super().__init__()
        c = feat_dim or dim
        self.c = c
        self.dynamic_layer = nn.Linear(dim, 2 * c)
        self.input_layer = nn.Linear(dim, 2 * c)
        self.input_gate = nn.Linear(c, c)
        self.update_gate = nn.Linear(c, c)
        self.norm_in = nn.LayerNorm(c)  # update gate
        self.input_norm_in = nn.LayerNorm(c)  # input gate
        self.norm_out = nn.LayerNorm(c)
        self.input_norm_out = nn.LayerNorm(c)
        self.fc = nn.Linear(c, dim)
        self.fc_norm = nn.LayerNorm(dim)

    def forward(self, update: Tensor, kernels: Tensor) -> Tensor:
        c = self.c
        params = self.dynamic_layer(update)  # [B, K, 2c]
        param_in, param_out = params[..., :c], params[..., c:]
        inputs = self.input_layer(kernels)  # [B, K, 2c]
        input_in, input_out = inputs[..., :c], inputs[..., c:]
        gate_feats = input_in * param_in  # [B, K, c]
        input_gate = torch.sigmoid(self.input_norm_in(self.input_gate(gate_feats)))
        update_gate = torch.sigmoid(self.norm_in(self.update_gate(gate_feats)))
        param_out = F.relu(self.norm_out(param_out))
        input_out = F.relu(self.input_norm_out(input_out))
        new = update_gate * param_out + input_gate * input_out  # [B, K, c]
        return F.relu(self.fc_norm(self.fc(new)))


def mask_pool(masks: Tensor, feats: Tensor) -> Tensor:
    """Features averaged under soft masks: ``masks [B, K, h, w]`` (probabilities), ``feats [B, E, h, w]``
    -> ``[B, K, E]`` = ``sum(m * f) / (sum(m) + 1)`` (K-Net sums; the normalisation keeps the scale of the
    features independent of the resolution and of the object's size)."""
    pooled = torch.einsum("bkhw,behw->bke", masks, feats)  # [B, K, E]
    area = masks.sum((2, 3))  # [B, K]
    return pooled / (area[..., None] + 1.0)


def dynamic_masks(kernels: Tensor, feats: Tensor) -> Tensor:
    """Mask logits of 1x1 dynamic kernels: ``kernels [B, K, E]``, ``feats [B, E, h, w]`` ->
    ``[B, K, h, w]``."""
    return torch.einsum("bke,behw->bkhw", kernels, feats)
