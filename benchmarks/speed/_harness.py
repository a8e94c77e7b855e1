"""Shared pieces of the per-family kernel speed scripts (``benchmarks/speed/speed_<family>.py``).

Each script measures its own family and builds its own rows (``kernel_rows(quick) ->
list[dict]``, see :mod:`benchmarks.suite.kernels`); this module holds what they all do the same way:

* :func:`median_runs` / :func:`timed` — wall and process-CPU seconds of repeated calls
  (:class:`Runs`: median, CPU median, spread), optionally after a warm-up call and with a device
  synchronisation around each call;
* :func:`load_text` — the load average as the scripts put it in their notes;
* :func:`empty_numba_cache` and :func:`fresh_process` — first-call measurements in a new
  interpreter (repository root as working folder, an empty ``NUMBA_CACHE_DIR`` so that JIT
  compilation is included, no CUDA simulator);
* :func:`markdown_table`, :func:`run_meta` (machine metadata from
  :func:`benchmarks.suite.measure.machine_info`), :func:`write_results` and :func:`speed_main`, the
  command line every script shares: ``--quick``, ``--out`` (default ``benchmarks/results``),
  the script's own options, then ``<stem>.md`` and ``<stem>.json`` written and the Markdown
  printed.

The leading underscore keeps this file out of the ``speed_*.py`` discovery.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..suite.measure import REPO, machine_info

__all__ = ["COLUMNS", "RESULTS", "ROOT", "Runs", "empty_numba_cache", "fresh_process", "kernel_row",
           "load_text", "markdown_table", "median_runs", "run_meta", "speed_main", "speed_parser", "timed",
           "write_results"]

ROOT = REPO
RESULTS = REPO / "benchmarks" / "results"

#: Columns of the Markdown table (the JSON keeps every key of every row).
COLUMNS = ("kernel", "device", "size", "median_s", "first_call_s", "peak_mem_mb", "throughput", "unit",
           "notes")


# --- timing ----------------------------------------------------------------------------------


@dataclass
class Runs:
    """Wall and process-CPU seconds (all threads) of repeated calls, in call order."""

    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)

    def add(self, wall: float, cpu: float) -> None:
        self.wall.append(wall)
        self.cpu.append(cpu)

    @property
    def median_s(self) -> float:
        """Median wall seconds."""
        return statistics.median(self.wall)

    @property
    def cpu_s(self) -> float:
        """Median process CPU seconds: a figure that load on a shared machine inflates much less."""
        return statistics.median(self.cpu)

    @property
    def min_s(self) -> float:
        return min(self.wall)

    @property
    def max_s(self) -> float:
        return max(self.wall)

    def spread(self, scale: float = 1.0, spec: str = ".3f") -> str:
        """``"min-max s"`` of the wall times, each multiplied by ``scale`` (e.g. ``1 / iterations``)."""
        return f"{self.min_s * scale:{spec}}-{self.max_s * scale:{spec}} s"


def timed(fn: Callable[[], Any], sync: Callable[[], Any] | None = None) -> tuple[float, float]:
    """(wall, process CPU) seconds of one ``fn()``; ``sync`` (e.g. a CUDA synchronize) runs
    before the clocks start and again before they stop, so queued device work is counted."""
    if sync is not None:
        sync()
    w0, c0 = time.perf_counter(), time.process_time()
    fn()
    if sync is not None:
        sync()
    return time.perf_counter() - w0, time.process_time() - c0


def median_runs(fn: Callable[[], Any], repeats: int, *, warmup: bool = False,
                sync: Callable[[], Any] | None = None) -> Runs:
    """Time ``repeats`` calls of ``fn`` (after one untimed call when ``warmup``: JIT, caches)."""
    if warmup:
        fn()
    runs = Runs()
    for _ in range(repeats):
        runs.add(*timed(fn, sync))
    return runs


def load_text(label: str = "load", digits: int = 2) -> str:
    """``"<label> 1.23 4.56 7.89"`` (1, 5 and 15 minutes), ``"<label> n/a"`` where unknown."""
    try:
        return f"{label} " + " ".join(f"{x:.{digits}f}" for x in os.getloadavg())
    except OSError:  # pragma: no cover - not on Unix
        return f"{label} n/a"


def _load_avg() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:  # pragma: no cover - not on Unix
        return None


# --- fresh processes -------------------------------------------------------------------------


@contextmanager
def empty_numba_cache() -> Iterator[dict[str, str]]:
    """An environment for child processes with a new, empty ``NUMBA_CACHE_DIR`` (removed on exit)
    and without ``NUMBA_ENABLE_CUDASIM``: their first call includes the JIT compilation of the
    real CPU kernels. Children started with the same environment share the cache."""
    with tempfile.TemporaryDirectory(prefix="imgkit-speed-numba-") as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        env.pop("NUMBA_ENABLE_CUDASIM", None)
        yield env


def fresh_process(args: Sequence[str], *, env: dict[str, str] | None = None,
                  timeout: float | None = None) -> str:
    """Run ``python *args`` in a new interpreter in the repository root; its last stdout line.

    Raises ``subprocess.CalledProcessError`` (non-zero exit), ``subprocess.TimeoutExpired`` or
    ``IndexError`` (no output).
    """
    proc = subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout, check=True)
    return proc.stdout.strip().splitlines()[-1]


# --- results ---------------------------------------------------------------------------------


def kernel_row(family: str, kernel: str, device: str, size: str, median_s: float | None,
               throughput: float | None, unit: str, notes: str, first: float | None = None,
               peak: float | None = None, *, digits: int = 4) -> dict[str, Any]:
    """One row of ``kernel_rows`` (the keys :mod:`benchmarks.suite.kernels` reads), figures rounded:
    seconds to 4 decimals, first call to 2, memory to 1, throughput to ``digits``."""
    return {
        "family": family,
        "kernel": kernel,
        "device": device,
        "size": size,
        "median_s": None if median_s is None else round(median_s, 4),
        "first_call_s": None if first is None else round(first, 2),
        "peak_mem_mb": None if peak is None else round(peak, 1),
        "throughput": None if throughput is None else round(throughput, digits),
        "unit": unit,
        "notes": notes,
    }


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v).replace("\n", " ").replace("|", "\\|")


def markdown_table(rows: Sequence[dict[str, Any]], cols: Sequence[str] = COLUMNS) -> str:
    """A Markdown table of kernel rows: floats with 4 significant digits, missing values empty."""
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(_cell(r.get(c)) for c in cols) + " |" for r in rows]
    return "\n".join(lines)


def run_meta(command: str, load_before: list[float] | None = None) -> dict[str, Any]:
    """Machine, software and run metadata (:func:`benchmarks.suite.measure.machine_info`) plus the
    command and the load average before (given) and after (now) the measurements."""
    meta = machine_info()
    meta.pop("gpu", None)  # the CUDA rows say whether a GPU was usable and why not
    meta["command"] = command
    meta["load_avg_before"] = load_before
    meta["load_avg_after"] = meta.pop("load_avg_1_5_15")
    return meta


def _meta_line(meta: dict[str, Any]) -> str:
    v = meta.get("versions", {})
    parts = [f"`{meta.get('command', '')}`",
             f"{meta.get('cpu_model')}, {meta.get('usable_cores')} usable of {meta.get('logical_cores')} "
             f"logical cores",
             f"Python {meta.get('python')}, NumPy {v.get('numpy')}, "
             f"Numba {v.get('numba')} ({meta.get('numba_threads')} threads)"]
    if meta.get("torch_threads") is not None:
        parts.append(f"torch {v.get('torch')} ({meta['torch_threads']} threads)")

    def load(x):
        return "n/a" if not x else " ".join(f"{y:.2f}" for y in x)

    parts += [f"commit {meta.get('git_commit') or 'n/a'}",
              f"load average {load(meta.get('load_avg_before'))} before, "
              f"{load(meta.get('load_avg_after'))} after",
              str(meta.get("timestamp", ""))]
    return "; ".join(parts) + "."


def write_results(stem: str, title: str, rows: list[dict[str, Any]], meta: dict[str, Any],
                  out_dir: Path = RESULTS) -> str:
    """Write ``<out_dir>/<stem>.md`` (title, run line, table) and ``<stem>.json`` (``{"meta",
    "rows"}``); returns the Markdown."""
    text = f"# {title}\n\n{_meta_line(meta)}\n\n{markdown_table(rows)}\n"
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / f"{stem}.md").write_text(text, encoding="utf-8")
    (out_dir / f"{stem}.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=2, default=str),
                                          encoding="utf-8")
    return text


# --- command line ----------------------------------------------------------------------------


def speed_parser(stem: str, doc: str | None, quick_help: str) -> argparse.ArgumentParser:
    """The parser every speed script starts from (``--quick``, ``--out``); add the script's own
    options to it and give it to :func:`speed_main`."""
    ap = argparse.ArgumentParser(prog=f"python -m benchmarks.{stem}",
                                 description=(doc or "").strip().split("\n")[0])
    ap.add_argument("--quick", action="store_true", help=quick_help)
    ap.add_argument("--out", type=Path, default=RESULTS,
                    help=f"folder for {stem}*.md / .json (default benchmarks/results)")
    return ap


def speed_main(kernel_rows: Callable[..., list[dict[str, Any]]], stem: str, title: str,
               argv: Sequence[str] | None = None, *, parser: argparse.ArgumentParser | None = None,
               doc: str | None = None, quick_help: str = "smaller cases, fewer repeats",
               suffix: Callable[[argparse.Namespace], str] | None = None) -> list[dict[str, Any]]:
    """The ``__main__`` of a speed script: parse, measure, print and write the results.

    ``kernel_rows(args.quick, **options)`` is called with every option of ``parser`` other than
    ``--quick`` and ``--out`` as a keyword (default parser: :func:`speed_parser` with ``doc`` and
    ``quick_help``). The files are ``<out>/<stem><suffix(args)>.md`` and ``.json``. Returns the
    rows.
    """
    ap = parser or speed_parser(stem, doc, quick_help)
    args = ap.parse_args(argv)
    options = {k: v for k, v in vars(args).items() if k not in ("quick", "out")}
    argv = sys.argv[1:] if argv is None else list(argv)
    command = " ".join([ap.prog, *argv])
    before = _load_avg()
    rows = kernel_rows(args.quick, **options)
    meta = run_meta(command, before)
    text = write_results(stem + (suffix(args) if suffix else ""), title, rows, meta, args.out)
    print(text)
    return rows
