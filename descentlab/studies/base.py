"""The Study contract: a published claim as specs + analysis (theory, verdict, figures).

A study is one file in ``descentlab/studies/`` registering a :class:`Study` subclass. It uses only
the public API: it builds :class:`~descentlab.engine.spec.Spec`s, the engine runs and stores them,
and ``analyze`` reads the results back from the store, computes the theory and the verdict, and
draws the figures the paper would show. :func:`run_study` ties it together and writes the
verdict into the store and the report.

A verdict that also passes when the claim is false is worse than none, so every study declares its
**must-fail controls** (:class:`Control`): the claim made false on purpose — by spec overrides (a
swapped component, a setting outside the claim's regime) or by study options that substitute a wrong
prediction at analysis time — each with one sentence saying what it breaks. ``descentlab run STUDY
--control NAME`` runs one; its verdicts are stored tagged with the control's name, and the tests
assert that the headline verdict of every control fails.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import pandas as pd

from descentlab.analysis.verdicts import verdict_rows
from descentlab.engine.runner import ProgressFn
from descentlab.engine.spec import Spec
from descentlab.experiment import Experiment, Result
from descentlab.params import Param, SpecError, check_params
from descentlab.registry import Registry
from descentlab.store import Store
from descentlab.theory.verdict import Verdict


@dataclasses.dataclass(frozen=True)
class Control:
    """A must-fail control of a study: the claim made false on purpose; the headline verdict must fail on it.

    Attributes:
        name: what ``--control`` takes (kebab-case).
        breaks: one sentence: what is broken, and why the claim no longer holds.
        mechanism: True when the dynamics themselves are broken (another optimizer, sampler or setting runs),
            False when only the prediction or the regime is moved.
        overrides: spec overrides (``path.to.field=value``) applied to every experiment of the study; the
            runs differ, so they are stored as experiments of their own.
        options: study options (declared in :attr:`Study.declared_options`) set for the control, e.g. an
            analysis-time substitution ``(("exponent_shift", 0.15),)``; the same knob can be set by hand.
    """

    name: str
    breaks: str
    mechanism: bool
    overrides: tuple[str, ...] = ()
    options: tuple[tuple[str, Any], ...] = ()


@dataclasses.dataclass(frozen=True)
class StudyOptions:
    """``quick``: the test size (well under 30 s); ``scale``: ``default`` (~2 min on a 2-core CPU) or ``paper``;
    ``control``: the name of one of the study's controls (:class:`Control`) to run instead of the study."""

    quick: bool = False
    scale: str = "default"
    overrides: tuple[str, ...] = ()
    extra: tuple[tuple[str, Any], ...] = ()
    control: str | None = None

    def get(self, key: str, default: Any = None) -> Any:
        return dict(self.extra).get(key, default)

    def pick(self, sizes: dict[str, Any]) -> Any:
        """The entry of a study's ``{"quick": …, "default": …, "paper": …}`` table for these options."""
        return sizes["quick" if self.quick else self.scale]


@dataclasses.dataclass
class Analysis:
    """What a study concludes: verdicts (the first is the headline), figures, a summary table."""

    verdicts: list[Verdict]
    figures: list[tuple[str, str]]
    summary: pd.DataFrame


class Study:
    name: ClassVar[str] = ""
    claim: ClassVar[str] = ""
    reference: ClassVar[str] = ""
    declared_options: ClassVar[dict[str, Param]] = {}
    """The study's own options (``--option key=value``), declared and checked like a component's parameters."""
    controls: ClassVar[tuple[Control, ...]] = ()
    """The must-fail controls: at least two, at least one with ``mechanism=True``."""

    def specs(self, options: StudyOptions) -> list[Spec]:
        raise NotImplementedError

    def followup(self, results: list[Result], options: StudyOptions) -> list[Spec]:
        """More specs to run after seeing ``results`` (adaptive studies: zooms, refinements); [] to stop."""
        return []

    def analyze(self, results: list[Result], folder: Path, options: StudyOptions) -> Analysis:
        raise NotImplementedError


STUDIES: Registry[type[Study]] = Registry("study")


def control_of(name: str, control: str) -> Control:
    """Study ``name``'s control called ``control`` (SpecError naming the ones it has otherwise)."""
    controls = {c.name: c for c in STUDIES.get(name, "study").controls}
    if control not in controls:
        raise SpecError(
            "--control", control, f"not a control of '{name}'; allowed: " + (", ".join(controls) or "(none)")
        )
    return controls[control]


def check_options(name: str, options: StudyOptions) -> StudyOptions:
    """``options`` checked against study ``name`` and made explicit: a control's overrides and options are
    added (an option the control sets cannot also be given), the extra values are checked against the
    declared options and coerced (raises SpecError naming the option and what is allowed)."""
    declared = STUDIES.get(name, "study").declared_options
    extra = dict(options.extra)
    overrides = options.overrides
    if options.control is not None:
        control = control_of(name, options.control)
        for key, value in control.options:
            if key in extra and extra[key] != value:
                raise SpecError(f"--option.{key}", extra[key], f"set by control '{control.name}' to {value!r}")
            extra[key] = value
        overrides = tuple(item for item in control.overrides if item not in overrides) + overrides
    check_params("--option", declared, extra, name)
    coerced = tuple((key, declared[key].coerce(f"--option.{key}", value)) for key, value in extra.items())
    return dataclasses.replace(options, extra=coerced, overrides=overrides)


register_study = STUDIES.register
"""``@register_study(name)`` on a Study subclass: sets ``cls.name`` and registers the class."""


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
    started: Callable[[str], None] | None = None,
) -> StudyOutcome:
    """Run every experiment of study ``name``, analyze, store the verdicts, write the report.

    ``started`` is told each experiment's id before it runs (the CLI counts their stored runs on Ctrl-C)."""
    from descentlab.report.html import write_index, write_report

    options = check_options(name, options)
    store = store if isinstance(store, Store) else Store(store)
    study = STUDIES.get(name, "study")()
    results: list[Result] = []
    specs = study.specs(options)
    while specs:
        for spec in specs:
            experiment = Experiment(spec)
            if options.overrides:
                experiment = experiment.with_overrides(list(options.overrides))
            if started is not None:
                started(experiment.hash)
            results.append(experiment.run(store, force=force, executor=executor, progress=progress))
        specs = study.followup(results, options)
    primary = results[0]
    control = options.control or ""
    folder = store.report_dir(primary.experiment, control)
    analysis = study.analyze(results, folder, options)
    store.write_verdicts(primary.experiment, verdict_rows(analysis.verdicts, study.claim, study=name), control=control)
    path = folder / "index.html"
    if report:
        path = write_report(
            store,
            primary.experiment,
            folder,
            figures=analysis.figures,
            claim=study.claim,
            study=name,
            control=control,
            controls=study.controls,
        )
        write_index(store)
    return StudyOutcome(name, results, analysis, path)
