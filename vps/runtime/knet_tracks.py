"""Video K-Net's association: the kept thing kernels of a frame -> 8-bit instance ids kept across frames.

Video K-Net links instances by their kernels' tracking embeddings, as QDTrack does (Pang et al., CVPR 2021),
against a memory of recent tracks (embedding, id, class, last frame seen), with the settings of the
:class:`~vps.program.KernelPlan`. Per frame (NumPy, torch-free):

1. tracks unseen for more than ``memory_frames`` frames are forgotten (a track last seen at frame ``t``
   can still be matched at frame ``t + memory_frames``);
2. similarity: the bi-softmax of the embeddings' dot products divided by the plan's ``temperature`` (the
   one the tracking loss was trained with; :func:`bisoftmax`: the mean of the softmax over the memory and
   the softmax over the detections), zero between different classes;
3. matching: greedy by decreasing similarity, one-to-one, pairs at or above ``match_threshold``; a matched
   instance takes its track's id and the track's embedding moves towards the new one with momentum
   (``m * memory + (1 - m) * new``, ``m = memory_momentum``);
4. every unmatched instance starts a track with a new id: the next of ``1..255`` (cycling) that no
   remembered track holds; if all are held, the id of the longest-unseen track not matched this frame is
   reused (that track is forgotten); beyond 255 instances in one frame the rest get id 0 (class only).

A new sequence starts with an empty :class:`TrackMemory` (ids restart at 1). The frame engine's track
table turns these 8-bit ids into never-reused 32-bit track ids (:mod:`vps.runtime.tracker`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from vps.program import KernelPlan

MAX_ID = 255  # instance ids 1..255 (the 8-bit ids the engine's post-processing and track table take)


@dataclass(eq=False)
class MemoryTrack:
    """One remembered track (compared by identity)."""

    embed: np.ndarray  # float32 [D]
    id: int  # 1..MAX_ID
    class_id: int
    last_seen: int  # frame index (in the sequence) it was last matched or started


@dataclass
class TrackMemory:
    """The tracks of the current sequence and the sequence's frame counter and id cursor."""

    tracks: list[MemoryTrack] = field(default_factory=list)
    frame: int = 0  # frames associated so far in this sequence
    next_id: int = 1  # where the search for a free id starts


def bisoftmax(a: np.ndarray, b: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """``float32 [n, m]``: mean of the row and column softmaxes of ``a [n, D] @ b [m, D]^T / temperature``."""
    logits = np.asarray(a, np.float64) @ np.asarray(b, np.float64).T / temperature
    if logits.size == 0:
        return logits.astype(np.float32)
    rows = np.exp(logits - logits.max(1, keepdims=True))
    cols = np.exp(logits - logits.max(0, keepdims=True))
    return (0.5 * (rows / rows.sum(1, keepdims=True) + cols / cols.sum(0, keepdims=True))).astype(np.float32)


def match(similarity: np.ndarray, threshold: float) -> list[tuple[int, int]]:
    """Greedy one-to-one ``(row, column)`` pairs by decreasing ``similarity [n, m]``, each ``>= threshold``
    (ties: lower row, then lower column first)."""
    n, m = similarity.shape
    flat = -similarity.ravel()
    order = np.lexsort((np.arange(n * m), flat))  # by decreasing similarity, then by flat index
    used_rows, used_cols, pairs = set(), set(), []
    for f in order:
        if -flat[f] < threshold:
            break
        r, c = divmod(int(f), m)
        if r in used_rows or c in used_cols:
            continue
        used_rows.add(r)
        used_cols.add(c)
        pairs.append((r, c))
    return pairs


def associate(memory: TrackMemory, embeds: np.ndarray, classes: np.ndarray, plan: KernelPlan) -> np.ndarray:
    """Instance ids ``int64 [n]`` (``1..255``) of one frame's kept things (``embeds float [n, D]``,
    ``classes int [n]``), updating ``memory`` (module docstring)."""
    embeds, classes = np.asarray(embeds, np.float32), np.asarray(classes, np.int64)
    if embeds.ndim != 2 or len(embeds) != len(classes):
        raise ValueError(f"need embeds [n, D] and classes [n], got shapes {embeds.shape} and {classes.shape}")
    frame = memory.frame
    memory.tracks = [t for t in memory.tracks if frame - t.last_seen <= plan.memory_frames]
    ids = np.zeros(len(classes), np.int64)
    matched: set[int] = set()
    if memory.tracks and len(classes):
        sim = bisoftmax(embeds, np.stack([t.embed for t in memory.tracks]), plan.temperature)  # [n, m]
        same = classes[:, None] == np.array([t.class_id for t in memory.tracks])[None]
        for i, j in match(np.where(same, sim, 0.0), plan.match_threshold):
            track = memory.tracks[j]
            m = plan.memory_momentum
            track.embed = (m * track.embed + (1.0 - m) * embeds[i]).astype(np.float32)
            track.last_seen = frame
            ids[i] = track.id
            matched.add(track.id)
    for i in np.flatnonzero(ids == 0):
        new_id = _free_id(memory, matched)
        if new_id == 0:  # more than 255 instances in one frame: the rest keep their class, without id
            continue
        ids[i] = new_id
        matched.add(new_id)
        memory.tracks.append(MemoryTrack(embeds[i].copy(), new_id, int(classes[i]), frame))
    memory.frame += 1
    return ids


def _free_id(memory: TrackMemory, matched: set[int]) -> int:
    """The next id of ``1..255`` (cycling from ``memory.next_id``) no track holds; with none left, the id
    of the longest-unseen track not in ``matched``, which is forgotten; 0 if every id is taken this frame."""
    held = {t.id for t in memory.tracks}
    for k in range(MAX_ID):
        candidate = (memory.next_id - 1 + k) % MAX_ID + 1
        if candidate not in held:
            memory.next_id = candidate % MAX_ID + 1
            return candidate
    spare = [t for t in memory.tracks if t.id not in matched]
    if not spare:
        return 0
    oldest = min(spare, key=lambda t: (t.last_seen, t.id))
    memory.tracks = [t for t in memory.tracks if t is not oldest]
    return oldest.id
