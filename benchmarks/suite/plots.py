"""Plots (quality vs time, time vs size, style trade-off, kernel times) and image grids.

matplotlib runs on the Agg backend (no display needed). Every plot file is written even when a
task has no data for it (the figure then says why), so a run's set of files is predictable.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["grids", "kernel_plot", "task_plots"]

_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")


def _plt():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _colors(n: int) -> list[Any]:
    plt = _plt()
    cmap = plt.get_cmap("tab20" if n > 10 else "tab10")
    return [cmap(i % cmap.N) for i in range(n)]


def _empty(ax: Any, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", wrap=True, transform=ax.transAxes)
    ax.set_xticks([])
    ax.set_yticks([])


def _save(fig: Any, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    _plt().close(fig)


def _median(vals: list[float]) -> float | None:
    vals = [v for v in vals if v is not None and math.isfinite(v)]
    return float(np.median(vals)) if vals else None


def task_plots(out: Path, td: Any) -> list[Path]:
    """``plots/<task>_quality_vs_time.png``, ``<task>_time_vs_size.png`` (and the style
    trade-off)."""
    plt = _plt()
    paths = []
    labels = [lab for lab in td.labels]
    colors = dict(zip(labels, _colors(len(labels))))
    markers = {s: _MARKERS[i % len(_MARKERS)] for i, s in enumerate(td.sizes)}
    wall = {s: td.values("wall_median_s", size=s) for s in td.sizes}

    # quality vs time
    fig, ax = plt.subplots(figsize=(7.5, 5))
    col = td.primary
    if col is None:
        _empty(ax, f"{td.task}: no quality metric has values in this run\n"
                   "(see summary.md: metrics not available)")
    else:
        qual = {s: td.values(col, size=s) for s in td.sizes}
        drawn = False
        for lab in labels:
            pts = [(_median(wall[s].get(lab, [])), _median(qual[s].get(lab, [])), s) for s in td.sizes]
            pts = [p for p in pts if p[0] is not None and p[1] is not None]
            if not pts:
                continue
            drawn = True
            xs, ys = [max(p[0], 1e-6) for p in pts], [p[1] for p in pts]
            ax.plot(xs, ys, "-", color=colors[lab], alpha=0.4, lw=1)
            for x, y, s in pts:
                ax.plot(x, y, markers[s], color=colors[lab], ms=7, ls="none")
            ax.annotate(td._name(lab), (xs[-1], ys[-1]), fontsize=7, xytext=(4, 2),
                        textcoords="offset points")
        if drawn:
            ax.set_xscale("log")
            ax.set_xlabel("warm wall time per call (s, median over cases, log scale)")
            better = "higher is better" if td.higher[col] else "lower is better"
            ax.set_ylabel(f"{col} (median over cases; {better})")
            for s, m in markers.items():
                ax.plot([], [], m, color="grey", ls="none", label=f"{s} px")
            ax.legend(fontsize=8, title="image size", loc="best")
            ax.grid(True, which="both", alpha=0.3)
        else:
            _empty(ax, "no row ran")
    ax.set_title(f"{td.task}: quality vs time (one point per method × size)")
    p = out / "plots" / f"{td.task}_quality_vs_time.png"
    _save(fig, p)
    paths.append(p)

    # time vs size
    fig, ax = plt.subplots(figsize=(7.5, 5))
    drawn = False
    for lab in labels:
        pts = [(s, _median(wall[s].get(lab, []))) for s in td.sizes]
        pts = [(s, t) for s, t in pts if t is not None]
        if not pts:
            continue
        drawn = True
        ax.plot([s for s, _ in pts], [max(t, 1e-6) for _, t in pts], "o-", color=colors[lab],
                label=td._name(lab), ms=4)
    if drawn:
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        if len(td.sizes) > 1:
            s0 = td.sizes[0]
            ref = [_median(wall[s0].get(lab, [])) for lab in labels]
            ref = [r for r in ref if r]
            if ref:
                t0 = float(np.median(ref))
                ax.plot(td.sizes, [t0 * (s / s0) ** 2 for s in td.sizes], "k--", lw=0.8,
                        label="∝ pixels (guide)")
        ax.set_xticks(td.sizes)
        ax.set_xticklabels([str(s) for s in td.sizes])
        ax.set_xlabel("image side (px)")
        ax.set_ylabel("warm wall time per call (s, median over cases)")
        ax.legend(fontsize=7, ncol=2, loc="best")
        ax.grid(True, which="both", alpha=0.3)
    else:
        _empty(ax, "no row ran")
    ax.set_title(f"{td.task}: time vs image size (log-log)")
    p = out / "plots" / f"{td.task}_time_vs_size.png"
    _save(fig, p)
    paths.append(p)

    if td.task == "style":
        fig, ax = plt.subplots(figsize=(7, 5))
        if "content_distance" in td.with_values and "gram_distance" in td.with_values:
            cd, gd = td.values("content_distance"), td.values("gram_distance")
            for lab in labels:
                x, y = _median(cd.get(lab, [])), _median(gd.get(lab, []))
                if x is None or y is None:
                    continue
                ax.plot(x, y, "o", color=colors[lab], ms=8)
                ax.annotate(td._name(lab), (x, y), fontsize=7, xytext=(4, 2), textcoords="offset points")
            ax.set_xlabel("content distance to the content image (median; lower keeps more content)")
            ax.set_ylabel("Gram distance to the style image (median; lower is more stylised)")
            ax.grid(True, alpha=0.3)
        else:
            _empty(ax, "content_distance / gram_distance not available in imgkit.metrics here")
        ax.set_title("style: content vs style trade-off")
        p = out / "plots" / "style_tradeoff.png"
        _save(fig, p)
        paths.append(p)
    return paths


def kernel_plot(out: Path, rows: list[dict[str, str]]) -> Path | None:
    """``plots/kernels_time.png``: median time of every kernel row (log scale)."""
    ok = [r for r in rows if r.get("status") == "ok" and r.get("median_s")]
    if not ok:
        return None
    plt = _plt()
    fams = list(dict.fromkeys(r["family"] for r in ok))
    colors = dict(zip(fams, _colors(len(fams))))
    fig, ax = plt.subplots(figsize=(8, 0.3 * len(ok) + 1.5))
    ys = np.arange(len(ok))
    ax.barh(ys, [max(float(r["median_s"]), 1e-7) for r in ok], color=[colors[r["family"]] for r in ok])
    ax.set_yticks(ys)
    ax.set_yticklabels([f"{r['family']}/{r['kernel']} [{r['device']}] {r['size']}" for r in ok], fontsize=7)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlabel("median warm time (s, log scale)")
    ax.set_title("kernels: warm median per call")
    ax.grid(True, axis="x", which="both", alpha=0.3)
    p = out / "plots" / "kernels_time.png"
    _save(fig, p)
    return p


# --- image grids ------------------------------------------------------------------------------

_INPUTS = {
    "inpaint": (("_input", "input + hole"), ("_truth", "ground truth")),
    "style": (("_content", "content"), ("_style", "style")),
    "analogy": (("_a", "A"), ("_a_prime", "A′ = f(A)"), ("_b", "B"), ("_truth", "f(B) (truth)")),
}


def _read(path: Path, cell: int) -> np.ndarray:
    from PIL import Image

    im = Image.open(path).convert("RGB")
    if im.size[0] > cell:
        im = im.resize((cell, round(cell * im.size[1] / im.size[0])), Image.Resampling.LANCZOS)
    return np.asarray(im)


def grids(out: Path, td: Any, cell: int | None = None) -> list[Path]:
    """Image grids from the images saved during the run: rows = cases, columns = inputs, ground
    truth and every candidate with an output; under each output its primary metric value.

    Inpainting gets one grid per mask kind (``grids/inpaint_<mask>.png``), style and analogies
    one grid each (``grids/<task>.png``).
    """
    plt = _plt()
    root = out / "images" / td.task
    if not root.exists():
        return []
    cell = cell or int(td.meta.get("settings", {}).get("grid_cell", 128))
    by_case = {r["case"]: r for r in td.all_rows}
    case_dirs = [d for d in sorted(root.iterdir()) if d.is_dir() and d.name in by_case]
    groups: dict[str, list[Path]] = {}
    for d in case_dirs:
        key = by_case[d.name][td.variant_col] if td.task == "inpaint" else ""
        groups.setdefault(key, []).append(d)
    value = {}
    for r in td.ok:
        v = r.get(td.primary) if td.primary else None
        value[(r["case"], f"{r['method']}__{r['device']}")] = v
    paths = []
    for key, dirs in groups.items():
        cols: list[tuple[str, str]] = list(_INPUTS[td.task])
        names = []
        for r in td.all_rows:
            stem = f"{r['method']}__{r['device']}"
            if stem not in names and any((d / f"{stem}.png").exists() for d in dirs):
                names.append(stem)
        multi = len({n.split("__")[1] for n in names}) > 1
        cols += [(n, n.replace("__", "@") if multi else n.split("__")[0]) for n in names]
        fig, axes = plt.subplots(len(dirs), len(cols), squeeze=False,
                                 figsize=(len(cols) * cell / 72, len(dirs) * (cell + 22) / 72))
        for i, d in enumerate(dirs):
            for j, (stem, title) in enumerate(cols):
                ax = axes[i][j]
                ax.set_xticks([])
                ax.set_yticks([])
                for sp in ax.spines.values():
                    sp.set_visible(False)
                f = d / f"{stem}.png"
                if f.exists():
                    ax.imshow(_read(f, cell), interpolation="nearest")
                v = value.get((d.name, stem))
                if v not in (None, "") and not f.exists():  # a merged run that saved no image here
                    ax.text(0.5, 0.5, "image not saved\nby its run", ha="center", va="center",
                            fontsize=6, color="0.4", transform=ax.transAxes)
                if v not in (None, ""):
                    ax.set_xlabel(f"{td.primary} {float(v):.3g}", fontsize=6, labelpad=1)
                elif not f.exists() and not stem.startswith("_"):
                    ax.set_xlabel("(skipped)", fontsize=6, labelpad=1)
                if i == 0:
                    ax.set_title(title, fontsize=7)
                if j == 0:
                    ax.set_ylabel(d.name, fontsize=6)
        fig.subplots_adjust(wspace=0.03, hspace=0.25, left=0.02, right=0.99, top=0.93, bottom=0.04)
        name = f"{td.task}_{key}.png" if key else f"{td.task}.png"
        p = out / "grids" / name
        p.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(p, dpi=72)
        plt.close(fig)
        paths.append(p)
    return paths
