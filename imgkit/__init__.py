"""imgkit: inpainting, style transfer and image analogies, classical and deep, behind one call.

>>> import imgkit
>>> out = imgkit.inpaint(image, mask, method="criminisi")          # doctest: +SKIP
>>> out = imgkit.stylize(content, style, method="gatys")           # doctest: +SKIP
>>> b_prime = imgkit.analogy(a, a_prime, b)                        # doctest: +SKIP
>>> [m.name for m in imgkit.list_methods("inpaint")]               # doctest: +SKIP

``import imgkit`` stays light: torch and CuPy are imported only by the methods that use them.
"""

from . import errors, inpainting, style  # noqa: F401  (subpackages first: see inpainting/)
from ._version import __version__
from .api import analogy, inpaint, stylize
from .context import Info
from .errors import *  # noqa: F403  (every class of errors.__all__, listed below)
from .io import ImageMetadata, load_image, load_mask, save_image
from .nnf import nnf, nnf_to_rgb
from .registry import get_method, list_methods

__all__ = [
    "ImageMetadata",
    "Info",
    "__version__",
    "analogy",
    "get_method",
    "inpaint",
    "list_methods",
    "load_image",
    "load_mask",
    "metrics",  # noqa: F405  (a lazy submodule: __getattr__ below)
    "nnf",
    "nnf_to_rgb",
    "save_image",
    "stylize",
]
__all__ += errors.__all__  # every exception and warning class, as imgkit.X


def __getattr__(name: str):
    # Submodules that pull in more than the core (metrics may load torch lazily, batch needs
    # dask) are imported on first attribute access.
    if name in ("metrics", "batch", "data"):
        import importlib

        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'imgkit' has no attribute {name!r}")
