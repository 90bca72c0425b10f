"""A spec's sections as small typed objects, for writing experiments in Python.

``Problem("least_squares", dim=200)`` *is* the table ``{"name": "least_squares", "dim": 200}``:
:meth:`Component.to_dict` gives exactly that dict, so an experiment written with objects has the same
content hash, the same stored identity and the same validation as the one written with dicts or TOML.
An object holds the name and the parameters as given; nothing is checked when it is built. The check is
the spec's (:func:`descentlab.engine.load.spec_from_dict`), and a wrong value is the same one-line
:class:`~descentlab.params.SpecError` (field, value, what is allowed) as in a dict::

    Experiment(
        problem=Problem("least_squares", dim=200, spectrum="power_law"),
        optimizer=Optimizer("sgd", learning_rate=logspace(0.1, 1.0, 3)),
        run=Run(steps=1000, seeds=8),
        probes=["metrics", Probe("sharpness", every=4)],
    )

What a component object is here, and why: an optimizer's registered factory returns an optax
``GradientTransformation`` and a problem's class builds traced JAX state, neither of which can be stored,
hashed or read back; the spec (plain data) is what the store keeps. So the objects are the spec's
sections, typed by section: :class:`Problem`, :class:`Optimizer`, :class:`Schedule`, :class:`Sampler`,
:class:`Probe` (an entry of ``probes``), :class:`Theory` (the ``theory`` section, ``predict`` first) and
:class:`Run` (the ``run`` section, no name). The spec's own section models (``spec.problem`` of a spec
already built, a :class:`~descentlab.engine.spec.RunSection`) are accepted too. Sweeps are written with
:func:`grid`, :func:`logspace` and :func:`linspace`, which return the dict forms of the spec syntax.

An object given for another section (``problem=Optimizer("sgd")``) is a SpecError naming the section.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import BaseModel

from descentlab.engine.spec import (
    OptimizerSection,
    ProblemSection,
    RunSection,
    SamplerSection,
    ScheduleSection,
    Sweep,
    TheorySection,
    _plain,
)
from descentlab.params import SpecError


def grid(*values: Any) -> dict[str, list[Any]]:
    """The sweep ``{grid = [v1, v2, ...]}``.

    Args:
        values: the values the field takes, in order.

    Returns:
        ``{"grid": [v1, v2, ...]}``.
    """
    return {"grid": list(values)}


def logspace(lo: float, hi: float, n: int) -> dict[str, list[float | int]]:
    """The sweep ``{logspace = [lo, hi, n]}``: ``n`` values from ``lo`` to ``hi``, geometrically spaced.

    Args:
        lo: the first value (> 0; a value, not an exponent).
        hi: the last value (> 0).
        n: how many values.

    Returns:
        ``{"logspace": [lo, hi, n]}``.
    """
    return {"logspace": [lo, hi, n]}


def linspace(lo: float, hi: float, n: int) -> dict[str, list[float | int]]:
    """The sweep ``{linspace = [lo, hi, n]}``: ``n`` values from ``lo`` to ``hi``, evenly spaced.

    Args:
        lo: the first value.
        hi: the last value.
        n: how many values.

    Returns:
        ``{"linspace": [lo, hi, n]}``.
    """
    return {"linspace": [lo, hi, n]}


def _data(value: Any) -> Any:
    """``value`` as plain spec data: a :class:`Sweep` as its grid, tuples as lists, tables copied."""
    if isinstance(value, Sweep):
        return {"grid": [_data(v) for v in value.values]}
    if isinstance(value, Mapping):
        return {k: _data(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_data(v) for v in value]
    return value


class Component:
    """One named section of a spec: its name (or a sweep of names) and its parameters, as given.

    Args:
        name: the registered name (``descentlab list …``), or a sweep of names (``grid("sgd", "adam")``).
        params: the section's parameters; a value may be a sweep (:func:`grid`, :func:`logspace`,
            :func:`linspace`).
    """

    section: ClassVar[str] = ""
    """The spec field the object stands for."""
    key: ClassVar[str] = "name"
    """The dict key the name is written under (``predict`` for :class:`Theory`)."""

    __slots__ = ("name", "params")
    name: Any
    params: dict[str, Any]

    def __init__(self, name: Any, /, **params: Any):
        if self.key in params:
            raise SpecError(
                f"{self.section}.{self.key}", params[self.key], f"give the {self.key} once, as the first argument"
            )
        object.__setattr__(self, "name", _data(name))
        object.__setattr__(self, "params", _data(params))

    def __setattr__(self, attr: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable; build a new one")

    def to_dict(self) -> dict[str, Any]:
        """The section as the spec's dict: ``{key: name, **params}`` (a copy).

        Returns:
            The table a TOML spec would hold for this section.
        """
        return {self.key: _data(self.name), **_data(self.params)}

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and self.to_dict() == other.to_dict()  # type: ignore[attr-defined]

    __hash__ = None  # type: ignore[assignment]  # parameters may be lists (sweeps): not hashable

    def __repr__(self) -> str:
        args = [repr(self.name), *(f"{k}={v!r}" for k, v in self.params.items())]
        return f"{type(self).__name__}({', '.join(args)})"


class Problem(Component):
    """The ``problem`` section: ``Problem("least_squares", dim=200)`` (the spec's table, not the problem class)."""

    section = "problem"


class Optimizer(Component):
    """The ``optimizer`` section: ``Optimizer("sgd", learning_rate=0.1)``."""

    section = "optimizer"


class Schedule(Component):
    """The ``schedule`` section: ``Schedule("cosine", warmup=0.1)``."""

    section = "schedule"


class Sampler(Component):
    """The ``sampler`` section: ``Sampler("reshuffle")``."""

    section = "sampler"


class Probe(Component):
    """One entry of ``probes``: ``Probe("sharpness", every=4)``; without options it is the bare name."""

    section = "probes"

    def entry(self) -> str | dict[str, Any]:
        """The ``probes`` entry: the name alone when there are no options (as ``probes = ["metrics"]``
        writes it), else the table.

        Returns:
            A string or a table.
        """
        return _data(self.name) if not self.params else self.to_dict()


class Theory(Component):
    """The ``theory`` section: ``Theory("sgd_least_squares_ode", metric="population_risk", tolerance=0.1)``."""

    section = "theory"
    key = "predict"


class Run:
    """The ``run`` section: ``Run(steps=1000, seeds=8)`` (the fields of :class:`~descentlab.engine.spec.RunSection`).

    Args:
        fields: the run's fields, as given (checked with the spec).
    """

    section: ClassVar[str] = "run"
    __slots__ = ("fields",)
    fields: dict[str, Any]

    def __init__(self, **fields: Any):
        object.__setattr__(self, "fields", _data(fields))

    def __setattr__(self, attr: str, value: Any) -> None:
        raise AttributeError("Run is immutable; build a new one")

    def to_dict(self) -> dict[str, Any]:
        """The section as the spec's dict (a copy).

        Returns:
            The ``[run]`` table.
        """
        return _data(self.fields)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Run) and self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Run({', '.join(f'{k}={v!r}' for k, v in self.fields.items())})"


SECTION_OBJECTS: dict[str, tuple[type, type[BaseModel]]] = {
    "problem": (Problem, ProblemSection),
    "optimizer": (Optimizer, OptimizerSection),
    "schedule": (Schedule, ScheduleSection),
    "sampler": (Sampler, SamplerSection),
    "run": (Run, RunSection),
    "theory": (Theory, TheorySection),
}
"""Each section: the component class written for it and the spec's own section model."""


def _section(field: str, value: Any) -> Any:
    """One section's value as spec data: a component object or section model as its dict, anything else as is."""
    kind, model = SECTION_OBJECTS[field]
    if isinstance(value, kind):
        return value.to_dict()
    if isinstance(value, model):
        return _plain(value.model_dump(exclude_none=True))
    if isinstance(value, (Component, Run, BaseModel)):
        raise SpecError(field, value, f"expected a table or {kind.__name__}(...), not {type(value).__name__}(...)")
    return value


def _probe(field: str, item: Any) -> Any:
    if isinstance(item, Probe):
        return item.entry()
    if isinstance(item, (Component, Run, BaseModel)):
        raise SpecError(field, item, f"expected a probe name, a table or Probe(...), not {type(item).__name__}(...)")
    return item


def spec_data(data: Mapping[str, Any]) -> Mapping[str, Any]:
    """A spec dict whose sections may be component objects (or the spec's section models) as plain spec data.

    Args:
        data: the spec's sections; any of them a dict, a component object or a section model.

    Returns:
        A shallow copy of ``data`` with each object replaced by its dict (the same dict a TOML spec holds, hence
        the same content hash); anything that is not a mapping is returned as is (the spec check refuses it).

    Raises:
        SpecError: an object given for another section (``problem=Optimizer(...)``).
    """
    if not isinstance(data, Mapping):
        return data
    out = dict(data)
    for field in SECTION_OBJECTS:
        if field in out:
            out[field] = _section(field, out[field])
    probes = out.get("probes")
    if isinstance(probes, (list, tuple)):
        out["probes"] = [_probe(f"probes[{i}]", item) for i, item in enumerate(probes)]
    elif isinstance(probes, (Component, Run)):
        raise SpecError("probes", probes, "expected a list of probe names, tables or Probe(...) objects")
    return out
