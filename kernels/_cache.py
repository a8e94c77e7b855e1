"""Numba's on-disk cache when its usual places are read-only (system installs, containers).

The kernels are compiled with ``cache=True``. Numba stores the cache in ``NUMBA_CACHE_DIR``, else
beside the source (``__pycache__``), else in a user-wide folder; when none is writable, every
``njit(cache=True)`` raises ``RuntimeError: cannot cache function ...: no locator available``
at import. :func:`configure` (run once when :mod:`imgkit.kernels` is imported) checks this with
Numba's own locators and, when nothing is writable, falls back, with one warning, to

1. ``$XDG_CACHE_HOME/imgkit/numba`` (default ``~/.cache/imgkit/numba``),
2. ``<temporary folder>/imgkit-numba-<uid>``,
3. no on-disk cache: kernels compile once per process (only functions that could not be
   cached anyway are affected).
"""

from __future__ import annotations

import os
import tempfile
import warnings

__all__ = ["NumbaCacheWarning", "configure"]


class NumbaCacheWarning(UserWarning):
    """Numba's cache folder is not writable; imgkit uses another one or none."""


def _probe() -> None:  # a function of this folder: the kernels share its cache locator
    return None


def _usable() -> bool:
    from numba.core.caching import FunctionCache

    try:
        FunctionCache(_probe)
    except RuntimeError:
        return False
    return True


def _candidates() -> list[str]:
    xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    uid = os.getuid() if hasattr(os, "getuid") else "user"
    return [os.path.join(xdg, "imgkit", "numba"),
            os.path.join(tempfile.gettempdir(), f"imgkit-numba-{uid}")]


_DONE = False


def configure() -> str | None:
    """Make ``cache=True`` kernels importable whatever the file system allows.

    Returns
    -------
    str or None
        None when Numba's own cache location works; else the folder now used, or ``""`` when
        caching is off.
    """
    global _DONE
    from numba.core import config

    if _DONE:
        return None
    _DONE = True
    if _usable():
        return None
    before = config.CACHE_DIR
    why = (f"NUMBA_CACHE_DIR={before!r} is not writable" if before else
           "neither the package folder nor Numba's user cache folder is writable")
    for folder in _candidates():
        try:
            os.makedirs(folder, exist_ok=True)
        except OSError:
            continue
        config.CACHE_DIR = folder
        if _usable():
            warnings.warn(f"Numba cannot cache compiled kernels ({why}); imgkit caches them in "
                          f"{folder!r} instead (set NUMBA_CACHE_DIR to choose)", NumbaCacheWarning,
                          stacklevel=2)
            return folder
    config.CACHE_DIR = before
    _tolerate_missing_locator()
    warnings.warn(f"Numba cannot cache compiled kernels ({why}, and no fallback folder is "
                  f"writable): kernels are compiled again in each process (set NUMBA_CACHE_DIR to a "
                  f"writable folder to keep them)", NumbaCacheWarning, stacklevel=2)
    return ""


def _tolerate_missing_locator() -> None:
    """``njit(cache=True)`` without any writable cache location: compile without caching."""
    from numba.core.dispatcher import Dispatcher

    original = Dispatcher.enable_caching
    if getattr(original, "_imgkit_tolerant", False):
        return

    def enable_caching(self):  # type: ignore[no-untyped-def]
        try:
            original(self)
        except RuntimeError as exc:
            if "no locator available" not in str(exc):
                raise  # keeps the NullCache: compiled once per process

    enable_caching._imgkit_tolerant = True  # type: ignore[attr-defined]
    Dispatcher.enable_caching = enable_caching  # type: ignore[method-assign]
