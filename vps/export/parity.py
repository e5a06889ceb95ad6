"""Parity statistics between a reference backend and exported artifacts, and the pass/fail rule.

Two comparisons (see :mod:`vps.export.verify`):

* **teacher-forced, per graph**: every graph of the artifacts gets exactly the inputs the reference graph
  got; per output the max and median absolute difference, the relative error (max difference / max
  reference magnitude) and, for the denoiser, the fraction of pixels whose decoded panoptic id agrees;
* **closed loop**: each backend conditions on its own predictions (same noise); the fraction of pixels
  whose decoded panoptic id agrees over all frames, and the STQ of both against the ground truth.

A graph fails when its teacher-forced error exceeds the precision's tolerance (:data:`TOLERANCES`); the
export fails when a graph fails or the closed-loop agreement is below the goal. The first failing graph in
pipeline order is reported as the one that diverged. Statistics made with ``judged=False`` are reported
but take no part in the rule: Video K-Net's sigmoid scores and masks, which are judged through the ids
their fusion gives (a boundary pixel of a sharp mask can move by almost 1 while no id changes; measured
on a 150-step knet_tiny in int8: max mask difference 0.475, fused ids 99.2 % the same).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

MEDIAN_SAMPLES = 1 << 16  # abs differences kept per call for the median (strided subsample)


@dataclass(frozen=True)
class Tolerance:
    """Pass thresholds for one precision."""

    agreement: float  # closed-loop and teacher-forced decoded-id agreement (fraction of pixels)
    rel_err: float  # encoder / context teacher-forced max |diff| / max |reference|


TOLERANCES = {
    "fp32": Tolerance(agreement=0.995, rel_err=1e-3),
    "fp16": Tolerance(agreement=0.99, rel_err=3e-2),
    "int8": Tolerance(agreement=0.95, rel_err=0.25),  # provisional: per-tensor PTQ of a small model
}


@dataclass
class DiffStats:
    """Running absolute-difference statistics of one graph's outputs (all calls, all output tensors)."""

    output: str
    max_abs: float = 0.0
    ref_max_abs: float = 0.0
    calls: int = 0
    agree: int = 0  # id agreement: the final step's ids, the ids the step's next sample decodes to
    pixels: int = 0
    judged: bool = True  # False: reported only, not part of the pass rule
    _samples: list[np.ndarray] = field(default_factory=list)

    def update(self, ref: np.ndarray, cand: np.ndarray) -> None:
        if ref.shape != cand.shape:
            raise ValueError(f"{self.output}: artifact output shape {cand.shape} != reference {ref.shape}")
        diff = np.abs(ref.astype(np.float64) - cand.astype(np.float64)).ravel()
        finite = np.isfinite(diff)
        self.max_abs = max(self.max_abs, float(diff.max(initial=0.0)) if finite.all() else float("inf"))
        self.ref_max_abs = max(self.ref_max_abs, float(np.abs(ref).max(initial=0.0)))
        step = max(1, diff.size // MEDIAN_SAMPLES)
        self._samples.append(diff[::step].astype(np.float32))
        self.calls += 1

    def update_agreement(self, ref_ids: np.ndarray, cand_ids: np.ndarray) -> None:
        """Pixels whose decoded ids agree (the pass rule of a graph with ids: agreement, not distance)."""
        if ref_ids.shape != cand_ids.shape:
            raise ValueError(f"{self.output}: artifact output shape {cand_ids.shape} != reference "
                             f"{ref_ids.shape}")
        self.agree += int((ref_ids == cand_ids).sum())
        self.pixels += int(ref_ids.size)

    def update_ids(self, ref_ids: np.ndarray, cand_ids: np.ndarray) -> None:
        """One call of a graph that outputs ids."""
        self.update_agreement(ref_ids, cand_ids)
        self.calls += 1

    @property
    def median_abs(self) -> float:
        return float(np.median(np.concatenate(self._samples))) if self._samples else 0.0

    @property
    def rel_err(self) -> float:
        return self.max_abs / max(self.ref_max_abs, 1e-12)

    @property
    def agreement(self) -> float | None:
        return self.agree / self.pixels if self.pixels else None

    def passed(self, tol: Tolerance) -> bool:
        if self.agreement is not None:
            return self.agreement >= tol.agreement
        return self.rel_err <= tol.rel_err

    def to_dict(self, tol: Tolerance) -> dict[str, Any]:
        return {"output": self.output, "calls": self.calls, "max_abs_diff": self.max_abs,
                "median_abs_diff": self.median_abs, "ref_max_abs": self.ref_max_abs, "rel_err": self.rel_err,
                "teacher_forced_agreement": self.agreement,
                "passed": self.passed(tol) if self.judged else None}


def decide(graphs: dict[str, DiffStats], agreement: float, tol: Tolerance) -> tuple[bool, str | None, str]:
    """``(passed, diverged graph or "closed loop" or None, one-line message)``."""
    for name, st in graphs.items():  # in pipeline order
        if st.judged and not st.passed(tol):
            what = (f"teacher-forced id agreement {st.agreement:.4%} < {tol.agreement:.2%}"
                    if st.agreement is not None else f"relative error {st.rel_err:.3g} > {tol.rel_err:g}")
            return False, name, f"the {name} graph diverged ({st.output}: {what})"
    if agreement < tol.agreement:
        return False, "closed loop", (f"closed-loop id agreement {agreement:.4%} < {tol.agreement:.2%} "
                                      f"although every graph is within tolerance teacher-forced: the frame "
                                      f"engine around the graphs (post-processing, tracking) differs, or "
                                      f"differences accumulate over steps/frames")
    return True, None, f"parity OK: closed-loop id agreement {agreement:.4%} >= {tol.agreement:.2%}"


def format_table(report: dict[str, Any]) -> str:
    """Human-readable parity table of a ``parity.json`` dict."""
    ref, cand = report["reference"], report["backend"]
    steps = "" if report.get("steps") is None else f"{report['steps']} steps, "
    family = report.get("pipeline", {}).get("family", "pix2seq_d")
    nw = max([9] + [len(n) for n in report["graphs"]])
    ow = max([7] + [len(g["output"]) for g in report["graphs"].values()])
    lines = [f"parity: {cand} ({report['engine']}, {report['precision']}) vs {ref} ({family}); {steps}"
             f"{report['frames']} frames in {report['clips']} clips ({report['source']})",
             f"{'graph':<{nw}} {'output':<{ow}} {'max|diff|':>10} {'median|diff|':>13} {'rel err':>9} "
             f"{'tf agree':>9}  ok"]
    for name, g in report["graphs"].items():
        agree = "-" if g["teacher_forced_agreement"] is None else f"{g['teacher_forced_agreement']:.3%}"
        lines.append(f"{name:<{nw}} {g['output']:<{ow}} {g['max_abs_diff']:>10.3g} "
                     f"{g['median_abs_diff']:>13.3g} {g['rel_err']:>9.3g} {agree:>9}  "
                     f"{'-' if g['passed'] is None else 'yes' if g['passed'] else 'NO'}")
    loop = report["closed_loop"]
    goal, cls = report["tolerance"]["agreement"], loop.get("class_agreement")
    lines.append(f"closed loop (own predictions, same noise): id agreement {loop['agreement']:.3%} "
                 f"(goal >= {goal:.1%})" + ("" if cls is None else f"; class ids alone {cls:.3%}"))
    stq = report.get("stq")
    if stq:
        lines.append(f"STQ vs ground truth: {ref} {stq[ref]['STQ']:.4f} (AQ {stq[ref]['AQ']:.4f}, SQ "
                     f"{stq[ref]['SQ']:.4f}) | {cand} {stq[cand]['STQ']:.4f} (AQ {stq[cand]['AQ']:.4f}, SQ "
                     f"{stq[cand]['SQ']:.4f})")
    lines.append(("PASSED: " if report["passed"] else "FAILED: ") + report["message"])
    return "\n".join(lines)
