"""Verification: the checkpoint (PyTorch) and the exported artifacts through the SAME host loop.

Both backends run :class:`vps.runtime.sampling.SamplingLoop` on the same sample clips with the same step
count, the same noise (one seeded :class:`~vps.runtime.sampling.NoiseSource` each, restarted per clip) and
the same post-processing, each conditioned on its own previous predictions. While the reference runs, a
:class:`TeacherForced` wrapper feeds every graph call's exact inputs to the artifacts too, so each graph is
also compared on identical inputs (see :mod:`vps.export.parity` for the statistics and the pass rule).
The result is ``parity.json`` (listed in the manifest) and a printed table.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from vps.data.meta import DatasetMeta
from vps.export.parity import TOLERANCES, DiffStats, decide
from vps.export.verify_data import VERIFY_SEED, VerifyClip, kitti_clips, synthetic_clips
from vps.runtime.backends.base import CONTEXT, DENOISER, ENCODER, Backend
from vps.runtime.frames import prepare_frame, restore_labels
from vps.runtime.manifest import Manifest
from vps.runtime.sampling import SamplingLoop

PARITY_NAME = "parity.json"


class TeacherForced:
    """A :class:`Backend` that runs ``reference`` and, on the same inputs, ``candidate``, recording diffs."""

    def __init__(self, reference: Backend, candidate: Backend, label_divisor: int = 1000) -> None:
        self.reference, self.candidate = reference, candidate
        self.name = reference.name
        self.label_divisor = label_divisor
        self.stats = {ENCODER: DiffStats("feats"), CONTEXT: DiffStats("ctx*"), DENOISER: DiffStats("logits")}

    def _np(self, x: Any) -> np.ndarray:
        return self.reference.to_numpy(x)

    def _cand_in(self, x: Any) -> Any:
        return self.candidate.asarray(np.ascontiguousarray(self._np(x), dtype=np.float32))

    def encode(self, images: Any) -> Any:
        out = self.reference.encode(images)
        cand = self.candidate.encode(self._cand_in(images))
        self.stats[ENCODER].update(self._np(out), self.candidate.to_numpy(cand))
        return out

    def context(self, cond: Any, feats: Any) -> list[Any]:
        out = self.reference.context(cond, feats)
        cand = self.candidate.context(self._cand_in(cond), self._cand_in(feats))
        for r, c in zip(out, cand, strict=True):
            self.stats[CONTEXT].update(self._np(r), self.candidate.to_numpy(c))
        return out

    def denoise(self, x_t: Any, ctx: Sequence[Any], gamma: Any) -> Any:
        out = self.reference.denoise(x_t, ctx, gamma)
        cand_ctx = [self._cand_in(c) for c in ctx]
        cand = self.candidate.denoise(self._cand_in(x_t), cand_ctx, self._cand_in(gamma))
        ref_np, cand_np = self._np(out), self.candidate.to_numpy(cand)
        st = self.stats[DENOISER]
        st.update(ref_np, cand_np)
        from vps.kernels import decode_panoptic

        st.update_agreement(decode_panoptic(ref_np, None, self.label_divisor),
                            decode_panoptic(np.ascontiguousarray(cand_np), None, self.label_divisor))
        return out

    def asarray(self, array: np.ndarray) -> Any:
        return self.reference.asarray(array)

    def to_numpy(self, array: Any) -> np.ndarray:
        return self.reference.to_numpy(array)


def run_clips(backend: Backend, clips: Sequence[VerifyClip], manifest: Manifest, seed: int, warm_start: bool,
              postprocess: Callable[[np.ndarray], np.ndarray] | None, desc: str,
              progress: bool = True) -> list[list[np.ndarray]]:
    """Mask-resolution predictions ``int32 [h, w]`` per clip and frame, through the shared host loop."""
    loop = SamplingLoop(backend, manifest.sampler, manifest.layout, seed=seed, warm_start=warm_start,
                        postprocess=postprocess)
    preds: list[list[np.ndarray]] = []
    total = sum(len(c) for c in clips)
    with tqdm(total=total, desc=desc, unit="frame", disable=not progress, leave=False) as bar:
        for clip in clips:
            loop.reset()
            out = []
            for image in clip.images:
                x, _ = _prepare(image, manifest)
                out.append(loop.step(x)[0])
                bar.update()
            preds.append(out)
    return preds


def _prepare(image: np.ndarray, manifest: Manifest) -> tuple[np.ndarray, Any]:
    return prepare_frame(image, manifest.input_size, manifest.mean, manifest.std, rgb=True,
                         resize_mode=manifest.resize_mode, channel_order=manifest.channel_order)


def stq_of(preds: list[list[np.ndarray]], clips: Sequence[VerifyClip], manifest: Manifest,
           meta: DatasetMeta) -> dict[str, float] | None:
    """STQ / AQ / SQ of mask-resolution predictions against the clips' ground truth (None without GT)."""
    from vps.eval import STQAccumulator

    acc, any_gt = STQAccumulator(meta), False
    for clip, clip_preds in zip(clips, preds, strict=True):
        for image, gt, pred in zip(clip.images, clip.panoptic, clip_preds, strict=True):
            if gt is None:
                continue
            any_gt = True
            _, geometry = _prepare(image, manifest)
            full = restore_labels(pred, geometry)  # nearest to the frame resolution
            sem = full // meta.label_divisor
            bad = (sem >= meta.num_classes) & (sem != meta.ignore_label)  # classes the dataset lacks -> void
            full = np.where(bad, meta.ignore_label * meta.label_divisor, full)
            acc.update(gt, full, clip.name)
    if not any_gt:
        return None
    r = acc.result()
    return {"STQ": float(r.stq), "AQ": float(r.aq), "SQ": float(r.sq)}


def torch_postprocess(thing_ids: Sequence[int], min_area: int, label_divisor: int,
                      min_part_area: int = 0) -> Callable[..., np.ndarray]:
    """The training code's post-processing (``vps.model.postprocess``) as a NumPy -> NumPy hook."""
    import torch

    from vps.model.postprocess import postprocess_panoptic

    def run(pan: np.ndarray) -> np.ndarray:
        out = postprocess_panoptic(torch.from_numpy(pan), tuple(thing_ids), min_area, label_divisor,
                                   min_part_area)
        return out.numpy()

    return run


def load_verify_clips(manifest: Manifest, meta: DatasetMeta, data: str | Path | None, clips: int,
                      frames: int, seed: int = VERIFY_SEED) -> tuple[list[VerifyClip], str]:
    """The sample clips and a one-line description of where they come from."""
    if data is not None:
        return kitti_clips(data, meta, clips, frames), f"KITTI-STEP {data}"
    return synthetic_clips(clips, frames, manifest.input_size, seed), f"synthetic, seed {seed}, unseen split"


def verify(reference: Backend, candidate: Backend, manifest: Manifest, meta: DatasetMeta,
           clips: Sequence[VerifyClip], source: str, seed: int = 0, warm_start: bool = False,
           postprocess: Callable[[np.ndarray], np.ndarray] | None = None,
           progress: bool = True) -> dict[str, Any]:
    """Compare ``candidate`` (the artifacts) with ``reference`` (PyTorch); returns the parity report dict."""
    precision = manifest.graphs[0].precision
    tol = TOLERANCES[precision]
    tf = TeacherForced(reference, candidate, manifest.layout.label_divisor)
    ref_preds = run_clips(tf, clips, manifest, seed, warm_start, postprocess, f"verify {reference.name}",
                          progress)
    cand_preds = run_clips(candidate, clips, manifest, seed, warm_start, postprocess,
                           f"verify {candidate.name}", progress)
    same = sum(int((a == b).sum()) for ra, ca in zip(ref_preds, cand_preds, strict=True)
               for a, b in zip(ra, ca, strict=True))
    div = manifest.layout.label_divisor
    same_class = sum(int((a // div == b // div).sum()) for ra, ca in zip(ref_preds, cand_preds, strict=True)
                     for a, b in zip(ra, ca, strict=True))
    pixels = sum(a.size for ra in ref_preds for a in ra)
    agreement = same / max(pixels, 1)
    passed, diverged, message = decide(tf.stats, agreement, tol)
    stq_ref = stq_of(ref_preds, clips, manifest, meta)
    stq_cand = stq_of(cand_preds, clips, manifest, meta)
    return {
        "passed": passed, "diverged": diverged, "message": message, "reference": reference.name,
        "backend": candidate.name, "engine": manifest.graphs[0].engine, "precision": precision,
        "steps": manifest.sampler.num_steps, "warm_start": warm_start,
        "warm_steps": len(manifest.sampler.warm_steps), "seed": seed, "source": source, "clips": len(clips),
        "frames": sum(len(c) for c in clips), "input_size": list(manifest.input_size),
        "tolerance": {"agreement": tol.agreement, "rel_err": tol.rel_err},
        "graphs": {name: st.to_dict(tol) for name, st in tf.stats.items()},
        "closed_loop": {"agreement": agreement, "class_agreement": same_class / max(pixels, 1),
                        "pixels": pixels, "passed": agreement >= tol.agreement},
        "stq": None if stq_ref is None or stq_cand is None else
        {reference.name: stq_ref, candidate.name: stq_cand},
    }


__all__ = ["PARITY_NAME", "TeacherForced", "load_verify_clips", "run_clips", "stq_of",
           "torch_postprocess", "verify"]
