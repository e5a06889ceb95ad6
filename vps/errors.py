"""Exception types shared by every sub-package.

All of them derive from ``ValueError`` so that callers that only know "bad input" can catch one type,
and CLIs map them to exit code 2 with a one-line message.
"""

from __future__ import annotations

from pathlib import Path


class DataError(ValueError):
    """A file or folder on disk is missing, unreadable or does not hold what the format promises.

    The message always names the offending path so a user can find it.
    """

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")
