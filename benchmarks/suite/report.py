"""Turn the CSVs of a run into ``summary.md``, plots (matplotlib, Agg) and image grids.

Everything here reads only the files in the output folder (``<task>.csv``, ``firstcall.csv``,
``kernels.csv``, ``meta.json`` and the saved grid images), so ``python -m benchmarks report
--out DIR`` rebuilds the report of a finished or resumed run without running anything.

Tables show medians over cases with the 25th–75th percentiles in brackets; in every quality
column the best value is **bold** and the worst is _italic_, so losses are as visible as wins.
"""

from __future__ import annotations

import csv
import json
import math
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .measure import METRICS, PRIMARY
from .runner import VARIANT

__all__ = ["load_rows", "write_report"]

TASK_TITLES = {"inpaint": "Inpainting", "style": "Style transfer", "analogy": "Image analogies"}
RANKED_KINDS = ("method", "peer", "stand-in")


# --- loading ---------------------------------------------------------------------------------


def _num(v: Any) -> float | None:
    if v is None or v == "":
        return None
    try:
        x = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(x) else x


def load_rows(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        return []
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def _label(r: dict[str, str], multi_device: bool) -> str:
    return f"{r['method']}@{r['device']}" if multi_device else r["method"]


def _stats(vals: Sequence[float]) -> tuple[float, float, float] | None:
    vals = [v for v in vals if v is not None and not math.isnan(v)]
    if not vals:
        return None
    a = np.asarray(vals, np.float64)
    if np.isinf(a).all():
        return float(a[0]), float(a[0]), float(a[0])
    a = a[np.isfinite(a)] if np.isfinite(a).any() else a
    return float(np.median(a)), float(np.percentile(a, 25)), float(np.percentile(a, 75))


def _f(x: float, col: str) -> str:
    if math.isinf(x):
        return "inf"
    if col.startswith("psnr"):
        return f"{x:.2f}"
    if col.startswith(("wall", "first", "import", "second")) or col.endswith("_s"):
        return _fmt_s(x)
    if col.endswith("_mb"):
        return f"{x:.1f}"
    return f"{x:.4f}" if abs(x) < 10 else f"{x:.4g}"


def _fmt_s(x: float) -> str:
    if x >= 100:
        return f"{x:.0f}"
    if x >= 1:
        return f"{x:.2f}"
    if x >= 0.01:
        return f"{x:.3f}"
    return f"{x:.2g}"


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c).replace("|", "\\|") for c in r) + " |" for r in rows]
    return "\n".join(lines)


def _mark(cells: dict[str, float | None], higher: bool) -> dict[str, str]:
    """'best'/'worst' tags per key of a column of medians (needs at least two values)."""
    vals = {k: v for k, v in cells.items() if v is not None}
    if len(vals) < 2:
        return {}
    best = (max if higher else min)(vals.values())
    worst = (min if higher else max)(vals.values())
    if best == worst:
        return {}
    return {k: ("best" if v == best else "worst" if v == worst else "") for k, v in vals.items()}


def _cell(st: tuple[float, float, float] | None, col: str, tag: str = "") -> str:
    if st is None:
        return "—"
    med, q1, q3 = st
    s = _f(med, col)
    if q1 != q3:
        s += f" [{_f(q1, col)}–{_f(q3, col)}]"
    if tag == "best":
        return f"**{s}**"
    if tag == "worst":
        return f"_{s}_"
    return s


# --- per-task section --------------------------------------------------------------------------


class TaskData:
    def __init__(self, task: str, rows: list[dict[str, str]], meta: dict[str, Any]):
        self.task, self.meta = task, meta
        self.all_rows = rows
        self.ok = [r for r in rows if r["status"] == "ok"]
        self.multi = len({r["device"] for r in rows}) > 1
        self.labels = list(dict.fromkeys(_label(r, self.multi) for r in rows))
        self.kind = {_label(r, self.multi): r["kind"] for r in rows}
        self.variant_col = VARIANT[task]
        self.variants = list(dict.fromkeys(r[self.variant_col] for r in rows))
        self.sizes = sorted({int(r["size"]) for r in rows})
        self.higher = {c: h for c, _, h, _ in METRICS[task]}
        self.desc = {c: d for c, _, _, d in METRICS[task]}
        self.metric_cols = [c for c, *_ in METRICS[task]]
        self.with_values = [c for c in self.metric_cols if any(_num(r.get(c)) is not None for r in self.ok)]
        self.primary = next((c for c in PRIMARY[task] if c in self.with_values), None)

    def values(self, col: str, **where: Any) -> dict[str, list[float]]:
        out: dict[str, list[float]] = defaultdict(list)
        for r in self.ok:
            if any(str(r[k]) != str(v) for k, v in where.items()):
                continue
            v = _num(r.get(col))
            if v is not None:
                out[_label(r, self.multi)].append(v)
        return out

    def grid_by(self, col: str, by: str, keys: Sequence[Any]) -> tuple[list[str], list[list[str]]]:
        """Rows = labels, columns = ``keys`` of column ``by`` and "all"."""
        higher = self.higher.get(col, False) if not col.startswith("wall") else False
        cols: dict[str, dict[str, tuple | None]] = {}
        for k in [*keys, None] if len(keys) > 1 else list(keys):
            vals = self.values(col) if k is None else self.values(col, **{by: k})
            cols["all" if k is None else str(k)] = {lab: _stats(vals.get(lab, [])) for lab in self.labels}
        tags = {c: _mark({lab: (s[0] if s else None) for lab, s in d.items()
                          if self.kind.get(lab) != "reference"}, higher)
                for c, d in cols.items()} if not col.startswith("wall") else {}
        body = []
        for lab in self.labels:
            if all(cols[c][lab] is None for c in cols):
                continue
            body.append([self._name(lab)] + [_cell(cols[c][lab], col, tags.get(c, {}).get(lab, ""))
                                              for c in cols])
        return ["method", *[str(k) for k in keys], *(["all"] if len(keys) > 1 else [])], body

    def _name(self, lab: str) -> str:
        k = self.kind.get(lab, "")
        return lab if k == "method" else f"{lab} ({k})"

    def wins_losses(self) -> tuple[list[str], list[list[Any]]]:
        col = self.primary
        higher = self.higher[col]
        per_case: dict[str, list[tuple[float, str, str]]] = defaultdict(list)
        for r in self.ok:
            v = _num(r.get(col))
            if v is None or r["kind"] not in RANKED_KINDS:
                continue
            per_case[r["case"]].append((v, _label(r, self.multi), r[self.variant_col]))
        stats: dict[str, dict[str, Any]] = defaultdict(lambda: {"n": 0, "best": 0, "worst": 0, "ranks": [],
                                                                 "best_on": defaultdict(int),
                                                                 "worst_on": defaultdict(int)})
        for entries in per_case.values():
            if len(entries) < 2:
                continue
            worst = (min if higher else max)(e[0] for e in entries)
            for v, lab, var in entries:
                s = stats[lab]
                s["n"] += 1
                rank = 1 + sum(1 for e in entries if (e[0] > v if higher else e[0] < v))
                s["ranks"].append(rank)
                if rank == 1:
                    s["best"] += 1
                    s["best_on"][var] += 1
                if v == worst:
                    s["worst"] += 1
                    s["worst_on"][var] += 1
        body = []
        for lab in self.labels:
            if lab not in stats:
                continue
            s = stats[lab]
            top = lambda d: ", ".join(f"{k} ×{c}" for k, c in sorted(d.items(), key=lambda kv: -kv[1])) or "—"  # noqa: E731
            body.append([self._name(lab), s["n"], s["best"], s["worst"],
                         f"{np.median(s['ranks']):.1f}", top(s["best_on"]), top(s["worst_on"])])
        body.sort(key=lambda b: float(b[4]))
        return ["method", "cases ranked", "best", "worst", "median rank",
                f"best on ({self.variant_col})", f"worst on ({self.variant_col})"], body


def _methods_section(td: TaskData) -> list[str]:
    cands = {c["name"]: c for c in td.meta.get("candidates", {}).get(td.task, [])}
    by_label: dict[str, list[dict[str, str]]] = defaultdict(list)
    for r in td.all_rows:
        by_label[_label(r, td.multi)].append(r)
    body = []
    for lab, rs in by_label.items():
        c = cands.get(rs[0]["method"], {})
        ov = c.get("overrides") or {}
        if not ov and rs[0].get("overrides"):
            ov = {k: {"benchmark": v, "default": "?"} for k, v in json.loads(rs[0]["overrides"]).items()}
        ov_s = ", ".join(f"{k}={v['benchmark']!r} (default {v['default']!r})"
                         for k, v in ov.items()) or "defaults"
        n_ok = sum(r["status"] == "ok" for r in rs)
        n_skip = sum(r["status"] == "skipped" for r in rs)
        n_err = sum(r["status"] == "error" for r in rs)
        body.append([td._name(lab), rs[0]["family"], rs[0]["device"], ov_s, n_ok, n_skip, n_err,
                     c.get("summary", "")])
    lines = ["### What ran", "",
             _table(["method", "family", "device", "benchmark options", "ok", "skipped", "errors",
                     "summary"], body), ""]
    if not any(r["kind"] == "method" for r in td.all_rows):
        from .candidates import IMGKIT_TASK

        lines += [f"**No registered imgkit method for this task in this build** "
                  f"(`imgkit.list_methods({IMGKIT_TASK[td.task]!r})` is empty, or `--methods` left "
                  f"them out): only references and stand-ins ran.", ""]
    return lines


def _skips_section(td: TaskData) -> list[str]:
    groups: dict[tuple[str, str, str], int] = defaultdict(int)
    for r in td.all_rows:
        if r["status"] != "ok":
            groups[(td._name(_label(r, td.multi)), r["status"], r["reason"])] += 1
    lines = ["### Skipped and failed rows", ""]
    if not groups:
        return [*lines, "None: every candidate ran on every case.", ""]
    for (lab, status, reason), n in groups.items():
        lines.append(f"- **{lab}** — {status} on {n} case(s): {reason}")
    return [*lines, ""]


def _na_section(td: TaskData) -> list[str]:
    na = dict(td.meta.get("metrics_na", {}).get(td.task, {}))
    for c in td.metric_cols:
        if c not in td.with_values and c not in na:
            na[c] = "no values (no row ran, or the metric failed on every row: see metric_notes)"
    notes = sorted({n for r in td.ok for n in r.get("metric_notes", "").split("; ") if n})
    lines = []
    if na:
        lines += ["### Metrics not available", ""]
        lines += [f"- `{c}`: n/a ({why})" for c, why in na.items() if c not in td.with_values]
        lines.append("")
    if notes:
        lines += ["Metric failures on single rows (value left empty): "
                  + "; ".join(notes[:8]) + (" …" if len(notes) > 8 else ""), ""]
    return lines


def _firstcall_section(td: TaskData, fc_rows: list[dict[str, str]]) -> list[str]:
    rows = [r for r in fc_rows if r["task"] == td.task]
    lines = ["### First call and memory (fresh process, empty Numba cache)", ""]
    if not rows:
        return [*lines, "Not measured in this run (`--no-firstcall`, or no row ran).", ""]
    warm = {}
    for lab in td.labels:
        for s in td.sizes:
            st = _stats(td.values("wall_median_s", size=s).get(lab, []))
            if st:
                warm[(lab, s)] = st[0]
    body = []
    for r in rows:
        lab = f"{r['method']}@{r['device']}" if td.multi else r["method"]
        if r["status"] != "ok":
            body.append([td._name(lab), r["size"], "—", "—", "—", "—", "—", "—",
                         f"{r['status']}: {r['reason']}"])
            continue
        w = warm.get((lab, int(r["size"])))
        body.append([td._name(lab), r["size"], _fmt_s(float(r["import_s"])),
                     _fmt_s(float(r["first_call_s"])), _fmt_s(w) if w is not None else "—",
                     f"{float(r['peak_rss_mb']):.0f}", f"{float(r['call_rss_delta_mb']):.1f}",
                     f"{float(r['tracemalloc_peak_mb']):.1f}", ""])
    return [*lines, _table(["method", "size", "import (s)", "first call (s)", "warm median (s)",
                            "process peak RSS (MB)", "call RSS Δ (MB)", "tracemalloc peak (MB)",
                            "note"], body), "",
            "First call: lazy imports, JIT compilation (empty Numba cache), weight loading and the "
            "run. Process peak RSS: `VmHWM` after the first call (interpreter and imports "
            "included). Call RSS Δ: peak RSS sampled every 1 ms during a second call minus RSS before "
            "it (all allocations). tracemalloc: Python/NumPy allocations of that call (torch and "
            "OpenCV buffers are invisible to it).", ""]


def task_section(task: str, out: Path, meta: dict[str, Any], fc_rows: list[dict[str, str]]) -> list[str]:
    rows = load_rows(out / f"{task}.csv")
    title = TASK_TITLES[task]
    if not rows:
        return [f"## {title}", "", "Not run.", ""]
    td = TaskData(task, rows, meta)
    images = list(dict.fromkeys(r["image"] for r in rows))
    lines = [f"## {title}", "",
             f"{len({r['case'] for r in rows})} cases: images {', '.join(images)}; "
             f"{td.variant_col} {', '.join(td.variants)}; sizes {', '.join(map(str, td.sizes))} px. "
             f"CSV: [`{task}.csv`]({task}.csv).", ""]
    if task == "analogy":
        lines += ["Filters learned from A = astronaut (A′ = filter(A)) and applied to B; ground truth "
                  "= filter(B).", ""]
    lines += _methods_section(td)
    shown = [c for c in ([td.primary] if td.primary else []) + td.with_values]
    shown = list(dict.fromkeys(shown))
    partial = [td._name(lab) for lab in td.labels
               if 0 < sum(r["status"] == "ok" for r in td.all_rows if _label(r, td.multi) == lab)
               < sum(1 for r in td.all_rows if _label(r, td.multi) == lab)]
    for i, col in enumerate(shown[:3]):
        arrow = "higher is better" if td.higher[col] else "lower is better"
        head, body = td.grid_by(col, td.variant_col, td.variants)
        lines += [f"### `{col}` by {td.variant_col} — {td.desc[col]} ({arrow})", "",
                  _table(head, body), ""]
        if i == 0 and partial:
            lines += [f"Medians pool the cases each candidate ran; {', '.join(partial)} did not run on "
                      "every case (see What ran), so compare them within a size (tables by image "
                      "size below).", ""]
    if len(shown) > 3:
        rest = shown[3:]
        body = []
        for lab in td.labels:
            cells = [_cell(_stats(td.values(c).get(lab, [])), c) for c in rest]
            if any(c != "—" for c in cells):
                body.append([td._name(lab), *cells])
        lines += ["### Other metrics (median over all cases)", "", _table(["method", *rest], body), "",
                  *[f"- `{c}`: {td.desc[c]}" for c in rest], ""]
    head, body = td.grid_by("wall_median_s", "size", td.sizes)
    lines += ["### Warm wall time (s) by image size", "",
              "Median over cases of each row's median call [25th–75th percentile over cases].", "",
              _table(head, body), ""]
    if td.primary and len(td.sizes) > 1:
        head, body = td.grid_by(td.primary, "size", td.sizes)
        lines += [f"### `{td.primary}` by image size", "", _table(head, body), ""]
    if td.primary:
        head, body = td.wins_losses()
        lines += [f"### Wins and losses per case (`{td.primary}`)", "",
                  "Each case ranks the methods, peers and stand-ins that ran on it (references "
                  "excluded); ties share a rank.", "", _table(head, body) if body else "Nothing to rank.", ""]
    lines += _firstcall_section(td, fc_rows)
    lines += _skips_section(td)
    lines += _na_section(td)
    plots = sorted((out / "plots").glob(f"{task}_*.png"))
    grids = sorted((out / "grids").glob(f"{task}*.png"))
    if plots or grids:
        lines += ["### Plots and image grids", ""]
        lines += [f"![{p.stem}](plots/{p.name})" for p in plots]
        lines += [f"![{g.stem}](grids/{g.name})" for g in grids]
        lines.append("")
    return lines


def kernels_section(out: Path) -> list[str]:
    rows = load_rows(out / "kernels.csv")
    lines = ["## Kernels", ""]
    if not (out / "kernels.csv").exists():
        return []
    if not rows:
        return [*lines, "No `benchmarks/speed/speed_*.py` module was found: no kernel family has a speed "
                "module yet.", ""]
    body = []
    for r in rows:
        if r.get("status") != "ok":
            why = r.get("reason", "")
            why = why if why.startswith(r["status"]) else f"{r['status']}: {why}"
            body.append([r["module"].rsplit(".", 1)[-1], r.get("family", ""), r.get("kernel", ""),
                         r.get("device", ""), r.get("size", ""), "—", "—", "—", "—", why])
            continue
        def opt(k, f, r=r):
            return f(float(r[k])) if _num(r.get(k)) is not None else "—"

        body.append([r["module"].rsplit(".", 1)[-1], r["family"], r["kernel"], r["device"], r["size"],
                     opt("median_s", _fmt_s), opt("first_call_s", _fmt_s),
                     f"{float(r['throughput']):.4g} {r['unit']}" if _num(r.get("throughput")) else "—",
                     opt("vs_reference", lambda x: f"{x:.1f}×"), r.get("notes", "")])
    return [*lines, _table(["module", "family", "kernel", "device", "size", "median (s)",
                            "first call (s)", "throughput", "vs reference", "notes"], body), "",
            "CSV: [`kernels.csv`](kernels.csv).", ""]


def _header(meta: dict[str, Any], tasks: Sequence[str]) -> list[str]:
    v = meta.get("versions", {})
    vs = ", ".join(f"{k} {val}" for k, val in v.items() if val)
    runs = meta.get("runs", {})
    lines = ["# imgkit benchmark results", ""]
    if runs:
        lines.append("- Commands (per task: when, load average 1/5/15 min at start → end, commit):")
        for t in tasks:
            r = runs.get(t)
            if not r:
                continue
            for i, e in enumerate([*r.get("earlier", []), r]):
                what = "resumed by" if i else t
                lines.append(f"  {'  ' if i else ''}- {what}: `{e['command']}` — {e['started']} → "
                             f"{e.get('finished', '?')}, load {e.get('load_start')} → "
                             f"{e.get('load_end')}, commit `{e.get('git_commit') or '?'}`")
    else:
        lines.append(f"- Command: `python -m {' '.join(meta.get('argv_display', ['benchmarks']))}` "
                     f"({meta.get('timestamp', '?')} → {meta.get('finished', '?')})")
    s = meta.get("settings", {})
    lines += [
        f"- Machine: {meta.get('cpu_model', '?')}, {meta.get('usable_cores', '?')} usable cores "
        f"({meta.get('logical_cores', '?')} logical), {meta.get('memory_gb', '?')} GB. The load "
        "average shows how busy the machine was: other work inflates times.",
        f"- Devices: {', '.join(s.get('devices', ['cpu']))}; GPU: {meta.get('gpu', '?')}",
        f"- Software: Python {meta.get('python', '?')}; {vs}",
        "- Timing: after one warm-up call per candidate, each row times up to `repeats` calls and "
        "stops once they add up to `row_budget_s` (per-task settings in `meta.json` → `runs`); "
        "`n_runs` in the CSVs says how many.",
        "", "Method, metric definitions and how to rerun or resume: `benchmarks/README.md`.", "",
    ]
    return lines


def write_report(out: Path, tasks: Sequence[str], *, figures: bool = True) -> Path:
    """Write ``summary.md``, plots and grids (unless ``figures`` is False) for ``tasks`` from the
    files in ``out``."""
    from . import plots

    out = Path(out)
    meta = json.loads((out / "meta.json").read_text()) if (out / "meta.json").exists() else {}
    fc_rows = load_rows(out / "firstcall.csv")
    for task in tasks if figures else ():
        if task == "kernels":
            plots.kernel_plot(out, load_rows(out / "kernels.csv"))
            continue
        rows = load_rows(out / f"{task}.csv")
        if rows:
            td = TaskData(task, rows, meta)
            plots.task_plots(out, td)
            plots.grids(out, td)
    lines = _header(meta, tasks)
    for task in ("inpaint", "style", "analogy"):
        if task in tasks:
            lines += task_section(task, out, meta, fc_rows)
    if "kernels" in tasks:
        lines += kernels_section(out)
    path = out / "summary.md"
    path.write_text("\n".join(lines).rstrip() + "\n")
    return path
