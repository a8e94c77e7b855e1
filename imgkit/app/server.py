"""The FastAPI application of ``imgkit app``: one static page and a small HTTP API.

Endpoints (documented for scripts in ``docs/app.md``):

=======================================  ====================================================
``GET  /``                               the page (``static/index.html``)
``GET  /api/methods[?task=T]``           registered methods and their options
``GET  /api/samples``                    names of the sample photos
``GET  /api/samples/{name}.png``         a sample photo (``?size=N``, 32–1024)
``POST /api/inpaint``                    image + mask + methods → a job
``POST /api/stylize``                    content + style(s) + methods → a job
``GET  /api/jobs/{id}``                  a job's state, progress and results
``POST /api/jobs/{id}/cancel``           stop a job
``GET  /api/jobs/{id}/results/{i}.png``  result ``i`` as a PNG download
``GET  /api/jobs/{id}/results/{i}/explain``  its "How it works" panel (JSON)
=======================================  ====================================================

Safety: uploads are checked before decoding (:mod:`imgkit.app.uploads`); the browser sends
bytes and option values, never file paths (options that name files, such as LaMa's
``weights``, are not offered and are refused); each browser session (a cookie) has at most one
job queued or running, and the server queues a few jobs at most (:mod:`imgkit.app.jobs`);
every error is answered as ``{"error": message}`` without a stack trace.
"""


import contextlib
import ipaddress
import json
import logging
import re
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from ..errors import ImgkitError, InvalidOptionError, MissingDependencyError
from .jobs import JobManager, Run
from .uploads import Limits, decode_image, decode_mask

__all__ = ["create_app", "is_path_option", "serve"]

log = logging.getLogger("imgkit.app")

STATIC = Path(__file__).parent / "static"
SESSION_COOKIE = "imgkit_session"
APP_TASKS = ("inpaint", "stylize")
MAX_METHODS = 12
SAMPLE_SIZES = (32, 1024)

_PATH_NAMES = ("weights", "path", "file", "dir", "folder", "checkpoint")


def _require_fastapi() -> Any:
    try:
        import fastapi
    except ImportError:
        raise MissingDependencyError(
            "the web app needs FastAPI, uvicorn and python-multipart: pip install \"imgkit[app]\""
        ) from None
    return fastapi


def is_path_option(option: Any) -> bool:
    """True for options that name a file or folder on the server (never set from a browser):
    those called ``weights``, ``path``, ``file``, ... or ``*_path``, ``*_file``, ``*_dir``, and
    those whose description speaks of a path, file or folder."""
    name = option.name.lower()
    return (name in _PATH_NAMES or name.endswith(tuple("_" + n for n in _PATH_NAMES[1:]))
            or re.search(r"\b(path|paths|file|files|folder|directory)\b", option.doc.lower()) is not None)


def _option_record(o: Any) -> dict[str, Any]:
    types = o.types
    if o.choices:  # a closed list, or free text with suggestions (e.g. "full" or a radius)
        kind = "choice" if all(t is str for t in types) else "text"
    elif bool in types:
        kind = "bool"
    elif int in types:
        kind = "int"
    elif float in types:
        kind = "float"
    else:
        kind = "text"
    default = o.default
    if isinstance(default, tuple):
        default = ",".join(str(v) for v in default)
    return {"name": o.name, "default": default, "doc": o.doc, "kind": kind,
            "choices": list(o.choices) if o.choices else None, "low": o.low, "high": o.high,
            "odd": o.odd, "nullable": o.nullable, "accepts": o.describe()}


def methods_payload(task: str | None = None) -> list[dict[str, Any]]:
    """The registry as the page needs it: options the browser may set, with their kinds."""
    from ..registry import list_methods

    out = []
    for spec in list_methods(task):
        if spec.task not in APP_TASKS:
            continue
        out.append({
            "name": spec.name, "task": spec.task, "family": spec.family,
            "devices": list(spec.devices), "reference": spec.reference, "summary": spec.summary,
            "available": spec.available, "missing": spec.missing(),
            "options": [_option_record(o) for o in spec.options if not is_path_option(o)],
        })
    return out


def parse_runs(task: str, methods: str, options: str | None) -> list[Run]:
    """Check the method names and option values of a request before queueing anything.

    Parameters
    ----------
    task : {"inpaint", "stylize"}
    methods : str
        Method names separated by commas.
    options : str or None
        JSON object ``{method: {option: value}}``; string values are parsed like the CLI's
        (``"9"`` → 9, ``"none"`` → None for nullable options).
    """
    from ..registry import get_method

    names = [n.strip() for n in (methods or "").split(",") if n.strip()]
    if not names:
        raise InvalidOptionError("methods: choose at least one method (comma-separated names)")
    if len(names) != len(set(names)):
        raise InvalidOptionError(f"methods: a method is named twice in {names}")
    if len(names) > MAX_METHODS:
        raise InvalidOptionError(f"methods: at most {MAX_METHODS} methods per job; got {len(names)}")
    try:
        raw = json.loads(options) if options and options.strip() else {}
    except json.JSONDecodeError as exc:
        raise InvalidOptionError(f"options: not valid JSON ({exc.msg} at character {exc.pos})") from None
    if not isinstance(raw, dict) or not all(isinstance(v, dict) for v in raw.values()):
        raise InvalidOptionError('options: expected a JSON object {"method": {"option": value}}')
    extra = sorted(set(raw) - set(names))
    if extra:
        raise InvalidOptionError(f"options: given for {extra}, which are not among the methods {names}")
    runs = []
    for name in names:
        spec = get_method(name, task)
        spec.ensure_available()
        given = {}
        for key, value in raw.get(name, {}).items():
            opt = spec.option(key)  # unknown option: raises with the list of accepted ones
            if is_path_option(opt):
                raise InvalidOptionError(
                    f"option {key!r} of method {name!r} names a file on the server and cannot be "
                    f"set from the browser; set it where the server is started instead"
                )
            given[key] = opt.parse(value, name) if isinstance(value, str) else opt.validate(value, name)
        spec.check_options(given)
        runs.append(Run(method=name, options=given))
    return runs


def _status_of(exc: Exception) -> int:
    status = getattr(exc, "status", None)
    if isinstance(status, int):
        return status
    if isinstance(exc, (ValueError, LookupError, MissingDependencyError)):
        return 400
    return 500


def create_app(
    *,
    limits: Limits | None = None,
    max_queue: int = 4,
    job_timeout: float | None = 600.0,
    device: str = "auto",
    allowed_hosts: list[str] | None = None,
) -> Any:
    """Build the app.

    Parameters
    ----------
    limits : Limits, optional
        Upload limits (default: 20 MiB per file, 16 megapixels per image).
    max_queue : int
        Jobs that may wait behind the running one.
    job_timeout : float or None
        Seconds a job may run before its methods are stopped (see :class:`JobManager`).
    device : {"auto", "cpu", "cuda"}
        Where methods run.
    allowed_hosts : list of str, optional
        Host names the server answers to (the ``Host`` header); others get ``400``. :func:`serve`
        gives ``localhost``, ``127.0.0.1`` and ``::1`` when bound to the loopback interface, so
        that a web page on another site cannot reach the app through DNS rebinding. Default: any.

    Returns
    -------
    fastapi.FastAPI
        With ``app.state.jobs`` (the :class:`JobManager`) and ``app.state.limits``.
    """
    _require_fastapi()
    from fastapi import FastAPI, File, Form, Query, Request, UploadFile
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import FileResponse, JSONResponse, Response
    from fastapi.staticfiles import StaticFiles
    from starlette.exceptions import HTTPException as StarletteHTTPException

    from .. import __version__
    from ..device import resolve_device

    if device not in ("auto", "cpu", "cuda"):
        raise InvalidOptionError(f"device must be 'auto', 'cpu' or 'cuda'; got {device!r}")
    if device == "cuda":
        resolve_device("cuda", devices=("cpu", "cuda"), backend="numba", method="app")
    limits = limits or Limits()
    jobs = JobManager(max_queue=max_queue, job_timeout=job_timeout)
    # a request holds at most a few files; refuse bigger bodies before they are parsed
    max_body = 4 * limits.max_bytes + 2**20

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        yield
        jobs.close()  # cancel what runs, stop the worker

    app = FastAPI(title="imgkit", version=__version__, docs_url=None, redoc_url=None,
                  openapi_url=None, debug=False, lifespan=lifespan)
    app.state.jobs = jobs
    app.state.limits = limits

    def error(status: int, message: str) -> JSONResponse:
        return JSONResponse({"error": message}, status_code=status)

    @app.exception_handler(ImgkitError)
    async def _imgkit_error(request: Request, exc: ImgkitError) -> JSONResponse:
        return error(_status_of(exc), str(exc))

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        msgs = []
        for e in exc.errors():
            where = ".".join(str(p) for p in e.get("loc", ()) if p not in ("body", "query", "path"))
            msgs.append(f"{where or 'request'}: {e.get('msg', 'invalid')}")
        return error(422, "; ".join(msgs) or "invalid request")

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return error(exc.status_code, str(exc.detail))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
        return error(500, f"internal error ({type(exc).__name__}); the server log has the details")

    @app.middleware("http")
    async def _session_and_size(request: Request, call_next: Any) -> Any:
        if allowed_hosts is not None and request.url.hostname not in allowed_hosts:
            return error(400, f"this server answers to {', '.join(allowed_hosts)} only")
        origin = request.headers.get("origin")
        if request.method not in ("GET", "HEAD", "OPTIONS") and origin is not None:
            # a form posted by a page of another site (the browser sends its Origin)
            if urlsplit(origin).netloc != request.headers.get("host", ""):
                return error(403, f"cross-origin request from {origin!r} refused: use the imgkit "
                                  f"page itself, or a script (which sends no Origin header)")
        length = request.headers.get("content-length")
        if length is not None:
            try:
                too_big = int(length) > max_body
            except ValueError:
                return error(400, "bad Content-Length header")
            if too_big:
                return error(413, f"request of {int(length) / 2**20:.1f} MiB is over this server's "
                                  f"limit of {max_body / 2**20:.1f} MiB")
        session = request.cookies.get(SESSION_COOKIE)
        fresh = not session or len(session) > 64
        if fresh:
            session = secrets.token_urlsafe(16)
        request.state.session = session
        response = await call_next(request)
        if fresh:
            response.set_cookie(SESSION_COOKIE, session, httponly=True, samesite="strict")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        return response

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC / "index.html", media_type="text/html",
                            headers={"Cache-Control": "no-cache"})

    @app.get("/api/methods")
    def api_methods(task: Annotated[str | None, Query()] = None) -> dict[str, Any]:
        if task is not None and task not in APP_TASKS:
            raise InvalidOptionError(f"task must be one of {list(APP_TASKS)}; got {task!r}")
        return {"methods": methods_payload(task), "version": __version__}

    @app.get("/api/samples")
    def api_samples() -> dict[str, Any]:
        from .. import data

        return {"photos": list(data.PHOTOS), "textures": list(data.TEXTURES),
                "limits": {"max_bytes": limits.max_bytes, "max_pixels": limits.max_pixels}}

    @app.get("/api/samples/{name}.png")
    def api_sample(name: str, size: Annotated[int, Query()] = 256) -> Response:
        from .. import data
        from .explain import encode_png

        if name not in data.PHOTOS + data.TEXTURES:
            raise InvalidOptionError(
                f"unknown sample {name!r}; choose one of {', '.join(data.PHOTOS + data.TEXTURES)}"
            )
        lo, hi = SAMPLE_SIZES
        if not lo <= size <= hi:
            raise InvalidOptionError(f"size must be in [{lo}, {hi}]; got {size}")
        png = encode_png(data.photo(name, size))
        return Response(png, media_type="image/png", headers={"Cache-Control": "max-age=3600"})

    def read(upload: UploadFile, field: str) -> bytes:
        data = upload.file.read(limits.max_bytes + 1)
        if len(data) > limits.max_bytes:
            from .uploads import UploadTooLarge

            raise UploadTooLarge(f"{field}: the file is over this server's limit of "
                                 f"{limits.max_bytes / 2**20:.1f} MiB; use a smaller file")
        return data

    def submit(request: Request, task: str, inputs: dict[str, Any], runs: list[Run],
               seed: int | None, wait: bool) -> JSONResponse:
        if seed is not None and seed < 0:
            raise InvalidOptionError(f"seed must be a non-negative integer; got {seed}")
        job = jobs.submit(request.state.session, task, inputs, runs, seed=seed, device=device)
        if wait:
            job.done_event.wait(None if job_timeout is None else job_timeout + 120)
        return JSONResponse(jobs.status(job.id), status_code=200 if job.done_event.is_set() else 202)

    @app.post("/api/inpaint")
    def api_inpaint(
        request: Request,
        image: Annotated[UploadFile, File(description="the photo (PNG, JPEG, WebP, BMP, TIFF)")],
        mask: Annotated[UploadFile, File(description="the hole: nonzero colour = fill")],
        methods: Annotated[str, Form(description="comma-separated method names")],
        options: Annotated[str, Form(description='JSON {"method": {"option": value}}')] = "{}",
        seed: Annotated[int | None, Form()] = None,
        wait: Annotated[bool, Form()] = False,
    ) -> JSONResponse:
        runs = parse_runs("inpaint", methods, options)
        img = decode_image(read(image, "image"), "image", limits)
        hole = decode_mask(read(mask, "mask"), "mask", limits)
        if hole.shape != img.shape[:2]:
            raise InvalidOptionError(
                f"mask: its size {hole.shape[1]}×{hole.shape[0]} differs from the image's "
                f"{img.shape[1]}×{img.shape[0]}; paint or upload a mask of the image's size"
            )
        if not hole.any():
            raise InvalidOptionError("mask: nothing is painted; paint the area to fill first")
        if hole.all():
            raise InvalidOptionError("mask: it covers the whole image; leave some of it unpainted")
        return submit(request, "inpaint", {"image": img, "mask": hole}, runs, seed, wait)

    @app.post("/api/stylize")
    def api_stylize(
        request: Request,
        content: Annotated[UploadFile, File(description="the content image")],
        style: Annotated[list[UploadFile], File(description="one style image or several")],
        methods: Annotated[str, Form(description="comma-separated method names")],
        options: Annotated[str, Form(description='JSON {"method": {"option": value}}')] = "{}",
        seed: Annotated[int | None, Form()] = None,
        wait: Annotated[bool, Form()] = False,
    ) -> JSONResponse:
        runs = parse_runs("stylize", methods, options)
        if len(style) > 4:
            raise InvalidOptionError(f"style: at most 4 style images; got {len(style)}")
        img = decode_image(read(content, "content"), "content", limits)
        styles = [decode_image(read(s, "style"), "style", limits) for s in style]
        return submit(request, "stylize", {"content": img, "style": styles}, runs, seed, wait)

    @app.get("/api/jobs/{job_id}")
    def api_job(job_id: str) -> dict[str, Any]:
        return jobs.status(job_id)

    @app.post("/api/jobs/{job_id}/cancel")
    def api_cancel(job_id: str) -> dict[str, Any]:
        jobs.cancel(job_id)
        return jobs.status(job_id)

    def run_of(job_id: str, index: int) -> Any:
        job = jobs.get(job_id)
        if not 0 <= index < len(job.runs):
            raise InvalidOptionError(f"job {job_id!r} has results 0 to {len(job.runs) - 1}; got {index}")
        return job.runs[index]

    @app.get("/api/jobs/{job_id}/results/{index}.png")
    def api_result(job_id: str, index: int) -> Response:
        run = run_of(job_id, index)
        if run.png is None:
            raise StarletteHTTPException(404, f"result {index} ({run.method}) is not ready: "
                                              f"its state is {run.state!r}")
        return Response(run.png, media_type="image/png", headers={
            "Content-Disposition": f'attachment; filename="imgkit-{run.method}.png"'})

    @app.get("/api/jobs/{job_id}/results/{index}/explain")
    def api_explain(job_id: str, index: int) -> dict[str, Any]:
        run = run_of(job_id, index)
        if run.explain is None:
            raise StarletteHTTPException(404, f"result {index} ({run.method}) has no panel: its "
                                              f"state is {run.state!r}")
        return run.explain

    return app


def is_loopback(host: str) -> bool:
    """True when ``host`` only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(host: str = "127.0.0.1", port: int = 8000, *, open_browser: bool = False,
          **kwargs: Any) -> None:
    """Run the app with uvicorn until interrupted.

    Parameters
    ----------
    host : str
        Interface to bind; the default accepts connections from this machine only. The app has
        no login: bind another address only on a network you trust.
    port : int
    open_browser : bool
        Open the page in the default browser.
    **kwargs
        Passed to :func:`create_app`.
    """
    _require_fastapi()
    try:
        import uvicorn
    except ImportError:
        raise MissingDependencyError("the web app needs uvicorn: pip install \"imgkit[app]\"") from None
    if is_loopback(host) and "allowed_hosts" not in kwargs:
        kwargs["allowed_hosts"] = ["localhost", "127.0.0.1", "::1"]
    app = create_app(**kwargs)
    url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}/"
    if not is_loopback(host):
        log.warning("imgkit app listens on %s: anyone who can reach it can run jobs (no login)", host)
    print(f"imgkit app: open {url} (Ctrl+C stops it)", flush=True)
    if open_browser:
        import threading
        import webbrowser

        threading.Timer(1.0, webbrowser.open, args=(url,)).start()
    uvicorn.run(app, host=host, port=port, log_level="info")
