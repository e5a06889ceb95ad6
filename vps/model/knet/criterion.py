"""Video K-Net training criterion: targets from panoptic maps, matching, deep supervision, tracking.

Per frame and per stage (stage 0 = the initial masks, supervised on masks only; every update stage also on
classes; K-Net's deep supervision):

* thing kernels ``0..N-1`` are Hungarian-matched to the frame's thing instances
  (:mod:`vps.model.knet.matching`, costs ``cls_weight`` focal + ``dice_weight`` dice + ``mask_weight`` BCE);
  a matched kernel's class target is its instance's class, an unmatched one's is all-negative;
* stuff kernel ``s`` is always assigned to the segment of stuff class ``stuff_classes[s]``: class target
  that class when the segment is present, all-negative and an empty mask target when it is absent;
* classification: sigmoid focal loss summed over kernels and classes, divided by the number of positive
  kernels (matched things + present stuff); mask BCE averaged over the matched things and all stuff
  kernels; dice averaged over the positive kernels. Void pixels (``ignore_label``, and thing pixels without
  an instance id, i.e. crowd) take no part in any mask term.

The tracking loss (:func:`vps.model.knet.losses.track_loss`) pairs the key frame's matched thing kernels
with the reference frame's thing kernels through the last stage's matches.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from vps.config import KNetConfig
from vps.model.knet.head import StageOutput
from vps.model.knet.losses import dice_loss, mask_bce_loss, sigmoid_focal_loss, track_loss
from vps.model.knet.matching import CostWeights, hungarian, match_cost

TRACK_TEMPERATURE = 0.1  # similarities of the L2-normalised embeddings are divided by this in the track loss
Match = tuple[Tensor, Tensor]  # (kernel rows, instance columns), int64 [M] each


@dataclass
class FrameTargets:
    """The ground truth of one frame, flattened to ``P = h * w`` pixels."""

    labels: Tensor  # int64 [G] class of each thing instance
    track_ids: Tensor  # int64 [G] panoptic id (class * divisor + instance) of each thing instance
    masks: Tensor  # float [G, P] instance masks
    stuff_masks: Tensor  # float [S, P] one mask per stuff kernel (its class's segment)
    stuff_present: Tensor  # bool [S]
    valid: Tensor  # float [P] 1 for pixels that take part in mask losses


def frame_targets(target: Tensor, thing_classes: tuple[int, ...], stuff_classes: tuple[int, ...],
                  label_divisor: int, ignore_label: int) -> FrameTargets:
    """:class:`FrameTargets` of one panoptic map ``target int64 [h, w]``."""
    flat = target.reshape(-1)  # [P]
    cls, inst = flat // label_divisor, flat % label_divisor
    things = torch.as_tensor(thing_classes, device=flat.device)
    is_thing = (cls[:, None] == things[None, :]).any(1)  # [P]
    valid = (cls != ignore_label) & ~(is_thing & (inst == 0))  # crowd thing pixels are void
    ids = torch.unique(flat[is_thing & (inst > 0)])  # [G], sorted
    stuff = torch.as_tensor(stuff_classes, device=flat.device)
    stuff_masks = (cls[None, :] == stuff[:, None]).float()  # [S, P]
    return FrameTargets(labels=ids // label_divisor, track_ids=ids,
                        masks=(flat[None, :] == ids[:, None]).float(), stuff_masks=stuff_masks,
                        stuff_present=stuff_masks.sum(1) > 0, valid=valid.float())


class KNetCriterion:
    """The K-Net losses of frames and the tracking loss of (reference, key) pairs (see module doc)."""

    def __init__(self, knet: KNetConfig, num_things: int, stuff_classes: tuple[int, ...],
                 thing_classes: tuple[int, ...], label_divisor: int, ignore_label: int) -> None:
        self.num_things, self.stuff_classes, self.thing_classes = num_things, stuff_classes, thing_classes
        self.label_divisor, self.ignore_label = label_divisor, ignore_label
        self.weights = CostWeights(knet.cls_weight, knet.dice_weight, knet.mask_weight, knet.focal_alpha,
                                   knet.focal_gamma)
        self.track_weight = float(knet.track_weight)

    def targets(self, target: Tensor) -> list[FrameTargets]:
        """Per-sample targets of ``target int64 [B, h, w]``."""
        return [frame_targets(t, self.thing_classes, self.stuff_classes, self.label_divisor,
                              self.ignore_label) for t in target]

    @torch.no_grad()
    def assign(self, out: StageOutput, tgts: list[FrameTargets]) -> list[Match]:
        """Hungarian matches of thing kernels to instances, per sample, for one stage's outputs."""
        N, matches = self.num_things, []
        for b, t in enumerate(tgts):
            cls = None if out.cls_logits is None else out.cls_logits[b, :N].float()
            masks = out.mask_logits[b, :N].flatten(1).float()  # [N, P]
            matches.append(hungarian(match_cost(cls, masks, t.labels, t.masks, t.valid, self.weights)))
        return matches

    def stage_loss(self, out: StageOutput, tgts: list[FrameTargets],
                   matches: list[Match]) -> dict[str, Tensor]:
        """``{"cls", "mask", "dice"}`` (unweighted) of one stage on a batch."""
        N, logits = self.num_things, out.mask_logits.flatten(2).float()  # [B, K, P]
        preds, targets, valid, positive = [], [], [], []
        cls_target = None if out.cls_logits is None else torch.zeros_like(out.cls_logits, dtype=torch.float32)
        stuff_cls = torch.as_tensor(self.stuff_classes, device=logits.device)  # [S]
        for b, (t, (rows, cols)) in enumerate(zip(tgts, matches, strict=True)):
            preds += [logits[b, rows], logits[b, N:]]
            targets += [t.masks[cols], t.stuff_masks]
            valid.append(t.valid.expand(len(rows) + len(self.stuff_classes), -1))
            positive += [torch.ones_like(rows, dtype=torch.bool), t.stuff_present]
            if cls_target is not None:
                cls_target[b, rows, t.labels[cols]] = 1.0
                stuff_rows = torch.nonzero(t.stuff_present)[:, 0]
                cls_target[b, N + stuff_rows, stuff_cls[stuff_rows]] = 1.0
        pred, tgt, val, pos = torch.cat(preds), torch.cat(targets), torch.cat(valid), torch.cat(positive)
        num_pos = max(int(pos.sum()), 1)
        parts = {"mask": mask_bce_loss(pred, tgt, val).mean(),
                 "dice": (dice_loss(pred, tgt, val) * pos).sum() / num_pos}
        if cls_target is not None and out.cls_logits is not None:
            a, g = self.weights.alpha, self.weights.gamma
            focal = sigmoid_focal_loss(out.cls_logits.float(), cls_target, a, g)
            parts["cls"] = focal.sum() / num_pos
        return parts

    def frame_loss(self, outputs: list[StageOutput],
                   tgts: list[FrameTargets]) -> tuple[Tensor, dict[str, Tensor], list[Match]]:
        """Deep-supervised loss of one frame over all stages: ``(loss, summed parts, last-stage matches)``."""
        w = {"cls": self.weights.cls, "mask": self.weights.mask, "dice": self.weights.dice}
        total = outputs[-1].mask_logits.new_zeros(())
        sums: dict[str, Tensor] = {k: total.detach().clone() for k in w}
        matches: list[Match] = []
        for out in outputs:
            matches = self.assign(out, tgts)
            parts = self.stage_loss(out, tgts, matches)
            for k, v in parts.items():
                total = total + w[k] * v
                sums[k] = sums[k] + v.detach()
        return total, sums, matches

    def track(self, ref_emb: Tensor, key_emb: Tensor, ref_tgts: list[FrameTargets],
              key_tgts: list[FrameTargets], ref_matches: list[Match], key_matches: list[Match]) -> Tensor:
        """Mean tracking loss of the key frames' matched thing kernels (0, in the graph, if none has a
        positive)."""
        total, count = ref_emb.sum() * 0.0 + key_emb.sum() * 0.0, 0
        for b in range(ref_emb.shape[0]):
            ref_t, key_t = ref_tgts[b], key_tgts[b]
            (r_rows, r_cols), (k_rows, k_cols) = ref_matches[b], key_matches[b]
            ref_ids = torch.full((ref_emb.shape[1],), -1, dtype=torch.int64, device=ref_emb.device)
            ref_ids[r_rows] = ref_t.track_ids[r_cols]
            loss, n = track_loss(key_emb[b, k_rows], key_t.track_ids[k_cols], ref_emb[b], ref_ids,
                                 TRACK_TEMPERATURE)
            total, count = total + loss, count + n
        return total / max(count, 1)

    def video_loss(self, ref_out: list[StageOutput], key_out: list[StageOutput], ref_emb: Tensor,
                   key_emb: Tensor, targets: Tensor) -> tuple[Tensor, dict[str, float]]:
        """Both frames' K-Net losses + ``track_weight`` x the tracking loss; ``targets [B, 2, h, w]``."""
        ref_tgts, key_tgts = self.targets(targets[:, 0]), self.targets(targets[:, 1])
        ref_loss, ref_parts, ref_matches = self.frame_loss(ref_out, ref_tgts)
        key_loss, key_parts, key_matches = self.frame_loss(key_out, key_tgts)
        trk = self.track(ref_emb, key_emb, ref_tgts, key_tgts, ref_matches, key_matches)
        loss = ref_loss + key_loss + self.track_weight * trk
        logs = {"loss": float(loss.detach()), "loss_track": float(trk.detach())}
        logs.update({f"loss_{k}": float(ref_parts[k] + key_parts[k]) for k in ref_parts})
        logs["matched"] = float(sum(len(r) for r, _ in key_matches)) / max(len(key_matches), 1)
        return loss, logs
