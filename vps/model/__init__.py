"""The model families: Pix2Seq-D (ResNet+transformer encoder, TransUNet denoiser, diffusion, samplers) and
Video K-Net (:mod:`vps.model.knet`), and reading checkpoints.

Public entry points: :class:`Pix2SeqD` (``from_config``, ``encode``, ``denoise``, ``training_loss``),
:class:`VideoKNet` (``from_config(config, meta)``, ``forward`` = one frame, ``training_loss``),
:class:`vps.model.samplers.DDIMSampler` (``plan``: the runtime's step plans), :mod:`vps.model.checkpoint`
(reading checkpoints, building the network of ``model.family``), :func:`vps.model.program.frame_program`
(what the runtime's frame engine runs for a model), :mod:`vps.model.fused` (the exported denoiser graphs'
head), :func:`load_torchvision_weights`. Video inference runs in the runtime's frame engine
(:class:`vps.runtime.Segmenter` with the torch backend).
"""

from vps.model.backbone import load_torchvision_weights
from vps.model.knet import VideoKNet
from vps.model.pix2seq_d import Pix2SeqD

__all__ = ["Pix2SeqD", "VideoKNet", "load_torchvision_weights"]
