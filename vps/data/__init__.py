"""Data layer: class metadata, panoptic PNG codecs, datasets, clip augmentation, synthetic clips."""

from vps.data.augment import ClipAugment, resize_clip
from vps.data.cityscapes import CityscapesPanoptic
from vps.data.clip import Clip
from vps.data.codecs import (
    read_cityscapes_panoptic,
    read_image,
    read_kitti_panoptic,
    write_image,
    write_kitti_panoptic,
)
from vps.data.kitti_step import KittiStep
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
    "CityscapesPanoptic",
    "Clip",
    "ClipAugment",
    "KittiStep",
    "resize_clip",
]
