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

CPU parallelisation (serial ``nogil`` builds on a thread pool: ``kernels._jit.run_parts``)
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

    * the unweighted SSD (``_plain_ssd``) is inlined into the scan (a Numba call passes every
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
    snapshotted between regions): thread ``k`` of ``n`` scans bands ``k, k + n, ...`` with one
    call of a serial ``nogil`` build, ``n`` being Numba's thread count, and problems with fewer
    than ``kernels.config.PM_PARALLEL_MIN_PIXELS`` pixels to solve run on one thread (waking
    threads would cost more than it saves). Not ``prange``: Numba's parallel lowering was about a
    third of the JIT time of a cold first call of completion, and pool threads sleep between
    regions where OpenMP's busy-wait. The vector sums round differently from the
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

from ._api import patch_distances, patchmatch, random_nnf, upsample_nnf, valid_centres

__all__ = [
    "patch_distances",
    "patchmatch",
    "random_nnf",
    "upsample_nnf",
    "valid_centres",
]
