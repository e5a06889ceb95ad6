"""``vps-run``'s checks before the first frame: options, the export folder and every output location.

Everything that can be known before inference is checked first, so a bad ``--viz`` suffix, ``--fps 0`` or an
unwritable ``--out`` costs no frame and leaves no file. Write failures that can only happen later (a full
disk) become :class:`OutputError`, a one-line :class:`~vps.errors.DataError` naming the path (exit 2).
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import tempfile
from pathlib import Path

from vps.errors import DataError
from vps.runtime.manifest import is_staging

RUN_JSON = "run.json"
MAPS = "panoptic_maps"


class OutputError(DataError):
    """An output file or folder could not be written (names the path; vps-run exits 2)."""

    @classmethod
    def of(cls, error: OSError, fallback: str | Path) -> OutputError:
        path = error.filename if error.filename is not None else fallback
        return cls(path, f"cannot write ({error.strerror or error})")


def check_options(args: argparse.Namespace) -> None:
    """Numeric options and the ``--viz`` kind (ValueError naming the option)."""
    from vps.viz.video import VIDEO_SUFFIXES

    if args.max_frames < 0 or args.threads < 0:
        raise ValueError("--max-frames and --threads must be >= 0")
    if not (math.isfinite(args.fps) and args.fps > 0):
        raise ValueError(f"--fps must be a positive number, got {args.fps}")
    if args.viz is not None and args.viz.suffix.lower() not in VIDEO_SUFFIXES:
        raise ValueError(f"--viz {args.viz}: must end in {' or '.join(sorted(VIDEO_SUFFIXES))}")


def check_artifacts(folder: Path) -> None:
    """Refuse the staging folder of a killed ``vps-export`` (complete-looking, never verified)."""
    if is_staging(folder):
        raise DataError(folder, "an unfinished export (the staging folder of an interrupted vps-export); "
                                "run vps-export again and use its --out folder")


def previous_run(out: Path) -> bool:
    """Whether ``out`` holds what an earlier vps-run wrote (run.json or prediction PNGs)."""
    maps = out / MAPS
    return (out / RUN_JSON).exists() or (maps.is_dir() and next(maps.rglob("*.png"), None) is not None)


def check_out(out: Path, overwrite: bool) -> None:
    """``--out``: a folder (or creatable), writable, and not a previous run unless ``overwrite``."""
    if out.exists() and not out.is_dir():
        raise DataError(out, "exists and is not a folder (--out must be a folder)")
    if previous_run(out) and not overwrite:
        raise DataError(out, "holds the predictions of a previous run; pass --overwrite to replace them "
                             "or choose another --out")
    probe_writable(out, "--out")


def check_viz(viz: Path | None) -> None:
    """``--viz``: its folder must be writable and the path must not be a folder."""
    if viz is None:
        return
    if viz.is_dir():
        raise DataError(viz, "is a folder (--viz must be a video file name)")
    probe_writable(viz.parent, "--viz")


def probe_writable(folder: Path, option: str) -> None:
    """Create ``folder`` (removing what the probe created) and a file in it; ``OutputError`` if impossible."""
    created: list[Path] = []
    probe = folder
    while not probe.exists():
        created.append(probe)
        probe = probe.parent
    if not probe.is_dir():
        raise DataError(probe, f"is a file, so {option} {folder} cannot be created")
    try:
        for d in reversed(created):
            d.mkdir()
        fd, name = tempfile.mkstemp(prefix=".vps-run-probe.", dir=folder)
        os.close(fd)
        os.unlink(name)
    except OSError as e:
        raise OutputError(e.filename or folder, f"{option} is not writable ({e.strerror or e})") from None
    finally:
        for d in created:
            with contextlib.suppress(OSError):
                d.rmdir()


def clear_previous(out: Path) -> int:
    """Remove what an earlier vps-run wrote in ``out`` (prediction PNGs, run.json); returns files removed."""
    removed = 0
    maps = out / MAPS
    if maps.is_dir():
        for png in sorted(maps.rglob("*.png")):
            png.unlink()
            removed += 1
        for d in sorted((p for p in maps.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
            with contextlib.suppress(OSError):
                d.rmdir()  # only folders left empty
        with contextlib.suppress(OSError):
            maps.rmdir()
    if (out / RUN_JSON).exists():
        (out / RUN_JSON).unlink()
        removed += 1
    return removed


__all__ = ["MAPS", "RUN_JSON", "OutputError", "check_artifacts", "check_options", "check_out", "check_viz",
           "clear_previous", "previous_run", "probe_writable"]
