"""A picture of the feed-forward style methods: ``benchmarks/results/style_ff_grid.jpg``.

Rows: content photos (skimage.data, ``--size`` px). Columns: the content; ``multistyle`` with
built-in styles 0, 7 and 19 and the 50/50 blend of 7 and 19; ``arbitrary`` with two style
images (shown in the header row); and, with ``--learned STYLE.npz [PAINTING]``, the style
learned by ``imgkit learn-style`` (its painting in the header row).

Run ``python -m benchmarks.studies.grid_style_ff [--size 256] [--learned mystyle.npz painting.jpg]
[--out FILE]``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
CONTENTS = ("astronaut", "chelsea", "coffee", "rocket")
STYLES = ("immunohistochemistry", "hubble_deep_field")


def _label(img: np.ndarray, text: str) -> np.ndarray:
    import cv2

    out = np.ascontiguousarray((np.clip(img, 0, 1) * 255).astype(np.uint8))
    cv2.rectangle(out, (0, 0), (out.shape[1], 18), (255, 255, 255), -1)
    cv2.putText(out, text, (3, 13), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1, cv2.LINE_AA)
    return out.astype(np.float32) / 255


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.studies.grid_style_ff",
                                 description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--learned", nargs="+", default=None, metavar=("STYLE_NPZ", "PAINTING"))
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "style_ff_grid.jpg")
    args = ap.parse_args(argv)

    import imgkit
    from imgkit import data
    from imgkit._pyramid import resize

    n = args.size
    h = n // 2
    blank = np.ones((h, n, 3), np.float32)

    def thumb(img: np.ndarray) -> np.ndarray:  # the style image, h × h, centred on white
        cell = blank.copy()
        cell[:, (n - h) // 2:(n - h) // 2 + h] = resize(img, (h, h))
        return cell

    styles = [data.photo(s, n) for s in STYLES]
    header = [_label(blank, "content"), _label(blank, "multistyle 0"), _label(blank, "multistyle 7"),
              _label(blank, "multistyle 19"), _label(blank, "blend 7+19")]
    header += [_label(thumb(s), f"arbitrary: {name[:14]}") for s, name in zip(styles, STYLES)]
    if args.learned:
        if len(args.learned) > 1:
            p = imgkit.load_image(args.learned[1])
            p = np.asarray(p, np.float32) / (255.0 if p.dtype == np.uint8 else 1.0)
            side = min(p.shape[:2])
            y, x = (p.shape[0] - side) // 2, (p.shape[1] - side) // 2
            header.append(_label(thumb(p[y:y + side, x:x + side, :3]), "learned (painting)"))
        else:
            header.append(_label(blank, "learned style"))
    rows = [np.concatenate(header, axis=1)]
    for name in CONTENTS:
        c = data.photo(name, n)
        cells = [c]
        specs = ({"style_index": 0}, {"style_index": 7}, {"style_index": 19}, {"weights": {7: 0.5, 19: 0.5}})
        for spec in specs:
            cells.append(imgkit.stylize(c, method="multistyle", device="cpu", **spec))
        cells += [imgkit.stylize(c, s, method="arbitrary") for s in styles]
        if args.learned:
            cells.append(imgkit.stylize(c, method="multistyle", style_params=args.learned[0], device="cpu"))
        rows.append(np.concatenate(cells, axis=1))
    grid = np.concatenate(rows, axis=0)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    imgkit.save_image(args.out, grid)
    print(f"wrote {args.out} ({grid.shape[1]}x{grid.shape[0]})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
