"""The web app's HTTP API through FastAPI's test client: methods from the registry, jobs with
progress, cancel and time limit, one job per session and the queue, upload checks, errors as
messages, and the "How it works" panels."""

import io
import json
import time

import cv2
import numpy as np
import pytest

pytest.importorskip("fastapi", reason="the app extra is not installed: pip install -e '.[app]'")

from fastapi.testclient import TestClient

from imgkit import data, list_methods
from imgkit.app import create_app
from imgkit.app.explain import encode_png
from imgkit.app.server import is_loopback, is_path_option
from imgkit.app.uploads import Limits


def png(img) -> bytes:
    return encode_png(np.asarray(img))


def decode(body: bytes) -> np.ndarray:
    img = cv2.imdecode(np.frombuffer(body, np.uint8), cv2.IMREAD_UNCHANGED)
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB) if img.ndim == 3 else img


@pytest.fixture(scope="module")
def photo():
    img = data.photo("astronaut", 40)
    mask = np.zeros((40, 40), bool)
    mask[14:24, 16:27] = True
    return img, mask


def inpaint_files(img, mask):
    return {"image": ("image.png", png(img), "image/png"),
            "mask": ("mask.png", png(mask.astype(np.float32)), "image/png")}


@pytest.fixture
def client():
    app = create_app(max_queue=1, job_timeout=120.0)
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def wait_done(client, job_id, timeout=120.0):
    t0 = time.monotonic()
    while True:
        st = client.get(f"/api/jobs/{job_id}").json()
        if st["state"] not in ("queued", "running"):
            return st
        assert time.monotonic() - t0 < timeout, st
        time.sleep(0.05)


def test_page_and_static_files(client):
    r = client.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "/static/app.js" in r.text and 'id="ip-canvas"' in r.text
    assert "imgkit_session" in r.headers.get("set-cookie", "")
    assert client.get("/static/app.js").status_code == 200
    assert client.get("/static/app.css").status_code == 200
    # nothing outside the static folder is served
    for url in ("/static/../server.py", "/static/%2e%2e/server.py", "/static/..%2fserver.py"):
        r = client.get(url)
        assert r.status_code == 404 and "import" not in r.text


def test_methods_come_from_the_registry(client):
    got = client.get("/api/methods?task=inpaint").json()["methods"]
    assert [m["name"] for m in got] == [s.name for s in list_methods("inpaint")]
    by = {m["name"]: m for m in got}
    crim = {o["name"]: o for o in by["criminisi"]["options"]}
    assert crim["patch_size"]["kind"] == "int" and crim["patch_size"]["default"] == 9
    assert crim["patch_size"]["odd"] and crim["patch_size"]["low"] == 3
    assert crim["priority"]["kind"] == "choice" and "product" in crim["priority"]["choices"]
    assert crim["search"]["kind"] == "text"      # "full" or an integer radius
    assert by["dip"]["family"] == "deep" and by["telea"]["family"] == "classical"
    # an option that names a file on the server is never offered to the browser
    assert "weights" not in {o["name"] for o in by["lama"]["options"]}
    styles = {m["name"] for m in client.get("/api/methods?task=stylize").json()["methods"]}
    assert styles == {s.name for s in list_methods("stylize")}
    r = client.get("/api/methods?task=paint")
    assert r.status_code == 400 and "task must be one of" in r.json()["error"]


def test_path_options_are_recognised():
    names = {(s.name, o.name) for s in list_methods() for o in s.options if is_path_option(o)}
    assert ("lama", "weights") in names
    assert ("gatys", "style_weights") not in names and ("gatys", "style_layer_weights") not in names


def test_inpaint_changes_only_the_hole(client, photo):
    img, mask = photo
    r = client.post("/api/inpaint", files=inpaint_files(img, mask),
                    data={"methods": "telea,criminisi", "seed": "0", "wait": "true",
                          "options": json.dumps({"criminisi": {"patch_size": "5"}})})
    assert r.status_code == 200, r.text
    job = r.json()
    assert job["state"] == "done" and job["progress"] == 1.0
    assert [run["method"] for run in job["runs"]] == ["telea", "criminisi"]
    assert job["runs"][1]["options"] == {"patch_size": 5}
    truth = np.round(img * 255).astype(np.int16)
    for run in job["runs"]:
        assert run["state"] == "done" and run["error"] is None and run["seconds"] >= 0
        assert run["total"] > 0 or run["method"] == "telea"
        res = client.get(run["result"])
        assert res.headers["content-type"] == "image/png"
        assert f'filename="imgkit-{run["method"]}.png"' in res.headers["content-disposition"]
        out = decode(res.content).astype(np.int16)
        assert out.shape == truth.shape
        assert (out[~mask] == truth[~mask]).all()
        assert np.abs(out[mask] - truth[mask]).max() > 0


def test_criminisi_panel_replays_the_fill(client, photo):
    img, mask = photo
    job = client.post("/api/inpaint", files=inpaint_files(img, mask),
                      data={"methods": "criminisi", "options": '{"criminisi": {"patch_size": 5}}',
                            "seed": "1", "wait": "true"}).json()
    run = job["runs"][0]
    panel = client.get(run["explain"]).json()
    assert "Criminisi" in panel["paper"] and panel["text"].count(". ") >= 1
    kinds = [(f["kind"], f["caption"].split(" ")[0]) for f in panel["figures"]]
    assert kinds[0] == ("animation", "Fill")
    anim = panel["figures"][0]
    assert len(anim["frames"]) == len(anim["labels"]) >= 3
    frames = [decode(__import__("base64").b64decode(u.split(",", 1)[1])) for u in anim["frames"]]
    result = decode(client.get(run["result"]).content)
    # the first frame shows the whole hole in magenta, the last one the finished fill
    assert (frames[0][mask] == [255, 0, 255]).all()
    assert (frames[0][~mask] == np.round(img * 255)[~mask]).all()
    assert np.array_equal(frames[-1], result)
    holes = [int((f == [255, 0, 255]).all(axis=2)[mask].sum()) for f in frames]
    assert holes == sorted(holes, reverse=True) and holes[-1] == 0   # the hole shrinks
    assert {"Source", "Position", "Fill"} <= {f["caption"].split(" ")[0] for f in panel["figures"]}
    assert panel["facts"]["steps"] == anim["labels"][-1].split(" ")[-2]


def test_patchmatch_panel_has_a_field_per_level(client):
    img = data.photo("coffee", 96)
    mask = data.mask("box", (96, 96))
    job = client.post("/api/inpaint", files=inpaint_files(img, mask),
                      data={"methods": "patchmatch", "seed": "0", "wait": "true",
                            "options": '{"patchmatch": {"min_size": 24}}'}).json()
    assert job["runs"][0]["state"] == "done", job
    panel = client.get(job["runs"][0]["explain"]).json()
    fields, steps = panel["figures"]
    levels = int(panel["facts"]["levels"])
    assert levels >= 2 and len(fields["frames"]) == levels
    assert fields["labels"][0].startswith(f"level 1 of {levels}")
    assert len(steps["frames"]) > levels and "EM step" in " ".join(steps["labels"])


def test_errors_are_messages(client, photo):
    img, mask = photo
    files = inpaint_files(img, mask)
    cases = [
        ({"image": ("x.png", b"hello world", "image/png"), "mask": files["mask"]}, {"methods": "telea"},
         415, "image: not an image file of a supported type"),
        ({"image": ("x.png", png(img)[:60], "image/png"), "mask": files["mask"]}, {"methods": "telea"},
         400, "image: the PNG file cannot be decoded"),
        ({"image": ("x.png", b"", "image/png"), "mask": files["mask"]}, {"methods": "telea"},
         400, "image: the uploaded file is empty"),
        ({"image": files["image"], "mask": ("m.png", png(np.ones((10, 12), np.float32)), "image/png")},
         {"methods": "telea"}, 400, "mask: its size 12×10 differs from the image's 40×40"),
        ({"image": files["image"], "mask": ("m.png", png(np.zeros((40, 40), np.float32)), "image/png")},
         {"methods": "telea"}, 400, "mask: nothing is painted"),
        (files, {"methods": "telae"}, 400, "did you mean 'telea'"),
        (files, {"methods": ""}, 422, "methods"),
        (files, {"methods": " , "}, 400, "choose at least one method"),
        (files, {"methods": "telea,telea"}, 400, "named twice"),
        (files, {"methods": "criminisi", "options": '{"criminisi": {"patch_size": 8}}'}, 400, "must be odd"),
        (files, {"methods": "criminisi", "options": '{"criminisi": {"patch_size": "8"}}'}, 400,
         "must be odd"),
        (files, {"methods": "criminisi", "options": '{"criminisi": {"patchsize": 7}}'}, 400,
         "unknown option 'patchsize'"),
        (files, {"methods": "criminisi", "options": "{not json"}, 400, "options: not valid JSON"),
        (files, {"methods": "criminisi", "options": '{"telea": {}}'}, 400, "not among the methods"),
        (files, {"methods": "lama", "options": '{"lama": {"weights": "/etc/passwd"}}'}, 400,
         "names a file on the server"),
        (files, {"methods": "telea", "seed": "-3"}, 400, "seed must be a non-negative integer"),
        ({"image": files["image"]}, {"methods": "telea"}, 422, "mask: Field required"),
    ]
    for f, d, status, text in cases:
        r = client.post("/api/inpaint", files=f, data=d)
        assert r.status_code == status, (d, r.text)
        body = r.json()
        assert set(body) == {"error"} and text in body["error"], (text, body)
        assert "Traceback" not in r.text and 'File "' not in r.text
    r = client.get("/api/jobs/nope")
    assert r.status_code == 404 and "no job 'nope'" in r.json()["error"]


def test_upload_limits():
    mask = np.zeros((40, 40), bool)
    mask[5:9, 5:9] = True
    app = create_app(limits=Limits(max_bytes=3000, max_pixels=1600))
    with TestClient(app, raise_server_exceptions=False) as c:
        big = png(np.random.default_rng(0).random((40, 40, 3)).astype(np.float32))  # noise: > 3000 bytes
        r = c.post("/api/inpaint", files={"image": ("a.png", big, "image/png"),
                                          "mask": ("m.png", png(mask.astype(np.float32)), "image/png")},
                   data={"methods": "telea"})
        assert r.status_code == 413 and "over this server's limit" in r.json()["error"]
        # a decompression bomb: a small file whose header declares many pixels
        bomb = png(np.zeros((400, 500), np.uint8))
        assert len(bomb) < 3000
        r = c.post("/api/inpaint", files={"image": ("a.png", bomb, "image/png"),
                                          "mask": ("m.png", png(mask.astype(np.float32)), "image/png")},
                   data={"methods": "telea"})
        assert r.status_code == 413
        assert "500×400 = 0.2 megapixels" in r.json()["error"]
        # a whole request far over the limit is refused before it is parsed
        r = c.post("/api/inpaint", content=b"x" * (4 * 3000 + 2**20 + 10),
                   headers={"content-type": "multipart/form-data; boundary=zz"})
        assert r.status_code == 413 and "request of" in r.json()["error"]
        # a GIF is an image, but not one of the formats the CLI reads
        from PIL import Image

        buf = io.BytesIO()
        Image.new("RGB", (8, 8)).save(buf, format="GIF")
        r = c.post("/api/inpaint", files={"image": ("a.gif", buf.getvalue(), "image/gif"),
                                          "mask": ("m.png", png(mask.astype(np.float32)), "image/png")},
                   data={"methods": "telea"})
        assert r.status_code == 415 and "GIF files are not supported" in r.json()["error"]


def test_opaque_alpha_is_dropped_and_real_alpha_kept(client, photo):
    img, mask = photo
    for alpha, channels in ((1.0, 3), (0.5, 4)):
        rgba = np.dstack([img, np.full(img.shape[:2], alpha, np.float32)])
        files = {"image": ("a.png", png(rgba), "image/png"),
                 "mask": ("m.png", png(mask.astype(np.float32)), "image/png")}
        job = client.post("/api/inpaint", files=files, data={"methods": "telea", "wait": "true"}).json()
        out = cv2.imdecode(np.frombuffer(client.get(job["runs"][0]["result"]).content, np.uint8),
                           cv2.IMREAD_UNCHANGED)
        assert out.shape == (40, 40, channels)


@pytest.mark.usefixtures("one_torch_thread")
def test_one_job_per_session_queue_and_cancel(photo):
    pytest.importorskip("torch")
    img, mask = photo
    app = create_app(max_queue=1)
    files = inpaint_files(img, mask)
    slow = {"methods": "dip", "options": json.dumps({"dip": {"iterations": 100000, "depth": 2,
                                                             "channels": 4, "skip_channels": 0}})}
    with TestClient(app, raise_server_exceptions=False) as a, \
         TestClient(app, raise_server_exceptions=False) as b, \
         TestClient(app, raise_server_exceptions=False) as c:
        r = a.post("/api/inpaint", files=files, data=slow)
        assert r.status_code == 202
        job = r.json()
        # the same session cannot start a second job while the first runs
        r = a.post("/api/inpaint", files=files, data={"methods": "telea"})
        assert r.status_code == 409 and "one job per session" in r.json()["error"]
        # another session queues behind it; a third finds the queue (1) full
        r = b.post("/api/inpaint", files=files, data={"methods": "telea"})
        assert r.status_code == 202
        queued = r.json()
        assert queued["state"] == "queued" and queued["position"] == 0
        r = c.post("/api/inpaint", files=files, data={"methods": "telea"})
        assert r.status_code == 503 and "the server is busy" in r.json()["error"]
        # progress comes from the method's callback
        t0 = time.monotonic()
        while a.get(f"/api/jobs/{job['id']}").json()["runs"][0]["step"] < 3:
            assert time.monotonic() - t0 < 60
            time.sleep(0.05)
        st = a.get(f"/api/jobs/{job['id']}").json()
        assert st["state"] == "running" and 0 < st["progress"] < 1
        assert st["runs"][0]["total"] == 100000
        a.post(f"/api/jobs/{job['id']}/cancel")
        st = wait_done(a, job["id"])
        assert st["state"] == "cancelled" and st["runs"][0]["state"] == "cancelled"
        assert st["runs"][0]["result"] is None and st["runs"][0]["step"] < 100000
        # the queued job runs next; the first session may start a new one
        st = wait_done(b, queued["id"])
        assert st["state"] == "done" and st["runs"][0]["result"]
        r = a.post("/api/inpaint", files=files, data={"methods": "telea", "wait": "true"})
        assert r.status_code == 200 and r.json()["state"] == "done"
        # a waiting job can be cancelled before it starts
        r = a.post("/api/inpaint", files=files, data=slow)
        first = r.json()["id"]
        r = b.post("/api/inpaint", files=files, data={"methods": "telea"})
        second = r.json()["id"]
        st = b.post(f"/api/jobs/{second}/cancel").json()
        assert st["state"] == "cancelled" and st["runs"][0]["state"] == "cancelled"
        a.post(f"/api/jobs/{first}/cancel")
        assert wait_done(a, first)["state"] == "cancelled"


@pytest.mark.usefixtures("one_torch_thread")
def test_time_limit_keeps_the_result_so_far(photo):
    pytest.importorskip("torch")
    img, mask = photo
    app = create_app(job_timeout=1.5)
    with TestClient(app, raise_server_exceptions=False) as c:
        opts = {"dip": {"iterations": 100000, "depth": 2, "channels": 4, "skip_channels": 0}}
        r = c.post("/api/inpaint", files=inpaint_files(img, mask),
                   data={"methods": "dip,telea", "options": json.dumps(opts), "wait": "true"})
        st = r.json()
        dip, telea = st["runs"]
        assert dip["state"] == "stopped" and "time limit" in dip["note"] and dip["result"]
        assert 0 < dip["step"] < 100000
        assert telea["state"] == "stopped" and "not started" in telea["note"]
        panel = c.get(dip["explain"]).json()
        assert panel["facts"]["stopped"] == "True"


@pytest.mark.usefixtures("one_torch_thread")
def test_dip_panel_shows_snapshots_and_loss(client, photo):
    pytest.importorskip("torch")
    import xml.etree.ElementTree as ET

    img, mask = photo
    opts = {"dip": {"iterations": 30, "depth": 2, "channels": 4, "skip_channels": 0}}
    job = client.post("/api/inpaint", files=inpaint_files(img, mask),
                      data={"methods": "dip", "options": json.dumps(opts), "seed": "0",
                            "wait": "true"}).json()
    run = job["runs"][0]
    assert run["state"] == "done" and run["step"] == run["total"] == 30
    panel = client.get(run["explain"]).json()
    assert "Deep Image Prior" in panel["paper"]
    snaps, loss = panel["figures"]
    assert snaps["kind"] == "animation" and len(snaps["frames"]) >= 3 and snaps["labels"][0] == "step 0"
    assert loss["kind"] == "chart" and loss["frames"][0].startswith("data:image/svg+xml;base64,")
    import base64

    svg = ET.fromstring(base64.b64decode(loss["frames"][0].split(",", 1)[1]))
    assert svg.tag.endswith("svg") and any(e.tag.endswith("polyline") for e in svg.iter())


def test_stylize_analogy_panel(client):
    content, style = data.photo("chelsea", 40), data.photo("immunohistochemistry", 56)
    r = client.post("/api/stylize", files={"content": ("c.png", png(content), "image/png"),
                                           "style": ("s.png", png(style), "image/png")},
                    data={"methods": "analogy", "seed": "0", "wait": "true"})
    assert r.status_code == 200, r.text
    run = r.json()["runs"][0]
    assert run["state"] == "done"
    out = decode(client.get(run["result"]).content)
    assert out.shape == (40, 40, 3)
    panel = client.get(run["explain"]).json()
    caps = [f["caption"] for f in panel["figures"]]
    assert caps[0].startswith("Source map") and caps[2].startswith("Coherence map")
    import base64

    source, key = (decode(base64.b64decode(f["frames"][0].split(",", 1)[1])) for f in panel["figures"][:2])
    assert source.shape == (40, 40, 3) and key.shape == (56, 56, 3)   # positions in A (the style)
    # every output pixel's colour is the key's colour at its source: it appears in the key
    key_colours = {tuple(c) for c in key.reshape(-1, 3)}
    assert all(tuple(c) in key_colours for c in source.reshape(-1, 3))
    assert "Hertzmann" in panel["paper"]
    r = client.post("/api/stylize", files={"content": ("c.png", png(content), "image/png")},
                    data={"methods": "analogy"})
    assert r.status_code == 422 and "style: Field required" in r.json()["error"]


@pytest.mark.usefixtures("one_torch_thread")
def test_gatys_panel_has_loss_curves_and_intermediates(client):
    pytest.importorskip("torch")
    content, style = data.photo("chelsea", 64), data.photo("immunohistochemistry", 64)
    r = client.post("/api/stylize", files={"content": ("c.png", png(content), "image/png"),
                                           "style": ("s.png", png(style), "image/png")},
                    data={"methods": "gatys", "seed": "0", "wait": "true",
                          "options": json.dumps({"gatys": {"iterations": 5,
                                                           "style_layers": "relu1_2,relu2_2"}})})
    run = r.json()["runs"][0]
    if run["state"] == "error" and "weights" in run["error"].lower():
        pytest.skip(f"VGG16 weights unavailable: {run['error']}")
    assert run["state"] == "done", run
    panel = client.get(run["explain"]).json()
    chart, inter = panel["figures"]
    assert chart["kind"] == "chart" and inter["kind"] == "animation"
    assert inter["labels"] == ["step 1", "step 2", "step 3", "step 4", "step 5"]


def test_samples(client):
    names = client.get("/api/samples").json()
    assert "astronaut" in names["photos"] and "brick" in names["textures"]
    r = client.get("/api/samples/astronaut.png?size=48")
    assert r.status_code == 200 and decode(r.content).shape == (48, 48, 3)
    assert np.array_equal(decode(r.content), np.round(data.photo("astronaut", 48) * 255).astype(np.uint8))
    r = client.get("/api/samples/passwd.png")
    assert r.status_code == 400 and "unknown sample" in r.json()["error"]
    r = client.get("/api/samples/astronaut.png?size=5000")
    assert r.status_code == 400 and "size must be in [32, 1024]" in r.json()["error"]


def test_loopback():
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.4")


def test_type_is_read_from_the_header_not_the_name(client, photo):
    img, mask = photo
    ok, jpg = cv2.imencode(".jpg", np.round(img[:, :, ::-1] * 255).astype(np.uint8))
    assert ok
    files = {"image": ("photo.png", jpg.tobytes(), "image/png"),      # a JPEG named .png
             "mask": ("mask.bmp", png(mask.astype(np.float32)), "image/bmp")}
    job = client.post("/api/inpaint", files=files, data={"methods": "telea", "wait": "true"}).json()
    assert job["state"] == "done" and job["runs"][0]["state"] == "done"


@pytest.mark.usefixtures("one_torch_thread")
def test_shutdown_cancels_running_jobs(photo):
    pytest.importorskip("torch")
    img, mask = photo
    app = create_app()
    opts = {"dip": {"iterations": 100000, "depth": 2, "channels": 4, "skip_channels": 0}}
    with TestClient(app, raise_server_exceptions=False) as c:
        job = c.post("/api/inpaint", files=inpaint_files(img, mask),
                     data={"methods": "dip", "options": json.dumps(opts)}).json()
        t0 = time.monotonic()
        while c.get(f"/api/jobs/{job['id']}").json()["state"] != "running":
            assert time.monotonic() - t0 < 60
            time.sleep(0.05)
    jobs = app.state.jobs
    t0 = time.monotonic()
    while jobs._worker.is_alive():       # the worker stops at the method's next step
        assert time.monotonic() - t0 < 60
        time.sleep(0.05)
    assert jobs.get(job["id"]).state == "cancelled"


def test_cross_origin_posts_and_foreign_hosts_are_refused(photo):
    img, mask = photo
    app = create_app(allowed_hosts=["testserver", "127.0.0.1"])
    with TestClient(app, raise_server_exceptions=False) as c:
        files = inpaint_files(img, mask)
        r = c.post("/api/inpaint", files=files, data={"methods": "telea"},
                   headers={"origin": "http://evil.example"})
        assert r.status_code == 403 and "cross-origin request" in r.json()["error"]
        r = c.post("/api/inpaint", files=files, data={"methods": "telea", "wait": "true"},
                   headers={"origin": "http://testserver"})
        assert r.status_code == 200 and r.json()["state"] == "done"
        r = c.get("/api/methods", headers={"host": "evil.example"})
        assert r.status_code == 400 and "answers to testserver, 127.0.0.1 only" in r.json()["error"]
