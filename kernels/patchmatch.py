"""PatchMatch nearest-neighbour fields: a Numba CPU kernel and its Numba-CUDA twin.

PatchMatch (Barnes et al. 2009) finds, for every patch of a *target* feature image ``T``, a
similar patch of a *source* feature image ``S``: the nearest-neighbour field (NNF). One engine
serves image completion (Wexler-style EM, distances against the current estimate of the hole)
and the approximate search of image analogies (Gaussian-weighted, causal neighbourhoods).

Contract (array in, array out; NumPy on the CPU, CuPy -- or NumPy under Numba's CUDA simulator
-- on the GPU)
-------------------------------------------------------------------------------------------------
Inputs

* ``target`` ``T``: float32 ``(H, W, C)``, any ``C`` (colour, Lab, luminance + filter
  responses, several pyramid levels stacked, ...). ``source`` ``S``: float32 ``(H', W', C)``.
* ``patch_size`` ``P``: odd, ``half = P // 2``.
* ``solve``: bool ``(H, W)``, the target pixels to solve (default all). Other pixels keep their
  initial entry; they are never written, but their entries are still read as propagation
  candidates (every candidate is checked, so an entry there may be anything).
* ``valid``: bool ``(H', W')``, the source patch *centres* that may be returned. Only centres at
  least ``half`` from the source border are ever used (``valid`` is intersected with that band),
  so a source patch is always whole. :func:`valid_centres` builds ``valid`` from a mask of
  usable source *pixels* (a centre is valid when its whole patch is usable).
* ``init``: int32 ``(H, W, 2)`` source ``(y, x)`` centres. For solved pixels every entry must be
  a valid centre. :func:`random_nnf` draws one uniformly among the valid centres;
  :func:`upsample_nnf` carries a coarse level's field to the next finer level (×2).
* ``pixel_weights`` ``w``: optional float32 ``(H, W)``, ≥ 0: the weight of each *target pixel*'s
  contribution to every patch that contains it (completion: 1 for known pixels, a confidence or
  1 for hole pixels of the current estimate, 0 to ignore a pixel; analogies: 0 for pixels not
  synthesised yet).
* ``kernel`` ``k``: optional float32 ``(P, P)`` or ``(P, P, C)``, ≥ 0: a weight per patch offset
  (and channel). ``(P, P)`` applies to all channels, e.g. a Gaussian falloff; ``(P, P, C)`` lets
  channel groups use different windows, e.g. analogies' full 5×5 window on the B channels and a
  causal (L-shaped, scan-order) window on the B′ channels, times per-channel feature weights.

Distance (the ``dist`` output, float32 ``(H, W)``)
    For target centre ``p`` and source centre ``s``, over offsets ``o`` with ``p + o`` inside the
    target (target patches are clipped at the target border; source patches are always whole)::

        D(p, s) = sum_o sum_c w(p+o) k(o, c) (T(p+o, c) - S(s+o, c))**2  /  N(p)
        N(p)    = sum_o w(p+o) kbar(o),     kbar(o) = mean_c k(o, c)

    i.e. a weighted sum of squared differences normalised by the weight over the in-image part
    of the target patch (with no weights: the mean over patch pixels of the squared colour
    distance, summed over channels). ``N(p)`` does not depend on ``s``, so the search compares
    raw sums and the early termination is exact. Where ``N(p) == 0`` (nothing to compare),
    ``D = 0`` and the entry stays where it is. Pixels whose entry is not a usable centre (only
    possible for unsolved pixels) get ``D = inf``.

Output
    ``nnf`` int32 ``(H, W, 2)``: source ``(y, x)`` centres (offsets are ``nnf - (y, x)``), and
    ``dist`` as above. ``float32`` sums are accumulated patch row by patch row in a fixed order.

Algorithm (Barnes et al. 2009, section 3.2)
-------------------------------------------
Each iteration visits the solved pixels in scan order, left→right/top→bottom on even
iterations and right→left/bottom→top on odd ones. At pixel ``p`` with current source ``v``:

1. **Propagation**: try ``f(p - d) + d`` for the previous pixel in the row and in the column
   (``d`` = the scan direction's unit steps).
2. **Random search**: try ``u_i = v0 + R_i`` with ``R_i`` uniform in the window of radius
   ``r_i = max(H', W') α^i`` (α = 1/2: ``r`` halves, integer division, until it is below 1)
   around the post-propagation source ``v0``, the window clipped to the usable centres.

A candidate replaces the current one only if it is a valid centre and *strictly* closer (ties
keep the current entry). Every distance evaluation stops as soon as the partial sum (checked
after each patch row) exceeds the current best.

Random numbers: a counter-based generator. Candidate ``k`` of pixel ``p`` in iteration ``t``
comes from a 32-bit integer hash (an avalanche mix in the style of Wellons' ``lowbias32``,
with multipliers below 2**31 so that int64 arithmetic never overflows, in Numba, on the GPU
and in Python alike) of ``(seed, t, p, k)``. Draws therefore never depend on thread
scheduling, and the same seed gives the same bytes.

CPU parallelisation (``numba.njit(parallel=True)``)
    Propagation is sequential along the scan, so the rows are split into bands of ``band_rows``
    rows (``kernels.config.PM_BAND_ROWS``, default 16) scanned in parallel, each in the
    iteration's direction. Inside a band the scan is the classic one; the first row of a band
    (in scan order) propagates across the band edge from a snapshot of the field taken at the
    start of the iteration, so no thread reads a row another thread is writing. Band edges move
    by ``band_rows // 2`` on odd iterations, so no row stays at an edge. Rows propagate along
    their whole width; the vertical reach per iteration is limited to a band, which costs a few
    per cent of the sequential version's quality at most after a few iterations (measured in
    ``tests/test_patchmatch_engine.py``). The result depends on ``band_rows`` but never on the
    number of threads. ``band_rows >= H`` is the paper's sequential algorithm.

    Cost: about 80 % of the time is random search: ~10 candidates per pixel and iteration, most
    rejected after 1-3 patch rows (early termination; 2.8 rows on average for 512² photos). What
    such a short evaluation costs is dominated by fixed overheads, so the kernel keeps them small:

    * the unweighted SSD (``_plain_dist``) is inlined into the scan (a Numba call passes every
      array as a struct of fields: that alone was half of the time) and reads each patch row as
      8-lane masked vector loads, from an LLVM loop emitted by an intrinsic (``_patch_ssd``);
      pixel weights without a kernel (completion's search) use the same vector code with a third
      array, the weights repeated over the channels (one more load and multiply per 8 values;
      the sums round differently from the scalar code); the scan and the row distances are
      compiled three times, unweighted, pixel-weighted (both inlined) and general weighted
      (kernels, with or without pixel weights: scalar, called), so each loop stays small;
    * the candidates of a pixel do not depend on each other's outcome (the window is centred on
      the post-propagation match), so all are drawn first and their first rows prefetched
      (``llvm.prefetch``), which overlaps the cache misses of the far ones.

    Each iteration is one parallel region (a band computes its rows' initial distances before its
    first scan and normalises them after its last; only the rows read across band edges are
    snapshotted between regions), and problems with fewer than
    ``kernels.config.PM_PARALLEL_MIN_PIXELS`` pixels to solve run the same code on one thread
    (waking threads would cost more than it saves). The vector sums round differently from the
    scalar code of the CUDA twin and the NumPy reference (float32, a fixed order per row, so the
    CPU result is still the same bytes run to run); nothing else differs.

CUDA twin (``numba.cuda.jit``, one thread per target pixel)
    Sequential propagation does not map to thousands of threads, so the twin uses jump-flood
    propagation as in the PatchMatch paper's GPU version: each iteration runs steps
    ``k, k/2, ..., 1`` (``k`` the largest power of two ≤ ``max(H, W) / 2``), where every pixel
    tries ``f(q) + (p - q)`` for its four neighbours ``q = p ± step`` along rows and columns,
    reading one buffer and writing another (no races); then the same random search as the CPU
    with the same hash. Results are deterministic but differ from the CPU's (another order of
    candidates), with the same quality criteria.

References
----------
.. [1] C. Barnes, E. Shechtman, A. Finkelstein, D. B. Goldman, "PatchMatch: A Randomized
   Correspondence Algorithm for Structural Image Editing", ACM Trans. Graphics (SIGGRAPH) 28(3),
   2009.
.. [2] G. Rong, T.-S. Tan, "Jump Flooding in GPU with Applications to Voronoi Diagram and
   Distance Transform", I3D 2006.
"""

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np
from llvmlite import ir
from numba import cuda, prange, types
from numba.core import cgutils
from numba.extending import intrinsic

from . import config
from ._jit import prange_only, rebind, threaded_call

__all__ = [
    "patch_distances",
    "patchmatch",
    "random_nnf",
    "upsample_nnf",
    "valid_centres",
]

_M32 = 0xFFFFFFFF
_INIT_STREAM = 0xFFFFF  # iteration number reserved for random_nnf


# ---------------------------------------------------------------------------------------------
# Shared scalar code: compiled for the CPU (njit) and the GPU (cuda device functions)
# ---------------------------------------------------------------------------------------------


def _mix32_py(x):
    # Avalanche mix of a 32-bit value held in an int64 (multipliers < 2**31: no overflow).
    x = x & 0xFFFFFFFF
    x ^= x >> 16
    x = (x * 0x7FEB352D) & 0xFFFFFFFF
    x ^= x >> 15
    x = (x * 0x5BD1E995) & 0xFFFFFFFF
    x ^= x >> 16
    return x


def _base_py(seed_lo, seed_hi, it, pix):
    # Per (seed, iteration, pixel) stream state.
    h = _mix32(seed_lo ^ 0x3C6EF372)
    h = _mix32(h ^ seed_hi)
    h = _mix32((h + it * 0x2545F491) & 0xFFFFFFFF)
    return _mix32((h + pix) & 0xFFFFFFFF)


def _draw_py(base, k):
    # k-th 32-bit draw of a stream.
    return _mix32((base + (k + 1) * 0x1B873593) & 0xFFFFFFFF)


def _clip_py(ty, tx, H, W, half):
    # Offsets (y0, y1, x0, x1) of the target patch at (ty, tx) that lie inside the H×W target.
    y0 = -half if ty >= half else -ty
    y1 = half if ty + half < H else H - 1 - ty
    x0 = -half if tx >= half else -tx
    x1 = half if tx + half < W else W - 1 - tx
    return y0, y1, x0, x1


def _plain_dist_py(T, S, C, ty, tx, sy, sx, half, limit):
    # _dist without pixel weights or kernel: the plain SSD (8-lane vectors on the CPU).
    y0, y1, x0, x1 = _clip(ty, tx, T.shape[0], T.shape[1] // C, half)
    n = np.uint64((x1 - x0 + 1) * C)
    return _patch_ssd(T, ty + y0, np.uint64((tx + x0) * C), S, sy + y0, np.uint64((sx + x0) * C), n,
                      y1 - y0 + 1, limit)


def _dist_py(T, S, C, ty, tx, sy, sx, half, wpix, kern, use_w, use_k, limit):
    # Raw weighted SSD between the target patch at (ty, tx), clipped to the target, and the
    # whole source patch at (sy, sx); stops once a patch row ends above `limit`. T and S are
    # (H, W*C) views, so a patch row is one contiguous run of (x1 - x0 + 1) * C values; kern is
    # (P, P*C). Unsigned indices (no negative-index wraparound code). Called through _distance,
    # only with pixel weights or a kernel (use_w or use_k); _plain_dist serves the rest.
    y0, y1, x0, x1 = _clip(ty, tx, T.shape[0], T.shape[1] // C, half)
    n = np.uint64((x1 - x0 + 1) * C)
    bt = np.uint64((tx + x0) * C)
    bs = np.uint64((sx + x0) * C)
    bk = np.uint64((x0 + half) * C)
    cc = np.uint64(C)
    acc = np.float32(0.0)
    for dy in range(y0, y1 + 1):
        tr = T[ty + dy]
        sr = S[sy + dy]
        a0 = np.float32(0.0)
        a1 = np.float32(0.0)
        if use_w:
            kr = kern[0]  # (1, C) placeholder without a kernel: never indexed past row 0
            if use_k:
                kr = kern[dy + half]
            wr = wpix[ty + dy]
            for i in range(np.uint64(0), np.uint64(x1 - x0 + 1)):
                wp = wr[np.uint64(tx + x0) + i]
                if wp != 0:
                    o = i * cc
                    px = np.float32(0.0)  # this pixel's (kernel-weighted) squared distance
                    for c in range(np.uint64(0), cc):
                        d = tr[bt + o + c] - sr[bs + o + c]
                        if use_k:
                            px += kr[bk + o + c] * d * d
                        else:
                            px += d * d
                    if i % np.uint64(2) == np.uint64(0):
                        a0 += wp * px
                    else:
                        a1 += wp * px
        else:
            kr = kern[dy + half]
            for j in range(np.uint64(0), n):
                d = tr[bt + j] - sr[bs + j]
                a0 += kr[bk + j] * d * d
        acc += a0 + a1
        if acc > limit:
            return acc
    return acc


def _row_ssd_py(tr, bt, sr, bs, n):
    # sum_{j < n} (tr[bt + j] - sr[bs + j])**2 over 1-D float32 rows (uint64 indices). Four
    # accumulators (no single add-latency chain). The CPU kernels use the vector intrinsics of
    # _patch_ssd instead.
    one = np.uint64(1)
    n4 = n - n % np.uint64(4)
    a0 = np.float32(0.0)
    a1 = np.float32(0.0)
    a2 = np.float32(0.0)
    a3 = np.float32(0.0)
    for j in range(np.uint64(0), n4, np.uint64(4)):
        p = bt + j
        q = bs + j
        d0 = tr[p] - sr[q]
        d1 = tr[p + one] - sr[q + one]
        d2 = tr[p + np.uint64(2)] - sr[q + np.uint64(2)]
        d3 = tr[p + np.uint64(3)] - sr[q + np.uint64(3)]
        a0 += d0 * d0
        a1 += d1 * d1
        a2 += d2 * d2
        a3 += d3 * d3
    for j in range(n4, n):
        d = tr[bt + j] - sr[bs + j]
        a0 += d * d
    return (a0 + a1) + (a2 + a3)


def _patch_ssd_py(T, ty0, bt, S, sy0, bs, n, rows, limit):
    # Unweighted SSD of `rows` rows of n values, T from (ty0, bt), S from (sy0, bs), summed row
    # by row; stops once the sum ends a row above `limit`.
    acc = np.float32(0.0)
    for r in range(rows):
        acc += _row_ssd(T[ty0 + r], bt, S[sy0 + r], bs, n)
        if acc > limit:
            return acc
    return acc


def _norm_py(ty, tx, H, W, half, wpix, kbar, use_w, use_k):
    # N(p): the weight over the in-image part of the target patch.
    acc = np.float32(0.0)
    for dy in range(-half, half + 1):
        yt = ty + dy
        if yt < 0 or yt >= H:
            continue
        for dx in range(-half, half + 1):
            xt = tx + dx
            if xt < 0 or xt >= W:
                continue
            v = np.float32(1.0)
            if use_w:
                v = wpix[yt, xt]
            if use_k:
                v = v * kbar[dy + half, dx + half]
            acc += v
    return acc


def _pick_py(lo, hi, h):
    # An integer in [lo, hi] from a 32-bit draw h (multiply-shift, no division).
    return lo + ((h * (hi - lo + 1)) >> 32)


def _usable_py(cy, cx, lo_y, hi_y, lo_x, hi_x, valid):
    if cy < lo_y or cy > hi_y or cx < lo_x or cx > hi_x:
        return False
    return valid[cy, cx]


def _vector_patch_ssd(chunks: int, long_rows: bool = False, weighted: bool = False):
    """An intrinsic ``f(T, ty0, tx0, S, sy0, sx0, n, rows, limit)`` = ``_patch_ssd_py`` as one LLVM
    loop over the rows. A row is read in blocks of ``chunks`` 8-lane masked vector loads per array
    (lanes at or past ``n`` are never read, so a row that ends at the end of an array is safe):
    one block when ``n <= 8 * chunks`` (masks computed once per patch), or, with ``long_rows``, as
    many blocks as the row needs (an inner loop). Lane-wise squared differences are summed into one
    vector per row, reduced in a fixed order (8 -> 4 -> 2 -> 1) and added to the running sum; then
    the early exit. Numba's scalar loops do not vectorise at these short trip counts (21 values for
    a 7-pixel RGB patch row).

    With ``weighted`` the intrinsic is ``f(T, Wt, ty0, tx0, S, sy0, sx0, n, rows, limit)``: ``Wt``
    has ``T``'s shape and layout (the pixel weights repeated over the channels) and every lane's
    squared difference is multiplied by its weight, i.e. the pixel-weighted SSD of the module
    docstring (without a kernel) at the cost of one more load and multiply per 8 values."""

    def _typer(sig):
        def codegen(context, builder, signature, args):
            if weighted:  # (T, Wt, ...) -> the unweighted argument order, Wt apart
                wt_ty, wt_arg = signature.args[1], args[1]
                args = (args[0], *args[2:])
                signature = types.float32(signature.args[0], *signature.args[2:])
            f32 = ir.FloatType()
            i32 = ir.IntType(32)
            i64 = ir.IntType(64)
            v8 = ir.VectorType(f32, 8)
            i8p = ir.IntType(8).as_pointer()
            lanes = ir.Constant(ir.VectorType(i64, 8), list(range(8)))
            zero = ir.Constant(v8, [0.0] * 8)
            splat = ir.Constant(ir.VectorType(i32, 8), [0] * 8)
            mask_t = ir.VectorType(ir.IntType(1), 8)
            load = cgutils.get_or_insert_function(
                builder.module, ir.FunctionType(v8, [v8.as_pointer(), i32, mask_t, v8]),
                "llvm.masked.load.v8f32.p0")

            def wide(v):
                return builder.zext(v, i64) if v.type.width < 64 else v

            def start(aty, ary, y, x):
                arr = context.make_array(aty)(context, builder, ary)
                ptr = cgutils.get_item_pointer(context, builder, aty, arr, [wide(y), wide(x)],
                                               wraparound=False, boundscheck=False)
                return builder.bitcast(ptr, i8p), builder.extract_value(arr.strides, 0)

            def masks_for(left):  # lanes of each chunk below `left` values
                out = []
                for c in range(chunks):
                    v = builder.insert_element(ir.Constant(ir.VectorType(i64, 8), ir.Undefined),
                                               builder.sub(left, ir.Constant(i64, 8 * c)),
                                               ir.Constant(i32, 0))
                    out.append(builder.icmp_signed("<", lanes, builder.shuffle_vector(v, v, splat)))
                return out

            def block(ft, fs, fw, masks, vacc):  # vacc + sum of [w *] (t - s)**2 over one block
                for c in range(chunks):
                    off = ir.Constant(i64, 8 * c)
                    vt = builder.call(load, [builder.bitcast(builder.gep(ft, [off]), v8.as_pointer()),
                                             ir.Constant(i32, 4), masks[c], zero])
                    vs = builder.call(load, [builder.bitcast(builder.gep(fs, [off]), v8.as_pointer()),
                                             ir.Constant(i32, 4), masks[c], zero])
                    d = builder.fsub(vt, vs)
                    d2 = builder.fmul(d, d)
                    if fw is not None:
                        vw = builder.call(load, [builder.bitcast(builder.gep(fw, [off]), v8.as_pointer()),
                                                 ir.Constant(i32, 4), masks[c], zero])
                        d2 = builder.fmul(vw, d2)
                    vacc = builder.fadd(vacc, d2)
                return vacc

            pt0, st = start(signature.args[0], args[0], args[1], args[2])
            ps0, ss = start(signature.args[3], args[3], args[4], args[5])
            pw0, sw = start(wt_ty, wt_arg, args[1], args[2]) if weighted else (None, None)
            n, rows = wide(args[6]), wide(args[7])
            limit = context.cast(builder, args[8], signature.args[8], types.float32)  # f32 or inf
            masks = None if long_rows else masks_for(n)
            entry = builder.basic_block
            loop = builder.append_basic_block("patch_ssd.row")
            done = builder.append_basic_block("patch_ssd.done")
            builder.cbranch(builder.icmp_signed(">", rows, ir.Constant(i64, 0)), loop, done)

            builder.position_at_end(loop)
            r = builder.phi(i64)
            acc = builder.phi(f32)
            pt = builder.phi(i8p)
            ps = builder.phi(i8p)
            pw = builder.phi(i8p) if weighted else None
            r.add_incoming(ir.Constant(i64, 0), entry)
            acc.add_incoming(ir.Constant(f32, 0.0), entry)
            pt.add_incoming(pt0, entry)
            ps.add_incoming(ps0, entry)
            ft = builder.bitcast(pt, f32.as_pointer())
            fs = builder.bitcast(ps, f32.as_pointer())
            fw = None
            if weighted:
                pw.add_incoming(pw0, entry)
                fw = builder.bitcast(pw, f32.as_pointer())
            if long_rows:
                row_start = builder.basic_block
                inner = builder.append_basic_block("patch_ssd.block")
                builder.branch(inner)
                builder.position_at_end(inner)
                j = builder.phi(i64)
                vacc = builder.phi(v8)
                j.add_incoming(ir.Constant(i64, 0), row_start)
                vacc.add_incoming(zero, row_start)
                vnext = block(builder.gep(ft, [j]), builder.gep(fs, [j]),
                              builder.gep(fw, [j]) if weighted else None, masks_for(builder.sub(n, j)), vacc)
                j_next = builder.add(j, ir.Constant(i64, 8 * chunks))
                inner_end = builder.basic_block
                j.add_incoming(j_next, inner_end)
                vacc.add_incoming(vnext, inner_end)
                row_end = builder.append_basic_block("patch_ssd.row_end")
                builder.cbranch(builder.icmp_signed("<", j_next, n), inner, row_end)
                builder.position_at_end(row_end)
                row = vnext
            else:
                row = block(ft, fs, fw, masks, zero)
            for w in (4, 2, 1):
                lo = ir.Constant(ir.VectorType(i32, w), list(range(w)))
                hi = ir.Constant(ir.VectorType(i32, w), list(range(w, 2 * w)))
                row = builder.fadd(builder.shuffle_vector(row, row, lo), builder.shuffle_vector(row, row, hi))
            acc_next = builder.fadd(acc, builder.extract_element(row, ir.Constant(i32, 0)))
            r_next = builder.add(r, ir.Constant(i64, 1))
            more = builder.and_(builder.icmp_signed("<", r_next, rows),
                                builder.not_(builder.fcmp_ordered(">", acc_next, limit)))
            tail = builder.basic_block
            r.add_incoming(r_next, tail)
            acc.add_incoming(acc_next, tail)
            pt.add_incoming(builder.gep(pt, [st]), tail)
            ps.add_incoming(builder.gep(ps, [ss]), tail)
            if weighted:
                pw.add_incoming(builder.gep(pw, [sw]), tail)
            builder.cbranch(more, loop, done)

            builder.position_at_end(done)
            out = builder.phi(f32)
            out.add_incoming(ir.Constant(f32, 0.0), entry)
            out.add_incoming(acc_next, tail)
            return out

        return sig, codegen

    if weighted:
        def _wpatch_ssd_vec(typingctx, T, Wt, ty0, tx0, S, sy0, sx0, n, rows, limit):
            return _typer(types.float32(T, Wt, ty0, tx0, S, sy0, sx0, n, rows, limit))

        return intrinsic(_wpatch_ssd_vec)

    def _patch_ssd_vec(typingctx, T, ty0, tx0, S, sy0, sx0, n, rows, limit):
        return _typer(types.float32(T, ty0, tx0, S, sy0, sx0, n, rows, limit))

    return intrinsic(_patch_ssd_vec)


_patch_ssd8 = _vector_patch_ssd(1)
_patch_ssd16 = _vector_patch_ssd(2)
_patch_ssd24 = _vector_patch_ssd(3)
_patch_ssd32 = _vector_patch_ssd(4)
_patch_ssd_long = _vector_patch_ssd(4, long_rows=True)
_wpatch_ssd8 = _vector_patch_ssd(1, weighted=True)
_wpatch_ssd16 = _vector_patch_ssd(2, weighted=True)
_wpatch_ssd24 = _vector_patch_ssd(3, weighted=True)
_wpatch_ssd32 = _vector_patch_ssd(4, weighted=True)
_wpatch_ssd40 = _vector_patch_ssd(5, weighted=True)
_wpatch_ssd_long = _vector_patch_ssd(4, long_rows=True, weighted=True)
_row_ssd = numba.njit(cache=True)(_row_ssd_py)  # the scalar row (CPU code uses the intrinsics)


@numba.njit(cache=True, inline="always")
def _patch_ssd(T, ty0, bt, S, sy0, bs, n, rows, limit):
    # _patch_ssd_py on the CPU: vector blocks sized to the row (P * C values).
    if n <= 8:
        return _patch_ssd8(T, ty0, bt, S, sy0, bs, n, rows, limit)
    if n <= 16:
        return _patch_ssd16(T, ty0, bt, S, sy0, bs, n, rows, limit)
    if n <= 24:
        return _patch_ssd24(T, ty0, bt, S, sy0, bs, n, rows, limit)
    if n <= 32:
        return _patch_ssd32(T, ty0, bt, S, sy0, bs, n, rows, limit)
    return _patch_ssd_long(T, ty0, bt, S, sy0, bs, n, rows, limit)


@numba.njit(cache=True, inline="always")
def _wpatch_ssd(T, Wt, ty0, bt, S, sy0, bs, n, rows, limit):
    # The pixel-weighted SSD on the CPU: Wt holds the pixel weights repeated over the channels.
    if n <= 8:
        return _wpatch_ssd8(T, Wt, ty0, bt, S, sy0, bs, n, rows, limit)
    if n <= 16:
        return _wpatch_ssd16(T, Wt, ty0, bt, S, sy0, bs, n, rows, limit)
    if n <= 24:
        return _wpatch_ssd24(T, Wt, ty0, bt, S, sy0, bs, n, rows, limit)
    if n <= 32:
        return _wpatch_ssd32(T, Wt, ty0, bt, S, sy0, bs, n, rows, limit)
    if n <= 40:
        return _wpatch_ssd40(T, Wt, ty0, bt, S, sy0, bs, n, rows, limit)
    return _wpatch_ssd_long(T, Wt, ty0, bt, S, sy0, bs, n, rows, limit)


_mix32 = numba.njit(cache=True)(_mix32_py)
_base = numba.njit(cache=True)(_base_py)
_draw = numba.njit(cache=True)(_draw_py)
_clip = numba.njit(cache=True, inline="always")(_clip_py)
_plain_dist = numba.njit(cache=True, inline="always")(_plain_dist_py)
_dist = numba.njit(cache=True)(_dist_py)


def _distance_py(T, S, C, ty, tx, sy, sx, half, wpix, kern, use_w, use_k, limit):
    # The patch distance of the module docstring: _dist with pixel weights or a kernel, else the
    # plain SSD. (The CPU scans are compiled twice instead, each with one of the two inlined or
    # called directly: see _scan_band_py.)
    if use_w or use_k:
        return _dist(T, S, C, ty, tx, sy, sx, half, wpix, kern, use_w, use_k, limit)
    return _plain_dist(T, S, C, ty, tx, sy, sx, half, limit)


def _plain_distance_py(T, S, C, ty, tx, sy, sx, half, wpix, kern, use_w, use_k, limit):
    return _plain_dist(T, S, C, ty, tx, sy, sx, half, limit)


def _pixel_weighted_distance_py(T, S, C, ty, tx, sy, sx, half, wpix, kern, use_w, use_k, limit):
    # The raw pixel-weighted SSD (pixel weights, no kernel) as 8-lane vectors: wpix here is the
    # (H, W*C) array of the weights repeated over the channels (see _scan_weights).
    y0, y1, x0, x1 = _clip(ty, tx, T.shape[0], T.shape[1] // C, half)
    n = np.uint64((x1 - x0 + 1) * C)
    return _wpatch_ssd(T, wpix, ty + y0, np.uint64((tx + x0) * C), S, sy + y0, np.uint64((sx + x0) * C), n,
                       y1 - y0 + 1, limit)


_plain_distance = numba.njit(cache=True, inline="always")(_plain_distance_py)
_pixel_weighted_distance = numba.njit(cache=True, inline="always")(_pixel_weighted_distance_py)
_distance = numba.njit(cache=True)(_distance_py)  # the general CPU build (the scans use their own)
_pick = numba.njit(cache=True)(_pick_py)
_norm = numba.njit(cache=True)(_norm_py)
_usable = numba.njit(cache=True)(_usable_py)


# The same Python sources compiled as CUDA device functions (and run vectorised on host
# arrays). A function's globals are resolved from its __globals__, which for the shared sources
# is this module (bound to the njit versions above), so the other versions get copies of the
# sources with their own globals.
_host_base = rebind(_base_py, {"_mix32": _mix32_py})
_gpu_ns: dict[str, Any] = {"np": np}
_d_mix32 = cuda.jit(device=True)(rebind(_mix32_py, _gpu_ns))
_gpu_ns["_mix32"] = _d_mix32
_d_base = cuda.jit(device=True)(rebind(_base_py, _gpu_ns))
_d_draw = cuda.jit(device=True)(rebind(_draw_py, _gpu_ns))
_gpu_ns["_clip"] = cuda.jit(device=True)(rebind(_clip_py, _gpu_ns))
_gpu_ns["_row_ssd"] = cuda.jit(device=True)(rebind(_row_ssd_py, _gpu_ns))
_gpu_ns["_patch_ssd"] = cuda.jit(device=True)(rebind(_patch_ssd_py, _gpu_ns))
_gpu_ns["_plain_dist"] = cuda.jit(device=True)(rebind(_plain_dist_py, _gpu_ns))
_gpu_ns["_dist"] = cuda.jit(device=True)(rebind(_dist_py, _gpu_ns))
_d_dist = cuda.jit(device=True)(rebind(_distance_py, _gpu_ns))
_d_norm = cuda.jit(device=True)(rebind(_norm_py, _gpu_ns))
_d_usable = cuda.jit(device=True)(rebind(_usable_py, _gpu_ns))
_d_pick = cuda.jit(device=True)(rebind(_pick_py, _gpu_ns))


# ---------------------------------------------------------------------------------------------
# CPU kernels
# ---------------------------------------------------------------------------------------------


@intrinsic
def _prefetch(typingctx, arr, i, j):
    """Hint the CPU to fetch ``arr[i, j]`` into the cache (LLVM ``llvm.prefetch``; no effect on
    results; the address is never dereferenced, so any index is safe)."""
    sig = types.void(arr, i, j)

    def codegen(context, builder, signature, args):
        aryty = signature.args[0]
        ary = context.make_array(aryty)(context, builder, args[0])
        ptr = cgutils.get_item_pointer(context, builder, aryty, ary, [args[1], args[2]],
                                       wraparound=False, boundscheck=False)
        i8p = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        fnty = ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0i8")
        builder.call(fn, [builder.bitcast(ptr, i8p), i32(0), i32(3), i32(1)])  # read, high locality
        return context.get_dummy_value()

    return sig, codegen



def _scan_band_py(T, S, C, nnf, dist, snap, solve, valid, wpix, kern, use_w, use_k, half, r0, r1, fwd, it,
               seed_lo, seed_hi, lo_y, hi_y, lo_x, hi_x):
    H = T.shape[0]
    W = T.shape[1] // C
    Hs = S.shape[0]
    Ws = S.shape[1] // C
    step = 1 if fwd else -1
    r_max = max(Hs, Ws)
    cand = np.empty((64, 2), np.int64)  # random-search candidates of one pixel (≤ 64 radii)
    for row in range(r1 - r0):
        y = r0 + row if fwd else r1 - 1 - row
        for j in range(W):
            x = j if fwd else W - 1 - j
            if not solve[y, x]:
                continue
            by = np.int64(nnf[y, x, 0])
            bx = np.int64(nnf[y, x, 1])
            bd = dist[y, x]
            # propagation along the row (same band: current values)
            xn = x - step
            if 0 <= xn < W:
                cy = np.int64(nnf[y, xn, 0])
                cx = np.int64(nnf[y, xn, 1]) + step
                if (cy != by or cx != bx) and _usable(cy, cx, lo_y, hi_y, lo_x, hi_x, valid):
                    d = _distance(T, S, C, y, x, cy, cx, half, wpix, kern, use_w, use_k, bd)
                    if d < bd:
                        by, bx, bd = cy, cx, d
            # propagation along the column (across the band edge: the iteration's snapshot)
            yn = y - step
            if 0 <= yn < H:
                if r0 <= yn < r1:
                    cy = np.int64(nnf[yn, x, 0]) + step
                    cx = np.int64(nnf[yn, x, 1])
                else:
                    cy = np.int64(snap[yn, x, 0]) + step
                    cx = np.int64(snap[yn, x, 1])
                if (cy != by or cx != bx) and _usable(cy, cx, lo_y, hi_y, lo_x, hi_x, valid):
                    d = _distance(T, S, C, y, x, cy, cx, half, wpix, kern, use_w, use_k, bd)
                    if d < bd:
                        by, bx, bd = cy, cx, d
            # random search around the post-propagation source v0
            # (the candidates do not depend on each other's outcome: all are drawn first and the
            # first row of each source patch is prefetched, so the cache misses of these random
            # reads overlap instead of stalling one after the other; same candidates, same order)
            vy = by
            vx = bx
            base = _base(seed_lo, seed_hi, it, y * W + x)
            r = r_max
            k = 0
            nc = 0
            while r >= 1:
                ya = max(vy - r, lo_y)
                yb = min(vy + r, hi_y)
                xa = max(vx - r, lo_x)
                xb = min(vx + r, hi_x)
                cy = _pick(ya, yb, _draw(base, k))
                cx = _pick(xa, xb, _draw(base, k + 1))
                k += 2
                r = r // 2
                cand[nc, 0] = cy
                cand[nc, 1] = cx
                nc += 1
                _prefetch(S, cy - half, (cx - half) * C)
                _prefetch(S, cy - half, (cx + half) * C + C - 1)
            for i in range(nc):
                cy = cand[i, 0]
                cx = cand[i, 1]
                if (cy != by or cx != bx) and valid[cy, cx]:
                    d = _distance(T, S, C, y, x, cy, cx, half, wpix, kern, use_w, use_k, bd)
                    if d < bd:
                        by, bx, bd = cy, cx, d
            nnf[y, x, 0] = by
            nnf[y, x, 1] = bx
            dist[y, x] = bd


def _row_distances_py(T, S, C, nnf, dist, solve, only_solved, valid, wpix, kern, use_w, use_k, half, lo_y,
                      hi_y, lo_x, hi_x, check_valid, y):
    # Raw distance of every entry of row y (inf for entries that are not usable centres; NaN for
    # the pixels not solved when only_solved).
    W = T.shape[1] // C
    for x in range(W):
        if only_solved and not solve[y, x]:
            dist[y, x] = np.nan
            continue
        sy = np.int64(nnf[y, x, 0])
        sx = np.int64(nnf[y, x, 1])
        if sy < lo_y or sy > hi_y or sx < lo_x or sx > hi_x or (check_valid and not valid[sy, sx]):
            dist[y, x] = np.inf
        else:
            dist[y, x] = _distance(T, S, C, y, x, sy, sx, half, wpix, kern, use_w, use_k, np.inf)


def _row_normalise_py(dist, wpix, kbar, use_w, use_k, half, y):
    # D = raw / N(p) along row y (0 where N(p) = 0 and the entry is usable; NaN stays NaN).
    H = dist.shape[0]
    W = dist.shape[1]
    for x in range(W):
        if dist[y, x] != dist[y, x]:
            continue
        n = _norm(y, x, H, W, half, wpix, kbar, use_w, use_k)
        if n > 0:
            dist[y, x] = dist[y, x] / n
        elif dist[y, x] < np.inf:
            dist[y, x] = 0.0


# The scans and the row distances twice: unweighted, with the plain SSD inlined (a Numba call
# passes every array as a struct of fields: that overhead was half the time of an unweighted NNF),
# and weighted, calling _dist (inlining it, or keeping both paths in one loop, slows the weighted
# scans of completion down by 7-10 %).
_plain_ns = {**globals(), "_distance": _plain_distance}
_weighted_ns = {**globals(), "_distance": _dist}
_scan_band_plain = numba.njit(cache=True)(rebind(_scan_band_py, _plain_ns, "_scan_band_plain"))
_scan_band_weighted = numba.njit(cache=True)(rebind(_scan_band_py, _weighted_ns, "_scan_band_weighted"))
_row_distances_plain = numba.njit(cache=True)(rebind(_row_distances_py, _plain_ns, "_row_distances_plain"))
_row_distances_weighted = numba.njit(cache=True)(
    rebind(_row_distances_py, _weighted_ns, "_row_distances_weighted"))
# ... and a third time for pixel weights without a kernel (completion's search): the pixel-weighted
# SSD as inlined vector code, reading the weights repeated over the channels.
_pixelw_ns = {**globals(), "_distance": _pixel_weighted_distance}
_scan_band_pixelw = numba.njit(cache=True)(rebind(_scan_band_py, _pixelw_ns, "_scan_band_pixelw"))
_row_distances_pixelw = numba.njit(cache=True)(rebind(_row_distances_py, _pixelw_ns, "_row_distances_pixelw"))


_row_normalise = numba.njit(cache=True)(_row_normalise_py)
# The drivers below call _scan_band and _row_distances; each build binds them to the plain or the
# weighted version (_plain_drivers / _weighted_drivers). The module-level names are the weighted
# (general) ones.
_scan_band = _scan_band_weighted
_row_distances = _row_distances_weighted


def _distances_cpu_py(T, S, C, nnf, dist, solve, only_solved, valid, wpix, wdist, kern, kbar, use_w, use_k,
                      half, lo_y, hi_y, lo_x, hi_x, check_valid):
    # wpix: the (H, W) pixel weights of N(p); wdist: the weights as the distance reads them.
    for yy in prange(T.shape[0]):
        y = np.int64(yy)  # prange indices may be typed unsigned
        _row_distances(T, S, C, nnf, dist, solve, only_solved, valid, wdist, kern, use_w, use_k, half, lo_y,
                       hi_y, lo_x, hi_x, check_valid, y)
        _row_normalise(dist, wpix, kbar, use_w, use_k, half, y)


def _patchmatch_cpu_py(T, S, C, nnf, dist, solve, only_solved, valid, wpix, wdist, kern, kbar, use_w, use_k,
                       half, iterations, seed_lo, seed_hi, band_rows):
    # One parallel region per iteration: a band computes the initial distances of its rows before
    # its first scan and normalises them after its last one (both only touch the band's own rows),
    # and the snapshot read across band edges is taken, between regions, of the edge rows only.
    H = T.shape[0]
    Hs = S.shape[0]
    Ws = S.shape[1] // C
    lo_y = half
    hi_y = Hs - 1 - half
    lo_x = half
    hi_x = Ws - 1 - half
    snap = np.empty_like(nnf)
    n_pass = max(iterations, 1)
    for it in range(n_pass):
        fwd = it % 2 == 0
        shift = 0 if fwd else band_rows // 2
        nb = (H + shift + band_rows - 1) // band_rows
        for b in range(nb):  # the row each band reads across its leading edge
            row = max(b * band_rows - shift, 0) - 1 if fwd else min((b + 1) * band_rows - shift, H)
            if 0 <= row < H:
                snap[row] = nnf[row]
        for bb in prange(nb):
            b = np.int64(bb)
            r0 = max(b * band_rows - shift, 0)
            r1 = min((b + 1) * band_rows - shift, H)
            if r1 > r0:
                if it == 0:
                    for y in range(r0, r1):
                        _row_distances(T, S, C, nnf, dist, solve, only_solved, valid, wdist, kern, use_w,
                                       use_k, half, lo_y, hi_y, lo_x, hi_x, True, y)
                if iterations > 0:
                    _scan_band(T, S, C, nnf, dist, snap, solve, valid, wdist, kern, use_w, use_k, half, r0,
                               r1, fwd, it, seed_lo, seed_hi, lo_y, hi_y, lo_x, hi_x)
                if it == n_pass - 1:
                    for y in range(r0, r1):
                        _row_normalise(dist, wpix, kbar, use_w, use_k, half, y)


# Each CPU driver is built twice, with the unweighted and with the weighted scans and row distances
# (bound directly, so a call compiles only the family it uses: completion and analogies the
# weighted one, imgkit.nnf without weights the plain one), each as one threaded build that small
# problems run on one thread (_jit.threaded_call: no sequential twin to compile).
_plain_drivers = {**globals(), "_scan_band": _scan_band_plain, "_row_distances": _row_distances_plain}
_weighted_drivers = {**globals(), "_scan_band": _scan_band_weighted,
                     "_row_distances": _row_distances_weighted}
_distances_plain = numba.njit(parallel=prange_only(), cache=True)(
    rebind(_distances_cpu_py, _plain_drivers, "_distances_plain"))
_distances_weighted = numba.njit(parallel=prange_only(), cache=True)(
    rebind(_distances_cpu_py, _weighted_drivers, "_distances_weighted"))
_patchmatch_plain = numba.njit(parallel=prange_only(), cache=True)(
    rebind(_patchmatch_cpu_py, _plain_drivers, "_patchmatch_plain"))
_patchmatch_weighted = numba.njit(parallel=prange_only(), cache=True)(
    rebind(_patchmatch_cpu_py, _weighted_drivers, "_patchmatch_weighted"))
_pixelw_drivers = {**globals(), "_scan_band": _scan_band_pixelw, "_row_distances": _row_distances_pixelw}
_distances_pixelw = numba.njit(parallel=prange_only(), cache=True)(
    rebind(_distances_cpu_py, _pixelw_drivers, "_distances_pixelw"))
_patchmatch_pixelw = numba.njit(parallel=prange_only(), cache=True)(
    rebind(_patchmatch_cpu_py, _pixelw_drivers, "_patchmatch_pixelw"))


def _cpu_kernels(use_w: bool, use_k: bool, wpix: Any, C: int):
    """The CPU driver pair (distances, patchmatch) for these weights, and the weights array their
    distance reads: unweighted; pixel weights only (vector code over the weights repeated per
    channel); or the general scalar code (a kernel, with or without pixel weights)."""
    if use_k:
        return _distances_weighted, _patchmatch_weighted, wpix
    if use_w:
        return _distances_pixelw, _patchmatch_pixelw, np.ascontiguousarray(np.repeat(wpix, C, axis=1))
    return _distances_plain, _patchmatch_plain, wpix


# ---------------------------------------------------------------------------------------------
# CUDA kernels (one thread per target pixel; x = column, y = row)
# ---------------------------------------------------------------------------------------------


@cuda.jit
def _raw_distances_gpu(T, S, C, nnf, dist, valid, wpix, kern, use_w, use_k, half, lo_y, hi_y, lo_x, hi_x,
                       check_valid):
    x, y = cuda.grid(2)
    if y >= T.shape[0] or x >= T.shape[1] // C:
        return
    sy = np.int64(nnf[y, x, 0])
    sx = np.int64(nnf[y, x, 1])
    if sy < lo_y or sy > hi_y or sx < lo_x or sx > hi_x or (check_valid and not valid[sy, sx]):
        dist[y, x] = np.inf
    else:
        dist[y, x] = _d_dist(T, S, C, y, x, sy, sx, half, wpix, kern, use_w, use_k, np.inf)


@cuda.jit
def _normalise_gpu(dist, wpix, kbar, use_w, use_k, half):
    x, y = cuda.grid(2)
    H = dist.shape[0]
    W = dist.shape[1]
    if y >= H or x >= W:
        return
    n = _d_norm(y, x, H, W, half, wpix, kbar, use_w, use_k)
    if n > 0:
        dist[y, x] = dist[y, x] / n
    elif dist[y, x] < np.inf:
        dist[y, x] = 0.0


@cuda.jit
def _jump_gpu(T, S, C, nnf_in, dist_in, nnf_out, dist_out, solve, valid, wpix, kern, use_w, use_k, half,
              step, lo_y, hi_y, lo_x, hi_x):
    x, y = cuda.grid(2)
    H = T.shape[0]
    W = T.shape[1] // C
    if y >= H or x >= W:
        return
    by = np.int64(nnf_in[y, x, 0])
    bx = np.int64(nnf_in[y, x, 1])
    bd = dist_in[y, x]
    if solve[y, x]:
        for n in range(4):
            qy = y
            qx = x
            if n == 0:
                qx = x - step
            elif n == 1:
                qy = y - step
            elif n == 2:
                qx = x + step
            else:
                qy = y + step
            if qy < 0 or qy >= H or qx < 0 or qx >= W:
                continue
            cy = np.int64(nnf_in[qy, qx, 0]) + (y - qy)
            cx = np.int64(nnf_in[qy, qx, 1]) + (x - qx)
            if (cy != by or cx != bx) and _d_usable(cy, cx, lo_y, hi_y, lo_x, hi_x, valid):
                d = _d_dist(T, S, C, y, x, cy, cx, half, wpix, kern, use_w, use_k, bd)
                if d < bd:
                    by = cy
                    bx = cx
                    bd = d
    nnf_out[y, x, 0] = by
    nnf_out[y, x, 1] = bx
    dist_out[y, x] = bd


@cuda.jit
def _search_gpu(T, S, C, nnf, dist, solve, valid, wpix, kern, use_w, use_k, half, it, seed_lo, seed_hi,
                lo_y, hi_y, lo_x, hi_x):
    x, y = cuda.grid(2)
    H = T.shape[0]
    W = T.shape[1] // C
    if y >= H or x >= W or not solve[y, x]:
        return
    by = np.int64(nnf[y, x, 0])
    bx = np.int64(nnf[y, x, 1])
    bd = dist[y, x]
    vy = by
    vx = bx
    base = _d_base(seed_lo, seed_hi, it, y * W + x)
    r = max(S.shape[0], S.shape[1] // C)
    k = 0
    while r >= 1:
        ya = max(vy - r, lo_y)
        yb = min(vy + r, hi_y)
        xa = max(vx - r, lo_x)
        xb = min(vx + r, hi_x)
        cy = _d_pick(ya, yb, _d_draw(base, k))
        cx = _d_pick(xa, xb, _d_draw(base, k + 1))
        k += 2
        r = r // 2
        if (cy != by or cx != bx) and valid[cy, cx]:
            d = _d_dist(T, S, C, y, x, cy, cx, half, wpix, kern, use_w, use_k, bd)
            if d < bd:
                by = cy
                bx = cx
                bd = d
    nnf[y, x, 0] = by
    nnf[y, x, 1] = bx
    dist[y, x] = bd


# ---------------------------------------------------------------------------------------------
# Public wrappers
# ---------------------------------------------------------------------------------------------


def _xp(a: Any):
    if type(a).__module__.split(".")[0] == "cupy":
        import cupy

        return cupy
    return np


def _gpu_xp():
    # Arrays for the CUDA twin: CuPy on a real GPU, NumPy under the simulator.
    if numba.config.ENABLE_CUDASIM:
        return np
    import cupy

    return cupy


def _check_device(device: str) -> None:
    if device not in ("cpu", "cuda"):
        raise ValueError(f"device must be 'cpu' or 'cuda'; got {device!r}")


def _grid(H: int, W: int):
    t = config.TILE
    return (math.ceil(W / t), math.ceil(H / t)), (t, t)


def _seed_words(seed: int) -> tuple[int, int]:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer; got {seed!r}")
    seed = int(seed)
    return seed & _M32, (seed >> 32) & _M32


def _check_patch_size(patch_size: Any) -> int:
    if isinstance(patch_size, bool) or not isinstance(patch_size, (int, np.integer)):
        raise ValueError(f"patch_size must be an odd integer ≥ 1; got {patch_size!r}")
    if patch_size < 1 or patch_size % 2 == 0:
        raise ValueError(f"patch_size must be an odd integer ≥ 1; got {patch_size!r}")
    return int(patch_size)


def _features(a: Any, xp, name: str):
    a = xp.ascontiguousarray(xp.asarray(a), dtype=np.float32)
    if a.ndim == 2:
        a = a[:, :, None]
    if a.ndim != 3 or a.shape[0] == 0 or a.shape[1] == 0 or a.shape[2] == 0:
        raise ValueError(f"{name} must be a non-empty (H, W, C) float32 array; got shape {a.shape}")
    return a


def _bool_map(m: Any, shape: tuple[int, int], xp, name: str, default: bool):
    if m is None:
        return xp.full(shape, default, dtype=np.bool_)
    m = xp.ascontiguousarray(xp.asarray(m), dtype=np.bool_)
    if tuple(m.shape) != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)}; got {tuple(m.shape)}")
    return m


def _border_band(valid, patch_size: int):
    # valid ∩ centres at least `half` from the border.
    half = patch_size // 2
    out = valid.copy()
    out[:half] = False
    out[out.shape[0] - half :] = False
    out[:, :half] = False
    out[:, out.shape[1] - half :] = False
    return out


def _weights(pixel_weights, kernel, shape, patch_size, channels, xp):
    if pixel_weights is None:
        wpix = xp.ones((1, 1), np.float32)
        use_w = False
    else:
        wpix = xp.ascontiguousarray(xp.asarray(pixel_weights), dtype=np.float32)
        if tuple(wpix.shape) != tuple(shape):
            raise ValueError(f"pixel_weights must have shape {tuple(shape)}; got {tuple(wpix.shape)}")
        if not bool(xp.isfinite(wpix).all()) or bool((wpix < 0).any()):
            raise ValueError("pixel_weights must be finite and ≥ 0")
        use_w = True
    if kernel is None:
        kern = xp.ones((1, 1, 1), np.float32)
        kbar = xp.ones((1, 1), np.float32)
        use_k = False
    else:
        kern = xp.asarray(kernel, dtype=np.float32)
        if kern.ndim == 2:
            kern = xp.repeat(kern[:, :, None], channels, axis=2)
        if tuple(kern.shape) != (patch_size, patch_size, channels):
            raise ValueError(
                f"kernel must have shape ({patch_size}, {patch_size}) or ({patch_size}, {patch_size}, "
                f"{channels}); got {tuple(xp.asarray(kernel).shape)}"
            )
        if not bool(xp.isfinite(kern).all()) or bool((kern < 0).any()):
            raise ValueError("kernel must be finite and ≥ 0")
        kern = xp.ascontiguousarray(kern)
        kbar = xp.ascontiguousarray(kern.mean(axis=2), dtype=np.float32)
        use_k = True
    return wpix, kern, kbar, use_w, use_k


def valid_centres(usable: Any, patch_size: int) -> Any:
    """Source centres whose whole ``patch_size`` patch lies inside the image and in ``usable``.

    Parameters
    ----------
    usable : bool ndarray, shape (H', W')
        True where a source pixel may be copied from (e.g. the known region).
    patch_size : int
        Odd patch side.

    Returns
    -------
    bool ndarray, shape (H', W')
        The ``valid`` mask for :func:`patchmatch` (same array module as ``usable``).
    """
    P = _check_patch_size(patch_size)
    xp = _xp(usable)
    u = xp.asarray(usable, dtype=np.bool_)
    if u.ndim != 2:
        raise ValueError(f"usable must be a 2-D (H', W') mask; got shape {tuple(u.shape)}")
    H, W = u.shape
    half = P // 2
    out = xp.zeros((H, W), dtype=np.bool_)
    if H < P or W < P:
        return out
    bad = xp.zeros((H + 1, W + 1), dtype=np.int64)
    bad[1:, 1:] = xp.cumsum(xp.cumsum((~u).astype(np.int64), axis=0), axis=1)
    # number of unusable pixels in the P×P window with top-left (i, j), for all windows
    win = bad[P:, P:] - bad[:-P, P:] - bad[P:, :-P] + bad[:-P, :-P]
    out[half : H - half, half : W - half] = win == 0
    return out


def random_nnf(shape: tuple[int, int], valid: Any, seed: int = 0) -> Any:
    """A field whose entries are drawn uniformly among the valid source centres.

    Parameters
    ----------
    shape : (int, int)
        Target ``(H, W)``.
    valid : bool ndarray, shape (H', W')
        Valid source centres (e.g. from :func:`valid_centres`).
    seed : int
        Non-negative seed; the draw uses the kernels' counter-based hash, so the same seed gives
        the same field on the CPU and on the GPU.

    Returns
    -------
    int32 ndarray, shape (H, W, 2)
        Source ``(y, x)`` centres (same array module as ``valid``).
    """
    xp = _xp(valid)
    lo, hi = _seed_words(seed)
    ys, xs = xp.nonzero(xp.asarray(valid, dtype=np.bool_))
    n = int(ys.size)
    if n == 0:
        raise ValueError("valid has no valid source centre: nothing to draw from")
    H, W = int(shape[0]), int(shape[1])
    pix = xp.arange(H * W, dtype=np.int64)
    idx = (_host_base(lo, hi, _INIT_STREAM, pix) % n).reshape(H, W)
    out = xp.empty((H, W, 2), dtype=np.int32)
    out[:, :, 0] = ys[idx]
    out[:, :, 1] = xs[idx]
    return out


def _nearest_valid_index(valid, xp):
    if xp is np:
        from scipy.ndimage import distance_transform_edt
    else:  # pragma: no cover - needs a GPU
        from cupyx.scipy.ndimage import distance_transform_edt
    return distance_transform_edt(~valid, return_distances=False, return_indices=True)


def upsample_nnf(coarse: Any, shape: tuple[int, int], valid: Any) -> Any:
    """Carry a field to the next finer pyramid level (×2 in both images).

    Fine pixel ``(y, x)`` takes the coarse entry of ``(y // 2, x // 2)`` (clamped to the coarse
    field), doubled, plus ``(y % 2, x % 2)``, so the offset is preserved at the finer scale;
    the result is clamped to the source and every entry that is not a valid centre is moved to
    the nearest valid centre (Euclidean; ties as :func:`scipy.ndimage.distance_transform_edt`).

    Parameters
    ----------
    coarse : int32 ndarray, shape (h, w, 2)
        Coarse field (source centres at the coarse level).
    shape : (int, int)
        Fine target ``(H, W)`` (normally ``2h`` or ``2h - 1``).
    valid : bool ndarray, shape (H', W')
        Valid centres of the fine source.

    Returns
    -------
    int32 ndarray, shape (H, W, 2)
    """
    xp = _xp(valid)
    coarse = xp.asarray(coarse)
    valid = xp.asarray(valid, dtype=np.bool_)
    if coarse.ndim != 3 or coarse.shape[2] != 2:
        raise ValueError(f"coarse must be an (h, w, 2) field; got shape {tuple(coarse.shape)}")
    if not bool(valid.any()):
        raise ValueError("valid has no valid source centre")
    H, W = int(shape[0]), int(shape[1])
    h, w = coarse.shape[:2]
    y = xp.arange(H)[:, None]
    x = xp.arange(W)[None, :]
    cy = xp.minimum(y // 2, h - 1)
    cx = xp.minimum(x // 2, w - 1)
    sy = 2 * coarse[cy, cx, 0].astype(np.int64) + (y - 2 * cy)
    sx = 2 * coarse[cy, cx, 1].astype(np.int64) + (x - 2 * cx)
    sy = xp.clip(sy, 0, valid.shape[0] - 1)
    sx = xp.clip(sx, 0, valid.shape[1] - 1)
    iy, ix = _nearest_valid_index(valid, xp)
    out = xp.empty((H, W, 2), dtype=np.int32)
    out[:, :, 0] = iy[sy, sx]
    out[:, :, 1] = ix[sy, sx]
    return out


def _prepare(target, source, patch_size, nnf, valid, pixel_weights, kernel, device):
    _check_device(device)
    P = _check_patch_size(patch_size)
    xp = _gpu_xp() if device == "cuda" else np
    if device == "cpu" and (_xp(target) is not np or _xp(source) is not np):
        raise ValueError("device='cpu' needs NumPy arrays; use .get() on CuPy arrays or device='cuda'")
    T = _features(target, xp, "target")
    S = _features(source, xp, "source")
    if T.shape[2] != S.shape[2]:
        raise ValueError(f"target has {T.shape[2]} channels but source has {S.shape[2]}; they must match")
    if S.shape[0] < P or S.shape[1] < P:
        raise ValueError(
            f"source {S.shape[:2]} is smaller than patch_size={P}: no whole source patch exists"
        )
    H, W = T.shape[:2]
    valid = _border_band(_bool_map(valid, S.shape[:2], xp, "valid", True), P)
    wpix, kern, kbar, use_w, use_k = _weights(pixel_weights, kernel, (H, W), P, T.shape[2], xp)
    if nnf is not None:
        nnf = xp.array(xp.asarray(nnf), dtype=np.int32, order="C")
        if tuple(nnf.shape) != (H, W, 2):
            raise ValueError(f"nnf must have shape {(H, W, 2)}; got {tuple(nnf.shape)}")
    # (H, W*C) views: patch rows are contiguous runs for the kernels
    C = T.shape[2]
    T2, S2 = T.reshape(H, W * C), S.reshape(S.shape[0], S.shape[1] * C)
    kern2 = kern.reshape(kern.shape[0], kern.shape[1] * kern.shape[2])
    bounds = (P // 2, S.shape[0] - 1 - P // 2, P // 2, S.shape[1] - 1 - P // 2)
    return P, xp, T2, S2, C, S.shape[:2], valid, (wpix, kern2, use_w, use_k, P // 2), kbar, bounds, nnf


def patch_distances(
    target: Any,
    source: Any,
    patch_size: int,
    nnf: Any,
    *,
    pixel_weights: Any = None,
    kernel: Any = None,
    device: str = "cpu",
) -> Any:
    """The distance ``D(p, nnf[p])`` of every target pixel (see the module docstring).

    Entries that are not source centres at least ``patch_size // 2`` from the source border get
    ``inf``. Arguments as :func:`patchmatch`.

    Returns
    -------
    float32 ndarray, shape (H, W)
    """
    _P, xp, T, S, C, _, valid, wargs, kbar, bounds, nnf = _prepare(
        target, source, patch_size, nnf, None, pixel_weights, kernel, device
    )
    if nnf is None:
        raise ValueError("nnf is required")
    wpix, _, use_w, use_k, half = wargs
    H, W = T.shape[0], T.shape[1] // C
    dist = xp.empty((H, W), dtype=np.float32)
    if device == "cpu":
        run, _, wdist = _cpu_kernels(use_w, use_k, wpix, C)
        threaded_call(run, H * W, T, S, C, nnf, dist, valid, False, valid, wpix, wdist, wargs[1], kbar, use_w,
                      use_k, half, *bounds, False)
    else:
        grid, block = _grid(H, W)
        _raw_distances_gpu[grid, block](T, S, C, nnf, dist, valid, *wargs, *bounds, False)
        _normalise_gpu[grid, block](dist, wpix, kbar, use_w, use_k, half)
    return dist


def patchmatch(
    target: Any,
    source: Any,
    patch_size: int,
    *,
    init: Any = None,
    solve: Any = None,
    valid: Any = None,
    pixel_weights: Any = None,
    kernel: Any = None,
    iterations: int = 5,
    seed: int = 0,
    device: str = "cpu",
    band_rows: int | None = None,
    unsolved_distances: bool = True,
) -> tuple[Any, Any]:
    """PatchMatch nearest-neighbour field from ``target`` patches to ``source`` patches.

    Parameters
    ----------
    target : float32 ndarray, shape (H, W, C) (or (H, W))
        Target features ``T``.
    source : float32 ndarray, shape (H', W', C) (or (H', W'))
        Source features ``S``; ``H', W' ≥ patch_size``.
    patch_size : int
        Odd patch side ``P``.
    init : int32 ndarray, shape (H, W, 2), optional
        Initial source ``(y, x)`` centres; every solved entry must be a valid centre. Default:
        :func:`random_nnf` with ``seed``.
    solve : bool ndarray, shape (H, W), optional
        Target pixels to solve (default all); the others keep their ``init`` entry.
    valid : bool ndarray, shape (H', W'), optional
        Source centres that may be returned (default all); intersected with the centres at least
        ``P // 2`` from the border.
    pixel_weights : float32 ndarray, shape (H, W), optional
        Weight ``w ≥ 0`` of each target pixel inside every patch (default 1).
    kernel : float32 ndarray, shape (P, P) or (P, P, C), optional
        Weight ``k ≥ 0`` per patch offset (and channel) (default 1).
    iterations : int
        PatchMatch iterations (propagation + random search), ``≥ 0``.
    seed : int
        Non-negative seed of the counter-based random stream.
    device : {"cpu", "cuda"}
        ``"cpu"``: NumPy arrays, the banded parallel Numba kernel. ``"cuda"``: the jump-flood
        CUDA twin on CuPy arrays (NumPy arrays under ``NUMBA_ENABLE_CUDASIM=1``).
    band_rows : int, optional
        Rows per parallel band on the CPU (default ``kernels.config.PM_BAND_ROWS``; ``>= H``
        runs the sequential algorithm). Ignored on the GPU.
    unsolved_distances : bool
        ``False``: ``dist`` is NaN at the pixels not solved, whose distances are then not
        computed (the callers that only read the solved pixels' distances save that work).

    Returns
    -------
    nnf : int32 ndarray, shape (H, W, 2)
        Source ``(y, x)`` centre per target pixel.
    dist : float32 ndarray, shape (H, W)
        Normalised weighted patch distance of each entry (module docstring).

    Raises
    ------
    ValueError
        Bad shapes, dtypes or values; no valid source centre; an invalid initial entry of a
        solved pixel.

    References
    ----------
    .. [1] C. Barnes, E. Shechtman, A. Finkelstein, D. B. Goldman, "PatchMatch: A Randomized
       Correspondence Algorithm for Structural Image Editing", SIGGRAPH 2009.
    """
    P, xp, T, S, C, (Hs, Ws), valid, wargs, kbar, bounds, nnf = _prepare(
        target, source, patch_size, init, valid, pixel_weights, kernel, device
    )
    wpix, _, use_w, use_k, half = wargs
    if isinstance(iterations, bool) or not isinstance(iterations, (int, np.integer)) or iterations < 0:
        raise ValueError(f"iterations must be an integer ≥ 0; got {iterations!r}")
    seed_lo, seed_hi = _seed_words(seed)
    H, W = T.shape[0], T.shape[1] // C
    solve = _bool_map(solve, (H, W), xp, "solve", True)
    if not bool(valid.any()):
        raise ValueError(
            f"no valid source centre: valid ∩ centres at least {P // 2} from the border of the "
            f"{Hs}×{Ws} source is empty"
        )
    if nnf is None:
        nnf = random_nnf((H, W), valid, seed)
    else:
        sy, sx = nnf[:, :, 0], nnf[:, :, 1]
        inside = (sy >= 0) & (sy < Hs) & (sx >= 0) & (sx < Ws)
        ok = inside.copy()
        ok[inside] = valid[sy[inside], sx[inside]]
        bad = int((solve & ~ok).sum())
        if bad:
            raise ValueError(
                f"init has {bad} solved entr{'y' if bad == 1 else 'ies'} that are not valid source "
                f"centres; start from random_nnf(...) or upsample_nnf(...), which only return "
                f"valid centres"
            )
    dist = xp.empty((H, W), dtype=np.float32)
    iterations = int(iterations)
    if device == "cpu":
        rows = config.PM_BAND_ROWS if band_rows is None else int(band_rows)
        if rows < 1:
            raise ValueError(f"band_rows must be ≥ 1; got {band_rows!r}")
        work = int(solve.sum()) if iterations > 0 or not unsolved_distances else H * W
        _, run, wdist = _cpu_kernels(use_w, use_k, wpix, C)
        threaded_call(run, work, T, S, C, nnf, dist, solve, not unsolved_distances, valid, wpix, wdist,
                      wargs[1], kbar, use_w, use_k, half, iterations, seed_lo, seed_hi, rows)
        return nnf, dist
    grid, block = _grid(H, W)
    _raw_distances_gpu[grid, block](T, S, C, nnf, dist, valid, *wargs, *bounds, True)
    nnf2 = xp.empty_like(nnf)
    dist2 = xp.empty_like(dist)
    k_max = 1
    while k_max * 2 <= max(H, W) // 2:
        k_max *= 2
    for it in range(iterations):
        step = k_max
        while step >= 1:
            _jump_gpu[grid, block](T, S, C, nnf, dist, nnf2, dist2, solve, valid, *wargs, step, *bounds)
            nnf, nnf2 = nnf2, nnf
            dist, dist2 = dist2, dist
            step //= 2
        _search_gpu[grid, block](T, S, C, nnf, dist, solve, valid, *wargs, it, seed_lo, seed_hi, *bounds)
    _normalise_gpu[grid, block](dist, wpix, kbar, use_w, use_k, half)
    if not unsolved_distances:
        dist[~solve] = np.nan
    return nnf, dist
