"""Problem registry: ``@register_problem("name")`` on a Problem dataclass.

A problem declares its parameters in its fields (:func:`~descentlab.problems.base.hyper` and
:func:`~descentlab.problems.base.static` write each default once, into both the field and its
:class:`~descentlab.params.Param`), so registration only names the class.
"""

from __future__ import annotations

from descentlab.problems.base import Problem
from descentlab.registry import Registry

PROBLEMS: Registry[type[Problem]] = Registry("problem")

register_problem = PROBLEMS.register
"""``@register_problem(name)`` on a Problem dataclass: sets ``cls.name`` and registers the class."""
