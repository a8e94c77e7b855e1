"""Shared test set-up.

Numba's CUDA simulator is switched on before anything imports numba, so every CUDA kernel is
exercised on the CPU (``NUMBA_ENABLE_CUDASIM=1``). On a machine with a real GPU, run the GPU
tests with ``IMGKIT_TEST_REAL_GPU=1 pytest -m gpu``; without that variable they are skipped.
"""

import os

if os.environ.get("IMGKIT_TEST_REAL_GPU", "0") in ("", "0"):
    os.environ.setdefault("NUMBA_ENABLE_CUDASIM", "1")
# Small CUDA blocks so tiny test inputs still span several blocks (block-boundary code runs).
os.environ.setdefault("IMGKIT_THREADS_PER_BLOCK", "16")
os.environ.setdefault("IMGKIT_TILE", "4")

import numpy as np
import pytest


def pytest_collection_modifyitems(config, items):
    if os.environ.get("IMGKIT_TEST_REAL_GPU", "0") not in ("", "0"):
        return
    skip = pytest.mark.skip(reason="needs a real CUDA GPU: run IMGKIT_TEST_REAL_GPU=1 pytest -m gpu")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="module")
def one_torch_thread():
    """PyTorch on one thread for a module (``pytestmark = pytest.mark.usefixtures(...)``): on
    tiny images thread synchronisation costs more than it saves, and on a busy 2-core machine
    torch's OpenMP threads spin-wait for each other (50 DIP iterations took 205 s with 2 threads
    and 4.5 s with 1 at load 9). Determinism is checked at this fixed thread count."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="session")
def astronaut64():
    from imgkit import data

    return data.photo("astronaut", 64)


@pytest.fixture(scope="session")
def box64():
    from imgkit import data

    return data.mask("box", (64, 64))


def hole_mae(out, truth, mask):
    """Mean absolute error over the hole."""
    return float(np.abs(np.asarray(out, np.float64) - truth)[mask].mean())


def mean_fill_mae(truth, mask):
    """Hole error of the trivial fill: the mean colour of the known pixels."""
    fill = truth[~mask].mean(axis=0)
    return float(np.abs(truth[mask] - fill).mean())
