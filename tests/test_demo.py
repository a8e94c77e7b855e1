"""The README's demo command runs and writes what it promises (tiny size, two methods)."""

import importlib.util
from pathlib import Path

import imgkit

DEMO = Path(__file__).resolve().parents[1] / "examples" / "demo.py"


def _demo():
    spec = importlib.util.spec_from_file_location("imgkit_demo", DEMO)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_demo_writes_results_and_comparison(tmp_path):
    out = tmp_path / "demo"
    assert _demo().main(["--out", str(out), "--size", "40", "--methods", "telea", "ns"]) == 0
    grid = imgkit.load_image(out / "comparison.png")
    n_cases = len(_demo().CASES)
    assert grid.shape[0] == n_cases * (40 + 18) and grid.shape[1] == 4 * 40  # input, 2 methods, truth
    assert (out / "astronaut_strokes_telea.png").exists()
    text = (out / "scores.md").read_text()
    assert text.count("| telea |") == n_cases + 1  # one row per case + its first-call row
    assert "first call" in text


def test_demo_seconds_exclude_the_first_call(tmp_path, monkeypatch):
    """A method whose first call costs 1 s (as a JIT compile does) shows warm seconds per case."""
    import re
    import time

    mod = _demo()
    seen = set()
    real = imgkit.inpaint

    def slow_first(img, hole, method, **kw):
        if method not in seen:
            seen.add(method)
            time.sleep(1.0)
        return real(img, hole, method=method, **kw)

    monkeypatch.setattr(mod.imgkit, "inpaint", slow_first)
    out = tmp_path / "demo"
    assert mod.main(["--out", str(out), "--size", "32", "--methods", "telea"]) == 0
    text = (out / "scores.md").read_text()
    main_table = text.split("First call")[0]
    seconds = [float(m) for m in re.findall(r"\| ([0-9.]+) \|\n", main_table)]
    assert len(seconds) == len(mod.CASES) and max(seconds) < 0.5, main_table
    assert re.search(r"\| telea \| (1\.[0-9]+) \|", text.split("First call")[1])


def test_demo_rejects_unknown_method(tmp_path, capsys):
    assert _demo().main(["--out", str(tmp_path), "--methods", "nope"]) == 2
    assert "unknown" in capsys.readouterr().err
