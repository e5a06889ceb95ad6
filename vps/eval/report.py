"""Plain-text tables of an :class:`vps.eval.EvalResult` (what ``vps-eval`` prints)."""

from __future__ import annotations

from vps.eval.evaluator import EvalResult
from vps.eval.pq import PQSummary


def _pct(x: float | None) -> str:
    return "   -  " if x is None else f"{100.0 * x:6.2f}"


def _overall(result: EvalResult) -> list[str]:
    s, v = result.stq, result.vpq
    lines = ["Overall (%)",
             f"  STQ {_pct(s.stq)}   AQ {_pct(s.aq)}   SQ {_pct(s.sq)}",
             f"  VPQ {_pct(v.vpq)}   things {_pct(v.vpq_things)}   stuff {_pct(v.vpq_stuff)}   "
             f"(mean over k = {', '.join(str(k) for k in v.per_window)})",
             f"  PQ  {_pct(v.pq.pq)}   things {_pct(v.pq.pq_things)}   stuff {_pct(v.pq.pq_stuff)}   "
             f"SQ {_pct(v.pq.sq)}   RQ {_pct(v.pq.rq)}"]
    for k, w in v.per_window.items():
        lines.append(f"  VPQ_{k:<3d}{_pct(w.pq)}   things {_pct(w.pq_things)}   stuff {_pct(w.pq_stuff)}   "
                     f"({v.num_windows[k]} windows)")
    return lines


def _per_sequence(result: EvalResult) -> list[str]:
    header = f"  {'sequence':<12}{'frames':>7}{'tracks':>7}{'STQ':>8}{'AQ':>8}{'SQ':>8}"
    lines = ["", "Per sequence (%)", header]
    for name, seq in result.stq.per_sequence.items():
        lines.append(f"  {name:<12}{seq.num_frames:>7d}{seq.num_tracks:>7d}  {_pct(seq.stq)}  {_pct(seq.aq)}"
                     f"  {_pct(seq.sq)}")
    return lines


def _per_class(pq: PQSummary, class_iou: dict[str, float | None]) -> list[str]:
    lines = ["", "Per class, image PQ (k = 1) and semantic IoU (%)",
             f"  {'class':<15}{'kind':<6}{'PQ':>8}{'SQ':>8}{'RQ':>8}{'TP':>7}{'FN':>7}{'FP':>7}{'IoU':>8}"]
    names = list(dict.fromkeys([*pq.per_class, *(n for n, v in class_iou.items() if v is not None)]))
    for name in names:
        row = pq.per_class.get(name)
        iou = _pct(class_iou.get(name))
        if row is None:
            lines.append(f"  {name:<15}{'':<6}{'-':>8}{'-':>8}{'-':>8}{'':>21}  {iou}")
            continue
        kind = "thing" if row["is_thing"] else "stuff"
        lines.append(f"  {name:<15}{kind:<6}  {_pct(row['PQ'])}  {_pct(row['SQ'])}  {_pct(row['RQ'])}"
                     f"{row['TP']:>7d}{row['FN']:>7d}{row['FP']:>7d}  {iou}")
    return lines


def format_report(result: EvalResult) -> str:
    """Overall metrics, per-sequence STQ terms and per-class PQ rows as one printable string."""
    lines = _overall(result) + _per_sequence(result) + _per_class(result.vpq.pq, result.stq.class_iou)
    if result.stq.void_prediction_pixels:
        lines += ["", f"Note: {result.stq.void_prediction_pixels} labelled pixels were predicted as void; "
                      "as in deeplab2 they are misses and the void column counts as a class (IoU 0) in SQ."]
    return "\n".join(lines)
