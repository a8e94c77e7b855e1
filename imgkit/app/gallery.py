"""``imgkit gallery --out DIR``: the app's comparisons as a static HTML page, for teaching offline.

Each inpainting case (a sample photo from :mod:`imgkit.data` with a seeded hole) is filled by
classical and deep methods on the same inputs; each style case (a content photo and a style
image) is rendered by the style methods. Every result comes with its time, the PSNR of the hole
against the real photo (inpainting), and its "How it works" panel (:mod:`imgkit.app.explain`):
the same figures the app shows, written as PNG/SVG files beside ``index.html``. The page needs
no server and no network; a few lines of inline JavaScript play the animations.

The defaults keep the page fast to build (two 96-pixel photos, one style pair; Deep Image Prior
and Gatys with few steps: 159 s on a 2-core machine busy at load ~20 with one PyTorch thread);
``--slow`` adds the slow methods at their registry defaults, and ``--methods`` / ``--option``
choose anything else.
"""

from __future__ import annotations

import html
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ImgkitError, InvalidOptionError

__all__ = ["DEFAULT_INPAINT", "DEFAULT_STYLE", "FAST_OPTIONS", "GalleryEntry", "build_gallery"]

#: Inpainting methods of the default page: classical, then deep.
DEFAULT_INPAINT = ("telea", "biharmonic", "criminisi", "patchmatch", "dip")
#: Style methods of the default page.
DEFAULT_STYLE = ("analogy", "gatys")
#: Methods ``--slow`` adds (when registered and available).
SLOW_INPAINT = ("ns", "fsr_fast", "shiftmap")
SLOW_STYLE: tuple[str, ...] = ()
#: Options that keep the default page fast; ``--slow`` drops them (registry defaults).
FAST_OPTIONS: dict[str, dict[str, Any]] = {
    "dip": {"iterations": 300},
    "gatys": {"iterations": 40},
}


@dataclass
class GalleryEntry:
    """One result on the page."""

    method: str
    family: str
    seconds: float
    image: str
    psnr: float | None = None
    error: str | None = None
    explain: dict[str, Any] | None = None
    options: dict[str, Any] = field(default_factory=dict)


def _psnr_hole(out: np.ndarray, truth: np.ndarray, mask: np.ndarray) -> float:
    d = (np.asarray(out, np.float64) - truth)[mask]
    mse = float(np.mean(d * d))
    return float("inf") if mse == 0 else 10.0 * np.log10(1.0 / mse)


def _method_list(task: str, names: Sequence[str], slow: bool) -> list[Any]:
    from ..registry import get_method, list_methods

    registered = {s.name for s in list_methods(task)}
    extra = (SLOW_INPAINT if task == "inpaint" else SLOW_STYLE) if slow else ()
    specs = []
    for name in list(names) + [n for n in extra if n not in names]:
        if name not in registered:
            if name in extra:
                continue
            get_method(name, task)  # raises UnknownMethodError with the list
        specs.append(get_method(name, task))
    order = {"classical": 0, "deep": 1}
    return sorted(specs, key=lambda s: order[s.family])


def _run(task: str, spec: Any, inputs: dict[str, np.ndarray], options: dict[str, Any], seed: int,
         folder: Path, prefix: str, truth: np.ndarray | None) -> GalleryEntry:
    from .. import api
    from .explain import encode_png, explain, write_figures

    captured: list[tuple[str, np.ndarray]] = []

    def callback(step: int, total: int, state: dict[str, Any]) -> None:
        img = state.get("image") if isinstance(state, dict) else None
        if img is not None and (step & (step - 1) == 0 or step == total):
            from .pictures import as_rgb, shrink

            captured.append((f"step {step}", shrink(as_rgb(img))))

    entry = GalleryEntry(method=spec.name, family=spec.family, seconds=0.0, image="",
                         options=dict(options))
    if not spec.available:
        entry.error = f"unavailable: {spec.missing()}"
        return entry
    t0 = time.perf_counter()
    try:
        if task == "inpaint":
            out, info = api.inpaint(inputs["image"], inputs["mask"], method=spec.name, seed=seed,
                                    return_info=True, callback=callback, **options)
        else:
            out, info = api.stylize(inputs["content"], inputs["style"], method=spec.name, seed=seed,
                                    return_info=True, callback=callback, **options)
    except ImgkitError as exc:
        entry.error = str(exc)
        entry.seconds = time.perf_counter() - t0
        return entry
    entry.seconds = time.perf_counter() - t0
    name = f"{prefix}-{spec.name}.png"
    (folder / name).write_bytes(encode_png(out))
    entry.image = f"{folder.name}/{name}"
    if truth is not None:
        entry.psnr = _psnr_hole(out, truth, inputs["mask"])
    ex = explain(spec.name, info, inputs=inputs, result=out, intermediates=captured,
                 reference=spec.reference, summary=spec.summary)
    entry.explain = write_figures(ex, folder, f"{prefix}-{spec.name}")
    return entry


# ----------------------------------------------------------------------------- HTML

_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:0 auto;max-width:1400px;padding:12px 20px;color:#1d2330}
h1{font-size:22px}h2{font-size:18px;margin-top:28px;border-bottom:1px solid #d6dae1}
.row{display:grid;grid-template-columns:repeat(auto-fill,minmax(220px,1fr));gap:12px}
.card{border:1px solid #d6dae1;border-radius:8px;padding:8px}
.card img.result{width:100%;image-rendering:pixelated;display:block}
.card h3{margin:0 0 4px;font-size:15px}.meta{color:#667085;font-size:12px}
.family{font-size:11px;color:#fff;border-radius:9px;padding:0 6px}
.classical{background:#0f766e}.deep{background:#7c3aed}.error{color:#b42318}
details.how{margin:6px 0;border:1px solid #d6dae1;border-radius:8px;padding:4px 8px}
details.how summary{cursor:pointer;font-weight:600}.card{overflow-wrap:anywhere}
.figs{display:grid;grid-template-columns:repeat(auto-fill,minmax(220px,1fr));gap:12px}
figure{margin:8px 0;min-width:0}
figure img.view{width:100%;max-width:420px;display:block;border:1px solid #d6dae1}
figure.pixelated img{image-rendering:pixelated}figcaption{font-size:12px;color:#667085}
.frames{display:flex;gap:3px;overflow-x:auto}.frames img{height:40px;cursor:pointer}
.paper{font-size:12px;color:#667085}
"""

_JS = """
document.querySelectorAll('figure[data-kind=animation]').forEach(function(f){
  var view=f.querySelector('img.view'),thumbs=f.querySelectorAll('.frames img'),
      label=f.querySelector('.frame-label'),i=0;
  if(thumbs.length<2)return;
  function show(k){i=k;view.src=thumbs[k].src;label.textContent=thumbs[k].title;}
  var t=setInterval(function(){show((i+1)%thumbs.length)},400);
  thumbs.forEach(function(th,k){th.onclick=function(){clearInterval(t);show(k)}});
});
"""


def _run_all(task: str, specs: list[Any], inputs: dict[str, np.ndarray], plan: dict[str, Any], seed: int,
             img_dir: Path, prefix: str, truth: np.ndarray | None, case: str, cards: list[str],
             record: list[dict[str, Any]], say: Any) -> list[GalleryEntry]:
    """Run every method of one case: a card each (appended to ``cards``), a record each."""
    entries: list[GalleryEntry] = []
    for spec in specs:
        say(f"{task} {case}: {spec.name} …")
        entry = _run(task, spec, inputs, plan[spec.name], seed, img_dir, prefix, truth)
        cards.append(_card(entry))
        entries.append(entry)
        rec: dict[str, Any] = {"task": task, "case": case, "method": spec.name, "family": spec.family,
                               "seconds": round(entry.seconds, 4)}
        if task == "inpaint":
            rec["hole_psnr"] = None if entry.psnr is None else round(entry.psnr, 3)
        record.append({**rec, "options": plan[spec.name], "error": entry.error})
    return entries


def _explain_html(ex: dict[str, Any]) -> str:
    e = html.escape
    parts = [f"<details class=how><summary>How {e(ex['method'])} works</summary><p>{e(ex['text'])}</p>"]
    if ex.get("paper"):
        parts.append(f"<p class=paper>Paper: {e(ex['paper'])}</p>")
    parts.append("<div class=figs>")
    for fig in ex["figures"]:
        cls = "pixelated" if fig["pixelated"] else ""
        frames = fig["frames"]
        parts.append(f"<figure class='{cls}' data-kind='{e(fig['kind'])}' data-frame-count='{len(frames)}'>"
                     f"<img class=view src='{e(frames[0])}' alt='{e(fig['caption'])}'>")
        if fig["kind"] == "animation" and len(frames) > 1:
            labels = fig["labels"] or [""] * len(frames)
            parts.append(f"<div class=frame-label>{e(labels[0])}</div><div class=frames>")
            parts.extend(f"<img src='{e(src)}' title='{e(lab)}' alt='{e(lab)}'>"
                         for src, lab in zip(frames, labels))
            parts.append("</div>")
        parts.append(f"<figcaption>{e(fig['caption'])}</figcaption></figure>")
    parts.append("</div>")
    facts = "".join(f"{e(k)}: {e(v)}<br>" for k, v in ex.get("facts", {}).items())
    parts.append(f"<p class=meta>{facts}</p></details>")
    return "".join(parts)


def _card(entry: GalleryEntry) -> str:
    e = html.escape
    opts = ", ".join(f"{k}={v!r}" for k, v in entry.options.items())
    head = (f"<h3>{e(entry.method)} <span class='family {entry.family}'>{entry.family}</span></h3>")
    if entry.error:
        return f"<div class=card>{head}<p class=error>{e(entry.error)}</p></div>"
    meta = f"{entry.seconds:.2f} s"
    if entry.psnr is not None:
        meta += f" · hole PSNR {entry.psnr:.2f} dB"
    if opts:
        meta += f" · {opts}"
    body = f"<img class=result src='{e(entry.image)}' alt='{e(entry.method)} result'>"
    return f"<div class=card>{head}{body}<div class=meta>{e(meta)}</div></div>"


def _row(cards: list[str], entries: list[GalleryEntry]) -> str:
    """Results side by side, then their "How it works" panels under the row."""
    panels = "".join(_explain_html(x.explain) for x in entries if x.explain)
    return f"<div class=row>{''.join(cards)}</div><div class=panels>{panels}</div>"


def _input_card(title: str, src: str) -> str:
    e = html.escape
    return f"<div class=card><h3>{e(title)}</h3><img class=result src='{e(src)}' alt='{e(title)}'></div>"


# ----------------------------------------------------------------------------- build

def build_gallery(
    out: str | Path,
    *,
    size: int = 96,
    photos: Sequence[str] = ("astronaut", "coffee"),
    masks: Sequence[str] = ("thick",),
    methods: Sequence[str] = DEFAULT_INPAINT,
    style_methods: Sequence[str] = DEFAULT_STYLE,
    contents: Sequence[str] = ("chelsea",),
    styles: Sequence[str] = ("immunohistochemistry",),
    options: dict[str, dict[str, Any]] | None = None,
    slow: bool = False,
    seed: int = 0,
    overwrite: bool = False,
    log: Callable[[str], None] | None = print,
) -> Path:
    """Render the comparison page.

    Parameters
    ----------
    out : path
        Folder to write (created if missing): ``index.html``, ``results.json`` and ``img/``.
    size : int
        Side of the (square) sample images, 32–1024.
    photos, masks : sequence of str
        Inpainting cases: each photo of :data:`imgkit.data.PHOTOS` with each mask kind of
        :data:`imgkit.data.MASK_KINDS`.
    methods, style_methods : sequence of str
        Registered inpainting and style methods (empty: leave that section out).
    contents, styles : sequence of str
        Style cases: each content photo with each style image (sample names).
    options : dict, optional
        ``{method: {option: value}}`` on top of :data:`FAST_OPTIONS` (or the registry defaults
        with ``slow=True``).
    slow : bool
        Add the slow methods and run every method with its registry defaults.
    seed : int
        Seed of every method and every mask.
    overwrite : bool
        Replace an existing ``index.html`` in ``out``.
    log : callable or None
        Progress lines (default ``print``).

    Returns
    -------
    pathlib.Path
        The ``index.html`` written.
    """
    from .. import __version__, data

    if isinstance(size, bool) or not isinstance(size, int) or not 32 <= size <= 1024:
        raise InvalidOptionError(f"size must be an integer in [32, 1024]; got {size!r}")
    for name in list(photos) + list(contents) + list(styles):
        if name not in data.PHOTOS + data.TEXTURES:
            raise InvalidOptionError(
                f"unknown sample {name!r}; choose from {', '.join(data.PHOTOS + data.TEXTURES)}")
    for kind in masks:
        if kind not in data.MASK_KINDS:
            raise InvalidOptionError(f"unknown mask kind {kind!r}; choose from {list(data.MASK_KINDS)}")
    out = Path(out)
    index = out / "index.html"
    if index.exists() and not overwrite:
        raise InvalidOptionError(f"{str(index)!r} already exists; pass --overwrite to replace it")
    if out.exists() and not out.is_dir():
        raise InvalidOptionError(f"--out {str(out)!r} is a file, not a folder")
    ip_specs = _method_list("inpaint", methods, slow) if methods else []
    st_specs = _method_list("stylize", style_methods, slow) if style_methods else []
    user = options or {}
    all_names = {s.name for s in ip_specs + st_specs}
    unknown = sorted(set(user) - all_names)
    if unknown:
        raise InvalidOptionError(f"--option given for {unknown}, which are not among the methods "
                                 f"{sorted(all_names)}")

    def opts_for(spec: Any) -> dict[str, Any]:
        o = {} if slow else dict(FAST_OPTIONS.get(spec.name, {}))
        o.update(user.get(spec.name, {}))
        spec.check_options(o)  # fail before any work
        return o

    plan = {s.name: opts_for(s) for s in ip_specs + st_specs}
    img_dir = out / "img"
    img_dir.mkdir(parents=True, exist_ok=True)
    from .explain import encode_png

    say = log or (lambda _msg: None)
    sections: list[str] = []
    record: list[dict[str, Any]] = []
    t_all = time.perf_counter()
    if ip_specs:
        sections.append("<h2>Inpainting: classical and deep methods on the same holes</h2>")
        for photo_name in photos:
            truth = data.photo(photo_name, size)
            for kind in masks:
                mask = data.mask(kind, (size, size), seed=seed)
                prefix = f"ip-{photo_name}-{kind}"
                shown = truth.copy()
                shown[mask] = 0.5 * shown[mask] + 0.5 * np.array([1.0, 0.0, 0.25], np.float32)
                (img_dir / f"{prefix}-input.png").write_bytes(encode_png(shown))
                cards = [_input_card(f"{photo_name}, {kind} hole", f"img/{prefix}-input.png")]
                entries = _run_all("inpaint", ip_specs, {"image": truth, "mask": mask}, plan, seed,
                                   img_dir, prefix, truth, f"{photo_name}/{kind}", cards, record, say)
                sections.append(f"<h3>{html.escape(photo_name)} — {html.escape(kind)} hole</h3>"
                                f"{_row(cards, entries)}")
    if st_specs:
        sections.append("<h2>Style transfer: example-based and optimisation-based</h2>")
        for c_name in contents:
            content = data.photo(c_name, size)
            for s_name in styles:
                style = data.photo(s_name, size)
                prefix = f"st-{c_name}-{s_name}"
                (img_dir / f"{prefix}-content.png").write_bytes(encode_png(content))
                (img_dir / f"{prefix}-style.png").write_bytes(encode_png(style))
                cards = [_input_card(f"content: {c_name}", f"img/{prefix}-content.png"),
                         _input_card(f"style: {s_name}", f"img/{prefix}-style.png")]
                entries = _run_all("stylize", st_specs, {"content": content, "style": style}, plan, seed,
                                   img_dir, prefix, None, f"{c_name}/{s_name}", cards, record, say)
                sections.append(f"<h3>{html.escape(c_name)} in the style of {html.escape(s_name)}</h3>"
                                f"{_row(cards, entries)}")
    total = time.perf_counter() - t_all
    intro = (f"<p>Built by <code>imgkit gallery</code> (imgkit {html.escape(__version__)}) in "
             f"{total:.0f} s at {size}×{size} pixels, seed {seed}. Times are wall-clock seconds on "
             f"the machine that built the page (the first call of a Numba method includes its "
             f"compilation unless cached). Open “How it works” under a result to see what the "
             f"method did; hole PSNR compares the fill with the real photo.</p>")
    page = (f"<!doctype html><html lang=en><head><meta charset=utf-8><title>imgkit gallery</title>"
            f"<style>{_CSS}</style></head><body><h1>imgkit gallery</h1>{intro}{''.join(sections)}"
            f"<script>{_JS}</script></body></html>")
    index.write_text(page, encoding="utf-8")
    (out / "results.json").write_text(json.dumps(
        {"version": __version__, "size": size, "seed": seed, "slow": slow, "seconds": round(total, 2),
         "results": record}, indent=1), encoding="utf-8")
    say(f"wrote {index} ({total:.0f} s)")
    return index
