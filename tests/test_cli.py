"""The imgkit command line: round trip and clean failures."""

import subprocess
import sys

import numpy as np
import pytest

import imgkit
from imgkit.cli import main


@pytest.fixture()
def files(tmp_path, astronaut64, box64):
    img = imgkit.save_image(tmp_path / "in.png", astronaut64)
    m = imgkit.save_image(tmp_path / "mask.png", box64.astype(np.float32))
    return tmp_path, img, m


def test_inpaint_round_trip(files, capsys):
    d, img, m = files
    out = d / "out.png"
    rc = main(["inpaint", str(img), "--mask", str(m), "-o", str(out), "--method", "telea",
               "--radius", "5", "--no-progress"])
    assert rc == 0, capsys.readouterr().err
    res = imgkit.load_image(out)
    src = imgkit.load_image(img)
    mask = imgkit.load_mask(m)
    expect = imgkit.inpaint(src, mask, method="telea", radius=5)
    np.testing.assert_array_equal(res, np.round(expect * 255).astype(np.uint8))
    np.testing.assert_array_equal(res[~mask], src[~mask])


def test_option_equals_syntax(files):
    d, img, m = files
    assert main(["inpaint", str(img), "--mask", str(m), "-o", str(d / "o.png"),
                 "-m", "biharmonic", "--split-into-regions=false"]) == 0


def test_missing_input_file(files, capsys):
    d, _, m = files
    rc = main(["inpaint", str(d / "nope.png"), "--mask", str(m), "-o", str(d / "o.png"),
               "--method", "telea"])
    err = capsys.readouterr().err
    assert rc == 2 and "not found" in err and "nope.png" in err
    assert "Traceback" not in err
    assert not (d / "o.png").exists()


def test_not_an_image_file(files, capsys):
    d, _, m = files
    bad = d / "bad.png"
    bad.write_text("not an image")
    rc = main(["inpaint", str(bad), "--mask", str(m), "-o", str(d / "o.png"), "-m", "telea"])
    assert rc != 0 and "not a readable image" in capsys.readouterr().err
    assert not (d / "o.png").exists()


def test_output_folder_missing(files, capsys):
    d, img, m = files
    rc = main(["inpaint", str(img), "--mask", str(m), "-o", str(d / "x" / "o.png"), "-m", "telea"])
    assert rc == 2 and "does not exist" in capsys.readouterr().err


def test_unknown_option(files, capsys):
    d, img, m = files
    rc = main(["inpaint", str(img), "--mask", str(m), "-o", str(d / "o.png"), "-m", "telea",
               "--radiu", "3"])
    err = capsys.readouterr().err
    assert rc == 2 and "unknown option 'radiu'" in err and "radius" in err
    assert not (d / "o.png").exists()


def test_unknown_method(files, capsys):
    d, img, m = files
    rc = main(["inpaint", str(img), "--mask", str(m), "-o", str(d / "o.png"), "-m", "nope"])
    assert rc == 2 and "available:" in capsys.readouterr().err


def test_mask_size_mismatch(files, capsys):
    d, img, _ = files
    small = imgkit.save_image(d / "small.png", np.zeros((10, 10)))
    rc = main(["inpaint", str(img), "--mask", str(small), "-o", str(d / "o.png"), "-m", "telea"])
    assert rc == 2 and "mask shape (10, 10)" in capsys.readouterr().err
    assert not (d / "o.png").exists()


def test_refuses_to_overwrite(files, capsys):
    _, img, m = files
    before = img.read_bytes()
    rc = main(["inpaint", str(img), "--mask", str(m), "-o", str(img), "-m", "telea"])
    assert rc == 2 and "--overwrite" in capsys.readouterr().err
    assert img.read_bytes() == before
    assert main(["inpaint", str(img), "--mask", str(m), "-o", str(img), "-m", "telea",
                 "--overwrite"]) == 0


def test_methods_table(capsys):
    assert main(["methods"]) == 0
    out = capsys.readouterr().out
    for name in ("telea", "ns", "fsr_fast", "fsr_best", "shiftmap", "biharmonic"):
        assert name in out
    assert main(["methods", "--json", "--task", "inpaint"]) == 0
    import json

    rows = json.loads(capsys.readouterr().out)
    assert {r["task"] for r in rows} == {"inpaint"}


def test_usage_error_is_one_line(capsys):
    rc = main(["inpaint"])
    err = capsys.readouterr().err
    assert rc == 2 and len(err.strip().splitlines()) == 1


def test_console_script_version():
    res = subprocess.run([sys.executable, "-m", "imgkit", "--version"], capture_output=True,
                         text=True)
    assert res.returncode == 0 and res.stdout.strip() == f"imgkit {imgkit.__version__}"
