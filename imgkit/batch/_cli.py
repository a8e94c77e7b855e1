"""``imgkit batch TASK ...``: the command line of :mod:`imgkit.batch`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .._cli_common import (
    HANDLED,
    Parser,
    add_mask_arguments,
    add_method_arguments,
    parse_method_options,
    progress_mode,
    report_error,
)
from ..errors import ImageFileNotFoundError
from ..io import _EXTS
from ._errors import BatchInterrupted
from ._inputs import analogy_inputs, inpaint_inputs, stylize_inputs
from ._run import run

__all__ = ["cli_main"]


def _build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="imgkit batch", description="Run a method over folders of images on Dask.")
    sub = parser.add_subparsers(dest="task", metavar="TASK", parser_class=Parser)

    def common(p: argparse.ArgumentParser, task: str) -> None:
        p.add_argument("-o", "--output", required=True, type=Path,
                       help="output folder (created if missing); holds one file per input and "
                            "manifest.jsonl")
        add_method_arguments(p, task, seed_help="seed given to every call")
        p.add_argument("--scheduler", default=None,
                       help="Dask scheduler address (tcp://host:8786) or scheduler file; default: a "
                            "local cluster on this machine")
        p.add_argument("--workers", type=int, default=None,
                       help="worker processes of the local cluster (default: one per core)")
        p.add_argument("--resume", action="store_true",
                       help="skip inputs already done with the same settings (see the manifest)")
        p.add_argument("--overwrite", action="store_true", help="recompute and replace existing outputs")
        p.add_argument("--retries", type=int, default=2,
                       help="re-runs of a task that raised an unexpected error (default 2)")
        p.add_argument("--ext", default=".png", help="output format (default .png)")
        p.add_argument("--bit-depth", type=int, default=8, choices=(8, 16))
        p.add_argument("--no-progress", dest="progress", action="store_false",
                       help="hide the progress bar")

    epilog = "Method options: --NAME VALUE (see `imgkit methods`). Details: docs/batch.md."
    p = sub.add_parser("inpaint", help="fill the masked holes of a folder of images", epilog=epilog)
    p.add_argument("images", type=Path, help="folder of images (or one image)")
    p.add_argument("--masks", required=True, type=Path,
                   help="folder of masks: the mask of cat.jpg is the image named cat.* there")
    p.add_argument("--mask-pattern", default=None,
                   help="mask file name pattern instead, e.g. '{stem}_mask.png' (fields: stem, name, ext)")
    add_mask_arguments(p, each="each")
    common(p, "inpaint")
    p = sub.add_parser("stylize", help="render a folder of images in the look of a style", epilog=epilog)
    p.add_argument("contents", type=Path, help="folder of content images (or one image)")
    p.add_argument("--style", required=True, type=Path,
                   help="style image, or a folder of styles (every content in every style)")
    common(p, "stylize")
    p = sub.add_parser("analogy", help="apply the filter A -> A' to a folder of images B", epilog=epilog)
    p.add_argument("bs", type=Path, help="folder of B images (or one image)")
    p.add_argument("--a", required=True, type=Path, help="example input A (file, or folder paired by stem)")
    p.add_argument("--a-prime", required=True, type=Path, help="example output A' (file or folder)")
    common(p, "analogy")
    return parser


def cli_main(argv: list[str]) -> int:
    """``imgkit batch TASK ...``: run a batch, print a one-screen summary, return the exit status.

    ::

        imgkit batch inpaint IMAGES --masks MASKS [--mask-pattern '{stem}_mask.png'] -o OUT
        imgkit batch stylize CONTENTS --style STYLE_OR_FOLDER -o OUT
        imgkit batch analogy BS --a A --a-prime A_PRIME -o OUT
          [--method M] [--scheduler tcp://host:8786] [--workers N] [--resume] [--overwrite]
          [--device D] [--seed N] [--retries N] [--ext .png] [--bit-depth 8|16] [--no-progress]
          [--OPTION VALUE ...]

    Exit status: 0 when every input is done (or skipped), 1 when any input failed, 2 for a usage
    or validation error (nothing run), 130 when interrupted (rerun with ``--resume``).
    """
    from ..registry import get_method

    parser = _build_parser()
    try:
        args, extra = parser.parse_known_args(list(argv))
        if args.task is None:
            parser.print_help()
            return 2
        spec = get_method(args.method, args.task)
        options = parse_method_options(extra, spec)
        if args.task == "inpaint":
            items = inpaint_inputs(args.images, args.masks, pattern=args.mask_pattern)
        elif args.task == "stylize":
            items = stylize_inputs(args.contents, args.style)
        else:
            items = analogy_inputs(args.bs, args.a, args.a_prime)
        if not items:
            raise ImageFileNotFoundError("no input images found (looked for files ending in "
                                         f"{', '.join(_EXTS)})")
        if args.task == "inpaint":
            options.update(mask_threshold=args.mask_threshold, invert_mask=args.invert_mask)
        summary = run(args.task, items, method=args.method, out_dir=args.output,
                      scheduler=args.scheduler, workers=args.workers, resume=args.resume,
                      overwrite=args.overwrite, device=args.device, seed=args.seed,
                      retries=args.retries, ext=args.ext, bit_depth=args.bit_depth,
                      progress=progress_mode(args.progress),
                      **options)
    except BatchInterrupted as exc:
        print(str(exc.summary))
        print("imgkit batch: interrupted; rerun with --resume to finish", file=sys.stderr)
        return 130
    except HANDLED as exc:
        return report_error(exc, "imgkit batch")
    print(str(summary))
    return 0 if summary.ok else 1
