"""``descentlab verify``: find damaged files and chunks in the store, and repair them.

Verifying only reads (the full check of :meth:`Store.verify`: every chunk's sha256, row counts and
columns, every experiment file, stray entries). Repairing moves each damaged entry into the
experiment's ``quarantine/`` folder — nothing is deleted — and runs the stored spec again, which
recomputes exactly the runs that are missing; a study's computation (:mod:`descentlab.engine.computation`) is
rebuilt from its study and the options in its record and computed again whole.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

from descentlab.engine.computation import Computation, is_computation, run_computation
from descentlab.engine.load import spec_from_dict
from descentlab.engine.runner import run_spec
from descentlab.params import SpecError
from descentlab.store import Store


@dataclasses.dataclass
class Verification:
    """What verify found in one experiment folder and, with ``repair``, what became of it."""

    experiment: str
    problems: list[tuple[Path, str]]
    repaired: bool = False
    recomputed: int = 0
    unrepairable: str | None = None

    @property
    def ok(self) -> bool:
        return not self.problems or self.repaired

    def line(self, root: Path) -> str:
        """One line: ``ok``, or the damage with reasons, and what repair did."""
        if not self.problems:
            return f"{self.experiment}: ok"
        folder = root / self.experiment
        damage = "; ".join(f"{_relative(path, folder)}: {reason}" for path, reason in self.problems)
        head = f"{self.experiment}: {len(self.problems)} damaged ({damage})"
        if self.repaired:
            return f"{head} — repaired: quarantined in {folder / 'quarantine'}, recomputed {self.recomputed} runs"
        if self.unrepairable:
            return f"{head} — not repaired: {self.unrepairable}"
        return head


def _relative(path: Path, folder: Path) -> str:
    return str(path.relative_to(folder)) if path.is_relative_to(folder) else str(path)


def targets(store: Store, ref: str | None) -> list[str]:
    """The experiment folders to verify: all, or the one a hash (prefix) or name picks (KeyError if none)."""
    folders = store.experiment_folders()
    if ref is None:
        return folders
    matches = [f for f in folders if f.startswith(ref)]
    return matches if len(matches) == 1 else [store.resolve(ref)]


Rebuild = Callable[[dict[str, Any]], Computation]
"""Rebuilds a study's computation from its stored record (:func:`descentlab.studies.computation_from_record`:
studies sit above the engine, so the caller passes it in)."""


def _recomputation(store: Store, experiment: str, rebuild: Rebuild | None) -> Callable[[], int]:
    """How to compute the experiment again from what is stored — its spec, or the record of a study's
    computation — as a function returning the runs computed; raises ValueError saying why it cannot be had."""
    try:
        data = store.spec(experiment)
    except (KeyError, ValueError) as err:
        raise ValueError("no readable spec (spec.json and experiment.parquet both damaged)") from err
    if is_computation(data):
        if rebuild is None:
            raise ValueError(f"computed by study {data.get('study')!r}; repair it with `descentlab verify --repair`")
        computation = rebuild(data)
        if computation.hash != experiment:
            raise ValueError(f"the stored record is that of experiment {computation.hash}")
        return lambda: run_computation(computation, store).computed
    try:
        spec = spec_from_dict(data)
    except SpecError as err:
        raise ValueError(f"the stored spec does not load ({err})") from err
    if spec.content_hash() != experiment:
        raise ValueError(f"the stored spec is that of experiment {spec.content_hash()}")
    return lambda: run_spec(spec, store).computed


def repair(store: Store, found: Verification, rebuild: Rebuild | None = None) -> None:
    """Quarantine every damaged entry of ``found`` and recompute the experiment from its stored spec (or its
    computation's record, through ``rebuild``)."""
    try:
        recompute = _recomputation(store, found.experiment, rebuild)
    except ValueError as err:
        found.unrepairable = str(err)
        return
    for path, _ in found.problems:
        if path.exists() or path.is_symlink():
            store.quarantine(found.experiment, path)
    found.recomputed = recompute()
    left = store.verify(found.experiment)
    found.repaired = not left
    if left:
        found.unrepairable = "still damaged after recomputing: " + "; ".join(reason for _, reason in left)


def verify(
    store: Store, ref: str | None = None, fix: bool = False, rebuild: Rebuild | None = None
) -> list[Verification]:
    """Verify one experiment (or all); with ``fix``, repair each damaged one (``rebuild``: how a study's
    computation is rebuilt from its record, see :data:`Rebuild`)."""
    found = [Verification(experiment, store.verify(experiment)) for experiment in targets(store, ref)]
    if fix:
        for item in found:
            if item.problems:
                repair(store, item, rebuild)
    return found
