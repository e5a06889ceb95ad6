"""The per-step denoiser graphs as exported: what the next step needs, computed inside the graph.

A denoiser call used to return ``[B, 512, h, w]`` logits (256 class values, most of them constant padding for
a preset that predicts fewer, then 256 instance values) and the host turned them into the next sample
(softmax expectation of the bits, DDIM move) or, after the last step, into ids (argmax per byte): 15.7 MB
across the graph boundary per step for the tiny preset. The two graphs here keep that work inside:

* :class:`DenoiserStep` ``(x_t [B, nb, h, w], ctx_0..ctx_{L-1}, gamma [B], coef [B, 2])``
  ``-> x_next [B, nb, h, w]``:
  ``x_next = a * x0 + b * x_t`` with ``(a, b) = coef`` (the step plan's DDIM coefficients) and ``x0`` the
  expected analog bits of the head's softmaxes;
* :class:`DenoiserFinal` ``(x_t, ctx_0..ctx_{L-1}, gamma) -> ids int32 [B, h, w]`` (``class * divisor +
  instance``, argmax per byte; ties to the lowest value, as ``vps.kernels.decode_panoptic``).

Both read only the channels the model predicts (:attr:`TransUNet.num_class_logits` class values and the
instance values, no padding), so the graph does no work on constants. :class:`BitHead` is the in-graph twin of
:func:`vps.kernels.expected_bits` / :func:`vps.kernels.decode_panoptic` (tested equal to their references:
bits within 1e-5, ids bit for bit). The expectation is one 1x1 convolution with constant weights over
``exp(x - max)``: each output row is the mass of the values whose bit ``k`` is set, plus one row of ones for
the normaliser.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


def _bit_weights(values: int, nbits: int) -> Tensor:
    """``[values, nbits + 1]``: column ``k`` is bit ``k`` of each value (LSB first), the last column ones."""
    v = torch.arange(values)
    return torch.stack([(v >> k) & 1 for k in range(nbits)] + [torch.ones_like(v)], dim=1).float()


class BitHead(nn.Module):
    """Compact head output ``[B, nc + ni, h, w]`` -> expected analog bits or argmax ids."""

    def __init__(self, num_class_logits: int, num_instance_logits: int, class_bits: int, instance_bits: int,
                 scale: float, label_divisor: int) -> None:
        super().__init__()
        self.nc, self.ni = num_class_logits, num_instance_logits
        self.scale, self.divisor = scale, label_divisor
        self.register_buffer("w_class", _bit_weights(num_class_logits, class_bits), persistent=False)
        self.register_buffer("w_instance", _bit_weights(num_instance_logits, instance_bits), persistent=False)

    @classmethod
    def of(cls, model: nn.Module) -> BitHead:
        """The head of a :class:`vps.model.Pix2SeqD`."""
        d, layout = model.denoiser, model.layout
        return cls(d.num_class_logits, d.num_instance_logits, layout.class_bits, layout.instance_bits,
                   layout.scale, layout.label_divisor)

    @staticmethod
    def _expect(raw: Tensor, weights: Tensor) -> Tensor:
        """``[B, h, w, n]`` logits (channels last) -> ``[B, h, w, nbits]`` softmax mass of each bit."""
        e = torch.exp(raw - raw.amax(-1, keepdim=True))  # [B, h, w, n], max 1: contiguous reductions
        sums = e @ weights  # [B, h, w, nbits + 1]: one matrix product per group
        return sums[..., :-1] / sums[..., -1:]

    def bits(self, raw: Tensor) -> Tensor:
        """Expected analog bits ``float32 [B, cb + ib, h, w]`` in ``[-scale, scale]``."""
        x = raw.float().permute(0, 2, 3, 1)  # [B, h, w, nc + ni]: the reductions run along memory
        e = torch.cat([self._expect(x[..., :self.nc], self.w_class),
                       self._expect(x[..., self.nc:], self.w_instance)], dim=-1)
        return ((2.0 * e - 1.0) * self.scale).permute(0, 3, 1, 2)

    def ids(self, raw: Tensor) -> Tensor:
        """``int32 [B, h, w]`` panoptic ids: argmax class value times the divisor plus argmax instance."""
        x = raw.permute(0, 2, 3, 1)  # [B, h, w, nc + ni]: the argmax runs along memory
        cls = x[..., :self.nc].argmax(-1)
        inst = x[..., self.nc:].argmax(-1)
        return (cls * self.divisor + inst).to(torch.int32)


class DenoiserStep(nn.Module):
    """A non-final step: the next sample ``a * x0 + b * x_t`` (see the module docstring)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model, self.head = model, BitHead.of(model)

    def forward(self, x_t: Tensor, *rest: Tensor) -> Tensor:  # rest = (ctx_0, ..., ctx_{L-1}, gamma, coef)
        *ctx, gamma, coef = rest
        raw = self.model.denoise_step(x_t, list(ctx), gamma, padded=False)  # [B, nc + ni, h, w]
        a, b = coef[:, 0].view(-1, 1, 1, 1), coef[:, 1].view(-1, 1, 1, 1)
        return self.head.bits(raw) * a + x_t * b


class DenoiserFinal(nn.Module):
    """The last step: the decoded ids (see the module docstring)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model, self.head = model, BitHead.of(model)

    def forward(self, x_t: Tensor, *rest: Tensor) -> Tensor:  # rest = (ctx_0, ..., ctx_{L-1}, gamma)
        *ctx, gamma = rest
        return self.head.ids(self.model.denoise_step(x_t, list(ctx), gamma, padded=False))
