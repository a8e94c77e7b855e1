"""The imgkit error hierarchy.

Every error raised on purpose by imgkit derives from :class:`ImgkitError` and from the
builtin exception a Python programmer would expect, so ``except ValueError`` keeps working:

=============================  =====================  ==========================================
class                          also derives from      raised for
=============================  =====================  ==========================================
:class:`InvalidImageError`     ``ValueError``         bad image arrays (dtype, shape, values)
:class:`InvalidMaskError`      ``ValueError``         bad masks (shape, dtype, values)
:class:`InvalidOptionError`    ``ValueError``         unknown or out-of-range method options
:class:`NoSourceError`         ``ValueError``         nothing left to copy from (hole too large)
:class:`UnknownMethodError`    ``LookupError``        a method name that is not registered
:class:`DeviceUnavailableError` ``RuntimeError``      ``device="cuda"`` with no usable GPU
:class:`MissingDependencyError` ``ImportError``       an optional package is not installed
:class:`WeightsNotFoundError`  ``FileNotFoundError``  model weights that cannot be found
:class:`WeightsFormatError`    ``ValueError``         a weights file that cannot be read
:class:`ImageFileError`        ``OSError``            an image file that cannot be read/written
:class:`ImageFileNotFoundError` ``FileNotFoundError`` a missing image file or output folder
:class:`ImageTooLargeError`    ``OSError``            a file declaring more pixels than the limit
=============================  =====================  ==========================================

Warnings (not errors: the run goes on) derive from :class:`ImgkitWarning` (a ``UserWarning``):
:class:`MaskWarning` for a suspicious mask (empty, mostly hole, JPEG-like grey levels).

Messages say what was wrong, what was expected and, where there is one, how to fix it.
"""

from __future__ import annotations

__all__ = [
    "DeviceUnavailableError",
    "ImageFileError",
    "ImageFileNotFoundError",
    "ImageTooLargeError",
    "ImgkitError",
    "ImgkitWarning",
    "InvalidImageError",
    "InvalidMaskError",
    "InvalidOptionError",
    "MaskWarning",
    "MissingDependencyError",
    "NoSourceError",
    "UnknownMethodError",
    "WeightsFormatError",
    "WeightsNotFoundError",
]


class ImgkitError(Exception):
    """Base class of every error imgkit raises on purpose."""


class InvalidImageError(ImgkitError, ValueError):
    """An image argument has the wrong type, dtype, shape or values."""


class InvalidMaskError(ImgkitError, ValueError):
    """A mask argument has the wrong type, dtype, shape or values."""


class InvalidOptionError(ImgkitError, ValueError):
    """A method option is unknown, of the wrong type or out of range."""


class NoSourceError(ImgkitError, ValueError):
    """The known region offers nothing to copy from (e.g. no full source patch)."""


class UnknownMethodError(ImgkitError, LookupError):
    """A method name is not in the registry."""

    def __str__(self) -> str:  # LookupError/KeyError would otherwise repr() the message
        return str(self.args[0]) if self.args else ""


class DeviceUnavailableError(ImgkitError, RuntimeError):
    """The requested device cannot be used (no GPU, missing driver or package)."""


class MissingDependencyError(ImgkitError, ImportError):
    """An optional dependency needed by a method is not installed."""


class WeightsNotFoundError(ImgkitError, FileNotFoundError):
    """Model weights needed by a method cannot be found."""


class WeightsFormatError(ImgkitError, ValueError):
    """A weights file exists but is not in the expected format."""


class ImageFileError(ImgkitError, OSError):
    """An image file cannot be read (not an image, truncated) or written."""


class ImageFileNotFoundError(ImageFileError, FileNotFoundError):
    """An image file, or the folder an output should go to, does not exist."""


class ImageTooLargeError(ImageFileError):
    """An image file declares more pixels than the decoded-pixel limit allows."""


class ImgkitWarning(UserWarning):
    """Base class of imgkit's warnings."""


class MaskWarning(ImgkitWarning):
    """A mask looks suspicious: empty, mostly hole, or with JPEG-like grey levels."""
