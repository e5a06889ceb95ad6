"""The :class:`~vps.program.FrameProgram` of a trained model: what the runtime's frame engine runs for it.

One function builds it from the model's config, so the exporter (which writes it into ``manifest.json``),
``vps-predict``, training's periodic evaluation and the benchmark's naive baseline (which hand it to the
engine with the torch backend) all describe the model the same way. It dispatches on
``config.model.family``: Pix2Seq-D gets its denoising plans (:class:`~vps.program.SamplerPlan`), Video K-Net
its kernel sizes and fusion/association settings (:class:`~vps.program.KernelPlan`).
"""

from __future__ import annotations

from vps.bits import BitLayout
from vps.config import Config
from vps.data.meta import DatasetMeta
from vps.model.preprocess import IMAGENET_MEAN, IMAGENET_STD
from vps.model.samplers import sampler_plan
from vps.program import FrameProgram, KernelPlan

FAMILY = "pix2seq_d"
KNET_FAMILY = "video_knet"


def frame_program(config: Config, meta: DatasetMeta, layout: BitLayout, steps: int | None = None,
                  warm_steps: int | None = None, warm_time: float | None = None,
                  input_size: tuple[int, int] | None = None) -> FrameProgram:
    """The frame program of the model described by ``config`` (its ``model.family``).

    Pix2Seq-D: ``steps`` (cold denoiser calls; default ``diffusion.steps``), ``warm_steps`` and
    ``warm_time`` (default: the config's warm start) fix the plans. Video K-Net runs one graph per frame:
    the three are ignored. ``input_size`` (default the model's) is the network input, whose masks are
    ``input_size / mask_stride``.
    """
    m, d = config.model, config.diffusion
    h, w = tuple(input_size or m.image_size)
    if h % m.mask_stride or w % m.mask_stride:
        raise ValueError(f"input size {h}x{w} is not a multiple of the mask stride {m.mask_stride}")
    common = dict(preset=config.name, meta=meta, layout=layout, input_size=(h, w), mean=tuple(IMAGENET_MEAN),
                  std=tuple(IMAGENET_STD), channel_order="rgb", resize_mode="stretch",
                  mask_size=(h // m.mask_stride, w // m.mask_stride))
    if m.family == KNET_FAMILY:
        # K-Net's own panoptic fusion (score, mask and overlap thresholds) is its clean-up: no minimum
        # instance area and no splitting of detached parts on top (the engine's post-processing keeps
        # stuff without ids and one class per instance, which the fusion already guarantees)
        return FrameProgram(family=KNET_FAMILY, sampler=None, kernels=kernel_plan(config, meta),
                            min_instance_area=0, min_part_area=0, **common)  # type: ignore[arg-type]
    if m.family != FAMILY:
        raise ValueError(f"model.family {m.family!r} is not one of {(FAMILY, KNET_FAMILY)}")
    return FrameProgram(
        family=FAMILY, sampler=sampler_plan(d, d.steps if steps is None else steps, warm_steps, warm_time),
        min_instance_area=d.min_instance_area, min_part_area=d.min_part_area, **common)  # type: ignore[arg-type]


def kernel_plan(config: Config, meta: DatasetMeta) -> KernelPlan:
    """Video K-Net's :class:`~vps.program.KernelPlan`: ``knet.num_proposals`` thing kernels plus one stuff
    kernel per stuff class of ``meta`` (in class order), and the config's fusion and association settings."""
    k = config.knet
    stuff = tuple(meta.stuff_ids)
    return KernelPlan(num_things=k.num_proposals, num_kernels=k.num_proposals + len(stuff),
                      kernel_dim=k.kernel_dim, embed_dim=k.embed_dim, stuff_classes=stuff,
                      score_threshold=k.score_threshold, mask_threshold=k.mask_threshold,
                      overlap_threshold=k.overlap_threshold, match_threshold=k.match_threshold,
                      memory_frames=k.memory_frames, memory_momentum=k.memory_momentum)
