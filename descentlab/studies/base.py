"""The Study contract: a published claim as specs + analysis (theory, verdict, figures).

A study is one file in ``descentlab/studies/`` registering a :class:`Study` subclass. It uses only
the public API: it builds :class:`~descentlab.engine.spec.Spec`s, the engine runs and stores them,
and ``analyze`` reads the results back from the store, computes the theory and the verdict, and
draws the figures the paper would show. :func:`run_study` ties it together and writes the
verdict into the store and the report.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, ClassVar

import pandas as pd

from descentlab.engine.runner import ProgressFn
from descentlab.engine.spec import Spec
from descentlab.experiment import Experiment, Result
from descentlab.registry import Registry
from descentlab.store import Store


@dataclasses.dataclass(frozen=True)
class StudyOptions:
    """``quick``: the test size (well under 30 s); ``scale``: ``default`` (~2 min on a 2-core CPU) or ``paper``."""

    quick: bool = False
    scale: str = "default"
    overrides: tuple[str, ...] = ()
    extra: tuple[tuple[str, Any], ...] = ()

    def get(self, key: str, default: Any = None) -> Any:
        return dict(self.extra).get(key, default)

    def pick(self, sizes: dict[str, Any]) -> Any:
        """The entry of a study's ``{"quick": …, "default": …, "paper": …}`` table for these options."""
        return sizes["quick" if self.quick else self.scale]


@dataclasses.dataclass
class Analysis:
    """What a study concludes: verdicts (the first is the headline), figures, a summary table."""

    verdicts: list[Any]
    figures: list[tuple[str, str]]
    summary: pd.DataFrame


class Study:
    name: ClassVar[str] = ""
    claim: ClassVar[str] = ""
    reference: ClassVar[str] = ""

    def specs(self, options: StudyOptions) -> list[Spec]:
        raise NotImplementedError

    def followup(self, results: list[Result], options: StudyOptions) -> list[Spec]:
        """More specs to run after seeing ``results`` (adaptive studies: zooms, refinements); [] to stop."""
        return []

    def analyze(self, results: list[Result], folder: Path, options: StudyOptions) -> Analysis:
        raise NotImplementedError


STUDIES: Registry[type[Study]] = Registry("study")


def register_study(name: str):
    def decorator(cls: type[Study]) -> type[Study]:
        cls.name = name
        return STUDIES.add(name, cls)

    return decorator


@dataclasses.dataclass
class StudyOutcome:
    study: str
    results: list[Result]
    analysis: Analysis
    report: Path


def run_study(
    name: str,
    store: Store | str | Path = "runs",
    options: StudyOptions = StudyOptions(),
    force: bool = False,
    executor: Any = None,
    progress: ProgressFn | None = None,
    report: bool = True,
) -> StudyOutcome:
    """Run every experiment of study ``name``, analyze, store the verdicts, write the report."""
    from descentlab.report.html import write_index, write_report

    store = store if isinstance(store, Store) else Store(store)
    study = STUDIES.get(name, "study")()
    results: list[Result] = []
    specs = study.specs(options)
    while specs:
        for spec in specs:
            experiment = Experiment(spec)
            if options.overrides:
                experiment = experiment.with_overrides(list(options.overrides))
            results.append(experiment.run(store, force=force, executor=executor, progress=progress))
        specs = study.followup(results, options)
    primary = results[0]
    folder = store.experiment_dir(primary.experiment) / "report"
    analysis = study.analyze(results, folder, options)
    store.write_verdicts(primary.experiment, [
        {"study": name, "claim": study.claim, "passed": bool(v.passed), "figure": float(v.figure), "what": v.what,
         "tolerance": float(v.tolerance), "line": v.line()}
        for v in analysis.verdicts
    ])
    path = folder / "index.html"
    if report:
        path = write_report(store, primary.experiment, folder, figures=analysis.figures, claim=study.claim)
        write_index(store)
    return StudyOutcome(name, results, analysis, path)
