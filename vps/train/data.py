"""Training/validation data from a :class:`vps.config.Config`: datasets, a resumable sampler, loaders.

* ``kitti_step``: :class:`vps.data.kitti_step.KittiStep` clips of ``data.clip_len`` frames (``data.root``).
* ``cityscapes``: :class:`vps.data.cityscapes.CityscapesPanoptic` single images (conditioning always zero).
* ``synth``: clips generated once by :mod:`vps.data.synth` into ``data.root`` (default ``OUT/data``), read
  back with ``KittiStep``; the val split uses a different seed from the train split.

The batch sampler is a pure function of ``(seed, step, rank)``: an endless stream of per-epoch
permutations, cut into global batches and sharded over ranks (the job of ``DistributedSampler``, but
resumable mid-epoch). Each sample also gets its own seed derived from its stream position, which drives
augmentation, id shuffling and conditioning drop; so data loading is identical with any number of
DataLoader workers and after a resume.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from vps.bits import BitLayout
from vps.config import Config
from vps.data.augment import ClipAugment
from vps.data.meta import DATASET_METAS, DatasetMeta, meta_for_dataset
from vps.train import knet
from vps.train.video_batch import collate_samples, make_video_sample

DATASETS = tuple(DATASET_METAS)  # kitti_step, synth, cityscapes


def dataset_meta(config: Config) -> DatasetMeta:
    """Label space of the configured dataset (synthetic clips use the KITTI-STEP classes)."""
    return meta_for_dataset(config.data.dataset)


class StepBatchSampler:
    """Endless, resumable, rank-sharded batches of ``(clip index, sample seed)`` pairs.

    Global position ``p = step * batch_size * world_size + rank * batch_size + j`` reads item ``p % n`` of
    the permutation of epoch ``p // n`` (seeded by ``(seed, epoch)``); nothing but ``step`` needs saving.
    """

    def __init__(self, num_items: int, batch_size: int, seed: int, rank: int = 0, world_size: int = 1,
                 start_step: int = 0) -> None:
        if num_items < 1 or batch_size < 1:
            raise ValueError(f"need num_items >= 1 and batch_size >= 1, got {num_items}, {batch_size}")
        if not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} outside world of size {world_size}")
        self.n, self.batch_size, self.seed = num_items, batch_size, seed
        self.rank, self.world_size, self.start_step = rank, world_size, start_step
        self._perm_epoch, self._perm = -1, np.empty(0, np.int64)

    def _permutation(self, epoch: int) -> np.ndarray:
        if epoch != self._perm_epoch:
            self._perm = np.random.default_rng([self.seed, epoch]).permutation(self.n)
            self._perm_epoch = epoch
        return self._perm

    def sample_seed(self, position: int) -> int:
        """Seed of the sample at global stream position ``position``."""
        return int(np.random.SeedSequence([self.seed, 0x5EED, position]).generate_state(1, np.uint64)[0])

    def batch(self, step: int) -> list[tuple[int, int]]:
        """This rank's ``(clip index, sample seed)`` pairs for optimiser step ``step``."""
        first = (step * self.world_size + self.rank) * self.batch_size
        out = []
        for p in range(first, first + self.batch_size):
            out.append((int(self._permutation(p // self.n)[p % self.n]), self.sample_seed(p)))
        return out

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        step = self.start_step
        while True:
            yield self.batch(step)
            step += 1

    def state_dict(self, step: int) -> dict[str, Any]:
        return {"seed": self.seed, "step": step, "batch_size": self.batch_size, "world_size": self.world_size}


class SeededClipSet(Dataset):
    """Map-style dataset keyed by ``(clip index, sample seed)``: clip (augmented) -> one training sample.

    ``make_sample(clip, rng)`` is the model family's sample builder (Pix2Seq-D's
    :func:`~vps.train.video_batch.make_video_sample`, Video K-Net's :func:`~vps.train.knet.make_pair_sample`,
    with their settings bound); ``rng`` is seeded by the key's seed and drives the clip's augmentation too.
    """

    def __init__(self, clips: Any, make_sample: Callable[[Any, np.random.Generator], Any]) -> None:
        self.clips, self.make_sample = clips, make_sample

    def __len__(self) -> int:
        return len(self.clips)

    def __getitem__(self, key: tuple[int, int]) -> Any:
        index, seed = key
        rng = np.random.default_rng(seed)
        return self.make_sample(self.clips.get(index, rng), rng)


def data_root(config: Config, out_dir: str | Path) -> Path:
    """``data.root``, or ``OUT/data`` for synthetic clips without a root."""
    if config.data.root:
        return Path(config.data.root)
    if config.data.dataset == "synth":
        return Path(out_dir) / "data"
    raise ValueError(f"data.root must be set for dataset {config.data.dataset!r}")


def prepare_synth(config: Config, root: Path, image_size: tuple[int, int], progress: bool = True) -> None:
    """Generate the synthetic train and val splits under ``root`` once (a stamp file records the recipe)."""
    from vps.data.synth import generate_dataset

    d = config.data
    splits = {
        d.train_split: (d.synth_sequences, d.synth_seed, 0),
        d.val_split: (d.synth_val_sequences, d.synth_val_seed, d.synth_sequences),
    }
    for split, (sequences, seed, first_seq) in splits.items():
        recipe = {"sequences": sequences, "frames": d.synth_frames, "size": list(image_size), "seed": seed,
                  "first_seq": first_seq}
        stamp = root / f".synth_{split}.json"
        if stamp.is_file() and json.loads(stamp.read_text()) == recipe:
            continue
        generate_dataset(root, sequences=sequences, frames=d.synth_frames, size=tuple(image_size), seed=seed,
                         split=split, first_seq=first_seq, progress=progress)
        stamp.write_text(json.dumps(recipe))


def build_clips(config: Config, root: Path, split: str, train: bool, image_size: tuple[int, int]) -> Any:
    """The clip dataset of ``split`` (augmented for training, with clip_len 1 for Cityscapes)."""
    meta = dataset_meta(config)
    augment = None
    if train and config.data.augment:
        augment = ClipAugment.from_config(config.data, crop_size=image_size, meta=meta)
    if config.data.dataset == "cityscapes":
        from vps.data.cityscapes import CityscapesPanoptic

        return CityscapesPanoptic(root, split, augment=augment, meta=meta)
    from vps.data.kitti_step import KittiStep

    clip_len = config.data.clip_len if train else 1
    return KittiStep(root, split, clip_len=clip_len, augment=augment, meta=meta)


Collate = Callable[[list[Any]], dict[str, torch.Tensor]]


def train_dataset(clips: Any, config: Config, layout: BitLayout, image_size: tuple[int, int],
                  mask_size: tuple[int, int]) -> tuple[Dataset, Collate]:
    """The model family's training samples of ``clips`` and their collate function: Pix2Seq-D's
    :class:`~vps.train.video_batch.VideoSample` (target + conditioning), or Video K-Net's frame pairs
    (:class:`vps.train.knet.PairSample`)."""
    if config.model.family == knet.FAMILY:
        pairs = partial(knet.make_pair_sample, image_size=image_size, mask_size=mask_size,
                        max_offset=config.knet.ref_max_offset)
        return SeededClipSet(clips, pairs), knet.collate_pairs
    d = config.data
    cond_drop = 1.0 if d.dataset == "cityscapes" else config.diffusion.cond_drop_prob  # images: no history
    samples = partial(make_video_sample, layout=layout, image_size=image_size, mask_size=mask_size,
                      cond_drop_prob=cond_drop, shuffle_ids=d.shuffle_track_ids,
                      ignore_label=dataset_meta(config).ignore_label, single_frame_prob=d.single_frame_prob,
                      id_order=d.track_id_order)
    return SeededClipSet(clips, samples), collate_samples


def build_train_loader(
    clips: Any, config: Config, layout: BitLayout, image_size: tuple[int, int], mask_size: tuple[int, int],
    rank: int, world_size: int, start_step: int, pin_memory: bool = False,
) -> tuple[DataLoader, StepBatchSampler]:
    """DataLoader over ``clips`` yielding collated batches from ``start_step`` on (endless)."""
    dataset, collate = train_dataset(clips, config, layout, image_size, mask_size)
    sampler = StepBatchSampler(len(dataset), config.train.batch_size, config.train.seed, rank, world_size,
                               start_step)
    workers = config.data.num_workers
    loader = DataLoader(dataset, batch_sampler=sampler, collate_fn=collate, num_workers=workers,
                        pin_memory=pin_memory, persistent_workers=workers > 0,
                        prefetch_factor=2 if workers > 0 else None)
    return loader, sampler


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch global generators (model init is then reproducible)."""
    import random

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
