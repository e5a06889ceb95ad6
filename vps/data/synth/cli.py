"""``vps-synth``: write synthetic driving clips in the KITTI-STEP layout.

Example::

    vps-synth /tmp/synth --sequences 4 --frames 20 --size 375x1242 --seed 0 --split train

writes ``/tmp/synth/images/train/0000/000000.png`` ... and ``/tmp/synth/panoptic_maps/train/...``; the files
are identical to what :func:`vps.data.synth.generate_dataset` writes with the same arguments. Bad arguments
print one line and exit with status 2.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from vps.data.synth.generate import generate_dataset

_SIZE_RE = re.compile(r"^\s*(\d+)\s*[xX]\s*(\d+)\s*$")
SPLITS = ("train", "val", "test")


class _UsageError(Exception):
    """Raised instead of argparse's usage-and-exit so ``main`` can print exactly one line."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise _UsageError(message)


def parse_size(text: str) -> tuple[int, int]:
    """``"HxW"`` (e.g. ``375x1242``) to ``(H, W)``; ``argparse.ArgumentTypeError`` if malformed."""
    m = _SIZE_RE.match(text)
    if not m:
        raise argparse.ArgumentTypeError(f"expected HEIGHTxWIDTH like 375x1242, got {text!r}")
    return int(m.group(1)), int(m.group(2))


def _count(minimum: int) -> type:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be >= {minimum}, got {value}")
        return value

    parse.__name__ = "int"
    return parse  # type: ignore[return-value]


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="vps-synth", description="Write procedural synthetic driving clips (RGB frames and "
                "KITTI-STEP panoptic maps) in the KITTI-STEP folder layout.")
    p.add_argument("out", type=Path, help="dataset root to write into (created if missing)")
    p.add_argument("--sequences", type=_count(1), default=4, help="number of clips (default 4)")
    p.add_argument("--frames", type=_count(1), default=20, help="frames per clip (default 20)")
    p.add_argument("--size", type=parse_size, default=(375, 1242), metavar="HxW",
                   help="image size, height x width (default 375x1242, KITTI)")
    p.add_argument("--seed", type=_count(0), default=0, help="random seed (default 0)")
    p.add_argument("--split", choices=SPLITS, default="train", help="split folder name (default train)")
    p.add_argument("--first-seq", type=_count(0), default=0, dest="first_seq",
                   help="number of the first clip; clip k is the same whatever the first (default 0)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def main(argv: list[str] | None = None) -> int:
    """Run ``vps-synth``; returns the exit status (0 ok, 2 bad arguments or an unwritable output location)."""
    parser = build_parser()
    args = None
    try:
        args = parser.parse_args(argv)
        if args.out.exists() and not args.out.is_dir():
            raise ValueError(f"{args.out}: exists and is not a folder; choose a new or existing folder")
        generate_dataset(args.out, sequences=args.sequences, frames=args.frames, size=args.size,
                         seed=args.seed, split=args.split, first_seq=args.first_seq, progress=not args.quiet)
    except _UsageError as exc:
        print(f"vps-synth: error: {exc}", file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"vps-synth: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # unwritable or not-a-folder location: the user's --out, so exit 2
        where = exc.filename if exc.filename is not None else getattr(args, "out", "?")
        print(f"vps-synth: error: {where}: cannot write there ({exc.strerror or exc})", file=sys.stderr)
        return 2
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
