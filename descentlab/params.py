"""Declared parameters: what a problem, optimizer, schedule or probe accepts from a spec.

Every configurable component describes its parameters with :class:`Param`. A factory (optimizer,
schedule, probe) declares them in its own signature, the one place its defaults are written:
``eta: Annotated[float, Arg("η: noise variance", low=0.0)] = 0.01`` gives the help line and the
bounds, the annotation the kind, the signature the default (none: required); :func:`factory_params`
builds the :class:`Param` table from it when the factory is registered. The spec validator
uses them to give one clear message per bad value (field, value, what is allowed) before
anything is compiled, and the planner uses ``static`` to split sweep axes into *static* ones
(one compiled program per value: shapes, code paths, host-side precomputation) and *vmapped*
ones (array-valued scalars that travel through ``jax.vmap``).
"""

from __future__ import annotations

import dataclasses
import inspect
import math
import types
import typing
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any, Literal

Kind = Literal["float", "int", "bool", "str"]

FLOAT_LIMIT = 1e15
"""Largest magnitude of a float parameter without a declared bound: its square (a noise variance, a
risk) still fits float32, and host-side conversion to any float dtype never overflows."""
INT_LIMIT = 2**31 - 1
"""Largest magnitude of an int parameter without a declared bound (seeds and sizes fit int32)."""


class SpecError(ValueError):
    """A spec value that is not allowed; ``str(err)`` is one line naming field, value, allowed."""

    def __init__(self, field: str, value: Any, allowed: str):
        self.field = field
        self.value = value
        self.allowed = allowed
        super().__init__(f"{field}: got {_show(value)}; {allowed}")

    def __reduce__(self):  # pickled as its three parts, so it crosses process boundaries (Ray tasks) intact
        return type(self), (self.field, self.value, self.allowed)


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


@dataclasses.dataclass(frozen=True)
class Param:
    """One declared parameter.

    Attributes:
      kind: ``float`` values are vmappable unless ``static``; ``int``/``bool``/``str`` are static.
      default: value used when the spec omits it; ``REQUIRED`` when it must be given.
      low, high: inclusive bounds for numbers (``None`` = unbounded);
        ``low_open``/``high_open`` make them strict.
      choices: allowed values for ``str`` parameters.
      static: a float that changes shapes or host precomputation (one program per value).
      max_value: a sanity cap for sizes (``huge sizes`` are rejected before compiling).
      help: one line for ``descentlab list`` and error messages.
    """

    kind: Kind
    default: Any = None
    help: str = ""
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    choices: tuple[str, ...] | None = None
    static: bool = False
    required: bool = False

    @property
    def vmapped(self) -> bool:
        return self.kind == "float" and not self.static

    @property
    def bounds(self) -> tuple[float | None, float | None]:
        """(low, high) in force: the declared ones, else ±``FLOAT_LIMIT`` / ±``INT_LIMIT`` for numbers."""
        limit = {"float": FLOAT_LIMIT, "int": INT_LIMIT}.get(self.kind)
        if limit is None:
            return self.low, self.high
        return (-limit if self.low is None else self.low), (limit if self.high is None else self.high)

    def describe(self) -> str:
        """What is allowed, in words."""
        if self.choices is not None:
            return "allowed: " + ", ".join(repr(c) for c in self.choices)
        if self.kind == "bool":
            return "allowed: true or false"
        noun = {"float": "a number", "int": "an integer", "str": "a string"}[self.kind]
        low, high = self.bounds
        show = (lambda v: str(int(v))) if self.kind == "int" else (lambda v: f"{v:g}")
        parts = []
        if low is not None:
            parts.append(f"{'>' if self.low_open else '>='} {show(low)}")
        if high is not None:
            parts.append(f"{'<' if self.high_open else '<='} {show(high)}")
        return f"expected {noun}" + (" " + " and ".join(parts) if parts else "")

    def coerce(self, field: str, value: Any) -> Any:
        """Return ``value`` converted to this parameter's kind, or raise :class:`SpecError`."""
        if self.kind == "bool":
            if isinstance(value, bool):
                return value
            raise SpecError(field, value, self.describe())
        if self.kind == "str":
            if not isinstance(value, str):
                raise SpecError(field, value, self.describe())
            if self.choices is not None and value not in self.choices:
                raise SpecError(field, value, self.describe())
            return value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise SpecError(field, value, self.describe())
        if self.kind == "int":
            if isinstance(value, float) and not value.is_integer():
                raise SpecError(field, value, self.describe())
            value = int(value)
        else:
            if isinstance(value, int) and abs(value) > FLOAT_LIMIT:  # float() of a huge int overflows
                raise SpecError(field, value, self.describe())
            value = float(value)
            if not math.isfinite(value):
                raise SpecError(field, value, self.describe() + " (finite)")
        low, high = self.bounds
        if value < low or (self.low_open and value == low) or value > high or (self.high_open and value == high):
            raise SpecError(field, value, self.describe())
        return value


def check_params(
    section: str,
    declared: Mapping[str, Param],
    given: Mapping[str, Any],
    component: str,
) -> None:
    """Raise :class:`SpecError` for an unknown or missing parameter name."""
    for key in given:
        if key not in declared:
            allowed = ", ".join(sorted(declared)) or "(none)"
            raise SpecError(f"{section}.{key}", given[key], f"unknown parameter of {component!r}; allowed: {allowed}")
    for key, param in declared.items():
        if param.required and key not in given:
            raise SpecError(f"{section}.{key}", None, f"required by {component!r}; {param.describe()}")


def fill_defaults(declared: Mapping[str, Param], given: Mapping[str, Any]) -> dict[str, Any]:
    """``given`` completed with the declared defaults (parameters without one are left out)."""
    out = {k: p.default for k, p in declared.items() if not p.required and p.default is not None}
    out.update(given)
    return out


def split_static(declared: Mapping[str, Param], values: Mapping[str, Any]) -> tuple[dict, dict]:
    """Split concrete ``values`` into (static, vmapped) dicts according to ``declared``."""
    static, dynamic = {}, {}
    for key, value in values.items():
        (dynamic if declared[key].vmapped else static)[key] = value
    return static, dynamic


def choices_of(names: Sequence[str]) -> tuple[str, ...]:
    return tuple(sorted(names))


# ---- parameters declared in a factory's signature -----------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Arg:
    """What a factory's signature cannot say about one of its parameters: a help line and constraints.

    Written as annotation metadata, ``radius: Annotated[float, Arg("r: size of the set", low=0.0)] = 1.0``.
    :func:`factory_params` turns it into the parameter's :class:`Param`: the kind from the annotation
    (``float``, ``int``, ``bool``, ``str``, a ``Literal`` of strings — its values are the choices — or
    ``X | None``), or from ``kind`` when the annotation names none (``optax.ScalarOrSchedule``); the default
    from the signature, and *required* when the signature has none. The fields mean what :class:`Param`'s do.
    """

    help: str = ""
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    choices: tuple[str, ...] | None = None
    static: bool = False
    kind: Kind | None = None


_KINDS: dict[Any, Kind] = {float: "float", int: "int", bool: "bool", str: "str"}

Unannotated = Callable[[inspect.Parameter], Param | None]
"""The policy for a parameter without :class:`Arg` metadata: its :class:`Param`, or ``None`` to leave it out
(third-party signatures, e.g. optax's); by default such a parameter is refused."""


def factory_params(
    component: str,
    factory: Callable[..., Any],
    context: Collection[str] = (),
    params: Mapping[str, Param] | None = None,
    unannotated: Unannotated | None = None,
) -> dict[str, Param]:
    """The parameters ``factory`` accepts from a spec, read from its signature (the one source of defaults).

    ``context`` names the arguments the engine passes itself (``learning_rate``, a schedule's ``lr`` and
    ``total_steps``): they are left out unless annotated with an :class:`Arg`. ``params`` is an explicit table
    for a factory that takes ``**params`` (predictions, whose tables are composed from the problems'); every
    entry is checked against the signature. Raises ``ValueError`` naming ``component`` and the parameter for a
    default that disagrees with the signature, a declared parameter the factory does not take, or a parameter
    without metadata.
    """
    signature = _signature(component, factory)
    if params is not None:
        return _checked_table(component, signature, params, context)
    raw = inspect.signature(factory).parameters
    declared: dict[str, Param] = {}
    for name, parameter in signature.parameters.items():
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            continue
        marker = _marker(component, name, parameter.annotation)
        if marker is not None:
            declared[name] = annotated_param(component, parameter, marker)
        elif name in context:
            continue
        elif unannotated is not None:
            param = unannotated(raw[name])
            if param is not None:
                declared[name] = param
        else:
            raise ValueError(
                f"{component}: parameter {name!r} has no Arg metadata; declare it as "
                f"{name}: Annotated[float, Arg('what it is', ...)] (kind from the annotation)"
            )
    return declared


def _signature(component: str, factory: Callable[..., Any]) -> inspect.Signature:
    try:
        return inspect.signature(factory, eval_str=True)
    except Exception as err:  # an annotation that does not evaluate in the factory's module
        raise ValueError(f"{component}: cannot read the signature of {factory!r}: {err}") from err


def _marker(component: str, name: str, annotation: Any) -> Arg | Param | None:
    if typing.get_origin(annotation) is not typing.Annotated:
        return None
    markers = [m for m in annotation.__metadata__ if isinstance(m, (Arg, Param))]
    if len(markers) > 1:
        raise ValueError(f"{component}: parameter {name!r} has {len(markers)} Arg/Param markers; one at most")
    return markers[0] if markers else None


def _kind_of(annotation: Any) -> tuple[Kind | None, tuple[str, ...] | None]:
    """(kind, choices) named by an annotation (``Annotated`` and ``| None`` unwrapped), else (None, None)."""
    if typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        members = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(members) != 1:
            return None, None
        annotation = members[0]
    if typing.get_origin(annotation) is Literal:
        values = typing.get_args(annotation)
        return ("str", tuple(values)) if all(isinstance(v, str) for v in values) else (None, None)
    return _KINDS.get(annotation), None


def annotated_param(component: str, parameter: inspect.Parameter, marker: Arg | Param) -> Param:
    """The :class:`Param` of one parameter described by ``marker``, its default taken from the signature."""
    name = parameter.name
    where = f"{component}: parameter {name!r}"
    kind, choices = _kind_of(parameter.annotation)
    required = parameter.default is inspect.Parameter.empty
    default = None if required else parameter.default
    if isinstance(marker, Param):  # a full Param as metadata must agree with the signature it sits in
        if kind is not None and marker.kind != kind:
            raise ValueError(f"{where}: Param kind {marker.kind!r} disagrees with the annotation ({kind!r})")
        _check_default(where, marker, parameter)
        return marker
    kind = marker.kind or kind
    if kind is None:
        raise ValueError(f"{where}: the annotation names no kind (float, int, bool, str, Literal); give Arg(kind=...)")
    if marker.choices is not None and choices is not None and tuple(marker.choices) != choices:
        raise ValueError(f"{where}: Arg choices {marker.choices} disagree with the Literal {choices}")
    fields = {f.name: getattr(marker, f.name) for f in dataclasses.fields(Arg) if f.name != "kind"}
    fields["choices"] = marker.choices if marker.choices is not None else choices
    param = Param(kind, None, required=required, **fields)
    if default is not None:
        try:
            default = param.coerce(name, default)
        except SpecError as err:
            raise ValueError(f"{where}: the signature's default is not allowed by its Arg ({err})") from err
    return dataclasses.replace(param, default=default)


def _check_default(where: str, param: Param, parameter: inspect.Parameter) -> None:
    """Raise unless ``param`` is required exactly when the signature has no default, and has the same default."""
    required = parameter.default is inspect.Parameter.empty
    default = None if required else parameter.default
    same = param.default == default and isinstance(param.default, bool) == isinstance(default, bool)
    if param.required != required or (not required and not same):
        said = "is required" if param.required else f"has default {param.default!r}"
        has = "no default" if required else f"default {default!r}"
        raise ValueError(f"{where}: its Param {said}, which disagrees with the signature ({has})")


def _checked_table(
    component: str, signature: inspect.Signature, params: Mapping[str, Param], context: Collection[str]
) -> dict[str, Param]:
    """An explicit parameter table, checked against the signature of the factory it describes."""
    parameters = signature.parameters
    open_ended = any(p.kind == p.VAR_KEYWORD for p in parameters.values())
    for name, param in params.items():
        parameter = parameters.get(name)
        if parameter is None or parameter.kind == parameter.VAR_POSITIONAL:
            if not open_ended:
                raise ValueError(f"{component}: declared parameter {name!r} is not in the factory's signature")
            continue
        if _marker(component, name, parameter.annotation) is not None:
            raise ValueError(f"{component}: parameter {name!r} is declared twice (table and Arg metadata)")
        _check_default(f"{component}: parameter {name!r}", param, parameter)
    for name, parameter in parameters.items():
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD) or name in params or name in context:
            continue
        raise ValueError(f"{component}: parameter {name!r} of the signature is not declared")
    return dict(params)
