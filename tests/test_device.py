"""Device resolution: auto/cpu/cuda, clear errors, the simulator's testing mode."""

import numpy as np
import pytest

import imgkit
from imgkit import DeviceUnavailableError, InvalidOptionError
from imgkit.device import array_module, cuda_simulator, gpu_status, resolve_device


def _resolve(device, backend="numba", devices=("cpu", "cuda")):
    return resolve_device(device, devices=devices, backend=backend, method="m")


def test_cpu_always():
    assert _resolve("cpu") == "cpu"
    assert array_module("cpu") is np


def test_unknown_device_name():
    with pytest.raises(InvalidOptionError, match="device must be one of 'auto', 'cpu', 'cuda'; got 'gpu0'"):
        _resolve("gpu0")


def test_cuda_for_cpu_only_method_names_devices():
    with pytest.raises(DeviceUnavailableError, match="runs on: cpu"):
        _resolve("cuda", devices=("cpu",))


def test_simulator_mode_for_numba_methods():
    assert cuda_simulator()  # tests/conftest.py switches it on
    assert _resolve("cuda") == "cuda"
    assert array_module("cuda", "numba") is np  # kernels run in the simulator on NumPy arrays
    assert _resolve("auto") == "cpu"  # auto never picks the (slow) simulator


def test_torch_cuda_without_gpu_is_a_clear_error():
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA GPU; the error path cannot be exercised")
    ok, why = gpu_status("torch")
    assert not ok and "torch.cuda.is_available() is False" in why
    with pytest.raises(DeviceUnavailableError, match="device='cuda' requested for 'm' but PyTorch"):
        _resolve("cuda", backend="torch")
    assert _resolve("auto", backend="torch") == "cpu"


@pytest.mark.gpu
def test_cupy_in_cupy_out_for_a_cpu_method():
    cupy = pytest.importorskip("cupy")
    img = imgkit.data.photo("astronaut", 48)
    hole = imgkit.data.mask("box", (48, 48))
    out = imgkit.inpaint(cupy.asarray(img), cupy.asarray(hole), method="telea")
    assert isinstance(out, cupy.ndarray) and out.dtype == np.float32
    np.testing.assert_array_equal(out.get(), imgkit.inpaint(img, hole, method="telea"))
