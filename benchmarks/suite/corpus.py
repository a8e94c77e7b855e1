"""``python -m benchmarks corpus``: list (or export) the benchmark photo corpus.

::

    python -m benchmarks corpus [--split all|tune|heldout] [--json]
    python -m benchmarks corpus --split tune --export DIR [--size PX]

Every photo comes from a package installed here (scikit-image, matplotlib, Debian wallpaper
packages: ``make corpus`` installs the Debian ones); nothing is downloaded and no photo is
committed. A photo whose package is missing is listed as ``skipped: not installed (…)``.
``--export`` writes centre-cropped PNGs (e.g. as training photos for ``imgkit train``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def _full_size(entry) -> str:
    import cv2

    if entry.source.startswith("skimage:"):
        from skimage import data as skdata

        h, w = getattr(skdata, entry.source.split(":", 1)[1])().shape[:2]
        return f"{w}x{h}"
    path = entry.path()
    if path is None:
        return ""
    img = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    return "" if img is None else f"{img.shape[1]}x{img.shape[0]}"


def rows(split: str = "all") -> list[dict[str, str]]:
    """One dict per corpus photo: name, split, category, package, licence, size, status."""
    from imgkit import data

    out = []
    for p in data.corpus(split):
        status = "ok" if p.available else f"skipped: not installed ({p.package})"
        out.append({"name": p.name, "split": p.split, "category": p.category,
                    "package": p.package, "licence": p.licence,
                    "size": _full_size(p) if p.available else "", "status": status})
    return out


def main(argv: list[str] | None = None) -> int:
    from imgkit import data

    ap = argparse.ArgumentParser(prog="python -m benchmarks corpus",
                                 description="List or export the benchmark photo corpus.")
    ap.add_argument("--split", default="all", choices=("all", *data.SPLITS))
    ap.add_argument("--json", action="store_true", help="print JSON instead of a table")
    ap.add_argument("--export", type=Path, metavar="DIR",
                    help="write the split's available photos as PNG files into DIR")
    ap.add_argument("--size", type=int, default=512,
                    help="side of the exported square crops (default 512)")
    args = ap.parse_args(argv)
    table = rows(args.split)
    if args.export is not None:
        import cv2
        import numpy as np

        args.export.mkdir(parents=True, exist_ok=True)
        n = 0
        for r in table:
            if r["status"] != "ok":
                continue
            img = data.photo(r["name"], args.size)
            u8 = np.round(img * 255).astype(np.uint8)
            cv2.imwrite(str(args.export / f"{r['name']}.png"), cv2.cvtColor(u8, cv2.COLOR_RGB2BGR))
            n += 1
        print(f"wrote {n} photos ({args.split}, {args.size} px) to {args.export}")
        return 0
    if args.json:
        print(json.dumps(table, indent=1))
        return 0
    cols = ("name", "split", "category", "package", "licence", "size", "status")
    widths = {c: max(len(c), *(len(r[c]) for r in table)) for c in cols}
    print("  ".join(c.ljust(widths[c]) for c in cols))
    for r in table:
        print("  ".join(r[c].ljust(widths[c]) for c in cols))
    ok = sum(r["status"] == "ok" for r in table)
    n_t = sum(r["split"] == "tune" for r in table)
    print(f"{len(table)} photos ({n_t} tune, {len(table) - n_t} heldout); {ok} available here")
    return 0


if __name__ == "__main__":
    sys.exit(main())
