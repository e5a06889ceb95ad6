"""Learning-rate schedule: linear warm-up then cosine decay, as a pure function of the step.

A pure function (rather than a stateful ``torch.optim.lr_scheduler``) makes resuming trivial: the step
number in the checkpoint is the whole scheduler state.
"""

from __future__ import annotations

import math

import torch


def lr_at(step: int, base_lr: float, warmup_steps: int, max_steps: int, min_lr_ratio: float = 0.0) -> float:
    """Learning rate for optimiser step ``step`` (0-based).

    Linear warm-up from ``base_lr / warmup_steps`` to ``base_lr`` over ``warmup_steps`` steps, then a
    half-cosine from ``base_lr`` down to ``base_lr * min_lr_ratio`` at ``max_steps``; constant after that.
    """
    if step < 0:
        raise ValueError(f"step must be >= 0, got {step}")
    if warmup_steps > 0 and step < warmup_steps:
        return base_lr * (step + 1) / warmup_steps
    decay_steps = max(1, max_steps - warmup_steps)
    progress = min(1.0, (step - warmup_steps) / decay_steps)
    cosine = 0.5 * (1.0 + math.cos(math.pi * progress))
    return base_lr * (min_lr_ratio + (1.0 - min_lr_ratio) * cosine)


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    """Write ``lr`` into every parameter group of ``optimizer``."""
    for group in optimizer.param_groups:
        group["lr"] = lr
