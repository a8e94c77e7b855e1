"""Speed of :mod:`imgkit.batch`: images per second on Dask, and what Dask costs per task.

For each method (default ``telea`` and ``criminisi``; a method that is not registered is
replaced by ``biharmonic`` and the row says so) on ``n`` real photos of ``size`` px with seeded
masks (box / strokes / thick / blobs in turn), written as PNG:

* ``direct loop``: ``load_image`` + ``imgkit.inpaint`` + ``save_image`` for every image in this
  process, one after the other (warm) — the baseline, run alternately with the batch runs so
  that both see the same machine load;
* ``batch.run, W workers``: the same images through ``imgkit.batch.run`` on a
  :func:`imgkit.batch.local_cluster` of W worker processes started beforehand (its start-up
  time is in the notes). ``first_call_s`` is the first run on the fresh cluster (workers import
  imgkit, JIT caches load); ``median_s`` the median of the warm runs;
* ``batch.run overhead``: (1-worker batch time − direct time) / n, per image: reading the
  manifest, scheduling, the result round trip, the manifest record;
* ``no-op task``: a function that does nothing, submitted ``n_noop`` times and gathered with
  ``as_completed`` (as ``batch.run`` does), per task; the notes give a direct call's time.

The no-op lives here, not in the method registry. Everything runs on this machine; the load
average is in the notes because other jobs make the figures noisy.

Run ``python -m benchmarks.speed.speed_batch [--quick] [--methods telea,criminisi] [--workers 1,2]``;
it prints a Markdown table and writes ``benchmarks/results/speed_batch.md`` and ``.json``.
"""

from __future__ import annotations

import shutil
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..suite.measure import load1
from ._harness import speed_main, speed_parser

FAMILY = "batch"
FALLBACK = "biharmonic"


def _noop(x: Any) -> Any:
    """The task that does nothing (measures Dask's own cost per task)."""
    return x


def _make_inputs(root: Path, n: int, size: int) -> list[Any]:
    import imgkit
    from imgkit import batch, data

    names = data.PHOTOS + data.TEXTURES + ("camera", "coins", "cat", "moon")
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    photos = {}
    for i in range(n):
        name = names[i % len(names)]
        if name not in photos:
            photos[name] = data.photo(name, size)
        key = f"{i:03d}_{name}"
        imgkit.save_image(root / "images" / f"{key}.png", photos[name])
        m = data.mask(data.MASK_KINDS[i % len(data.MASK_KINDS)], (size, size), seed=i)
        imgkit.save_image(root / "masks" / f"{key}.png", m.astype(np.float32))
    return batch.inpaint_inputs(root / "images", root / "masks")


def _direct(items: list[Any], method: str, out: Path) -> float:
    import imgkit

    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    for it in items:
        img, mask = imgkit.load_image(it.paths[0]), imgkit.load_mask(it.paths[1])
        imgkit.save_image(out / f"{it.key}.png", imgkit.inpaint(img, mask, method=method, seed=0))
    return time.perf_counter() - t0


def _batch(items: list[Any], method: str, out: Path, client: Any) -> float:
    from imgkit import batch

    shutil.rmtree(out, ignore_errors=True)
    t0 = time.perf_counter()
    s = batch.run("inpaint", items, method=method, out_dir=out, scheduler=client, seed=0)
    dt = time.perf_counter() - t0
    if not s.ok:
        raise RuntimeError(f"batch run failed:\n{s}")
    return dt


def _noop_per_task(client: Any, n: int) -> float:
    from distributed import as_completed

    t0 = time.perf_counter()  # submitted and collected the way batch.run does it
    futs = client.map(_noop, range(n), pure=False)
    for group in as_completed(futs, with_results=True, loop=client.loop).batches():
        for f, _ in group:
            f.release()
    return (time.perf_counter() - t0) / n


def _resolve_methods(methods: list[str]) -> list[tuple[str, str]]:
    """(method, note) pairs; unregistered methods are replaced by the fallback."""
    import imgkit

    names = {m.name for m in imgkit.list_methods("inpaint") if m.available}
    out = []
    for m in methods:
        if m in names:
            out.append((m, ""))
        elif FALLBACK not in [x for x, _ in out]:
            out.append((FALLBACK, f"{m!r} is not registered here: measured {FALLBACK!r} instead"))
    return out


def measure(methods: list[str], n: int, size: int, workers: list[int], repeats: int,
            n_noop: int, budget_s: float = 120.0) -> list[dict[str, Any]]:
    """All rows (see the module docstring)."""
    import distributed

    from imgkit import batch

    rows: list[dict[str, Any]] = []
    sz = f"{n}x{size}px"
    tmp = Path(tempfile.mkdtemp(prefix="imgkit-speed-batch-"))
    methods_ = _resolve_methods(methods)
    try:
        items = _make_inputs(tmp / "in", n, size)
        direct: dict[str, list[float]] = {m: [] for m, _ in methods_}
        for m, _ in methods_:
            _direct(items[:2], m, tmp / "warm")  # warm-up: imports, JIT caches
        batch_rows = []
        for w in workers:
            t0 = time.perf_counter()
            cluster = batch.local_cluster(w, dashboard=False)
            client = distributed.Client(cluster)
            client.wait_for_workers(w)
            startup = time.perf_counter() - t0
            try:
                for method, why in methods_:
                    first = _batch(items, method, tmp / "b", client)  # cold workers
                    times, d_times = [], []
                    for _ in range(repeats):  # direct and batch runs alternate: same load drift
                        d_times.append(_direct(items, method, tmp / "direct"))
                        times.append(_batch(items, method, tmp / "b", client))
                        if sum(times) + sum(d_times) > budget_s:
                            break
                    direct[method] += d_times
                    med, d_med = statistics.median(times), statistics.median(d_times)
                    batch_rows.append(dict(
                        family=FAMILY, kernel=f"{method} batch.run", device=f"cpu, {w} worker(s)",
                        size=sz, median_s=med, first_call_s=first, throughput=n / med, unit="img/s",
                        notes=(f"{len(times)} warm runs; vs the direct loop run between them "
                               f"({d_med:.3g} s): {d_med / med:.2f}x; cluster start-up {startup:.1f} s; "
                               f"{batch._cores()} cores; load1 {load1():.1f}. {why}").strip()))
                    if w == 1:
                        over = (med - d_med) / n
                        batch_rows.append(dict(
                            family=FAMILY, kernel=f"batch.run overhead per image ({method})",
                            device="cpu, 1 worker", size=sz, median_s=over,
                            throughput=1 / over if over > 0 else float("inf"), unit="img/s",
                            notes="(1-worker batch time - interleaved direct loop time) / n"))
                _noop_per_task(client, 20)  # warm-up
                per = statistics.median(_noop_per_task(client, n_noop) for _ in range(3))
                t0 = time.perf_counter()
                for i in range(n_noop):
                    _noop(i)
                direct_per = (time.perf_counter() - t0) / n_noop
                batch_rows.append(dict(
                    family=FAMILY, kernel="no-op task (submit -> as_completed)",
                    device=f"cpu, {w} worker(s)", size=f"{n_noop} tasks", median_s=per,
                    throughput=1 / per, unit="tasks/s",
                    notes=f"direct call {direct_per * 1e6:.2f} us/task; median of 3; load1 {load1():.1f}"))
            finally:
                client.close()
                cluster.close()
        for method, why in methods_:
            med = statistics.median(direct[method])
            rows.append(dict(family=FAMILY, kernel=f"{method} direct loop", device="cpu, 1 process",
                             size=sz, median_s=med, throughput=n / med, unit="img/s",
                             notes=f"{len(direct[method])} runs, between the batch runs. {why}".strip()))
        rows += batch_rows
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return rows


def kernel_rows(quick: bool, methods: Sequence[str] = ("telea", "criminisi"), n: int | None = None,
                size: int | None = None, workers: Sequence[int] = (1, 2),
                repeats: int | None = None) -> list[dict[str, Any]]:
    """Rows for ``python -m benchmarks kernels``; quick: 16 images of 128 px, one run each (else 64
    images of 256 px, 3 runs); ``n``, ``size`` and ``repeats`` override those."""
    return measure(list(methods), n=n or (16 if quick else 64), size=size or (128 if quick else 256),
                   workers=list(workers), repeats=repeats or (1 if quick else 3),
                   n_noop=100 if quick else 500)


def _names(text: str) -> list[str]:
    return [m.strip() for m in text.split(",") if m.strip()]


def _ints(text: str) -> list[int]:
    return [int(w) for w in _names(text)]


def main(argv: list[str] | None = None) -> None:
    p = speed_parser("speed_batch", __doc__, "16 images of 128 px, one run per row")
    p.add_argument("--methods", type=_names, default="telea,criminisi",
                   help=f"comma-separated inpaint methods (unregistered ones -> {FALLBACK})")
    p.add_argument("--n", type=int, default=None, help="images (default 64; quick 16)")
    p.add_argument("--size", type=int, default=None, help="image side in px (default 256; quick 128)")
    p.add_argument("--workers", type=_ints, default="1,2", help="worker counts to compare (default 1,2)")
    p.add_argument("--repeats", type=int, default=None, help="warm runs per row (default 3; quick 1)")
    speed_main(kernel_rows, "speed_batch", "imgkit.batch speed", argv, parser=p)


if __name__ == "__main__":
    main()
