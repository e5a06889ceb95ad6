"""Video K-Net training pieces: (reference, key) frame-pair samples, their collate, the loss inputs.

A clip of ``T`` frames becomes one :class:`PairSample`: the **last** frame is the key frame and the
reference frame lies ``1..knet.ref_max_offset`` frames earlier (drawn with the sample's generator, limited
by the clip: a single-image clip such as Cityscapes uses the key frame as its own reference). Both images
are resized to the network input size and both panoptic maps to the mask size (nearest neighbour); the two
maps keep the dataset's ids, so a track has the same id in both frames, which is all the tracking loss
needs.

:func:`pair_inputs` turns a collated batch into the inputs of ``VideoKNet.training_loss``, which the
trainer's one loss module (:class:`vps.train.trainer.LossModule`) calls. Everything sample-side is numpy
and deterministic given the generator.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from vps.config import Config
from vps.data.augment import resize_images, resize_labels
from vps.data.clip import Clip
from vps.model.program import KNET_FAMILY

FAMILY = KNET_FAMILY  # the family name, defined once with the frame programs


@dataclass
class PairSample:
    """One training example (numpy, CPU): index 0 = reference frame, 1 = key frame."""

    images: np.ndarray  # uint8 [2, H, W, 3] at the network input size
    targets: np.ndarray  # int64 [2, h, w] panoptic ids at mask resolution
    offset: int  # key frame index - reference frame index (0 for single images)


def make_pair_sample(clip: Clip, rng: np.random.Generator, image_size: tuple[int, int],
                     mask_size: tuple[int, int], max_offset: int) -> PairSample:
    """The (reference, key) pair of ``clip`` (see module doc)."""
    if clip.images is None or clip.panoptic is None:
        raise ValueError(f"sequence {clip.sequence}: training needs images and panoptic labels")
    if max_offset < 1:
        raise ValueError(f"knet.ref_max_offset must be >= 1, got {max_offset}")
    T = clip.panoptic.shape[0]
    offset = int(rng.integers(1, min(max_offset, T - 1) + 1)) if T > 1 else 0
    frames = [T - 1 - offset, T - 1]
    images = resize_images(clip.images[frames], image_size)  # [2, H, W, 3]
    targets = resize_labels(clip.panoptic[frames], mask_size).astype(np.int64)  # [2, h, w]
    return PairSample(np.ascontiguousarray(images), np.ascontiguousarray(targets), offset)


def collate_pairs(samples: list[PairSample]) -> dict[str, Tensor]:
    """Stack samples: ``images`` uint8 [B, 2, H, W, 3], ``targets`` int64 [B, 2, h, w], ``offset`` [B]."""
    return {
        "images": torch.from_numpy(np.stack([s.images for s in samples])),
        "targets": torch.from_numpy(np.stack([s.targets for s in samples])),
        "offset": torch.tensor([s.offset for s in samples], dtype=torch.int64),
    }


def pair_inputs(batch: dict[str, Tensor], normalize: Callable[[Tensor], Tensor],
                device: torch.device) -> tuple[Tensor, Tensor]:
    """``(images [B, 2, 3, H, W] normalised, targets int64 [B, 2, h, w])`` on ``device``."""
    images = batch["images"].to(device, non_blocking=True)  # uint8 [B, 2, H, W, 3]
    B = images.shape[0]
    x = normalize(images.flatten(0, 1))  # [2B, 3, H, W]
    return x.unflatten(0, (B, 2)), batch["targets"].to(device, non_blocking=True)


def check_family_config(config: Config) -> None:
    """Refuse settings the Video K-Net family does not train with (before any work)."""
    if config.model.family != FAMILY:
        return
    if config.train.student:
        raise ValueError(f"train.student ({config.train.student!r}) is a Pix2Seq-D stage; "
                         f"model.family {FAMILY} trains without it (train.student: '')")
    if config.knet.ref_max_offset < 1:
        raise ValueError(f"knet.ref_max_offset must be >= 1, got {config.knet.ref_max_offset}")
