"""The benchmark suite (``python -m benchmarks``): a tiny quick run of every task end to end,
resume, skip/error reporting, peers, the kernels hook and the command line.

Style and analogies run the first registered method of their task (whatever exists when the
tests run) next to a stand-in callable given through the suite's documented hook
(``Candidate.from_callable``), so their reports are exercised even before any such method is
registered; the tests assert on the methods that exist.
"""

from __future__ import annotations

import csv
import json
import math
import re
from pathlib import Path

import numpy as np
import pytest

import imgkit
from benchmarks.__main__ import main as bench_main
from benchmarks.__main__ import run as bench_run
from benchmarks.suite.candidates import Candidate, build_candidates
from benchmarks.suite.cases import DEFAULTS, FILTERS, apply_filter, build_cases
from benchmarks.suite.kernels import KERNEL_COLUMNS
from benchmarks.suite.runner import FIRSTCALL_COLUMNS, Config, columns

SIZE = 48


# --- stand-ins (real little methods, used through the documented hook) -----------------------


def colour_transfer(content, style, *, seed):
    """Match the content's per-channel mean and spread to the style's (a minimal style method)."""
    c, s = content.astype(np.float64), style.astype(np.float64)
    out = (c - c.mean((0, 1))) / (c.std((0, 1)) + 1e-6) * s.std((0, 1)) + s.mean((0, 1))
    return np.clip(out, 0, 1).astype(np.float32)


def linear_analogy(a, a_prime, b, *, seed):
    """Least-squares 5×5 linear filter per channel fitted on A → A′ and applied to B."""
    r = 2

    def patches(img):
        p = np.pad(img, r, mode="reflect")
        h, w = img.shape
        cols = [p[i:i + h, j:j + w].ravel() for i in range(2 * r + 1) for j in range(2 * r + 1)]
        return np.stack([*cols, np.ones(h * w)], 1)

    out = np.empty_like(b)
    for ch in range(3):
        w, *_ = np.linalg.lstsq(patches(a[:, :, ch]), a_prime[:, :, ch].ravel(), rcond=None)
        out[:, :, ch] = (patches(b[:, :, ch]) @ w).reshape(b.shape[:2])
    return np.clip(out, 0, 1)


def _first_registered(task: str) -> list[str]:
    names = [m.name for m in imgkit.list_methods(task)]
    return names[:1]


class FakeSpeedModule:
    """A kernel speed module as ``benchmarks/speed/speed_<family>.py`` files expose it."""

    __name__ = "benchmarks.speed_fake"

    @staticmethod
    def kernel_rows(quick):
        import time

        x = np.random.default_rng(0).random((64, 64))
        rows = []
        for dev, fn in (("numpy", lambda: np.sort(x, axis=None)), ("cpu", lambda: x.sum())):
            t = []
            for _ in range(3):
                t0 = time.perf_counter()
                fn()
                t.append(time.perf_counter() - t0)
            med = float(np.median(t))
            rows.append({"family": "fake", "kernel": "demo", "device": dev, "size": "64x64",
                         "median_s": med, "throughput": 4096 / med, "unit": "px/s",
                         "notes": "test module"})
        rows.append({"family": "fake", "kernel": "demo", "device": "cuda", "size": "64x64",
                     "median_s": None, "throughput": None, "unit": "px/s",
                     "notes": "skipped: no CUDA GPU here"})
        return rows


# --- helpers ------------------------------------------------------------------------------


def _csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with open(path, newline="") as fh:
        r = csv.DictReader(fh)
        return list(r.fieldnames or []), list(r)


def _check_markdown_tables(text: str) -> int:
    """Every Markdown table has a header, a separator and rows of the same width."""
    n_tables = 0
    blocks = re.split(r"\n(?!\|)", text)
    for block in blocks:
        lines = [ln for ln in block.splitlines() if ln.startswith("|")]
        if not lines:
            continue
        n_tables += 1
        width = lines[0].count(" | ") + 1
        assert re.fullmatch(r"\|(---\|)+", lines[1]), lines[1]
        assert lines[1].count("---") == width
        for ln in lines[2:]:
            cells = re.split(r"(?<!\\)\|", ln)[1:-1]
            assert len(cells) == width, (ln, width)
    return n_tables


def _check_png(path: Path) -> None:
    from PIL import Image

    with Image.open(path) as im:
        im.verify()
    with Image.open(path) as im:
        assert im.size[0] > 20 and im.size[1] > 20
        arr = np.asarray(im.convert("RGB"))
    assert arr.std() > 0, f"{path} is blank"


# --- the quick suite end to end ------------------------------------------------------------


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    style_methods = _first_registered("stylize")
    analogy_methods = _first_registered("analogy")
    inpaint_cfg = Config(
        out=out, quick=True, sizes=(SIZE,), images={"inpaint": ("astronaut",)},
        variants={"inpaint": ("box",)}, methods=("telea", "biharmonic"), repeats=2, budget_s=0.2,
        peers=False, references=False, progress=False,
    )
    bench_run(["inpaint"], inpaint_cfg, ["benchmarks", "inpaint", "(test)"])
    extra = [
        Candidate.from_callable("colour_transfer", "style", colour_transfer),
        Candidate.from_callable("linear_analogy", "analogy", linear_analogy),
    ]
    cfg = Config(
        out=out, quick=True, sizes=(SIZE,),
        images={"style": ("astronaut",), "analogy": ("chelsea",)},
        variants={"style": ("immunohistochemistry",), "analogy": ("blur",)},
        methods=("colour_transfer", "linear_analogy", "identity", *style_methods, *analogy_methods),
        repeats=2, budget_s=0.2, firstcall=False, progress=False, extra=extra,
        kernel_modules=[FakeSpeedModule],
    )
    bench_run(["style", "analogy", "kernels"], cfg, ["benchmarks", "style analogy kernels", "(test)"])
    return out, {"style": style_methods, "analogy": analogy_methods}


def test_quick_suite_writes_every_file(quick_run):
    out, _ = quick_run
    expected = [
        "inpaint.csv", "style.csv", "analogy.csv", "kernels.csv", "firstcall.csv", "summary.md",
        "meta.json", "plots/inpaint_quality_vs_time.png", "plots/inpaint_time_vs_size.png",
        "plots/style_quality_vs_time.png", "plots/style_time_vs_size.png", "plots/style_tradeoff.png",
        "plots/analogy_quality_vs_time.png", "plots/analogy_time_vs_size.png",
        "plots/kernels_time.png", "grids/inpaint_box.png", "grids/style.png", "grids/analogy.png",
    ]
    for name in expected:
        assert (out / name).is_file(), name
    for png in [*out.glob("plots/*.png"), *out.glob("grids/*.png")]:
        _check_png(png)


def test_inpaint_rows_and_metrics(quick_run):
    out, _ = quick_run
    cols, rows = _csv(out / "inpaint.csv")
    assert cols == columns("inpaint")
    assert sorted(r["method"] for r in rows) == ["biharmonic", "telea"]  # one case × two methods
    for r in rows:
        assert r["status"] == "ok", r["reason"]
        assert r["case"] == f"astronaut-box-{SIZE}" and r["size"] == str(SIZE)
        assert 0.08 < float(r["hole_frac"]) < 0.16
        assert float(r["wall_median_s"]) > 0 and int(r["n_runs"]) >= 1
        assert float(r["wall_min_s"]) <= float(r["wall_median_s"]) <= float(r["wall_max_s"])
        # the metrics are those of the method's output on this case (recomputed here)
        case = build_cases("inpaint", quick=True, images=("astronaut",), variants=("box",),
                           sizes=(SIZE,))[0]
        arr = case.arrays()
        ref = imgkit.inpaint(arr["image"], arr["mask"], method=r["method"], seed=case.seed)
        assert float(r["psnr_hole"]) == pytest.approx(imgkit.metrics.psnr(ref, arr["truth"], arr["mask"]),
                                                      abs=1e-3)
        assert float(r["psnr"]) == pytest.approx(imgkit.metrics.psnr(ref, arr["truth"]), abs=1e-3)
        assert float(r["ssim"]) == pytest.approx(imgkit.metrics.ssim(ref, arr["truth"]), abs=1e-4)
        assert float(r["psnr_hole"]) < float(r["psnr"])
        assert r["commit"] is not None and r["machine"] and json.loads(r["versions"])["numpy"]
        assert float(r["lpips_vgg"]) == pytest.approx(
            imgkit.metrics.lpips(ref, arr["truth"], net="vgg"), abs=1e-4)
    _, fc = _csv(out / "firstcall.csv")
    assert sorted(r["method"] for r in fc) == ["biharmonic", "telea"]
    for r in fc:
        assert r["status"] == "ok", r["reason"]
        assert float(r["first_call_s"]) > 0 and float(r["peak_rss_mb"]) > 10
        assert float(r["tracemalloc_peak_mb"]) >= 0 and float(r["import_s"]) > 0
    assert _csv(out / "firstcall.csv")[0] == FIRSTCALL_COLUMNS


def test_style_and_analogy_rows(quick_run):
    out, registered = quick_run
    for task, standin in (("style", "colour_transfer"), ("analogy", "linear_analogy")):
        cols, rows = _csv(out / f"{task}.csv")
        assert cols == columns(task)
        by = {r["method"]: r for r in rows}
        assert set(by) == {standin, "identity", *registered[task]}
        assert by[standin]["kind"] == "stand-in" and by["identity"]["kind"] == "reference"
        for name in registered[task]:  # whatever is registered now runs (or says it needs weights)
            r = by[name]
            assert r["kind"] == "method"
            assert r["status"] == "ok" or (r["status"] == "skipped" and "cannot run here" in r["reason"]), r
            if r["status"] == "ok":
                assert float(r["wall_median_s"]) > 0
        assert by[standin]["status"] == "ok"
    _, rows = _csv(out / "analogy.csv")
    by = {r["method"]: r for r in rows}
    # the learned linear filter reproduces a blur far better than returning B unchanged
    assert float(by["linear_analogy"]["psnr"]) > float(by["identity"]["psnr"]) + 3
    _, rows = _csv(out / "style.csv")
    has = {c: hasattr(imgkit.metrics, f) for c, f in
           (("gram_distance", "gram_distance"), ("content_distance", "content_distance"),
            ("lpips_content", "lpips"))}
    for r in rows:
        for col, present in has.items():
            assert (r[col] != "") == present, (col, r[col])
            if present:
                assert math.isfinite(float(r[col]))


def test_summary_markdown(quick_run):
    out, registered = quick_run
    text = (out / "summary.md").read_text()
    assert _check_markdown_tables(text) >= 8
    for heading in ("## Inpainting", "## Style transfer", "## Image analogies", "## Kernels",
                    "### What ran", "### Warm wall time (s) by image size", "### Wins and losses",
                    "### First call and memory"):
        assert heading in text, heading
    assert "| telea |" in text and "| biharmonic |" in text
    assert "colour_transfer (stand-in)" in text and "identity (reference)" in text
    for name in registered["style"] + registered["analogy"]:
        assert f"| {name} |" in text
    # a missing metric is reported n/a with a reason, never silently dropped
    for fname, col in (("lpips", "lpips_vgg"), ("gram_distance", "gram_distance")):
        if not hasattr(imgkit.metrics, fname):
            assert f"`{col}`: n/a (imgkit.metrics has no {fname}()" in text
    assert "vs reference" in text and "fake" in text
    for link in re.findall(r"\]\(((?:plots|grids)/[^)]+)\)", text):
        assert (out / link).is_file(), link


def test_meta_and_kernels(quick_run):
    out, _ = quick_run
    meta = json.loads((out / "meta.json").read_text())
    for key in ("timestamp", "finished", "cpu_model", "logical_cores", "usable_cores", "python",
                "versions", "git_commit", "settings", "candidates", "metrics_na", "cases",
                "load_avg_1_5_15", "numba_threads", "method_notes", "kernel_modules"):
        assert key in meta, key
    assert meta["versions"]["numpy"] == np.__version__
    assert set(meta["candidates"]) == {"inpaint", "style", "analogy"}
    cols, rows = _csv(out / "kernels.csv")
    assert cols == KERNEL_COLUMNS
    assert {r["device"] for r in rows} == {"numpy", "cpu", "cuda"}
    cpu = next(r for r in rows if r["device"] == "cpu")
    assert cpu["status"] == "ok" and float(cpu["vs_reference"]) > 0
    cuda = next(r for r in rows if r["device"] == "cuda")
    assert cuda["status"] == "skipped" and "no CUDA GPU" in cuda["reason"]


# --- resume, skips and errors -----------------------------------------------------------------


def test_resume_runs_only_missing_rows(tmp_path):
    calls = []

    def counted(image, mask, *, seed):
        calls.append(seed)
        out = image.copy()
        out[mask] = image[~mask].mean(0)
        return out

    def cfg(resume):
        return Config(out=tmp_path, quick=True, sizes=(32,), images=("astronaut",),
                      variants=("box", "blobs"), methods=("counted",), repeats=1, budget_s=0.0,
                      peers=False, references=False, firstcall=False, progress=False, plots=False,
                      resume=resume, extra=[Candidate.from_callable("counted", "inpaint", counted)])

    bench_run(["inpaint"], cfg(False), ["benchmarks"])
    assert len(calls) == 3  # warm-up + one timed call per case
    _, rows = _csv(tmp_path / "inpaint.csv")
    assert len(rows) == 2
    bench_run(["inpaint"], cfg(True), ["benchmarks"])
    assert len(calls) == 3, "resume re-ran finished rows"
    _, rows2 = _csv(tmp_path / "inpaint.csv")
    assert rows2 == rows
    # drop one row: resume redoes exactly that one
    cols, _ = _csv(tmp_path / "inpaint.csv")
    with open(tmp_path / "inpaint.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=cols)
        w.writeheader()
        w.writerow(rows[0])
    bench_run(["inpaint"], cfg(True), ["benchmarks"])
    assert len(calls) == 5
    _, rows3 = _csv(tmp_path / "inpaint.csv")
    assert sorted(r["case"] for r in rows3) == sorted(r["case"] for r in rows)
    bench_run(["inpaint"], cfg(False), ["benchmarks"])  # without --resume: everything again
    assert len(calls) == 8


def test_second_writer_is_refused(tmp_path, capsys):
    import os

    (tmp_path / ".lock").write_text(str(os.getpid()))  # a live process holds the folder
    assert bench_main(["analogy", "--quick", "--out", str(tmp_path), "--no-progress"]) == 2
    assert "another benchmark run" in capsys.readouterr().err
    (tmp_path / ".lock").write_text("999999999")  # stale lock of a dead run: taken over
    assert bench_main(["analogy", "--quick", "--sizes", "32", "--out", str(tmp_path), "--no-progress",
                       "--no-firstcall"]) == 0
    assert not (tmp_path / ".lock").exists() and (tmp_path / "analogy.csv").exists()


def test_skips_and_errors_are_reported(tmp_path, monkeypatch):
    def needs_weights(image, mask, *, seed):
        raise imgkit.WeightsNotFoundError("no checkpoint: pass weights=PATH")

    def broken(image, mask, *, seed):
        raise RuntimeError("boom")

    monkeypatch.delattr(imgkit.metrics, "ssim")
    from imgkit import device as imgkit_device

    # the machine record asks about GPUs when cuda is requested; skip importing torch for that
    monkeypatch.setattr(imgkit_device, "gpu_status", lambda backend: (False, "no GPU (test)"))
    cfg = Config(out=tmp_path, quick=True, sizes=(32,), images=("brick",), variants=("box", "strokes"),
                 methods=("telea", "needs_weights", "broken"), devices=("cpu", "cuda"), repeats=1,
                 budget_s=0.0, peers=False, references=False, firstcall=False, progress=False,
                 plots=False, extra=[Candidate.from_callable("needs_weights", "inpaint", needs_weights),
                        Candidate.from_callable("broken", "inpaint", broken)])
    bench_run(["inpaint"], cfg, ["benchmarks"])
    _, rows = _csv(tmp_path / "inpaint.csv")
    assert len(rows) == 2 * 3 * 2  # nothing dropped: cases × candidates × devices
    st = {(r["method"], r["device"], r["case"]): r for r in rows}
    for case in ("brick-box-32", "brick-strokes-32"):
        assert st[("telea", "cpu", case)]["status"] == "ok"
        assert st[("telea", "cpu", case)]["ssim"] == ""
        assert st[("needs_weights", "cpu", case)]["status"] == "skipped"
        assert "WeightsNotFoundError" in st[("needs_weights", "cpu", case)]["reason"]
        assert st[("broken", "cpu", case)]["status"] == "error"
        assert "RuntimeError: boom" in st[("broken", "cpu", case)]["reason"]
        for m in ("telea", "needs_weights", "broken"):
            r = st[(m, "cuda", case)]
            assert r["status"] == "skipped" and "cuda" in r["reason"], r
    text = (tmp_path / "summary.md").read_text()
    assert "**needs_weights@cpu (stand-in)** — skipped on 2 case(s)" in text
    assert "**broken@cpu (stand-in)** — error on 2 case(s): RuntimeError: boom" in text
    assert "`ssim`: n/a (imgkit.metrics has no ssim() in this build)" in text


def test_too_slow_rows_are_skipped_with_estimate(tmp_path):
    import time

    def slow(image, mask, *, seed):
        time.sleep(0.02 * (image.shape[0] / 32) ** 2)
        return image

    cfg = Config(out=tmp_path, quick=True, sizes=(32, 128), images=("grass",), variants=("blobs",),
                 methods=("slow",), repeats=1, budget_s=0.0, max_row_s=0.1, peers=False,
                 references=False, firstcall=False, progress=False, plots=False,
                 extra=[Candidate.from_callable("slow", "inpaint", slow)])
    bench_run(["inpaint"], cfg, ["benchmarks"])
    _, rows = _csv(tmp_path / "inpaint.csv")
    by = {r["size"]: r for r in rows}
    assert by["32"]["status"] == "ok"
    assert by["128"]["status"] == "skipped" and "--max-row-s" in by["128"]["reason"]


# --- peers, cases, command line ----------------------------------------------------------------


PEERS = ("pypatchmatch", "pypatchmatch_r3", "pypatchmatch_r7", "resynthesizer")


def test_peer_rows_run_or_say_why(monkeypatch):
    cands = build_candidates("inpaint", quick=True, names=PEERS)
    assert [c.name for c in cands] == list(PEERS)
    case = build_cases("inpaint", quick=True, images=("gravel",), variants=("blobs",), sizes=(48,))[0]
    arrays = case.arrays()
    mask = arrays["mask"]
    for c in cands:
        assert c.kind == "peer"
        if c.unavailable:
            assert c.unavailable.startswith("not installed")
            continue
        out, dev = c.run(arrays, case.seed, "cpu")
        assert out.shape == arrays["image"].shape and out.dtype == np.float32 and dev == "cpu"
        np.testing.assert_array_equal(out[~mask], arrays["image"][~mask])
        assert np.isfinite(out).all() and 0 <= out.min() and out.max() <= 1
        assert imgkit.metrics.psnr(out, arrays["truth"], mask) > 10
    # without the packages the hook reports the reason instead of failing
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name in ("patchmatch", "resynthesizer") else real(name, *a))
    for c in build_candidates("inpaint", quick=True, names=PEERS):
        assert c.unavailable and "not installed" in c.unavailable and "peers" in c.unavailable


def test_cases_are_reproducible():
    a = build_cases("inpaint", quick=False, sizes=(64,))
    b = build_cases("inpaint", quick=False, sizes=(64,))
    assert [c.id for c in a] == [c.id for c in b]
    assert len(a) == len(DEFAULTS["inpaint"]["full"]["images"]) * 4
    for ca, cb in zip(a[:8], b[:8]):
        np.testing.assert_array_equal(ca.arrays()["mask"], cb.arrays()["mask"])
    fracs = {c.variant: float(c.arrays()["mask"].mean()) for c in a if c.image == "astronaut"}
    assert 0.10 < fracs["box"] < 0.14 and 0.05 < fracs["blobs"] < 0.11
    an = build_cases("analogy", quick=True, sizes=(32,))
    assert {c.variant for c in an} == set(FILTERS)
    for c in an:
        arr = c.arrays()
        np.testing.assert_array_equal(arr["truth"], apply_filter(c.variant, arr["b"]))
        assert not np.allclose(arr["truth"], arr["b"], atol=0.01)
    st = build_cases("style", quick=True, sizes=(32,))
    assert all(c.arrays()["style"].shape == (32, 32, 3) for c in st)


def test_option_overrides_are_validated_and_stated():
    from benchmarks.suite.candidates import parse_option_overrides

    assert parse_option_overrides(["telea.radius=5"]) == {"telea": {"radius": "5"}}
    (c,) = build_candidates("inpaint", quick=True, names=["telea"],
                            option_overrides={"telea": {"radius": "5"}})
    assert c.options["radius"] == 5.0 and c.overrides == {"radius": (5.0, 3.0)}
    (c,) = build_candidates("inpaint", quick=True, names=["telea"],
                            option_overrides={"telea": {"radius": "1000"}})
    assert c.unavailable and "bad benchmark option" in c.unavailable
    with pytest.raises(ValueError, match="METHOD.NAME=VALUE"):
        parse_option_overrides(["radius=5"])


def test_cli_list_and_errors(tmp_path, capsys):
    assert bench_main(["inpaint", "--quick", "--list"]) == 0
    listed = capsys.readouterr().out
    for m in imgkit.list_methods("inpaint"):
        assert m.name in listed
    assert bench_main(["inpaint", "--methods", "nosuch", "--out", str(tmp_path)]) == 2
    assert "unknown method(s) 'nosuch'" in capsys.readouterr().err
    assert bench_main(["inpaint", "--option", "oops", "--out", str(tmp_path)]) == 2
    assert bench_main(["report", "--out", str(tmp_path)]) == 2
    with pytest.raises(SystemExit):
        bench_main(["nosuchtask"])


# --- the shared pieces of the speed scripts ---------------------------------------------------


def test_speed_main_writes_results_and_passes_options(tmp_path, capsys):
    from benchmarks.speed._harness import median_runs, speed_main, speed_parser

    runs = median_runs(lambda: sum(range(1000)), 3, warmup=True)
    assert len(runs.wall) == len(runs.cpu) == 3 and runs.min_s <= runs.median_s <= runs.max_s
    seen = {}

    def kernel_rows(quick, scale=1):
        seen.update(quick=quick, scale=scale)
        rows = FakeSpeedModule.kernel_rows(quick)
        rows[0]["notes"] = "a | b"  # a pipe in a cell must not split the table
        return rows

    ap = speed_parser("speed_fake", "Fake speed.\n\nMore.", "tiny")
    ap.add_argument("--scale", type=int, default=1)
    rows = speed_main(kernel_rows, "speed_fake", "Fake speed", ["--quick", "--scale", "3", "--out",
                      str(tmp_path)], parser=ap, suffix=lambda a: "_quick" if a.quick else "")
    assert seen == {"quick": True, "scale": 3}
    text = (tmp_path / "speed_fake_quick.md").read_text()
    assert text.startswith("# Fake speed\n") and "python -m benchmarks.speed_fake --quick --scale 3" in text
    assert _check_markdown_tables(text) == 1 and text in capsys.readouterr().out
    assert text.count("\n| ") == 1 + len(rows)
    saved = json.loads((tmp_path / "speed_fake_quick.json").read_text())
    assert saved["rows"] == rows
    for key in ("command", "cpu_model", "versions", "git_commit", "load_avg_before", "load_avg_after"):
        assert key in saved["meta"], key


# --- the hole region scored by lpips_hole (imgkit.metrics.hole_box) ---------------------------


def test_hole_box_grows_the_hole_and_stays_inside():
    from imgkit.metrics import hole_box

    mask = np.zeros((100, 60), bool)
    mask[40:50, 20:24] = True
    rows, cols = hole_box(mask)
    assert (rows.start, rows.stop) == (29, 61)  # 10 px + 2x8 = 26 -> 32, centred
    assert (cols.start, cols.stop) == (6, 38)   # 4 px + 16 = 20 -> 32, centred
    corner = np.zeros((100, 60), bool)
    corner[95:, 55:] = True
    rows, cols = hole_box(corner, margin=8, min_side=32)
    assert (rows.start, rows.stop) == (68, 100) and (cols.start, cols.stop) == (28, 60)  # shifted in
    rows, cols = hole_box(np.ones((20, 20), bool))
    assert (rows.start, rows.stop, cols.start, cols.stop) == (0, 20, 0, 20)  # never past the image
    with pytest.raises(ValueError, match="no hole pixel"):
        hole_box(np.zeros((8, 8), bool))


# --- the DIP tuning study (benchmarks/studies/tune_dip.py) ---------------------------------------------


def test_tune_dip_report(tmp_path, capsys):
    pytest.importorskip("torch")
    from benchmarks.studies import tune_dip

    cache = tmp_path / "cache"
    argv = ["--size", "48", "--photos", "astronaut", "--configs", "base", "avg", "--iterations", "3",
            "--threads", "1", "--cache", str(cache), "--out", str(tmp_path)]
    assert tune_dip.main(argv) == 0
    text = (tmp_path / "tune_dip_48.md").read_text()
    assert _check_markdown_tables(text) == 3
    for row in ("| biharmonic |", "| fsr_fast |",
                "| base | `{'average': 0.0, 'skip_channels': 4, 'iterations': 3}` |",
                "| avg | `{'average': 0.99, 'skip_channels': 4, 'iterations': 3}` |", "| astronaut |"):
        assert row in text, row
    kept = sorted(p.name for p in cache.iterdir())
    assert kept == ["48_astronaut_avg_it3.npy", "48_astronaut_avg_it3.seconds", "48_astronaut_base_it3.npy",
                    "48_astronaut_base_it3.seconds"]
    # a second run reuses the kept fills and reports the same scores
    capsys.readouterr()
    assert tune_dip.main(argv) == 0
    assert "cached" in capsys.readouterr().out
    again = (tmp_path / "tune_dip_48.md").read_text()
    assert again.split("## DIP configurations")[1].split("## Per photo")[0].count("(cached)") == 2
    assert "DIP seconds measured with: 1 torch threads, load" in again
    assert tune_dip.main([*argv, "--report", "other.md"]) == 0 and (tmp_path / "other.md").exists()
    with pytest.raises(SystemExit):
        tune_dip.main(["--configs", "nope"])
