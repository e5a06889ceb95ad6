"""Verification: the checkpoint (PyTorch) and the exported artifacts through the engine that ships.

Both run :class:`vps.runtime.Segmenter`, the runtime's one frame engine, exactly as ``vps-run`` does: the
frame preparation, the family's frame program (same seed, so the same noise), the post-processing
(:func:`vps.postprocess.postprocess_panoptic`: its torch path on the reference, its NumPy path on the
artifacts), the conditioning on each pipeline's own previous predictions and the track table, ending in
frame-resolution tracked panoptic maps. While the reference runs, a :class:`TeacherForcing` hook feeds every
graph call's exact inputs to the artifacts too, so each graph is also compared on identical inputs (see
:mod:`vps.export.parity` for the statistics and the pass rule), including what the family carries from
frame to frame (Pix2Seq-D's conditioning bits, Video K-Net's ``prev_kernels``): the reference's. Video
K-Net's ``knet_frame`` is judged by the teacher-forced agreement of the panoptic fusion of both outputs
(class and kernel per pixel) and by the relative error of the vectors that reach the next frame (embeds,
kernels); its probabilities (scores, masks) are reported only (see :mod:`vps.export.parity`). The result
is ``parity.json`` (listed in the manifest) and a printed table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from vps.data.meta import DatasetMeta
from vps.export.parity import TOLERANCES, DiffStats, decide
from vps.export.verify_data import VERIFY_SEED, VerifyClip, kitti_clips, synthetic_clips
from vps.program import FrameProgram
from vps.runtime.backends.base import EMBEDS, KERNELS, KNET_FRAME, MASKS, SCORES, Backend
from vps.runtime.manifest import Manifest
from vps.runtime.segmenter import DEFAULT_TRACKER, Segmenter

PARITY_NAME = "parity.json"
KNET_OUTPUTS = (SCORES, MASKS, EMBEDS, KERNELS)


def graph_stats(family: str) -> dict[str, DiffStats]:
    """The teacher-forced statistics of a family's graphs, in pipeline order (the report's ``graphs``)."""
    if family == "video_knet":
        # scores and masks are judged through the fused ids; embeds and kernels by relative error
        outputs = {f"{KNET_FRAME}.{n}": DiffStats(n, judged=n in (EMBEDS, KERNELS)) for n in KNET_OUTPUTS}
        return {KNET_FRAME: DiffStats("fused ids"), **outputs}
    return {"encoder": DiffStats("feats"), "context": DiffStats("ctx*"), "denoiser_step": DiffStats("x_next"),
            "denoiser_final": DiffStats("ids")}


class TeacherForcing:
    """Engine hook: runs each of the reference's graph calls on ``candidate`` too, recording differences."""

    def __init__(self, reference: Backend, candidate: Backend, program: FrameProgram) -> None:
        self.reference, self.candidate, self.program = reference, candidate, program
        self.label_divisor = program.layout.label_divisor
        self.stats = graph_stats(program.family)

    def _cand_in(self, x: Any) -> Any:
        if isinstance(x, list | tuple):
            return [self._cand_in(v) for v in x]
        return self.candidate.asarray(np.ascontiguousarray(self.reference.to_numpy(x), dtype=np.float32))

    def __call__(self, graph: str, inputs: tuple[Any, ...], out: list[Any]) -> None:
        cand = self.candidate.run(graph, *self._cand_in(inputs))
        if graph == KNET_FRAME:
            self._knet_frame([self.reference.to_numpy(r) for r in out],
                             [self.candidate.to_numpy(c) for c in cand])
            return
        stats = self.stats[graph]
        for r, c in zip(out, cand, strict=True):
            ref_np, cand_np = self.reference.to_numpy(r), self.candidate.to_numpy(c)
            if np.issubdtype(ref_np.dtype, np.integer):  # the final step's ids: agreement, not distance
                stats.update_ids(ref_np, cand_np)
                continue
            stats.update(ref_np, cand_np)
            if graph == "denoiser_step":  # the next sample's bits (sign per channel) decide the ids
                stats.update_agreement(self._bits_ids(ref_np), self._bits_ids(cand_np))

    def _knet_frame(self, ref: list[np.ndarray], cand: list[np.ndarray]) -> None:
        """Each output's differences, and the agreement of the fusion of both (class and kernel per pixel)."""
        for name, r, c in zip(KNET_OUTPUTS, ref, cand, strict=True):
            self.stats[f"{KNET_FRAME}.{name}"].update(r, c)
        self.stats[KNET_FRAME].update_ids(self._fused(ref), self._fused(cand))

    def _fused(self, outputs: list[np.ndarray]) -> np.ndarray:
        """``int32 [B, h, w]`` ``class * divisor + 1 + kernel`` of the panoptic fusion of ``knet_frame``'s
        outputs (:mod:`vps.runtime.knet_fusion`; the kernel index says which thing kernel won a pixel)."""
        from vps.runtime.knet_fusion import fuse

        scores, masks = outputs[0], outputs[1]
        plan, things = self.program.kernels, self.program.meta.thing_ids
        assert plan is not None
        fused = [fuse(s, m, plan, things) for s, m in zip(scores, masks, strict=True)]
        return np.stack([f.panoptic(f.kept + 1, self.label_divisor) for f in fused])

    def _bits_ids(self, bits: np.ndarray) -> np.ndarray:
        """``int32 [B, h, w]`` ids of analog bits ``[B, 16, h, w]`` (a bit is set where it is > 0)."""
        from vps.kernels import decode_panoptic

        return decode_panoptic(np.ascontiguousarray(bits), None, self.label_divisor)


def run_clips(segmenter: Segmenter, clips: Sequence[VerifyClip], desc: str,
              progress: bool = True) -> list[list[np.ndarray]]:
    """Frame-resolution panoptic maps ``int32 [H, W]`` per clip and frame (a new sequence per clip)."""
    preds: list[list[np.ndarray]] = []
    total = sum(len(c) for c in clips)
    with tqdm(total=total, desc=desc, unit="frame", disable=not progress, leave=False) as bar:
        for clip in clips:
            segmenter.reset()
            out = []
            for image in clip.images:
                out.append(segmenter.step(image, rgb=True).panoptic)
                bar.update()
            preds.append(out)
    return preds


def stq_of(preds: list[list[np.ndarray]], clips: Sequence[VerifyClip],
           meta: DatasetMeta) -> dict[str, float] | None:
    """STQ / AQ / SQ of frame-resolution predictions against the clips' ground truth (None without GT)."""
    from vps.eval import STQAccumulator

    acc, any_gt = STQAccumulator(meta), False
    for clip, clip_preds in zip(clips, preds, strict=True):
        for gt, pred in zip(clip.panoptic, clip_preds, strict=True):
            if gt is not None:
                any_gt = True
                acc.update(gt, pred, clip.name)
    if not any_gt:
        return None
    r = acc.result()
    return {"STQ": float(r.stq), "AQ": float(r.aq), "SQ": float(r.sq)}


def load_verify_clips(manifest: Manifest, meta: DatasetMeta, data: str | Path | None, clips: int,
                      frames: int, seed: int = VERIFY_SEED) -> tuple[list[VerifyClip], str]:
    """The sample clips and a one-line description of where they come from."""
    if data is not None:
        return kitti_clips(data, meta, clips, frames), f"KITTI-STEP {data}"
    return (synthetic_clips(clips, frames, manifest.program.input_size, seed),
            f"synthetic, seed {seed}, unseen split")


def _agreement(ref: list[list[np.ndarray]], cand: list[list[np.ndarray]], div: int) -> dict[str, float]:
    pairs = [(a, b) for ra, ca in zip(ref, cand, strict=True) for a, b in zip(ra, ca, strict=True)]
    pixels = sum(a.size for a, _ in pairs)
    same = sum(int((a == b).sum()) for a, b in pairs)
    same_class = sum(int((a // div == b // div).sum()) for a, b in pairs)
    return {"agreement": same / max(pixels, 1), "class_agreement": same_class / max(pixels, 1),
            "pixels": pixels}


def verify(reference: Backend, candidate: Backend, manifest: Manifest, clips: Sequence[VerifyClip],
           source: str, seed: int = 0, warm_start: bool = False, progress: bool = True) -> dict[str, Any]:
    """Compare ``candidate`` (the artifacts) with ``reference`` (PyTorch); returns the parity report dict."""
    program, precision = manifest.program, manifest.precision
    tol = TOLERANCES[precision]
    tf = TeacherForcing(reference, candidate, program)
    engine = {"seed": seed, "warm_start": warm_start}
    ref_preds = run_clips(Segmenter(program, reference, hooks=[tf], **engine), clips,
                          f"verify {reference.name}", progress)
    cand_preds = run_clips(Segmenter(program, candidate, **engine), clips, f"verify {candidate.name}",
                           progress)
    closed = _agreement(ref_preds, cand_preds, program.layout.label_divisor)
    passed, diverged, message = decide(tf.stats, closed["agreement"], tol)
    stq_ref, stq_cand = stq_of(ref_preds, clips, program.meta), stq_of(cand_preds, clips, program.meta)
    steps = program.step_counts
    return {
        "passed": passed, "diverged": diverged, "message": message, "reference": reference.name,
        "backend": candidate.name, "engine": manifest.engine, "precision": precision,
        "pipeline": {"frame_engine": "vps.runtime.Segmenter", "family": program.family,
                     "postprocess": "vps.postprocess (torch on the reference, NumPy on the artifacts)",
                     "tracking": asdict(DEFAULT_TRACKER), "compared": "tracked panoptic maps at frame size",
                     "min_instance_area": program.min_instance_area, "min_part_area": program.min_part_area},
        "steps": None if steps is None else steps[0], "warm_start": warm_start,
        "warm_steps": None if steps is None else steps[1], "seed": seed,
        "source": source, "clips": len(clips),
        "frames": sum(len(c) for c in clips), "input_size": list(program.input_size),
        "tolerance": {"agreement": tol.agreement, "rel_err": tol.rel_err},
        "graphs": {name: st.to_dict(tol) for name, st in tf.stats.items()},
        "closed_loop": {**closed, "passed": closed["agreement"] >= tol.agreement},
        "stq": None if stq_ref is None or stq_cand is None else
        {reference.name: stq_ref, candidate.name: stq_cand},
        "stq_change": None if stq_ref is None or stq_cand is None else stq_cand["STQ"] - stq_ref["STQ"],
    }


__all__ = ["PARITY_NAME", "TeacherForcing", "load_verify_clips", "run_clips", "stq_of", "verify"]
