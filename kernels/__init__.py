"""imgkit's hot loops: Numba CPU kernels and their Numba-CUDA twins (installed as imgkit.kernels).

Kernels take arrays and return arrays. They know nothing of images as files, masks policy,
devices policy or option parsing, and import nothing from the rest of imgkit. Each kernel family
has a private ``numba.njit`` kernel and a private ``numba.cuda.jit`` kernel side by side, with
one public wrapper each. Tunables live in :mod:`imgkit.kernels.config`.
"""

from ._cache import configure as _configure_cache

_configure_cache()  # before any kernel module compiles with cache=True (see _cache.py)
