"""The local web app: paint a mask, run several methods, compare them and see how each works.

``imgkit app`` serves one static page (plain HTML/JS/CSS, in ``static/``) and a small HTTP API
over the public :mod:`imgkit` functions (see ``docs/app.md``). ``imgkit gallery`` renders the
same comparisons to a static HTML page for offline teaching.

The server needs the ``app`` extra (``pip install "imgkit[app]"``: FastAPI, uvicorn,
python-multipart); the gallery and the "How it works" figures need only imgkit itself.

Modules
-------
uploads
    Checks on uploaded files (size, type, decoded pixels) before anything is decoded.
explain
    The "How it works" panel of a result, built from ``return_info``.
pictures
    Colour maps, position colours, SVG line charts and PNG encoding for the panels.
jobs
    One job per browser session, a small FIFO queue, one worker, progress and cancel.
server
    The FastAPI application (:func:`create_app`) and :func:`serve`.
gallery
    The static comparison page (:func:`imgkit.app.gallery.build_gallery`).
cli
    The ``imgkit app`` and ``imgkit gallery`` verbs.
"""

from __future__ import annotations

from typing import Any

__all__ = ["create_app", "serve"]


def create_app(**kwargs: Any) -> Any:
    """Build the FastAPI application (see :func:`imgkit.app.server.create_app`)."""
    from .server import create_app as _create

    return _create(**kwargs)


def serve(host: str = "127.0.0.1", port: int = 8000, **kwargs: Any) -> None:
    """Run the app with uvicorn until interrupted (see :func:`imgkit.app.server.serve`)."""
    from .server import serve as _serve

    _serve(host=host, port=port, **kwargs)
