"""Problem registry: ``@register_problem("name")`` on a Problem dataclass."""

from __future__ import annotations

from descentlab.problems.base import Problem
from descentlab.registry import Registry

PROBLEMS: Registry[type[Problem]] = Registry("problem")


def register_problem(name: str):
    def decorator(cls: type[Problem]) -> type[Problem]:
        cls.name = name
        return PROBLEMS.add(name, cls)

    return decorator
