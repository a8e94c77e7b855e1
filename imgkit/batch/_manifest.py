"""The manifest: one JSON line per finished input, written by the client; what ``resume`` reads."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from ._errors import BatchError

__all__ = ["MANIFEST_NAME", "read_manifest"]

#: File name of the manifest inside ``out_dir``.
MANIFEST_NAME = "manifest.jsonl"



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
