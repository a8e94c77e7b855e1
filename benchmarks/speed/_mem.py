"""Peak memory of the current process: ``VmHWM`` from ``/proc/self/status``.

Not ``ru_maxrss``: after ``fork`` + ``exec`` Linux carries the parent's peak over in
``ru_maxrss``, so a fresh child of a large benchmark process would report the parent's size.
``VmHWM`` is the child's own high-water mark. Elsewhere (no ``/proc``) ``ru_maxrss`` is the
fallback. No imports beyond the standard library, so fresh measurement processes can use it
without loading anything else.
"""

from __future__ import annotations

import sys

__all__ = ["peak_rss_bytes", "peak_rss_mb"]


def peak_rss_bytes() -> int:
    """Peak resident set size of this process in bytes (``VmHWM``; ``ru_maxrss`` elsewhere)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * (1 if sys.platform == "darwin" else 1024)


def peak_rss_mb() -> float:
    """:func:`peak_rss_bytes` in MiB."""
    return peak_rss_bytes() / 2**20
