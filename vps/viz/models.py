"""Models for ``vps-viz --model``: export folders and checkpoints run through the frame engine, side by side.

A model is an export folder (opened with :meth:`vps.runtime.Segmenter.load`, as ``vps-run`` does) or a
training checkpoint (:meth:`vps.runtime.Segmenter.from_checkpoint`, the torch backend), of any model family
the runtime knows: the manifest or the checkpoint says which. ``PATH@N`` runs a checkpoint of a family with
denoiser steps at ``N`` steps per frame (cold and warm, as ``vps-export --steps N`` would); an export folder
runs the steps it was exported with. Each model streams the clip with its own tracker
(:class:`~vps.runtime.FrameResult` ``panoptic``: ``class * 1000 + track number``, stable across a sequence).

:func:`compose` draws one output frame: ``panel`` = image | model A | model B | ... | ground truth (each
column titled; predictions in class colours shaded per track, like every ``vps-viz`` view), ``overlay`` =
each model's prediction blended over the image, one titled column per model. Frames wider than
``tile_width`` are shrunk first (images by area, label maps nearest), which keeps README GIFs small.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from vps.data.meta import DatasetMeta
from vps.errors import DataError
from vps.viz.colorize import overlay, panoptic_colors
from vps.viz.render import panel

FAMILY_NAMES = {"pix2seq_d": "Pix2Seq-D", "video_knet": "Video K-Net"}  # display names of the families
MODEL_MODES = ("panel", "overlay")


@dataclass
class VizModel:
    """One model under a column title: ``step(rgb)`` -> ``int32 [H, W]`` panoptic ids at frame size."""

    label: str
    segmenter: Any  # vps.runtime.Segmenter

    @property
    def meta(self) -> DatasetMeta:
        return self.segmenter.meta

    def reset(self) -> None:
        self.segmenter.reset()

    def step(self, image: np.ndarray) -> np.ndarray:
        return np.asarray(self.segmenter.step(image, rgb=True).panoptic, np.int32)


def parse_spec(spec: str) -> tuple[Path, int | None]:
    """``PATH`` or ``PATH@STEPS`` (a path that exists as written is never split)."""
    path, _, steps = spec.rpartition("@")
    if not path or Path(spec).exists() or not steps.isdigit():
        return Path(spec), None
    if int(steps) < 1:
        raise ValueError(f"--model {spec}: steps after '@' must be >= 1")
    return Path(path), int(steps)


def default_label(program: Any) -> str:
    """``Pix2Seq-D, 2 steps``, ``Pix2Seq-D, 4 steps (warm 2)``, ``Video K-Net``: family and step plan."""
    name = FAMILY_NAMES.get(program.family, program.family)
    if program.step_counts is None:
        return name
    cold, warm = program.step_counts
    text = f"{name}, {cold} step{'s' if cold != 1 else ''}"
    return text if warm == cold else f"{text} (warm {warm})"


def open_model(spec: str, label: str | None = None, threads: int = 1, seed: int = 0,
               backend: str = "auto") -> VizModel:
    """The model ``spec`` names (see the module docstring); ``DataError`` / ``ValueError`` naming it.

    ``backend``: the runtime backend of an export folder (``auto``: as ``vps-run`` picks it); checkpoints
    always run on the torch backend.
    """
    from vps.runtime.segmenter import Segmenter

    path, steps = parse_spec(spec)
    if path.is_dir():
        if steps is not None:
            raise ValueError(f"--model {spec}: an export folder runs the steps it was exported with; "
                             f"'@STEPS' applies to checkpoints")
        seg = Segmenter.load(path, seed=seed, rgb=True, **_backend_options(path, threads, backend))
    elif path.is_file():
        if backend not in ("auto", "torch"):
            raise ValueError(f"--model {spec}: a checkpoint runs on the torch backend, not {backend}")
        if threads > 0:
            import torch

            torch.set_num_threads(threads)
        seg = Segmenter.from_checkpoint(path, steps=steps, warm_steps=steps, seed=seed, rgb=True)
    else:
        raise DataError(path, "--model: neither an export folder (manifest.json) nor a checkpoint file")
    return VizModel(label or default_label(seg.program), seg)


def _backend_options(folder: Path, threads: int, backend: str) -> dict[str, Any]:
    """The concrete backend for this folder, and ``threads`` where that backend takes it."""
    from vps.runtime.backends import resolve_backend
    from vps.runtime.manifest import load_manifest

    manifest = load_manifest(folder)
    kind = resolve_backend(backend, manifest, manifest.checkpoint)
    return {"backend": kind, **({"threads": threads} if threads > 0 and kind in ("onnxruntime", "torch")
                                else {})}


def open_models(specs: Sequence[str], labels: Sequence[str] | None, threads: int = 1, seed: int = 0,
                backend: str = "auto") -> list[VizModel]:
    """Every ``--model`` with its ``--label`` (all or none given; in order)."""
    if labels and len(labels) != len(specs):
        raise ValueError(f"--label given {len(labels)} times for {len(specs)} --model; give one per model "
                         f"or none")
    return [open_model(s, labels[k] if labels else None, threads, seed, backend) for k, s in enumerate(specs)]


def shrink(image: np.ndarray, labels: Sequence[np.ndarray | None],
           width: int | None) -> tuple[np.ndarray, list[np.ndarray | None]]:
    """``image`` (area) and its label maps (nearest) scaled to ``width`` if wider; ``None`` maps stay."""
    h, w = image.shape[:2]
    if width is None or w <= width:
        return image, list(labels)
    size = (width, max(1, round(h * width / w)))
    small = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    return small, [None if m is None else cv2.resize(m, size, interpolation=cv2.INTER_NEAREST)
                   for m in labels]


def compose(mode: str, image: np.ndarray, preds: Sequence[np.ndarray], models: Sequence[VizModel],
            gt: np.ndarray | None, gt_meta: DatasetMeta, tile_width: int | None = None,
            alpha: float = 0.5) -> np.ndarray:
    """One output frame of ``mode`` (``panel`` or ``overlay``, see the module docstring)."""
    if mode not in MODEL_MODES:
        raise ValueError(f"--mode {mode} does not show --model predictions; use {' or '.join(MODEL_MODES)}")
    img, maps = shrink(image, [*preds, gt], tile_width)
    pred_maps, gt_map = maps[:-1], maps[-1]
    if mode == "overlay":
        return panel([(m.label, overlay(img, p, m.meta, alpha)) for m, p in zip(models, pred_maps,
                                                                                 strict=True)])
    tiles = [("image", img)] + [(m.label, panoptic_colors(p, m.meta)) for m, p in zip(models, pred_maps,
                                                                                       strict=True)]
    if gt_map is not None:
        tiles.append(("ground truth", panoptic_colors(gt_map, gt_meta)))
    return panel(tiles)
