"""Video K-Net training criterion (written in the next commit)."""

from __future__ import annotations

from typing import Any


class KNetCriterion:
    """Placeholder until the losses land: building works, computing a loss raises."""

    def __init__(self, *args: Any) -> None:
        self.args = args

    def video_loss(self, *args: Any) -> Any:
        raise NotImplementedError("Video K-Net losses are not implemented yet")
