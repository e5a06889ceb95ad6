"""The export folder's staging area: atomic replacement, no leftovers, no deleted user files.

An export is written into a hidden staging folder ``.{out}.XXXX.tmp`` beside ``--out`` and renamed into
place at the end. That folder carries :data:`MARKER` (the writing process's pid) until the rename, so

* a staging folder left by a killed run is recognisable: :func:`is_staging` says so, ``vps-run`` refuses
  it, and the next export beside it removes it (:func:`clean_stale`, skipping folders whose writer is
  still alive);
* replacing an existing export (``vps-export --overwrite``; the CLI refuses without it) moves the files
  the user put in the old folder into the new one: only what an exporter writes (the old manifest's
  files, ``manifest.json``, ``parity.json``, the names the new export writes) is replaced.

The marker and :func:`~vps.runtime.manifest.is_staging` live in the runtime (which refuses such folders);
this module writes them.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from vps.runtime.manifest import MANIFEST_NAME, STAGING_NAME, is_staging  # noqa: F401
from vps.runtime.manifest import STAGING_MARKER as MARKER

EXPORTER_FILES = frozenset({MANIFEST_NAME, "parity.json", "timing.cache"})


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, another user's
        return True
    return True


def _writer_pid(folder: Path) -> int | None:
    try:
        return int((folder / MARKER).read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def clean_stale(out: str | Path) -> list[Path]:
    """Remove staging folders of ``out`` left by killed exports (not those of a live writer); returns them."""
    out = Path(out)
    if not out.parent.is_dir():
        return []
    removed = []
    for cand in out.parent.glob(f".{glob_escape(out.name)}.*"):
        if not cand.is_dir() or not STAGING_NAME.match(cand.name):
            continue
        pid = _writer_pid(cand)
        if pid is not None and _alive(pid):
            continue
        shutil.rmtree(cand, ignore_errors=True)
        removed.append(cand)
    return removed


def glob_escape(name: str) -> str:
    """``name`` with glob metacharacters escaped."""
    return re.sub(r"([*?\[\]])", r"[\1]", name)


def exporter_files(folder: Path) -> set[str]:
    """Names in an export folder that an exporter wrote: its manifest's files plus the fixed names."""
    names = set(EXPORTER_FILES)
    try:
        data = json.loads((folder / MANIFEST_NAME).read_text())
        names.update(str(f) for f in (data.get("files") or {}))
        names.update(str(g.get("file")) for g in data.get("graphs") or [] if isinstance(g, dict))
    except (OSError, ValueError, AttributeError, TypeError):
        pass
    return names


def check_out(out: Path) -> None:
    """``out`` may be missing, empty, or an export folder; anything else is refused (never clobbered)."""
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out}: exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not (out / MANIFEST_NAME).is_file():
        raise ValueError(f"--out {out}: exists and is not an export folder (no {MANIFEST_NAME}); choose a "
                         f"new or empty folder")


@contextmanager
def staging_folder(out: str | Path) -> Iterator[Path]:
    """A marked temp folder beside ``out``; on normal exit it replaces ``out``, on error it is removed.

    An existing export at ``out`` is replaced; files in it that no exporter wrote move into the new one.
    """
    out = Path(out)
    check_out(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    clean_stale(out)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    (tmp / MARKER).write_text(f"{os.getpid()}\n")
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _swap_in(tmp, out)


def _swap_in(tmp: Path, out: Path) -> None:
    """Move the user's own files of the old ``out`` into ``tmp``, then replace ``out`` by ``tmp``."""
    old = None
    if out.exists():
        ours = exporter_files(out) | {p.name for p in tmp.iterdir()}
        for item in out.iterdir():
            if item.name not in ours:
                item.replace(tmp / item.name)
        old = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".old", dir=out.parent))
        (old / MARKER).write_text(f"{os.getpid()}\n")
        out.replace(old / "previous")
    (tmp / MARKER).unlink()
    tmp.chmod(0o755)
    tmp.replace(out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
