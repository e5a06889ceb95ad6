"""Reading a checkpoint for inference and building the network it describes.

A checkpoint is a :class:`Checkpoint` saved by training (:mod:`vps.train.checkpoint` writes it) as a plain
dict of tensors and Python primitives, so it loads with ``torch.load(weights_only=True)``: no pickled code
runs on load. This module is what everything outside training reads checkpoints with (the runtime's torch
backend, the exporter, the benchmark, ``vps-predict``), so none of them imports :mod:`vps.train`.
"""

from __future__ import annotations

import pickle
import warnings
import zipfile
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
            raise DataError(path, f"checkpoint version {payload.get('version')!r:.40} is not supported "
                                  f"(this toolkit reads version {VERSION})")
        names = {f.name for f in fields(cls)}
        required = {"step", "config", "meta", "layout", "ema_weights"}
        missing = sorted(required - set(payload))
        if missing:
            raise DataError(path, f"checkpoint lacks {missing}")
        _check_types(payload, path)
        return cls(**{k: v for k, v in payload.items() if k in names})

    def typed_config(self, path: str | Path = "<checkpoint>") -> Config:
        try:
            return from_dict(Config, self.config, where=f"{path}:config")
        except (TypeError, ValueError) as e:
            raise DataError(path, f"stored config is incompatible with this toolkit: {e}") from None

    def typed_meta(self, path: str | Path = "<checkpoint>") -> DatasetMeta:
        try:
            return DatasetMeta.from_dict(self.meta)
        except (TypeError, ValueError, KeyError) as e:
            raise DataError(path, f"stored class metadata is invalid: {_one_line(e)}") from None

    def bit_layout(self, path: str | Path = "<checkpoint>") -> BitLayout:
        try:
            return BitLayout.from_dict(self.layout)
        except (TypeError, ValueError, KeyError) as e:
            raise DataError(path, f"stored bit layout is invalid: {_one_line(e)}") from None


def _one_line(error: BaseException) -> str:
    """The first line of an exception's message (its type name when empty)."""
    text = str(error.args[0] if isinstance(error, KeyError) and error.args else error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _check_types(payload: dict[str, Any], path: str | Path) -> None:
    """The fields every reader relies on have the types training writes (``DataError`` otherwise)."""
    if not isinstance(payload["step"], int) or isinstance(payload["step"], bool) or payload["step"] < 0:
        raise DataError(path, f"checkpoint step must be a non-negative integer, got {payload['step']!r:.40}")
    for name in ("config", "meta", "layout", "ema_weights"):
        if not isinstance(payload[name], dict):
            kind = type(payload[name]).__name__
            raise DataError(path, f"checkpoint field {name!r} must be a dict, got {kind}")
    bad = [k for k, v in payload["ema_weights"].items() if not isinstance(k, str) or not torch.is_tensor(v)]
    if bad:
        raise DataError(path, f"checkpoint ema_weights must map names to tensors (bad: {bad[:3]!r:.80})")


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> Checkpoint:
    """Read a checkpoint (always ``weights_only``); a bad file raises ``DataError`` naming it in one line.

    The reason says what is wrong with the file (empty, truncated, not a PyTorch file, holds Python objects
    other than tensors, not a vps checkpoint) and never suggests loading it as an arbitrary pickle.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(path, "checkpoint file not found" if not path.exists() else "not a file")
    size = path.stat().st_size
    if size == 0:
        raise DataError(path, "checkpoint file is empty (0 bytes); the run that wrote it was interrupted?")
    try:
        with warnings.catch_warnings():  # torch warns about pickle protocols before failing
            warnings.simplefilter("ignore")
            payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as e:  # torch raises RuntimeError/UnpicklingError/EOFError/zipfile errors
        raise DataError(path, _unreadable_reason(path, size, e)) from None
    return Checkpoint.from_payload(payload, path)


def _intact_zip(path: Path) -> bool:
    """Whether ``path`` is a zip archive Python can open (``is_zipfile`` itself raises on some damage)."""
    try:
        return zipfile.is_zipfile(path)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return False


_PICKLE_PROTOCOLS = (b"\x02", b"\x03", b"\x04", b"\x05")  # a pickle opens with PROTO (0x80), then these


def _unreadable_reason(path: Path, size: int, error: Exception) -> str:
    """One complete sentence on why ``torch.load(path, weights_only=True)`` failed."""
    with open(path, "rb") as f:
        head = f.read(4)
    text = str(error)
    if head == b"PK\x03\x04":  # the zip container torch.save writes
        if not _intact_zip(path) or "central directory" in text or isinstance(error, EOFError):
            return f"truncated or damaged checkpoint ({size} bytes; the zip archive is incomplete)"
        if "Weights only load failed" in text or isinstance(error, pickle.UnpicklingError):
            return ("not a vps checkpoint: it holds Python objects other than tensors and plain data, which "
                    "are never loaded (only weights_only checkpoints are read)")
        return f"damaged checkpoint ({type(error).__name__} while reading the zip archive)"
    if head[:1] == b"\x80" and head[1:2] in _PICKLE_PROTOCOLS and "Weights only load failed" in text:
        return ("not a vps checkpoint: a pickle of Python objects rather than a torch.save file of tensors "
                "(never loaded, only weights_only checkpoints are read)")
    if isinstance(error, EOFError | zipfile.BadZipFile):
        return f"truncated checkpoint ({size} bytes end before the data does)"
    return f"not a PyTorch checkpoint ({size} bytes that are neither a torch.save zip archive nor a pickle)"


def load_state_strict(
    module: nn.Module, weights: dict[str, torch.Tensor], path: str | Path, what: str
) -> None:
    """``load_state_dict(strict=True)`` with shape/key mismatches turned into a ``DataError``."""
    own = module.state_dict()
    missing = sorted(set(own) - set(weights))
    unexpected = sorted(set(weights) - set(own))
    shapes = [k for k in own if k in weights and tuple(own[k].shape) != tuple(weights[k].shape)]
    if missing or unexpected or shapes:
        raise DataError(path, f"{what} do not fit the model its config describes (another preset, or a "
                              f"damaged file): missing {missing[:3]}, unexpected "
                              f"{unexpected[:3]}, shape mismatch {shapes[:3]}")
    module.load_state_dict({k: v.to(own[k].dtype) for k, v in weights.items()})


MODEL_FAMILIES = ("pix2seq_d", "video_knet")


def build_model(config: Config) -> nn.Module:
    """The network described by ``config`` (random weights): ``model.family`` ``pix2seq_d`` (Pix2SeqD) or
    ``video_knet`` (VideoKNet, built for the label space of ``data.dataset``)."""
    family = config.model.family
    if family == "pix2seq_d":
        from vps.model import Pix2SeqD  # torch model code is imported lazily

        return Pix2SeqD.from_config(config.model, config.diffusion)
    if family == "video_knet":
        from vps.data.meta import meta_for_dataset
        from vps.model.knet import VideoKNet

        return VideoKNet.from_config(config, meta_for_dataset(config.data.dataset))
    raise ValueError(f"model.family must be one of {MODEL_FAMILIES}, got {family!r}")


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
    return model, config, ckpt.typed_meta(path)
