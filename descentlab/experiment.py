"""The Python face of a spec: ``Experiment(...).run()`` returns a :class:`Result` backed by the store.

>>> exp = Experiment(problem={"name": "least_squares", "dim": 200},
...                  optimizer={"name": "sgd", "learning_rate": {"logspace": [0.1, 1.0, 3]}},
...                  run={"steps": 1000, "seeds": 8})
>>> result = exp.run(store="runs")          # doctest: +SKIP
>>> result.curves.head()                     # doctest: +SKIP

Everything a :class:`Result` shows is read back from the store, never kept only in memory.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from descentlab.engine.load import load_spec, spec_from_dict
from descentlab.engine.plan import Plan
from descentlab.engine.runner import ProgressFn, RunSummary, execute
from descentlab.engine.spec import Spec, apply_overrides
from descentlab.store import Store


class Experiment:
    """A validated spec and its plan; keyword arguments are the spec's sections (see :mod:`descentlab.engine.spec`)."""

    def __init__(self, spec: Spec | None = None, /, **sections: Any):
        self.spec = spec if spec is not None else spec_from_dict(sections)
        self.plan = Plan.from_spec(self.spec)

    @classmethod
    def from_toml(cls, path: str | Path, overrides: list[str] | None = None) -> Experiment:
        return cls(load_spec(path, overrides))

    def with_overrides(self, overrides: list[str]) -> Experiment:
        return Experiment(spec_from_dict(apply_overrides(self.spec.to_dict(), overrides)))

    @property
    def hash(self) -> str:
        return self.spec.content_hash()

    def run(
        self,
        store: Store | str | Path = "runs",
        force: bool = False,
        executor: Any = None,
        progress: ProgressFn | None = None,
    ) -> Result:
        """Run (or resume) every run, then judge the spec's ``[theory]`` section on what is stored."""
        from descentlab.analysis import check_theory

        store = store if isinstance(store, Store) else Store(store)
        summary = execute(self.plan, store, executor=executor, force=force, progress=progress)
        if summary.n_runs == sum(store.status_counts(summary.experiment).values()):
            check_theory(self.plan, store, summary.experiment)
        return Result(store, summary.experiment, summary)


class Result:
    """One stored experiment: its runs, curves and verdicts as pandas DataFrames."""

    def __init__(self, store: Store, experiment: str, summary: RunSummary | None = None):
        self.store = store
        self.experiment = experiment
        self.summary = summary

    @property
    def runs(self):
        return self.store.read(self.experiment, "runs")

    @property
    def curves(self):
        return self.store.read(self.experiment, "curves")

    @property
    def verdicts(self):
        return self.store.verdicts(self.experiment)

    @property
    def info(self) -> dict[str, Any]:
        return self.store.experiment_row(self.experiment)

    def plot(self, metric: str | None = None):
        """The learning-curve figure (matplotlib) of ``metric`` (default: the first one stored)."""
        from descentlab.report.figures import learning_curves

        return learning_curves(self.runs, self.curves, metric=metric, title=self.info["name"])

    def report(self, out: str | Path | None = None) -> Path:
        from descentlab.report.html import write_report

        return write_report(self.store, self.experiment, out)

    def _repr_html_(self) -> str:
        info = self.info
        runs = self.runs
        diverged = int((runs["status"] == "diverged").sum()) if len(runs) else 0
        return (
            f"<b>{html.escape(str(info['name']))}</b> <code>{self.experiment}</code> — "
            f"{len(runs)} runs ({diverged} diverged), status {html.escape(str(info['status']))}"
        )

    def __repr__(self) -> str:
        return f"Result(experiment={self.experiment!r}, store={str(self.store.root)!r})"
