"""Pix2Seq-D: image encoder + TransUNet denoiser over analog bits, trained with per-byte softmax CE.

Chen, Li, Saxena, Hinton, Fleet (2022), "A generalist framework for panoptic segmentation of images and
videos". A panoptic mask (``class * 1000 + instance``) is written as 16 analog bits (:mod:`vps.model.bits`);
training noises them to a random time ``t`` and the denoiser predicts the clean mask as two softmaxes
(class byte, instance byte) given the image features and, for video, the two previous masks.

Void pixels (``ignore_label``) get loss weight ``void_weight`` (default 0: not trained, since KITTI-STEP /
DeepLab evaluation ignores them; the model then predicts some real class there). The model holds no state
that changes in ``forward`` (an EMA copy made with ``copy.deepcopy`` works as is).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from vps.bits import NUM_COND_FRAMES, BitLayout, panoptic_to_bits, split_panoptic
from vps.config import DiffusionConfig, ModelConfig
from vps.model.backbone import ResNetStride16, load_torchvision_weights
from vps.model.denoiser import TransUNet
from vps.model.diffusion import CosineSchedule, add_noise, make_schedule, segment_weights
from vps.model.encoder import ImageEncoder

CL = torch.channels_last  # conv inputs are made channels-last: ~2x faster on CPU (oneDNN), GPU-friendly


def channels_last(x: Tensor) -> Tensor:
    """``x`` in channels-last memory format (no copy when it already is)."""
    return x.contiguous(memory_format=CL)


class Pix2SeqD(nn.Module):
    """The model: :meth:`encode` once per frame, :meth:`denoise` (or context + step) per sampling step."""

    def __init__(self, encoder: ImageEncoder, denoiser: TransUNet, schedule: CosineSchedule,
                 layout: BitLayout, image_size: tuple[int, int], mask_stride: int,
                 loss_size_power: float = 0.2, ignore_label: int = 255, void_weight: float = 0.0) -> None:
        super().__init__()
        H, W = image_size
        down = mask_stride * 2 ** (denoiser.levels - 1)
        if H % 16 or W % 16 or H % down or W % down:
            raise ValueError(f"image_size {image_size} must be divisible by 16 and by "
                             f"mask_stride * 2**(levels-1) = {down}")
        if layout.num_logits != 512:
            raise ValueError(f"Pix2SeqD needs the 8+8-bit layout (512 logits), got {layout}")
        if void_weight > 0 and denoiser.num_class_logits <= ignore_label:
            raise ValueError("void_weight > 0 trains void as a class: "
                             "num_class_logits must exceed ignore_label")
        self.encoder = encoder
        self.denoiser = denoiser
        self.schedule = schedule
        self.layout = layout
        self.image_size = (int(H), int(W))
        self.mask_stride = int(mask_stride)
        self.mask_size = (H // mask_stride, W // mask_stride)
        self.loss_size_power = float(loss_size_power)
        self.ignore_label = int(ignore_label)
        self.void_weight = float(void_weight)

    @classmethod
    def from_config(cls, model_cfg: ModelConfig, diff_cfg: DiffusionConfig) -> Pix2SeqD:
        """Build from the typed config sections (loads ``backbone_weights`` when set)."""
        layout = BitLayout(diff_cfg.class_bits, diff_cfg.instance_bits, diff_cfg.bit_scale)
        backbone = ResNetStride16(model_cfg.backbone, model_cfg.backbone_width)
        if model_cfg.backbone_weights:
            load_torchvision_weights(backbone, model_cfg.backbone_weights)
        encoder = ImageEncoder(backbone, model_cfg.encoder_dim, model_cfg.encoder_layers,
                               model_cfg.encoder_heads, model_cfg.mask_stride, model_cfg.dropout,
                               model_cfg.feature_dim or None)
        if not 1 <= model_cfg.num_class_logits <= 256:
            raise ValueError(f"num_class_logits must lie in 1..256, got {model_cfg.num_class_logits}")
        if model_cfg.denoiser_res_blocks < 1:
            raise ValueError("denoiser_res_blocks must be >= 1")
        denoiser = TransUNet(layout.num_bits, NUM_COND_FRAMES * layout.num_bits, encoder.out_dim,
                             tuple(model_cfg.denoiser_channels), model_cfg.denoiser_res_blocks,
                             model_cfg.denoiser_layers, model_cfg.denoiser_heads, layout.scale,
                             num_class_logits=model_cfg.num_class_logits, dropout=model_cfg.dropout,
                             transformer_dim=model_cfg.denoiser_transformer_dim)
        return cls(encoder, denoiser, make_schedule(diff_cfg.schedule), layout,
                   tuple(model_cfg.image_size), model_cfg.mask_stride, diff_cfg.loss_size_power,
                   diff_cfg.ignore_label, diff_cfg.void_weight)

    # ---- inference pieces -------------------------------------------------------------------------------
    def encode(self, images: Tensor) -> Tensor:
        """``images [B, 3, H, W]`` (normalised) -> ``feats [B, C, H/s, W/s]``."""
        return self.encoder(channels_last(images))

    def context(self, cond: Tensor, feats: Tensor) -> list[Tensor]:
        """Per-frame denoiser context from ``cond [B, 32, h, w]`` and ``feats [B, C, h, w]``."""
        return self.denoiser.context(channels_last(cond), channels_last(feats))

    def denoise_step(self, x_t: Tensor, ctx: list[Tensor], gamma: Tensor, padded: bool = True) -> Tensor:
        """One denoiser evaluation given a precomputed context -> logits ``[B, 512, h, w]`` (``padded=False``:
        only the predicted values, see :meth:`TransUNet.step`)."""
        return self.denoiser.step(channels_last(x_t), ctx, gamma, padded)

    def denoise(self, x_t: Tensor, cond: Tensor, feats: Tensor, gamma: Tensor) -> Tensor:
        """``x_t [B,16,h,w]``, ``cond [B,32,h,w]``, ``feats [B,C,h,w]``, ``gamma [B]`` -> ``[B,512,h,w]``."""
        return self.denoise_step(x_t, self.context(cond, feats), gamma)

    def forward(self, images: Tensor, x_t: Tensor, cond: Tensor, gamma: Tensor) -> Tensor:
        """Encode + one denoising step (what DDP wraps; training uses :meth:`training_loss`)."""
        return self.denoise(x_t, cond, self.encode(images), gamma)

    # ---- training ----------------------------------------------------------------------------------------
    def training_loss(self, images: Tensor, target: Tensor, cond: Tensor,
                      generator: torch.Generator | None = None) -> tuple[Tensor, dict[str, float]]:
        """Diffusion loss on one batch.

        ``images [B, 3, H, W]`` normalised; ``target [B, h, w]`` int64 panoptic ids at mask resolution
        (instance < 256); ``cond [B, 32, h, w]`` analog bits of frames t-1, t-2 (zeros where dropped).
        Returns ``(loss, {"loss", "loss_class", "loss_instance", "gamma_mean"})``; the dict floats sync.
        """
        B = images.shape[0]
        if tuple(target.shape) != (B, *self.mask_size) or tuple(cond.shape[-2:]) != self.mask_size:
            raise ValueError(f"target {tuple(target.shape)} / cond {tuple(cond.shape)} must be at mask size "
                             f"{self.mask_size} (batch {B})")
        dev = images.device
        feats = self.encode(images)  # [B, C, h, w]
        x0 = panoptic_to_bits(target, self.layout).to(feats.dtype)  # [B, 16, h, w]
        t = torch.rand(B, device=dev, generator=generator)
        noise = torch.randn(x0.shape, device=dev, generator=generator, dtype=x0.dtype)
        gamma = self.schedule(t)  # [B]
        logits = self.denoise(add_noise(x0, gamma, noise), cond.to(feats.dtype), feats, gamma)
        return self._loss(logits, target, gamma)

    def _loss(self, logits: Tensor, target: Tensor, gamma: Tensor) -> tuple[Tensor, dict[str, float]]:
        """Weighted per-byte softmax cross-entropy of ``logits [B, 512, h, w]`` vs ``target [B, h, w]``."""
        cls, inst = split_panoptic(target, self.layout.label_divisor)  # int64 [B, h, w]
        valid = cls != self.ignore_label
        w = segment_weights(cls, inst, self.loss_size_power, valid)  # [B, h, w]
        if self.void_weight > 0:
            w = torch.where(valid, w, torch.full_like(w, self.void_weight))
        nc = self.denoiser.num_class_logits
        cls_t = torch.where(valid | (self.void_weight > 0), cls, torch.zeros_like(cls))
        logits = logits.float()
        ce_cls = F.cross_entropy(logits[:, :nc], cls_t, reduction="none")  # [B, h, w]
        ce_inst = F.cross_entropy(logits[:, 256:512], inst, reduction="none")  # [B, h, w]
        n = w.numel()
        loss_cls = (w * ce_cls).sum() / n
        loss_inst = (w * ce_inst).sum() / n
        loss = loss_cls + loss_inst
        stats: dict[str, Any] = {"loss": loss.detach(), "loss_class": loss_cls.detach(),
                                 "loss_instance": loss_inst.detach(), "gamma_mean": gamma.mean().detach()}
        return loss, {k: float(v) for k, v in stats.items()}

    def num_parameters(self) -> dict[str, int]:
        """Parameter counts: encoder (backbone, rest) and denoiser."""
        n = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
        bb = n(self.encoder.backbone)
        return {"backbone": bb, "encoder": n(self.encoder) - bb, "denoiser": n(self.denoiser),
                "total": n(self)}


def drop_conditioning(cond: Tensor, prob: float, generator: torch.Generator | None = None) -> Tensor:
    """Zero each previous-mask block of ``cond [B, 32, h, w]`` independently with probability ``prob``."""
    B, C = cond.shape[:2]
    keep = torch.rand(B, NUM_COND_FRAMES, device=cond.device, generator=generator) >= prob  # [B, 2]
    return cond * keep.to(cond.dtype).repeat_interleave(C // NUM_COND_FRAMES, dim=1)[:, :, None, None]
