"""vps: edge-deployment toolkit for diffusion-based video panoptic segmentation (Pix2Seq-D)."""

__version__ = "0.1.0"
