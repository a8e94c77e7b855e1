"""imgkit ``patchmatch`` completion against pypatchmatch (radius 3, 7×7 patches) on a corpus split,
per mask kind: the measuring instrument of the completion-quality issue.

Every case is a corpus photo × mask kind × size of the benchmark suite
(:func:`benchmarks.suite.cases.inpaint_pair`: ``imgkit.data.photo`` and ``imgkit.data.mask``
with the suite's fixed per-(photo, kind) seed). Each imgkit *variant* (option overrides, and for
diagnosis private module constants of :mod:`imgkit.inpainting.patchmatch`) and pypatchmatch run
on one thread each in the same process (``NUMBA_NUM_THREADS``, ``OMP_NUM_THREADS`` and torch set
before anything is imported). Scores, as the independent evaluation: LPIPS-VGG on the whole
composited image (``imgkit.metrics.lpips(out, truth, net="vgg")``), plus hole PSNR; a *win* is a
case where the variant's LPIPS is lower than pypatchmatch's (ties count as neither). Seconds:
one timed call per case after a warm-up call of the first case (Numba compile excluded).

pypatchmatch's fills, scores and seconds are cached in ``--cache`` (a case's key holds the photo,
kind, size, mask seed and radius) so reruns only pay for imgkit; ``--refresh-peer`` re-times it
(do that for the published speed comparison, so both run under the same load).

``--time-only`` skips the scores (for the 512 px timing run on a busy machine).

Outputs (``--out`` prefix): ``.json`` (every case), ``.md`` (per-kind medians, wins/losses and
seconds per variant and size, machine load), and ``_grid.png`` with the ``--grid`` cases where
the first variant lost most to pypatchmatch (columns: input with the hole in magenta, every
variant's fill, pypatchmatch, truth: run ``--variant "before ..." --variant after`` to see the old
defaults' worst cases beside the new fill).

Run e.g.::

    python -m benchmarks.studies.tune_patchmatch --split tune --sizes 256
    python -m benchmarks.studies.tune_patchmatch --split tune --variant base \\
        --variant "mean vote=mean" --variant "notex const:_TEXTURE_WEIGHT=0"
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

KINDS = ("box", "strokes", "thick", "blobs", "scribbles")
RADIUS = 3
RESULTS = Path(__file__).resolve().parents[1] / "results"


def _set_threads(n: int) -> None:
    for var in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(n)


def _load() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:  # pragma: no cover
        return "n/a"


def parse_variant(text: str) -> tuple[str, dict[str, str], dict[str, str]]:
    """``"label opt=v const:_NAME=v ..."`` → ``(label, options, constants)`` (values unparsed)."""
    parts = text.split()
    if not parts:
        raise ValueError("empty --variant")
    label, opts, consts = parts[0], {}, {}
    for p in parts[1:]:
        k, _, v = p.partition("=")
        if not _:
            raise ValueError(f"variant item {p!r} is not NAME=VALUE")
        if k.startswith("const:"):
            consts[k[6:]] = v
        else:
            opts[k] = v
    return label, opts, consts


class Variant:
    """An imgkit patchmatch configuration: parsed options and module constants to set around a call."""

    def __init__(self, text: str):
        import imgkit
        from imgkit.inpainting import patchmatch as mod

        self.text = text
        self.label, raw, consts = parse_variant(text)
        spec = imgkit.registry.get_method("patchmatch", "inpaint")
        self.options = {k: spec.option(k).parse(v, "patchmatch") for k, v in raw.items()}
        self.consts = {}
        for k, v in consts.items():
            if not hasattr(mod, k):
                raise ValueError(f"imgkit.inpainting.patchmatch has no constant {k!r}")
            old = getattr(mod, k)
            if isinstance(old, bool):
                self.consts[k] = v.lower() in ("1", "true")
            elif v.lower() == "none":
                self.consts[k] = None
            else:
                self.consts[k] = type(old)(v) if old is not None else float(v)
        self._mod = mod

    def __call__(self, img: np.ndarray, mask: np.ndarray) -> np.ndarray:
        import imgkit

        saved = {k: getattr(self._mod, k) for k in self.consts}
        try:
            for k, v in self.consts.items():
                setattr(self._mod, k, v)
            return imgkit.inpaint(img, mask, method="patchmatch", seed=0, **self.options)
        finally:
            for k, v in saved.items():
                setattr(self._mod, k, v)


def peer_fill(img: np.ndarray, mask: np.ndarray, radius: int = RADIUS) -> np.ndarray:
    """pypatchmatch's fill, composited (known pixels exact), float32 in [0, 1]."""
    import patchmatch as ppm  # PyPI pypatchmatch

    ppm.set_random_seed(0)
    u8 = np.round(np.clip(img, 0, 1) * 255).astype(np.uint8)
    fill = ppm.inpaint(u8, mask.astype(np.uint8), patch_size=radius).astype(np.float32) / 255.0
    return np.where(mask[:, :, None], fill, img).astype(np.float32)


def _score(out: np.ndarray, img: np.ndarray, mask: np.ndarray) -> dict[str, float]:
    from imgkit import metrics

    return {"lpips": float(metrics.lpips(out, img, net="vgg", device="cpu")),
            "psnr_hole": float(metrics.psnr(out, img, mask))}


_NO_SCORE = {"lpips": float("nan"), "psnr_hole": float("nan")}


def _case_key(name: str, kind: str, size: int, mask: np.ndarray, radius: int) -> str:
    h = hashlib.sha1(np.packbits(mask).tobytes()).hexdigest()[:12]
    return f"{name}_{kind}_{size}_r{radius}_{h}"


def run_peer(name, kind, size, img, mask, cache: Path, refresh: bool, score: bool = True
             ) -> tuple[dict, np.ndarray]:
    from PIL import Image

    if not score:  # timing only: nothing read from or written to the cache
        t = time.perf_counter()
        out = peer_fill(img, mask)
        return {"seconds": time.perf_counter() - t, **_NO_SCORE, "load": _load()}, out
    key = _case_key(name, kind, size, mask, RADIUS)
    js, png = cache / f"{key}.json", cache / f"{key}.png"
    if not refresh and js.exists() and png.exists():
        out = np.asarray(Image.open(png), dtype=np.float32) / 255.0
        return json.loads(js.read_text()), out
    t = time.perf_counter()
    out = peer_fill(img, mask)
    row = {"seconds": time.perf_counter() - t, **_score(out, img, mask), "load": _load()}
    cache.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.round(out * 255).astype(np.uint8)).save(png)
    js.write_text(json.dumps(row))
    return row, np.round(out * 255).astype(np.float32) / 255.0


def grid(path: Path, cases: list[dict], pictures: dict, title: str) -> None:
    """Rows: input (hole magenta), every variant's fill, pypatchmatch, truth, with the LPIPS of
    each fill. ``pictures[case]`` is ``(img, mask, {label: (fill, lpips)}, peer_fill)``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not cases:
        return
    n, m = len(cases), 3 + len(pictures[cases[0]["key"]][2])
    fig, axes = plt.subplots(n, m, figsize=(m * 3.0, n * 3.1), squeeze=False)
    for i, c in enumerate(cases):
        img, mask, fills, peer = pictures[c["key"]]
        shown = np.where(mask[:, :, None], np.array([1.0, 0.0, 1.0], np.float32), img)
        panels = [(shown, f"{c['image']} / {c['kind']} / {c['size']}")]
        panels += [(f, f"imgkit {label}: {lp:.4f}") for label, (f, lp) in fills.items()]
        panels += [(peer, f"pypatchmatch r3: {c['peer_lpips']:.4f}"), (img, "truth")]
        for j, (pic, lab) in enumerate(panels):
            axes[i, j].imshow(np.clip(pic, 0, 1), interpolation="nearest")
            axes[i, j].set_title(lab, fontsize=8)
            axes[i, j].axis("off")
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def summarise(rows: list[dict], variants: list[str], sizes: list[int], kinds: list[str]) -> list[dict]:
    out = []
    for size in sizes:
        for v in variants:
            for kind in [*kinds, "all"]:
                rs = [r for r in rows if r["size"] == size and r["variant"] == v
                      and (kind == "all" or r["kind"] == kind)]
                if not rs:
                    continue
                out.append({
                    "size": size, "variant": v, "kind": kind, "cases": len(rs),
                    "lpips": statistics.median(r["lpips"] for r in rs),
                    "peer_lpips": statistics.median(r["peer_lpips"] for r in rs),
                    "wins": sum(r["lpips"] < r["peer_lpips"] for r in rs),
                    "losses": sum(r["lpips"] > r["peer_lpips"] for r in rs),
                    "psnr_hole": statistics.median(r["psnr_hole"] for r in rs),
                    "peer_psnr_hole": statistics.median(r["peer_psnr_hole"] for r in rs),
                    "seconds": statistics.median(r["seconds"] for r in rs),
                    "peer_seconds": statistics.median(r["peer_seconds"] for r in rs),
                })
    return out


def _table(rows: list[dict], cols: list[str]) -> str:
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in rows:
        lines.append("| " + " | ".join(f"{r[c]:.4g}" if isinstance(r[c], float) else str(r[c])
                                       for c in cols) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--split", choices=("tune", "heldout"), default="tune")
    ap.add_argument("--sizes", type=int, nargs="+", default=[256])
    ap.add_argument("--kinds", nargs="+", default=list(KINDS), choices=KINDS)
    ap.add_argument("--images", nargs="+", help="a subset of the split's photos")
    ap.add_argument("--variant", action="append", default=[],
                    help='"label opt=value const:_NAME=value ..." (repeatable; default: "default")')
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--grid", type=int, default=8, help="worst cases of the first variant to draw")
    ap.add_argument("--cache", default=str(RESULTS / "tmp" / "pypatchmatch_cache"))
    ap.add_argument("--refresh-peer", action="store_true", help="re-run pypatchmatch (re-time it)")
    ap.add_argument("--time-only", action="store_true",
                    help="seconds only: no LPIPS / PSNR (scores NaN, no wins), peer not cached")
    ap.add_argument("--out", default=None, help="output prefix (default results/tune_patchmatch_<split>)")
    args = ap.parse_args(argv)
    _set_threads(args.threads)

    import torch

    torch.set_num_threads(args.threads)
    import numba

    from benchmarks.suite.cases import inpaint_pair
    from imgkit import data

    names = args.images or [p.name for p in data.corpus(args.split, available=True)]
    bad = [n for n in names if n not in {p.name for p in data.corpus(args.split)}]
    if bad:
        raise SystemExit(f"not in the {args.split} split: {bad}")
    variants = [Variant(t) for t in (args.variant or ["default"])]
    out = Path(args.out) if args.out else RESULTS / f"tune_patchmatch_{args.split}"
    cache = Path(args.cache)
    meta = {"when": time.strftime("%Y-%m-%d %H:%M:%S"), "split": args.split, "cpus": os.cpu_count(),
            "numba_threads": numba.get_num_threads(), "torch_threads": torch.get_num_threads(),
            "load_start": _load(), "variants": [v.text for v in variants], "command": " ".join(sys.argv)}

    # warm-up: compile every kernel once (excluded from the timings)
    w_img, w_mask = inpaint_pair(names[0], args.kinds[0], min(args.sizes))
    for v in variants:
        v(w_img, w_mask)
    peer_fill(w_img, w_mask)

    rows, pictures = [], {}
    for size in args.sizes:
        for name in names:
            for kind in args.kinds:
                img, mask = inpaint_pair(name, kind, size)
                img, mask = np.ascontiguousarray(img), np.ascontiguousarray(mask)
                prow, pout = run_peer(name, kind, size, img, mask, cache, args.refresh_peer,
                                      not args.time_only)
                for v in variants:
                    t = time.perf_counter()
                    ours = v(img, mask)
                    sec = time.perf_counter() - t
                    row = {"image": name, "kind": kind, "size": size, "variant": v.label, "seconds": sec,
                           **(_NO_SCORE if args.time_only else _score(ours, img, mask)),
                           "peer_lpips": prow["lpips"],
                           "peer_psnr_hole": prow["psnr_hole"], "peer_seconds": prow["seconds"],
                           "hole": float(mask.mean()), "load": _load()}
                    row["case"] = f"{name}/{kind}/{size}/{v.label}"
                    row["key"] = f"{name}/{kind}/{size}"
                    rows.append(row)
                    if args.grid and not args.time_only:
                        fills = pictures.setdefault(row["key"], (img, mask, {}, pout))[2]
                        fills[v.label] = (ours, row["lpips"])
                    print(f"{row['case']:40s} lpips {row['lpips']:.4f} peer {row['peer_lpips']:.4f} "
                          f"{'WIN ' if row['lpips'] < row['peer_lpips'] else 'loss'} "
                          f"{sec:.3f}s peer {prow['seconds']:.3f}s", flush=True)
    meta["load_end"] = _load()
    summ = summarise(rows, [v.label for v in variants], args.sizes, args.kinds)
    cols = ["size", "variant", "kind", "cases", "lpips", "peer_lpips", "wins", "losses", "psnr_hole",
            "peer_psnr_hole", "seconds", "peer_seconds"]
    worst = sorted((r for r in rows if r["variant"] == variants[0].label),
                   key=lambda r: r["peer_lpips"] - r["lpips"])[: args.grid]
    text = (f"# imgkit patchmatch vs pypatchmatch r{RADIUS}, split `{args.split}`\n\n"
            f"Medians over cases of LPIPS-VGG (whole composited image), hole PSNR (dB) and seconds "
            f"(1 call per case, warm); wins/losses: cases where imgkit's LPIPS is lower/higher than "
            f"pypatchmatch's. Both at {args.threads} thread(s), same process.\n\n"
            f"```\n{json.dumps(meta, indent=1)}\n```\n\n{_table(summ, cols)}\n\n"
            f"Worst cases of `{variants[0].label}` (LPIPS minus pypatchmatch's):\n\n"
            + "\n".join(f"* {r['case']}: {r['lpips']:.4f} vs {r['peer_lpips']:.4f}" for r in worst) + "\n")
    print(text)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".md").write_text(text, encoding="utf-8")
    out.with_suffix(".json").write_text(json.dumps({"meta": meta, "summary": summ, "rows": rows}, indent=1),
                                        encoding="utf-8")
    if args.grid and not args.time_only:
        grid(out.parent / (out.name + "_grid.png"), worst, pictures,
             f"{args.split}: cases where imgkit ({variants[0].label}) lost most to pypatchmatch r{RADIUS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
