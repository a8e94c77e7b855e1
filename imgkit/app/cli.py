"""The ``imgkit app`` and ``imgkit gallery`` verbs (dispatched from :mod:`imgkit.cli`)."""

from __future__ import annotations

from ..errors import InvalidOptionError

__all__ = ["main"]


def _app_parser():
    from ..cli import _Parser

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


def main(verb: str, argv: list[str]) -> int:
    """Run ``imgkit app ...`` or ``imgkit gallery ...``; returns the exit status."""
    if verb == "gallery":
        from .gallery import main as gallery_main

        return gallery_main(argv)
    args = _app_parser().parse_args(argv)
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
