"""Video evaluation shared by training (periodic STQ), ``vps-predict`` and ``vps.train.report``.

Every frame is segmented by the runtime's frame engine (:class:`vps.runtime.Segmenter` with the torch
backend: what vps-run ships), conditioned on its own previous predictions (reset at each sequence start), and
scored against the ground truth with the toolkit's
streaming :class:`vps.eval.STQAccumulator` at the ground-truth resolution.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from vps.config import Config
from vps.data.meta import DatasetMeta


def make_engine(model: nn.Module, config: Config, meta: DatasetMeta, steps: int, warm_start: bool,
                seed: int = 0, tracker: Any = None) -> Any:
    """The runtime's frame engine on ``model`` (torch backend): ``steps`` cold steps, the config's warm
    start and post-processing, RGB frames; the model's own ids, or with ``tracker`` (a
    :class:`vps.runtime.tracker.TrackerConfig`) the track table's ids, as ``vps-run`` streams them."""
    from vps.model.program import frame_program
    from vps.runtime.backends.torch import TorchBackend
    from vps.runtime.segmenter import Segmenter

    program = frame_program(config, meta, model.layout, steps)
    return Segmenter(program, TorchBackend(model), tracker=tracker, seed=seed, warm_start=warm_start,
                     track=tracker is not None, rgb=True)


def iter_sequence_frames(
    dataset: Any, sequences: list[str], max_frames: int = 0
) -> Iterator[tuple[str, int, np.ndarray, np.ndarray | None]]:
    """``(sequence, frame, image uint8 [H,W,3], gt int32 [H,W] or None)`` in temporal order.

    ``dataset`` is a :class:`vps.data.kitti_step.KittiStep` (clips of one frame) or a Cityscapes dataset
    (each image is its own one-frame sequence, named by its index).
    """
    if hasattr(dataset, "frame_numbers"):
        for seq in sequences:
            frames = dataset.frame_numbers(seq)
            for f in frames[: max_frames or None]:
                image, gt = dataset.load_frame(seq, f)
                yield seq, f, image, gt
        return
    for i, name in enumerate(sequences):
        clip = dataset.load(int(name))
        yield f"{i:04d}", 0, clip.images[0], clip.panoptic[0]


@torch.no_grad()
def evaluate_video(
    model: nn.Module, config: Config, dataset: Any, meta: DatasetMeta, steps: int, warm_start: bool,
    sequences: list[str], max_frames: int = 0, progress: bool = False, seed: int = 0,
    on_frame: Callable[[str, int, np.ndarray], None] | None = None, tracker: Any = None,
) -> dict[str, float]:
    """STQ/AQ/SQ (and frames per second) of ``model`` on ``sequences`` of ``dataset``.

    Uses a private torch RNG (``fork_rng``) so evaluating in the middle of training does not perturb the
    training run's random stream (resume stays exact).
    """
    from vps.eval import STQAccumulator

    acc = STQAccumulator(meta)
    was_training = model.training
    engine = make_engine(model, config, meta, steps, warm_start, seed, tracker)
    current, n, t0 = None, 0, time.perf_counter()
    frames = iter_sequence_frames(dataset, sequences, max_frames)
    cuda = torch.cuda.is_available() and torch.cuda.is_initialized()
    devices = [torch.cuda.current_device()] if cuda else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        for seq, frame, image, gt in tqdm(frames, desc=f"eval {steps} steps", disable=not progress,
                                          unit="frame", leave=False):
            if seq != current:
                engine.reset()
                current = seq
            pred = engine.step(image).panoptic  # int32 [H, W], classes the dataset lacks -> void
            if gt is not None:
                acc.update(gt, pred, seq)
            if on_frame is not None:
                on_frame(seq, frame, pred)
            n += 1
    model.train(was_training)
    seconds = time.perf_counter() - t0
    r = acc.result()
    return {"STQ": float(r.stq), "AQ": float(r.aq), "SQ": float(r.sq), "frames": n,
            "fps": n / max(seconds, 1e-9)}


def eval_sequences(dataset: Any, count: int) -> list[str]:
    """The first ``count`` sequences (or Cityscapes image indices) of ``dataset`` (0 = all)."""
    if hasattr(dataset, "sequences"):
        names = list(dataset.sequences)
    else:
        names = [str(i) for i in range(len(dataset))]
    return names[: count or None]
