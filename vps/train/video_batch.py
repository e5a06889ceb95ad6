"""Clip -> training sample, following Pix2Seq-D's video recipe.

A clip of ``T`` frames (3 for video, 1 for Cityscapes image pre-training) becomes one sample:

* the **last** frame is the target: its image at the network input size and its panoptic mask at the
  mask resolution (nearest-neighbour resize, so no new ids appear);
* the ground-truth masks of the **previous two** frames are the conditioning, as analog bits
  ``[2 * num_bits, h, w]``: channels ``[0, num_bits)`` hold frame ``t-1``, ``[num_bits, 2*num_bits)`` frame
  ``t-2``; each is zeroed (dropped) independently with probability ``cond_drop_prob`` so the model also
  learns to segment from scratch (the first frame of a video at inference has no history); void pixels
  (``ignore_label``) of a conditioning mask are zero too, since predictions fed back at inference never
  contain void; with ``single_frame_prob`` the whole conditioning is zeroed (image training mixed in, so the
  first frame of a video, where ids are invented rather than copied, gets more than ``p**2`` of the data);
* track ids are shuffled with one random injective map of the clip's ``(class, instance)`` tracks into
  ``1..2**instance_bits - 1``, the same for all frames, so the model learns to *copy* ids forward from the
  conditioning instead of memorising dataset ids.

Everything here is numpy and deterministic given the ``numpy.random.Generator`` passed in.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from vps.bits import NUM_COND_FRAMES, BitLayout, panoptic_to_bits
from vps.data.augment import resize_images, resize_labels
from vps.data.clip import Clip


@dataclass
class VideoSample:
    """One training example (numpy, CPU)."""

    image: np.ndarray  # uint8 [H, W, 3], target frame at the network input size
    target: np.ndarray  # int64 [h, w], panoptic ids at mask resolution (track ids shuffled)
    cond: np.ndarray  # float32 [2 * num_bits, h, w], analog bits of frames t-1, t-2 (zeros where dropped)
    dropped: np.ndarray  # bool [2], which conditioning frames were dropped (or absent)


def shuffle_track_ids(panoptic: np.ndarray, rng: np.random.Generator, layout: BitLayout) -> np.ndarray:
    """Relabel every track (``(class, instance)`` with ``instance > 0``) of ``panoptic [T, H, W]``.

    One random injective map into ``1..2**instance_bits - 1`` is applied to all frames, so a track keeps
    one id across the clip and distinct tracks (also of distinct classes) get distinct ids. If a clip has
    more tracks than ids, a random subset keeps ids and the rest become instance 0 (crowd).
    """
    div = layout.label_divisor
    pan = panoptic.astype(np.int64)
    tracks, inverse = np.unique(pan, return_inverse=True)
    inverse = inverse.reshape(pan.shape)
    is_track = (tracks % div) > 0
    n, max_id = int(is_track.sum()), 2**layout.instance_bits - 1
    new_inst = np.zeros(n, np.int64)
    order = rng.permutation(n)[: min(n, max_id)]
    new_inst[order] = rng.choice(max_id, size=len(order), replace=False) + 1
    relabelled = (tracks // div) * div
    relabelled[is_track] += new_inst
    relabelled[~is_track] = tracks[~is_track]
    return relabelled[inverse]


def order_track_ids(masks: np.ndarray, visible: list[int], layout: BitLayout) -> np.ndarray:
    """Relabel tracks ``1, 2, 3, ...`` in order of first appearance over the ``visible`` frames of
    ``masks [T, h, w]`` (left to right by centroid within a frame), one map for the whole clip.

    The ``spatial`` alternative to :func:`shuffle_track_ids`: ids stay clip-relative (nothing to memorise)
    but a frame without conditioning has a deterministic answer, which a small model learns far more
    easily than breaking the symmetry of random ids during sampling. Tracks beyond the id range, or seen
    only in frames that are not visible, get ids after the visible ones (or instance 0 when out of range).
    """
    div, max_id = layout.label_divisor, 2**layout.instance_bits - 1
    pan = masks.astype(np.int64)
    tracks, inverse = np.unique(pan, return_inverse=True)
    inverse = inverse.reshape(pan.shape)
    is_track = (tracks % div) > 0
    keys: dict[int, tuple[float, float]] = {}
    for rank, t in enumerate([*visible, *[f for f in range(pan.shape[0]) if f not in visible]]):
        ys, xs = np.nonzero(is_track[inverse[t]])
        labels = inverse[t][ys, xs]
        for lab in np.unique(labels):
            if int(lab) not in keys:
                keys[int(lab)] = (rank, float(xs[labels == lab].mean()))
    ordered = sorted(keys, key=lambda k: keys[k])
    new_inst = np.zeros(len(tracks), np.int64)
    for i, lab in enumerate(ordered[:max_id]):
        new_inst[lab] = i + 1
    relabelled = np.where(is_track, (tracks // div) * div + new_inst, tracks)
    return relabelled[inverse]


def make_video_sample(
    clip: Clip,
    rng: np.random.Generator,
    layout: BitLayout,
    image_size: tuple[int, int],
    mask_size: tuple[int, int],
    cond_drop_prob: float,
    shuffle_ids: bool = True,
    ignore_label: int = 255,
    single_frame_prob: float = 0.0,
    id_order: str = "random",
) -> VideoSample:
    """Build a :class:`VideoSample` from a clip whose last frame is the target (see module doc).

    ``id_order`` (when ``shuffle_ids``): ``random`` (:func:`shuffle_track_ids`, the paper's recipe) or
    ``spatial`` (:func:`order_track_ids` over the frames the model sees: kept conditioning frames + target).
    """
    if clip.images is None or clip.panoptic is None:
        raise ValueError(f"sequence {clip.sequence}: training needs images and panoptic labels")
    if not (0.0 <= cond_drop_prob <= 1.0 and 0.0 <= single_frame_prob <= 1.0):
        raise ValueError(f"cond_drop_prob and single_frame_prob must lie in [0, 1], got {cond_drop_prob}, "
                         f"{single_frame_prob}")
    if id_order not in ("random", "spatial"):
        raise ValueError(f"id_order must be 'random' or 'spatial', got {id_order!r}")
    T = clip.panoptic.shape[0]
    dropped = rng.random(NUM_COND_FRAMES) < cond_drop_prob  # drawn always: same RNG use for every T
    if single_frame_prob > 0 and rng.random() < single_frame_prob:
        dropped[:] = True  # train as a single image: the model must also start a video from scratch
    sources = [T - 2 - k for k in range(NUM_COND_FRAMES)]  # k = 0 -> frame t-1, k = 1 -> frame t-2
    dropped |= np.array([src < 0 for src in sources])
    masks = resize_labels(clip.panoptic, mask_size).astype(np.int64)  # [T, h, w], nearest: no new ids
    if shuffle_ids and id_order == "random":
        masks = shuffle_track_ids(masks, rng, layout)
    elif shuffle_ids:
        visible = sorted(src for src, d in zip(sources, dropped, strict=True) if not d) + [T - 1]
        masks = order_track_ids(masks, visible, layout)
    image = resize_images(clip.images[-1:], image_size)[0]  # [H, W, 3]
    nb = layout.num_bits
    cond = np.zeros((NUM_COND_FRAMES * nb, *mask_size), np.float32)
    for k, src in enumerate(sources):
        if not dropped[k]:
            bits = panoptic_to_bits(masks[src], layout)  # [nb, h, w]
            bits[:, masks[src] // layout.label_divisor == ignore_label] = 0.0  # void: no information
            cond[k * nb:(k + 1) * nb] = bits
    return VideoSample(image=np.ascontiguousarray(image), target=masks[-1].astype(np.int64),
                       cond=cond, dropped=dropped)


def collate_samples(samples: list[VideoSample]) -> dict[str, torch.Tensor]:
    """Stack samples into CPU tensors: images uint8 [B, H, W, 3], target int64 [B, h, w],
    cond float32 [B, 2*num_bits, h, w], dropped bool [B, 2]."""
    return {
        "images": torch.from_numpy(np.stack([s.image for s in samples])),
        "target": torch.from_numpy(np.stack([s.target for s in samples])),
        "cond": torch.from_numpy(np.stack([s.cond for s in samples])),
        "dropped": torch.from_numpy(np.stack([s.dropped for s in samples])),
    }
