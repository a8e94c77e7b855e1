"""What a batch did: :class:`BatchSummary`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..io import display_path

__all__ = ["BatchSummary"]


@dataclass
class BatchSummary:
    """What a batch did.

    Attributes
    ----------
    task, method : str
    out_dir, manifest : Path
    total : int
        Inputs given.
    done, skipped : list of str
        Keys computed in this run, and keys skipped by ``resume``.
    failed : dict of str to str
        Key → error message.
    seconds : float
        Wall time of the processing (cluster start-up excluded, see ``startup_seconds``).
    startup_seconds : float
        Time to start or connect to the cluster.
    workers : int
        Workers of the cluster (0 when nothing had to run).
    dashboard : str or None
        The Dask dashboard link, when the cluster serves one.
    stopped : bool
        The run ended before every input was tried (callback, Ctrl-C); rerun with ``resume``.
    """

    task: str
    method: str
    out_dir: Path
    manifest: Path
    total: int = 0
    done: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    startup_seconds: float = 0.0
    workers: int = 0
    dashboard: str | None = None
    stopped: bool = False

    @property
    def remaining(self) -> int:
        """Inputs not tried in this run (after a stop)."""
        return self.total - len(self.done) - len(self.skipped) - len(self.failed)

    @property
    def images_per_s(self) -> float:
        """Outputs written per second of processing."""
        return len(self.done) / self.seconds if self.seconds > 0 else 0.0

    @property
    def ok(self) -> bool:
        """Every input is done or skipped."""
        return not self.failed and self.remaining == 0

    def __str__(self) -> str:
        lines = [
            f"imgkit batch {self.task} --method {self.method} -> {display_path(self.out_dir)}",
            f"  {self.total} inputs: {len(self.done)} done, {len(self.skipped)} skipped, "
            f"{len(self.failed)} failed" + (f", {self.remaining} not run (stopped)" if self.stopped else ""),
            (f"  {self.seconds:.2f} s, {self.images_per_s:.2f} images/s on {self.workers} worker"
             f"{'s' if self.workers != 1 else ''} (+{self.startup_seconds:.1f} s cluster start-up)"
             if self.workers else "  nothing to compute: no cluster was used"),
            f"  manifest: {display_path(self.manifest)}",
        ]
        if self.dashboard:
            lines.append(f"  dashboard: {self.dashboard}")
        if self.failed:
            lines.append("  failed:")
            shown = list(self.failed.items())[:15]
            for key, err in shown:
                err = " ".join(err.split())
                lines.append(f"    {display_path(key)}: {err if len(err) <= 400 else err[:397] + '...'}")
            if len(self.failed) > len(shown):
                lines.append(f"    ... and {len(self.failed) - len(shown)} more (see the manifest)")
        if self.stopped:
            lines.append("  stopped early: run again with resume (--resume) to do the rest")
        return "\n".join(lines)
