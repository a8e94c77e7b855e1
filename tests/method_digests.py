"""Digests of every registered method's output on a small image, for the same-bytes test.

``tests/test_method_digests.py`` runs each case below and compares the SHA-256 of the output
bytes with ``tests/data/method_digests.json``, so a refactor that changes any method's output
for a given seed fails. When a method's output changes *on purpose* (a better default, a
quality fix), regenerate the file with one command and commit it with the change::

    .venv/bin/python -m tests.method_digests            # rewrites tests/data/method_digests.json
    .venv/bin/python -m tests.method_digests --check    # compare only, print what differs

Outputs are the same bytes for the same seed on the same software and CPU (see DESIGN.md),
not across CPUs or library versions: floating-point kernels may vectorise or fuse differently.
The file therefore records the platform it was made on (CPU name as LLVM sees it, and the
versions of the numerical packages); the test compares digests exactly where the platform is
the same, and elsewhere checks that two runs agree to the byte and that the mean of each output
stays near the recorded one.

Every registered method runs here, with the tiny settings of :data:`OPTIONS` where its defaults
would be slow (its defaults otherwise), unless :data:`EXCLUDED` lists it with the reason. A method
without a recorded digest (a new one) is skipped with a message naming it until the file is
regenerated; a recorded method that no longer exists fails the test.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import sys
import tempfile
import warnings
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

DATA = Path(__file__).with_name("data") / "method_digests.json"
SIZE = 32
SEED = 7

#: Options per method: tiny settings for the slow ones (any method not listed runs with its
#: defaults). ``"weights"`` of LaMa is filled in by :func:`run_case` (a parameter-free model), and
#: of Johnson by a seeded random network of the fast_neural_style layout.
#: Methods whose last bits depend on state earlier code left in the process (context_encoder's
#: fp16 network with an FFT block gives the same bytes call after call in one process and across
#: fresh processes, but other bytes after the rest of the suite has run torch code): checked for
#: same-bytes-twice and a close mean, not against the recorded digest.
PROCESS_STATE_DEPENDENT = frozenset({"context_encoder"})

OPTIONS: dict[str, dict[str, Any]] = {
    "criminisi": {"patch_size": 5},
    "dip": {"iterations": 4, "depth": 2, "channels": 4, "skip_channels": 2, "input_depth": 4,
            "snapshots": 0},
    "gatys": {"iterations": 2, "max_size": 32},
    "lama": {"weights": None},
    "multistyle": {"style_index": 7},
    "johnson": {"weights": None},
}

#: Registered methods without a digest, and why.
EXCLUDED: dict[str, str] = {}

#: On another CPU the output's mean must stay within 0.02 of the recorded one, except for these
#: methods, whose arithmetic itself depends on the instruction set (with the reason).
CROSS_PLATFORM_MEAN_TOL: dict[str, tuple[float, str]] = {
    "arbitrary": (0.06, "onnxruntime runs the int8 transformer with AVX-512 VNNI where the CPU has "
                        "it and with AVX2 u8s8 products (16-bit saturating sums) where it does not: "
                        "mean 0.412 on znver5, 0.373 on znver3 for the digest case"),
}

#: Packages whose versions decide the floating-point bytes.
PACKAGES = ("numpy", "numba", "llvmlite", "scipy", "scikit-image", "opencv-contrib-python-headless",
            "torch", "onnxruntime")


def platform_key() -> dict[str, str]:
    """What the digests depend on besides imgkit: CPU (as LLVM targets it), OS, package versions."""
    import llvmlite.binding as llvm

    key = {"machine": platform.machine(), "cpu": llvm.get_host_cpu_name(), "python":
           platform.python_version()}
    for name in PACKAGES:
        try:
            key[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            key[name] = "-"
    return key


def _inputs() -> dict[str, np.ndarray]:
    from imgkit import data

    return {
        "image": data.photo("astronaut", SIZE),
        "mask": data.mask("blobs", (SIZE, SIZE), seed=3, area=0.12),
        "style": data.photo("coffee", SIZE),
        "a": data.photo("chelsea", SIZE),
    }


def _lama_weights(folder: Path) -> str:
    """A parameter-free TorchScript model with big-lama.pt's contract (image and mask in, image
    out): the hole becomes a blur of the known pixels; it exercises LaMa's padding, resizing and
    compositing, not a network (the published weights cannot ship)."""
    import torch

    class Fill(torch.nn.Module):
        def forward(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
            known = 1.0 - mask
            blur = torch.nn.functional.avg_pool2d(image * known, 5, 1, 2)
            weight = torch.nn.functional.avg_pool2d(known, 5, 1, 2).clamp_min(1e-3)
            return mask * (blur / weight).clamp(0.0, 1.0) + known * image

    path = folder / "fill.pt"
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*torch.jit", category=DeprecationWarning)
        torch.jit.script(Fill()).save(str(path))
    return str(path)


def _johnson_weights(folder: Path) -> str:
    """A seeded random checkpoint of the fast_neural_style layout (narrow: 8-16-32 channels)."""
    import torch

    from imgkit.nets.transformers import JohnsonNet

    gen = torch.Generator().manual_seed(SEED)
    net = JohnsonNet((8, 16, 32))
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * 0.2 + (1.0 if p.dim() == 1 else 0.0))
        net.deconv3.conv2d.bias.fill_(128.0)
    path = folder / "johnson.pth"
    torch.save(net.state_dict(), path)
    return str(path)


def run_case(name: str, task: str, folder: Path) -> np.ndarray:
    """The output of method ``name`` of ``task`` on the small case (CPU, seed ``SEED``)."""
    import imgkit

    opts = dict(OPTIONS.get(name, {}))
    if name == "lama":
        opts["weights"] = _lama_weights(folder)
    if name == "johnson":
        opts["weights"] = _johnson_weights(folder)
    x = _inputs()
    kw = dict(method=name, device="cpu", seed=SEED, **opts)
    if task == "inpaint":
        return imgkit.inpaint(x["image"], x["mask"], **kw)
    if task == "stylize":
        return imgkit.stylize(x["image"], x["style"], **kw)
    return imgkit.analogy(x["a"], x["a"][:, :, ::-1], x["image"], **kw)


def digest(out: Any) -> str:
    a = np.ascontiguousarray(out)
    return hashlib.sha256(f"{a.dtype}{a.shape}".encode() + a.tobytes()).hexdigest()


def registered() -> list[tuple[str, str]]:
    import imgkit

    return sorted((m.task, m.name) for m in imgkit.list_methods())


def compute() -> dict[str, dict[str, Any]]:
    """``{"task/name": {"sha256": ..., "mean": ...}}`` for every registered, non-excluded method."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a fixed thread count: torch's reductions depend on it
    try:
        with tempfile.TemporaryDirectory() as tmp:
            out = {}
            for task, name in registered():
                if name in EXCLUDED:
                    continue
                res = run_case(name, task, Path(tmp))
                out[f"{task}/{name}"] = {"sha256": digest(res), "mean": round(float(res.mean()), 6)}
            return out
    finally:
        torch.set_num_threads(threads)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.method_digests", description=__doc__.split("\n")[0])
    ap.add_argument("--check", action="store_true", help="compare with the stored file, write nothing")
    args = ap.parse_args(argv)
    got = compute()
    if args.check:
        stored = json.loads(DATA.read_text())
        same_platform = stored["platform"] == platform_key()
        bad = [k for k in sorted(set(got) | set(stored["digests"]))
               if got.get(k, {}).get("sha256") != stored["digests"].get(k, {}).get("sha256")]
        print(f"platform {'matches' if same_platform else 'differs'}; {len(bad)} differ: {bad}")
        return 1 if bad else 0
    DATA.write_text(json.dumps({"platform": platform_key(), "size": SIZE, "seed": SEED,
                                "digests": got}, indent=1, sort_keys=True) + "\n")
    print(f"wrote {len(got)} digests to {DATA}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
