"""Many images at once: any registered method over folders, on Dask.

::

    import imgkit.batch as batch

    items = batch.inpaint_inputs("photos/", masks="masks/", pattern="{stem}_mask.png")
    summary = batch.run("inpaint", items, method="telea", out_dir="out/", seed=0)
    print(summary)                      # done / skipped / failed, images per second
    batch.run("inpaint", items, method="telea", out_dir="out/", seed=0, resume=True)  # the rest

On the command line: ``imgkit batch inpaint IMAGES --masks MASKS -o OUT --method M`` (and
``stylize``, ``analogy``); see :func:`cli_main` and ``docs/batch.md``.

How it runs
-----------
* **Engine**: :mod:`dask.distributed` (``pip install 'imgkit[batch]'``). With no ``scheduler``
  a :class:`~distributed.LocalCluster` of worker *processes* is started on this machine (see
  :func:`local_cluster` for the sizing rule); ``scheduler="tcp://host:8786"``, a scheduler
  file (``.json``) or a :class:`distributed.Client` runs the same job on an existing cluster.
* **Paths travel, not pixels**: each task gets file paths; the worker reads the inputs, runs
  the method and writes the output itself (atomically: temporary file + rename), so the client
  never holds the dataset. On a multi-machine cluster every worker must see the same paths
  (a shared filesystem).
* **GPU**: tasks with ``device="cuda"`` request the worker resource ``GPU=1`` so they run only
  on workers started with ``--resources GPU=1``.
* **Nothing lost**: the client (never a worker) appends one JSON line per finished input to
  ``OUT_DIR/manifest.jsonl`` (one ``write`` + ``fsync`` per record): status, method, options,
  seed, device, the inputs' size and modification time, the output's name, size and
  modification time, seconds, error. A record is written only after its output file is
  complete, so the manifest never points at a half-written output. ``resume=True`` skips an
  input whose latest record is ``done`` with the same task, method, options, requested seed,
  device and bit depth, whose input files are unchanged (same size and mtime) and whose output
  file is still the one recorded; everything else runs again. Ctrl-C, a killed worker (Dask
  re-runs its tasks; exceptions are retried ``retries`` times) or a lost node therefore lose at
  most the images in flight.
* **Bad inputs** (unreadable or truncated file, mask of the wrong size, missing mask) are
  recorded as ``failed`` with a message naming the file and the problem; the rest goes on.
  Suspicious masks (see :func:`imgkit.load_mask`) are run, with the warning in the record.
* **Inputs are safe**: the output folder may not be, contain or lie inside an input folder
  (outputs could replace photos or masks), must be creatable and writable, and existing
  outputs need ``resume`` or ``overwrite``; all of this is checked before anything is created
  (not even the output folder or ``manifest.jsonl``).
* **Stopping**: on Ctrl-C (or a callback's stop) the client drops a stop marker in the output
  folder; a task that finishes afterwards does not put its output in place, and outputs that
  raced the stop without reaching the manifest are removed, so every output file in the folder
  is in the manifest. Local workers are capped at the number of inputs to run.
* **Files**: EXIF orientation is applied on reading; EXIF and ICC profile of the image (content,
  B) are kept in JPEG and PNG outputs; outputs honour the umask; any file name the OS allows.

References
----------
.. [1] M. Rocklin, "Dask: Parallel Computation with Blocked algorithms and Task Scheduling",
   Proc. 14th Python in Science Conference (SciPy), 2015.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import logging
import os
import secrets
import socket
import sys
import time
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import (
    ImageFileError,
    ImageFileNotFoundError,
    ImgkitError,
    ImgkitWarning,
    InvalidOptionError,
    MissingDependencyError,
)
from .io import _EXTS, _probe_writable, display_path

__all__ = [
    "MANIFEST_NAME",
    "BatchError",
    "BatchInterrupted",
    "BatchItem",
    "BatchSummary",
    "analogy_inputs",
    "cli_main",
    "default_workers",
    "inpaint_inputs",
    "local_cluster",
    "read_manifest",
    "run",
    "stylize_inputs",
]

#: File name of the manifest inside ``out_dir``.
MANIFEST_NAME = "manifest.jsonl"
#: Test-only hook (read by ``run`` on the client): a marker file path. The first task that
#: creates the marker kills its own worker process with ``os._exit`` half-way through writing
#: its output; the tests use it to show that a worker death loses nothing.
CRASH_ONCE_ENV = "IMGKIT_BATCH_CRASH_ONCE"
#: Test-only hook (read by ``run`` on the client): seconds each task sleeps before writing its
#: output, so that tests can interrupt a run while tasks are in flight.
SLOW_ENV = "IMGKIT_BATCH_SLOW"
#: After a stop, seconds the client waits for the tasks in flight to end (they do not put their
#: outputs in place) before it closes the cluster.
STOP_GRACE_S = 30.0

_TASK_ARITY = {"inpaint": "(image, mask)", "stylize": "(content, style[, style...])",
               "analogy": "(a, a_prime, b)"}
_DEFAULT_METHOD = {"inpaint": "criminisi", "stylize": "gatys", "analogy": "hertzmann"}
_THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS")


class BatchError(ImgkitError, RuntimeError):
    """A batch cannot run: no cluster to connect to, no GPU worker, manifest locked, ..."""


class BatchInterrupted(KeyboardInterrupt):
    """Ctrl-C (or a callback raising KeyboardInterrupt) stopped a batch.

    Everything finished before the interrupt is in the manifest; ``run(..., resume=True)``
    does the rest. ``summary`` holds the counts so far.
    """

    def __init__(self, summary: BatchSummary):
        super().__init__("batch interrupted")
        self.summary = summary


# --------------------------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BatchItem:
    """One unit of work: the input files of one call and the name of its output.

    Attributes
    ----------
    key : str
        Unique name in the batch; the output file is ``out_dir / (key + ext)`` and the manifest
        records are keyed by it.
    paths : tuple of str
        ``(image, mask)`` for inpainting, ``(content, style[, style, ...])`` for stylisation
        (several styles are blended by methods that support it), ``(a, a_prime, b)`` for
        analogies.
    error : str or None
        A problem found while pairing the files (e.g. a missing mask): the item is recorded as
        failed with this message and not run.
    """

    key: str
    paths: tuple[str, ...]
    error: str | None = None


def _list_images(path: str | os.PathLike[str], what: str) -> list[Path]:
    """Image files of a folder (sorted by name, hidden files skipped), or ``[path]`` for a file."""
    p = Path(path)
    if p.is_file():
        return [p]
    if not p.is_dir():
        raise ImageFileNotFoundError(f"{what} {str(p)!r} does not exist; give a folder or an image file")
    files = sorted(f for f in p.iterdir()
                   if f.is_file() and not f.name.startswith(".") and f.suffix.lower() in _EXTS)
    return files


def _keys_for(files: Sequence[Path]) -> list[str]:
    """Output keys: the file stem, or ``stem_ext`` where two files share a stem."""
    stems: dict[str, int] = {}
    for f in files:
        stems[f.stem] = stems.get(f.stem, 0) + 1
    return [f.stem if stems[f.stem] == 1 else f"{f.stem}_{f.suffix[1:].lower()}" for f in files]


def _mask_name(pattern: str, image: Path) -> str:
    try:
        return pattern.format(stem=image.stem, name=image.name, ext=image.suffix)
    except (KeyError, IndexError, ValueError) as exc:
        raise InvalidOptionError(
            f"mask pattern {pattern!r} is not valid ({type(exc).__name__}: {exc}); use the "
            f"fields {{stem}}, {{name}} and {{ext}}, e.g. '{{stem}}_mask.png'"
        ) from None


def _pick_same_stem(candidates: list[Path], image: Path) -> Path | None:
    """The mask among same-stem files: the image's extension first, then .png, then by name."""
    if not candidates:
        return None
    for want in (image.suffix.lower(), ".png"):
        for c in candidates:
            if c.suffix.lower() == want:
                return c
    return candidates[0]


def inpaint_inputs(
    images: str | os.PathLike[str],
    masks: str | os.PathLike[str] | None = None,
    *,
    pattern: str | None = None,
) -> list[BatchItem]:
    """Pair every image of a folder with its mask.

    Pairing rule: the mask of ``photos/cat.jpg`` is, in the ``masks`` folder,

    * with ``pattern=None``: the image file with the same stem (``cat.png``, ``cat.jpg``, ...;
      if several share the stem, the one with the image's extension, else ``.png``, else the
      first by name);
    * with a pattern: ``pattern.format(stem=..., name=..., ext=...)``, e.g. ``"{stem}_mask.png"``
      gives ``cat_mask.png``.

    When ``masks`` is the images folder itself (masks beside their images), a ``pattern`` is
    required, and files that are some image's mask are not treated as images.

    Parameters
    ----------
    images : path
        A folder (its image files, sorted by name, hidden files skipped, not recursive) or one
        image file.
    masks : path, optional
        The masks folder; default: the images folder (then ``pattern`` is required).
    pattern : str, optional
        Mask file name pattern (see above).

    Returns
    -------
    list of BatchItem
        Key: the image's stem (``stem_ext`` if two images share a stem). An image without a mask
        gives an item whose ``error`` says which file was expected; it is recorded as failed.
    """
    files = _list_images(images, "images")
    img_root = Path(images) if Path(images).is_dir() else Path(images).parent
    mask_dir = Path(masks) if masks is not None else img_root
    if not mask_dir.is_dir():
        raise ImageFileNotFoundError(f"masks folder {str(mask_dir)!r} does not exist")
    same = mask_dir.resolve() == img_root.resolve()
    if same and pattern is None:
        raise InvalidOptionError(
            f"masks are looked for in the images folder {str(mask_dir)!r}, where the same-stem "
            f"rule would pair each image with itself; give a pattern such as '{{stem}}_mask.png'"
        )
    if pattern is not None and "{stem}" not in pattern and "{name}" not in pattern:
        raise InvalidOptionError(
            f"mask pattern {pattern!r} does not use {{stem}} or {{name}}, so every image would get "
            f"the same mask; e.g. '{{stem}}_mask.png'"
        )
    if same:
        mask_names = {_mask_name(pattern, f) for f in files}  # type: ignore[arg-type]
        files = [f for f in files if f.name not in mask_names]
    # one listing of the masks folder (not one per image: folders may hold many thousands)
    by_stem: dict[str, list[Path]] = {}
    names: set[str] = set()
    with os.scandir(mask_dir) as entries:
        for e in entries:
            if e.is_file():
                names.add(e.name)
                if Path(e.name).suffix.lower() in _EXTS:
                    by_stem.setdefault(Path(e.name).stem, []).append(Path(e.path))
    items = []
    for f, key in zip(files, _keys_for(files)):
        if pattern is None:
            m = _pick_same_stem(sorted(by_stem.get(f.stem, [])), f)
            expected = f"a file named {f.stem}.<image extension> in {str(mask_dir)!r}"
        else:
            name = _mask_name(pattern, f)
            m = mask_dir / name
            expected = repr(str(m))
            m = m if (name in names or ("/" in name and m.is_file())) else None
        error = None if m is not None else f"missing mask for image {str(f)!r}: expected {expected}"
        items.append(BatchItem(key, (str(f), str(m) if m is not None else ""), error))
    return items


def stylize_inputs(
    contents: str | os.PathLike[str], style: str | os.PathLike[str]
) -> list[BatchItem]:
    """Pair content images with a style image, or with every image of a style folder.

    Parameters
    ----------
    contents : path
        A folder of content images, or one image file.
    style : path
        One style image (key: the content stem), or a folder of style images: then every
        content is rendered in every style (key ``{content_stem}__{style_stem}``).

    Returns
    -------
    list of BatchItem
    """
    files = _list_images(contents, "content images")
    styles = _list_images(style, "style")
    if not styles:
        raise ImageFileNotFoundError(f"style folder {str(style)!r} holds no image files")
    one = Path(style).is_file()
    items = []
    for f, key in zip(files, _keys_for(files)):
        for s, skey in zip(styles, _keys_for(styles)):
            items.append(BatchItem(key if one else f"{key}__{skey}", (str(f), str(s))))
    return items


def analogy_inputs(
    bs: str | os.PathLike[str], a: str | os.PathLike[str], a_prime: str | os.PathLike[str]
) -> list[BatchItem]:
    """Apply the filter learnt from an example pair (A, A′) to every image B of a folder.

    Parameters
    ----------
    bs : path
        A folder of B images, or one file.
    a, a_prime : path
        One example pair (files; key: the B stem), or two folders whose files are paired by
        stem (``a/x.png`` with ``a_prime/x.png``); then every pair is applied to every B (key
        ``{b_stem}__{pair_stem}``).

    Returns
    -------
    list of BatchItem
    """
    files = _list_images(bs, "B images")
    if Path(a).is_file() != Path(a_prime).is_file():
        raise InvalidOptionError(
            f"a={str(a)!r} and a_prime={str(a_prime)!r} must both be image files or both folders"
        )
    pairs: list[tuple[str, Path, Path]]
    if Path(a).is_file():
        pairs = [("", Path(a), Path(a_prime))]
    else:
        a_files = _list_images(a, "A folder")
        ap = {f.stem: f for f in _list_images(a_prime, "A' folder")}
        missing = [f.name for f in a_files if f.stem not in ap]
        if missing or not a_files:
            raise ImageFileNotFoundError(
                f"no A' partner (same stem) in {str(a_prime)!r} for {missing}" if missing else
                f"A folder {str(a)!r} holds no image files"
            )
        pairs = [(f.stem, f, ap[f.stem]) for f in a_files]
    items = []
    for f, key in zip(files, _keys_for(files)):
        for stem, fa, fap in pairs:
            items.append(BatchItem(f"{key}__{stem}" if stem else key, (str(fa), str(fap), str(f))))
    return items


def _as_items(task: str, inputs: Any) -> list[BatchItem]:
    if isinstance(inputs, Mapping):
        raw: Iterable[Any] = [BatchItem(str(k), tuple(map(str, v))) for k, v in inputs.items()]
    elif isinstance(inputs, (str, os.PathLike)):
        raise InvalidOptionError(
            f"inputs must be a list of BatchItem or of path tuples {_TASK_ARITY[task]}, got the "
            f"path {str(inputs)!r}; build them from folders with imgkit.batch.{task}_inputs(...)"
        )
    else:
        raw = inputs
    items: list[BatchItem] = []
    for i, x in enumerate(raw):
        if isinstance(x, BatchItem):
            item = x
        elif isinstance(x, (tuple, list)) and all(isinstance(p, (str, os.PathLike)) for p in x):
            paths = tuple(os.fspath(p) for p in x)
            primary = paths[2] if task == "analogy" and len(paths) == 3 else (paths[0] if paths else "")
            item = BatchItem(Path(primary).stem, paths)
        else:
            raise InvalidOptionError(
                f"inputs[{i}] must be a BatchItem or a tuple of paths {_TASK_ARITY[task]}; got {x!r}"
            )
        n = len(item.paths)
        if item.error is None and not ((task == "inpaint" and n == 2) or (task == "stylize" and n >= 2)
                                       or (task == "analogy" and n == 3)):
            raise InvalidOptionError(
                f"inputs[{i}] for task {task!r} must be {_TASK_ARITY[task]}; got {len(item.paths)} "
                f"paths {item.paths!r}"
            )
        if not item.key or "/" in item.key or "\\" in item.key or item.key.startswith("."):
            raise InvalidOptionError(
                f"inputs[{i}] has key {item.key!r}; a key names the output file: non-empty, no "
                f"path separators, not starting with '.'"
            )
        items.append(item)
    seen: dict[str, BatchItem] = {}
    for item in items:
        if item.key in seen:
            raise InvalidOptionError(
                f"two inputs would write the same output {item.key!r}: {seen[item.key].paths!r} and "
                f"{item.paths!r}; give unique keys (BatchItem(key, paths) or a dict key -> paths)"
            )
        seen[item.key] = item
    return items


# --------------------------------------------------------------------------------------------
# Manifest
# --------------------------------------------------------------------------------------------


def read_manifest(out_dir: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """All records of ``out_dir``'s manifest, oldest first (an unfinished last line is skipped).

    The latest record of a key is its current state.
    """
    path = Path(out_dir) / MANIFEST_NAME
    if not path.exists():
        return []
    records = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            try:
                rec = json.loads(line)
            except ValueError:
                continue  # a line cut short by a crash while it was written
            if isinstance(rec, dict) and "key" in rec:
                records.append(rec)
    return records


class _Manifest:
    """Append-only JSON-lines writer, one ``write`` + ``fsync`` per record, locked per run."""

    def __init__(self, path: Path):
        self.path = path
        self._f = open(path, "a+b")  # closed in close()
        try:
            import fcntl

            fcntl.flock(self._f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except ImportError:  # pragma: no cover - not POSIX
            pass
        except OSError:
            self._f.close()
            raise BatchError(
                f"another imgkit batch is writing {str(path)!r}; wait for it to finish or use "
                f"another output folder"
            ) from None
        self._f.seek(0, os.SEEK_END)
        if self._f.tell() > 0:
            self._f.seek(-1, os.SEEK_END)
            if self._f.read(1) != b"\n":  # a record cut short by a crash: end it
                self._write(b"\n")

    def _write(self, data: bytes) -> None:
        self._f.write(data)
        self._f.flush()
        os.fsync(self._f.fileno())

    def append(self, record: dict[str, Any]) -> None:
        line = json.dumps(record, default=str, ensure_ascii=False)
        try:
            data = line.encode("utf-8")
        except UnicodeEncodeError:  # a file name that is not UTF-8 (surrogate escapes): \udcXX
            data = json.dumps(record, default=str, ensure_ascii=True).encode("ascii")
        self._write(data + b"\n")

    def close(self) -> None:
        self._f.close()


def _canon(x: Any) -> Any:
    return json.loads(json.dumps(x, sort_keys=True, default=str))


def _stat(path: str) -> dict[str, Any]:
    try:
        st = os.stat(path)
    except OSError:
        return {"path": path, "size": None, "mtime_ns": None}
    return {"path": path, "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def _is_current(rec: dict[str, Any] | None, item_paths: Sequence[str], params: dict[str, Any],
                out_path: Path) -> bool:
    """True when ``rec`` says this exact job already produced ``out_path``, untouched since."""
    if rec is None or rec.get("status") != "done":
        return False
    for k, v in params.items():
        if _canon(rec.get(k)) != _canon(v):
            return False
    if rec.get("output") != out_path.name:
        return False
    st = _stat(str(out_path))
    if st["size"] is None or st["size"] != rec.get("output_size") \
            or st["mtime_ns"] != rec.get("output_mtime_ns"):
        return False
    recorded = rec.get("inputs") or []
    if [r.get("path") for r in recorded] != list(item_paths):
        return False
    return all(_stat(p) == {"path": p, "size": r.get("size"), "mtime_ns": r.get("mtime_ns")}
               for p, r in zip(item_paths, recorded))


def _remove_stale_temps(out_dir: Path, keys: Iterable[str], ext: str) -> int:
    """Remove temporary files that a killed worker left (``.{key}.XXXX.tmp{ext}``): one listing."""
    wanted, suffix, n = set(keys), f".tmp{ext}", 0
    with os.scandir(out_dir) as entries:
        for e in entries:
            if e.name.startswith(".") and e.name.endswith(suffix) \
                    and e.name[1 : -len(suffix)].rsplit(".", 1)[0] in wanted:
                with contextlib.suppress(OSError):
                    os.unlink(e.path)
                    n += 1
    return n


# --------------------------------------------------------------------------------------------
# The task that runs on a worker
# --------------------------------------------------------------------------------------------

_THREADS_SET = False


def _limit_threads(backend: str) -> int | None:
    """Apply the per-worker thread budget that :func:`local_cluster` put in the environment."""
    global _THREADS_SET
    n = os.environ.get("IMGKIT_BATCH_THREADS")
    if not n:
        return None
    n_threads = int(n)
    if not _THREADS_SET:
        import cv2

        cv2.setNumThreads(n_threads)
        _THREADS_SET = True
    if backend == "torch":
        import torch

        if torch.get_num_threads() != n_threads:
            torch.set_num_threads(n_threads)
    return n_threads


class _InputError(Exception):
    """A bad input file (recorded as failed, not retried)."""


class _Stopped(Exception):
    """The client asked this run's tasks to stop (stop marker file present)."""


def _file_error(role: str, path: str, exc: BaseException) -> str:
    """``"<role> '<path>' <problem>"`` from an imgkit file error (whose message names the path)."""
    msg, quoted = str(exc), repr(path)
    if msg.startswith(quoted):  # "'p' is not a readable image (...)"
        return f"{role} {msg}"
    return f"{role} {quoted}: {msg.replace(f': {quoted}', '').replace(f' {quoted}', '')}"


def _read(path: str, role: str, *, mask: dict[str, Any] | None = None, meta: bool = False) -> Any:
    from .io import load_image, load_mask

    if not path:
        raise _InputError(f"{role}: no file given")
    try:
        if mask is not None:
            return load_mask(path, threshold=mask.get("threshold"), invert=bool(mask.get("invert")))
        return load_image(path, with_metadata=meta)
    except (ImgkitError, OSError) as exc:
        raise _InputError(_file_error(role, path, exc)) from None


def _read_inputs(task: str, paths: Sequence[str], mask_opts: dict[str, Any] | None = None
                 ) -> tuple[tuple[Any, ...], Any]:
    """The arrays of one item and the metadata of its main image (kept in the output), or
    :class:`_InputError` naming the file and the problem."""
    if task == "inpaint":
        image, meta = _read(paths[0], "image", meta=True)
        mask = _read(paths[1], f"mask (of image {paths[0]!r})", mask=mask_opts or {})
        if mask.shape != image.shape[:2]:
            raise _InputError(
                f"mask {paths[1]!r} is {mask.shape[1]}x{mask.shape[0]} pixels but its image "
                f"{paths[0]!r} is {image.shape[1]}x{image.shape[0]}; a mask must have the size of "
                f"its image"
            )
        return (image, mask), meta
    if task == "stylize":
        styles = [_read(p, "style") for p in paths[1:]]
        content, meta = _read(paths[0], "content", meta=True)
        return (content, styles if len(styles) > 1 else styles[0]), meta
    b, meta = _read(paths[2], "b", meta=True)
    return (_read(paths[0], "a"), _read(paths[1], "a_prime"), b), meta


def _describe(task: str, paths: Sequence[str]) -> str:
    if task == "inpaint":
        return f"image {paths[0]!r} with mask {paths[1]!r}"
    if task == "stylize":
        return f"content {paths[0]!r} with style {', '.join(map(repr, paths[1:]))}"
    return f"b {paths[2]!r} with example pair {paths[0]!r} -> {paths[1]!r}"


def _crash_once(marker: str, out: Path, key: str) -> None:
    """Test hook: die (``os._exit``) half-way through writing the output, once per marker."""
    try:
        fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return
    os.write(fd, json.dumps({"key": key, "pid": os.getpid()}).encode())
    os.close(fd)
    import tempfile

    tfd, _ = tempfile.mkstemp(prefix=f".{out.stem}.", suffix=f".tmp{out.suffix}", dir=out.parent)
    os.write(tfd, b"\x89PNG\r\n\x1a\n half-written")
    os._exit(70)


def _process_item(job: dict[str, Any]) -> dict[str, Any]:
    """Read the inputs of one item, run the method, write the output; runs on a worker.

    Returns a small dict (status, timings, fingerprints); bad inputs and method errors become
    ``status="failed"`` with a message, other exceptions propagate (Dask retries them).
    """
    from . import api
    from .io import save_image
    from .registry import get_method

    t0 = time.perf_counter()
    task, paths, method = job["task"], job["paths"], job["method"]
    out = Path(job["out"])
    res: dict[str, Any] = {"inputs": [_stat(p) for p in paths], "host": socket.gethostname(),
                           "pid": os.getpid()}
    with contextlib.suppress(Exception):
        from distributed import get_worker

        res["worker"] = get_worker().address
    door = {"inpaint": api.inpaint, "stylize": api.stylize, "analogy": api.analogy}[task]

    def failed(error: str) -> dict[str, Any]:
        return {**res, "status": "failed", "error": error, "seconds": time.perf_counter() - t0}

    stop = job.get("stop_marker")
    if stop and os.path.exists(stop):
        return failed("not run: the batch was stopped")
    try:
        res["threads"] = _limit_threads(get_method(method, task).backend)  # unknown here: failed
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ImgkitWarning)
            arrays, meta = _read_inputs(task, paths, job.get("mask") or {})
        if caught:
            res["warnings"] = [str(w.message) for w in caught]
        result, info = door(*arrays, method=method, device=job["device"], seed=job["seed"],
                            return_info=True, **job["options"])
    except _InputError as exc:
        return failed(str(exc))
    except ImgkitError as exc:
        return failed(f"{_describe(task, paths)}: {type(exc).__name__}: {exc}")
    if job.get("slow"):
        time.sleep(job["slow"])
    if job.get("crash_marker"):
        _crash_once(job["crash_marker"], out, job["key"])

    def not_stopped() -> None:
        if stop and os.path.exists(stop):
            raise _Stopped()

    try:
        save_image(out, result, bit_depth=job["bit_depth"], metadata=meta, before_replace=not_stopped)
    except _Stopped:
        return failed("not written: the batch was stopped")
    except ImgkitError as exc:
        return failed(f"output {display_path(out)!r}: {exc}")
    st = _stat(str(out))
    return {**res, "status": "done", "error": None, "seed_used": info.seed, "device_used": info.device,
            "output_size": st["size"], "output_mtime_ns": st["mtime_ns"],
            "seconds": time.perf_counter() - t0}


# --------------------------------------------------------------------------------------------
# Cluster
# --------------------------------------------------------------------------------------------


def _cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def default_workers(n_items: int | None = None, device: str = "auto") -> int:
    """Worker processes of the local cluster: one per core (at most one per item); 1 for CUDA."""
    if device == "cuda":
        return 1
    n = _cores()
    return max(1, min(n, n_items)) if n_items else n


def _distributed() -> Any:
    try:
        import distributed
    except ImportError:
        raise MissingDependencyError(
            "imgkit.batch needs Dask distributed: pip install 'imgkit[batch]'"
        ) from None
    return distributed


def local_cluster(workers: int | None = None, *, device: str = "auto", dashboard: bool | None = None,
                  **kwargs: Any) -> Any:
    """A :class:`distributed.LocalCluster` sized so that the method threads fit the cores.

    Sizing rule: ``workers`` worker processes (default :func:`default_workers`), each running
    **one** task at a time (``threads_per_worker=1``) and allowed ``max(1, cores // workers)``
    threads inside that task: ``NUMBA_NUM_THREADS``, ``OMP_NUM_THREADS``, ``MKL_NUM_THREADS``,
    ``OPENBLAS_NUM_THREADS`` and ``IMGKIT_BATCH_THREADS`` are set in each worker's environment
    before anything is imported there, and the task sets OpenCV's and (for torch methods)
    PyTorch's thread counts to the same number. So ``workers × threads ≤ cores``: Numba's
    ``parallel=True`` kernels, PyTorch and OpenCV never oversubscribe the machine. Processes, not
    threads, because the GIL would serialise the Python parts of the methods. With
    ``device="cuda"`` every worker declares the resource ``GPU=1``. The scheduler hands tasks to
    the workers up front (``distributed.scheduler.worker-saturation: inf``): one image per task,
    no scheduler round trip between two tasks of a worker. Dask's ``MALLOC_TRIM_THRESHOLD_=65536``
    is not set in the workers (it slowed allocation-heavy methods by 20–40 % on this machine).

    Parameters
    ----------
    workers : int, optional
        Worker processes.
    device : {"auto", "cpu", "cuda"}
        ``"cuda"``: one worker by default, declaring ``GPU=1``.
    dashboard : bool, optional
        Serve the Dask dashboard on a free port (needs ``bokeh``); default: when bokeh is
        installed.
    **kwargs
        Passed to :class:`~distributed.LocalCluster` (override anything above).
    """
    distributed = _distributed()
    workers = default_workers(None, device) if workers is None else workers
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise InvalidOptionError(f"workers must be a positive integer; got {workers!r}")
    threads = max(1, _cores() // workers)
    if dashboard is None:
        import importlib.util

        dashboard = importlib.util.find_spec("bokeh") is not None
    env = {v: str(threads) for v in _THREAD_VARS}
    env["IMGKIT_BATCH_THREADS"] = str(threads)
    # The scheduler's HTTP server always starts; a free port avoids clashes (and warnings) when
    # several clusters run on one machine. Its /status dashboard needs bokeh.
    opts: dict[str, Any] = dict(
        n_workers=workers, threads_per_worker=1, processes=True, env=env, dashboard_address=":0",
        scheduler_kwargs={"dashboard": bool(dashboard)}, silence_logs=logging.ERROR,
    )
    if device == "cuda":
        opts["resources"] = {"GPU": 1}
    opts.update(kwargs)
    import dask

    # Each task is one independent image: hand tasks to the workers up front instead of one
    # scheduler round trip per task (Dask's default queuing), which dominates for fast methods.
    # Dask starts workers with MALLOC_TRIM_THRESHOLD_=65536 (give memory back to the OS early);
    # that made telea and biharmonic loops 20-40 % slower here, so keep glibc's default.
    with dask.config.set({"distributed.scheduler.worker-saturation": "inf",
                          "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}):
        return distributed.LocalCluster(**opts)


def _ignore_sigint_plugin() -> Any:
    from distributed import WorkerPlugin

    class IgnoreSigint(WorkerPlugin):
        name = "imgkit-batch-ignore-sigint"
        idempotent = True

        def setup(self, worker: Any) -> None:
            import signal
            import threading

            if threading.current_thread() is threading.main_thread():
                signal.signal(signal.SIGINT, signal.SIG_IGN)

    return IgnoreSigint()


def _connect(scheduler: Any, workers: int | None, device: str, n_pending: int) -> tuple[Any, list[Any]]:
    """A Client, and the objects to close afterwards (those this call created)."""
    distributed = _distributed()
    if isinstance(scheduler, distributed.Client):
        if workers is not None:
            raise InvalidOptionError(
                "workers= sizes the local cluster only; with a Client, size its cluster yourself"
            )
        return scheduler, []
    if scheduler is None:
        # never more worker processes than inputs to run: idle workers only cost start-up time
        n = min(workers, n_pending) if workers is not None else default_workers(n_pending, device)
        cluster = local_cluster(max(1, n), device=device)
        try:
            client = distributed.Client(cluster)
            # Ctrl-C in a terminal reaches every process of the group: let the client handle it
            # (and close the cluster) instead of each worker printing a traceback.
            client.register_plugin(_ignore_sigint_plugin())
        except BaseException:
            cluster.close()
            raise
        return client, [client, cluster]
    if not isinstance(scheduler, (str, os.PathLike)):
        raise InvalidOptionError(
            f"scheduler must be None, an address like 'tcp://host:8786', a scheduler file or a "
            f"distributed.Client; got {scheduler!r}"
        )
    if workers is not None:
        raise InvalidOptionError(
            "workers= sizes the local cluster only; with a scheduler address, start as many "
            "`dask worker` processes as you want"
        )
    address = os.fspath(scheduler)
    try:
        if address.endswith(".json") and Path(address).is_file():
            client = distributed.Client(scheduler_file=address)
        else:
            client = distributed.Client(address)
    except (OSError, TimeoutError, ValueError) as exc:
        raise BatchError(
            f"cannot connect to the Dask scheduler {address!r} ({type(exc).__name__}: {exc}); "
            f"start one with `dask scheduler` and workers with `dask worker {address}`"
        ) from None
    return client, [client]


def _check_gpu_workers(client: Any) -> None:
    workers = client.scheduler_info().get("workers", {})
    if not any((w.get("resources") or {}).get("GPU", 0) >= 1 for w in workers.values()):
        raise BatchError(
            f"device='cuda' sends tasks only to workers that declare a GPU, and none of the "
            f"{len(workers)} workers of {client.scheduler.address} does; start them with "
            f"`dask worker ADDRESS --resources GPU=1 --nthreads 1`"
        )


def _dashboard(client: Any, local: bool) -> str | None:
    """The dashboard link (for a local cluster only when bokeh can serve it)."""
    if local:
        import importlib.util

        if importlib.util.find_spec("bokeh") is None:
            return None
    try:
        if "dashboard" not in client.scheduler_info().get("services", {}):
            return None
        return client.dashboard_link
    except Exception:
        return None


# --------------------------------------------------------------------------------------------
# Summary
# --------------------------------------------------------------------------------------------


@dataclass
class BatchSummary:
    """What a batch did.

    Attributes
    ----------
    task, method : str
    out_dir, manifest : Path
    total : int
        Inputs given.
    done, skipped : list of str
        Keys computed in this run, and keys skipped by ``resume``.
    failed : dict of str to str
        Key → error message.
    seconds : float
        Wall time of the processing (cluster start-up excluded, see ``startup_seconds``).
    startup_seconds : float
        Time to start or connect to the cluster.
    workers : int
        Workers of the cluster (0 when nothing had to run).
    dashboard : str or None
        The Dask dashboard link, when the cluster serves one.
    stopped : bool
        The run ended before every input was tried (callback, Ctrl-C); rerun with ``resume``.
    """

    task: str
    method: str
    out_dir: Path
    manifest: Path
    total: int = 0
    done: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    startup_seconds: float = 0.0
    workers: int = 0
    dashboard: str | None = None
    stopped: bool = False

    @property
    def remaining(self) -> int:
        """Inputs not tried in this run (after a stop)."""
        return self.total - len(self.done) - len(self.skipped) - len(self.failed)

    @property
    def images_per_s(self) -> float:
        """Outputs written per second of processing."""
        return len(self.done) / self.seconds if self.seconds > 0 else 0.0

    @property
    def ok(self) -> bool:
        """Every input is done or skipped."""
        return not self.failed and self.remaining == 0

    def __str__(self) -> str:
        lines = [
            f"imgkit batch {self.task} --method {self.method} -> {display_path(self.out_dir)}",
            f"  {self.total} inputs: {len(self.done)} done, {len(self.skipped)} skipped, "
            f"{len(self.failed)} failed" + (f", {self.remaining} not run (stopped)" if self.stopped else ""),
            (f"  {self.seconds:.2f} s, {self.images_per_s:.2f} images/s on {self.workers} worker"
             f"{'s' if self.workers != 1 else ''} (+{self.startup_seconds:.1f} s cluster start-up)"
             if self.workers else "  nothing to compute: no cluster was used"),
            f"  manifest: {display_path(self.manifest)}",
        ]
        if self.dashboard:
            lines.append(f"  dashboard: {self.dashboard}")
        if self.failed:
            lines.append("  failed:")
            shown = list(self.failed.items())[:15]
            for key, err in shown:
                err = " ".join(err.split())
                lines.append(f"    {display_path(key)}: {err if len(err) <= 400 else err[:397] + '...'}")
            if len(self.failed) > len(shown):
                lines.append(f"    ... and {len(self.failed) - len(shown)} more (see the manifest)")
        if self.stopped:
            lines.append("  stopped early: run again with resume (--resume) to do the rest")
        return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# run
# --------------------------------------------------------------------------------------------


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds")


def run(
    task: str,
    inputs: Iterable[BatchItem] | Iterable[Sequence[str | os.PathLike[str]]] | Mapping[str, Sequence[str]],
    *,
    method: str | None = None,
    out_dir: str | os.PathLike[str],
    scheduler: Any = None,
    workers: int | None = None,
    resume: bool = False,
    overwrite: bool = False,
    device: str = "auto",
    seed: int | None = None,
    retries: int = 2,
    ext: str = ".png",
    bit_depth: int = 8,
    progress: bool | str = False,
    callback: Callable[[dict[str, Any], BatchSummary], Any] | None = None,
    mask_threshold: float | None = None,
    invert_mask: bool = False,
    **options: Any,
) -> BatchSummary:
    """Run one method over many inputs on Dask; every output is a file in ``out_dir``.

    Parameters
    ----------
    task : {"inpaint", "stylize", "analogy"}
    inputs : iterable of BatchItem, of path tuples, or a dict key -> path tuple
        Per item ``(image, mask)``, ``(content, style[, style...])`` or ``(a, a_prime, b)``;
        :func:`inpaint_inputs`, :func:`stylize_inputs` and :func:`analogy_inputs` build them
        from folders. A bare tuple's key (output name) is the stem of the image / content / b.
    method : str, optional
        A registered method of ``task`` (default as in :func:`imgkit.inpaint` & co.).
    out_dir : path
        Output folder (created if missing): ``{key}{ext}`` per input, and ``manifest.jsonl``.
    scheduler : None, str or distributed.Client
        None: start a local cluster (:func:`local_cluster`) and close it at the end. A
        scheduler address (``"tcp://host:8786"``), a scheduler file (``.json``) or a Client: run
        there (every worker must see the input and output paths).
    workers : int, optional
        Worker processes of the local cluster (default :func:`default_workers`).
    resume : bool
        Skip inputs already done with the same settings (see the module docstring).
    overwrite : bool
        Recompute and replace existing outputs. Without ``resume`` or ``overwrite``, existing
        outputs make the run refuse to start.
    device : {"auto", "cpu", "cuda"}
        As in :func:`imgkit.inpaint`, resolved on each worker; ``"cuda"`` tasks need workers
        declaring the resource ``GPU=1``.
    seed : int, optional
        Seed given to every call (so each output equals the single-image call with that seed);
        None: each call draws its own, recorded in the manifest as ``seed_used``.
    retries : int
        Times Dask re-runs a task that raised an unexpected exception. Tasks whose worker died are
        re-run by Dask anyway (up to ``distributed.scheduler.allowed-failures``). Bad inputs are
        not retried: they are recorded as failed at once.
    ext : str
        Output format (``".png"``, ``".tif"``, ``".jpg"``, ...).
    bit_depth : {8, 16}
        Bits per channel of the outputs.
    progress : bool or "log"
        Show a progress bar over the inputs (and the dashboard link, if any, on stderr);
        ``"log"``: a progress line on stderr every ``IMGKIT_PROGRESS_INTERVAL`` seconds instead
        (the command line picks it when stderr is not a terminal).
    callback : callable, optional
        ``callback(record, summary)`` after each input is recorded; returning ``True`` stops the
        run (in-flight tasks are cancelled; ``summary.stopped`` is set). Raising
        ``KeyboardInterrupt`` acts as Ctrl-C.
    mask_threshold, invert_mask
        Inpainting: how mask files are read (see :func:`imgkit.load_mask`: a pixel is hole above
        ``mask_threshold`` × the maximum, default any nonzero value; ``invert_mask`` swaps hole
        and known). Recorded in the manifest when set, so ``resume`` redoes inputs read otherwise.
    **options
        Method options, validated before anything runs.

    Returns
    -------
    BatchSummary
        Keys done, skipped and failed (with reasons), seconds, images per second.

    Raises
    ------
    BatchInterrupted
        On Ctrl-C; its ``summary`` says what was finished (all of it is in the manifest).

    Examples
    --------
    >>> import imgkit.batch as batch                                  # doctest: +SKIP
    >>> s = batch.run("inpaint", batch.inpaint_inputs("imgs", "masks"), method="telea",
    ...               out_dir="out", seed=0)                          # doctest: +SKIP
    >>> s.ok, len(s.done), s.images_per_s                             # doctest: +SKIP
    """
    from .api import _check_seed
    from .registry import TASKS, get_method

    if task not in TASKS:
        raise InvalidOptionError(f"task must be one of {list(TASKS)}; got {task!r}")
    method = _DEFAULT_METHOD[task] if method is None else method
    spec = get_method(method, task)
    spec.ensure_available()
    opts = spec.check_options(options)
    if seed is not None:
        _check_seed(seed)
    if device not in ("auto", "cpu", "cuda"):
        raise InvalidOptionError(f"device must be one of 'auto', 'cpu', 'cuda'; got {device!r}")
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise InvalidOptionError(f"retries must be a non-negative integer; got {retries!r}")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise InvalidOptionError(f"workers must be None or a positive integer; got {workers!r}")
    ext = ext if ext.startswith(".") else f".{ext}"
    if ext.lower() not in _EXTS:
        raise InvalidOptionError(f"ext must be one of {', '.join(_EXTS)}; got {ext!r}")
    if bit_depth not in (8, 16) or (bit_depth == 16 and ext.lower() not in (".png", ".tif", ".tiff")):
        raise InvalidOptionError(f"bit_depth must be 8, or 16 with .png/.tif outputs; got {bit_depth!r}")
    if callback is not None and not callable(callback):
        raise InvalidOptionError(f"callback must be None or callable(record, summary); got {callback!r}")
    if scheduler is None and device == "cuda":
        from .device import resolve_device

        resolve_device("cuda", devices=spec.devices, backend=spec.backend, method=spec.name)

    items = [BatchItem(it.key, tuple(str(Path(p).absolute()) if p else "" for p in it.paths), it.error)
             for it in _as_items(task, inputs)]
    out = Path(out_dir)
    _check_out_dir(out, items)
    summary = BatchSummary(task=task, method=method, out_dir=out, manifest=out / MANIFEST_NAME,
                           total=len(items))
    params = {"task": task, "method": method, "options": opts, "seed": seed, "device": device,
              "bit_depth": bit_depth}
    if mask_threshold is not None or invert_mask:
        if task != "inpaint":
            raise InvalidOptionError("mask_threshold and invert_mask apply to task 'inpaint' only")
        if isinstance(mask_threshold, bool) or not (mask_threshold is None or (
                isinstance(mask_threshold, (int, float)) and 0.0 <= mask_threshold < 1.0)):
            raise InvalidOptionError(
                f"mask_threshold must be None or a number in [0, 1); got {mask_threshold!r}")
        if not isinstance(invert_mask, bool):
            raise InvalidOptionError(f"invert_mask must be True or False; got {invert_mask!r}")
        params["mask"] = {"threshold": mask_threshold, "invert": invert_mask}
    pending, prefailed = _plan(items, params, summary, resume=resume, overwrite=overwrite, ext=ext)
    # every check passed: only now is anything created
    out.mkdir(parents=True, exist_ok=True)
    manifest = _Manifest(summary.manifest)
    try:
        return _run(pending, prefailed, params, spec, summary, manifest, scheduler=scheduler,
                    workers=workers, ext=ext, retries=retries, progress=progress, callback=callback)
    finally:
        manifest.close()


def _real(path: str | os.PathLike[str]) -> Path:
    return Path(os.path.realpath(os.path.abspath(path)))


def _check_out_dir(out: Path, items: list[BatchItem]) -> None:
    """Refuse an output folder that is, contains or lies inside an input folder, or that cannot
    be created or written; writes nothing.

    Input folders are the folders of the inputs that differ between items (images, masks,
    contents, B images, style folders). An input shared by every item (one style image, one
    A/A' pair) only forbids writing into its own folder.
    """
    if out.exists() and not out.is_dir():
        raise ImageFileError(f"output folder {display_path(out)!r} exists and is not a folder")
    target = _real(out)
    folders: dict[Path, str] = {}
    shared: dict[Path, str] = {}
    n = len(items)
    counts: dict[str, int] = {}
    for it in items:
        for p in set(it.paths):
            if p:
                counts[p] = counts.get(p, 0) + 1
    for it in items:
        for p in it.paths:
            if p:
                (shared if n > 1 and counts[p] == n else folders).setdefault(_real(p).parent, p)
    for folder, example in folders.items():
        if target == folder or folder in target.parents or target in folder.parents:
            how = ("is" if target == folder else
                   "lies inside" if folder in target.parents else "contains")
            raise InvalidOptionError(
                f"output folder {display_path(out)!r} {how} the input folder "
                f"{display_path(folder)!r} (of {display_path(example)!r}): outputs could replace "
                f"inputs; give an output folder outside every input folder"
            )
    for folder, example in shared.items():
        if target == folder:
            raise InvalidOptionError(
                f"output folder {display_path(out)!r} is the folder of the input "
                f"{display_path(example)!r}; give another output folder"
            )
    probe = out
    while not probe.exists():  # the nearest existing folder must let us create the rest
        if probe.parent == probe:
            break
        probe = probe.parent
    why = _probe_writable(probe) if probe.is_dir() else "not a folder"
    if why is not None:
        raise ImageFileError(f"cannot write into output folder {display_path(out)!r}: "
                             f"{display_path(probe)!r}: {why}")


def _plan(items: list[BatchItem], params: dict[str, Any], summary: BatchSummary, *, resume: bool,
          overwrite: bool, ext: str) -> tuple[list[BatchItem], list[BatchItem]]:
    """Split the items into to-run and failed-while-pairing (skipped ones go to the summary);
    refuse existing outputs without resume/overwrite. Reads, never writes."""
    out = summary.out_dir
    latest: dict[str, dict[str, Any]] = {}
    if resume:
        for rec in read_manifest(out):
            latest[rec["key"]] = rec
    pending: list[BatchItem] = []
    prefailed: list[BatchItem] = []
    conflicts: list[str] = []
    for item in items:
        target = out / f"{item.key}{ext}"
        if item.error is not None:
            prefailed.append(item)
        elif resume and _is_current(latest.get(item.key), item.paths, params, target):
            summary.skipped.append(item.key)
        else:
            if not resume and not overwrite and target.exists():
                conflicts.append(target.name)
            pending.append(item)
    if conflicts:
        raise InvalidOptionError(
            f"{len(conflicts)} output(s) already exist in {display_path(out)!r} (e.g. "
            f"{display_path(conflicts[0])!r}); pass resume=True (--resume) to skip finished inputs or "
            f"overwrite=True (--overwrite) to redo them"
        )
    return pending, prefailed


class _ProgressLog:
    """Batch progress as a line on stderr every ``IMGKIT_PROGRESS_INTERVAL`` seconds (logs, pipes)."""

    def __init__(self, summary: BatchSummary):
        from .context import progress_interval

        self.summary = summary
        self.finished = len(summary.skipped)
        self.t0 = self.last = time.perf_counter()
        self.interval = progress_interval()

    def update(self, n: int = 1) -> None:
        """Count ``n`` more finished inputs (called once each is recorded)."""
        self.finished += n
        now = time.perf_counter()
        if now - self.last < self.interval and self.finished < self.summary.total:
            return
        self.last = now
        s, finished = self.summary, self.finished
        rate = (finished - len(s.skipped)) / (now - self.t0) if now > self.t0 else 0.0
        print(f"imgkit batch: {finished}/{s.total} inputs ({100.0 * finished / max(1, s.total):.0f} %), "
              f"{len(s.failed)} failed, {rate:.2f} images/s, {now - self.t0:.0f} s elapsed",
              file=sys.stderr, flush=True)

    def set_postfix(self, **kw: Any) -> None:
        pass

    def close(self) -> None:
        pass


def _stop_marker(out: Path, run_id: str) -> Path:
    return out / f".imgkit-stop-{run_id}"


def _run(pending: list[BatchItem], prefailed: list[BatchItem], params: dict[str, Any], spec: Any,
         summary: BatchSummary, manifest: _Manifest, *, scheduler: Any, workers: int | None,
         retries: int, ext: str, progress: bool | str,
         callback: Callable[..., Any] | None) -> BatchSummary:
    out = summary.out_dir
    run_id = secrets.token_hex(4)
    _remove_stale_temps(out, (it.key for it in pending), ext)

    def base(item: BatchItem) -> dict[str, Any]:
        return {"key": item.key, **params, "output": f"{item.key}{ext}", "run": run_id}

    recorded: set[str] = set()

    def record(rec: dict[str, Any]) -> Any:
        manifest.append(rec)
        recorded.add(rec["key"])
        if rec["status"] == "done":
            summary.done.append(rec["key"])
        else:
            summary.failed[rec["key"]] = rec["error"]
        return callback(rec, summary) if callback is not None else None

    bar: Any = None
    if progress == "log":
        bar = _ProgressLog(summary)
    elif progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=summary.total, initial=len(summary.skipped), unit="img", dynamic_ncols=True,
                   desc=f"{params['task']} {params['method']}")
    t_start = time.perf_counter()
    started_ns = time.time_ns()
    marker = _stop_marker(out, run_id)
    to_close: list[Any] = []
    futures: dict[Any, BatchItem] = {}
    client = None
    try:
        for item in prefailed:
            rec = {**base(item), "status": "failed", "error": item.error, "seconds": 0.0,
                   "inputs": [_stat(p) for p in item.paths if p], "time": _now()}
            stop = record(rec) is True
            if bar is not None:
                bar.update(1)
            if stop:
                summary.stopped = True
                break
        if pending and not summary.stopped:
            client, to_close = _connect(scheduler, workers, params["device"], len(pending))
            summary.startup_seconds = time.perf_counter() - t_start
            summary.workers = len(client.nthreads())
            summary.dashboard = _dashboard(client, local=scheduler is None)
            if progress and summary.dashboard:
                print(f"Dask dashboard: {summary.dashboard}", file=sys.stderr)
            if params["device"] == "cuda":
                _check_gpu_workers(client)
            t_start = time.perf_counter()
            futures = _submit(client, pending, params, spec, out, ext, retries, run_id, marker)
            _collect(futures, base, record, summary, bar, client)
    except KeyboardInterrupt:
        summary.stopped = True
        _request_stop(marker)
        _cancel(futures)
        raise BatchInterrupted(summary) from None
    finally:
        summary.seconds = time.perf_counter() - t_start
        if bar is not None:
            bar.close()
        drained = True
        if summary.stopped:
            _request_stop(marker)
            _cancel(futures)
            if client is not None:
                drained = _drain(client, run_id, STOP_GRACE_S)
        for obj in to_close:
            with contextlib.suppress(Exception):
                obj.close()
        if summary.stopped:
            # outputs that a task renamed into place after the stop and that never reached the
            # manifest: remove them, so every output file in out_dir is in the manifest
            _remove_orphans(out, [it for it in pending if it.key not in recorded], ext, started_ns)
            _remove_stale_temps(out, (it.key for it in pending), ext)
            if drained or scheduler is None:  # no task of this run can still be running
                with contextlib.suppress(OSError):
                    marker.unlink()
    if not summary.stopped:
        _remove_stale_temps(out, (it.key for it in pending), ext)
    return summary


def _drain(client: Any, run_id: str, timeout: float) -> bool:
    """Wait (at most ``timeout`` s) until no task of this run is processing on any worker."""
    prefix = f"imgkit-{run_id}-"
    deadline = time.monotonic() + timeout
    while True:
        try:
            busy = any(str(k).startswith(prefix) for keys in client.processing().values() for k in keys)
        except Exception:
            return False
        if not busy:
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)


def _request_stop(marker: Path) -> None:
    """Tell the tasks of this run not to put any more outputs in place (see _process_item)."""
    with contextlib.suppress(OSError):
        marker.touch()


def _remove_orphans(out: Path, items: list[BatchItem], ext: str, started_ns: int) -> None:
    for item in items:
        target = out / f"{item.key}{ext}"
        with contextlib.suppress(OSError):
            if target.stat().st_mtime_ns >= started_ns:
                target.unlink()


def _submit(client: Any, pending: list[BatchItem], params: dict[str, Any], spec: Any, out: Path,
            ext: str, retries: int, run_id: str, marker: Path) -> dict[Any, BatchItem]:
    crash = os.environ.get(CRASH_ONCE_ENV) or None
    slow = float(os.environ.get(SLOW_ENV, "0") or 0)
    jobs = [{"task": params["task"], "method": spec.name, "paths": item.paths,
             "out": str((out / f"{item.key}{ext}").absolute()), "options": params["options"],
             "device": params["device"], "seed": params["seed"], "bit_depth": params["bit_depth"],
             "key": item.key, "crash_marker": crash, "stop_marker": str(marker.absolute()),
             "slow": slow, "mask": params.get("mask")} for item in pending]
    # task keys by index: Dask keys travel as UTF-8, file names may hold any bytes
    futs = client.map(_process_item, jobs, key=[f"imgkit-{run_id}-{i}" for i in range(len(pending))],
                      pure=False, retries=retries,
                      resources={"GPU": 1} if params["device"] == "cuda" else None)
    return dict(zip(futs, pending))


def _collect(futures: dict[Any, BatchItem], base: Callable[..., dict[str, Any]],
             record: Callable[[dict[str, Any]], Any], summary: BatchSummary, bar: Any,
             client: Any) -> None:
    distributed = _distributed()
    # with_results: results are fetched in the background (no round trip per future here)
    done = distributed.as_completed(list(futures), with_results=True, raise_errors=False,
                                    loop=client.loop)
    for group in done.batches():
        for fut, res in group:
            item = futures.pop(fut)
            if not isinstance(res, dict):  # retries exhausted, worker died too often, ...
                exc = _task_exception(fut, res)
                res = {"status": "failed", "seconds": None, "inputs": [_stat(p) for p in item.paths],
                       "error": f"{type(exc).__name__}: {exc} (inputs {list(item.paths)!r}; the task "
                                f"failed after its retries)"}
            fut.release()
            rec = {**base(item), **res, "time": _now()}
            stop = record(rec) is True
            if bar is not None:
                if summary.failed:
                    bar.set_postfix(failed=len(summary.failed), refresh=False)
                bar.update(1)
            if stop:
                summary.stopped = True
                return


def _task_exception(fut: Any, res: Any) -> BaseException:
    if isinstance(res, BaseException):
        return res
    for x in res if isinstance(res, tuple) else ():
        if isinstance(x, BaseException):
            return x
    try:
        return fut.exception() or RuntimeError(f"task ended with status {fut.status!r}")
    except BaseException as exc:  # e.g. CancelledError
        return exc


def _cancel(futures: dict[Any, BatchItem]) -> None:
    if futures:
        with contextlib.suppress(Exception):
            next(iter(futures)).client.cancel(list(futures), force=True)
        futures.clear()


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------


def _build_parser() -> Any:
    import argparse

    from .cli import _Parser

    parser = _Parser(prog="imgkit batch", description="Run a method over folders of images on Dask.")
    sub = parser.add_subparsers(dest="task", metavar="TASK", parser_class=_Parser)

    def common(p: argparse.ArgumentParser, task: str) -> None:
        default = _DEFAULT_METHOD[task]
        p.add_argument("-o", "--output", required=True, type=Path,
                       help="output folder (created if missing); holds one file per input and "
                            "manifest.jsonl")
        p.add_argument("--method", "-m", default=default, help=f"method name (default: {default})")
        p.add_argument("--scheduler", default=None,
                       help="Dask scheduler address (tcp://host:8786) or scheduler file; default: a "
                            "local cluster on this machine")
        p.add_argument("--workers", type=int, default=None,
                       help="worker processes of the local cluster (default: one per core)")
        p.add_argument("--resume", action="store_true",
                       help="skip inputs already done with the same settings (see the manifest)")
        p.add_argument("--overwrite", action="store_true", help="recompute and replace existing outputs")
        p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
        p.add_argument("--seed", type=int, default=None, help="seed given to every call")
        p.add_argument("--retries", type=int, default=2,
                       help="re-runs of a task that raised an unexpected error (default 2)")
        p.add_argument("--ext", default=".png", help="output format (default .png)")
        p.add_argument("--bit-depth", type=int, default=8, choices=(8, 16))
        p.add_argument("--no-progress", dest="progress", action="store_false",
                       help="hide the progress bar")

    epilog = "Method options: --NAME VALUE (see `imgkit methods`). Details: docs/batch.md."
    p = sub.add_parser("inpaint", help="fill the masked holes of a folder of images", epilog=epilog)
    p.add_argument("images", type=Path, help="folder of images (or one image)")
    p.add_argument("--masks", required=True, type=Path,
                   help="folder of masks: the mask of cat.jpg is the image named cat.* there")
    p.add_argument("--mask-pattern", default=None,
                   help="mask file name pattern instead, e.g. '{stem}_mask.png' (fields: stem, name, ext)")
    p.add_argument("--mask-threshold", type=float, default=None, metavar="T",
                   help="a mask pixel is hole above T x the maximum (T in [0, 1); default: nonzero)")
    p.add_argument("--invert-mask", action="store_true", help="the hole is the black part of each mask")
    common(p, "inpaint")
    p = sub.add_parser("stylize", help="render a folder of images in the look of a style", epilog=epilog)
    p.add_argument("contents", type=Path, help="folder of content images (or one image)")
    p.add_argument("--style", required=True, type=Path,
                   help="style image, or a folder of styles (every content in every style)")
    common(p, "stylize")
    p = sub.add_parser("analogy", help="apply the filter A -> A' to a folder of images B", epilog=epilog)
    p.add_argument("bs", type=Path, help="folder of B images (or one image)")
    p.add_argument("--a", required=True, type=Path, help="example input A (file, or folder paired by stem)")
    p.add_argument("--a-prime", required=True, type=Path, help="example output A' (file or folder)")
    common(p, "analogy")
    return parser


def cli_main(argv: list[str]) -> int:
    """``imgkit batch TASK ...``: run a batch, print a one-screen summary, return the exit status.

    ::

        imgkit batch inpaint IMAGES --masks MASKS [--mask-pattern '{stem}_mask.png'] -o OUT
        imgkit batch stylize CONTENTS --style STYLE_OR_FOLDER -o OUT
        imgkit batch analogy BS --a A --a-prime A_PRIME -o OUT
          [--method M] [--scheduler tcp://host:8786] [--workers N] [--resume] [--overwrite]
          [--device D] [--seed N] [--retries N] [--ext .png] [--bit-depth 8|16] [--no-progress]
          [--OPTION VALUE ...]

    Exit status: 0 when every input is done (or skipped), 1 when any input failed, 2 for a usage
    or validation error (nothing run), 130 when interrupted (rerun with ``--resume``).
    """
    from .cli import _parse_method_options, _UsageError, exit_status
    from .registry import get_method

    parser = _build_parser()
    try:
        args, extra = parser.parse_known_args(list(argv))
        if args.task is None:
            parser.print_help()
            return 2
        spec = get_method(args.method, args.task)
        options = _parse_method_options(extra, spec)
        if args.task == "inpaint":
            items = inpaint_inputs(args.images, args.masks, pattern=args.mask_pattern)
        elif args.task == "stylize":
            items = stylize_inputs(args.contents, args.style)
        else:
            items = analogy_inputs(args.bs, args.a, args.a_prime)
        if not items:
            raise ImageFileNotFoundError("no input images found (looked for files ending in "
                                         f"{', '.join(_EXTS)})")
        if args.task == "inpaint":
            options.update(mask_threshold=args.mask_threshold, invert_mask=args.invert_mask)
        summary = run(args.task, items, method=args.method, out_dir=args.output,
                      scheduler=args.scheduler, workers=args.workers, resume=args.resume,
                      overwrite=args.overwrite, device=args.device, seed=args.seed,
                      retries=args.retries, ext=args.ext, bit_depth=args.bit_depth,
                      progress=(True if sys.stderr.isatty() else "log") if args.progress else False,
                      **options)
    except _UsageError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except BatchInterrupted as exc:
        print(str(exc.summary))
        print("imgkit batch: interrupted; rerun with --resume to finish", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("imgkit batch: interrupted", file=sys.stderr)
        return 130
    except ImgkitError as exc:
        print(f"imgkit batch: error: {exc}", file=sys.stderr)
        return exit_status(exc)
    except OSError as exc:
        print(f"imgkit batch: error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(str(summary))
    return 0 if summary.ok else 1
