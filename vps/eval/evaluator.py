"""The combined evaluator: STQ and VPQ from one pair table per frame."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from vps.data.meta import DatasetMeta
from vps.eval.ids import FramePairs
from vps.eval.stq import STQAccumulator, STQResult
from vps.eval.vpq import VPQAccumulator, VPQResult


@dataclass(frozen=True)
class EvalResult:
    """STQ and VPQ results together; :meth:`to_dict` is the JSON written by ``vps-eval``."""

    stq: STQResult
    vpq: VPQResult

    def to_dict(self) -> dict[str, Any]:
        d = self.stq.to_dict()
        d.update(self.vpq.to_dict())
        return d


class Evaluator:
    """Feeds each frame to an :class:`STQAccumulator` and a :class:`VPQAccumulator`.

    The (gt id, pred id) pair table is computed once per frame and shared. Frames of one sequence must
    come in temporal order (VPQ windows); different sequences may interleave.
    """

    def __init__(self, meta: DatasetMeta, vpq_windows: Sequence[int] = (1, 2, 5)) -> None:
        self.meta = meta
        self.stq = STQAccumulator(meta)
        self.vpq = VPQAccumulator(meta, vpq_windows)

    def update(self, gt_panoptic: np.ndarray, pred_panoptic: np.ndarray, sequence_id: object = 0) -> None:
        """Add one frame (``int [H, W]`` panoptic maps, ``semantic * divisor + instance``)."""
        pairs = FramePairs.from_maps(gt_panoptic, pred_panoptic)
        self.stq.update_pairs(pairs, sequence_id)
        self.vpq.update_pairs(pairs, sequence_id)

    def result(self) -> EvalResult:
        return EvalResult(self.stq.result(), self.vpq.result())
