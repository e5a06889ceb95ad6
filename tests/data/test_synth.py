"""Tests of the procedural synthetic KITTI-STEP generator (``vps.data.synth``, ``vps-synth``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vps.data.codecs import read_image, read_kitti_panoptic, validate_panoptic
from vps.data.meta import KITTI_STEP
from vps.data.synth import frame_paths, generate_dataset, generate_sequence, iter_sequence
from vps.data.synth.camera import Camera, Part, PartList
from vps.data.synth.cli import main, parse_size
from vps.data.synth.traffic import MAX_TRACKS, assign_tracks
from vps.data.synth.world import Car

SIZE = (64, 160)
Clip = tuple[np.ndarray, np.ndarray]  # images [T, H, W, 3], panoptic [T, H, W]
PERSON, CAR = KITTI_STEP.class_id("person"), KITTI_STEP.class_id("car")


@pytest.fixture(scope="module")
def clips() -> list[Clip]:
    """Four 12-frame clips at 64x160 (seed 0, sequences 0..3), shared by the label tests."""
    return [generate_sequence(0, 12, SIZE, sequence=s) for s in range(4)]


def _tracks(pan: np.ndarray) -> dict[int, dict[int, tuple[float, float]]]:
    """panoptic id -> {frame: (centroid x, centroid y)} for every thing segment of a clip."""
    out: dict[int, dict[int, tuple[float, float]]] = {}
    for t, frame in enumerate(pan):
        for pid in np.unique(frame[frame % 1000 > 0]):
            ys, xs = np.nonzero(frame == pid)
            out.setdefault(int(pid), {})[t] = (float(xs.mean()), float(ys.mean()))
    return out


def test_sequence_shapes_and_dtypes() -> None:
    images, pan = generate_sequence(5, 3, SIZE)
    assert images.shape == (3, *SIZE, 3) and images.dtype == np.uint8
    assert pan.shape == (3, *SIZE) and pan.dtype == np.int32
    assert images.std() > 10  # a picture, not a constant


def test_same_seed_identical_other_seed_or_split_different() -> None:
    a_img, a_pan = generate_sequence(1, 3, SIZE)
    b_img, b_pan = generate_sequence(1, 3, SIZE)
    assert np.array_equal(a_img, b_img) and np.array_equal(a_pan, b_pan)
    c_img, _ = generate_sequence(2, 3, SIZE)
    d_img, _ = generate_sequence(1, 3, SIZE, split="val")
    e_img, _ = generate_sequence(1, 3, SIZE, sequence=1)
    for other in (c_img, d_img, e_img):
        assert not np.array_equal(a_img, other)


def test_semantic_ids_valid_and_stuff_has_instance_zero(clips: list[Clip]) -> None:
    for _, pan in clips:
        validate_panoptic(pan, KITTI_STEP, "synth")
        sem, inst = pan // 1000, pan % 1000
        assert sem.min() >= 0 and sem.max() < KITTI_STEP.num_classes
        assert not inst[(sem != PERSON) & (sem != CAR)].any()
        assert inst.max() <= 255
        assert (inst[(sem == PERSON) | (sem == CAR)] > 0).all()  # every thing pixel belongs to a track


def test_track_ids_unique_class_constant_and_motion_smooth(clips: list[Clip]) -> None:
    lifetimes = []
    for _, pan in clips:
        tracks = _tracks(pan)
        inst_ids = [pid % 1000 for pid in tracks]
        assert len(inst_ids) == len(set(inst_ids))  # one id never names a person and a car
        for pid, frames in tracks.items():
            assert pid // 1000 in (PERSON, CAR)
            ts = sorted(frames)
            lifetimes.append(len(ts))
            for t0, t1 in zip(ts, ts[1:], strict=False):
                if t1 == t0 + 1:
                    (x0, y0), (x1, y1) = frames[t0], frames[t1]
                    assert np.hypot(x1 - x0, y1 - y0) < 0.2 * SIZE[1], f"track {pid} jumps at frame {t1}"
    assert max(lifetimes) >= 6  # objects are followed over many frames


def test_objects_enter_and_leave(clips: list[Clip]) -> None:
    firsts, lasts = [], []
    for _, pan in clips:
        for frames in _tracks(pan).values():
            firsts.append(min(frames))
            lasts.append(max(frames))
    assert any(f > 0 for f in firsts) and any(last < 11 for last in lasts)
    assert any(f == 0 for f in firsts)


def test_class_frequencies_roughly_kitti_like(clips: list[Clip]) -> None:
    sem = np.concatenate([pan.ravel() for _, pan in clips]) // 1000
    freq = np.bincount(sem, minlength=KITTI_STEP.num_classes) / sem.size
    name = KITTI_STEP.class_id
    assert 0.12 < freq[name("road")] < 0.45
    assert 0.02 < freq[name("sky")] < 0.25
    assert freq[name("building")] + freq[name("vegetation")] > 0.25
    assert 0.01 < freq[name("car")] < 0.2
    assert 0.0005 < freq[name("person")] < 0.05
    for cls in ("sidewalk", "pole", "terrain"):
        assert freq[name(cls)] > 0


def test_classes_have_distinct_colours(clips: list[Clip]) -> None:
    images = np.concatenate([img.reshape(-1, 3) for img, _ in clips]).astype(np.float64)
    sem = np.concatenate([pan.ravel() for _, pan in clips]) // 1000
    names = ("road", "sky", "vegetation", "terrain")
    means = {c: images[sem == KITTI_STEP.class_id(c)].mean(0) for c in names}
    assert means["sky"][2] > means["sky"][0] + 20  # blue sky
    assert means["vegetation"][1] > means["vegetation"][2] + 20  # green foliage
    assert np.abs(means["road"] - means["terrain"]).max() > 30


def test_dataset_layout_api_equals_memory_and_is_byte_identical(tmp_path: Path) -> None:
    kwargs = dict(sequences=2, frames=3, size=SIZE, seed=7, split="val", first_seq=5, progress=False)
    generate_dataset(tmp_path / "a", **kwargs)
    generate_dataset(tmp_path / "b", **kwargs)
    for kind in ("images", "panoptic_maps"):
        seqs = sorted(p.name for p in (tmp_path / "a" / kind / "val").iterdir())
        assert seqs == ["0005", "0006"]
        for seq in seqs:
            assert sorted(p.name for p in (tmp_path / "a" / kind / "val" / seq).iterdir()) == [
                "000000.png", "000001.png", "000002.png"]
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*.png"))
    assert len(files) == 12
    for rel in files:
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes()
    images, pan = generate_sequence(7, 3, SIZE, sequence=6, split="val")
    for t in range(3):
        img_path, label_path = frame_paths(tmp_path / "a", "val", 6, t)
        assert np.array_equal(read_image(img_path), images[t])
        assert np.array_equal(read_kitti_panoptic(label_path, expected_hw=SIZE), pan[t])


def test_cli_writes_same_files_as_api(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    generate_dataset(tmp_path / "api", sequences=1, frames=2, size=SIZE, seed=3, split="train", first_seq=2,
                     progress=False)
    rc = main([str(tmp_path / "cli"), "--sequences", "1", "--frames", "2", "--size", "64x160", "--seed", "3",
               "--split", "train", "--first-seq", "2"])
    assert rc == 0
    assert "vps-synth" in capsys.readouterr().err  # the progress bar
    api = sorted(p.relative_to(tmp_path / "api") for p in (tmp_path / "api").rglob("*.png"))
    cli = sorted(p.relative_to(tmp_path / "cli") for p in (tmp_path / "cli").rglob("*.png"))
    assert api == cli and len(api) == 4
    assert all((tmp_path / "api" / r).read_bytes() == (tmp_path / "cli" / r).read_bytes() for r in api)


@pytest.mark.parametrize("args", [
    ["--size", "12y3"], ["--size", "64x"], ["--size", "8x8"], ["--frames", "0"], ["--sequences", "-1"],
    ["--seed", "abc"], ["--split", "foo"], ["--first-seq", "-2"], ["--first-seq", "9999", "--sequences", "2"],
])
def test_cli_bad_arguments_exit_2_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                args: list[str]) -> None:
    assert main([str(tmp_path / "out"), "--quiet", *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("vps-synth: error:")
    assert not (tmp_path / "out" / "images").exists()


def test_cli_missing_out_and_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert capsys.readouterr().err.count("\n") == 1
    assert main(["--help"]) == 0
    assert "--first-seq" in capsys.readouterr().out


def test_parse_size() -> None:
    assert parse_size("375x1242") == (375, 1242)
    assert parse_size(" 96X320 ") == (96, 320)


@pytest.mark.parametrize("kwargs", [dict(frames=0), dict(size=(10, 100)), dict(seed=-1), dict(split="../x"),
                                    dict(sequence=-1)])
def test_api_rejects_bad_arguments(kwargs: dict) -> None:
    args = dict(seed=0, frames=2, size=SIZE) | kwargs
    with pytest.raises(ValueError):
        generate_sequence(**args)


def test_painter_draws_near_over_far() -> None:
    prim = np.zeros((8, 8), np.int32)
    parts = PartList()
    square = [np.array([[0.0, 0.0], [8.0, 0.0], [8.0, 8.0], [0.0, 8.0]])]
    near, far = parts.key(4, 2.0), parts.key(4, 9.0)
    parts.add(near, Part(square, 13, 1, (0, 0, 0), 0, (0.0, 0.0), 1.0))
    parts.add(far, Part(square, 13, 2, (0, 0, 0), 0, (0.0, 0.0), 1.0))
    parts.add(parts.key(0, 100.0), Part(square, 2, 0, (0, 0, 0), 0, (0.0, 0.0), 1.0))  # lower layer
    ordered = parts.rasterise(prim, 10)
    assert [p.inst for p in ordered] == [0, 2, 1]
    assert (prim == 12).all()  # the near car (drawn last) covers everything


def test_track_ids_capped_at_255() -> None:
    cars = [Car(0.0, 10.0 + 0.01 * i, 0.0, 1, 4.0, 1.8, 1.5, (0, 0, 0), (0, 0, 0)) for i in range(300)]
    kept, people = assign_tracks(cars, [], ego=0.5, frames=5, curvature=0.0)
    assert len(kept) == MAX_TRACKS and not people
    assert sorted(c.track for c in kept) == list(range(1, MAX_TRACKS + 1))


def test_camera_projects_ground_below_horizon() -> None:
    cam = Camera(100, 300, z=0.0, curvature=0.0, horizon=46.0)
    near, far = cam.project(0.0, 0.0, 5.0), cam.project(0.0, 0.0, 50.0)
    assert near[1] > far[1] > 46.0 and near[0] == pytest.approx(150.0)


def test_rerun_with_fewer_frames_removes_stale_frames(tmp_path: Path) -> None:
    generate_dataset(tmp_path, sequences=1, frames=3, size=(32, 64), seed=0, split="train", progress=False)
    (tmp_path / "images" / "train" / "0000" / "notes.txt").write_text("kept")
    generate_dataset(tmp_path, sequences=1, frames=2, size=(32, 64), seed=0, split="train", progress=False)
    for kind in ("images", "panoptic_maps"):
        names = sorted(p.name for p in (tmp_path / kind / "train" / "0000").glob("*.png"))
        assert names == ["000000.png", "000001.png"]
    assert (tmp_path / "images" / "train" / "0000" / "notes.txt").read_text() == "kept"


def test_iter_sequence_validates_before_iterating() -> None:
    with pytest.raises(ValueError, match="frames"):
        iter_sequence(0, 0, SIZE)
    frames = list(iter_sequence(0, 2, SIZE, sequence=3))
    images, pan = generate_sequence(0, 2, SIZE, sequence=3)
    assert all(np.array_equal(f[0], images[t]) and np.array_equal(f[1], pan[t]) for t, f in enumerate(frames))
