"""Tunables shared by the kernels (tests patch these down to exercise block boundaries)."""

import os

#: Threads per block for 1-D CUDA launches.
THREADS_PER_BLOCK = int(os.environ.get("IMGKIT_THREADS_PER_BLOCK", "256"))

#: Threads per block side for 2-D CUDA launches (a block is TILE × TILE threads).
TILE = int(os.environ.get("IMGKIT_TILE", "16"))

#: fastmath flags for CPU kernels whose results need not be bit-exact across twins.
FASTMATH = {"nsz", "arcp", "contract", "afn", "reassoc"}

#: Rows per band of the parallel CPU PatchMatch scan (see kernels/patchmatch/). The result
#: depends on this value (band edges), never on the thread count. ``>= H`` gives the classic
#: sequential scan.
PM_BAND_ROWS = int(os.environ.get("IMGKIT_PM_BAND_ROWS", "16"))

#: CPU kernels use their whole thread team only from this many pixels to solve (or vote) on;
#: below it they run on one thread (kernels._jit.run_parts): waking
#: threads costs more than it saves (much more on a machine whose cores are busy). Results do
#: not depend on it.
PM_PARALLEL_MIN_PIXELS = int(os.environ.get("IMGKIT_PM_PARALLEL_MIN_PIXELS", "8192"))
