"""Pieces shared by the style methods (gatys, arbitrary and the feed-forward ones): the
``style_weights``-like option values, the check of the style images against them, and the
``preserve_color`` modes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import InvalidImageError, InvalidOptionError

__all__ = ["PRESERVE_CHOICES", "SEQ", "check_styles", "preserve_mode", "weight_list"]

#: The types of a list option given as a sequence or as a comma-separated string.
SEQ = (str, tuple, list)
PRESERVE_CHOICES = ("none", "luminance", "histogram")


def weight_list(value: Any) -> tuple[float, ...]:
    """An option's weights (a sequence of numbers or a comma-separated string) → floats.

    The ``check=`` of weight options: ``ValueError`` unless finite, non-negative, with a positive sum.
    """
    if isinstance(value, str):
        value = [v for v in value.split(",") if v.strip()]
    try:
        weights = tuple(float(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError("must be a sequence of numbers (or a comma-separated string)") from None
    if not weights or any(not np.isfinite(w) or w < 0 for w in weights) or sum(weights) <= 0:
        raise ValueError("must hold finite non-negative numbers with a positive sum")
    return weights


def check_styles(method: str, styles: list[Any], style_weights: tuple[float, ...] | None) -> None:
    """At least one style image, and one ``style_weights`` entry per style image when given."""
    if not styles:
        raise InvalidImageError(f"method {method!r} needs at least one style image; pass style=...")
    if style_weights is not None and len(style_weights) != len(styles):
        raise InvalidOptionError(
            f"option 'style_weights' has {len(style_weights)} entries {list(style_weights)} for "
            f"{len(styles)} style image(s); give one weight per style image"
        )


def preserve_mode(value: Any) -> str:
    """``preserve_color`` value → ``"none"``, ``"luminance"`` or ``"histogram"`` (``True`` means
    ``"luminance"``, ``False`` ``"none"``); ``ValueError`` for anything else."""
    if isinstance(value, bool):
        return "luminance" if value else "none"
    if value not in PRESERVE_CHOICES:
        raise ValueError(f"must be True, False or one of {list(PRESERVE_CHOICES)}")
    return value
