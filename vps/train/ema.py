"""Exponential moving average of model weights (used for evaluation, inference and export).

The effective decay ramps up as ``min(decay, (1 + n) / (10 + n))`` over the first updates so that a short
run (the tiny preset trains a few thousand steps) is not dominated by the random initialisation.
"""

from __future__ import annotations

import torch
from torch import nn


class EMA:
    """Shadow copy of a model's floating-point parameters and buffers."""

    def __init__(self, model: nn.Module, decay: float = 0.999, warmup: bool = True) -> None:
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"EMA decay must lie in [0, 1), got {decay}")
        self.decay = decay
        self.warmup = warmup
        self.num_updates = 0
        self.shadow: dict[str, torch.Tensor] = {
            k: v.detach().clone() for k, v in model.state_dict().items()
        }

    def current_decay(self) -> float:
        """Decay used by the next :meth:`update`."""
        if not self.warmup:
            return self.decay
        return min(self.decay, (1.0 + self.num_updates) / (10.0 + self.num_updates))

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        """``shadow = d * shadow + (1 - d) * weights`` for float tensors; integer buffers are copied."""
        d = self.current_decay()
        for k, v in model.state_dict().items():
            s = self.shadow[k]
            if s.is_floating_point():
                s.mul_(d).add_(v.detach().to(s.dtype), alpha=1.0 - d)
            else:
                s.copy_(v)
        self.num_updates += 1

    def copy_to(self, model: nn.Module) -> None:
        """Load the averaged weights into ``model``."""
        model.load_state_dict(self.shadow)

    def state_dict(self) -> dict[str, object]:
        return {"decay": self.decay, "warmup": self.warmup, "num_updates": self.num_updates,
                "shadow": {k: v.clone() for k, v in self.shadow.items()}}

    def load_state_dict(self, state: dict[str, object]) -> None:
        shadow = state["shadow"]
        assert isinstance(shadow, dict)
        missing = sorted(set(self.shadow) - set(shadow))
        unexpected = sorted(set(shadow) - set(self.shadow))
        if missing or unexpected:
            raise KeyError(f"EMA weights do not match the model: missing {missing[:5]}, "
                           f"unexpected {unexpected[:5]}")
        for k, v in shadow.items():
            if v.shape != self.shadow[k].shape:
                want = tuple(self.shadow[k].shape)
                raise KeyError(f"EMA weight {k}: shape {tuple(v.shape)} != model {want}")
            self.shadow[k].copy_(v)
        self.decay = float(state["decay"])  # type: ignore[arg-type]
        self.warmup = bool(state["warmup"])
        self.num_updates = int(state["num_updates"])  # type: ignore[call-overload]
