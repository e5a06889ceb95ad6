"""The naive pipeline a researcher would run: the checkpoint in PyTorch eager, fp32, no deployment tricks.

Per frame (``uint8 [H, W, 3]`` RGB):

* ``preprocess``: ImageNet normalisation and bilinear resize to the model input (:mod:`vps.model.preprocess`);
* ``encoder``: ``model.encode`` (fp32, eager, no autocast, no CUDA graphs);
* ``context``: the denoiser's per-frame context from the bits of the previous two predictions. Computed once
  per frame, as the toolkit's own PyTorch sampler does; a port that calls ``model.denoise`` every step
  would recompute it and be slower still, so the baseline is on the generous side;
* ``denoise_i``, ``i = 0 .. steps - 1`` (default 100 DDIM steps, the config's ``td``), always **from pure
  noise** (no warm start); each step's x0 estimate is the softmax expectation of the bits written with plain
  PyTorch operations (:func:`vps.kernels.reference.expected_bits_reference`, no Triton);
* ``decode``: argmax per byte with plain PyTorch operations (:func:`decode_panoptic_reference`);
* ``postprocess``: :func:`postprocess_python`, a per-instance Python loop doing the majority vote and the
  small-instance removal (as in earlier PyTorch ports of Pix2Seq-D), the split of detached instance parts
  (:func:`vps.components.split_instance_parts`, the toolkit's one implementation), then nearest resize to
  the frame size.

There is no separate tracking stage: Pix2Seq-D carries instance ids through its conditioning, and the
naive pipeline reports the model's ids as track ids. The results are the same function as
:func:`vps.model.postprocess.postprocess_panoptic` (tested), so quality differences between the pipelines
come from the sampling (steps, warm start, exported graphs), not from different post-processing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from vps.bench.timing import StageClock, make_clock
from vps.components import NUM_IDS, split_instance_parts
from vps.data.meta import DatasetMeta

DEFAULT_STEPS = 100


def postprocess_python(pan: Tensor, thing_ids: Sequence[int], min_area: int = 0,
                       label_divisor: int = 1000, min_part_area: int = 0) -> Tensor:
    """Per-instance Python-loop twin of :func:`vps.model.postprocess.postprocess_panoptic`.

    ``pan int [B, h, w]`` or ``[h, w]`` -> ``int32`` of the same shape: instance ids on stuff are cleared;
    each instance takes the majority class of its pixels (ties: the smallest class id); instances smaller
    than ``min_area`` pixels lose their id but keep the voted class. One ``torch.unique`` per image and one
    mask, vote and ``.item()`` per instance: the straightforward way, with a host sync per instance.
    ``min_part_area > 0`` then splits detached instance parts (:mod:`vps.components`, on the host).
    """
    squeeze = pan.dim() == 2
    pan = pan.unsqueeze(0) if squeeze else pan
    if pan.dim() != 3:
        raise ValueError(f"panoptic map must be [B, h, w] or [h, w], got shape {tuple(pan.shape)}")
    things = torch.as_tensor(list(thing_ids), dtype=torch.int64, device=pan.device)
    out = torch.empty_like(pan, dtype=torch.int32)
    for b in range(pan.shape[0]):
        cls = torch.div(pan[b].long(), label_divisor, rounding_mode="floor")
        inst = torch.remainder(pan[b].long(), label_divisor)
        is_thing = torch.isin(cls.clamp(0, NUM_IDS - 1), things)
        inst = torch.where(is_thing, inst.clamp(0, NUM_IDS - 1), torch.zeros_like(inst))
        for k in torch.unique(inst).tolist():
            if k == 0:
                continue
            mask = inst == k
            counts = torch.bincount(cls[mask].clamp(0, NUM_IDS - 1), minlength=NUM_IDS)
            cls[mask] = int(counts.argmax().item())
            if int(mask.sum().item()) < min_area:
                inst[mask] = 0
        out[b] = (cls * label_divisor + inst).to(torch.int32)
        if min_part_area > 0:
            split = split_instance_parts(out[b].cpu().numpy(), min_part_area, label_divisor)
            out[b] = torch.from_numpy(split).to(out.device)
    return out[0] if squeeze else out


class NaiveBaseline:
    """``step(frame) -> int32 [H, W]`` panoptic ids (model instance ids), with :attr:`last_timings`.

    Conditioned on its own previous two post-processed predictions (zeros at the start), like every
    Pix2Seq-D video pipeline; ``reset`` starts a new stream and reseeds the noise.
    """

    name = "baseline"

    def __init__(self, model: Any, meta: DatasetMeta, steps: int = DEFAULT_STEPS, td: float = 1.0,
                 min_area: int = 16, seed: int = 0, min_part_area: int = 0,
                 clock_factory: Callable[[torch.device], StageClock] = make_clock) -> None:
        from vps.model.samplers import DDIMSampler

        if steps < 1:
            raise ValueError(f"baseline steps must be >= 1, got {steps}")
        self.model = model.eval().float()
        self.meta = meta
        self.steps = int(steps)
        self.min_area = int(min_area)
        self.min_part_area = int(min_part_area)
        self.seed = int(seed)
        self.device = next(model.parameters()).device
        self.sampler = DDIMSampler(model.schedule, td=td)
        self.timesteps = self.sampler.set_timesteps(self.steps, start_time=1.0)
        self.generator = torch.Generator(device=self.device)
        self.clock = clock_factory(self.device)
        self.prev: list[Tensor] = []  # post-processed [1, h, w] masks, newest first
        self.last_timings: dict[str, float] = {}
        self.reset()

    @classmethod
    def from_checkpoint(cls, path: str | Path, device: str = "cpu", steps: int = DEFAULT_STEPS,
                        seed: int = 0) -> NaiveBaseline:
        """Load the EMA weights of a checkpoint (:func:`vps.model.checkpoint.load_for_inference`)."""
        from vps.model.checkpoint import load_for_inference

        model, config, meta = load_for_inference(path, device)
        d = config.diffusion
        return cls(model, meta, steps=steps, td=d.td, min_area=d.min_instance_area, seed=seed,
                   min_part_area=d.min_part_area)

    def reset(self) -> None:
        self.prev = []
        self.generator.manual_seed(self.seed)

    def _cond(self) -> Tensor:
        from vps.model.bits import panoptic_to_bits

        layout, (h, w) = self.model.layout, self.model.mask_size
        zeros = torch.zeros(1, layout.num_bits, h, w, device=self.device)
        blocks = [panoptic_to_bits(self.prev[k], layout) if k < len(self.prev) else zeros for k in range(2)]
        return torch.cat(blocks, dim=1)  # [1, 32, h, w]

    @torch.inference_mode()
    def step(self, frame: np.ndarray) -> np.ndarray:
        """One RGB frame ``uint8 [H, W, 3]`` -> ``int32 [H, W]``; stage times in :attr:`last_timings` (ms)."""
        from vps.kernels.reference import decode_panoptic_reference, expected_bits_reference
        from vps.model.preprocess import normalize_images, resize_images, resize_labels_nearest

        H, W = frame.shape[:2]
        m, clock = self.model, self.clock
        clock.begin_frame()
        with clock.stage("preprocess"):
            x = resize_images(normalize_images(frame, self.device), m.image_size)  # [1, 3, Hm, Wm]
        with clock.stage("encoder"):
            feats = m.encode(x)  # [1, C, h, w]
        with clock.stage("context"):
            ctx = m.context(self._cond(), feats)
        x_t = torch.randn((1, m.layout.num_bits, *m.mask_size), generator=self.generator, device=self.device)
        logits = feats
        for i, (t_now, t_next) in enumerate(self.timesteps):
            with clock.stage(f"denoise_{i}"):
                gamma = torch.full((1,), self.sampler.gamma(t_now), device=self.device)
                logits = m.denoise_step(x_t, ctx, gamma)  # [1, 512, h, w]
                if i + 1 < self.steps:
                    x0 = expected_bits_reference(logits, m.layout.scale)  # [1, 16, h, w]
                    x_t = self.sampler.step(x0, t_now, t_next, x_t)
        with clock.stage("decode"):
            pan = decode_panoptic_reference(logits, None, m.layout.label_divisor)  # int32 [1, h, w]
        with clock.stage("postprocess"):
            pan = postprocess_python(pan, self.meta.thing_ids, self.min_area, m.layout.label_divisor,
                                     self.min_part_area)
            out = resize_labels_nearest(pan[0], (H, W)).cpu().numpy().astype(np.int32)
        self.prev = [pan, *self.prev][:2]
        self.last_timings = clock.end_frame()
        return out
