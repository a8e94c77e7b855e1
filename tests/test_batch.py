"""imgkit.batch on a real Dask cluster: results, manifest, resume, bad inputs, a killed worker.

One LocalCluster of 2 worker processes is shared by the module (start-up costs seconds); the
test that kills a worker runs last. Methods: ``telea`` (fast, deterministic).
"""

import json
import os
import shutil
import time

import numpy as np
import pytest

import imgkit
from imgkit import data
from imgkit.cli import main

distributed = pytest.importorskip("distributed")
batch = pytest.importorskip("imgkit.batch")

NAMES = ("astronaut", "coffee", "chelsea", "rocket", "immunohistochemistry", "hubble_deep_field",
         "brick", "grass", "gravel", "camera", "coins", "cat")
SEED = 7


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    """12 real photos (36–48 px, PNG) in images/, their masks (same stem) in masks/."""
    root = tmp_path_factory.mktemp("photos")
    (root / "images").mkdir()
    (root / "masks").mkdir()
    for i, name in enumerate(NAMES):
        size = (36 + 4 * (i % 4), 48 - 4 * (i % 3))
        imgkit.save_image(root / "images" / f"{name}.png", data.photo(name, size))
        m = data.mask(data.MASK_KINDS[i % 4], size, seed=i)
        imgkit.save_image(root / "masks" / f"{name}.png", m.astype(np.float32))
    return root


@pytest.fixture(scope="module")
def expected(photos):
    """What imgkit.inpaint gives for each image alone (8-bit, as written)."""
    out = {}
    for name in NAMES:
        img = imgkit.load_image(photos / "images" / f"{name}.png")
        mask = imgkit.load_mask(photos / "masks" / f"{name}.png")
        res = imgkit.inpaint(img, mask, method="telea", seed=SEED)
        out[name] = np.round(res * 255).astype(np.uint8)
    return out


@pytest.fixture(scope="module")
def client():
    cluster = batch.local_cluster(2)
    c = distributed.Client(cluster)
    yield c
    c.close()
    cluster.close()


def _check_outputs(out_dir, expected, keys=NAMES):
    for key in keys:
        np.testing.assert_array_equal(imgkit.load_image(out_dir / f"{key}.png"), expected[key])
    assert not [p.name for p in out_dir.iterdir() if p.name.startswith(".")], "temporary files left"


def _wait_idle(client, timeout=30.0):
    t0 = time.monotonic()
    while any(client.processing().values()) and time.monotonic() - t0 < timeout:
        time.sleep(0.05)


def test_pairing_rules(tmp_path):
    imgs, masks = tmp_path / "imgs", tmp_path / "masks"
    imgs.mkdir()
    masks.mkdir()
    for name in ("a.jpg", "b.png", "c.png", ".hidden.png", "notes.txt"):
        (imgs / name).write_bytes(b"x")
    for name in ("a.png", "b.jpg", "b.png"):
        (masks / name).write_bytes(b"x")
    items = batch.inpaint_inputs(imgs, masks)
    assert [(it.key, os.path.basename(it.paths[1])) for it in items] == [
        ("a", "a.png"), ("b", "b.png"), ("c", "")]  # b: the image's own extension wins
    assert items[2].error is not None and "c.png" in items[2].error and "missing mask" in items[2].error
    # masks beside their images, by pattern; mask files are not taken for images
    (imgs / "a_mask.png").write_bytes(b"x")
    (imgs / "b_mask.png").write_bytes(b"x")
    items = batch.inpaint_inputs(imgs, pattern="{stem}_mask.png")
    assert [(it.key, os.path.basename(it.paths[1]), it.error is None) for it in items] == [
        ("a", "a_mask.png", True), ("b", "b_mask.png", True), ("c", "", False)]
    with pytest.raises(imgkit.InvalidOptionError, match="pattern"):
        batch.inpaint_inputs(imgs, imgs)
    with pytest.raises(imgkit.InvalidOptionError, match=r"\{stem\}"):
        batch.inpaint_inputs(imgs, masks, pattern="mask.png")
    with pytest.raises(imgkit.ImageFileNotFoundError, match="nope"):
        batch.inpaint_inputs(tmp_path / "nope", masks)
    # stylize: one style file, or every content in every style of a folder
    styles = tmp_path / "styles"
    styles.mkdir()
    (styles / "wave.png").write_bytes(b"x")
    (styles / "ink.png").write_bytes(b"x")
    assert [it.key for it in batch.stylize_inputs(masks, styles / "wave.png")] == ["a", "b_jpg", "b_png"]
    its = batch.stylize_inputs(masks / "a.png", styles)
    assert [(it.key, os.path.basename(it.paths[1])) for it in its] == [("a__ink", "ink.png"),
                                                                       ("a__wave", "wave.png")]
    # analogies: one example pair, or pairs by stem from two folders
    its = batch.analogy_inputs(masks, styles / "ink.png", styles / "wave.png")
    assert [it.key for it in its] == ["a", "b_jpg", "b_png"]
    assert [os.path.basename(p) for p in its[0].paths] == ["ink.png", "wave.png", "a.png"]
    with pytest.raises(imgkit.ImageFileNotFoundError, match="ink.png"):
        batch.analogy_inputs(masks, styles, masks)  # no A' partner for ink, wave
    with pytest.raises(imgkit.InvalidOptionError, match="same output 'x'"):
        batch.run("inpaint", [("d1/x.png", "m.png"), ("d2/x.png", "m.png")], method="telea",
                  out_dir=tmp_path / "o")
    with pytest.raises(imgkit.InvalidOptionError, match=r"\(image, mask\)"):
        batch.run("inpaint", [("x.png",)], method="telea", out_dir=tmp_path / "o")


def test_checks_before_anything_runs(tmp_path, client):
    items = [("a.png", "m.png")]
    with pytest.raises(imgkit.UnknownMethodError, match="teela"):
        batch.run("inpaint", items, method="teela", out_dir=tmp_path)
    with pytest.raises(imgkit.InvalidOptionError, match="radius"):
        batch.run("inpaint", items, method="telea", out_dir=tmp_path, radius=0.0)
    with pytest.raises(imgkit.InvalidOptionError, match="workers"):
        batch.run("inpaint", items, method="telea", out_dir=tmp_path, scheduler=client, workers=2)
    # tasks for device="cuda" go only to workers declaring a GPU: none here, so refuse, don't hang
    with pytest.raises(batch.BatchError, match="GPU=1"):
        batch.run("inpaint", items, method="telea", out_dir=tmp_path, scheduler=client, device="cuda")
    import dask

    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}), \
            pytest.raises(batch.BatchError, match="dask scheduler"):
        batch.run("inpaint", items, method="telea", out_dir=tmp_path, scheduler="tcp://127.0.0.1:9")


def test_folder_equals_single_calls(photos, expected, client, tmp_path):
    items = batch.inpaint_inputs(photos / "images", photos / "masks")
    out = tmp_path / "out"
    s = batch.run("inpaint", items, method="telea", out_dir=out, scheduler=client, seed=SEED)
    assert s.ok and sorted(s.done) == sorted(NAMES) and not s.skipped and not s.failed
    assert s.workers == 2 and s.images_per_s > 0
    _check_outputs(out, expected)
    recs = batch.read_manifest(out)
    assert sorted(r["key"] for r in recs) == sorted(NAMES)
    for r in recs:
        img, mask = photos / "images" / f"{r['key']}.png", photos / "masks" / f"{r['key']}.png"
        assert (r["status"], r["method"], r["options"], r["seed"], r["seed_used"], r["error"]) == \
            ("done", "telea", {"radius": 3.0, "region": "full", "region_margin": None, "mask_dilate": 0,
                               "mask_feather": 0}, SEED, SEED, None)
        assert [(i["path"], i["size"], i["mtime_ns"]) for i in r["inputs"]] == [
            (str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in (img, mask)]
        assert r["output"] == f"{r['key']}.png"
        assert r["output_size"] == (out / r["output"]).stat().st_size and r["seconds"] > 0
        assert r["threads"] == max(1, batch._cluster._cores() // 2)  # the per-worker thread budget


def test_stop_then_resume_does_only_the_rest(photos, expected, client, tmp_path):
    items = batch.inpaint_inputs(photos / "images", photos / "masks")
    out = tmp_path / "out"
    kw = dict(method="telea", out_dir=out, scheduler=client, seed=SEED)
    s1 = batch.run("inpaint", items, callback=lambda rec, s: len(s.done) >= 5, **kw)
    assert s1.stopped and len(s1.done) == 5 and s1.remaining == 7 and not s1.ok
    _wait_idle(client)  # tasks already running when the run stopped still finish on the workers
    with pytest.raises(imgkit.InvalidOptionError, match="resume"):
        batch.run("inpaint", items, **kw)  # finished outputs are never overwritten by accident
    s2 = batch.run("inpaint", items, resume=True, **kw)
    assert sorted(s2.skipped) == sorted(s1.done)
    assert sorted(s2.done) == sorted(set(NAMES) - set(s1.done))
    recs = batch.read_manifest(out)
    runs = {}
    for r in recs:
        assert r["status"] == "done"
        runs.setdefault(r["run"], []).append(r["key"])
    assert sorted(len(v) for v in runs.values()) == [5, 7]  # each input computed exactly once
    _check_outputs(out, expected)
    # nothing left: no cluster needed, no records added
    s3 = batch.run("inpaint", items, resume=True, **kw)
    assert len(s3.skipped) == 12 and not s3.done and s3.workers == 0
    assert len(batch.read_manifest(out)) == 12
    # a changed input, a replaced output: only those run again
    st = (photos / "masks" / "coins.png").stat()
    os.utime(photos / "masks" / "coins.png", ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    (out / "cat.png").write_bytes((out / "cat.png").read_bytes())
    s4 = batch.run("inpaint", items, resume=True, **kw)
    assert sorted(s4.done) == ["cat", "coins"] and len(s4.skipped) == 10
    # other options: everything runs again
    s5 = batch.run("inpaint", items, resume=True, radius=5.0, **kw)
    assert len(s5.done) == 12 and not s5.skipped


def test_interrupt_keeps_what_is_finished(photos, client, tmp_path):
    items = batch.inpaint_inputs(photos / "images", photos / "masks")

    def ctrl_c(rec, s):
        if len(s.done) == 3:
            raise KeyboardInterrupt

    with pytest.raises(batch.BatchInterrupted) as exc:
        batch.run("inpaint", items, method="telea", out_dir=tmp_path, scheduler=client, callback=ctrl_c)
    assert isinstance(exc.value, KeyboardInterrupt) and len(exc.value.summary.done) == 3
    assert [r["key"] for r in batch.read_manifest(tmp_path)] == exc.value.summary.done


def test_bad_inputs_are_recorded_and_the_rest_goes_on(photos, expected, client, tmp_path, capsys):
    imgs, masks, out = tmp_path / "imgs", tmp_path / "masks", tmp_path / "out"
    imgs.mkdir()
    masks.mkdir()
    good = NAMES[:4]
    for name in good:
        shutil.copy(photos / "images" / f"{name}.png", imgs)
        shutil.copy(photos / "masks" / f"{name}.png", masks)
    (imgs / "notes.png").write_text("these are my notes, not a picture")
    png = (photos / "images" / "cat.png").read_bytes()
    (imgs / "truncated.png").write_bytes(png[: len(png) // 2])
    shutil.copy(photos / "images" / "cat.png", imgs / "wrongsize.png")
    imgkit.save_image(masks / "wrongsize.png", np.ones((20, 20), np.float32))
    shutil.copy(photos / "images" / "coins.png", imgs / "nomask.png")
    for name in ("notes", "truncated"):
        shutil.copy(photos / "masks" / "cat.png", masks / f"{name}.png")
    rc = main(["batch", "inpaint", str(imgs), "--masks", str(masks), "-o", str(out), "-m", "telea",
               "--seed", str(SEED), "--scheduler", client.scheduler.address, "--no-progress"])
    text = capsys.readouterr().out
    assert rc == 1, text
    assert "8 inputs: 4 done, 0 skipped, 4 failed" in text
    _check_outputs(out, expected, good)
    recs = {r["key"]: r for r in batch.read_manifest(out)}
    assert {k for k, r in recs.items() if r["status"] == "done"} == set(good)
    problems = {
        "notes": ("notes.png", "is not a readable image"),
        "truncated": ("truncated.png", "is not a readable image"),
        "wrongsize": ("wrongsize.png", "is 20x20 pixels but its image"),
        "nomask": ("nomask.png", "missing mask"),
    }
    for key, (fname, problem) in problems.items():
        err = recs[key]["error"]
        assert recs[key]["status"] == "failed" and fname in err and problem in err, err
        assert f"{key}: " in text and problem in text
        assert not (out / f"{key}.png").exists()


def test_stylize_and_analogy_batches(tmp_path, photos):
    """Stylise / analogy plumbing, on an in-process cluster with two small test-only methods."""
    from imgkit import registry

    @registry.register("_test_reinhard", task="stylize", family="classical",
                       reference="E. Reinhard et al., 'Color Transfer between Images', IEEE CG&A 2001",
                       summary="test only: per-channel mean/std colour transfer")
    def reinhard(content, styles, *, ctx):
        s = styles[0]
        c_mu, c_sd = content.mean((0, 1)), content.std((0, 1)) + 1e-6
        return np.clip((content - c_mu) / c_sd * s.std((0, 1)) + s.mean((0, 1)), 0, 1), None

    @registry.register("_test_gain", task="analogy", family="classical",
                       reference="per-channel gain A -> A' (test only)", summary="test only")
    def gain(a, a_prime, b, *, ctx):
        return np.clip(b * (a_prime.mean((0, 1)) / (a.mean((0, 1)) + 1e-6)), 0, 1), None

    calls = []

    @registry.register("_test_buggy", task="stylize", family="classical", reference="none (test only)",
                       summary="test only: a bug on 40x44 images")
    def buggy(content, styles, *, ctx):
        calls.append(content.shape[:2])
        if content.shape[:2] == (40, 44):
            raise ZeroDivisionError("a bug, not a bad input")
        return content, None

    cluster = distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                       dashboard_address=":0")
    client = distributed.Client(cluster)
    try:
        contents = photos / "images"
        styles = tmp_path / "styles"
        styles.mkdir()
        for name in ("chelsea", "brick"):
            shutil.copy(contents / f"{name}.png", styles)
        items = batch.stylize_inputs(contents / "astronaut.png", styles)
        items += batch.stylize_inputs(contents / "coffee.png", styles / "brick.png")
        s = batch.run("stylize", items, method="_test_reinhard", out_dir=tmp_path / "st", scheduler=client)
        assert s.ok and sorted(s.done) == ["astronaut__brick", "astronaut__chelsea", "coffee"]
        for key, (c, st) in {"astronaut__brick": ("astronaut", "brick"), "coffee": ("coffee", "brick"),
                             "astronaut__chelsea": ("astronaut", "chelsea")}.items():
            want = imgkit.stylize(imgkit.load_image(contents / f"{c}.png"),
                                  imgkit.load_image(styles / f"{st}.png"), method="_test_reinhard")
            np.testing.assert_array_equal(imgkit.load_image(tmp_path / "st" / f"{key}.png"),
                                          np.round(want * 255).astype(np.uint8))
        a, ap = contents / "camera.png", tmp_path / "camera_dark.png"
        imgkit.save_image(ap, imgkit.load_image(a) // 2)
        items = batch.analogy_inputs(contents, a, ap)[:3]
        s = batch.run("analogy", items, method="_test_gain", out_dir=tmp_path / "an", scheduler=client)
        assert s.ok and len(s.done) == 3, str(s)
        for it in items:
            want = imgkit.analogy(*(imgkit.load_image(p) for p in it.paths), method="_test_gain")
            np.testing.assert_array_equal(imgkit.load_image(tmp_path / "an" / f"{it.key}.png"),
                                          np.round(want * 255).astype(np.uint8))
        # an unexpected exception is retried `retries` times, then recorded; the rest goes on
        items = batch.stylize_inputs(contents, styles / "brick.png")[:3]  # astronaut, brick, camera
        items.append(batch.stylize_inputs(contents / "coffee.png", styles / "brick.png")[0])
        s = batch.run("stylize", items, method="_test_buggy", out_dir=tmp_path / "bug", scheduler=client,
                      retries=1)
        assert sorted(s.done) == ["astronaut", "brick", "camera"] and list(s.failed) == ["coffee"]
        assert "ZeroDivisionError" in s.failed["coffee"] and "coffee.png" in s.failed["coffee"]
        assert calls.count((40, 44)) == 2  # first try + 1 retry
        assert not (tmp_path / "bug" / "coffee.png").exists()
    finally:
        client.close()
        cluster.close()
        registry._REGISTRY.pop(("stylize", "_test_buggy"), None)
        registry._REGISTRY.pop(("stylize", "_test_reinhard"), None)
        registry._REGISTRY.pop(("analogy", "_test_gain"), None)


def test_cuda_tasks_run_only_on_gpu_workers(photos, tmp_path):
    """device="cuda" tasks request GPU=1: with one worker declaring it, all of them run there.

    The CUDA path runs in Numba's simulator here (tests/conftest.py); the workers are in-process
    so that they see the test-only method registered below.
    """
    from imgkit import registry

    @registry.register("_test_mean_fill", task="inpaint", family="classical", backend="numba",
                       devices=("cpu", "cuda"), reference="none (test only)",
                       summary="test only: fill with the mean known colour")
    def mean_fill(image, mask, *, ctx):
        xp = ctx.xp
        return xp.where(mask[:, :, None], image[~mask].mean(axis=0), image), None

    spec = {"cls": distributed.Worker, "options": {"nthreads": 1}}
    gpu = {"cls": distributed.Worker, "options": {"nthreads": 1, "resources": {"GPU": 1}}}
    cluster = distributed.SpecCluster(
        scheduler={"cls": distributed.Scheduler, "options": {"dashboard_address": ":0"}},
        workers={"cpu": spec, "gpu": gpu})
    client = distributed.Client(cluster)
    try:
        client.wait_for_workers(2)
        gpu_addr = [a for a, w in client.scheduler_info()["workers"].items() if w.get("resources")]
        items = batch.inpaint_inputs(photos / "images", photos / "masks")
        s = batch.run("inpaint", items, method="_test_mean_fill", out_dir=tmp_path, scheduler=client,
                      device="cuda")
        assert s.ok and len(s.done) == 12, str(s)
        recs = batch.read_manifest(tmp_path)
        assert {(r["worker"], r["device_used"]) for r in recs} == {(gpu_addr[0], "cuda")}
    finally:
        client.close()
        cluster.close()
        registry._REGISTRY.pop(("inpaint", "_test_mean_fill"), None)


def test_cli_end_to_end_on_a_local_cluster(photos, tmp_path, capsys):
    imgs, out = tmp_path / "imgs", tmp_path / "out"
    imgs.mkdir()
    for name in NAMES[:3]:
        shutil.copy(photos / "images" / f"{name}.png", imgs / f"{name}.png")
        shutil.copy(photos / "masks" / f"{name}.png", imgs / f"{name}_mask.png")
    argv = ["batch", "inpaint", str(imgs), "--masks", str(imgs), "--mask-pattern", "{stem}_mask.png",
            "-o", str(out), "--method", "telea", "--radius", "5", "--seed", "2", "--workers", "1",
            "--no-progress"]
    rc = main(argv)
    text = capsys.readouterr().out
    assert rc == 0, text
    assert "3 inputs: 3 done, 0 skipped, 0 failed" in text and "images/s on 1 worker" in text
    for name in NAMES[:3]:
        img, mask = imgkit.load_image(imgs / f"{name}.png"), imgkit.load_mask(imgs / f"{name}_mask.png")
        want = np.round(imgkit.inpaint(img, mask, method="telea", radius=5) * 255).astype(np.uint8)
        np.testing.assert_array_equal(imgkit.load_image(out / f"{name}.png"), want)
    recs = batch.read_manifest(out)
    assert [r["options"] for r in recs] == [{"radius": 5.0, "region": "full", "region_margin": None,
                                             "mask_dilate": 0, "mask_feather": 0}] * 3
    assert {r["threads"] for r in recs} == {batch._cluster._cores()}  # one worker gets every core
    assert main(argv) == 2 and "--resume" in capsys.readouterr().err
    assert main([*argv, "--resume"]) == 0
    assert "3 skipped" in capsys.readouterr().out
    assert main(["batch", "inpaint", str(imgs), "--masks", str(imgs), "-o", str(out), "-m", "telea"]) == 2
    assert "pattern" in capsys.readouterr().err
    assert main(["batch", "inpaint", str(imgs)]) == 2  # usage error: one line, nothing run
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
    assert main(["batch", "inpaint", str(imgs), "--masks", str(imgs), "--mask-pattern", "{stem}_mask.png",
                 "-o", str(out), "-m", "telea", "--radius", "0"]) == 2
    assert "radius" in capsys.readouterr().err


def test_a_killed_worker_loses_nothing(photos, expected, client, tmp_path, monkeypatch):
    """One task os._exit()s its worker process half-way through writing its output (once)."""
    marker = tmp_path / "crashed.json"
    monkeypatch.setenv(batch.CRASH_ONCE_ENV, str(marker))
    items = batch.inpaint_inputs(photos / "images", photos / "masks")
    out = tmp_path / "out"
    s = batch.run("inpaint", items, method="telea", out_dir=out, scheduler=client, seed=SEED)
    crash = json.loads(marker.read_text())  # the hook did fire
    with pytest.raises(ProcessLookupError):
        os.kill(crash["pid"], 0)  # and that worker process is gone
    assert s.ok and sorted(s.done) == sorted(NAMES), str(s)
    _check_outputs(out, expected)  # includes: no half-written temporary file left
    recs = {r["key"]: r for r in batch.read_manifest(out)}
    assert len(recs) == 12 and all(r["status"] == "done" for r in recs.values())
    assert recs[crash["key"]]["pid"] != crash["pid"]
    client.wait_for_workers(2, timeout=60)
