"""The ``imgkit app`` and ``imgkit gallery`` verbs (dispatched from :mod:`imgkit.cli`).

Usage errors raise :class:`~imgkit.errors.InvalidOptionError`, which ``imgkit``'s entry point
prints as one line with exit status 2. This module imports nothing from :mod:`imgkit.cli`, so
the dispatch runs one way.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, NoReturn

from ..errors import InvalidOptionError

__all__ = ["app_parser", "gallery_parser", "main"]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, no usage dump
        raise InvalidOptionError(f"{self.prog}: {message} (see {self.prog} --help)")


def app_parser() -> argparse.ArgumentParser:
    """Arguments of ``imgkit app``."""
    p = _Parser(prog="imgkit app",
                description="Start the local web app: paint a mask, compare methods, see how each works.")
    p.add_argument("--host", default="127.0.0.1",
                   help="interface to listen on (default 127.0.0.1: this computer only; the app "
                        "has no login, so bind another address only on a network you trust)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"),
                   help="where the methods run")
    p.add_argument("--max-upload-mb", type=float, default=20.0, help="largest upload in MiB (default 20)")
    p.add_argument("--max-megapixels", type=float, default=16.0,
                   help="largest decoded image in megapixels (default 16)")
    p.add_argument("--queue", type=int, default=4, help="jobs that may wait behind the running one")
    p.add_argument("--job-timeout", type=float, default=600.0,
                   help="seconds a job may run before its methods are stopped (default 600)")
    p.add_argument("--open", action="store_true", help="open the page in the default browser")
    return p


def gallery_parser() -> argparse.ArgumentParser:
    """Arguments of ``imgkit gallery``."""
    from .gallery import DEFAULT_INPAINT, DEFAULT_STYLE, SLOW_INPAINT

    p = _Parser(
        prog="imgkit gallery",
        description="Render classical vs deep comparisons, with their 'How it works' figures, as a "
                    "static HTML page.")
    p.add_argument("--out", required=True, type=Path, help="folder to write (index.html, img/)")
    p.add_argument("--size", type=int, default=96, help="side of the sample images (default 96)")
    p.add_argument("--photos", default="astronaut,coffee", help="inpainting photos (comma-separated)")
    p.add_argument("--masks", default="thick", help="hole kinds: box, strokes, thick, blobs")
    p.add_argument("--methods", default=",".join(DEFAULT_INPAINT),
                   help="inpainting methods (comma-separated; empty: none)")
    p.add_argument("--style-methods", default=",".join(DEFAULT_STYLE),
                   help="style methods (comma-separated; empty: none)")
    p.add_argument("--contents", default="chelsea", help="style-transfer content photos")
    p.add_argument("--styles", default="immunohistochemistry", help="style images")
    p.add_argument("--option", action="append", default=[], metavar="METHOD.OPTION=VALUE",
                   help="a method option (repeatable), e.g. dip.iterations=1200")
    p.add_argument("--slow", action="store_true",
                   help=f"add {', '.join(SLOW_INPAINT)} and run every method at its registry "
                        f"defaults (DIP 1200 steps, Gatys 200)")
    p.add_argument("--torch-threads", type=int, default=None,
                   help="threads of PyTorch's CPU ops (default: PyTorch's choice; 1 is much faster "
                        "on a machine busy with other work)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--overwrite", action="store_true", help="replace an existing index.html")
    return p


def _split(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def _parse_option(text: str) -> tuple[str, str, str]:
    key, eq, value = text.partition("=")
    method, dot, name = key.partition(".")
    if not eq or not dot or not method or not name:
        raise InvalidOptionError(f"--option {text!r}: expected METHOD.OPTION=VALUE, e.g. dip.iterations=500")
    return method.strip(), name.strip().replace("-", "_"), value


def gallery_main(argv: list[str]) -> int:
    """``imgkit gallery ...``: build the page; returns the exit status."""
    from ..registry import get_method
    from .gallery import build_gallery

    args = gallery_parser().parse_args(argv)
    if args.torch_threads is not None:
        if args.torch_threads < 1:
            raise InvalidOptionError(f"--torch-threads must be ≥ 1; got {args.torch_threads}")
        from .._torch import require_torch

        require_torch().set_num_threads(args.torch_threads)
    options: dict[str, dict[str, Any]] = {}
    for text in args.option:
        method, name, value = _parse_option(text)
        task = "inpaint" if method in _split(args.methods) else "stylize"
        spec = get_method(method, task)
        options.setdefault(method, {})[name] = spec.option(name).parse(value, method)
    build_gallery(args.out, size=args.size, photos=_split(args.photos), masks=_split(args.masks),
                  methods=_split(args.methods), style_methods=_split(args.style_methods),
                  contents=_split(args.contents), styles=_split(args.styles), options=options,
                  slow=args.slow, seed=args.seed, overwrite=args.overwrite)
    return 0


def app_main(argv: list[str]) -> int:
    """``imgkit app ...``: serve until interrupted; returns the exit status."""
    args = app_parser().parse_args(argv)
    if not 0 < args.port < 65536:
        raise InvalidOptionError(f"--port must be in [1, 65535]; got {args.port}")
    if args.max_upload_mb <= 0 or args.max_megapixels <= 0:
        raise InvalidOptionError("--max-upload-mb and --max-megapixels must be positive")
    if args.queue < 0 or args.job_timeout <= 0:
        raise InvalidOptionError("--queue must be ≥ 0 and --job-timeout positive")
    from .server import serve
    from .uploads import Limits

    limits = Limits(max_bytes=int(args.max_upload_mb * 2**20),
                    max_pixels=int(args.max_megapixels * 1e6))
    serve(args.host, args.port, open_browser=args.open, limits=limits, max_queue=args.queue,
          job_timeout=args.job_timeout, device=args.device)
    return 0


def main(verb: str, argv: list[str]) -> int:
    """Run ``imgkit app ...`` or ``imgkit gallery ...``; returns the exit status."""
    return gallery_main(argv) if verb == "gallery" else app_main(argv)
