"""Sampling and streaming video inference with a trained :class:`Pix2SeqD`.

``sample`` runs the reverse diffusion for one batch: per-frame context once, then ``steps`` denoiser
evaluations; the x0 estimate passed to the sampler is the expected analog bits of the predicted
softmaxes (``vps.kernels.expected_bits``) and the result is the last step's logits.

``VideoPredictor`` processes a stream frame by frame: resize + normalise, encode once, condition on the
bits of the previous two (post-processed) predictions (zeros at the start), sample (with the optional warm
start from frame 2 on: the previous prediction noised to ``warm_start_time`` and ``warm_start_steps``
steps instead of pure noise and ``steps`` steps), decode (``vps.kernels.decode_panoptic``), post-process
(``min_area``, ``min_part_area``: :func:`vps.model.postprocess.postprocess_panoptic`),
and resize (nearest) back to the input resolution. Noise comes from a seeded generator: a stream gives the
same output for the same seed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import torch
from torch import Tensor

from vps.data.meta import KITTI_STEP
from vps.model.bits import panoptic_to_bits
from vps.model.pix2seq_d import NUM_COND_FRAMES, Pix2SeqD
from vps.model.postprocess import postprocess_panoptic
from vps.model.preprocess import normalize_images, resize_images, resize_labels_nearest
from vps.model.samplers import Sampler


def sample(model: Pix2SeqD, feats: Tensor, cond: Tensor, sampler: Sampler, steps: int,
           x_init: Tensor | None = None, generator: torch.Generator | None = None,
           start_time: float = 1.0) -> Tensor:
    """Reverse diffusion -> logits ``[B, 512, h, w]`` of the final step.

    ``feats [B, C, h, w]`` from ``model.encode``; ``cond [B, 32, h, w]``. ``x_init`` (optional) is a clean
    analog-bit estimate ``[B, 16, h, w]`` (warm start, e.g. the previous frame's prediction), noised to
    ``start_time`` first; without it sampling starts from pure noise. No host syncs inside the loop.
    """
    from vps.kernels import expected_bits

    B, _, h, w = feats.shape
    scale = model.layout.scale
    timesteps = sampler.set_timesteps(steps, start_time=start_time)
    ctx = model.context(cond, feats)
    shape = (B, model.layout.num_bits, h, w)
    noise = torch.randn(shape, generator=generator, device=feats.device, dtype=torch.float32)
    x = noise if x_init is None else sampler.noise_to(x_init.float(), start_time, noise)  # fp32 state
    logits = feats.new_empty(0)
    for i, (t_now, t_next) in enumerate(timesteps):
        gamma = torch.full((B,), sampler.gamma(t_now), device=feats.device, dtype=torch.float32)
        logits = model.denoise_step(x, ctx, gamma)  # [B, 512, h, w]
        if i + 1 < len(timesteps):
            x0 = expected_bits(logits, scale).float()  # [B, 16, h, w]
            x = sampler.step(x0, t_now, t_next, x, generator=generator)
    return logits


class VideoPredictor:
    """Frame-by-frame video panoptic segmentation; ``step(uint8 [H, W, 3]) -> int32 [H, W]``.

    The model is put in eval mode for each call and restored afterwards. ``thing_ids`` (classes that
    carry instance ids) default to KITTI-STEP's. ``amp_dtype`` (e.g. ``torch.bfloat16`` on a GPU) runs the
    encoder and denoiser under autocast; the sampler state stays fp32.
    """

    def __init__(self, model: Pix2SeqD, sampler: Sampler, steps: int, warm_start: bool = False,
                 warm_start_steps: int = 2, warm_start_time: float = 0.5, min_area: int = 16,
                 min_part_area: int = 0, generator_seed: int = 0, thing_ids: Sequence[int] | None = None,
                 amp_dtype: torch.dtype | None = None) -> None:
        if steps < 1 or (warm_start and warm_start_steps < 1):
            raise ValueError(f"steps ({steps}) and warm_start_steps ({warm_start_steps}) must be >= 1")
        if warm_start and not 0.0 < warm_start_time <= 1.0:
            raise ValueError(f"warm_start_time must lie in (0, 1], got {warm_start_time}")
        self.model = model
        self.sampler = sampler
        self.steps = steps
        self.warm_start = warm_start
        self.warm_start_steps = warm_start_steps
        self.warm_start_time = warm_start_time
        self.min_area = min_area
        self.min_part_area = min_part_area
        self.seed = generator_seed
        self.thing_ids = tuple(KITTI_STEP.thing_ids if thing_ids is None else thing_ids)
        self.amp_dtype = amp_dtype
        self.device = next(model.parameters()).device
        self.generator = torch.Generator(device=self.device)
        self.prev: list[Tensor] = []  # post-processed masks [1, h, w] of the last frames, newest first
        self.reset()

    def reset(self) -> None:
        """Start a new stream: forget previous masks and reseed the noise."""
        self.prev = []
        self.generator.manual_seed(self.seed)

    def _cond(self) -> Tensor:
        """Bits of the previous two predictions ``[1, 32, h, w]`` (t-1 then t-2; zeros where absent)."""
        layout, (h, w) = self.model.layout, self.model.mask_size
        zeros = torch.zeros(1, layout.num_bits, h, w, device=self.device)
        blocks = [panoptic_to_bits(self.prev[k], layout) if k < len(self.prev) else zeros
                  for k in range(NUM_COND_FRAMES)]
        return torch.cat(blocks, dim=1)

    @torch.inference_mode()
    def step(self, image: np.ndarray | Tensor) -> np.ndarray:
        """One RGB frame ``uint8 [H, W, 3]`` -> panoptic ``int32 [H, W]`` (class * 1000 + instance)."""
        from vps.kernels import decode_panoptic

        if image.ndim != 3 or image.shape[-1] != 3:
            raise ValueError(f"frame must be uint8 [H, W, 3] RGB, got shape {tuple(image.shape)}")
        H, W = image.shape[:2]
        was_training = self.model.training
        self.model.eval()
        amp = torch.autocast(self.device.type, dtype=self.amp_dtype, enabled=self.amp_dtype is not None)
        try:
            x = resize_images(normalize_images(image, self.device), self.model.image_size)  # [1, 3, Hm, Wm]
            warm = self.warm_start and len(self.prev) > 0
            x_init = panoptic_to_bits(self.prev[0], self.model.layout) if warm else None
            with amp:
                feats = self.model.encode(x)
                logits = sample(self.model, feats, self._cond(), self.sampler,
                                self.warm_start_steps if warm else self.steps, x_init=x_init,
                                generator=self.generator, start_time=self.warm_start_time if warm else 1.0)
            pan = decode_panoptic(logits)  # [1, h, w] int32
            pan = postprocess_panoptic(pan, self.thing_ids, self.min_area, self.model.layout.label_divisor,
                                       self.min_part_area)
        finally:
            self.model.train(was_training)
        self.prev = [pan, *self.prev][:NUM_COND_FRAMES]
        out = resize_labels_nearest(pan[0], (H, W))
        return out.to(torch.int32).cpu().numpy()

    def predict_sequence(self, frames: Iterable[np.ndarray]) -> list[np.ndarray]:
        """Reset, then :meth:`step` every frame; one ``int32 [H, W]`` map per frame."""
        self.reset()
        return [self.step(f) for f in frames]
