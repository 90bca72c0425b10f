"""A spec from a dict or a TOML file, validated whole: its structure (:func:`~descentlab.engine.spec.parse_spec`)
and its content (:meth:`~descentlab.engine.plan.Plan.from_spec`, whose plan stays with the spec, so the run
that follows does not plan again)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from descentlab.engine.components import spec_data
from descentlab.engine.plan import Plan
from descentlab.engine.spec import Spec, apply_overrides, parse_spec, read_toml


def spec_from_dict(data: Mapping[str, Any]) -> Spec:
    """Validate a dict (parsed TOML or Python) into a :class:`Spec`, raising :class:`~descentlab.params.SpecError`
    (one line: field, value, what is allowed) before anything is stored or compiled. A section may be a component
    object (``Problem("least_squares", dim=200)``, :mod:`descentlab.engine.components`): it is its dict."""
    return Plan.from_spec(parse_spec(spec_data(data))).spec


def load_spec(path: str | Path, overrides: list[str] | None = None) -> Spec:
    """Read a TOML spec file, apply ``--set a.b=value`` overrides, validate."""
    return spec_from_dict(apply_overrides(read_toml(path), overrides or []))
