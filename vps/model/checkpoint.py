"""Reading a checkpoint for inference and building the network it describes.

A checkpoint is a :class:`Checkpoint` saved by training (:mod:`vps.train.checkpoint` writes it) as a plain
dict of tensors and Python primitives, so it loads with ``torch.load(weights_only=True)``: no pickled code
runs on load. This module is what everything outside training reads checkpoints with (the runtime's torch
backend, the exporter, the benchmark, ``vps-predict``), so none of them imports :mod:`vps.train`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import torch
from torch import nn

from vps.bits import BitLayout
from vps.config import Config, from_dict
from vps.data.meta import DatasetMeta
from vps.errors import DataError

FORMAT = "vps-pix2seqd-checkpoint"
VERSION = 1


@dataclass
class Checkpoint:
    """Everything a run or an inference session needs; ``slim`` ones lack the training state."""

    step: int
    config: dict[str, Any]
    meta: dict[str, Any]
    layout: dict[str, Any]
    ema_weights: dict[str, torch.Tensor]
    ema_updates: int = 0
    model: dict[str, torch.Tensor] | None = None
    optimizer: dict[str, Any] | None = None
    scaler: dict[str, Any] | None = None
    rng: dict[str, Any] | None = None
    sampler: dict[str, Any] | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    slim: bool = False

    def to_payload(self) -> dict[str, Any]:
        return {"format": FORMAT, "version": VERSION, **asdict(self)}

    @classmethod
    def from_payload(cls, payload: Any, path: str | Path) -> Checkpoint:
        """Validate the raw dict read from ``path`` (errors name the file)."""
        if not isinstance(payload, dict) or payload.get("format") != FORMAT:
            raise DataError(path, f"not a vps checkpoint (missing format marker {FORMAT!r})")
        if payload.get("version") != VERSION:
            raise DataError(path, f"checkpoint version {payload.get('version')} is not supported "
                                  f"(this toolkit reads version {VERSION})")
        names = {f.name for f in fields(cls)}
        required = {"step", "config", "meta", "layout", "ema_weights"}
        missing = sorted(required - set(payload))
        if missing:
            raise DataError(path, f"checkpoint lacks {missing}")
        return cls(**{k: v for k, v in payload.items() if k in names})

    def typed_config(self, path: str | Path = "<checkpoint>") -> Config:
        try:
            return from_dict(Config, self.config, where=f"{path}:config")
        except (TypeError, ValueError) as e:
            raise DataError(path, f"stored config is incompatible with this toolkit: {e}") from None

    def typed_meta(self) -> DatasetMeta:
        return DatasetMeta.from_dict(self.meta)

    def bit_layout(self) -> BitLayout:
        return BitLayout.from_dict(self.layout)


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> Checkpoint:
    """Read a checkpoint; a missing, truncated or foreign file raises ``DataError`` naming it."""
    path = Path(path)
    if not path.is_file():
        raise DataError(path, "checkpoint file not found")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as e:  # torch raises RuntimeError/UnpicklingError/EOFError/zipfile errors
        first = (str(e).strip().splitlines() or [""])[0][:200]  # torch's messages span many lines
        raise DataError(path, f"corrupt or unreadable checkpoint ({type(e).__name__}: {first})") from None
    return Checkpoint.from_payload(payload, path)


def load_state_strict(
    module: nn.Module, weights: dict[str, torch.Tensor], path: str | Path, what: str
) -> None:
    """``load_state_dict(strict=True)`` with shape/key mismatches turned into a ``DataError``."""
    own = module.state_dict()
    missing = sorted(set(own) - set(weights))
    unexpected = sorted(set(weights) - set(own))
    shapes = [k for k in own if k in weights and tuple(own[k].shape) != tuple(weights[k].shape)]
    if missing or unexpected or shapes:
        raise DataError(path, f"{what} do not match the model: missing {missing[:3]}, unexpected "
                              f"{unexpected[:3]}, shape mismatch {shapes[:3]}")
    module.load_state_dict({k: v.to(own[k].dtype) for k, v in weights.items()})


def build_model(config: Config) -> nn.Module:
    """The Pix2SeqD network described by ``config`` (random weights)."""
    from vps.model import Pix2SeqD  # torch model code is imported lazily

    return Pix2SeqD.from_config(config.model, config.diffusion)


def load_for_inference(
    path: str | Path,
    device: str | torch.device = "cpu",
    model_factory: Callable[[Config], nn.Module] = build_model,
) -> tuple[nn.Module, Config, DatasetMeta]:
    """(model holding the EMA weights in eval mode, its Config, its DatasetMeta) from a full or slim file."""
    ckpt = load_checkpoint(path)
    config = ckpt.typed_config(path)
    model = model_factory(config)
    load_state_strict(model, ckpt.ema_weights, path, "EMA weights")
    model.to(device).eval()
    return model, config, ckpt.typed_meta()
