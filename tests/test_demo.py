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
    assert (out / "scores.md").read_text().count("| telea |") == n_cases


def test_demo_rejects_unknown_method(tmp_path, capsys):
    assert _demo().main(["--out", str(tmp_path), "--methods", "nope"]) == 2
    assert "unknown" in capsys.readouterr().err
