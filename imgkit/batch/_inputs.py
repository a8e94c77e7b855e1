"""Batch inputs: pairing the files of folders into :class:`BatchItem` s (one per output)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ImageFileNotFoundError, InvalidOptionError
from ..io import _EXTS

__all__ = ["BatchItem", "analogy_inputs", "inpaint_inputs", "stylize_inputs"]

_TASK_ARITY = {"inpaint": "(image, mask)", "stylize": "(content, style[, style...])",
               "analogy": "(a, a_prime, b)"}



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
