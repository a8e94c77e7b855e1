"""Style-transfer and image-analogy methods, one module each; each registers on import.

:func:`learn_style` (from :mod:`imgkit.train.style`) learns a new style for ``multistyle``.
"""

from typing import Any

__all__ = ["learn_style"]


def __getattr__(name: str) -> Any:  # lazy: the training module imports torch
    if name == "learn_style":
        from ..train.style import learn_style

        return learn_style
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
