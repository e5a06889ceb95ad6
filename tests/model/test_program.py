"""A checkpoint's frame program: what the exporter writes and what vps-predict / training evaluation run."""

from __future__ import annotations

import pytest

from vps.bits import BitLayout
from vps.config import load_config
from vps.data.meta import KITTI_STEP
from vps.model.program import FAMILY, frame_program


def test_frame_program_of_the_tiny_preset() -> None:
    config = load_config("configs/tiny.yaml")
    program = frame_program(config, KITTI_STEP, BitLayout(), steps=2)
    assert program.family == FAMILY == "pix2seq_d" and program.preset == config.name
    assert program.input_size == tuple(config.model.image_size)
    assert program.mask_size == (config.model.image_size[0] // 2, config.model.image_size[1] // 2)
    assert program.sampler.cold.steps == 2
    assert program.sampler.warm.steps == config.diffusion.warm_start_steps
    assert (program.min_instance_area, program.min_part_area) == (config.diffusion.min_instance_area,
                                                                 config.diffusion.min_part_area)
    default = frame_program(config, KITTI_STEP, BitLayout())
    assert default.sampler.cold.steps == config.diffusion.steps
    bigger = frame_program(config, KITTI_STEP, BitLayout(), input_size=(192, 640))
    assert bigger.mask_size == (96, 320)
    assert program.with_postprocess(min_part_area=0).min_part_area == 0
    with pytest.raises(ValueError, match="mask stride"):
        frame_program(config, KITTI_STEP, BitLayout(), input_size=(97, 320))


def test_spacing_reaches_the_manifest_and_old_manifests_mean_td() -> None:
    from dataclasses import replace

    from vps.config import from_dict, to_plain
    from vps.program import SamplerPlan

    config = load_config("configs/tiny.yaml")
    config = replace(config, diffusion=replace(config.diffusion, spacing="trailing"))
    plan = frame_program(config, KITTI_STEP, BitLayout(), steps=2).sampler
    assert plan.spacing == "trailing" and plan.cold.times == ((1.0, 0.5), (0.5, 0.0))
    stored = to_plain(plan)
    assert from_dict(SamplerPlan, stored, "sampler") == plan
    del stored["spacing"]  # a manifest written before the option existed
    assert from_dict(SamplerPlan, stored, "sampler").spacing == "td"


def test_kernel_plan_of_a_knet_config() -> None:
    import inspect
    from dataclasses import replace

    from vps.model.knet.losses import track_loss

    config = load_config("configs/tiny.yaml")
    config = replace(config, model=replace(config.model, family="video_knet"))
    program = frame_program(config, KITTI_STEP, BitLayout(), steps=7)  # steps: not a K-Net notion, ignored
    plan = program.kernels
    assert program.family == "video_knet" and program.sampler is None and plan is not None
    assert plan.num_things == config.knet.num_proposals and plan.stuff_classes == KITTI_STEP.stuff_ids
    assert plan.num_kernels == plan.num_things + 17 and plan.match_threshold == config.knet.match_threshold
    assert (program.min_instance_area, program.min_part_area) == (0, 0)  # K-Net's fusion is its clean-up
    # association's similarity uses the temperature the tracking embeddings are trained with
    assert plan.temperature == inspect.signature(track_loss).parameters["temperature"].default
    with pytest.raises(ValueError, match="model.family"):
        frame_program(replace(config, model=replace(config.model, family="other")), KITTI_STEP, BitLayout())
