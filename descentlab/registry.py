"""A small name → object registry shared by problems, optimizers, schedules, probes, predictions, studies.

:meth:`Registry.register` is the one registration decorator. A registry of *factories* (optimizers,
schedules, probes, predictions) is made with the entry type it stores; registering a factory reads its
declared parameters from its signature (:func:`~descentlab.params.factory_params`: defaults only there,
help and bounds in ``Annotated[..., Arg(...)]``) and stores ``entry(name, factory, params, **fields)``.
A registry of *classes* that declare their own parameters (problems, studies) stores the class, named.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping
from typing import Any, Generic, TypeVar

from descentlab.params import Param, SpecError, Unannotated, factory_params

T = TypeVar("T")


class Registry(Generic[T]):
    """Maps names to entries; ``get`` raises a :class:`SpecError` listing the allowed names.

    Args:
      kind: what the entries are, in words (``"optimizer"``), for messages.
      entry: ``entry(name, factory, params, **fields) -> T`` for a registry of factories; ``None`` for a
        registry of classes (the class is stored as is, its ``name`` set).
      context: arguments of the factories that the engine passes itself (not spec parameters).
    """

    def __init__(self, kind: str, entry: Callable[..., T] | None = None, context: Collection[str] = ()):
        self.kind = kind
        self._entry = entry
        self._context = tuple(context)
        self._entries: dict[str, T] = {}

    def add(self, name: str, entry: T) -> T:
        if name in self._entries:
            raise ValueError(f"{self.kind} {name!r} is registered twice")
        self._entries[name] = entry
        return entry

    def register(
        self,
        name: str,
        *,
        params: Mapping[str, Param] | None = None,
        unannotated: Unannotated | None = None,
        **fields: Any,
    ) -> Callable[[Any], Any]:
        """Decorator registering a factory (its parameters read from its signature) or a class under ``name``.

        ``params`` (an explicit table, checked against the signature) is for factories taking ``**params``;
        ``unannotated`` reads parameters without metadata from a third-party signature; ``fields`` go to the
        entry (summary, reference, …).
        """

        def decorator(obj: Any) -> Any:
            if self._entry is None:
                if params is not None or unannotated is not None or fields:
                    raise TypeError(f"{self.kind} {name!r}: a class registry takes no parameters or fields")
                obj.name = name
                return self.add(name, obj)
            declared = factory_params(f"{self.kind} {name!r}", obj, self._context, params, unannotated)
            self.add(name, self._entry(name, obj, declared, **fields))
            return obj

        return decorator

    def get(self, name: str, field: str | None = None) -> T:
        if not isinstance(name, str) or name not in self._entries:
            raise SpecError(field or self.kind, name, f"unknown {self.kind}; allowed: {', '.join(self.names())}")
        return self._entries[name]

    def names(self) -> list[str]:
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def items(self) -> list[tuple[str, T]]:
        return [(n, self._entries[n]) for n in self.names()]
