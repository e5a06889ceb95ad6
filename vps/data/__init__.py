"""Data layer: class metadata, panoptic PNG codecs, datasets, clip augmentation, synthetic clips."""

from vps.data.codecs import (
    read_cityscapes_panoptic,
    read_image,
    read_kitti_panoptic,
    write_image,
    write_kitti_panoptic,
)
from vps.data.meta import CITYSCAPES, KITTI_STEP, ClassInfo, DatasetMeta, get_meta

__all__ = [
    "CITYSCAPES",
    "KITTI_STEP",
    "ClassInfo",
    "DatasetMeta",
    "get_meta",
    "read_cityscapes_panoptic",
    "read_image",
    "read_kitti_panoptic",
    "write_image",
    "write_kitti_panoptic",
]
