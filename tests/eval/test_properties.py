"""Property tests (hypothesis, small maps) and a cross-check against a pixel-level reference.

The reference below follows deeplab2's algorithms literally (boolean masks and per-id dictionaries over
pixels, PQ on frames concatenated along the width); the package computes the same numbers from pair
tables. Random maps mix tracks, crowd, stuff, void and thing predictions with instance 0.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vps.data.meta import ClassInfo, DatasetMeta
from vps.eval import Evaluator

D = 1000
VOID = 255 * D
META = DatasetMeta("props", (ClassInfo(0, "car", True, (0, 0, 0)), ClassInfo(1, "person", True, (0, 0, 0)),
                             ClassInfo(2, "sky", False, (0, 0, 0)), ClassInfo(3, "road", False, (0, 0, 0))))
# car crowd and tracks, person crowd and tracks, stuff, void
GT_POOL = [0, 1, 2, 3, D, D + 1, D + 2, 2 * D, 3 * D, VOID]
PRED_POOL = [0, 1, 2, 4, D + 1, D + 3, 2 * D, 2 * D + 5, 3 * D, VOID]
FAST = settings(max_examples=25, deadline=None)


def _ref_stq(frames: list[tuple[str, np.ndarray, np.ndarray]]) -> dict[str, float]:
    """deeplab2's STQ, literally: masks, per-id dicts, confusion without the void row."""
    c = META.num_classes
    conf: dict[str, np.ndarray] = {}
    gts: dict[str, Counter] = {}
    prs: dict[str, Counter] = {}
    its: dict[str, Counter] = {}
    for seq, gt, pr in frames:
        gs, ps = np.where(gt // D == 255, c, gt // D), np.where(pr // D == 255, c, pr // D)
        m = conf.setdefault(seq, np.zeros((c + 1, c + 1), np.int64))
        np.add.at(m, (gs.ravel(), ps.ravel()), 1)
        lab, prd = np.isin(gt // D, META.thing_ids), np.isin(pr // D, META.thing_ids)
        crowd = lab & (gt % D == 0)
        lab, prd = lab & ~crowd, prd & ~crowd
        gts.setdefault(seq, Counter()).update(gt[lab].tolist())
        prs.setdefault(seq, Counter()).update(pr[prd].tolist())
        both = lab & prd
        its.setdefault(seq, Counter()).update(zip(gt[both].tolist(), pr[both].tolist(), strict=True))

    def miou(m: np.ndarray) -> float:
        inter = np.diag(m)
        union = m.sum(0) + m.sum(1) - inter
        return float((inter[union > 0] / union[union > 0]).mean()) if (union > 0).any() else 0.0

    out, total, aq_sum, tracks = {}, np.zeros((c + 1, c + 1), np.int64), 0.0, 0
    for seq, m in conf.items():
        m = m.copy()
        m[c] = 0
        total += m
        s = sum(t * t / (gts[seq][g] + prs[seq][p] - t) / gts[seq][g] for (g, p), t in its[seq].items())
        aq_sum, tracks = aq_sum + s, tracks + len(gts[seq])
        out[f"AQ/{seq}"], out[f"SQ/{seq}"] = (s / len(gts[seq]) if gts[seq] else 0.0), miou(m)
    out["AQ"], out["SQ"] = (aq_sum / tracks if tracks else 0.0), miou(total)
    return out


def _ref_pq_counts(gt: np.ndarray, pr: np.ndarray) -> np.ndarray:
    """deeplab2's PQ of one (concatenated) image: [4, C] rows iou, tp, fn, fp."""
    out = np.zeros((4, META.num_classes))
    ga, pa = Counter(gt.ravel().tolist()), Counter(pr.ravel().tolist())
    inter = Counter(zip(gt.ravel().tolist(), pr.ravel().tolist(), strict=True))
    gm, pm = set(), set()
    for (g, p), n in inter.items():
        if g // D == p // D != 255:
            iou = n / (ga[g] + pa[p] - n - inter.get((VOID, p), 0))
            if iou > 0.5:
                out[0, g // D] += iou
                out[1, g // D] += 1
                gm.add(g)
                pm.add(p)
    for g in ga:
        if g not in gm and g // D != 255:
            out[2, g // D] += 1
    for p in pa:
        if p not in pm and p // D != 255 and inter.get((VOID, p), 0) / pa[p] <= 0.5:
            out[3, p // D] += 1
    return out


def _ref_pq(counts: np.ndarray) -> float:
    iou, tp, fn, fp = counts
    valid = tp + fn + fp > 0
    sq = np.divide(iou, tp, out=np.zeros_like(iou), where=tp > 0)
    rq = np.divide(tp, tp + fn / 2 + fp / 2, out=np.zeros_like(tp), where=valid)
    return float((sq * rq)[valid].mean()) if valid.any() else 0.0


def _ref_vpq(seqs: dict[str, list[tuple[np.ndarray, np.ndarray]]], k: int) -> float:
    counts = np.zeros((4, META.num_classes))
    for frames in seqs.values():
        for i in range(len(frames) - k + 1):
            win = frames[i:i + k]
            gt_cat = np.concatenate([g for g, _ in win], axis=1)  # frames side by side
            pr_cat = np.concatenate([p for _, p in win], axis=1)
            counts += _ref_pq_counts(gt_cat, pr_cat)
    return _ref_pq(counts)


def maps(pool: list[int], shape: tuple[int, int]) -> st.SearchStrategy[np.ndarray]:
    n = shape[0] * shape[1]
    return st.lists(st.sampled_from(pool), min_size=n, max_size=n).map(lambda v: np.array(v).reshape(shape))


def video(pool: list[int]) -> st.SearchStrategy[list[np.ndarray]]:
    return st.lists(maps(pool, (3, 4)), min_size=1, max_size=4)


def _evaluate(seqs: dict[str, list[tuple[np.ndarray, np.ndarray]]], windows=(1, 2, 3)) -> dict:  # noqa: ANN001
    ev = Evaluator(META, windows)
    for name, frames in seqs.items():
        for g, p in frames:
            ev.update(g, p, name)
    return ev.result().to_dict()


@FAST
@given(video(GT_POOL), video(PRED_POOL), video(GT_POOL), video(PRED_POOL))
def test_matches_pixel_level_reference(g1: list, p1: list, g2: list, p2: list) -> None:
    seqs = {"a": list(zip(g1, p1[: len(g1)] + g1[len(p1):], strict=True)),
            "b": list(zip(g2, p2[: len(g2)] + g2[len(p2):], strict=True))}
    got = _evaluate(seqs)
    ref = _ref_stq([(s, g, p) for s, frames in seqs.items() for g, p in frames])
    assert got["AQ"] == pytest.approx(ref["AQ"]) and got["SQ"] == pytest.approx(ref["SQ"])
    assert got["STQ"] == pytest.approx(np.sqrt(ref["AQ"] * ref["SQ"]))
    for s in seqs:
        assert got["per_sequence"][s]["AQ"] == pytest.approx(ref[f"AQ/{s}"])
        assert got["per_sequence"][s]["SQ"] == pytest.approx(ref[f"SQ/{s}"])
    for k in (1, 2, 3):
        assert got["VPQ_k"][str(k)]["PQ"] == pytest.approx(_ref_vpq(seqs, k))


def _with_track(frames: list[np.ndarray]) -> list[np.ndarray]:
    """Make sure the first frame holds a 2-pixel car track 9 (so AQ is defined and a split is possible)."""
    out = [f.copy() for f in frames]
    out[0][0, :2] = 9
    return out


@FAST
@given(video(GT_POOL))
def test_perfect_prediction_scores_one(frames: list[np.ndarray]) -> None:
    frames = _with_track(frames)
    got = _evaluate({"s": [(f, f) for f in frames]})
    for key in ("STQ", "AQ", "SQ", "VPQ", "PQ"):
        assert got[key] == pytest.approx(1.0)
    assert got["VPQ_k"]["1"]["PQ"] == pytest.approx(1.0)


@FAST
@given(video(GT_POOL), video(PRED_POOL), st.randoms(use_true_random=False))
def test_consistent_relabelling_of_predicted_ids_changes_nothing(gts: list, preds: list, rnd) -> None:  # noqa: ANN001
    preds = (preds + gts)[: len(gts)]
    # A bijection on predicted ids that keeps each id's class (instances of things shuffled, 0 included).
    ids = sorted({int(v) for p in preds for v in np.unique(p)})
    new_inst = list(range(1, 300))
    rnd.shuffle(new_inst)
    mapping = {i: (i // D) * D + (new_inst.pop() if (i // D) in META.thing_ids else i % D) for i in ids}
    relabelled = [np.vectorize(mapping.get)(p) for p in preds]
    a = _evaluate({"s": list(zip(gts, preds, strict=True))})
    b = _evaluate({"s": list(zip(gts, relabelled, strict=True))})
    for key in ("STQ", "AQ", "SQ", "VPQ", "PQ"):
        assert b[key] == pytest.approx(a[key])


@FAST
@given(video(GT_POOL))
def test_splitting_a_track_lowers_aq_but_not_sq(frames: list[np.ndarray]) -> None:
    gts = _with_track(frames)
    preds = [g.copy() for g in gts]
    preds[0][0, 1] = 77  # the second pixel of car track 9 gets a new car id in the first frame
    a = _evaluate({"s": list(zip(gts, gts, strict=True))})
    b = _evaluate({"s": list(zip(gts, preds, strict=True))})
    assert b["AQ"] < a["AQ"] == pytest.approx(1.0)
    assert b["SQ"] == pytest.approx(a["SQ"])
