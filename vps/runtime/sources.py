"""Frame sources for ``vps-run``: a video file, a folder of images, a KITTI-STEP root or a camera.

Every source yields :class:`SourceFrame` s in temporal order, sequence after sequence, with the image as
OpenCV decodes it: ``uint8 [H, W, 3]`` **BGR**, ``[H, W, 4]`` BGRA or ``[H, W]`` grayscale (all of which
:meth:`Segmenter.step <vps.runtime.segmenter.Segmenter.step>` accepts). A frame that cannot be decoded
raises :class:`~vps.errors.DataError` naming the file (or the video/camera and frame number) when the
iteration reaches it, so the frames before it have already been processed.

:func:`open_source` picks the source from the ``--input`` argument:

* an existing folder with ``images/`` -> :class:`KittiRootSource` (``images/{split}/{seq}/{frame}.png``;
  sequences and frame numbers kept, so predictions line up with that root's ground truth);
* another existing folder -> :class:`ImageDirSource` (its image files; numeric names give the frame
  numbers, otherwise files are numbered 0, 1, ... in name order);
* an existing image file -> a one-frame :class:`ImageDirSource`; any other file -> :class:`VideoSource`;
* a non-negative integer that is not an existing path -> :class:`CameraSource` (OpenCV device index).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from vps.data.kitti_step import IMAGE_SUFFIXES, available_splits, list_frames
from vps.errors import DataError
from vps.quiet import native_to_log


@dataclass(frozen=True)
class SourceFrame:
    """One decoded frame: its sequence, frame number (used for output file names), pixels and origin."""

    sequence: str
    frame: int
    image: np.ndarray  # uint8 [H, W, 3] BGR, [H, W, 4] BGRA or [H, W] gray, as OpenCV decodes it
    origin: str  # file path, or "VIDEO frame N" / "camera I frame N" (for error messages)


class FrameSource(ABC):
    """Base class: ``iter(source)`` yields frames; ``len`` is the frame count when it is known."""

    kind = "source"
    split: str | None = None  # KITTI-STEP split the frames come from (KittiRootSource only)

    @abstractmethod
    def __iter__(self) -> Iterator[SourceFrame]:
        ...

    @property
    def num_frames(self) -> int | None:
        """Frames the source will yield (``None`` for a camera or a video that does not say)."""
        return None

    @property
    @abstractmethod
    def sequences(self) -> list[str]:
        ...


def decode_image(path: Path) -> np.ndarray:
    """Decode an image file as OpenCV does (BGR / BGRA / gray, 8-bit); ``DataError`` naming it otherwise."""
    if not path.is_file():
        raise DataError(path, "file not found")
    buf = np.fromfile(path, dtype=np.uint8)
    if buf.size == 0:
        raise DataError(path, "file is empty")
    with native_to_log(str(path)):  # libpng's warnings go to the log (vps.quiet)
        img = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
    if img is None:
        raise DataError(path, "not a readable image (corrupt or truncated?)")
    if img.dtype != np.uint8:
        raise DataError(path, f"expected an 8-bit image, got {img.dtype} (convert it to 8 bits first)")
    return img


def _image_files(folder: Path) -> list[tuple[int, Path]]:
    """``(frame number, file)`` of the image files directly in ``folder``."""
    files = sorted(p for p in folder.iterdir()
                   if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".") and p.is_file())
    if files and all(p.stem.isdigit() for p in files):
        numbers = [int(p.stem) for p in files]
        if len(set(numbers)) == len(numbers):
            return sorted(zip(numbers, files, strict=True))
    return list(enumerate(files))


class ImageDirSource(FrameSource):
    """The image files of one folder (or one image file) as one sequence."""

    kind = "images"

    def __init__(self, path: str | Path, sequence: str | None = None, max_frames: int = 0) -> None:
        path = Path(path)
        if path.is_file():
            self.files = [(int(path.stem) if path.stem.isdigit() else 0, path)]
        else:
            self.files = _image_files(path)
        if not self.files:
            raise DataError(path, f"no image files ({', '.join(IMAGE_SUFFIXES)}) found")
        self.files = self.files[: max_frames or None]
        self.sequence = sequence or (path.stem if path.is_file() else path.name) or "0000"

    @property
    def num_frames(self) -> int:
        return len(self.files)

    @property
    def sequences(self) -> list[str]:
        return [self.sequence]

    def __iter__(self) -> Iterator[SourceFrame]:
        for number, path in self.files:
            yield SourceFrame(self.sequence, number, decode_image(path), str(path))


class KittiRootSource(FrameSource):
    """``ROOT/images/{split}/{seq}/{frame:06d}.png`` of a KITTI-STEP root, sequence by sequence."""

    kind = "kitti_step"

    def __init__(self, root: str | Path, split: str | None = None, sequences: Sequence[str] | None = None,
                 max_frames: int = 0) -> None:
        self.root = Path(root)
        found = [s for s in available_splits(self.root) if (self.root / "images" / s).is_dir()]
        if split is None:
            if len(found) != 1 and "val" not in found:
                raise DataError(self.root / "images", f"found splits {found or 'none'}; choose one with "
                                                      f"--split")
            split = found[0] if len(found) == 1 else "val"
        self.split = split
        base = self.root / "images" / split
        if not base.is_dir():
            raise DataError(base, f"split folder not found (splits present: {found or 'none'})")
        names = sorted(p.name for p in base.iterdir() if p.is_dir() and not p.name.startswith("."))
        if sequences:
            unknown = sorted(set(sequences) - set(names))
            if unknown:
                raise DataError(base, f"unknown sequence(s) {unknown}; available: {names}")
            names = [n for n in names if n in set(sequences)]
        self.frames = {n: list(list_frames(base / n).items())[: max_frames or None] for n in names}
        self.frames = {n: f for n, f in self.frames.items() if f}
        if not self.frames:
            raise DataError(base, "no sequence folders with images found")

    @property
    def num_frames(self) -> int:
        return sum(len(f) for f in self.frames.values())

    @property
    def sequences(self) -> list[str]:
        return list(self.frames)

    def __iter__(self) -> Iterator[SourceFrame]:
        for seq, frames in self.frames.items():
            for number, path in frames:
                yield SourceFrame(seq, number, decode_image(path), str(path))


class _CaptureSource(FrameSource):
    """Common part of video files and cameras (``cv2.VideoCapture``)."""

    def __init__(self, target: str | int, label: str, sequence: str, max_frames: int) -> None:
        self.target, self.label, self.sequence, self.max_frames = target, label, sequence, max_frames

    @property
    def sequences(self) -> list[str]:
        return [self.sequence]

    def _open(self) -> cv2.VideoCapture:
        with native_to_log(self.label):  # FFmpeg's complaints go to the log (vps.quiet)
            cap = cv2.VideoCapture(self.target)
        if not cap.isOpened():
            cap.release()
            raise DataError(self.label, f"cannot open {self.kind} (not a video, unsupported codec, or no "
                                        f"such device)")
        return cap

    def _frames(self, cap: cv2.VideoCapture) -> Iterator[SourceFrame]:
        n = 0
        while not self.max_frames or n < self.max_frames:
            with native_to_log(f"{self.label} frame {n}"):
                ok, img = cap.read()
            if not ok or img is None:
                self._on_end(n)
                return
            yield SourceFrame(self.sequence, n, img, f"{self.label} frame {n}")
            n += 1

    @abstractmethod
    def _on_end(self, read: int) -> None:
        ...

    def __iter__(self) -> Iterator[SourceFrame]:
        cap = self._open()
        try:
            yield from self._frames(cap)
        finally:
            cap.release()


class VideoSource(_CaptureSource):
    """A video file decoded with OpenCV (FFmpeg), as one sequence named after the file."""

    kind = "video"

    def __init__(self, path: str | Path, sequence: str | None = None, max_frames: int = 0) -> None:
        path = Path(path)
        if not path.is_file():
            raise DataError(path, "video file not found")
        super().__init__(str(path), str(path), sequence or path.stem, max_frames)
        cap = self._open()
        count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        cap.release()
        self.reported = max(count, 0)  # frames the container says it holds (0 = unknown)

    @property
    def num_frames(self) -> int | None:
        if not self.reported:
            return None
        return min(self.reported, self.max_frames) if self.max_frames else self.reported

    def _on_end(self, read: int) -> None:
        if read == 0:
            raise DataError(self.label, "no frame could be decoded (corrupt or empty video?)")
        if self.reported and read < self.num_frames:  # type: ignore[operator]
            raise DataError(self.label, f"frame {read} could not be decoded (the video holds "
                                        f"{self.reported} frames; truncated or corrupt?)")


class CameraSource(_CaptureSource):
    """An OpenCV capture device (``/dev/video{index}`` on Linux); runs until ``max_frames`` or a failure."""

    kind = "camera"

    def __init__(self, index: int, sequence: str | None = None, max_frames: int = 0) -> None:
        if index < 0:
            raise ValueError(f"camera index must be >= 0, got {index}")
        super().__init__(index, f"camera {index}", sequence or f"camera{index}", max_frames)

    def _on_end(self, read: int) -> None:
        raise DataError(self.label, f"frame {read} could not be read (camera disconnected?)")


def open_source(spec: str | Path, split: str | None = None, sequence: str | None = None,
                max_frames: int = 0) -> FrameSource:
    """The source for ``--input`` (see the module docstring); ``max_frames`` limits each sequence (0 = all).

    ``sequence``: for a KITTI-STEP root, process only this sequence; otherwise the name to give the stream.
    """
    if max_frames < 0:
        raise ValueError(f"--max-frames must be >= 0, got {max_frames}")
    text = str(spec)
    path = Path(text)
    if text.isdigit() and not path.exists():
        return CameraSource(int(text), sequence, max_frames)
    if not path.exists():
        raise DataError(path, "input not found (expected a video file, an image folder, a KITTI-STEP root "
                              "or a camera index)")
    if path.is_dir():
        if (path / "images").is_dir():
            return KittiRootSource(path, split, [sequence] if sequence else None, max_frames)
        return ImageDirSource(path, sequence, max_frames)
    if path.suffix.lower() in IMAGE_SUFFIXES:
        return ImageDirSource(path, sequence, max_frames)
    return VideoSource(path, sequence, max_frames)
