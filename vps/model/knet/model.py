"""Video K-Net: ResNet + semantic FPN, learnable thing/stuff kernels, kernel update head, tracking embeddings.

Li et al., "Video K-Net: A Simple, Strong, and Unified Baseline for Video Segmentation", CVPR 2022, on
Zhang et al., "K-Net: Towards Unified Image Segmentation", NeurIPS 2021. ``N`` thing kernels (proposals)
and one kernel per stuff class (``S``) segment a frame: their 1x1 convolutions with the feature map are the
initial masks, ``knet.stages`` update stages refine kernels and masks (:mod:`vps.model.knet.head`), the last
one linking to the previous frame's kernels, and an MLP gives each thing kernel a tracking embedding.

:meth:`VideoKNet.forward` is the exported per-frame graph (``knet_frame``); :meth:`VideoKNet.training_loss`
trains on (reference, key) frame pairs (:mod:`vps.model.knet.criterion`). The model holds no state that
changes in ``forward``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from vps.bits import BitLayout
from vps.config import Config, KNetConfig
from vps.data.meta import DatasetMeta
from vps.model.backbone import ResNetStride16, load_torchvision_weights
from vps.model.knet.criterion import KNetCriterion
from vps.model.knet.head import KernelHead, StageOutput
from vps.model.knet.neck import SemanticFPN
from vps.model.pix2seq_d import channels_last

LAYOUT = BitLayout(8, 8, 0.1)  # only its label_divisor is used (and it is stored in checkpoints)


class VideoKNet(nn.Module):
    """The model; build with :meth:`from_config`. Kernels are ordered things ``0..N-1``, then stuff."""

    def __init__(self, backbone: ResNetStride16, knet: KNetConfig, meta: DatasetMeta,
                 image_size: tuple[int, int], mask_stride: int, ignore_label: int = 255,
                 dropout: float = 0.0) -> None:
        super().__init__()
        H, W = image_size
        if H % 16 or W % 16 or H % mask_stride or W % mask_stride:
            raise ValueError(f"image_size {image_size} must be divisible by 16 and by mask_stride "
                             f"{mask_stride}")
        self.layout = LAYOUT
        self.image_size = (int(H), int(W))
        self.mask_stride = int(mask_stride)
        self.mask_size = (H // mask_stride, W // mask_stride)
        self.feature_stride = int(knet.feature_stride)
        self.num_things = int(knet.num_proposals)
        self.stuff_classes = tuple(int(c) for c in meta.stuff_ids)
        self.thing_classes = tuple(int(c) for c in meta.thing_ids)
        self.num_kernels = self.num_things + len(self.stuff_classes)
        self.kernel_dim, self.embed_dim = int(knet.kernel_dim), int(knet.embed_dim)
        self.num_classes = meta.num_classes
        self.ignore_label = int(ignore_label)
        self.backbone = backbone
        self.neck = SemanticFPN(backbone.out_channels, self.kernel_dim, self.feature_stride)
        self.head = KernelHead(self.num_kernels, self.kernel_dim, self.num_classes, knet.stages, knet.heads,
                               knet.ffn_dim, dropout)
        E = self.kernel_dim
        self.embed = nn.Sequential(nn.Linear(E, E), nn.ReLU(), nn.Linear(E, self.embed_dim))
        self.criterion = KNetCriterion(knet, self.num_things, self.stuff_classes, self.thing_classes,
                                       LAYOUT.label_divisor, self.ignore_label)

    @classmethod
    def from_config(cls, config: Config, meta: DatasetMeta) -> VideoKNet:
        """Build from a config (loads ``model.backbone_weights`` when set) and the data's class metadata."""
        m = config.model
        backbone = ResNetStride16(m.backbone, m.backbone_width)
        if m.backbone_weights:
            load_torchvision_weights(backbone, m.backbone_weights)
        return cls(backbone, config.knet, meta, tuple(m.image_size), m.mask_stride,
                   config.diffusion.ignore_label, m.dropout)

    # ---- inference ----------------------------------------------------------------------------------
    def features(self, image: Tensor) -> Tensor:
        """``image [B, 3, H, W]`` normalised -> features ``[B, E, H/s, W/s]`` (s = feature stride)."""
        return self.neck(self.backbone(channels_last(image)))

    def run(self, image: Tensor, prev_kernels: Tensor,
            has_prev: Tensor) -> tuple[Tensor, list[StageOutput], Tensor]:
        """Everything training needs: ``(kernels [B, K, E], stage outputs (logits at the feature stride),
        embeds [B, N, D])``."""
        feats = self.features(image)  # [B, E, h', w']
        kernels, outputs = self.head(feats, prev_kernels.to(feats.dtype), has_prev)
        embeds = F.normalize(self.embed(kernels[:, : self.num_things]), dim=-1, eps=1e-6)  # [B, N, D]
        return kernels, outputs, embeds

    def upsample(self, mask_logits: Tensor) -> Tensor:
        """Mask logits ``[B, K, h', w']`` at the feature stride -> ``[B, K, h, w]`` at ``mask_size``."""
        if self.feature_stride == self.mask_stride:
            return mask_logits
        h, w = (mask_logits.shape[-2] * self.feature_stride // self.mask_stride,
                mask_logits.shape[-1] * self.feature_stride // self.mask_stride)
        return F.interpolate(mask_logits, size=(h, w), mode="bilinear", align_corners=False)

    def forward(self, image: Tensor, prev_kernels: Tensor,
                has_prev: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """One frame (the exported ``knet_frame`` graph).

        ``image [B, 3, H, W]`` normalised, ``prev_kernels [B, K, E]`` (the previous frame's ``kernels``),
        ``has_prev [B]`` float 0/1 (0: first frame; the output then does not depend on ``prev_kernels``) ->
        ``scores [B, K, C]`` sigmoid class probabilities, ``masks [B, K, h, w]`` sigmoid mask probabilities
        at ``mask_size``, ``embeds [B, N, D]`` L2-normalised, ``kernels [B, K, E]``.
        """
        kernels, outputs, embeds = self.run(image, prev_kernels, has_prev)
        last = outputs[-1]
        assert last.cls_logits is not None
        scores = torch.sigmoid(last.cls_logits)
        masks = torch.sigmoid(self.upsample(last.mask_logits))
        return scores, masks, embeds, kernels

    # ---- training -----------------------------------------------------------------------------------
    def training_loss(self, images: Tensor, targets: Tensor,
                      generator: torch.Generator | None = None) -> tuple[Tensor, dict[str, float]]:
        """Loss on (reference, key) frame pairs.

        ``images [B, 2, 3, H, W]`` normalised (index 0 = reference frame, 1 = the later key frame),
        ``targets int64 [B, 2, h, w]`` panoptic ids at ``mask_size`` (one track-id numbering for both
        frames). The reference frame runs first (``has_prev = 0``), the key frame with the reference's final
        kernels as ``prev_kernels`` (``has_prev = 1``), so the temporal link is trained. Returns ``(loss,
        logs)``: the K-Net losses of both frames (every stage) plus the tracking loss. ``generator`` is
        accepted for the trainer's interface; the loss uses no randomness.
        """
        B = images.shape[0]
        if images.dim() != 5 or images.shape[1] != 2 or tuple(targets.shape) != (B, 2, *self.mask_size):
            raise ValueError(f"images must be [B, 2, 3, H, W] and targets [B, 2, {self.mask_size[0]}, "
                             f"{self.mask_size[1]}], got {tuple(images.shape)} and {tuple(targets.shape)}")
        zeros = torch.zeros(B, self.num_kernels, self.kernel_dim, device=images.device, dtype=images.dtype)
        ref_k, ref_out, ref_emb = self.run(images[:, 0], zeros, torch.zeros(B, device=images.device))
        _, key_out, key_emb = self.run(images[:, 1], ref_k, torch.ones(B, device=images.device))
        up = lambda outs: [StageOutput(o.cls_logits, self.upsample(o.mask_logits)) for o in outs]  # noqa: E731
        return self.criterion.video_loss(up(ref_out), up(key_out), ref_emb, key_emb, targets)

    def num_parameters(self) -> dict[str, int]:
        """Parameter counts: backbone, neck, kernel head, embedding MLP, total."""
        n = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
        return {"backbone": n(self.backbone), "neck": n(self.neck), "head": n(self.head),
                "embed": n(self.embed), "total": n(self)}
