"""``imgkit gallery``: the static comparison page, and the ``app`` / ``gallery`` CLI verbs."""

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from imgkit.app.explain import explain, line_chart_svg
from imgkit.app.gallery import build_gallery
from imgkit.cli import main


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.srcs, self.figures = [], []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "img":
            self.srcs.append(a["src"])
        if tag == "figure":
            self.figures.append(a)


@pytest.mark.usefixtures("one_torch_thread")
def test_gallery_classical_and_deep_on_the_same_inputs(tmp_path):
    pytest.importorskip("torch")
    out = tmp_path / "gallery"
    index = build_gallery(
        out, size=48, photos=("astronaut",), masks=("box",),
        methods=("telea", "criminisi", "dip"), style_methods=("analogy",),
        contents=("chelsea",), styles=("brick",),
        options={"dip": {"iterations": 12, "depth": 2, "channels": 4, "skip_channels": 0},
                 "criminisi": {"patch_size": 5}},
        log=None,
    )
    assert index == out / "index.html"
    page = index.read_text()
    links = _Links()
    links.feed(page)
    # every picture the page shows was written beside it
    assert links.srcs and all((out / s).is_file() for s in links.srcs)
    for name in ("telea", "criminisi", "dip", "analogy"):
        assert f"img/ip-astronaut-box-{name}.png" in page or f"img/st-chelsea-brick-{name}.png" in page
    assert "class='family deep'" in page and "class='family classical'" in page
    # Criminisi's animation and DIP's loss chart are there, with the text and the paper
    anims = [f for f in links.figures if f.get("data-kind") == "animation"]
    assert anims and max(int(f["data-frame-count"]) for f in anims) >= 3
    assert any(s.endswith(".svg") for s in links.srcs)
    assert "Criminisi" in page and "Deep Image Prior" in page and "Image Analogies" in page
    results = json.loads((out / "results.json").read_text())
    rows = {(r["task"], r["method"]): r for r in results["results"]}
    assert set(rows) == {("inpaint", "telea"), ("inpaint", "criminisi"), ("inpaint", "dip"),
                         ("stylize", "analogy")}
    assert all(r["error"] is None for r in rows.values())
    psnr = {m: r["hole_psnr"] for (t, m), r in rows.items() if t == "inpaint"}
    assert all(np.isfinite(v) and v > 5 for v in psnr.values()), psnr
    assert f"hole PSNR {psnr['telea']:.2f} dB" in page
    # the PSNR is the hole's, against the real photo, of the image written
    from imgkit import data, load_image

    truth, hole = data.photo("astronaut", 48), data.mask("box", (48, 48), seed=0)
    got8 = load_image(out / "img/ip-astronaut-box-telea.png")
    assert np.array_equal(got8[~hole], np.round(truth * 255).astype(np.uint8)[~hole])
    mse = np.mean((got8 / 255.0 - truth)[hole] ** 2)
    assert abs(10 * np.log10(1 / mse) - psnr["telea"]) < 0.1
    assert rows[("inpaint", "dip")]["options"]["iterations"] == 12
    # the page is not silently replaced
    with pytest.raises(ValueError, match="already exists; pass --overwrite"):
        build_gallery(out, size=48, photos=("astronaut",), masks=("box",), methods=("telea",),
                      style_methods=(), log=None)


def test_gallery_cli(tmp_path, capsys):
    out = tmp_path / "g"
    rc = main(["gallery", "--out", str(out), "--size", "32", "--photos", "coffee", "--masks", "strokes",
               "--methods", "telea,ns", "--style-methods", "", "--option", "telea.radius=5"])
    assert rc == 0
    assert "wrote" in capsys.readouterr().out
    page = (out / "index.html").read_text()
    assert "img/ip-coffee-strokes-ns.png" in page and "radius=5" in page
    assert not re.search(r"Style transfer", page)
    # bad arguments: one line on stderr, exit status 2, nothing written
    for argv, text in (
        (["--size", "8"], "size must be an integer in [32, 1024]"),
        (["--methods", "teela"], "did you mean 'telea'"),
        (["--option", "telea.radius"], "expected METHOD.OPTION=VALUE"),
        (["--option", "telea.radius=0"], "option 'radius' of method 'telea' must be ≥ 1"),
        (["--photos", "../../etc/passwd"], "unknown sample"),
        (["--masks", "round"], "unknown mask kind"),
        (["--torch-threads", "0"], "--torch-threads must be ≥ 1"),
    ):
        target = tmp_path / "bad"
        rc = main(["gallery", "--out", str(target), "--style-methods", "", *argv])
        err = capsys.readouterr().err
        assert rc == 2 and text in err, (argv, err)
        assert not (target / "index.html").exists()


def test_app_cli_arguments(capsys):
    pytest.importorskip("fastapi")
    assert main(["app", "--port", "70000"]) == 2
    assert "--port must be in [1, 65535]" in capsys.readouterr().err
    assert main(["app", "--bogus"]) == 2
    assert "unrecognized arguments: --bogus" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    assert "app" in text and "gallery" in text


def test_line_chart_and_generic_panel():
    svg = line_chart_svg({"a": [10.0, 1.0, 0.1], "b": [float("nan"), 5.0, -1.0]}, title="t<x>")
    assert svg.startswith("<svg") and "t&lt;x&gt;" in svg and svg.count("<polyline") == 1
    assert svg.count("<circle") == 1     # b keeps one finite positive point on the log axis
    assert "no data" in line_chart_svg({"a": []}, title="empty")
    ex = explain("telea", None, inputs={}, result=np.zeros((4, 4, 3), np.float32), reference="Telea 2004")
    assert ex.figures == [] and "fast marching" in ex.text and ex.paper == "Telea 2004"
    ex = explain("newmethod", None, inputs={}, result=np.zeros((4, 4), np.float32),
                 summary="does a thing", reference="Someone 2030")
    assert ex.text.startswith("Does a thing.") and ex.paper == "Someone 2030"


def test_package_ships_the_static_page():
    import imgkit.app

    static = Path(imgkit.app.__file__).parent / "static"
    assert {"index.html", "app.js", "app.css"} <= {p.name for p in static.iterdir()}
    text = Path(__file__).parents[1].joinpath("pyproject.toml").read_text()
    assert '"imgkit.app" = ["static/*"]' in text
