"""Tunables shared by the kernels (tests patch these down to exercise block boundaries)."""

import os

#: Threads per block for 1-D CUDA launches.
THREADS_PER_BLOCK = int(os.environ.get("IMGKIT_THREADS_PER_BLOCK", "256"))

#: Threads per block side for 2-D CUDA launches (a block is TILE × TILE threads).
TILE = int(os.environ.get("IMGKIT_TILE", "16"))

#: fastmath flags for CPU kernels whose results need not be bit-exact across twins.
FASTMATH = {"nsz", "arcp", "contract", "afn", "reassoc"}
