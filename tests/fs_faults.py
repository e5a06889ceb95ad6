"""Helpers for tests of output failures: a location this process cannot write to, even as root."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


@contextmanager
def unwritable_dir(tmp_path: Path) -> Iterator[Path]:
    """A folder whose children cannot be created: a mode-500 folder, or (as root) one under /sys."""
    if os.geteuid() != 0:
        locked = tmp_path / "locked"
        locked.mkdir()
        locked.chmod(0o500)
        try:
            yield locked
        finally:
            locked.chmod(0o700)
        return
    probe = Path("/sys/vps_probe_unwritable")
    try:
        probe.mkdir()
    except PermissionError:
        yield Path("/sys")
        return
    except OSError:
        pass
    else:
        probe.rmdir()
    pytest.skip("no unwritable location available to this (root) process")
