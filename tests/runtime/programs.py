"""Hand-made frame programs and manifests for runtime tests (no checkpoint, no export)."""

from __future__ import annotations

import math
from dataclasses import replace

from vps.bits import BitLayout
from vps.data.meta import KITTI_STEP
from vps.program import FrameProgram, KernelPlan, SamplerPlan, StepPlan
from vps.runtime.manifest import GraphSpec, Manifest


def ddim_plan(times: tuple[tuple[float, float], ...], g_now: tuple[float, ...], g_next: tuple[float, ...],
              start_gamma: float | None = None) -> StepPlan:
    """A step plan with DDIM coefficients computed here (the runtime never computes them)."""
    def coeff(a: float, b: float) -> tuple[float, float]:
        bb = math.sqrt(max(1.0 - b, 0.0)) / math.sqrt(max(1.0 - a, 1e-20))
        return math.sqrt(max(b, 0.0)) - bb * math.sqrt(max(a, 0.0)), bb
    coefficients = tuple(coeff(a, b) for a, b in zip(g_now, g_next, strict=True))
    return StepPlan(times=times, gammas=g_now, coefficients=coefficients, start_gamma=start_gamma)


# 2 cold steps, 1 warm step from t = 0.5
SAMPLER = SamplerPlan(sampler="ddim", schedule="cosine", td=1.0, warm_start_time=0.5,
                      cold=ddim_plan(((1.0, 0.5), (0.5, 0.0)), (0.0, 0.5), (0.5, 1.0)),
                      warm=ddim_plan(((0.5, 0.0),), (0.25,), (1.0,), start_gamma=0.5))


def make_program(input_size: tuple[int, int] = (16, 32), stride: int = 2, **changes: object) -> FrameProgram:
    """A fake model's program: ``input_size / stride`` masks, KITTI-STEP classes, :data:`SAMPLER`."""
    h, w = input_size
    program = FrameProgram(family="pix2seq_d", preset="fake", meta=KITTI_STEP, layout=BitLayout(),
                           input_size=(h, w), mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25),
                           channel_order="rgb", resize_mode="stretch", mask_size=(h // stride, w // stride),
                           sampler=SAMPLER, min_instance_area=4, min_part_area=0)
    return replace(program, **changes) if changes else program  # type: ignore[arg-type]


# 4 thing kernels + one per KITTI-STEP stuff class (17), 8-channel kernels, 4-d embeddings
KERNELS = KernelPlan(num_things=4, num_kernels=4 + len(KITTI_STEP.stuff_ids), kernel_dim=8, embed_dim=4,
                     stuff_classes=KITTI_STEP.stuff_ids, score_threshold=0.3, mask_threshold=0.5,
                     overlap_threshold=0.6, match_threshold=0.5, memory_frames=5, memory_momentum=0.8)


def make_knet_program(input_size: tuple[int, int] = (16, 32), stride: int = 2,
                      **changes: object) -> FrameProgram:
    """A fake Video K-Net's program: ``input_size / stride`` masks, KITTI-STEP classes, :data:`KERNELS`."""
    return make_program(input_size, stride, family="video_knet", sampler=None, kernels=KERNELS,
                        min_instance_area=0, **changes)


def make_manifest(program: FrameProgram | None = None, graphs: tuple[GraphSpec, ...] = (),
                  **changes: object) -> Manifest:
    """A manifest around ``program`` (default :func:`make_program`)."""
    manifest = Manifest(program=program or make_program(), graphs=graphs, opset=18, versions={})
    return replace(manifest, **changes) if changes else manifest  # type: ignore[arg-type]
