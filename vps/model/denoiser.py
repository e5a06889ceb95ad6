"""TransUNet denoiser: a conv U-Net with transformer layers at the bottleneck only.

Inputs per sampling step: the noisy analog bits ``x_t [B, 16, h, w]`` and the noise level ``gamma [B]``.
Per frame (constant over the sampling steps): the analog bits of the two previous masks
``cond [B, 32, h, w]`` (zeros where dropped / absent) and the image features ``feats [B, C, h, w]``.

The network is split so the per-frame part runs once: :meth:`TransUNet.context` maps ``(cond, feats)`` to
one context tensor per U-Net level (this equals concatenating them with ``x_t`` at the input, as in
Pix2Seq-D, because the first conv is linear, and additionally injects them at every lower level), and
:meth:`TransUNet.step` is the per-step function of tensors ``(x_t, ctx..., gamma) -> logits`` that can be
exported to ONNX or captured in a CUDA graph. Output: ``[B, 512, h, w]`` logits, 256 for the class byte then
256 for the instance byte; a preset may predict fewer class values (``num_class_logits``), the rest is
filled with a large negative constant so the 512-logit interface holds.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from vps.model.layers import TransformerStack, group_norm, sincos_2d, timestep_embedding

NEG_LOGIT = -1.0e4  # fill for class values a preset does not predict (finite: fp16-safe softmax)


class ResBlock(nn.Module):
    """GroupNorm-SiLU-conv x2 with timestep scale/shift (FiLM) on the second norm."""

    def __init__(self, cin: int, cout: int, temb_dim: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.norm1 = group_norm(cin)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.temb = nn.Linear(temb_dim, 2 * cout)
        self.norm2 = group_norm(cout)
        self.dropout = nn.Dropout(dropout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        nn.init.zeros_(self.conv2.weight)
        nn.init.zeros_(self.conv2.bias)
        self.skip = nn.Identity() if cin == cout else nn.Conv2d(cin, cout, 1)

    def forward(self, x: Tensor, temb: Tensor) -> Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        scale, shift = self.temb(temb)[:, :, None, None].chunk(2, dim=1)  # [B, cout, 1, 1] each
        h = self.norm2(h) * (1 + scale) + shift
        h = self.conv2(self.dropout(F.silu(h)))
        return self.skip(x) + h


class TransUNet(nn.Module):
    """Conv U-Net over ``len(channels)`` levels (level i at mask stride 2**i), attention at the bottom."""

    def __init__(self, num_bits: int, cond_channels: int, feat_channels: int, channels: tuple[int, ...],
                 res_blocks: int, layers: int, heads: int, bit_scale: float, num_class_logits: int = 256,
                 num_instance_logits: int = 256, dropout: float = 0.0, transformer_dim: int = 0) -> None:
        super().__init__()
        if len(channels) < 1 or res_blocks < 1:
            raise ValueError("denoiser needs at least one level and one residual block per level")
        c0 = channels[0]
        temb_dim = 4 * c0
        self.channels = tuple(channels)
        self.bit_scale = bit_scale
        self.num_class_logits = num_class_logits
        self.num_instance_logits = num_instance_logits
        self.time_mlp = nn.Sequential(nn.Linear(c0, temb_dim), nn.SiLU(), nn.Linear(temb_dim, temb_dim))
        # per-frame context: (cond, feats) -> one tensor per level
        self.ctx_in = nn.Conv2d(cond_channels + feat_channels, c0, 3, padding=1)
        self.ctx_down = nn.ModuleList(nn.Conv2d(channels[i], channels[i + 1], 3, stride=2, padding=1)
                                      for i in range(len(channels) - 1))
        # per-step path
        self.x_in = nn.Conv2d(num_bits, c0, 3, padding=1)
        self.down = nn.ModuleList(nn.Conv2d(channels[i], channels[i + 1], 3, stride=2, padding=1)
                                  for i in range(len(channels) - 1))
        self.enc_blocks = nn.ModuleList(
            nn.ModuleList(ResBlock(c, c, temb_dim, dropout) for _ in range(res_blocks)) for c in channels)
        cb, td = channels[-1], transformer_dim or channels[-1]
        self.mid_in = nn.Identity() if td == cb else nn.Linear(cb, td)
        self.mid_temb = nn.Linear(temb_dim, td)
        self.mid = TransformerStack(td, layers, heads, dropout) if layers > 0 else None
        self.mid_out = nn.Identity() if td == cb else nn.Linear(td, cb)
        self.up = nn.ModuleList(nn.Conv2d(channels[i + 1], channels[i], 3, padding=1)
                                for i in range(len(channels) - 1))
        self.dec_blocks = nn.ModuleList(
            nn.ModuleList(ResBlock(2 * c if j == 0 else c, c, temb_dim, dropout) for j in range(res_blocks))
            for c in channels[:-1])
        self.out_norm = group_norm(c0)
        self.head = nn.Conv2d(c0, num_class_logits + num_instance_logits, 1)

    @property
    def levels(self) -> int:
        return len(self.channels)

    def context(self, cond: Tensor, feats: Tensor) -> list[Tensor]:
        """Per-frame: ``cond [B,32,h,w]``, ``feats [B,C,h,w]`` -> ``[B, c_i, h/2^i, w/2^i]`` per level i."""
        c = self.ctx_in(torch.cat([cond, feats], dim=1))  # [B, c0, h, w]
        out = [c]
        for down in self.ctx_down:
            c = down(F.silu(c))
            out.append(c)
        return out

    def step(self, x_t: Tensor, ctx: list[Tensor], gamma: Tensor, padded: bool = True) -> Tensor:
        """Per-step part: ``x_t [B, 16, h, w]``, context, ``gamma [B]`` -> logits ``[B, 512, h, w]``.

        ``padded=False``: only the values the head predicts, ``[B, num_class_logits + num_instance_logits,
        h, w]`` (what the exported graphs read; :mod:`vps.model.fused`).
        """
        g = gamma.to(x_t.dtype).view(-1, 1, 1, 1)
        x = x_t * torch.rsqrt(g * self.bit_scale**2 + (1 - g))  # unit-variance input at every noise level
        temb = self.time_mlp(timestep_embedding(gamma, self.channels[0]).to(x_t.dtype))  # [B, 4 c0]
        h = self.x_in(x) + ctx[0]
        skips = []
        for i in range(self.levels):
            if i > 0:
                h = self.down[i - 1](h) + ctx[i]
            for blk in self.enc_blocks[i]:
                h = blk(h, temb)
            skips.append(h)
        if self.mid is not None:
            B, C, hh, ww = h.shape
            tokens = self.mid_in(h.flatten(2).transpose(1, 2))  # [B, hh*ww, td]
            pos = sincos_2d(hh, ww, tokens.shape[-1], h.device, h.dtype)  # [hh*ww, td]
            tokens = tokens + pos + self.mid_temb(temb)[:, None]
            h = h + self.mid_out(self.mid(tokens)).transpose(1, 2).reshape(B, C, hh, ww)
        for i in reversed(range(self.levels - 1)):
            skip = skips[i]
            h = self.up[i](F.interpolate(h, size=skip.shape[-2:], mode="nearest"))
            h = torch.cat([h, skip], dim=1)
            for blk in self.dec_blocks[i]:
                h = blk(h, temb)
        raw = self.head(F.silu(self.out_norm(h)))
        return self._pad_logits(raw) if padded else raw

    def _pad_logits(self, out: Tensor) -> Tensor:
        """Raw head output -> the 512-channel interface (class group then instance group)."""
        nc, ni = self.num_class_logits, self.num_instance_logits
        if nc == 256 and ni == 256:
            return out
        B, _, h, w = out.shape
        parts = [out[:, :nc]]
        if nc < 256:
            parts.append(out.new_full((B, 256 - nc, h, w), NEG_LOGIT))
        parts.append(out[:, nc:])
        if ni < 256:
            parts.append(out.new_full((B, 256 - ni, h, w), NEG_LOGIT))
        return torch.cat(parts, dim=1)

    def forward(self, x_t: Tensor, cond: Tensor, feats: Tensor, gamma: Tensor) -> Tensor:
        """``denoise(x_t, cond, feats, gamma) -> logits [B, 512, h, w]`` (context + one step)."""
        return self.step(x_t, self.context(cond, feats), gamma)
