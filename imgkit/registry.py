"""The method registry: every method declares its task, family, devices, paper and options.

Method modules live in :mod:`imgkit.inpainting` (task ``"inpaint"``) and :mod:`imgkit.style`
(tasks ``"stylize"`` and ``"analogy"``); each registers its methods with :func:`register`.
They are discovered on first use, so adding a method is adding a module. Modules must not
import heavy optional packages (torch, cupy) at import time.

A method function has the signature ::

    func(*arrays, ctx: RunContext, **options) -> (output, info_or_None)

where the arrays are float32 ``(H, W, C)`` images in [0, 1] (and, for inpainting, the
boolean ``(H, W)`` mask), already validated and on the right device.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util
import math
import numbers
import pkgutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import InvalidOptionError, MissingDependencyError, UnknownMethodError

__all__ = [
    "DEFAULT_METHODS", "REGION_OPTIONS", "REQUIRES_TORCH", "TASKS", "MethodSpec", "Option", "get_method",
    "list_methods", "register",
]

TASKS = ("inpaint", "stylize", "analogy")
#: The method each task runs when none is named: the public doors (:func:`imgkit.inpaint` &
#: co.), the ``imgkit`` command line and :mod:`imgkit.batch` all read this one table.
DEFAULT_METHODS = {"inpaint": "criminisi", "stylize": "gatys", "analogy": "hertzmann"}
FAMILIES = ("classical", "deep")
#: ``requires=`` entry of the methods that run PyTorch code (module, install hint).
REQUIRES_TORCH = ("torch", "install it with pip install torch==2.13.0 (CPU) then pip install 'imgkit[deep]'")
_PACKAGES = ("imgkit.inpainting", "imgkit.style")


@dataclass(frozen=True)
class Option:
    """One keyword option of a method.

    Parameters
    ----------
    name : str
        Keyword name.
    default : object
        Value used when the caller gives none.
    doc : str
        One line for tables and error messages.
    type : type or tuple of types
        Accepted Python types: ``int``, ``float``, ``str``, ``bool`` (ints are accepted for
        floats; bools are never accepted as numbers).
    choices : tuple of str, optional
        Allowed values for string options.
    low, high : float, optional
        Inclusive bounds for numeric values.
    odd : bool
        Integer values must be odd.
    nullable : bool
        ``None`` is accepted.
    check : callable, optional
        ``check(value) -> value`` for rules the fields above cannot say; raises ``ValueError``
        with a message that completes "option X ...".
    """

    name: str
    default: Any
    doc: str
    type: type | tuple[type, ...] = object
    choices: tuple[str, ...] | None = None
    low: float | None = None
    high: float | None = None
    odd: bool = False
    nullable: bool = False
    check: Callable[[Any], Any] | None = None

    @property
    def types(self) -> tuple[type, ...]:
        return self.type if isinstance(self.type, tuple) else (self.type,)

    def describe(self) -> str:
        """Human-readable accepted values, e.g. ``int in [3, 51], odd``."""
        parts = []
        names = [t.__name__ for t in self.types if t is not object]
        if self.choices:
            parts.append(" | ".join(repr(c) for c in self.choices))
            names = [n for n in names if n != "str"]
        if names:
            parts.append(" or ".join(names))
        if self.low is not None or self.high is not None:
            lo = "-inf" if self.low is None else f"{self.low:g}"
            hi = "inf" if self.high is None else f"{self.high:g}"
            parts.append(f"in [{lo}, {hi}]")
        if self.odd:
            parts.append("odd")
        if self.nullable:
            parts.append("or None")
        return " ".join(parts) if parts else "any"

    def _fail(self, method: str, value: Any, why: str) -> InvalidOptionError:
        return InvalidOptionError(
            f"option {self.name!r} of method {method!r} {why}; got {value!r} "
            f"(expected {self.describe()}, default {self.default!r})"
        )

    def validate(self, value: Any, method: str) -> Any:
        """Check ``value`` and return it normalised (numpy scalars become Python scalars)."""
        if value is None:
            if self.nullable:
                return None
            raise self._fail(method, value, "must not be None")
        types = self.types
        ok = object in types
        if isinstance(value, bool) or type(value).__name__ == "bool_":
            if bool in types:
                return bool(value)
            if not ok:
                raise self._fail(method, value, "must not be a bool")
        elif isinstance(value, numbers.Integral) and (int in types or float in types):
            value = int(value) if int in types else float(value)
            ok = True
        elif isinstance(value, numbers.Real) and float in types:
            value = float(value)
            if not math.isfinite(value):
                raise self._fail(method, value, "must be finite")
            ok = True
        elif isinstance(value, str) and str in types:
            ok = True
            if self.choices is not None and value not in self.choices:
                raise self._fail(method, value, f"must be one of {list(self.choices)}")
        elif any(t is not object and isinstance(value, t) for t in types):
            ok = True
        if not ok:
            raise self._fail(method, value, f"has the wrong type {type(value).__name__}")
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if self.low is not None and value < self.low:
                raise self._fail(method, value, f"must be ≥ {self.low:g}")
            if self.high is not None and value > self.high:
                raise self._fail(method, value, f"must be ≤ {self.high:g}")
            if self.odd and isinstance(value, int) and value % 2 == 0:
                raise self._fail(method, value, "must be odd")
        if self.check is not None:
            try:
                value = self.check(value)
            except InvalidOptionError:
                raise
            except (ValueError, TypeError) as exc:
                raise self._fail(method, value, str(exc)) from None
        return value

    def parse(self, text: str, method: str) -> Any:
        """Parse a command-line string into a value of this option's type, then validate."""
        low = text.strip().lower()
        if self.nullable and low in ("none", "null"):
            return self.validate(None, method)
        for t in self.types:
            if t is bool:
                if low in ("1", "true", "yes", "on"):
                    return self.validate(True, method)
                if low in ("0", "false", "no", "off"):
                    return self.validate(False, method)
            elif t is int or t is float:
                try:
                    number = t(text)
                except ValueError:
                    continue
                # parsed: a range error is reported as such, not as "cannot be parsed"
                return self.validate(number, method)
        if str in self.types or object in self.types:
            return self.validate(text, method)
        raise self._fail(method, text, "cannot be parsed from the command line")


@dataclass(frozen=True)
class MethodSpec:
    """A registered method: what it does, where it runs, what it accepts.

    Attributes
    ----------
    name, task, family : str
        ``task`` is ``"inpaint"``, ``"stylize"`` or ``"analogy"``; ``family`` is
        ``"classical"`` or ``"deep"``.
    devices : tuple of str
        ``("cpu",)`` or ``("cpu", "cuda")``.
    reference : str
        The paper or library the method implements.
    summary : str
        One line.
    options : tuple of Option
        Declared keyword options.
    backend : str
        ``"numpy"``, ``"opencv"``, ``"skimage"``, ``"numba"`` or ``"torch"``.
    requires : tuple of (module, install hint)
        Optional modules the method imports when it runs.
    """

    name: str
    task: str
    family: str
    devices: tuple[str, ...]
    reference: str
    summary: str
    options: tuple[Option, ...]
    func: Callable[..., Any] = field(repr=False, compare=False)
    backend: str = "numpy"
    requires: tuple[tuple[str, str], ...] = ()

    @property
    def defaults(self) -> dict[str, Any]:
        """Option names and their default values."""
        return {o.name: o.default for o in self.options}

    @property
    def available(self) -> bool:
        """True when every optional module the method needs can be imported."""
        return self.missing() is None

    def missing(self) -> str | None:
        """The install hint for the first missing optional module, or None."""
        for module, hint in self.requires:
            if importlib.util.find_spec(module) is None:
                return f"{module} is not installed: {hint}"
        return None

    def ensure_available(self) -> None:
        why = self.missing()
        if why is not None:
            raise MissingDependencyError(f"method {self.name!r} cannot run: {why}")

    def option(self, name: str) -> Option:
        for o in self.options:
            if o.name == name:
                return o
        raise self._unknown_option(name)

    def _unknown_option(self, name: str) -> InvalidOptionError:
        accepted = ", ".join(f"{o.name}={o.default!r}" for o in self.options) or "no options"
        near = difflib.get_close_matches(name, [o.name for o in self.options], n=1)
        hint = f"; did you mean {near[0]!r}?" if near else ""
        return InvalidOptionError(
            f"unknown option {name!r} for method {self.name!r}{hint} "
            f"(it accepts: {accepted})"
        )

    def check_options(self, options: Mapping[str, Any]) -> dict[str, Any]:
        """Validate ``options`` and return the full option dict with defaults filled in."""
        out = self.defaults
        for name, value in options.items():
            out[name] = self.option(name).validate(value, self.name)
        return out

    def as_dict(self) -> dict[str, Any]:
        """A plain-data record (for JSON, tables, benchmarks)."""
        return {
            "name": self.name,
            "task": self.task,
            "family": self.family,
            "devices": list(self.devices),
            "reference": self.reference,
            "summary": self.summary,
            "options": {o.name: o.default for o in self.options},
            "available": self.available,
        }


def _region_options(default: str) -> tuple[Option, ...]:
    """Options every inpainting method accepts; :func:`imgkit.inpaint` handles them itself."""
    return (
        Option("region", default, "'crop': fill each group of holes on its bounding box plus a "
               "context margin, at full resolution, and paste back exactly; 'auto': crop on images "
               "over 1 megapixel (big photos with small holes), else the whole image; 'full': "
               "always the whole image", type=str, choices=("auto", "crop", "full")),
        Option("region_margin", None, "context margin around each hole's bounding box with "
               "region='auto', in pixels (None: the hole's longer side, at least 64)", type=int,
               low=0, high=1_000_000, nullable=True),
        Option("mask_dilate", 0, "grow the hole by this many pixels (a disk) before filling, to "
               "cover halos and soft edges of the object", type=int, low=0, high=10_000),
        Option("mask_feather", 0, "blend the fill into the photo over a soft edge this many "
               "pixels wide outside the hole (0: hard edge); known pixels farther out stay "
               "exact", type=int, low=0, high=10_000),
    )


#: Names of the options :func:`imgkit.inpaint` handles for every inpainting method.
REGION_OPTIONS = tuple(o.name for o in _region_options("full"))

_REGISTRY: dict[tuple[str, str], MethodSpec] = {}
_LOADED = False


def register(
    name: str,
    *,
    task: str,
    family: str,
    reference: str,
    summary: str,
    options: tuple[Option, ...] | list[Option] = (),
    devices: tuple[str, ...] = ("cpu",),
    backend: str = "numpy",
    requires: tuple[tuple[str, str], ...] = (),
    region: str | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator registering ``func`` as method ``name`` of ``task``.

    Inpainting methods also get the options of :data:`REGION_OPTIONS` (``region``,
    ``region_margin``, ``mask_dilate``, ``mask_feather``), which :func:`imgkit.inpaint` applies
    around the method; ``region`` gives the default of the ``region`` option: ``"auto"`` (work on
    each hole's neighbourhood) or ``"full"``; None: ``"auto"`` for deep methods, else ``"full"``.
    Exemplar methods should pass ``"auto"``.
    """
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, got {task!r}")
    if family not in FAMILIES:
        raise ValueError(f"family must be one of {FAMILIES}, got {family!r}")

    all_options = tuple(options)
    if task == "inpaint":
        default = region or ("auto" if family == "deep" else "full")
        if default not in ("auto", "full"):
            raise ValueError(f"region must be 'auto' or 'full', got {region!r}")
        clash = [o.name for o in all_options if o.name in REGION_OPTIONS]
        if clash:
            raise ValueError(f"method {name!r} declares {clash}, which imgkit.inpaint provides itself")
        all_options += _region_options(default)

    def deco(func: Callable[..., Any]) -> Callable[..., Any]:
        key = (task, name)
        if key in _REGISTRY and _REGISTRY[key].func is not func:
            raise ValueError(f"method {name!r} is already registered for task {task!r}")
        _REGISTRY[key] = MethodSpec(
            name=name,
            task=task,
            family=family,
            devices=tuple(devices),
            reference=reference,
            summary=summary,
            options=all_options,
            func=func,
            backend=backend,
            requires=tuple(requires),
        )
        return func

    return deco


def _load_all() -> None:
    global _LOADED
    if _LOADED:
        return
    for pkg_name in _PACKAGES:
        pkg = importlib.import_module(pkg_name)
        for mod in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: m.name):
            if not mod.name.startswith("_"):
                importlib.import_module(f"{pkg_name}.{mod.name}")
    _LOADED = True


def _sort_key(spec: MethodSpec) -> tuple[int, int, str]:
    return (TASKS.index(spec.task), FAMILIES.index(spec.family), spec.name)


def list_methods(task: str | None = None) -> list[MethodSpec]:
    """List registered methods.

    Parameters
    ----------
    task : {"inpaint", "stylize", "analogy"}, optional
        Only methods for this task. Default: all.

    Returns
    -------
    list of MethodSpec
        Records with ``name``, ``task``, ``family``, ``devices``, ``reference``, ``summary``,
        ``options`` (with ``defaults``) and ``available``; ``as_dict()`` gives plain data.

    Examples
    --------
    >>> import imgkit
    >>> "telea" in [m.name for m in imgkit.list_methods("inpaint")]
    True
    """
    if task is not None and task not in TASKS:
        raise InvalidOptionError(f"task must be None or one of {list(TASKS)}; got {task!r}")
    _load_all()
    specs = [s for s in _REGISTRY.values() if task is None or s.task == task]
    return sorted(specs, key=_sort_key)


def get_method(name: str, task: str) -> MethodSpec:
    """The spec of method ``name`` for ``task``; :class:`UnknownMethodError` if none."""
    _load_all()
    if not isinstance(name, str):
        raise UnknownMethodError(
            f"method must be a string naming a {task} method; got {name!r} "
            f"(available: {', '.join(s.name for s in list_methods(task))})"
        )
    spec = _REGISTRY.get((task, name))
    if spec is None:
        names = [s.name for s in list_methods(task)]
        near = difflib.get_close_matches(name, names, n=1)
        hint = f"; did you mean {near[0]!r}?" if near else ""
        raise UnknownMethodError(
            f"unknown {task} method {name!r}{hint} (available: {', '.join(names)}); "
            f"imgkit.list_methods({task!r}) describes them"
        )
    return spec
