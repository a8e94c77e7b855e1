"""The ``imgkit`` command line.

::

    imgkit inpaint IMAGE --mask MASK -o OUT [--method M] [--device D] [--seed N] [--OPTION VALUE ...]
    imgkit stylize CONTENT [--style STYLE ...] -o OUT [--method M] [--OPTION VALUE ...]
    imgkit analogy A A_PRIME B -o OUT [--method M] [--OPTION VALUE ...]
    imgkit methods [--task T] [--json]
    imgkit learn-style PAINTING --photos DIR -o STYLE.npz [--steps N] [--resume] [...]
    imgkit train inpaint --photos DIR -o MODEL.pt [...]   (imgkit train inpaint --help)
    imgkit batch TASK ...          (many images at once on Dask: imgkit batch --help)
    imgkit app [--host 127.0.0.1] [--port 8000]          (the web app; needs imgkit[app])
    imgkit gallery --out DIR [--slow]                     (the comparisons as a static page)
    imgkit --version

Method options are given as ``--name value`` (``--patch-size 9`` or ``--patch_size=9``);
``imgkit methods`` lists them. Every output argument (extension, bit depth, folder, existing
file) is checked before any input is read or any work is done.

Errors print one line on stderr and exit with status 2 for bad input (missing *or* unreadable
file, bad option, bad output path) or 1 when the run itself failed; outputs are written
atomically, so a failed run leaves no file. Warnings (e.g. a suspicious mask) print one line
``imgkit: warning: ...`` and the run goes on. Progress: a bar on a terminal; otherwise (logs,
pipes) a line on stderr every ``IMGKIT_PROGRESS_INTERVAL`` seconds (default 10). The last line
on stdout says what was written, with the method, the seed (drawn when ``--seed`` is not
given, so any run can be repeated) and the time.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

from . import __version__
from ._cli_common import (
    HANDLED,
    Parser,
    UsageError,
    add_mask_arguments,
    add_method_arguments,
    exit_status,
    parse_method_options,
    progress_mode,
    report_error,
)
from .errors import ImgkitWarning, InvalidOptionError
from .registry import TASKS

__all__ = ["build_parser", "exit_status", "main"]


def _common(p: argparse.ArgumentParser, task: str) -> None:
    p.add_argument("-o", "--output", required=True, type=Path,
                   help="output image file (.png, .jpg, .tif, ...); its folder must exist")
    add_method_arguments(p, task, seed_help="seed for every random choice")
    p.add_argument("--no-progress", dest="progress", action="store_false",
                   help="hide the progress bar (or, off a terminal, the periodic progress lines)")
    p.add_argument("--bit-depth", type=int, default=None, choices=(8, 16),
                   help="bits per channel of the output file (default: the input's, 16 only for "
                        ".png/.tif outputs, else 8)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace OUTPUT if it exists (default: refuse)")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="imgkit", description="Inpainting, style transfer and image analogies.")
    parser.add_argument("--version", action="version", version=f"imgkit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)

    p = sub.add_parser("inpaint", help="fill the masked hole of an image",
                       epilog="Method options: --NAME VALUE (see `imgkit methods`). Every method also "
                              "takes --region auto|crop|full (work on each hole's neighbourhood at "
                              "full resolution: big photos), --region-margin N, --mask-dilate N and "
                              "--mask-feather N (pixels).")
    p.add_argument("image", type=Path, help="image file")
    p.add_argument("--mask", required=True, type=Path,
                   help="mask file: nonzero (white) pixels are the hole; same size as IMAGE")
    add_mask_arguments(p)
    _common(p, "inpaint")

    p = sub.add_parser("stylize", help="render CONTENT in the look of STYLE",
                       epilog="Method options: --NAME VALUE (see `imgkit methods`).")
    p.add_argument("content", type=Path, help="content image file")
    p.add_argument("--style", type=Path, action="append", default=[],
                   help="style image file (repeat for several styles; methods with built-in "
                        "styles, multistyle and johnson, need none)")
    _common(p, "stylize")

    p = sub.add_parser("analogy", help="learn A → A' and apply it to B",
                       epilog="Method options: --NAME VALUE (see `imgkit methods`).")
    p.add_argument("a", type=Path, help="example input A")
    p.add_argument("a_prime", type=Path, help="example output A'")
    p.add_argument("b", type=Path, help="new input B")
    _common(p, "analogy")

    # parsed by imgkit.app.cli (listed here for --help)
    sub.add_parser("app", help="start the local web app (imgkit app --help)", add_help=False)
    sub.add_parser("gallery", help="write method comparisons as a static HTML page", add_help=False)

    p = sub.add_parser("methods", help="list the available methods and their options")
    p.add_argument("--task", choices=TASKS, default=None)
    p.add_argument("--json", action="store_true", help="machine-readable output")

    # Listed for --help only: `imgkit batch ...` is dispatched to imgkit.batch.cli_main.
    sub.add_parser("batch", help="run a method over folders of images on Dask "
                                 "(imgkit batch --help)", add_help=False)
    sub.add_parser("learn-style", help="learn a new style for method 'multistyle' "
                                       "(imgkit learn-style --help)", add_help=False)
    sub.add_parser("train", help="train an inpainting network (imgkit train inpaint --help)",
                   add_help=False)
    return parser


def _methods_table(task: str | None, as_json: bool) -> str:
    from .registry import list_methods

    specs = list_methods(task)
    if as_json:
        return json.dumps([s.as_dict() for s in specs], indent=2, default=str)
    lines = []
    header = f"{'task':<8} {'method':<12} {'family':<9} {'devices':<9} summary"
    lines.append(header)
    lines.append("-" * len(header))
    for s in specs:
        flag = "" if s.available else f"  [unavailable: {s.missing()}]"
        lines.append(f"{s.task:<8} {s.name:<12} {s.family:<9} {','.join(s.devices):<9} "
                     f"{s.summary}{flag}")
        for o in s.options:
            lines.append(f"{'':<31}--{o.name.replace('_', '-')}={o.default!r}  ({o.describe()}) "
                         f"{o.doc}")
    lines.append("")
    lines.append("References:")
    for s in specs:
        lines.append(f"  {s.name}: {s.reference}")
    return "\n".join(lines)


def _print_warnings(caught: list[warnings.WarningMessage]) -> None:
    for w in caught:
        if issubclass(w.category, ImgkitWarning):
            print(f"imgkit: warning: {w.message}", file=sys.stderr)
        else:
            warnings.showwarning(w.message, w.category, w.filename, w.lineno)


def _run_task(args: argparse.Namespace, extra: list[str]) -> int:
    import time

    from . import api
    from .io import check_output, display_path, load_image, load_mask, save_image
    from .registry import get_method

    spec = get_method(args.method, args.command)
    options = parse_method_options(extra, spec)
    out: Path = args.output
    # every output argument is checked before any input is read or any work is done
    check_output(out, bit_depth=args.bit_depth or 8, overwrite=args.overwrite)
    common = dict(method=args.method, device=args.device, seed=args.seed,
                  progress=progress_mode(args.progress), return_info=True, **options)
    t0 = time.perf_counter()
    if args.command == "inpaint":
        image, meta = load_image(args.image, with_metadata=True)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ImgkitWarning)
            mask = load_mask(args.mask, threshold=args.mask_threshold, invert=args.invert_mask)
        _print_warnings(caught)
        if mask.shape != image.shape[:2]:
            raise InvalidOptionError(
                f"mask {display_path(args.mask)!r} is {mask.shape[1]}x{mask.shape[0]} pixels but image "
                f"{display_path(args.image)!r} is {image.shape[1]}x{image.shape[0]} (as shown, EXIF "
                f"orientation applied): mask shape {mask.shape} does not match {image.shape[:2]}"
            )
        result, info = api.inpaint(image, mask, **common)
    elif args.command == "stylize":
        image, meta = load_image(args.content, with_metadata=True)
        styles = [load_image(s) for s in args.style]
        style = None if not styles else styles if len(styles) > 1 else styles[0]
        result, info = api.stylize(image, style, **common)
    else:
        a, a_prime = load_image(args.a), load_image(args.a_prime)
        image, meta = load_image(args.b, with_metadata=True)
        result, info = api.analogy(a, a_prime, image, **common)
    bit_depth = args.bit_depth
    if bit_depth is None:  # keep a 16-bit input 16-bit where the output format allows it
        bit_depth = 16 if meta.bit_depth >= 16 and out.suffix.lower() in (".png", ".tif", ".tiff") else 8
    del image
    save_image(out, result, bit_depth=bit_depth, metadata=meta)
    seconds = time.perf_counter() - t0
    print(f"wrote {display_path(out)} ({info.method}, seed {info.seed}, {seconds:.2f} s)")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``imgkit`` command; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    try:
        if argv and argv[0] == "batch":
            from .batch import cli_main

            return cli_main(argv[1:])
        if argv and argv[0] == "learn-style":
            from .train.style import cli_main as learn_style_main

            return learn_style_main(argv[1:])
        if argv and argv[0] in ("app", "gallery"):
            from .app.cli import main as app_main

            return app_main(argv[0], argv[1:])
        if argv and argv[0] == "train":
            from .train import cli_main as train_main

            return train_main(argv[1:])
        args, extra = parser.parse_known_args(argv)
        if args.command is None:
            parser.print_help()
            return 2
        if args.command == "methods":
            if extra:
                raise UsageError(f"imgkit methods: unexpected arguments {extra}")
            print(_methods_table(args.task, args.json))
            return 0
        return _run_task(args, extra)
    except HANDLED as exc:
        return report_error(exc, "imgkit")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
