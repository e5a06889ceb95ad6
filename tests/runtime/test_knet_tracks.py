"""Video K-Net's association on hand-built embeddings: ids kept, new ids, class check, memory expiry."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from tests.runtime.programs import KERNELS
from vps.runtime.knet_tracks import MAX_ID, TrackMemory, associate, bisoftmax, match

E = np.eye(4, dtype=np.float32) * 4.0  # well separated embeddings (dot products 16 vs 0)
PLAN = replace(KERNELS, memory_frames=2)


def test_bisoftmax_is_the_mean_of_both_softmaxes() -> None:
    a = np.array([[1.0, 0.0], [0.0, 1.0]], np.float32)
    b = np.array([[1.0, 0.0]], np.float32)
    sim = bisoftmax(a, b)  # logits [[1], [0]]: rows softmax 1, columns softmax (e, 1) / (e + 1)
    np.testing.assert_allclose(sim[:, 0], [(1 + np.e / (np.e + 1)) / 2, (1 + 1 / (np.e + 1)) / 2], rtol=1e-6)
    assert bisoftmax(a, np.zeros((0, 2), np.float32)).shape == (2, 0)


def test_match_is_greedy_one_to_one_above_the_threshold() -> None:
    sim = np.array([[0.9, 0.8], [0.85, 0.2], [0.1, 0.4]], np.float32)
    assert match(sim, 0.5) == [(0, 0)]  # (1, 0) loses its column to the better pair, (0, 1) its row
    assert match(sim, 0.1) == [(0, 0), (2, 1)]


def test_ids_follow_the_embeddings_not_the_order() -> None:
    memory = TrackMemory()
    first = associate(memory, E[:3], np.array([13, 13, 11]), PLAN)
    assert first.tolist() == [1, 2, 3]
    second = associate(memory, E[[2, 0, 1]], np.array([11, 13, 13]), PLAN)  # same objects, other order
    assert second.tolist() == [3, 1, 2]
    assert memory.frame == 2 and sorted(t.last_seen for t in memory.tracks) == [1, 1, 1]


def test_unmatched_and_other_class_get_new_ids() -> None:
    memory = TrackMemory()
    associate(memory, E[:2], np.array([13, 13]), PLAN)
    ids = associate(memory, E[[0, 1, 3]], np.array([13, 11, 13]), PLAN)  # object 1 is now a person
    assert ids.tolist() == [1, 3, 4]  # same embedding, other class: not the same track
    assert len(memory.tracks) == 4


def test_memory_forgets_tracks_unseen_for_memory_frames() -> None:
    memory = TrackMemory()
    associate(memory, E[:2], np.array([13, 13]), PLAN)  # frame 0: ids 1, 2
    associate(memory, E[:1], np.array([13]), PLAN)  # frame 1: object 2 unseen
    # frame 2 = last seen + memory_frames: the last frame object 2 can still be matched at
    assert associate(memory, E[:2], np.array([13, 13]), PLAN).tolist() == [1, 2]
    for _ in range(2):  # frames 3, 4: object 2 unseen for memory_frames frames after frame 2
        associate(memory, E[:1], np.array([13]), PLAN)
    assert [t.id for t in memory.tracks] == [1, 2]
    assert associate(memory, E[:2], np.array([13, 13]), PLAN).tolist() == [1, 3]  # forgotten: a new id
    assert [t.id for t in memory.tracks] == [1, 3]


def test_matched_embeddings_move_with_momentum() -> None:
    memory = TrackMemory()
    associate(memory, E[:2], np.array([13, 13]), PLAN)
    moved = E[0] + np.array([0, 0.5, 0, 0], np.float32)
    assert associate(memory, moved[None], np.array([13]), PLAN).tolist() == [1]
    np.testing.assert_allclose(memory.tracks[0].embed, 0.8 * E[0] + 0.2 * moved, rtol=1e-6)
    np.testing.assert_array_equal(memory.tracks[1].embed, E[1])


@pytest.mark.parametrize(("threshold", "ids"), [(0.6, [3, 4]), (0.5, [1, 2])])
def test_ambiguous_similarity_is_not_a_match(threshold: float, ids: list[int]) -> None:
    memory = TrackMemory()
    associate(memory, E[:2], np.array([13, 13]), PLAN)
    # two detections halfway between both tracks: every row and column softmax is 0.5
    halfway = np.stack([(E[0] + E[1]) / 2] * 2)
    plan = replace(PLAN, match_threshold=threshold)
    assert associate(memory, halfway, np.array([13, 13]), plan).tolist() == ids


def test_new_ids_cycle_over_free_ids_and_reuse_the_oldest_when_full() -> None:
    plan = replace(PLAN, memory_frames=1000)
    memory = TrackMemory()
    rng = np.random.default_rng(0)
    ids = associate(memory, rng.normal(size=(MAX_ID, 4)) * 50, np.full(MAX_ID, 13), plan)
    assert sorted(ids.tolist()) == list(range(1, MAX_ID + 1))
    memory.tracks[10].last_seen = -5  # the longest unseen: its id (11) is the one reused
    ids = associate(memory, np.array([[0.0, 0, 0, 0]]), np.array([11]), plan)  # a person: no track matches
    assert ids.tolist() == [11] and len(memory.tracks) == MAX_ID
    memory = TrackMemory(next_id=MAX_ID)
    assert associate(memory, E[:2], np.array([13, 13]), plan).tolist() == [MAX_ID, 1]  # wraps around


@pytest.mark.parametrize("n", [0, 1])
def test_empty_frames(n: int) -> None:
    memory = TrackMemory()
    assert associate(memory, E[:n], np.full(n, 13), PLAN).tolist() == list(range(1, n + 1))
    assert associate(memory, np.zeros((0, 4), np.float32), np.zeros(0, int), PLAN).size == 0
    assert memory.frame == 2


def test_temperature_makes_unit_embeddings_matchable() -> None:
    # 5 cars with orthogonal unit embeddings: at temperature 1 the softmaxes are too flat (e / (e + 4) < 0.5)
    unit = np.eye(5, dtype=np.float32)
    cars = np.full(5, 13)
    for temperature, ids in ((1.0, [6, 7, 8, 9, 10]), (0.1, [1, 2, 3, 4, 5])):
        plan = replace(KERNELS, temperature=temperature)
        memory = TrackMemory()
        associate(memory, unit, cars, plan)
        assert associate(memory, unit, cars, plan).tolist() == ids
