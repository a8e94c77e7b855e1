"""Model files named by a path (a ``weights=`` option): the check that the file is there, and a
cache of what was loaded from it, per file version and device. Shared by the networks that load
user or shipped files (LaMa's TorchScript checkpoint, the context encoder).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import WeightsNotFoundError

__all__ = ["cached_load", "model_file"]


def model_file(path: str | os.PathLike[str], what: str, expected: str, source: str = "") -> Path:
    """``path`` (``~`` expanded), resolved, if it is a file; else :class:`WeightsNotFoundError`
    ``"<what> '<path>' [(from <source>)] is a folder, not a file|does not exist; <expected>"``."""
    p = Path(path).expanduser()
    if not p.is_file():
        why = "is a folder, not a file" if p.is_dir() else "does not exist"
        origin = f" (from {source})" if source else ""
        raise WeightsNotFoundError(f"{what} {str(p)!r}{origin} {why}; {expected}")
    return p.resolve()


def cached_load(cache: dict[tuple[str, int, int, str], Any], path: Path, device: Any,
                load: Callable[[Path, Any], Any], keep: int = 1) -> Any:
    """``load(path, device)``, kept in ``cache`` per (path, modification time, size, device): a
    file rewritten in place is loaded again. The cache is emptied before a new entry once it
    holds ``keep`` entries (large models: ``keep=1``)."""
    st = path.stat()
    key = (str(path), st.st_mtime_ns, st.st_size, str(device))
    model = cache.get(key)
    if model is None:
        model = load(path, device)
        if len(cache) >= keep:
            cache.clear()
        cache[key] = model
    return model
