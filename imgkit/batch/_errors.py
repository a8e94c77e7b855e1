"""The exceptions of :mod:`imgkit.batch`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import ImgkitError

if TYPE_CHECKING:
    from ._summary import BatchSummary

__all__ = ["BatchError", "BatchInterrupted"]


class BatchError(ImgkitError, RuntimeError):
    """A batch cannot run: no cluster to connect to, no GPU worker, manifest locked, ..."""


class BatchInterrupted(KeyboardInterrupt):
    """Ctrl-C (or a callback raising KeyboardInterrupt) stopped a batch.

    Everything finished before the interrupt is in the manifest; ``run(..., resume=True)``
    does the rest. ``summary`` holds the counts so far.
    """

    def __init__(self, summary: BatchSummary):
        super().__init__("batch interrupted")
        self.summary = summary
