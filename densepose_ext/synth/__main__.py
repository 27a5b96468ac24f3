"""CLI: ``python -m densepose_ext.synth --out DIR --num-images N --seed S [--size WxH] [--workers K]``.

Also ``python -m densepose_ext.synth contact-sheet [--out docs/synth_contact_sheet.png]`` (see
:mod:`densepose_ext.synth.contact_sheet`) and ``python -m densepose_ext.synth migrate DIR`` (a folder of an
earlier format to the current one, :mod:`densepose_ext.synth.migrate`).
"""
from __future__ import annotations

import argparse
import sys

PROG = "python -m densepose_ext.synth"


def parse_size(text: str) -> tuple[int, int]:
    """'640x480' (width x height) -> (480, 640) as (height, width), each at least generate.MIN_SIZE."""
    from densepose_ext.synth.generate import MIN_SIZE

    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT such as 640x480, found {text!r}")
    if min(width, height) < MIN_SIZE:
        raise argparse.ArgumentTypeError(f"expected a width and height of at least {MIN_SIZE} px, found {text!r}")
    return height, width


def _at_least(minimum: int):
    """argparse type: an integer >= `minimum`."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, found {text!r}")
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected an integer >= {minimum}, found {value}")
        return value
    return parse


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["contact-sheet"]:
        from densepose_ext.synth.contact_sheet import main as contact_sheet_main

        contact_sheet_main(argv[1:])
        return
    if argv[:1] == ["migrate"]:
        from densepose_ext.synth.migrate import main as migrate_main

        migrate_main(argv[1:])
        return
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Render a DensePose-Synth dataset (DensePose-COCO format, see docs/FORMAT_synth.md).",
        epilog="`python -m densepose_ext.synth contact-sheet --help`: the annotated sample sheet; "
               "`python -m densepose_ext.synth migrate --help`: rewrite a folder of an earlier format.")
    parser.add_argument("--out", required=True, help="output folder (resumed if it exists)")
    parser.add_argument("--num-images", type=_at_least(0), required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--size", type=parse_size, default=(480, 640), help="WIDTHxHEIGHT, default 640x480")
    parser.add_argument("--workers", type=_at_least(1), default=1, help="processes (output does not depend on it)")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    from densepose_ext.synth.generate import generate
    from densepose_ext.utils.output_location import check_output_folder

    check_output_folder(args.out, "--out")
    coco = generate(args.out, args.num_images, seed=args.seed, size=args.size, workers=args.workers,
                    progress=not args.no_progress)
    print(f"{args.out}: {len(coco['images'])} images, {len(coco['annotations'])} annotations")


if __name__ == "__main__":
    from densepose_ext.utils.cli_errors import run_cli

    sys.exit(run_cli(main, PROG))
