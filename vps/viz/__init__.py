"""Visualisation: colour maps for panoptic ids, overlays, titled panels, MP4/GIF writers and models run side
by side through the frame engine (:mod:`vps.viz.models`) (``vps-viz``)."""

from vps.viz.colorize import (
    boundary_mask,
    hash_ids,
    id_colors,
    instance_colors,
    overlay,
    panoptic_colors,
    semantic_colors,
)
from vps.viz.render import MODES, fit_frame, panel, render_frame
from vps.viz.video import VideoWriter, count_frames

__all__ = [
    "MODES",
    "VideoWriter",
    "boundary_mask",
    "count_frames",
    "fit_frame",
    "hash_ids",
    "id_colors",
    "instance_colors",
    "overlay",
    "panel",
    "panoptic_colors",
    "render_frame",
    "semantic_colors",
]
