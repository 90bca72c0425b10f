"""``descentlab verify``: find damaged files and chunks in the store, and repair them.

Verifying only reads (the full check of :meth:`Store.verify`: every chunk's sha256, row counts and
columns, every experiment file, stray entries). Repairing moves each damaged entry into the
experiment's ``quarantine/`` folder — nothing is deleted — and runs the stored spec again, which
recomputes exactly the runs that are missing.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

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


def _stored_spec(store: Store, experiment: str):
    """The experiment's spec, from ``spec.json`` or its row; raises ValueError saying why it cannot be had."""
    try:
        data = store.spec(experiment)
    except (KeyError, ValueError) as err:
        raise ValueError("no readable spec (spec.json and experiment.parquet both damaged)") from err
    try:
        spec = spec_from_dict(data)
    except SpecError as err:
        raise ValueError(f"the stored spec does not load ({err})") from err
    if spec.content_hash() != experiment:
        raise ValueError(f"the stored spec is that of experiment {spec.content_hash()}")
    return spec


def repair(store: Store, found: Verification) -> None:
    """Quarantine every damaged entry of ``found`` and recompute the experiment from its stored spec."""
    try:
        spec = _stored_spec(store, found.experiment)
    except ValueError as err:
        found.unrepairable = str(err)
        return
    for path, _ in found.problems:
        if path.exists() or path.is_symlink():
            store.quarantine(found.experiment, path)
    found.recomputed = run_spec(spec, store).computed
    left = store.verify(found.experiment)
    found.repaired = not left
    if left:
        found.unrepairable = "still damaged after recomputing: " + "; ".join(reason for _, reason in left)


def verify(store: Store, ref: str | None = None, fix: bool = False) -> list[Verification]:
    """Verify one experiment (or all); with ``fix``, repair each damaged one."""
    found = [Verification(experiment, store.verify(experiment)) for experiment in targets(store, ref)]
    if fix:
        for item in found:
            if item.problems:
                repair(store, item)
    return found
