"""CityscapesPanoptic on the real deeplab2 sample and on small hand-made folders (error cases)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from vps.data.augment import ClipAugment
from vps.data.cityscapes import CityscapesPanoptic, cityscapes_splits
from vps.data.codecs import write_image
from vps.data.meta import CITYSCAPES
from vps.errors import DataError


def test_real_sample_areas_match_segments_info(shared_data: Path) -> None:
    ds = CityscapesPanoptic(shared_data / "cityscapes_panoptic_sample", "dummy")
    assert len(ds) == 1 and ds.image_ids == ["dummy_000000_000000"]
    clip = ds[0]
    assert clip.images is not None and clip.panoptic is not None
    assert clip.images.shape == (1, 800, 800, 3) and clip.panoptic.shape == (1, 800, 800)
    assert clip.sequence == "dummy_000000" and clip.frames == [0]
    segments = ds.segments_info(0)
    ids, counts = np.unique(clip.panoptic[0], return_counts=True)
    area = dict(zip(ids.tolist(), counts.tolist(), strict=True))
    # Class areas: summed segment areas per category == pixels of that class in the decoded map.
    for cat in {s["category_id"] for s in segments}:
        expected = sum(s["area"] for s in segments if s["category_id"] == cat)
        got = sum(a for i, a in area.items() if i // 1000 == cat)
        assert got == expected, CITYSCAPES.classes[cat].name
    # Non-crowd car segments became instances 1..5, each with its own area; the crowd one is instance 0.
    cars = [s for s in segments if s["category_id"] == 13 and not s["iscrowd"]]
    assert sorted(area[13000 + k + 1] for k in range(len(cars))) == sorted(s["area"] for s in cars)
    assert area[13000] == next(s["area"] for s in segments if s["iscrowd"])
    assert cityscapes_splits(shared_data / "cityscapes_panoptic_sample") == ["dummy"]


def test_real_sample_with_augmentation(shared_data: Path) -> None:
    aug = ClipAugment(crop_size=(128, 160), scale_range=(0.25, 0.5))
    clip = CityscapesPanoptic(shared_data / "cityscapes_panoptic_sample", "dummy", augment=aug, seed=0)[0]
    assert clip.images is not None and clip.images.shape == (1, 128, 160, 3)


def _segment_png(seg: np.ndarray) -> np.ndarray:
    """Segment ids [H, W] -> RGB with id = R + 256 G + 65536 B."""
    return np.stack([seg % 256, seg // 256 % 256, seg // 65536], -1).astype(np.uint8)


def make_cityscapes(root: Path, split: str = "val", n: int = 2, hw: tuple[int, int] = (16, 20)) -> Path:
    """Per-split/per-city layout with ``n`` images: road, sky and one car (segment 26000) each."""
    anns = []
    for k in range(n):
        image_id = f"town_000001_{k:06d}"
        seg = np.full(hw, 7, np.int64)
        seg[: hw[0] // 2] = 23
        seg[4:8, 4 + k: 10 + k] = 26000
        write_image(root / "leftImg8bit" / split / "town" / f"{image_id}_leftImg8bit.png",
                    np.full((*hw, 3), 90, np.uint8))
        name = f"{image_id}_gtFine_panoptic.png"
        write_image(root / "gtFine" / f"cityscapes_panoptic_{split}_trainId" / name, _segment_png(seg))
        infos = [{"id": 7, "category_id": 0, "iscrowd": 0, "area": int((seg == 7).sum())},
                 {"id": 23, "category_id": 10, "iscrowd": 0, "area": int((seg == 23).sum())},
                 {"id": 26000, "category_id": 13, "iscrowd": 0, "area": 24}]
        anns.append({"file_name": name, "image_id": image_id, "segments_info": infos})
    json_path = root / "gtFine" / f"cityscapes_panoptic_{split}_trainId.json"
    json_path.write_text(json.dumps({"annotations": anns}))
    return root


def test_per_city_layout(tmp_path: Path) -> None:
    ds = CityscapesPanoptic(make_cityscapes(tmp_path / "cs"), "val")
    assert len(ds) == 2
    clip = ds[1]
    assert clip.sequence == "town_000001" and clip.frames == [1]
    assert clip.panoptic is not None and set(np.unique(clip.panoptic).tolist()) == {0, 10000, 13001}


def test_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="dataset root not found"):
        CityscapesPanoptic(tmp_path / "none", "val")
    root = make_cityscapes(tmp_path / "cs")
    with pytest.raises(DataError, match=r"panoptic_train_trainId.json: not found \(splits present"):
        CityscapesPanoptic(root, "train")
    img = root / "leftImg8bit/val/town/town_000001_000001_leftImg8bit.png"
    img.rename(img.with_suffix(".bak"))
    with pytest.raises(DataError, match="town_000001_000001_gtFine_panoptic.png: label has no image"):
        CityscapesPanoptic(root, "val")
    img.with_suffix(".bak").rename(img)
    extra = root / "leftImg8bit/val/town/town_000001_000009_leftImg8bit.png"
    write_image(extra, np.zeros((16, 20, 3), np.uint8))
    with pytest.raises(DataError, match="000009_leftImg8bit.png: image has no annotation"):
        CityscapesPanoptic(root, "val")


def test_label_errors(tmp_path: Path) -> None:
    root = make_cityscapes(tmp_path / "cs")
    label = root / "gtFine/cityscapes_panoptic_val_trainId/town_000001_000000_gtFine_panoptic.png"
    write_image(label, _segment_png(np.full((18, 20), 7)))
    with pytest.raises(DataError, match=r"000000_gtFine_panoptic.png: label size"):
        CityscapesPanoptic(root, "val")[0]
    label.unlink()
    with pytest.raises(DataError, match="000000_gtFine_panoptic.png: label PNG of image"):
        CityscapesPanoptic(root, "val")
    json_path = root / "gtFine/cityscapes_panoptic_val_trainId.json"
    json_path.write_text("{not json")
    with pytest.raises(DataError, match="trainId.json: not readable JSON"):
        CityscapesPanoptic(root, "val")


def test_category_out_of_range(tmp_path: Path) -> None:
    root = make_cityscapes(tmp_path / "cs", n=1)
    json_path = root / "gtFine/cityscapes_panoptic_val_trainId.json"
    data = json.loads(json_path.read_text())
    data["annotations"][0]["segments_info"][0]["category_id"] = 33
    json_path.write_text(json.dumps(data))
    with pytest.raises(DataError, match="category 33"):
        CityscapesPanoptic(root, "val")[0]
