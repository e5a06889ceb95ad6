"""Write RGB frames to an MP4 (OpenCV ``mp4v``) or an animated GIF (Pillow), atomically.

The first frame fixes the video size; later frames of another size are letterboxed into it (KITTI
sequences differ by a few pixels). MP4 sizes are padded up to even numbers because OpenCV's encoder
otherwise rounds them down and can silently drop frames. Output goes to a temp file in the target folder
and is renamed into place by :meth:`VideoWriter.close`, so a crash never leaves half a video.
GIF notes: frame delays are stored in 1/100 s, and Pillow merges identical consecutive frames into one
longer frame (total duration kept).
"""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path
from types import TracebackType

import cv2
import numpy as np
from PIL import Image

from vps.data.codecs import atomic_write_bytes
from vps.errors import DataError
from vps.viz.render import fit_frame

VIDEO_SUFFIXES = (".mp4", ".gif")


def even_pad(frame: np.ndarray) -> np.ndarray:
    """Pad ``[H, W, 3]`` with one black row/column where H or W is odd."""
    h, w = frame.shape[:2]
    if h % 2 == 0 and w % 2 == 0:
        return frame
    out = np.zeros((h + h % 2, w + w % 2, 3), np.uint8)
    out[:h, :w] = frame
    return out


def _default_permissions(path: Path) -> None:
    """Give a file made by ``mkstemp`` (mode 0600) the usual ``0666 & ~umask`` mode of a new file."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, 0o666 & ~umask)


class VideoWriter:
    """Context manager: ``with VideoWriter("out.mp4", fps=10) as vw: vw.write(rgb)``.

    Args:
        path: ``.mp4`` or ``.gif`` output file.
        fps: frames per second.
        size: ``(H, W)`` of the video; by default the first frame's size.
    """

    def __init__(self, path: str | Path, fps: float = 10.0, size: tuple[int, int] | None = None) -> None:
        self.path = Path(path)
        self.kind = self.path.suffix.lower()
        if self.kind not in VIDEO_SUFFIXES:
            raise ValueError(f"{self.path}: output must end in .mp4 or .gif")
        if not fps > 0:
            raise ValueError(f"fps must be positive, got {fps}")
        self.fps, self.size = float(fps), size
        self.frames_written = 0
        self._cv: cv2.VideoWriter | None = None
        self._tmp: Path | None = None
        self._gif: list[Image.Image] = []

    def write(self, frame: np.ndarray) -> None:
        """Append one ``uint8 [H, W, 3]`` RGB frame."""
        if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
            raise ValueError(f"frames must be uint8 [H, W, 3], got {frame.dtype} {frame.shape}")
        if self.size is None:
            self.size = (int(frame.shape[0]), int(frame.shape[1]))
        frame = fit_frame(frame, self.size)
        if self.kind == ".gif":
            self._gif.append(Image.fromarray(frame).quantize(256, method=Image.Quantize.FASTOCTREE))
        else:
            frame = even_pad(frame)
            if self._cv is None:
                self._open_mp4(frame.shape[1], frame.shape[0])
            assert self._cv is not None
            self._cv.write(np.ascontiguousarray(frame[:, :, ::-1]))  # OpenCV wants BGR
        self.frames_written += 1

    def _open_mp4(self, width: int, height: int) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.stem}.", suffix=".mp4", dir=self.path.parent)
        os.close(fd)
        self._tmp = Path(tmp)
        self._cv = cv2.VideoWriter(tmp, cv2.VideoWriter_fourcc(*"mp4v"), self.fps, (width, height))
        if not self._cv.isOpened():
            self.abort()
            raise DataError(self.path, "OpenCV could not open an mp4v video writer")

    def close(self) -> None:
        """Finish the file and move it into place (raises if no frame was written)."""
        if self.frames_written == 0:
            self.abort()
            raise ValueError(f"{self.path}: no frames to write")
        if self.kind == ".gif":
            buf = io.BytesIO()
            first, rest = self._gif[0], self._gif[1:]
            first.save(buf, format="GIF", save_all=True, append_images=rest,
                       duration=max(10, round(1000 / self.fps)), loop=0, optimize=False)
            self._gif = []
            atomic_write_bytes(self.path, buf.getvalue())
            _default_permissions(self.path)
            return
        assert self._cv is not None and self._tmp is not None
        self._cv.release()
        self._cv = None
        if not self._tmp.is_file() or self._tmp.stat().st_size == 0:
            self.abort()
            raise DataError(self.path, "OpenCV wrote an empty video")
        _default_permissions(self._tmp)
        os.replace(self._tmp, self.path)
        self._tmp = None

    def abort(self) -> None:
        """Drop everything written so far (the target file is left untouched)."""
        if self._cv is not None:
            self._cv.release()
            self._cv = None
        if self._tmp is not None:
            self._tmp.unlink(missing_ok=True)
            self._tmp = None
        self._gif = []

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def count_frames(path: str | Path) -> int:
    """Frames in an MP4 (decoded with OpenCV) or a GIF (Pillow); used by tests and ``vps-viz`` checks."""
    path = Path(path)
    if path.suffix.lower() == ".gif":
        with Image.open(path) as im:
            return int(getattr(im, "n_frames", 1))
    cap = cv2.VideoCapture(str(path))
    n = 0
    try:
        while cap.read()[0]:
            n += 1
    finally:
        cap.release()
    return n
