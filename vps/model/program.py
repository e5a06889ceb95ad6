"""The :class:`~vps.program.FrameProgram` of a trained model: what the runtime's frame engine runs for it.

One function builds it from the model's config, so the exporter (which writes it into ``manifest.json``),
``vps-predict``, training's periodic evaluation and the benchmark's naive baseline (which hand it to the
engine with the torch backend) all describe the model the same way.
"""

from __future__ import annotations

from vps.bits import BitLayout
from vps.config import Config
from vps.data.meta import DatasetMeta
from vps.model.preprocess import IMAGENET_MEAN, IMAGENET_STD
from vps.model.samplers import sampler_plan
from vps.program import FrameProgram

FAMILY = "pix2seq_d"


def frame_program(config: Config, meta: DatasetMeta, layout: BitLayout, steps: int | None = None,
                  warm_steps: int | None = None, warm_time: float | None = None,
                  input_size: tuple[int, int] | None = None) -> FrameProgram:
    """The frame program of a Pix2Seq-D model described by ``config``.

    ``steps`` (cold denoiser calls; default ``diffusion.steps``), ``warm_steps`` and ``warm_time``
    (default: the config's warm start) fix the plans; ``input_size`` (default the model's) the network input,
    whose masks are ``input_size / mask_stride``.
    """
    m, d = config.model, config.diffusion
    h, w = tuple(input_size or m.image_size)
    if h % m.mask_stride or w % m.mask_stride:
        raise ValueError(f"input size {h}x{w} is not a multiple of the mask stride {m.mask_stride}")
    return FrameProgram(
        family=FAMILY, preset=config.name, meta=meta, layout=layout, input_size=(h, w),
        mean=tuple(IMAGENET_MEAN), std=tuple(IMAGENET_STD), channel_order="rgb", resize_mode="stretch",
        mask_size=(h // m.mask_stride, w // m.mask_stride),
        sampler=sampler_plan(d, d.steps if steps is None else steps, warm_steps, warm_time),
        min_instance_area=d.min_instance_area, min_part_area=d.min_part_area)

