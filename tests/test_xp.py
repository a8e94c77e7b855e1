"""The array-module helpers (one in imgkit, its twin in the kernels) and the one torch device
helper."""

import numpy as np
import pytest
from imgkit.kernels import _xp as kxp

from imgkit import _xp
from imgkit.errors import DeviceUnavailableError, InvalidOptionError


class FakeCupyArray:
    """Looks like a CuPy array to the helpers (they read the type's module, never import CuPy
    for a NumPy array)."""

    __module__ = "cupy._core.core"

    def __init__(self, a):
        self.a = np.asarray(a)

    def get(self):
        return self.a.copy()


def test_imgkit_helpers():
    a = np.arange(6.0).reshape(2, 3)
    assert _xp.get_xp(a) is np and _xp.get_xp([1, 2]) is np and not _xp.is_cupy(a)
    fake = FakeCupyArray(a)
    assert _xp.is_cupy(fake)
    np.testing.assert_array_equal(_xp.to_numpy(fake), a)
    assert _xp.to_numpy(a) is a  # no copy for NumPy
    out = _xp.to_xp(fake, np)
    assert type(out) is np.ndarray and (out == a).all()
    assert _xp.to_xp([1, 2], np).tolist() == [1, 2]


def test_kernel_helpers():
    a = np.zeros(3)
    assert kxp.get_xp(a) is np and not kxp.is_cupy(a) and kxp.is_cupy(FakeCupyArray(a))
    assert kxp.gpu_xp() is np  # the tests run the CUDA twins under the simulator
    np.testing.assert_array_equal(kxp.to_numpy(FakeCupyArray([1, 2])), [1, 2])
    assert kxp.to_numpy(a) is a
    kxp.check_device("cpu", a)
    kxp.check_device("cuda", a)
    with pytest.raises(ValueError, match="device must be 'cpu' or 'cuda'; got 'gpu'"):
        kxp.check_device("gpu", a)
    with pytest.raises(ValueError, match="device='cpu' needs NumPy arrays"):
        kxp.check_device("cpu", a, FakeCupyArray(a))


def test_one_torch_device_helper():
    torch = pytest.importorskip("torch")
    from imgkit import _torch, metrics
    from imgkit.nets import encoder, lpips

    assert _torch.torch_device("cpu") == torch.device("cpu")
    assert _torch.torch_device(torch.device("cpu")) == torch.device("cpu")
    assert encoder.torch_device is _torch.torch_device and lpips.torch_device is _torch.torch_device
    assert not hasattr(metrics, "_torch_device") and not hasattr(encoder, "_torch_device")
    with pytest.raises(InvalidOptionError, match="device must be one of"):
        _torch.torch_device("gpu")
    if not torch.cuda.is_available():
        with pytest.raises(DeviceUnavailableError, match="deep metrics"):
            _torch.torch_device("cuda", "deep metrics")
        assert _torch.torch_device("auto") == torch.device("cpu")
    else:  # pragma: no cover - GPU machines
        assert _torch.torch_device("cuda").index == torch.cuda.current_device()


def test_one_definition_of_each_helper_per_side():
    """"Which array module", the host transfer and the torch device are each defined once in
    imgkit (``_xp.py``, ``_torch.py``) and once in the kernels (``kernels/_xp.py``)."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    helpers = r"def (_?(?:get_xp|is_cupy|to_numpy|to_host|xp_of|array_module_of|torch_device))\("
    found: dict[str, list[str]] = {}
    for side in ("imgkit", "kernels"):
        for path in sorted((root / side).rglob("*.py")):
            for name in re.findall(helpers, path.read_text(encoding="utf-8")):
                found.setdefault(name.lstrip("_"), []).append(str(path.relative_to(root)))
    assert found == {
        "get_xp": ["imgkit/_xp.py", "kernels/_xp.py"],
        "is_cupy": ["imgkit/_xp.py", "kernels/_xp.py"],
        "to_numpy": ["imgkit/_xp.py", "kernels/_xp.py"],
        "torch_device": ["imgkit/_torch.py"],
    }
    # and no ad-hoc host transfer beside them (``a.get() if hasattr(a, "get") else a`` and the like)
    adhoc = re.compile(r'hasattr\([^)]*"get"\)|\.get\(\) if |\.get\(\), \w+\.get\(\)')
    offenders = [str(p.relative_to(root)) for side in ("imgkit", "kernels")
                 for p in sorted((root / side).rglob("*.py")) if adhoc.search(p.read_text(encoding="utf-8"))]
    assert not offenders, f"use to_numpy from imgkit._xp / imgkit.kernels._xp: {offenders}"
