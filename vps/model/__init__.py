"""Pix2Seq-D model: analog bits, ResNet+transformer encoder, TransUNet denoiser, samplers, video inference.

Public entry points: :class:`Pix2SeqD` (``from_config``, ``encode``, ``denoise``, ``training_loss``),
:class:`DDIMSampler`, :func:`sample`, :class:`VideoPredictor`, :func:`load_torchvision_weights`.
"""

from vps.model.backbone import load_torchvision_weights
from vps.model.pix2seq_d import Pix2SeqD

__all__ = ["Pix2SeqD", "load_torchvision_weights"]
