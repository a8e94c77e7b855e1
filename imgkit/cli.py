"""The ``imgkit`` command line.

::

    imgkit inpaint IMAGE --mask MASK -o OUT [--method M] [--device D] [--seed N] [--OPTION VALUE ...]
    imgkit stylize CONTENT --style STYLE [--style STYLE ...] -o OUT [--method M] [--OPTION VALUE ...]
    imgkit analogy A A_PRIME B -o OUT [--method M] [--OPTION VALUE ...]
    imgkit methods [--task T] [--json]
    imgkit --version

Method options are given as ``--name value`` (``--patch-size 9`` or ``--patch_size=9``);
``imgkit methods`` lists them. Errors print one line on stderr and exit with status 2 (bad
input) or 1 (the run failed); outputs are written atomically, so a failed run leaves no file.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from . import __version__
from .errors import ImgkitError, InvalidOptionError

_TASK_COMMANDS = ("inpaint", "stylize", "analogy")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, no usage dump
        raise _UsageError(f"{self.prog}: {message} (see {self.prog} --help)")


class _UsageError(Exception):
    pass


def _common(p: argparse.ArgumentParser, task: str) -> None:
    default = {"inpaint": "criminisi", "stylize": "gatys", "analogy": "hertzmann"}[task]
    p.add_argument("-o", "--output", required=True, type=Path,
                   help="output image file (.png, .jpg, .tif, ...); its folder must exist")
    p.add_argument("--method", "-m", default=default, help=f"method name (default: {default})")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    p.add_argument("--seed", type=int, default=None, help="seed for every random choice")
    p.add_argument("--no-progress", dest="progress", action="store_false",
                   help="hide the progress bar")
    p.add_argument("--bit-depth", type=int, default=8, choices=(8, 16),
                   help="bits per channel of the output file")
    p.add_argument("--overwrite", action="store_true",
                   help="replace OUTPUT if it exists (default: refuse)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="imgkit", description="Inpainting, style transfer and image analogies.")
    parser.add_argument("--version", action="version", version=f"imgkit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser("inpaint", help="fill the masked hole of an image",
                       epilog="Method options: --NAME VALUE (see `imgkit methods`).")
    p.add_argument("image", type=Path, help="image file")
    p.add_argument("--mask", required=True, type=Path,
                   help="mask file: nonzero (white) pixels are the hole; same size as IMAGE")
    _common(p, "inpaint")

    p = sub.add_parser("stylize", help="render CONTENT in the look of STYLE",
                       epilog="Method options: --NAME VALUE (see `imgkit methods`).")
    p.add_argument("content", type=Path, help="content image file")
    p.add_argument("--style", required=True, type=Path, action="append",
                   help="style image file (repeat for several styles)")
    _common(p, "stylize")

    p = sub.add_parser("analogy", help="learn A → A' and apply it to B",
                       epilog="Method options: --NAME VALUE (see `imgkit methods`).")
    p.add_argument("a", type=Path, help="example input A")
    p.add_argument("a_prime", type=Path, help="example output A'")
    p.add_argument("b", type=Path, help="new input B")
    _common(p, "analogy")

    p = sub.add_parser("methods", help="list the available methods and their options")
    p.add_argument("--task", choices=_TASK_COMMANDS, default=None)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    return parser


def _parse_method_options(extra: list[str], spec: Any) -> dict[str, Any]:
    """Turn ``--name value`` / ``--name=value`` pairs into validated method options."""
    opts: dict[str, Any] = {}
    i = 0
    while i < len(extra):
        tok = extra[i]
        if not tok.startswith("--") or tok == "--":
            raise InvalidOptionError(
                f"unexpected argument {tok!r}; method options are given as --NAME VALUE"
            )
        name, eq, value = tok[2:].partition("=")
        name = name.replace("-", "_")
        option = spec.option(name)  # raises with the list of accepted options
        if not eq:
            if i + 1 < len(extra) and not extra[i + 1].startswith("--"):
                value = extra[i + 1]
                i += 1
            elif bool in option.types:
                value = "true"
            else:
                raise InvalidOptionError(f"option --{name.replace('_', '-')} needs a value")
        opts[name] = option.parse(value, spec.name)
        i += 1
    return opts


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


def _run_task(args: argparse.Namespace, extra: list[str]) -> int:
    from . import api
    from .io import load_image, load_mask, save_image
    from .registry import get_method

    spec = get_method(args.method, args.command)
    options = _parse_method_options(extra, spec)
    out: Path = args.output
    if out.exists() and not args.overwrite:
        raise InvalidOptionError(
            f"output {str(out)!r} already exists; pass --overwrite to replace it"
        )
    if not out.parent.is_dir() and str(out.parent):
        from .errors import ImageFileNotFoundError

        raise ImageFileNotFoundError(
            f"cannot write {str(out)!r}: folder {str(out.parent)!r} does not exist; create it first"
        )
    common = dict(method=args.method, device=args.device, seed=args.seed,
                  progress=args.progress and sys.stderr.isatty(), **options)
    if args.command == "inpaint":
        result = api.inpaint(load_image(args.image), load_mask(args.mask), **common)
    elif args.command == "stylize":
        styles = [load_image(s) for s in args.style]
        result = api.stylize(load_image(args.content), styles if len(styles) > 1 else styles[0],
                             **common)
    else:
        result = api.analogy(load_image(args.a), load_image(args.a_prime), load_image(args.b),
                             **common)
    save_image(out, result, bit_depth=args.bit_depth)
    print(f"wrote {out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``imgkit`` command; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    try:
        if argv and argv[0] == "batch":
            from .batch import cli_main

            return cli_main(argv[1:])
        if argv and argv[0] == "train":
            from .train import cli_main as train_main

            return train_main(argv[1:])
        args, extra = parser.parse_known_args(argv)
        if args.command is None:
            parser.print_help()
            return 2
        if args.command == "methods":
            if extra:
                raise _UsageError(f"imgkit methods: unexpected arguments {extra}")
            print(_methods_table(args.task, args.json))
            return 0
        return _run_task(args, extra)
    except _UsageError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except ImgkitError as exc:
        print(f"imgkit: error: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, (ValueError, LookupError, FileNotFoundError)) else 1
    except KeyboardInterrupt:
        print("imgkit: interrupted", file=sys.stderr)
        return 130
    except (OSError, MemoryError) as exc:
        print(f"imgkit: error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
