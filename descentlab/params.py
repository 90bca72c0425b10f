"""Declared parameters: what a problem, optimizer, schedule or probe accepts from a spec.

Every configurable component describes its parameters with :class:`Param`. The spec validator
uses them to give one clear message per bad value (field, value, what is allowed) before
anything is compiled, and the planner uses ``static`` to split sweep axes into *static* ones
(one compiled program per value: shapes, code paths, host-side precomputation) and *vmapped*
ones (array-valued scalars that travel through ``jax.vmap``).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
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
