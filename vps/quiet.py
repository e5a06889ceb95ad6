"""Native library noise (libpng, FFmpeg, OpenCV's own warnings) routed to the log, not the user's terminal.

Decoding a damaged PNG makes libpng print ``libpng error: IDAT: ...`` and FFmpeg ``[mov ...] moov atom not
found`` straight to file descriptor 2, before the toolkit's own one-line error. :func:`native_to_log` runs a
block with descriptor 2 pointed at a private temporary file and hands whatever the libraries wrote there
to the ``vps.native`` logger at DEBUG level (``logging.basicConfig(level=logging.DEBUG)`` shows it).

The redirection is process-wide while the block runs (descriptor 2 is shared by all threads), so blocks
are kept to single native calls (one ``imdecode``, one ``VideoCapture.read``) and serialised by a lock;
nested blocks in one thread reuse the outer redirection.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO

LOG = logging.getLogger("vps.native")
_LOCK = threading.RLock()
_state: dict[str, object] = {"depth": 0, "sink": None}


def _sink() -> IO[bytes]:
    sink = _state["sink"]
    if sink is None:
        sink = tempfile.TemporaryFile()  # noqa: SIM115  (kept open for the process: one sink, reused)
        _state["sink"] = sink
    return sink  # type: ignore[return-value]


@contextmanager
def native_to_log(what: str) -> Iterator[None]:
    """Run the block with native stderr output captured and logged (DEBUG) as ``what: line``."""
    with _LOCK:
        if _state["depth"]:
            _state["depth"] = int(_state["depth"]) + 1  # type: ignore[call-overload]
            try:
                yield
            finally:
                _state["depth"] = int(_state["depth"]) - 1  # type: ignore[call-overload]
            return
        try:
            sys.stderr.flush()
            saved, sink = os.dup(2), _sink()
        except (OSError, ValueError, AttributeError):  # no usable descriptor 2: nothing to silence
            yield
            return
        os.dup2(sink.fileno(), 2)
        _state["depth"] = 1
        try:
            yield
        finally:
            _state["depth"] = 0
            os.dup2(saved, 2)
            os.close(saved)
            _drain(sink, what)


def _drain(sink: IO[bytes], what: str) -> None:
    """Log and discard what the libraries wrote to the sink."""
    sink.seek(0)
    text = sink.read().decode("utf-8", errors="replace")
    sink.seek(0)
    sink.truncate()
    for line in text.splitlines():
        if line.strip():
            LOG.debug("%s: %s", what, line.strip())


def quiet_libraries() -> None:
    """For CLIs: OpenCV's own log (``[ WARN:0@...]``) and ONNX Runtime's at errors only, FFmpeg's quiet.

    Process-wide settings, so only command-line entry points call this (a library user keeps theirs).
    """
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # AV_LOG_QUIET, read when a capture opens
    try:
        import cv2

        cv2.setLogLevel(2)  # LOG_LEVEL_ERROR
    except (ImportError, AttributeError):
        pass
    try:
        import onnxruntime

        onnxruntime.set_default_logger_severity(3)  # errors only
    except (ImportError, AttributeError):
        pass
