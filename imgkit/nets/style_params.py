"""One style's conditional-normalisation parameters for :class:`imgkit.nets.transformers.MultiStyleNet`.

The file format of a learned style (``imgkit learn-style``, :func:`imgkit.style.learn_style`)
and of ``style_params=`` of ``imgkit.stylize(method="multistyle")``: an ``.npz`` holding
``<layer>/gamma`` and ``<layer>/beta`` (float32, one value per channel) for every layer of
:data:`imgkit.nets.transformers.MULTISTYLE_LAYERS`, plus ``meta/<name>`` entries. Plain arrays
only (read with ``allow_pickle=False``). No torch needed.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import WeightsFormatError, WeightsNotFoundError

__all__ = ["NUM_STYLES", "load_style_params", "save_style_params"]

#: Built-in styles of the published multistyle network.
NUM_STYLES = 26


def save_style_params(path: str | Path, params: Mapping[str, tuple[Any, Any]], **meta: Any) -> Path:
    """Write one style's conditional-normalisation parameters to ``path`` (.npz).

    Keys are ``<layer>/gamma`` and ``<layer>/beta`` for every layer of
    :data:`imgkit.nets.transformers.MULTISTYLE_LAYERS`, plus ``meta/<name>`` entries.
    """
    arrays: dict[str, np.ndarray] = {}
    for name, (g, b) in params.items():
        arrays[f"{name}/gamma"] = np.asarray(g.detach().cpu() if hasattr(g, "detach") else g, np.float32)
        arrays[f"{name}/beta"] = np.asarray(b.detach().cpu() if hasattr(b, "detach") else b, np.float32)
    for k, v in meta.items():
        arrays[f"meta/{k}"] = np.asarray(v)
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez(tmp, **arrays)
    tmp.replace(path)
    return path


def load_style_params(path: str | Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Read a style written by :func:`save_style_params`; checks every layer and shape.

    Raises
    ------
    WeightsNotFoundError, WeightsFormatError
    """
    from .transformers import MULTISTYLE_LAYERS

    path = Path(path)
    if not path.is_file():
        raise WeightsNotFoundError(f"style_params file {str(path)!r} not found; learn one with "
                                   f"`imgkit learn-style PAINTING --photos DIR -o {path.name}`")
    try:
        with np.load(path, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
    except (OSError, ValueError) as exc:
        raise WeightsFormatError(f"style_params file {str(path)!r} is not a readable .npz: {exc}") from None
    out = {}
    for name, c in MULTISTYLE_LAYERS:
        try:
            g, b = data[f"{name}/gamma"], data[f"{name}/beta"]
        except KeyError:
            raise WeightsFormatError(
                f"style_params file {str(path)!r} lacks {name}/gamma or {name}/beta; it was not written "
                f"by imgkit.style.learn_style") from None
        if g.shape != (c,) or b.shape != (c,) or not (np.all(np.isfinite(g)) and np.all(np.isfinite(b))):
            raise WeightsFormatError(f"style_params file {str(path)!r}: {name} must hold {c} finite "
                                     f"values in gamma and beta; got shapes {g.shape}, {b.shape}")
        out[name] = (g.astype(np.float32), b.astype(np.float32))
    return out
