"""Training loops (imported only when used).

* :func:`inpaint` — train the context-encoder inpainting network (``imgkit train inpaint``).
* :mod:`~imgkit.train.style` — :func:`~imgkit.train.style.learn_style`: a new style for the
  multistyle network (``imgkit learn-style`` on the command line).

Each loop shows progress (a bar on a terminal, log lines otherwise), writes periodic
checkpoints, resumes from one, is seeded, and runs on the CPU, one CUDA GPU, or several
processes under ``torchrun`` (PyTorch DDP).
"""

from __future__ import annotations

from typing import Any

__all__ = ["TRAINERS", "cli_main", "inpaint"]


def inpaint(*args: Any, **kwargs: Any) -> Any:
    """Train the context-encoder inpainting network; see :func:`imgkit.train.inpaint.train`."""
    from .inpaint import train

    return train(*args, **kwargs)


#: What ``imgkit train`` can train (``imgkit train WHAT ...``).
TRAINERS = ("inpaint",)


def cli_main(argv: list[str]) -> int:
    """``imgkit train WHAT [options]``: dispatch to the trainer's own parser."""
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in TRAINERS:
        import sys

        print("usage: imgkit train {" + ",".join(TRAINERS) + "} [options]   (imgkit train inpaint --help)",
              file=sys.stderr)
        return 0 if argv and argv[0] in ("-h", "--help") else 2
    from .inpaint import cli_main as inpaint_main

    return inpaint_main(argv[1:])
