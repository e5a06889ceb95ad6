"""The student stage of ``vps-train``: fine-tune a teacher checkpoint into a model that is good at one step.

Selected with ``train.student`` (``""`` = ordinary diffusion training); the run starts from the teacher's
EMA weights (``train.init_from``) and is an ordinary run otherwise (same loop, checkpoints, ``--resume``).
Every method trains the *start* of the deployed frame program, never a random time:

* cold samples start from pure noise at ``t = 1`` (the first frame of a sequence);
* warm samples (a fraction ``train.student_warm_prob`` of those whose ``t-1`` conditioning is present)
  start from a previous mask noised to ``diffusion.warm_start_time`` (what every later frame of a stream
  starts from), with the same noise draw the runtime uses: ``sqrt(g) * bits + sqrt(1 - g) * noise``.

Methods (``STUDENT_METHODS``):

``e2e``
    Single-step end-to-end fine-tuning with the task loss (Garcia et al. 2024, E2E-FT): the per-byte
    softmax cross-entropy of the one call from the start sample; the warm start sample is the ground-truth
    ``t-1`` mask (the conditioning), so the model learns to move the previous mask onto the current frame.
``self_align``
    Self-aligned denoising (Ji et al. 2023, DDP): as ``e2e``, but the warm start sample is the model's own
    one-step estimate (no gradient, hard ids as the runtime feeds them back) instead of a ground-truth mask,
    so training sees the errors inference feeds back.
``distill``
    Progressive distillation (Salimans & Ho 2022): the frozen teacher (``train.teacher``, default the
    ``init_from`` checkpoint) runs ``train.teacher_steps`` DDIM calls from the start sample; the student,
    through ``train.student_steps`` calls (gradients through all), matches the teacher's final per-byte
    distributions (soft cross-entropy, the task loss's pixel weights). Repeating with the student as the
    next teacher halves the step count per round.

The teacher is rebuilt from its file on ``--resume`` (it is frozen), so a resumed run is bit-identical.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from vps.bits import panoptic_to_bits, split_panoptic
from vps.config import Config
from vps.model.diffusion import segment_weights
from vps.model.samplers import DDIMSampler

STUDENT_METHODS = ("", "e2e", "self_align", "distill")


def check_student_config(config: Config) -> None:
    """Refuse an unknown method or inconsistent step counts before any work."""
    t = config.train
    if t.student not in STUDENT_METHODS:
        raise ValueError(f"train.student must be one of {STUDENT_METHODS}, got {t.student!r}")
    if not 0.0 <= t.student_warm_prob <= 1.0:
        raise ValueError(f"train.student_warm_prob must lie in [0, 1], got {t.student_warm_prob}")
    if t.student == "distill":
        if not 1 <= t.student_steps < t.teacher_steps:
            raise ValueError(f"distill needs 1 <= train.student_steps < train.teacher_steps, got "
                             f"{t.student_steps} and {t.teacher_steps}")
        if not (t.teacher or t.init_from):
            raise ValueError("distill needs a teacher: train.teacher or train.init_from")


class StudentLoss(nn.Module):
    """The student stage's loss, with the trainer's loss-module interface ``(images, target, cond, gen)``."""

    def __init__(self, model: nn.Module, config: Config, teacher: nn.Module | None = None) -> None:
        super().__init__()
        check_student_config(config)
        self.model = model
        self.method = config.train.student
        self.warm_prob = float(config.train.student_warm_prob)
        self.warm_time = float(config.diffusion.warm_start_time)
        self.sampler = DDIMSampler(model.schedule, td=config.diffusion.td, spacing=config.diffusion.spacing)
        self.student_steps = int(config.train.student_steps) if self.method == "distill" else 1
        self.teacher_steps = int(config.train.teacher_steps)
        self._teacher = [teacher] if teacher is not None else []  # a list: not a submodule (not saved)
        self.logs: dict[str, float] = {}

    # ---- start samples ----------------------------------------------------------------------------
    def start(self, prev_mask: Tensor, cond: Tensor,
              generator: torch.Generator | None) -> tuple[Tensor, Tensor]:
        """``(x_start [B, nb, h, w], warm [B] bool)``: noise, or ``prev_mask`` noised to the warm time.

        A sample is warm with probability ``student_warm_prob`` when its ``t-1`` conditioning is present.
        """
        nb = prev_mask.shape[1]
        noise = torch.randn(prev_mask.shape, generator=generator, device=prev_mask.device,
                            dtype=prev_mask.dtype)
        draw = torch.rand(prev_mask.shape[0], generator=generator, device=prev_mask.device)
        has_prev = cond[:, :nb].flatten(1).abs().amax(1) > 0
        warm = (draw < self.warm_prob) & has_prev
        g = self.model.schedule.gamma(self.warm_time)
        warm_x = prev_mask * g ** 0.5 + noise * (1.0 - g) ** 0.5
        x = torch.where(warm.view(-1, 1, 1, 1), warm_x, noise)
        return x, warm

    def plan_for(self, steps: int, warm: bool) -> list[tuple[float, float, float]]:
        """``(gamma, a, b)`` per call of a ``steps``-call plan (cold from ``t = 1``, warm: the warm time)."""
        plan = self.sampler.plan(steps, self.warm_time if warm else 1.0, warm=warm)
        return [(g, a, b) for g, (a, b) in zip(plan.gammas, plan.coefficients, strict=True)]

    def run_plan(self, model: nn.Module, x: Tensor, ctx: list[Tensor], warm: Tensor, steps: int) -> Tensor:
        """Logits after ``steps`` DDIM calls from ``x`` (per sample: the cold or the warm plan)."""
        from vps.kernels import expected_bits

        cold_p, warm_p = self.plan_for(steps, False), self.plan_for(steps, True)
        wv = warm.view(-1, 1, 1, 1).to(x.dtype)
        logits = x
        for i in range(steps):
            gamma = torch.where(warm, torch.tensor(warm_p[i][0]), torch.tensor(cold_p[i][0])).to(x)
            logits = model.denoise_step(x, ctx, gamma)
            if i + 1 < steps:
                x0 = expected_bits(logits, model.layout.scale)
                a = wv * warm_p[i][1] + (1 - wv) * cold_p[i][1]
                b = wv * warm_p[i][2] + (1 - wv) * cold_p[i][2]
                x = x0 * a + x * b
        return logits

    # ---- the loss -----------------------------------------------------------------------------------
    def forward(self, images: Tensor, target: Tensor, cond: Tensor,
                generator: torch.Generator | None = None) -> Tensor:
        model = self.model
        feats = model.encode(images)
        cond = cond.to(feats.dtype)
        nb = model.layout.num_bits
        prev = cond[:, :nb]  # ground-truth t-1 mask bits (zeros where dropped)
        if self.method == "self_align":
            prev = self.own_estimate(feats, cond, generator)
        x, warm = self.start(prev, cond, generator)
        ctx = model.context(cond, feats)
        logits = self.run_plan(model, x, ctx, warm, self.student_steps)
        gamma = torch.where(warm, torch.tensor(model.schedule.gamma(self.warm_time)),
                            torch.tensor(model.schedule.gamma(1.0))).to(feats)
        if self.method == "distill":
            loss, logs = self.distill_loss(logits, self.teacher_logits(images, cond, x, warm), target)
        else:
            loss, logs = model._loss(logits, target, gamma)
        self.logs = {**logs, "warm_frac": float(warm.float().mean())}
        return loss

    @torch.no_grad()
    def own_estimate(self, feats: Tensor, cond: Tensor, generator: torch.Generator | None) -> Tensor:
        """Bits of the model's own cold one-step ids (hard, as the runtime feeds a prediction back)."""
        from vps.kernels import decode_panoptic

        model = self.model
        nb = model.layout.num_bits
        noise = torch.randn((cond.shape[0], nb, *cond.shape[-2:]), generator=generator, device=cond.device,
                            dtype=cond.dtype)
        gamma = torch.full((cond.shape[0],), model.schedule.gamma(1.0), device=cond.device)
        logits = model.denoise(noise, cond, feats.detach(), gamma)
        ids = decode_panoptic(logits, None, model.layout.label_divisor).long()
        return panoptic_to_bits(ids, model.layout).to(cond.dtype)

    @torch.no_grad()
    def teacher_logits(self, images: Tensor, cond: Tensor, x: Tensor, warm: Tensor) -> Tensor:
        """The frozen teacher's final logits after ``teacher_steps`` calls from the same start sample."""
        if not self._teacher:
            raise ValueError("distill: no teacher model")
        teacher = self._teacher[0]
        ctx = teacher.context(cond, teacher.encode(images))
        return self.run_plan(teacher, x, ctx, warm, self.teacher_steps)

    def distill_loss(self, logits: Tensor, teacher: Tensor,
                     target: Tensor) -> tuple[Tensor, dict[str, float]]:
        """Per-byte soft cross-entropy against the teacher's distributions, weighted like the task loss."""
        model = self.model
        cls, inst = split_panoptic(target, model.layout.label_divisor)
        valid = cls != model.ignore_label
        w = segment_weights(cls, inst, model.loss_size_power, valid)  # [B, h, w]
        n = w.numel()
        parts = []
        for sl in (slice(0, 256), slice(256, 512)):
            p = F.softmax(teacher[:, sl].float(), dim=1)
            ce = -(p * F.log_softmax(logits[:, sl].float(), dim=1)).sum(1)  # [B, h, w]
            parts.append((w * ce).sum() / n)
        loss = parts[0] + parts[1]
        return loss, {"loss": float(loss.detach()), "loss_class": float(parts[0].detach()),
                      "loss_instance": float(parts[1].detach())}


def load_teacher(config: Config, model: nn.Module,
                 load_weights: Callable[[nn.Module, Path], None]) -> nn.Module:
    """A frozen copy of ``model``'s architecture holding the teacher's EMA weights."""
    path = Path(config.train.teacher or config.train.init_from)
    teacher = copy.deepcopy(model)
    load_weights(teacher, path)
    teacher.eval()
    for p in teacher.parameters():
        p.requires_grad_(False)
    return teacher
