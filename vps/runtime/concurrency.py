"""The runtime's concurrency contract: one stream, one thread at a time, and a clear error otherwise.

A :class:`~vps.runtime.segmenter.Segmenter` is a *stream*: every frame is conditioned on the previous ones
(analog bits, warm-start latent, track table, noise generator). Two threads interleaving frames of one
segmenter would silently mix two streams (what a serial replay shows: almost every result differs), so
the segmenter does not serialise them behind a lock, which would only hide the mix-up. Instead:

* :meth:`Segmenter.step` and :meth:`Segmenter.reset` are **exclusive**: a second thread entering either
  while another thread is inside raises :class:`ConcurrentUseError` at once (nothing of the stream is
  touched). Handing a segmenter from one thread to another between calls is fine.
* The backend (ONNX Runtime sessions with their I/O bindings, TensorRT execution contexts, CUDA graphs,
  the torch module) belongs to the segmenter that runs it: the same guard covers it, so two segmenters
  sharing one backend object raise the same error when their steps overlap.
* Use one segmenter per camera (and per thread); several of them run in parallel threads without any
  interference (each has its own backend sessions).

:func:`exclusive` is the decorator that implements this; the guard is a non-blocking
:class:`threading.Lock` per object (the segmenter, and its backend), created on first use.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

_GUARD_ATTR = "_vps_exclusive_guard"
_CREATE = threading.Lock()  # only held while a guard is created


class ConcurrentUseError(RuntimeError):
    """A second thread entered a segmenter (or its backend) while another thread was using it."""


def _guard_of(obj: Any) -> threading.Lock | None:
    """The guard lock of ``obj`` (created on first use); None for objects that cannot carry one."""
    lock = getattr(obj, _GUARD_ATTR, None)
    if lock is not None:
        return lock
    with _CREATE:
        lock = getattr(obj, _GUARD_ATTR, None)
        if lock is None:
            lock = threading.Lock()
            try:
                setattr(obj, _GUARD_ATTR, lock)
            except (AttributeError, TypeError):  # __slots__ or a C object: not guarded
                return None
    return lock


@contextmanager
def hold(owner: Any, what: str, *shared: Any) -> Iterator[None]:
    """Hold the guards of ``owner`` and of the ``shared`` objects, or raise :class:`ConcurrentUseError`."""
    with ExitStack() as stack:
        for obj in (owner, *shared):
            lock = _guard_of(obj)
            if lock is None:
                continue
            if not lock.acquire(blocking=False):
                name = type(owner).__name__ if obj is owner else f"the backend of this {type(owner).__name__}"
                raise ConcurrentUseError(
                    f"{name} is already in use by another thread ({what} entered concurrently); a "
                    f"Segmenter is one stream: use one per thread/camera, or serialise the calls")
            stack.callback(lock.release)
        yield


def exclusive(method: F) -> F:
    """Decorate a segmenter method so that concurrent entry raises :class:`ConcurrentUseError`.

    Covers the object itself and its ``backend`` attribute (if any): see the module docstring.
    """
    what = f"{method.__name__}()"

    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        backend = getattr(self, "backend", None)
        with hold(self, what, *(() if backend is None else (backend,))):
            return method(self, *args, **kwargs)

    return wrapper  # type: ignore[return-value]
