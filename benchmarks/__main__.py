"""``python -m benchmarks``: compare every registered imgkit method on quality and speed.

::

    python -m benchmarks inpaint|style|analogy|kernels|all [--split tune|heldout|all] [--quick]
        [--threads N] [--methods M ...]
        [--sizes N ...] [--images NAME ...] [--variants V ...] [--device cpu|cuda ...]
        [--out DIR] [--resume] [--repeats N] [--budget S] [--max-row-s S]
        [--option METHOD.NAME=VALUE ...] [--cases ID ...] [--no-warmup] [--no-firstcall]
        [--no-peers] [--no-metrics] [--no-progress] [--list]
    python -m benchmarks report --out DIR [--readme benchmarks/README.md]
        # rebuild summary.md, plots and grids from the CSVs (and README's "Which method when")
    python -m benchmarks corpus [--split tune|heldout] [--export DIR]   # the photo corpus
    python -m benchmarks merge --out DIR FROM ... [--ignore-options] [--readme FILE]
        # add other runs' rows (separate processes)

Writes into ``--out`` (default ``benchmarks/results/quick`` or ``benchmarks/results/full``):
``<task>.csv`` (one row per case × method × device), ``firstcall.csv``, ``kernels.csv``,
``summary.md``, ``plots/*.png``, ``grids/*.png``, ``images/`` (the outputs shown in the grids)
and ``meta.json`` (machine, versions, commit, settings). See ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import sys
from pathlib import Path
from typing import Any

TASKS = ("inpaint", "style", "analogy", "kernels")
HERE = Path(__file__).resolve().parent


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="imgkit benchmark suite: quality and speed of every registered method.",
    )
    p.add_argument("command", choices=(*TASKS, "all", "report"),
                   help="which benchmark to run ('all' runs the four; 'report' rebuilds the report)")
    p.add_argument("--split", default="heldout", choices=("tune", "heldout", "all"),
                   help="corpus split the photos come from (default heldout: the split every "
                        "reported figure is read from; choose defaults on tune)")
    p.add_argument("--quick", action="store_true",
                   help="small fixed subset of the split (first photo of a few categories), fewer "
                        "repeats and cheaper deep settings (a few minutes)")
    p.add_argument("--threads", type=int, default=1, metavar="N",
                   help="threads of every method and peer (Numba, torch, OpenMP/BLAS, OpenCV); "
                        "default 1, the same for everyone; 0 = library defaults")
    p.add_argument("--methods", nargs="+", metavar="NAME",
                   help="only these methods / peers / references (default: all registered + peers)")
    p.add_argument("--sizes", nargs="+", type=int, metavar="PX", help="image sides in pixels")
    p.add_argument("--images", nargs="+", metavar="NAME",
                   help="photos (corpus or skimage.data names, via imgkit.data.photo) to use as "
                        "inpainting images, style contents and analogy B images instead of the "
                        "split's")
    p.add_argument("--variants", nargs="+", metavar="V",
                   help="mask kinds (inpaint), style images (style) or filters (analogy)")
    p.add_argument("--device", nargs="+", default=["cpu"], choices=("cpu", "cuda", "auto"),
                   help="device(s) to run on; rows per device (default: cpu)")
    p.add_argument("--out", type=Path, help="output folder (default benchmarks/results/{quick,full})")
    p.add_argument("--resume", action="store_true",
                   help="keep rows already in the CSVs (status ok) and run only the missing ones")
    p.add_argument("--repeats", type=int, help="timed calls per row after the warm-up (default 5; quick 3)")
    p.add_argument("--budget", type=float, metavar="S",
                   help="stop repeating once a row's timed calls add up to S seconds (default 3; quick 1)")
    p.add_argument("--max-row-s", type=float, metavar="S",
                   help="skip (and say so) a method at a size where one call is expected to take "
                        "more than S seconds, extrapolated ∝ pixels from smaller sizes (quick "
                        "default 20)")
    p.add_argument("--cases", nargs="+", metavar="ID",
                   help="run only these cases (ids <image>-<variant>-<size>, e.g. fig-box-256): a "
                        "fixed subset for slow rows")
    p.add_argument("--no-warmup", dest="warmup", action="store_false",
                   help="no untimed warm-up call per candidate (for rows of minutes per call, where "
                        "it would double the cost): the first timed call then includes the one-time "
                        "costs (JIT, weights)")
    p.add_argument("--option", action="append", default=[], metavar="METHOD.NAME=VALUE",
                   help="set a method option for this run (repeatable), e.g. dip.iterations=200")
    p.add_argument("--no-firstcall", dest="firstcall", action="store_false",
                   help="do not measure first-call time and memory in fresh processes")
    p.add_argument("--no-peers", dest="peers", action="store_false",
                   help="leave out the external peers (pypatchmatch, resynthesizer)")
    p.add_argument("--no-metrics", dest="metrics", action="store_false",
                   help="time only; quality columns are reported n/a")
    p.add_argument("--no-progress", dest="progress", action="store_false", help="hide progress bars")
    p.add_argument("--list", action="store_true", help="list cases and candidates, run nothing")
    p.add_argument("--readme", type=Path, metavar="FILE",
                   help="report only: also rewrite the generated 'Which method when' block of FILE "
                        "(e.g. benchmarks/README.md) from the results in --out")
    return p


def _check_methods(names: list[str], tasks: list[str]) -> str | None:
    from .suite.candidates import all_candidate_names

    known: dict[str, list[str]] = {}
    for t in tasks:
        if t != "kernels":
            for n in all_candidate_names(t):
                known.setdefault(n, []).append(t)
    unknown = [n for n in names if n not in known]
    if unknown:
        return (f"unknown method(s) {', '.join(map(repr, unknown))} for {', '.join(tasks)}; "
                f"known: {', '.join(sorted(known))}")
    return None


def _list(tasks: list[str], cfg: Any) -> None:
    from .suite.candidates import build_candidates
    from .suite.cases import build_cases
    from .suite.kernels import discover

    for t in tasks:
        if t == "kernels":
            print(f"kernels: {', '.join(discover()) or 'no benchmarks/speed/speed_*.py module'}")
            continue
        images, variants = cfg.for_task(t)
        from .suite.runner import select_cases

        cases = select_cases(build_cases(t, quick=cfg.quick, images=images, variants=variants,
                                         sizes=cfg.sizes, split=cfg.split), cfg.cases)
        cands = build_candidates(t, quick=cfg.quick, names=cfg.methods,
                                 option_overrides=cfg.option_overrides, peers=cfg.peers)
        from .suite.runner import VARIANT

        def names(xs):
            return ", ".join(dict.fromkeys(map(str, xs)))

        src = "--images" if images else f"split {cfg.split}"
        print(f"{t}: {len(cases)} cases ({src}): photos {names(c.image for c in cases)}; "
              f"{VARIANT[t]} {names(c.variant for c in cases)}; sizes {names(c.size for c in cases)}"
              + (f"; A = {names(c.pair()[0] for c in cases)}" if t == "analogy" else ""))
        for c in cands:
            ov = ", ".join(f"{k}={v[0]!r} (default {v[1]!r})" for k, v in c.overrides.items())
            state = f"skipped: {c.unavailable}" if c.unavailable else "ok"
            print(f"  {c.name:<18} {c.kind:<9} {c.family:<9} {state}{'; ' + ov if ov else ''}")


def _write_kernels(out: Path, rows: list[dict[str, Any]]) -> None:
    from .suite.kernels import KERNEL_COLUMNS
    from .suite.runner import _fmt

    with open(out / "kernels.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=KERNEL_COLUMNS, extrasaction="ignore")
        w.writeheader()
        for r in rows:
            w.writerow({k: _fmt(r.get(k, "")) for k in KERNEL_COLUMNS})


class OutputBusyError(RuntimeError):
    """Another live benchmark process is writing to the same output folder."""


class _OutLock:
    """``DIR/.lock`` holding the writer's PID, so two runs never append to the same CSVs."""

    def __init__(self, out: Path):
        self.path = out / ".lock"

    def __enter__(self) -> _OutLock:
        import os

        for _ in range(2):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                try:
                    pid = int(self.path.read_text().strip() or 0)
                    os.kill(pid, 0)
                except (ValueError, ProcessLookupError, FileNotFoundError):
                    self.path.unlink(missing_ok=True)  # stale lock of a run that died
                    continue
                except PermissionError:
                    pass
                raise OutputBusyError(
                    f"another benchmark run (pid {pid}) is writing to {self.path.parent}; wait for "
                    f"it, stop it, or choose another --out") from None
            with os.fdopen(fd, "w") as fh:
                fh.write(str(os.getpid()))
            return self
        raise OutputBusyError(f"cannot take the lock {self.path}")

    def __exit__(self, *exc: object) -> None:
        self.path.unlink(missing_ok=True)


def run(tasks: list[str], cfg: Any, argv_display: list[str]) -> Path:
    """Run ``tasks`` with ``cfg`` (a :class:`benchmarks.suite.runner.Config`) and write the report.

    Raises :class:`OutputBusyError` when another live run writes to ``cfg.out``.
    """
    from .suite.threads import limited_threads

    cfg.out.mkdir(parents=True, exist_ok=True)
    with _OutLock(cfg.out), limited_threads(cfg.threads):
        return _run(tasks, cfg, argv_display)


def _run(tasks: list[str], cfg: Any, argv_display: list[str]) -> Path:
    import datetime as dt
    import os

    from .suite.kernels import kernel_table
    from .suite.measure import machine_info
    from .suite.report import write_report
    from .suite.runner import run_task

    out = cfg.out
    meta_path = out / "meta.json"
    meta: dict[str, Any] = json.loads(meta_path.read_text()) if meta_path.exists() else {}
    meta.update(machine_info(tuple(cfg.devices)))
    meta["settings"] = dict(cfg.settings(), grid_cell=cfg.grid_cell)
    meta["argv_display"] = argv_display
    meta["method_notes"] = {
        "wall_time": "median of up to `repeats` timed calls after one warm-up call per candidate; "
                     "a row stops repeating once its calls add up to `row_budget_s`",
        "first_call": "fresh process, empty NUMBA_CACHE_DIR: lazy imports + JIT + weights + run",
        "peak_rss_mb": "VmHWM of the fresh process after the first call (whole process)",
        "call_rss_delta_mb": "peak RSS sampled every 1 ms during a second call minus RSS before it",
        "tracemalloc_peak_mb": "tracemalloc peak of a second call (Python/NumPy allocations only)",
    }
    def stamp() -> str:
        return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")

    for task in tasks:
        record = {"command": "python -m " + " ".join(argv_display), "started": stamp(),
                  "load_start": [round(x, 2) for x in os.getloadavg()],
                  "git_commit": meta.get("git_commit"), "settings": meta["settings"]}
        if cfg.resume and task in meta.get("runs", {}):
            prev = meta["runs"][task]
            record["earlier"] = [*prev.pop("earlier", []), prev]  # the runs this one resumes
        if task != "kernels" and not cfg.resume:
            shutil.rmtree(out / "images" / task, ignore_errors=True)
        try:
            if task == "kernels":
                _write_kernels(out, kernel_table(cfg.quick, meta, cfg.kernel_modules))
            else:
                run_task(task, cfg, meta)
        except KeyboardInterrupt:  # Ctrl-C or SIGTERM: keep what ran, say so, rebuild the report
            record.update(interrupted=stamp(), load_end=[round(x, 2) for x in os.getloadavg()])
            meta.setdefault("runs", {})[task] = record
            meta["interrupted"] = record["interrupted"]
            meta_path.write_text(json.dumps(meta, indent=2, default=str))
            present = [t for t in TASKS if (out / f"{t}.csv").exists()]
            write_report(out, present, figures=cfg.plots)
            raise
        record.update(finished=stamp(), load_end=[round(x, 2) for x in os.getloadavg()])
        meta.setdefault("runs", {})[task] = record
        meta_path.write_text(json.dumps(meta, indent=2, default=str))
    meta["finished"] = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    meta["load_avg_end"] = [round(x, 2) for x in os.getloadavg()]
    meta_path.write_text(json.dumps(meta, indent=2, default=str))
    present = [t for t in TASKS if (out / f"{t}.csv").exists()]
    return write_report(out, present, figures=cfg.plots)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["corpus"]:
        from .suite.corpus import main as corpus_main

        return corpus_main(argv[1:])
    if argv[:1] == ["merge"]:
        return merge_main(argv[1:])
    args = build_parser().parse_args(argv)
    if args.command == "report":
        return _report(args)
    if args.threads < 0:
        print(f"error: --threads must be >= 0; got {args.threads}", file=sys.stderr)
        return 2
    from .suite.threads import limited_threads

    # before NumPy, Numba, OpenCV and torch are loaded, so the environment variables count too
    with limited_threads(args.threads):
        return _main(args, argv)


def merge(into: Path, sources: list[Path], *, ignore_options: bool = False) -> dict[str, int]:
    """Add the rows of other output folders (runs made in separate processes, e.g. a slow peer run
    beside the main run) to ``into``: per task CSV, rows whose (case, method, device, options) are
    not in ``into`` yet; ``firstcall.csv`` likewise per (task, method, device, size); ``meta.json``
    gains the sources' per-task records (``runs`` as "merged from", candidates, cases, threads,
    metrics not available); the sources' saved outputs (``images/``, behind the grids) are copied
    where ``into`` lacks them. Returns the number of rows (images) added per file. The report is
    not rebuilt. With ``ignore_options`` a task row is added only if its (case, method, device)
    is not in ``into`` with any options (rows of an earlier run whose method's option list grew
    since, with the same output).
    """
    from .suite.runner import FIRSTCALL_COLUMNS, columns

    added: dict[str, int] = {}
    into.mkdir(parents=True, exist_ok=True)
    meta_path = into / "meta.json"
    meta: dict[str, Any] = json.loads(meta_path.read_text()) if meta_path.exists() else {}
    for src in sources:
        smeta = json.loads((src / "meta.json").read_text()) if (src / "meta.json").exists() else {}
        task_key = ("case", "method", "device") if ignore_options else ("case", "method", "device", "options")
        files = [(f"{t}.csv", columns(t), task_key) for t in TASKS if t != "kernels"]
        files.append(("firstcall.csv", FIRSTCALL_COLUMNS, ("task", "method", "device", "size")))
        from .suite.kernels import KERNEL_COLUMNS

        files.append(("kernels.csv", KERNEL_COLUMNS, ("module", "family", "kernel", "device", "size")))
        for name, cols, key in files:
            if not (src / name).exists():
                continue
            with open(src / name, newline="") as fh:
                new = list(csv.DictReader(fh))
            old: list[dict[str, str]] = []
            if (into / name).exists():
                with open(into / name, newline="") as fh:
                    old = list(csv.DictReader(fh))
            seen = {tuple(r.get(k, "") for k in key) for r in old}
            fresh = [r for r in new if tuple(r.get(k, "") for k in key) not in seen]
            with open(into / name, "w", newline="") as fh:
                w = csv.DictWriter(fh, fieldnames=cols, extrasaction="ignore")
                w.writeheader()
                w.writerows(old + fresh)
            added[f"{src.name}/{name}"] = len(fresh)
        n_img = 0
        for f in sorted((src / "images").rglob("*.png")) if (src / "images").is_dir() else ():
            dest = into / f.relative_to(src)  # the outputs behind the grids: add the missing ones
            if not dest.exists():
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(f, dest)
                n_img += 1
        if n_img:
            added[f"{src.name}/images"] = n_img
        for k, v in smeta.items():
            if k == "runs":
                for task, rec in v.items():
                    if task in meta.get("runs", {}):
                        meta["runs"][task].setdefault("merged", []).append(dict(rec, source=str(src)))
                    else:
                        meta.setdefault("runs", {})[task] = dict(rec, source=str(src))
            elif k == "kernel_modules" and isinstance(v, list):
                meta[k] = [*meta.get(k, []), *(m for m in v if m not in meta.get(k, []))]
            elif k in ("candidates", "cases", "threads", "metrics_na") and isinstance(v, dict):
                for task, tv in v.items():
                    mine = meta.setdefault(k, {}).get(task)
                    if mine is None:
                        meta[k][task] = tv
                    elif k == "candidates":
                        names = {c["name"] for c in mine}
                        mine += [c for c in tv if c["name"] not in names]
                    elif k == "cases":
                        mine += [c for c in tv if c not in mine]
            elif k not in meta:
                meta[k] = v
    meta_path.write_text(json.dumps(meta, indent=2, default=str))
    return added


def merge_main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks merge",
                                 description="Add the rows of other output folders to --out, then "
                                             "rebuild its report.")
    ap.add_argument("--out", type=Path, required=True, help="the folder that receives the rows")
    ap.add_argument("sources", type=Path, nargs="+", help="output folders of other runs")
    ap.add_argument("--readme", type=Path, help="also regenerate this README's generated block")
    ap.add_argument("--ignore-options", action="store_true",
                    help="skip a source row when --out has its case, method and device with any "
                         "options (e.g. an earlier run's rows, made when the method had fewer options)")
    args = ap.parse_args(argv)
    missing = [str(s) for s in args.sources
               if not any((s / f).exists() for f in ("meta.json", *(f"{t}.csv" for t in TASKS)))]
    if missing:
        print(f"error: not a benchmark output folder (no meta.json, no task CSV): {', '.join(missing)}",
              file=sys.stderr)
        return 2
    with _OutLock(args.out):
        for k, n in merge(args.out, args.sources, ignore_options=args.ignore_options).items():
            print(f"{k}: {n} rows added")
    return _report(argparse.Namespace(out=args.out, quick=False, readme=args.readme))


def _report(args: argparse.Namespace) -> int:
    from .suite.report import update_readme, write_report

    out = args.out or HERE / "results" / ("quick" if args.quick else "full")
    present = [t for t in TASKS if (out / f"{t}.csv").exists()]
    if not present:
        print(f"error: no benchmark CSV in {out}", file=sys.stderr)
        return 2
    print(write_report(out, present))
    if args.readme is not None:
        print(update_readme(args.readme, out))
    return 0


def _main(args: argparse.Namespace, argv: list[str]) -> int:
    from .suite.candidates import parse_option_overrides
    from .suite.runner import Config

    tasks = list(TASKS) if args.command == "all" else [args.command]
    try:
        overrides = parse_option_overrides(args.option)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.methods:
        why = _check_methods(args.methods, tasks)
        if why:
            print(f"error: {why}", file=sys.stderr)
            return 2
    cfg = Config(
        out=args.out or HERE / "results" / ("quick" if args.quick else "full"),
        quick=args.quick, split=args.split, threads=args.threads or None,
        sizes=tuple(args.sizes) if args.sizes else None,
        images=tuple(args.images) if args.images else None,
        variants=tuple(args.variants) if args.variants else None,
        methods=tuple(args.methods) if args.methods else None, devices=tuple(args.device),
        repeats=args.repeats, budget_s=args.budget, max_row_s=args.max_row_s, resume=args.resume,
        firstcall=args.firstcall, metrics=args.metrics, peers=args.peers, progress=args.progress,
        option_overrides=overrides, option_args=tuple(args.option),
        cases=tuple(args.cases) if args.cases else None, warmup=args.warmup,
    )
    if cfg.cases:  # every id must name a case of one of the tasks
        from .suite.cases import build_cases
        from .suite.runner import select_cases

        every = [c for t in tasks if t != "kernels" for c in build_cases(
            t, quick=cfg.quick, images=cfg.for_task(t)[0], variants=cfg.for_task(t)[1],
            sizes=cfg.sizes, split=cfg.split)]
        try:
            select_cases(every, cfg.cases, strict=True)
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    if args.list:
        _list(tasks, cfg)
        return 0
    import signal

    def _term(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, _term)
    try:
        summary = run(tasks, cfg, ["benchmarks", *argv])
    except OutputBusyError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"interrupted: the rows written so far, meta.json and the report are in {cfg.out} "
              "(rerun with --resume to continue)", file=sys.stderr)
        return 130
    finally:
        signal.signal(signal.SIGTERM, previous)
    failed = 0
    for t in tasks:
        p = cfg.out / f"{t}.csv"
        if t != "kernels" and p.exists():
            with open(p, newline="") as fh:
                failed += sum(r["status"] == "error" for r in csv.DictReader(fh))
    print(f"wrote {summary}" + (f" ({failed} failed rows: see 'Skipped and failed rows')" if failed else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
