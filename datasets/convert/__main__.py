"""``python -m datasets.convert FORMAT --src SRC --out DST``: see :mod:`datasets.convert`."""
from __future__ import annotations

import argparse
import logging
import sys

from datasets.convert import FORMATS, convert
from errors import run_main


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m datasets.convert",
                                description="Convert a downloaded dataset to this project's layout (images linked).")
    p.add_argument("format", choices=list(FORMATS), help="source format")
    p.add_argument("--src", required=True, help="the downloaded dataset's folder (see the format's docstring)")
    p.add_argument("--out", required=True, help="new or empty output folder")
    p.add_argument("--test-fraction", type=float, default=None,
                   help="wildtrack/epfl/campus: last fraction of the frames that is the test range "
                        "(default: wildtrack 0.1, epfl/campus 0.2)")
    args = p.parse_args(argv)
    if args.test_fraction is not None:
        if not FORMATS[args.format][1]:
            p.error(f"--test-fraction: {args.format} has splits of its own")
        if not 0.0 < args.test_fraction < 1.0:
            p.error(f"--test-fraction must be in (0, 1), got {args.test_fraction}")
    return args


def main(args: argparse.Namespace) -> None:
    out = convert(args.format, args.src, args.out, args.test_fraction)
    print(f"wrote {out}; check it with: python -m datasets.check {out}")


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    sys.exit(run_main(lambda: main(parse_args())))
