"""The web app driven in a real headless Chromium (Debian's ``chromium`` package) by Playwright.

The page is loaded from a real uvicorn server; a stroke is painted on the canvas with mouse
events; ``telea`` and ``criminisi`` run; the results must differ from the input only inside the
painted stroke; the "How it works" panel must show Criminisi's animation frames; each tab is
screenshotted into the test's output folder (and into ``$IMGKIT_APP_SCREENSHOTS`` when that is
set: ``docs/app.png`` of the README is taken so).

Chromium is looked for at ``$IMGKIT_CHROMIUM``, ``/usr/bin/chromium`` and on ``PATH``; without
it these tests are skipped with that reason (``.ci/run`` installs it from Debian packages).
Playwright's own browser download is not used.
"""

import os
import shutil
import socket
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

pytest.importorskip("fastapi", reason="the app extra is not installed: pip install -e '.[app]'")


def _find_chromium() -> str | None:
    for cand in (os.environ.get("IMGKIT_CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium"),
                 shutil.which("chromium-browser")):
        if cand and Path(cand).is_file() and os.access(cand, os.X_OK):
            return cand
    return None


CHROMIUM = _find_chromium()
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="no Chromium found (looked at $IMGKIT_CHROMIUM, /usr/bin/chromium, PATH): "
           "apt-get install chromium to run the browser tests",
)

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SIZE = 96          # the sample photo's side (the page's "max side" selection)
BRUSH = 8          # brush diameter in image pixels
STROKE = ((20.0, 30.0), (70.0, 55.0))   # image coordinates of the painted segment


@pytest.fixture(scope="module")
def server():
    import uvicorn

    from imgkit.app import create_app

    app = create_app(job_timeout=600.0, allowed_hosts=["127.0.0.1"])  # as `imgkit app` binds
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    t0 = time.monotonic()
    while not srv.started:
        if time.monotonic() - t0 > 30 or not thread.is_alive():
            raise RuntimeError("the uvicorn test server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(10)
    sock.close()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def page(browser, server):
    ctx = browser.new_context(viewport={"width": 1100, "height": 800})
    pg = ctx.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.goto(server + "/")
    pg.wait_for_selector("body[data-ready='1']", timeout=30_000)
    pg.errors = errors
    yield pg
    ctx.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def _screenshot(page, tmp_path: Path, name: str, width: int = 800) -> Path:
    """Full-page screenshot into the test's folder; with ``$IMGKIT_APP_SCREENSHOTS`` set, also a
    copy reduced to ``width`` pixels there (how ``docs/app.png`` is made)."""
    path = tmp_path / name
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 1000
    extra = os.environ.get("IMGKIT_APP_SCREENSHOTS")
    if extra:
        img = cv2.imread(str(path), cv2.IMREAD_COLOR)
        h, w = img.shape[:2]
        small = cv2.resize(img, (width, round(h * width / w)), interpolation=cv2.INTER_AREA)
        Path(extra).mkdir(parents=True, exist_ok=True)
        from PIL import Image  # a 256-colour palette keeps the committed PNG small

        pal = Image.fromarray(small[:, :, ::-1]).quantize(256, method=Image.Quantize.MEDIANCUT)
        pal.save(Path(extra) / name, optimize=True)
    return path


def _decode(png: bytes) -> np.ndarray:
    img = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_UNCHANGED)
    assert img is not None
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB).astype(np.int16) if img.ndim == 3 else img.astype(np.int16)


def _segment_distance(shape, a, b) -> np.ndarray:
    """Distance of each pixel centre (x + 0.5, y + 0.5 in canvas units) to the segment a–b."""
    ys, xs = np.mgrid[0 : shape[0], 0 : shape[1]].astype(np.float64) + 0.5
    (ax, ay), (bx, by) = a, b
    dx, dy = bx - ax, by - ay
    t = np.clip(((xs - ax) * dx + (ys - ay) * dy) / (dx * dx + dy * dy), 0.0, 1.0)
    return np.hypot(xs - (ax + t * dx), ys - (ay + t * dy))


def _paint(page, a, b) -> None:
    box = page.locator("#ip-canvas").bounding_box()
    w = page.evaluate("document.getElementById('ip-canvas').width")
    s = box["width"] / w

    def client(p):
        return box["x"] + p[0] * s, box["y"] + p[1] * s

    page.mouse.move(*client(a))
    page.mouse.down()
    page.mouse.move(*client(b), steps=15)
    page.mouse.up()


def test_paint_run_compare_and_explain(page, server, tmp_path):
    # an error is a message in the page, never a trace: run before any photo is open
    page.click("#ip-run")
    err = page.locator("#ip-error")
    err.wait_for(state="visible")
    assert "open a photo" in err.inner_text()

    page.select_option("#ip-maxside", str(SIZE))
    page.select_option("#ip-sample", "astronaut")
    page.wait_for_function(f"document.getElementById('ip-canvas').width === {SIZE}")
    page.eval_on_selector("#ip-brush",
                          f"(e) => {{ e.value = '{BRUSH}'; e.dispatchEvent(new Event('input')); }}")

    # a server-side error (an even patch size) comes back as the server's message
    page.click("#panel-inpaint .method[data-method=criminisi] summary")
    _paint(page, *STROKE)
    page.fill("#opt-inpaint-criminisi-patch_size", "8")
    page.click("#ip-run")
    page.wait_for_function("document.getElementById('ip-error').textContent.includes('must be odd')")
    assert "Traceback" not in err.inner_text()
    page.fill("#opt-inpaint-criminisi-patch_size", "7")

    for name in ("telea", "criminisi"):
        page.check(f"#panel-inpaint input[data-method={name}]")
    page.click("#ip-run")
    for name in ("telea", "criminisi"):
        page.wait_for_selector(f"#ip-results .result-card[data-method={name}][data-state=done] img.result",
                               timeout=300_000)
    assert err.is_hidden()
    assert page.locator("#ip-progress").evaluate("e => e.value") == 1

    original = _decode(page.request.get(f"{server}/api/samples/astronaut.png?size={SIZE}").body())
    dist = _segment_distance(original.shape[:2], *STROKE)
    inside = dist <= BRUSH / 2 + 1.0      # the stroke, with a pixel of anti-aliasing margin
    core = dist <= BRUSH / 2 - 1.0        # surely painted
    for name in ("telea", "criminisi"):
        card = page.locator(f".result-card[data-method={name}]")
        assert card.locator(".time").inner_text().endswith(" s")
        src = card.locator("img.result").get_attribute("src")
        assert card.locator("a.download").get_attribute("download") == f"imgkit-{name}.png"
        result = _decode(page.request.get(server + src).body())
        assert result.shape == original.shape
        changed = np.abs(result - original).max(axis=2) > 0
        assert not changed[~inside].any(), f"{name} changed pixels outside the painted stroke"
        assert changed[core].mean() > 0.2, f"{name} left the painted stroke as it was"

    # "How it works" for Criminisi: the fill-order animation with its frames
    page.locator(".result-card[data-method=criminisi] button.how").click()
    panel = page.locator("#ip-results .explain[data-method=criminisi]")
    anim = panel.locator("figure.fig-animation").first
    anim.wait_for(timeout=30_000)
    n = int(anim.get_attribute("data-frame-count"))
    assert n >= 3
    assert anim.locator(".frames img").count() == n
    assert "Criminisi" in panel.locator(".paper").inner_text()
    captions = " ".join(panel.locator("figcaption").all_inner_texts())
    assert "Fill order" in captions and "Source map" in captions
    page.wait_for_timeout(300)
    _screenshot(page, tmp_path, "app-inpaint.png")


def test_style_tab(page, tmp_path):
    page.click("#tab-style")
    assert page.locator("#panel-inpaint").is_hidden()
    page.select_option("#st-maxside", "64")
    page.select_option("#st-content-sample", "chelsea")
    page.select_option("#st-style-sample", "immunohistochemistry")
    page.wait_for_function("document.getElementById('st-content-canvas').width === 64 && "
                           "document.getElementById('st-style-canvas').width === 64")
    names = page.eval_on_selector_all("#st-methods input[data-method]", "els => els.map(e => e.value)")
    assert {"analogy", "gatys"} <= set(names)
    page.check("#st-methods input[data-method=analogy]")
    page.click("#st-run")
    card = page.locator("#st-results .result-card[data-method=analogy][data-state=done]")
    card.locator("img.result").wait_for(timeout=300_000)
    card.locator("button.how").click()
    panel = page.locator("#st-results .explain[data-method=analogy]")
    panel.locator("figure").first.wait_for(timeout=30_000)
    captions = " ".join(panel.locator("figcaption").all_inner_texts())
    assert "Source map" in captions and "Coherence map" in captions
    page.wait_for_timeout(200)
    _screenshot(page, tmp_path, "app-style.png")


def test_mask_tools(page, tmp_path):
    """Brush, eraser, undo, clear and an uploaded mask change the mask the page would send."""
    page.select_option("#ip-maxside", "64")
    page.select_option("#ip-sample", "coffee")
    page.wait_for_function("document.getElementById('ip-canvas').width === 64")

    def painted() -> int:
        return page.evaluate("window.imgkitApp.painter.maskCanvas().painted")

    assert painted() == 0
    _paint(page, (10.0, 10.0), (50.0, 10.0))
    one = painted()
    assert 16 * 40 * 0.8 < one < 16 * 56           # a 16-pixel brush along 40 pixels
    _paint(page, (10.0, 40.0), (50.0, 40.0))
    assert painted() > 1.8 * one
    page.click("#ip-undo")
    assert painted() == one
    page.click("#ip-erase")
    _paint(page, (30.0, 0.0), (30.0, 30.0))
    erased = painted()
    assert one * 0.5 < erased < one - 100
    page.click("#ip-undo")
    assert painted() == one
    page.click("#ip-clear")
    assert painted() == 0
    page.click("#ip-undo")
    assert painted() == one
    # an uploaded mask replaces the painted one: its nonzero pixels, no more
    mask = np.zeros((64, 64), np.uint8)
    mask[20:30, 5:45] = 255
    path = tmp_path / "mask.png"
    cv2.imwrite(str(path), mask)
    page.set_input_files("#ip-maskfile", str(path))
    page.wait_for_function(f"window.imgkitApp.painter.maskCanvas().painted === {int((mask > 0).sum())}")
