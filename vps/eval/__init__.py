"""Evaluation: STQ / AQ / SQ, VPQ and PQ as the KITTI-STEP benchmark (deeplab2) computes them.

Streaming accumulators (memory independent of the number of frames) built on one (gt id, pred id) pair
table per frame; ``vps-eval`` (:mod:`vps.eval.cli`) runs them over two KITTI-STEP folders.
"""

from vps.eval.evaluator import EvalResult, Evaluator
from vps.eval.ids import FramePairs, SparsePairs, compact_ids
from vps.eval.pq import PQStats, PQSummary, pq_stats, summarize
from vps.eval.stq import SequenceSTQ, STQAccumulator, STQResult
from vps.eval.vpq import VPQAccumulator, VPQResult

__all__ = [
    "EvalResult", "Evaluator", "FramePairs", "PQStats", "PQSummary", "STQAccumulator", "STQResult",
    "SequenceSTQ", "SparsePairs", "VPQAccumulator", "VPQResult", "compact_ids", "pq_stats", "summarize",
]
