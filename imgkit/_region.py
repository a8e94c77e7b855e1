"""Where an inpainting method works, and how its fill is blended back (host-side planning).

:func:`imgkit.inpaint` gives every inpainting method four options (see
:data:`imgkit.registry.REGION_OPTIONS`):

* ``mask_dilate=r`` grows the hole by a disk of radius ``r`` pixels;
* ``mask_feather=f`` asks the method to fill ``f`` more pixels around that hole and blends the
  fill into the photo over that band: weight 1 on the (dilated) hole, falling linearly with the
  Euclidean distance ``d`` to it as ``1 - d / (f + 1)``; pixels farther than ``f`` from the hole
  keep their input values exactly;
* ``region="crop"`` runs the method on each group of nearby holes separately, on the group's
  bounding box grown by a context margin (``region_margin``, default the hole's longer side,
  at least 64 pixels), at full resolution, and pastes the fill back into the hole pixels only
  (exact: nothing else changes). Holes whose boxes overlap are grouped; when the boxes would
  cover more than half of the image the method gets the whole image instead.
* ``region="auto"`` crops on images of more than :data:`AUTO_MIN_PIXELS` pixels (big photos,
  where the whole image would cost minutes and gigabytes), and gives smaller images whole (there
  the whole image is cheap, and more context gives exemplar methods more to copy from).
"""

from __future__ import annotations

import numpy as np

__all__ = ["dilate", "feather_weights", "plan_boxes"]

#: region="auto" crops on images with more pixels than this (1 megapixel).
AUTO_MIN_PIXELS = 1 << 20
#: The smallest context margin (pixels) around a hole's bounding box when cropping.
MIN_MARGIN = 64
#: Above this share of the image covered by the boxes, use the whole image.
MAX_BOX_SHARE = 0.5
#: Cell side of the grid the holes are grouped on.
POOL = 4
#: Above this many separate holes, one box around all of them (grouping costs O(n^2)).
MAX_GROUPS = 512

Box = tuple[int, int, int, int]  # y0, y1, x0, x1 (half-open)


def dilate(mask: np.ndarray, radius: int) -> np.ndarray:
    """``mask`` grown by a disk of ``radius`` pixels (Euclidean)."""
    if radius <= 0 or not mask.any():
        return mask
    import cv2

    y0, y1, x0, x1 = _bbox(mask)
    H, W = mask.shape
    y0, y1, x0, x1 = max(0, y0 - radius), min(H, y1 + radius), max(0, x0 - radius), min(W, x1 + radius)
    # distance to the hole inside the grown box only: cost follows the hole, not the photo
    crop = np.ascontiguousarray(~mask[y0:y1, x0:x1]).astype(np.uint8)
    dist = cv2.distanceTransform(crop, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    out = mask.copy()
    out[y0:y1, x0:x1] |= dist <= radius
    return out


def feather_weights(hole: np.ndarray, width: int) -> np.ndarray:
    """Blend weights: 1 on ``hole``, ``1 - d / (width + 1)`` at distance ``d ≤ width``, else 0."""
    import cv2

    dist = cv2.distanceTransform(np.ascontiguousarray(~hole).astype(np.uint8), cv2.DIST_L2,
                                 cv2.DIST_MASK_PRECISE)
    w = 1.0 - dist / np.float32(width + 1)
    w[dist > width] = 0.0
    return np.clip(w, 0.0, 1.0).astype(np.float32)


def _bbox(mask: np.ndarray) -> Box:
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


def _overlap(a: Box, b: Box) -> bool:
    return a[0] < b[1] and b[0] < a[1] and a[2] < b[3] and b[2] < a[3]


def plan_boxes(hole: np.ndarray, margin: int | None) -> list[Box] | None:
    """Boxes for ``region="crop"``: each group of holes with its context; None = whole image.

    Every hole pixel lies in exactly one box, and the boxes do not overlap.
    """
    import cv2

    H, W = hole.shape
    # components on a POOL x coarser grid (a cell is set when any pixel of its block is): far
    # cheaper on big photos; each component's exact bounding box is then read inside its blocks
    s = POOL if min(H, W) >= 16 * POOL else 1
    if s > 1:
        padded = np.zeros((-(-H // s) * s, -(-W // s) * s), bool)
        padded[:H, :W] = hole
        grid = padded.reshape(padded.shape[0] // s, s, padded.shape[1] // s, s).any(axis=(1, 3))
    else:
        grid = hole
    n, _, stats, _ = cv2.connectedComponentsWithStats(grid.astype(np.uint8), connectivity=8)
    comps = []
    for i in range(1, n):
        x, y, w, h = (int(v) for v in stats[i, :4])
        y0, x0 = y * s, x * s
        by0, by1, bx0, bx1 = _bbox(hole[y0 : min(H, (y + h) * s), x0 : min(W, (x + w) * s)])
        comps.append((x0 + bx0, y0 + by0, bx1 - bx0, by1 - by0))
    if not comps:
        return None
    if len(comps) > MAX_GROUPS:
        y0, y1, x0, x1 = _bbox(hole)
        comps = [(x0, y0, x1 - x0, y1 - y0)]
    boxes: list[Box] = []
    for x, y, w, h in comps:
        m = max(MIN_MARGIN, max(w, h)) if margin is None else margin
        boxes.append((max(0, y - m), min(H, y + h + m), max(0, x - m), min(W, x + w + m)))
    merged = True
    while merged:  # union overlapping boxes until none overlap
        merged = False
        out: list[Box] = []
        for b in boxes:
            for i, o in enumerate(out):
                if _overlap(b, o):
                    out[i] = (min(b[0], o[0]), max(b[1], o[1]), min(b[2], o[2]), max(b[3], o[3]))
                    merged = True
                    break
            else:
                out.append(b)
        boxes = out
    area = sum((b[1] - b[0]) * (b[3] - b[2]) for b in boxes)
    if area > MAX_BOX_SHARE * H * W:
        return None
    return sorted(boxes)
