"""Real files from real users (issue 20): EXIF orientation, metadata, permissions, odd names,
the decoded-pixel limit, float TIFFs, output checks before work, batch folder guards, Ctrl-C,
Numba's cache, progress lines, and the region / mask_dilate / mask_feather options.

Images are tiny crops of scikit-image photos; EXIF blocks are written with Pillow.
"""

import json
import os
import signal
import stat
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

import imgkit
from imgkit import data
from imgkit.cli import main

ROOT = Path(__file__).resolve().parents[1]
LATIN1 = os.fsdecode(b"caf\xe9")  # a Latin-1 name on a UTF-8 system: not valid UTF-8


def _photo(h=48, w=64):
    return np.round(data.photo("astronaut", (h, w)) * 255).astype(np.uint8)


def _exif(orientation=1, make="imgkit-test-camera"):
    ex = Image.Exif()
    ex[0x0112] = orientation
    ex[0x010F] = make                     # Make
    ex[0x0132] = "2024:05:06 07:08:09"    # DateTime
    return ex


_ICC = []


def _icc():
    """An sRGB ICC profile (made once: each profile made carries its creation time)."""
    from PIL import ImageCms

    if not _ICC:
        _ICC.append(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    return _ICC[0]


def _write(path, upright, orientation, fmt="PNG", **kw):
    """Store ``upright`` as a camera would: pixels turned by the inverse of ``orientation``."""
    im = Image.fromarray(upright)
    inverse = {1: None, 2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
               4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE,
               6: Image.Transpose.ROTATE_90, 7: Image.Transpose.TRANSVERSE,
               8: Image.Transpose.ROTATE_270}[orientation]
    stored = im.transpose(inverse) if inverse is not None else im
    stored.save(path, format=fmt, exif=_exif(orientation), **kw)
    return path


def _subprocess_env(**extra):
    env = dict(os.environ)
    env.pop("NUMBA_ENABLE_CUDASIM", None)
    env.update(extra)
    return env


# --------------------------------------------------------------------------------------------
# 1. EXIF orientation, metadata kept
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("orientation", range(1, 9))
def test_orientation_applied_like_a_viewer(tmp_path, orientation):
    up = _photo()
    p = _write(tmp_path / "o.png", up, orientation)
    img, meta = imgkit.load_image(p, with_metadata=True)
    with Image.open(p) as im:
        viewer = np.asarray(ImageOps.exif_transpose(im))
    np.testing.assert_array_equal(img, viewer)
    np.testing.assert_array_equal(img, up)
    assert meta.orientation == orientation and meta.format == "PNG"
    # the EXIF kept for writing says "upright" now, everything else unchanged
    back = Image.Exif()
    back.load(b"Exif\x00\x00" + meta.exif)
    assert back[0x0112] == 1 and back[0x010F] == "imgkit-test-camera"


def _exif_with_thumbnail(orientation=6):
    """A little-endian EXIF block: IFD0 (Make, Orientation) and IFD1 pointing to a thumbnail."""
    thumb = b"\xff\xd8THUMBNAIL-OF-THE-ORIGINAL\xff\xd9"
    make = b"CamX\x00"
    ifd0, strings, ifd1 = 8, 38, 44
    thumb_at = ifd1 + 30
    out = b"II*\x00" + struct.pack("<I", ifd0)
    out += struct.pack("<H", 2)
    out += struct.pack("<HHII", 0x010F, 2, len(make), strings)
    out += struct.pack("<HHIHH", 0x0112, 3, 1, orientation, 0)
    out += struct.pack("<I", ifd1) + make + b"\x00"
    out += struct.pack("<H", 2)
    out += struct.pack("<HHII", 0x0201, 4, 1, thumb_at)
    out += struct.pack("<HHII", 0x0202, 4, 1, len(thumb))
    out += struct.pack("<I", 0) + thumb
    return out


def test_exif_thumbnail_of_the_original_is_dropped(tmp_path):
    """The EXIF thumbnail shows the photo before the edit (and turned the old way): not kept."""
    raw = _exif_with_thumbnail()
    Image.fromarray(_photo(16, 24)).save(tmp_path / "t.jpg", exif=b"Exif\x00\x00" + raw)
    img, meta = imgkit.load_image(tmp_path / "t.jpg", with_metadata=True)
    assert img.shape == (24, 16, 3) and meta.orientation == 6
    assert b"THUMBNAIL" in raw and b"THUMBNAIL" not in meta.exif
    assert meta.exif[34:38] == b"\x00\x00\x00\x00"  # IFD0 has no next IFD
    ex = Image.Exif()
    ex.load(b"Exif\x00\x00" + meta.exif)
    assert ex[0x010F] == "CamX" and ex[0x0112] == 1


def test_cli_phone_jpeg_orientation_6_filled_upright_and_exif_kept(tmp_path, capsys):
    """A portrait phone JPEG stored landscape with Orientation=6, mask drawn on the upright
    picture: before the fix the run failed with 'mask shape (64, 48) does not match (48, 64)'."""
    up = _photo(64, 48)  # portrait as shown
    src = _write(tmp_path / "phone.jpg", up, 6, fmt="JPEG", quality=95, icc_profile=_icc())
    mask = np.zeros((64, 48), np.uint8)
    mask[40:50, 10:20] = 255
    imgkit.save_image(tmp_path / "mask.png", mask)
    out = tmp_path / "out.jpg"
    rc = main(["inpaint", str(src), "--mask", str(tmp_path / "mask.png"), "-o", str(out), "-m",
               "telea", "--no-progress"])
    assert rc == 0, capsys.readouterr().err
    res = imgkit.load_image(out)
    assert res.shape == (64, 48, 3)
    # the fill is where the mask is, on the upright picture: the rest matches the input
    known = imgkit.load_image(src)
    assert np.abs(res[:30].astype(int) - known[:30]).mean() < 3
    with Image.open(out) as im:
        ex = im.getexif()
        assert ex[0x0112] == 1 and ex[0x010F] == "imgkit-test-camera"
        assert ex[0x0132] == "2024:05:06 07:08:09"
        assert im.info.get("icc_profile") == _icc()
        assert im.size == (48, 64)


def test_png_keeps_exif_and_icc_and_16_bits(tmp_path, capsys):
    x = (np.random.default_rng(0).random((20, 24, 3)) * 65535).astype(np.uint16)
    src = tmp_path / "deep.png"
    imgkit.save_image(src, x, bit_depth=16,
                      metadata=imgkit.ImageMetadata(exif=_exif(1).tobytes()[6:], icc_profile=_icc()))
    img, meta = imgkit.load_image(src, with_metadata=True)
    assert meta.bit_depth == 16 and meta.icc_profile == _icc() and meta.exif
    np.testing.assert_array_equal(img, x)
    mask = np.zeros((20, 24), np.uint8)
    mask[5:9, 5:9] = 255
    imgkit.save_image(tmp_path / "m.png", mask)
    assert main(["inpaint", str(src), "--mask", str(tmp_path / "m.png"), "-o", str(tmp_path / "o.png"),
                 "-m", "telea", "--no-progress"]) == 0
    out, meta2 = imgkit.load_image(tmp_path / "o.png", with_metadata=True)
    assert out.dtype == np.uint16 and meta2.icc_profile == _icc()  # the input's bit depth is kept
    with Image.open(tmp_path / "o.png") as im:
        assert im.getexif()[0x010F] == "imgkit-test-camera"
    assert "seed" in capsys.readouterr().out


# --------------------------------------------------------------------------------------------
# 2. permissions
# --------------------------------------------------------------------------------------------


@pytest.fixture()
def umask():
    old = os.umask(0o022)
    yield lambda m: os.umask(m)
    os.umask(old)


@pytest.mark.parametrize("mask_bits, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_new_files_honour_the_umask(tmp_path, umask, mask_bits, mode):
    umask(mask_bits)
    p = imgkit.save_image(tmp_path / "a.png", _photo(8, 8))
    assert stat.S_IMODE(p.stat().st_mode) == mode


def test_overwrite_keeps_the_mode(tmp_path, umask, astronaut64, box64, capsys):
    umask(0o022)
    img = imgkit.save_image(tmp_path / "in.png", astronaut64)
    m = imgkit.save_image(tmp_path / "m.png", box64.astype(np.float32))
    out = imgkit.save_image(tmp_path / "out.png", astronaut64)
    os.chmod(out, 0o640)
    assert main(["inpaint", str(img), "--mask", str(m), "-o", str(out), "-m", "telea", "--overwrite",
                 "--no-progress"]) == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o640


# --------------------------------------------------------------------------------------------
# 4. odd file names
# --------------------------------------------------------------------------------------------


def test_non_utf8_names_round_trip_in_the_cli(tmp_path):
    """Before the fix: rc 139 (segfault in the image writer) and a 0-byte temporary file."""
    d = os.fsencode(tmp_path)
    imgkit.save_image(tmp_path / f"{LATIN1}.png", _photo(32, 32))
    m = np.zeros((32, 32), np.uint8)
    m[10:16, 10:16] = 255
    imgkit.save_image(tmp_path / f"{LATIN1}_mask.png", m)
    out = d + b"/r\xe9sultat.png"
    res = subprocess.run([sys.executable, "-m", "imgkit", "inpaint", d + b"/caf\xe9.png", "--mask",
                          d + b"/caf\xe9_mask.png", "-o", out, "-m", "telea"],
                         capture_output=True, env=_subprocess_env(), timeout=300)
    assert res.returncode == 0, res.stderr.decode(errors="replace")
    assert os.path.exists(out) and imgkit.load_image(os.fsdecode(out)).shape == (32, 32, 3)
    assert b"r\\xe9sultat.png" in res.stdout  # printable
    assert sorted(os.listdir(d)) == sorted([b"caf\xe9.png", b"caf\xe9_mask.png", b"r\xe9sultat.png"])


# --------------------------------------------------------------------------------------------
# 7. the decoded-pixel limit, 8. float TIFFs
# --------------------------------------------------------------------------------------------


def _png_bomb(path, w, h):
    """A valid PNG header declaring w x h grey pixels, with a tiny (incomplete) IDAT."""
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) +
                     chunk(b"IDAT", zlib.compress(b"\x00" * 1000)) + chunk(b"IEND", b""))
    return path


def test_pixel_limit_refuses_before_decoding(tmp_path):
    """Before the fix a 30000 x 30000 PNG drove memory to 5 GB before failing."""
    import resource

    p = _png_bomb(tmp_path / "bomb.png", 30000, 30000)
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    with pytest.raises(imgkit.ImageTooLargeError, match="30000x30000") as e:
        imgkit.load_image(p)
    assert isinstance(e.value, imgkit.ImageFileError) and "max_pixels" in str(e.value)
    assert time.perf_counter() - t0 < 2.0
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0 < 200_000  # KiB: no 900 MB buffer
    small = imgkit.save_image(tmp_path / "s.png", _photo(16, 16))
    with pytest.raises(imgkit.ImageTooLargeError, match="over the limit of 100"):
        imgkit.load_image(small, max_pixels=100)
    assert imgkit.load_image(small, max_pixels=256).shape == (16, 16, 3)
    assert imgkit.load_image(small, max_pixels=0).shape == (16, 16, 3)  # 0: no limit
    with pytest.raises(imgkit.InvalidOptionError, match="max_pixels"):
        imgkit.load_image(small, max_pixels=-1)


def test_pixel_limit_in_the_cli_and_from_the_environment(tmp_path, capsys, monkeypatch):
    import imgkit.io as kio

    p = imgkit.save_image(tmp_path / "s.png", _photo(16, 16))
    imgkit.save_image(tmp_path / "m.png", np.eye(16, dtype=np.uint8) * 255)
    monkeypatch.setattr(kio, "MAX_IMAGE_PIXELS", 100)
    rc = main(["inpaint", str(p), "--mask", str(tmp_path / "m.png"), "-o", str(tmp_path / "o.png"),
               "-m", "telea"])
    assert rc == 2 and "over the limit of 100" in capsys.readouterr().err
    res = subprocess.run([sys.executable, "-c", "import imgkit.io as k; print(k.MAX_IMAGE_PIXELS)"],
                         capture_output=True, text=True, env=_subprocess_env(IMGKIT_MAX_IMAGE_PIXELS="1234"))
    assert res.stdout.strip() == "1234"


def test_float_tiff_outside_0_1_is_refused_not_clipped(tmp_path, capsys):
    import cv2

    x = (np.random.default_rng(0).random((12, 10, 3)) * 255).astype(np.float32)
    assert cv2.imwrite(str(tmp_path / "f255.tif"), x)
    with pytest.raises(imgkit.ImageFileError, match=r"float image with values in \[0\.[0-9]+, 25[0-9.]+\]"):
        imgkit.load_image(tmp_path / "f255.tif")
    assert cv2.imwrite(str(tmp_path / "f1.tif"), x / 255)
    back = imgkit.load_image(tmp_path / "f1.tif")
    assert back.dtype == np.float32
    np.testing.assert_allclose(back, (x / 255)[..., ::-1], atol=1e-6)
    imgkit.save_image(tmp_path / "m.png", np.eye(12, 10, dtype=np.uint8) * 255)
    rc = main(["inpaint", str(tmp_path / "f255.tif"), "--mask", str(tmp_path / "m.png"), "-o",
               str(tmp_path / "o.png"), "-m", "telea"])
    assert rc == 2 and "[0, 1]" in capsys.readouterr().err and not (tmp_path / "o.png").exists()


# --------------------------------------------------------------------------------------------
# 6. output arguments checked before any work; exit codes; smaller CLI items
# --------------------------------------------------------------------------------------------


@pytest.fixture()
def files(tmp_path, astronaut64, box64):
    img = imgkit.save_image(tmp_path / "in.png", astronaut64)
    m = imgkit.save_image(tmp_path / "mask.png", box64.astype(np.float32))
    return tmp_path, img, m


@pytest.mark.parametrize("command", ["inpaint", "stylize"])
@pytest.mark.parametrize("out, extra, why", [
    ("o.xyz", [], "unknown image extension"),
    ("o.jpg", ["--bit-depth", "16"], "bit_depth=16 needs"),
    ("nope/o.png", [], "does not exist"),
    ("in.png", [], "already exists"),
])
def test_output_checked_before_any_work(files, capsys, monkeypatch, command, out, extra, why):
    from imgkit import api

    d, img, m = files

    def no_work(*a, **k):
        raise AssertionError("the method ran before the output was checked")

    monkeypatch.setattr(api, command, no_work)
    monkeypatch.setattr(imgkit.io, "load_image", no_work)
    args = ([command, str(img), "--mask", str(m)] if command == "inpaint" else
            [command, str(img), "--style", str(img)])
    rc = main([*args, "-o", str(d / out), *extra])
    err = capsys.readouterr().err
    assert rc == 2 and why in err and "Traceback" not in err


def test_missing_and_unreadable_inputs_exit_alike(files, capsys):
    d, _, m = files
    (d / "bad.png").write_bytes(b"not a png at all")
    out = ["-o", str(d / "o.png"), "-m", "telea"]
    rc_missing = main(["inpaint", str(d / "nope.png"), "--mask", str(m), *out])
    rc_bad = main(["inpaint", str(d / "bad.png"), "--mask", str(m), *out])
    assert rc_missing == rc_bad == 2
    err = capsys.readouterr().err
    assert "not found" in err and "not a readable image" in err


def test_help_lists_batch(capsys):
    res = subprocess.run([sys.executable, "-m", "imgkit", "--help"], capture_output=True, text=True,
                         env=_subprocess_env(), timeout=120)
    assert res.returncode == 0 and "batch" in res.stdout


def test_out_of_range_number_is_reported_as_out_of_range(files, capsys):
    d, img, m = files
    rc = main(["inpaint", str(img), "--mask", str(m), "-o", str(d / "o.png"), "-m", "criminisi",
               "--patch-size", "99"])
    err = capsys.readouterr().err
    assert rc == 2 and "must be ≤ 51" in err and "cannot be parsed" not in err
    rc = main(["inpaint", str(img), "--mask", str(m), "-o", str(d / "o.png"), "-m", "criminisi",
               "--patch-size", "nine"])
    assert rc == 2 and "cannot be parsed" in capsys.readouterr().err


def test_seed_is_printed_and_repeats_the_run(files, capsys):
    d, img, m = files
    assert main(["inpaint", str(img), "--mask", str(m), "-o", str(d / "a.png"), "-m", "patchmatch",
                 "--no-progress"]) == 0
    line = capsys.readouterr().out
    seed = int(line.split("seed ")[1].split(",")[0])
    assert main(["inpaint", str(img), "--mask", str(m), "-o", str(d / "b.png"), "-m", "patchmatch",
                 "--seed", str(seed), "--no-progress"]) == 0
    assert (d / "a.png").read_bytes() == (d / "b.png").read_bytes()


def test_progress_lines_when_not_on_a_terminal(files, capsys, monkeypatch):
    d, img, m = files
    monkeypatch.setenv("IMGKIT_PROGRESS_INTERVAL", "0")
    assert main(["inpaint", str(img), "--mask", str(m), "-o", str(d / "o.png"), "-m", "criminisi"]) == 0
    cap = capsys.readouterr()
    lines = [ln for ln in cap.err.splitlines() if ln.startswith("imgkit: criminisi:")]
    assert len(lines) >= 2 and "px" in lines[-1] and "elapsed" in lines[-1]
    assert "\r" not in cap.err  # no bar redraws in a log
    assert cap.out.startswith("wrote ")  # the final summary stays
    assert main(["inpaint", str(img), "--mask", str(m), "-o", str(d / "p.png"), "-m", "criminisi",
                 "--no-progress"]) == 0
    assert "imgkit: criminisi:" not in capsys.readouterr().err


# --------------------------------------------------------------------------------------------
# suspicious masks, --mask-threshold, --invert-mask
# --------------------------------------------------------------------------------------------


def test_suspicious_masks_warn_in_one_line(files, capsys):
    d, img, _ = files
    empty = imgkit.save_image(d / "empty.png", np.zeros((64, 64), np.uint8))
    inverted = np.full((64, 64), 255, np.uint8)
    inverted[20:32, 20:32] = 0
    inv = imgkit.save_image(d / "inv.png", inverted)
    hole = np.zeros((64, 64), np.uint8)
    hole[20:32, 20:32] = 255
    Image.fromarray(hole).save(d / "jpeg_mask.jpg", quality=75)  # compression noise around it
    for mask, what in ((empty, "no pixel"), (inv, "invert"), (d / "jpeg_mask.jpg", "grey")):
        rc = main(["inpaint", str(img), "--mask", str(mask), "-o", str(d / f"o_{mask.stem}.png"),
                   "-m", "telea", "--no-progress"])
        err = capsys.readouterr().err
        warn = [ln for ln in err.splitlines() if ln.startswith("imgkit: warning:")]
        assert rc == 0 and len(warn) == 1 and what in warn[0], err
    # the fixes the warnings suggest
    plain = imgkit.load_mask(d / "jpeg_mask.jpg", threshold=0.5)
    np.testing.assert_array_equal(plain, hole > 0)
    with pytest.warns(imgkit.MaskWarning, match="grey"):
        assert imgkit.load_mask(d / "jpeg_mask.jpg").sum() > (hole > 0).sum()  # the hole grew
    np.testing.assert_array_equal(imgkit.load_mask(inv, invert=True), inverted == 0)
    assert main(["inpaint", str(img), "--mask", str(inv), "--invert-mask", "-o", str(d / "x.png"),
                 "-m", "telea", "--no-progress"]) == 0
    assert "warning" not in capsys.readouterr().err
    assert main(["inpaint", str(img), "--mask", str(d / "jpeg_mask.jpg"), "--mask-threshold", "0.5",
                 "-o", str(d / "y.png"), "-m", "telea", "--no-progress"]) == 0
    assert "warning" not in capsys.readouterr().err
    with pytest.raises(imgkit.InvalidOptionError, match="threshold"):
        imgkit.load_mask(inv, threshold=1.5)


# --------------------------------------------------------------------------------------------
# 5. Numba cache folder not writable
# --------------------------------------------------------------------------------------------

_NUMBA_SNIPPET = """
import sys, warnings
{pre}
with warnings.catch_warnings(record=True) as w:
    warnings.simplefilter("always")
    # every kernel module decorates njit(cache=True) functions at import: this is where the
    # default method crashed ("no locator available")
    import imgkit.kernels.criminisi, imgkit.kernels.patchmatch, imgkit.kernels.voting
    import imgkit.kernels.analogy
    sys.path.insert(0, ".")
    import probe_kernel  # a tiny cache=True kernel: cheap to compile, cached where imgkit chose
    value = probe_kernel.twice(21)
msgs = [str(x.message) for x in w if "Numba cannot cache" in str(x.message)]
print(value, len(msgs), msgs)
"""


@pytest.mark.parametrize("pre, where", [("", "imgkit"), ("import tempfile; tempfile.tempdir = '/dev/null/t'",
                                                          "compiled again")])
def test_numba_cache_not_writable_falls_back_with_one_warning(tmp_path, pre, where):
    """Before the fix: RuntimeError: cannot cache function ...: no locator available."""
    (tmp_path / "probe_kernel.py").write_text(
        "import numba\n\n\n@numba.njit(cache=True)\ndef twice(x):\n    return 2 * x\n")
    env = _subprocess_env(NUMBA_CACHE_DIR="/dev/null/numba",
                          NUMBA_CACHE_LOCATOR_CLASSES="UserProvidedCacheLocator",
                          XDG_CACHE_HOME=str(tmp_path / "xdg") if not pre else "/dev/null/xdg")
    res = subprocess.run([sys.executable, "-W", "always", "-c", _NUMBA_SNIPPET.format(pre=pre)],
                         capture_output=True, text=True, env=env, timeout=600, cwd=tmp_path)
    assert res.returncode == 0, res.stderr[-2000:]
    assert res.stdout.startswith("42 1 "), res.stdout + res.stderr[-2000:]
    assert where in res.stdout
    cached = list((tmp_path / "xdg" / "imgkit" / "numba").rglob("*.nbi"))
    assert bool(cached) == (not pre)


# --------------------------------------------------------------------------------------------
# region="crop" / "auto", mask_dilate, mask_feather
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def big():
    img = data.photo("coffee", (240, 360))
    mask = np.zeros((240, 360), bool)
    mask[20:30, 20:32] = True      # two small holes far apart
    mask[200:211, 320:330] = True
    return img, mask


@pytest.mark.parametrize("method", ["criminisi", "patchmatch", "telea"])
def test_region_crop_works_on_crops_and_pastes_back_exactly(big, method):
    img, mask = big
    out, info = imgkit.inpaint(img, mask, method=method, seed=1, region="crop", return_info=True)
    assert len(info.regions) == 2
    for y0, y1, x0, x1 in info.regions:  # each box: a hole plus its context, far smaller than the photo
        assert (y1 - y0) * (x1 - x0) < img.shape[0] * img.shape[1] / 4
    np.testing.assert_array_equal(out[~mask], img[~mask])  # exact paste
    assert np.abs(out[mask] - img[mask]).mean() < 0.15
    if method == "telea":  # local method: the crop gives the very same fill as the whole image
        np.testing.assert_array_equal(out, imgkit.inpaint(img, mask, method="telea", region="full"))


def test_region_defaults_and_margin():
    assert imgkit.get_method("criminisi", "inpaint").defaults["region"] == "auto"
    assert imgkit.get_method("patchmatch", "inpaint").defaults["region"] == "auto"
    assert imgkit.get_method("dip", "inpaint").defaults["region"] == "auto"
    assert imgkit.get_method("telea", "inpaint").defaults["region"] == "full"
    img = data.photo("coffee", (160, 240))
    mask = np.zeros((160, 240), bool)
    mask[70:80, 100:110] = True
    _, info = imgkit.inpaint(img, mask, method="telea", region="crop", region_margin=7, return_info=True)
    assert info.regions == [(63, 87, 93, 117)]
    _, info = imgkit.inpaint(img, mask, method="telea", region="crop", return_info=True)
    assert info.regions == [(6, 144, 36, 174)]  # default margin: max(64, hole side)
    # "auto" gives small images whole, and crops big ones (over 1 megapixel)
    _, info = imgkit.inpaint(img, mask, method="telea", region="auto", return_info=True)
    assert info.regions == [(0, 160, 0, 240)]
    bigger = np.zeros((1100, 1000, 3), np.float32)
    bigger[:] = img[:1, :1]
    hole = np.zeros((1100, 1000), bool)
    hole[500:510, 500:520] = True
    _, info = imgkit.inpaint(bigger, hole, method="telea", region="auto", return_info=True)
    assert info.regions == [(436, 574, 436, 584)]
    with pytest.raises(imgkit.InvalidOptionError, match="region"):
        imgkit.inpaint(img, mask, method="telea", region="box")


def test_region_crops_per_pixel_options():
    """patchmatch's source_mask (H, W) is cropped with the image."""
    img = data.photo("coffee", (160, 240))
    mask = np.zeros((160, 240), bool)
    mask[70:80, 100:110] = True
    source = np.ones((160, 240), bool)
    out = imgkit.inpaint(img, mask, method="patchmatch", seed=3, source_mask=source)
    np.testing.assert_array_equal(out, imgkit.inpaint(img, mask, method="patchmatch", seed=3))


def test_mask_dilate_grows_the_hole(big):
    img, mask = big
    out = imgkit.inpaint(img, mask, method="telea", mask_dilate=3)
    from imgkit._region import dilate

    grown = dilate(mask, 3)
    assert grown.sum() > mask.sum()
    np.testing.assert_array_equal(out[~grown], img[~grown])
    np.testing.assert_array_equal(out, imgkit.inpaint(img, grown, method="telea"))


@pytest.mark.parametrize("method", ["telea", "patchmatch"])
def test_mask_feather_blends_over_a_soft_edge(big, method):
    import cv2

    img, mask = big
    f = 4
    out = imgkit.inpaint(img, mask, method=method, mask_feather=f, seed=0)
    dist = cv2.distanceTransform((~mask).astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    far = dist > f
    np.testing.assert_array_equal(out[far], img[far])       # exact outside the feather
    band = (dist > 0) & (dist <= f)
    assert (np.abs(out[band] - img[band]).max(axis=-1) > 0).mean() > 0.5  # blended there
    # the blend weight falls with the distance: the outer ring moves less than the inner one
    inner, outer = (dist > 0) & (dist <= 1.5), (dist > f - 1) & (dist <= f)
    assert np.abs(out[inner] - img[inner]).mean() > np.abs(out[outer] - img[outer]).mean()


def test_dilate_and_feather_cannot_swallow_the_image():
    img = data.photo("coffee", (24, 24))
    mask = np.zeros((24, 24), bool)
    mask[4:20, 4:20] = True
    with pytest.raises(imgkit.NoSourceError, match="mask_dilate"):
        imgkit.inpaint(img, mask, method="telea", mask_dilate=10)


# --------------------------------------------------------------------------------------------
# 3. batch folder guards, 2/4/10 in batch
# --------------------------------------------------------------------------------------------

distributed = pytest.importorskip("distributed")
batch = pytest.importorskip("imgkit.batch")


@pytest.fixture()
def folders(tmp_path):
    (tmp_path / "photos").mkdir()
    (tmp_path / "masks").mkdir()
    for i, name in enumerate(("a", "b", "c", "d")):
        imgkit.save_image(tmp_path / "photos" / f"{name}.png", data.photo(("coffee", "astronaut", "brick",
                                                                            "camera")[i], (40, 40)))
        hole = data.mask("box", (40, 40), seed=i)
        imgkit.save_image(tmp_path / "masks" / f"{name}.png", hole.astype(np.uint8) * 255)
    return tmp_path


def _tree(root):
    return sorted((str(p.relative_to(root)), p.read_bytes() if p.is_file() else None)
                  for p in root.rglob("*"))


@pytest.mark.parametrize("out, how", [("photos", "is"), ("masks", "is"), ("photos/sub", "lies inside"),
                                      (".", "contains")])
def test_batch_refuses_output_folders_that_touch_inputs(folders, capsys, out, how):
    """Before the fix `-o masks --overwrite` replaced every mask, and a refused run still left an
    empty manifest.jsonl."""
    before = _tree(folders)
    items = batch.inpaint_inputs(folders / "photos", folders / "masks")
    with pytest.raises(imgkit.InvalidOptionError, match=f"{how} the input folder"):
        batch.run("inpaint", items, method="telea", out_dir=folders / out, overwrite=True)
    rc = main(["batch", "inpaint", str(folders / "photos"), "--masks", str(folders / "masks"), "-o",
               str(folders / out), "-m", "telea", "--overwrite"])
    assert rc == 2 and how in capsys.readouterr().err
    assert _tree(folders) == before  # nothing written: no output, no manifest, no folder


def test_batch_refused_for_existing_outputs_writes_no_manifest(folders):
    out = folders / "out"
    out.mkdir()
    imgkit.save_image(out / "a.png", data.photo("coffee", (8, 8)))
    items = batch.inpaint_inputs(folders / "photos", folders / "masks")
    with pytest.raises(imgkit.InvalidOptionError, match="already exist"):
        batch.run("inpaint", items, method="telea", out_dir=out)
    assert sorted(p.name for p in out.iterdir()) == ["a.png"]
    with pytest.raises(imgkit.ImageFileError, match="not a folder"):
        batch.run("inpaint", items, method="telea", out_dir=out / "a.png")
    with pytest.raises(imgkit.ImageFileError, match="cannot write"):
        batch.run("inpaint", items, method="telea", out_dir="/dev/null/out")


def test_batch_odd_names_permissions_metadata_workers(folders, umask):
    """One local-cluster run: a Latin-1 file name (before the fix it aborted the whole run),
    outputs honour the umask, EXIF kept, workers capped at the inputs, progress lines when stderr
    is not a terminal, no traceback."""
    umask(0o027)
    photos, masks = folders / "photos", folders / "masks"
    for name in ("c", "d"):
        (photos / f"{name}.png").unlink()
    os.rename(photos / "b.png", photos / f"{LATIN1}.png")
    os.rename(masks / "b.png", masks / f"{LATIN1}.png")
    _write(photos / "a.jpg", _photo(40, 40), 1, fmt="JPEG", quality=95)
    (photos / "a.png").unlink()
    out = folders / "out"
    res = subprocess.run([sys.executable, "-m", "imgkit", "batch", "inpaint", str(photos), "--masks",
                          str(masks), "-o", str(out), "-m", "telea", "--ext", ".jpg", "--workers", "6",
                          "--seed", "1"], capture_output=True, timeout=300,
                         env=_subprocess_env(IMGKIT_PROGRESS_INTERVAL="0"))
    text = res.stdout.decode() + res.stderr.decode(errors="replace")
    assert res.returncode == 0, text
    assert "Traceback" not in text
    assert "imgkit batch: 2/2 inputs (100 %), 0 failed" in res.stderr.decode()  # progress lines in a log
    assert "on 2 workers" in res.stdout.decode()  # --workers 6, 2 inputs
    names = sorted(os.listdir(os.fsencode(out)))
    assert names == [b"a.jpg", b"caf\xe9.jpg", b"manifest.jsonl"]
    for n in names:
        assert stat.S_IMODE(os.stat(os.path.join(os.fsencode(out), n)).st_mode) == 0o640
    recs = {r["key"]: r for r in batch.read_manifest(out)}
    assert set(recs) == {"a", LATIN1} and all(r["status"] == "done" for r in recs.values())
    with Image.open(out / "a.jpg") as im:
        assert im.getexif()[0x010F] == "imgkit-test-camera"


def test_sigint_to_the_client_leaves_no_output_outside_the_manifest(folders):
    """Ctrl-C sent to the client process alone while tasks are in flight: afterwards every
    output file in the folder is recorded in the manifest, and no temporary file is left."""
    import shutil

    for name in ("e", "f"):
        shutil.copy(folders / "photos" / "a.png", folders / "photos" / f"{name}.png")
        shutil.copy(folders / "masks" / "a.png", folders / "masks" / f"{name}.png")
    out = folders / "out"
    env = _subprocess_env(IMGKIT_BATCH_SLOW="4")
    proc = subprocess.Popen([sys.executable, "-m", "imgkit", "batch", "inpaint", str(folders / "photos"),
                             "--masks", str(folders / "masks"), "-o", str(out), "-m", "telea", "--workers",
                             "2", "--no-progress"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            # a background shell starts jobs with SIGINT ignored; a terminal does not
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.monotonic() + 120
        while not batch.read_manifest(out) and time.monotonic() < deadline:
            time.sleep(0.05)
        # the first output is recorded: the next tasks have just started their 4 s before writing
        time.sleep(0.3)
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, stderr.decode()
    time.sleep(4.0)  # give any straggling worker time to write (it must not)
    done = {r["output"] for r in batch.read_manifest(out) if r["status"] == "done"}
    files = {p.name for p in out.iterdir() if p.name != "manifest.jsonl"}
    assert files <= done, (files, done, stderr.decode())
    assert 1 <= len(done) < 6  # interrupted half-way
    assert not [f for f in files if f.startswith(".")]


def test_batch_mask_threshold_and_invert(folders, capsys):
    """JPEG-saved, black-on-white masks in a batch: read with --mask-threshold / --invert-mask."""
    photos, masks = folders / "photos", folders / "masks"
    jpeg_masks = folders / "jpeg_masks"
    jpeg_masks.mkdir()
    for name in ("a", "b"):
        hole = imgkit.load_mask(masks / f"{name}.png")
        Image.fromarray(np.where(hole, 0, 255).astype(np.uint8)).save(jpeg_masks / f"{name}.jpg", quality=70)
    for name in ("c", "d"):
        (photos / f"{name}.png").unlink()
    out = folders / "out"
    rc = main(["batch", "inpaint", str(photos), "--masks", str(jpeg_masks), "-o", str(out), "-m", "telea",
               "--mask-threshold", "0.5", "--invert-mask", "--seed", "0", "--workers", "1", "--no-progress"])
    assert rc == 0, capsys.readouterr()
    for name in ("a", "b"):
        img = imgkit.load_image(photos / f"{name}.png")
        hole = imgkit.load_mask(masks / f"{name}.png")
        want = np.round(imgkit.inpaint(img, hole, method="telea") * 255).astype(np.uint8)
        np.testing.assert_array_equal(imgkit.load_image(out / f"{name}.png"), want)
    recs = batch.read_manifest(out)
    assert all(r["mask"] == {"threshold": 0.5, "invert": True} and not r.get("warnings") for r in recs)
    with pytest.raises(imgkit.InvalidOptionError, match="mask_threshold"):
        batch.run("inpaint", [], method="telea", out_dir=folders / "o2", mask_threshold=2.0)


def test_manifest_with_a_non_utf8_key_is_valid_json(tmp_path):
    m = batch._manifest._Manifest(tmp_path / "manifest.jsonl")
    m.append({"key": LATIN1, "status": "done"})
    m.close()
    raw = (tmp_path / "manifest.jsonl").read_bytes()
    raw.decode("utf-8")
    assert json.loads(raw)["key"] == LATIN1
    assert batch.read_manifest(tmp_path)[0]["key"] == LATIN1
