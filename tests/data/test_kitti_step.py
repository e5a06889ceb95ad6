"""KittiStep: indexing, clip windows, loading, gaps and every DataError case on tiny hand-made folders."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from vps.config import DataConfig
from vps.data.augment import ClipAugment
from vps.data.codecs import write_image, write_kitti_panoptic
from vps.data.kitti_step import KittiStep, available_splits, consecutive_runs, list_frames
from vps.data.meta import KITTI_STEP
from vps.errors import DataError

HW = (24, 36)


def make_frame(t: int, hw: tuple[int, int] = HW, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Frame ``t`` of a toy scene: sky / building / road, a car (track 1) moving right, a person (track 2)
    moving left, a 2x2 ignore block. Returns (``uint8 [H, W, 3]``, ``int32 [H, W]``)."""
    H, W = hw
    sem = np.full((H, W), 2, np.int32)  # building
    sem[: H // 4] = 10  # sky
    sem[3 * H // 4:] = 0  # road
    pan = sem * 1000
    x = 2 + 2 * t
    pan[H // 2: H // 2 + H // 4, x: x + W // 4] = 13 * 1000 + 1  # car, track 1
    px = W - 6 - t
    pan[H // 3: 3 * H // 4, px: px + 3] = 11 * 1000 + 2  # person, track 2
    pan[:2, :2] = 255 * 1000  # ignore
    rng = np.random.default_rng(seed + t)
    image = KITTI_STEP.palette()[np.clip(pan // 1000, 0, 255)].astype(np.int16)
    image = np.clip(image + rng.integers(-20, 21, image.shape), 0, 255).astype(np.uint8)
    return image, pan


def make_kitti_step(
    root: Path,
    split: str = "train",
    seqs: dict[str, list[int] | int] | None = None,
    hw: tuple[int, int] = HW,
    labels: bool = True,
) -> Path:
    """Write a KITTI-STEP folder: ``seqs`` maps sequence name -> frame count or frame numbers."""
    seqs = seqs if seqs is not None else {"0000": 5, "0001": 4}
    for seq, frames in seqs.items():
        numbers = list(range(frames)) if isinstance(frames, int) else frames
        for f in numbers:
            image, pan = make_frame(f, hw, seed=int(seq))
            write_image(root / "images" / split / seq / f"{f:06d}.png", image)
            if labels:
                write_kitti_panoptic(root / "panoptic_maps" / split / seq / f"{f:06d}.png", pan)
    return root


@pytest.fixture
def ds_root(tmp_path: Path) -> Path:
    return make_kitti_step(tmp_path / "kitti")


def test_clip_windows_and_len(ds_root: Path) -> None:
    ds = KittiStep(ds_root, "train", clip_len=3)
    assert ds.sequences == ["0000", "0001"]
    assert len(ds) == 3 + 2 and ds.num_frames == 9
    assert [ds.clip_frames(i) for i in range(len(ds))] == [
        ("0000", [0, 1, 2]), ("0000", [1, 2, 3]), ("0000", [2, 3, 4]),
        ("0001", [0, 1, 2]), ("0001", [1, 2, 3]),
    ]
    assert len(KittiStep(ds_root, "train", clip_len=3, stride=2)) == 2 + 1
    assert len(KittiStep(ds_root, "train", clip_len=1)) == 9


def test_getitem_returns_clip_matching_files(ds_root: Path) -> None:
    ds = KittiStep(ds_root, "train", clip_len=2)
    clip = ds[1]
    assert clip.sequence == "0000" and clip.frames == [1, 2]
    assert clip.images is not None and clip.panoptic is not None
    assert clip.images.shape == (2, *HW, 3) and clip.images.dtype == np.uint8
    assert clip.panoptic.shape == (2, *HW) and clip.panoptic.dtype == np.int32
    image, pan = make_frame(2, seed=0)
    np.testing.assert_array_equal(clip.panoptic[1], pan)
    np.testing.assert_array_equal(clip.images[1], image)
    assert [p.name for p in clip.image_paths] == ["000001.png", "000002.png"]
    assert clip.label_paths[0] == ds_root / "panoptic_maps/train/0000/000001.png"
    assert ds[-1].frames == [2, 3] and ds[-1].sequence == "0001"
    with pytest.raises(IndexError):
        ds[len(ds)]


def test_sequence_helpers_for_offline_inference(ds_root: Path) -> None:
    ds = KittiStep(ds_root, "train", clip_len=1)
    assert ds.frame_numbers("0001") == [0, 1, 2, 3]
    pairs = ds.sequence_frames("0001")
    expected = (ds_root / "images/train/0001/000003.png", ds_root / "panoptic_maps/train/0001/000003.png")
    assert pairs[3] == expected
    with pytest.raises(KeyError, match="0007"):
        ds.frame_numbers("0007")
    assert ds.validate() == 9
    assert available_splits(ds_root) == ["train"]


def test_sequence_filter(ds_root: Path) -> None:
    assert KittiStep(ds_root, "train", sequences=[1]).sequences == ["0001"]
    assert KittiStep(ds_root, "train", sequences=["0000"]).sequences == ["0000"]
    with pytest.raises(ValueError, match="0009"):
        KittiStep(ds_root, "train", sequences=["0009"])


def test_image_only_folder_with_labels_false(tmp_path: Path) -> None:
    root = make_kitti_step(tmp_path / "k", labels=False)
    ds = KittiStep(root, "train", clip_len=2, labels=False)
    clip = ds[0]
    assert clip.panoptic is None and clip.images is not None and clip.images.shape == (2, *HW, 3)
    assert ds.sequence_frames("0000")[0][1] is None
    with pytest.raises(DataError, match="panoptic_maps"):
        KittiStep(root, "train")  # labels expected by default


def test_labels_only_and_separate_image_root(tmp_path: Path) -> None:
    gt = make_kitti_step(tmp_path / "gt")
    pred = tmp_path / "pred"
    for f in range(3):  # predictions for a subset of one sequence, no images
        write_kitti_panoptic(pred / "panoptic_maps/train/0001" / f"{f:06d}.png", make_frame(f, seed=1)[1])
    only = KittiStep(pred, "train", clip_len=3, images=False)
    assert only[0].images is None and only[0].panoptic is not None
    both = KittiStep(pred, "train", clip_len=3, image_root=gt)
    clip = both[0]
    assert clip.images is not None and clip.images.shape == (3, *HW, 3)
    assert clip.image_paths[0] == gt / "images/train/0001/000000.png"


def test_augment_is_applied_deterministically(ds_root: Path) -> None:
    aug = ClipAugment(crop_size=(16, 16), scale_range=(0.8, 1.2))
    a = KittiStep(ds_root, "train", augment=aug, seed=3)
    b = KittiStep(ds_root, "train", augment=aug, seed=3)
    ca, cb = a[0], b[0]
    assert ca.images is not None and cb.images is not None and ca.images.shape == (3, 16, 16, 3)
    np.testing.assert_array_equal(ca.images, cb.images)
    a.reseed(3)
    np.testing.assert_array_equal(a[0].images, ca.images)
    explicit = a.get(0, np.random.default_rng(3))
    np.testing.assert_array_equal(explicit.panoptic, ca.panoptic)


def test_from_config(ds_root: Path) -> None:
    ds = KittiStep.from_config(DataConfig(root=str(ds_root), clip_len=2), "train")
    assert len(ds) == 4 + 3 and ds.clip_len == 2


def test_helpers() -> None:
    assert consecutive_runs([0, 1, 2, 5, 6, 9]) == [[0, 1, 2], [5, 6], [9]]
    assert consecutive_runs([]) == []


# ---------------------------------------------------------------------------------------------- errors
def test_missing_root_and_split(tmp_path: Path, ds_root: Path) -> None:
    with pytest.raises(DataError, match="dataset root not found"):
        KittiStep(tmp_path / "nope", "train")
    with pytest.raises(DataError, match=r"val.*splits present: \['train'\]"):
        KittiStep(ds_root, "val")


def test_frame_without_label(ds_root: Path) -> None:
    (ds_root / "panoptic_maps/train/0001/000002.png").unlink()
    with pytest.raises(DataError, match=r"images/train/0001/000002.png: frame has no label"):
        KittiStep(ds_root, "train")


def test_label_without_frame(ds_root: Path) -> None:
    (ds_root / "images/train/0000/000004.png").unlink()
    with pytest.raises(DataError, match=r"panoptic_maps/train/0000/000004.png: label has no image"):
        KittiStep(ds_root, "train")


def test_missing_sequence_folder(ds_root: Path) -> None:
    for p in (ds_root / "panoptic_maps/train/0001").iterdir():
        p.unlink()
    (ds_root / "panoptic_maps/train/0001").rmdir()
    with pytest.raises(DataError, match=r"panoptic_maps/train/0001: sequence folder missing"):
        KittiStep(ds_root, "train")


def test_label_wrong_size(ds_root: Path) -> None:
    path = ds_root / "panoptic_maps/train/0000/000001.png"
    write_kitti_panoptic(path, np.zeros((HW[0] + 2, HW[1]), np.int32))
    ds = KittiStep(ds_root, "train")
    with pytest.raises(DataError, match=r"000001.png: label size 36x26 .* image size 36x24"):
        ds[0]
    with pytest.raises(DataError, match="000001.png"):
        ds.validate()


def test_label_wrong_channel_count(ds_root: Path) -> None:
    path = ds_root / "panoptic_maps/train/0000/000000.png"
    cv2.imwrite(str(path), np.zeros(HW, np.uint8))  # single-channel label
    with pytest.raises(DataError, match=r"000000.png: .*3-channel"):
        KittiStep(ds_root, "train")[0]


def test_truncated_file(ds_root: Path) -> None:
    path = ds_root / "images/train/0001/000001.png"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    ds = KittiStep(ds_root, "train")
    with pytest.raises(DataError, match=r"0001/000001.png: not a readable image"):
        ds[3]


def test_classes_out_of_range(ds_root: Path) -> None:
    pan = make_frame(0)[1]
    pan[5, 5] = 40 * 1000
    write_kitti_panoptic(ds_root / "panoptic_maps/train/0000/000000.png", pan)
    with pytest.raises(DataError, match=r"000000.png: semantic ids \[40\] out of range"):
        KittiStep(ds_root, "train")[0]


def test_frame_size_change_within_clip(tmp_path: Path) -> None:
    root = make_kitti_step(tmp_path / "k", seqs={"0000": 2})
    image, pan = make_frame(1, (30, 36))
    write_image(root / "images/train/0000/000001.png", image)
    write_kitti_panoptic(root / "panoptic_maps/train/0000/000001.png", pan)
    with pytest.raises(DataError, match=r"000001.png: frame size"):
        KittiStep(root, "train", clip_len=2)[0]


def test_bad_file_names(ds_root: Path) -> None:
    write_image(ds_root / "images/train/0000/frame_a.png", np.zeros((*HW, 3), np.uint8))
    with pytest.raises(DataError, match="frame_a.png: file name is not a frame number"):
        KittiStep(ds_root, "train")
    (ds_root / "images/train/0000/frame_a.png").unlink()
    write_image(ds_root / "images/train/0000/000003.jpg", np.zeros((*HW, 3), np.uint8))
    with pytest.raises(DataError, match="frame 3 appears twice"):
        list_frames(ds_root / "images/train/0000")


def test_gaps_split_or_error(tmp_path: Path) -> None:
    root = make_kitti_step(tmp_path / "k", seqs={"0000": [0, 1, 2, 3, 7, 8, 9]})
    ds = KittiStep(root, "train", clip_len=3)  # default: split at the gap, no clip straddles it
    assert [ds.clip_frames(i)[1] for i in range(len(ds))] == [[0, 1, 2], [1, 2, 3], [7, 8, 9]]
    assert len(KittiStep(root, "train", clip_len=1, on_gap="error")) == 7  # single frames: gaps harmless
    with pytest.raises(DataError, match=r"0000: frame numbers jump from 3 to 7"):
        KittiStep(root, "train", clip_len=3, on_gap="error")
    with pytest.raises(DataError, match="no sequence has 5 consecutive frames"):
        KittiStep(root, "train", clip_len=5)


def test_bad_arguments(ds_root: Path) -> None:
    with pytest.raises(ValueError, match="clip_len"):
        KittiStep(ds_root, "train", clip_len=0)
    with pytest.raises(ValueError, match="on_gap"):
        KittiStep(ds_root, "train", on_gap="ignore")
    with pytest.raises(ValueError, match="labels, images or both"):
        KittiStep(ds_root, "train", labels=False, images=False)
