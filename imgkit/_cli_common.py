"""What the ``imgkit`` and ``imgkit batch`` command lines share.

The parser whose errors are one line, method options given as ``--name value``, the arguments
every task command takes (method, device, seed, mask reading) and the mapping from an error to
a message and an exit status. Both :mod:`imgkit.cli` and :mod:`imgkit.batch` import it; it
imports neither, so the dispatch from ``imgkit`` to ``imgkit batch`` runs one way.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, NoReturn

from .errors import ImageFileError, ImgkitError, InvalidOptionError
from .registry import DEFAULT_METHODS

__all__ = [
    "HANDLED",
    "Parser",
    "UsageError",
    "add_mask_arguments",
    "add_method_arguments",
    "exit_status",
    "parse_method_options",
    "progress_mode",
    "report_error",
]

class UsageError(Exception):
    """A command line that does not parse; printed as is, exit status 2."""


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line (no usage dump): :class:`UsageError`."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message} (see {self.prog} --help)")


#: What :func:`report_error` turns into a message and an exit status: ``except HANDLED``.
HANDLED = (UsageError, ImgkitError, KeyboardInterrupt, OSError, MemoryError)


def add_method_arguments(p: argparse.ArgumentParser, task: str, *, seed_help: str) -> None:
    """``--method/-m`` (default: the task's default method), ``--device`` and ``--seed``."""
    default = DEFAULT_METHODS[task]
    p.add_argument("--method", "-m", default=default, help=f"method name (default: {default})")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    p.add_argument("--seed", type=int, default=None, help=seed_help)


def add_mask_arguments(p: argparse.ArgumentParser, *, each: str = "") -> None:
    """``--mask-threshold T`` and ``--invert-mask`` (how mask files are read)."""
    p.add_argument("--mask-threshold", type=float, default=None, metavar="T",
                   help="a mask pixel is hole where its value exceeds T x the maximum (T in [0, 1); "
                        "default: any nonzero value); e.g. 0.5 for JPEG-saved masks")
    p.add_argument("--invert-mask", action="store_true",
                   help=f"the hole is the black (zero) part of {each or 'the'} mask")


def parse_method_options(extra: list[str], spec: Any) -> dict[str, Any]:
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


def progress_mode(show: bool) -> bool | str:
    """A bar on a terminal, periodic log lines elsewhere, nothing with ``--no-progress``."""
    if not show:
        return False
    return True if sys.stderr.isatty() else "log"


def exit_status(exc: BaseException) -> int:
    """2 for bad input (a missing or unreadable file, a bad option or output path), else 1."""
    bad_input = (ValueError, LookupError, FileNotFoundError, ImageFileError)
    return 2 if isinstance(exc, bad_input) else 1


def report_error(exc: BaseException, prog: str) -> int:
    """Print ``exc`` as one line on stderr and return the exit status of the command ``prog``.

    A usage error prints as is (2); Ctrl-C prints ``PROG: interrupted`` (130); an imgkit error
    ``PROG: error: MESSAGE`` (:func:`exit_status`); an OS or memory error
    ``PROG: error: TYPE: MESSAGE`` (1). Anything else is raised again.
    """
    if isinstance(exc, UsageError):
        print(str(exc), file=sys.stderr)
        return 2
    if isinstance(exc, ImgkitError):
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return exit_status(exc)
    if isinstance(exc, KeyboardInterrupt):
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    if isinstance(exc, (OSError, MemoryError)):
        print(f"{prog}: error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    raise exc
