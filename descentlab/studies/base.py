"""The Study contract: a published claim as specs + analysis (theory, verdict, figures).

A study is one file in ``descentlab/studies/`` registering a :class:`Study` subclass. It uses only
the public API: it builds :class:`~descentlab.engine.spec.Spec`s, the engine runs and stores them,
and ``analyze`` reads the results back from the store, computes the theory and the verdict, and
draws the figures the paper would show. :func:`run_study` ties it together and writes the
verdict into the store and the report. A measurement that is not an optimizer run on a problem (a Markov
chain evaluated two ways, a certificate) is a :class:`~descentlab.engine.computation.Computation` the study
returns from :meth:`Study.computations`: stored as an experiment of its own kind, read back like the others.

A verdict that also passes when the claim is false is worse than none, so every study declares its
**must-fail controls** (:class:`Control`): the claim made false on purpose — by spec overrides (a
swapped component, a setting outside the claim's regime) or by study options that substitute a wrong
prediction at analysis time — each with one sentence saying what it breaks. ``descentlab run STUDY
--control NAME`` runs one; its verdicts are stored tagged with the control's name, and the tests
assert that the headline verdict of every control fails.

What a study judges is declared before anything runs, as data: its checks (:class:`Check`; the first is the
headline) say what each figure measures, what it is compared with, the tolerance and the measured spread the
tolerance comes from. ``analyze`` returns verdicts (:class:`~descentlab.theory.Verdict`) made by those checks
(:meth:`Check.verdict`); :func:`run_study` refuses verdicts of undeclared checks, a missing check, or a
headline that is not the first declared check.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import pandas as pd

from descentlab.analysis.verdicts import verdict_rows
from descentlab.engine.computation import Computation, run_computation
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
class Check:
    """A verdict a study declares: the figure it measures, what the figure is compared with, the tolerance, and
    the measured spread the tolerance comes from.

    Attributes:
        name: kebab-case key; each verdict it makes is stored with it (the ``check`` column of ``verdicts``).
        measures: the figure, in words (what the verdict's number is).
        predicts: what the figure is compared with — a prediction of :mod:`descentlab.theory`, a formula, a bound.
        tolerance: the pass threshold on the figure, or the factor applied to a spread measured at analysis
            time when ``basis`` says so (the verdict then states the tolerance it applied).
        basis: where the tolerance comes from: the spread measured, at which size, over how many seeds.
    """

    name: str
    measures: str
    predicts: str
    tolerance: float
    basis: str

    def verdict(
        self, figure: float, passed: bool | None = None, *, tolerance: float | None = None, detail: str = ""
    ) -> Verdict:
        """This check's verdict on ``figure``.

        Args:
            figure: the measured figure.
            passed: the outcome; by default ``figure <= tolerance`` (NaN fails).
            tolerance: the tolerance applied, when it is not the declared one (a spread-set tolerance).
            detail: words added to :attr:`measures` (the fitted values, which curve was worst).

        Returns:
            A :class:`~descentlab.theory.Verdict` tagged with this check's name.
        """
        tolerance = self.tolerance if tolerance is None else float(tolerance)
        figure = float(figure)
        if passed is None:
            passed = bool(figure <= tolerance)
        what = f"{self.measures} ({detail})" if detail else self.measures
        return Verdict(bool(passed), figure, what, tolerance, check=self.name)

    def adopt(self, judged: Verdict, detail: str = "") -> Verdict:
        """A verdict computed by :func:`descentlab.theory.verdict` as this check's (same outcome and tolerance)."""
        return self.verdict(judged.figure, judged.passed, tolerance=judged.tolerance, detail=detail or judged.what)


@dataclasses.dataclass(frozen=True)
class StudyOptions:
    """``quick``: the test size (well under 30 s); ``scale``: ``default`` (~2 min on a 2-core CPU) or ``paper``;
    ``control``: the name of one of the study's controls (:class:`Control`) to run instead of the study."""

    quick: bool = False
    scale: str = "default"
    overrides: tuple[str, ...] = ()
    extra: tuple[tuple[str, Any], ...] = ()
    """The study's own options as ``(key, value)`` pairs; after :func:`check_options`, every declared option is
    present, coerced to its declared type (defaults filled in from the declaration)."""
    control: str | None = None

    def get(self, key: str, default: Any = None) -> Any:
        """The value of option ``key`` (``default`` when it is not set and was not declared)."""
        return dict(self.extra).get(key, default)

    def __getitem__(self, key: str) -> Any:
        """The value of declared option ``key`` (KeyError before :func:`check_options` filled it in)."""
        return dict(self.extra)[key]

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
    checks: ClassVar[tuple[Check, ...]] = ()
    """The verdicts the study judges, headline first (see :class:`Check`)."""
    declared_options: ClassVar[dict[str, Param]] = {}
    """The study's own options (``--option key=value``), declared and checked like a component's parameters."""
    controls: ClassVar[tuple[Control, ...]] = ()
    """The must-fail controls: at least two, at least one with ``mechanism=True``."""

    def specs(self, options: StudyOptions) -> list[Spec]:
        """The engine experiments the study runs (optimizers on problems); the first one's id is the study's."""
        return []

    def computations(self, options: StudyOptions) -> list[Computation]:
        """Measurements the study makes itself (not an optimizer run on a problem), each stored as an experiment
        of kind ``computation`` (:mod:`descentlab.engine.computation`); their results follow the specs' in
        ``analyze``'s ``results``. ``study`` and ``options`` are filled in by :func:`run_study`."""
        return []

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
    coerced = tuple((key, _coerced(key, param, extra.get(key, param.default))) for key, param in declared.items())
    return dataclasses.replace(options, extra=coerced, overrides=overrides)


def _coerced(key: str, param: Param, value: Any) -> Any:
    """An option's value as its declared kind (an option whose default is None may stay None)."""
    return None if value is None and param.default is None else param.coerce(f"--option.{key}", value)


def conform(study: type[Study], verdicts: list[Verdict]) -> None:
    """Raise TypeError unless ``verdicts`` are those ``study`` declares: each made by one of its checks, every
    check judged at least once, the headline (first verdict) by the first check."""
    declared = [check.name for check in study.checks]
    if not declared:
        raise TypeError(f"study {study.name!r} declares no checks")
    made = [v.check for v in verdicts]
    if not made or made[0] != declared[0]:
        raise TypeError(f"study {study.name!r}: the headline verdict must be check {declared[0]!r}, got {made[:1]}")
    if set(made) - set(declared) or set(declared) - set(made):
        raise TypeError(
            f"study {study.name!r}: verdicts of checks {sorted(set(made))}, declared {declared} (each judged once "
            "or more, none other)"
        )


def options_record(options: StudyOptions) -> dict[str, Any]:
    """``options`` as JSON-able data (a computation's record keeps them, to be computed again on repair)."""
    return {"quick": options.quick, "scale": options.scale, "control": options.control, "extra": dict(options.extra)}


def study_computations(name: str, options: StudyOptions) -> list[Computation]:
    """Study ``name``'s computations for checked ``options``, tagged with the study and the options."""
    found = STUDIES.get(name, "study")().computations(options)
    return [dataclasses.replace(c, study=name, options=options_record(options)) for c in found]


def computation_from_record(record: dict[str, Any]) -> Computation:
    """The computation a stored record (``spec.json`` of a computation) describes, rebuilt from its study and
    options; raises ValueError when the study no longer makes it."""
    study, stored = record.get("study", ""), record.get("options") or {}
    if study not in STUDIES:
        raise ValueError(f"computed by study {study!r}, which is not registered")
    try:
        options = check_options(
            study,
            StudyOptions(
                quick=bool(stored.get("quick", False)),
                scale=str(stored.get("scale", "default")),
                extra=tuple((stored.get("extra") or {}).items()),
                control=stored.get("control"),
            ),
        )
    except SpecError as err:
        raise ValueError(f"its study options no longer check ({err})") from err
    for computation in study_computations(study, options):
        if computation.identity() == {k: record.get(k) for k in computation.identity()}:
            return computation
    raise ValueError(f"study {study!r} no longer makes computation {record.get('name')!r} with these parameters")


def primary_experiment(name: str, options: StudyOptions) -> str:
    """The experiment study ``name`` stores its verdicts under: its first spec's (with the overrides), else its
    first computation's."""
    specs = STUDIES.get(name, "study")().specs(options)
    if specs:
        experiment = Experiment(specs[0])
        return (experiment.with_overrides(list(options.overrides)) if options.overrides else experiment).hash
    return study_computations(name, options)[0].hash


def control_experiments(name: str, options: StudyOptions) -> dict[str, str]:
    """The experiment each control of study ``name`` stores its verdicts under, at the size and scale of
    ``options`` (a control whose options clash with the ones given is left out)."""
    study = STUDIES.get(name, "study")()
    user = dataclasses.replace(options, control=None)
    out = {}
    for control in study.controls:
        try:
            mine = check_options(name, dataclasses.replace(user, control=control.name))
        except SpecError:
            continue
        out[control.name] = primary_experiment(name, mine)
    return out


register_study = STUDIES.register
"""``@register_study(name)`` on a Study subclass: sets ``cls.name`` and registers the class."""


@dataclasses.dataclass
class StudyOutcome:
    """What :func:`run_study` returns: the study's results, its analysis and the report's path. In Jupyter it
    renders as its verdict lines (headline first, pass/fail styled), its figures (embedded PNGs) and the head of
    its first experiment's runs table."""

    study: str
    results: list[Result]
    analysis: Analysis
    report: Path

    def _repr_html_(self) -> str:
        from descentlab.experiment import esc, png_html, runs_head_html, verdicts_html

        claim = STUDIES.get(self.study, "study").claim if self.study in STUDIES else ""
        runs = sum(len(result.runs) for result in self.results)
        figures = "".join(png_html(path, caption) for caption, path in self.analysis.figures)
        primary = self.results[0].runs if self.results else None
        return (
            f'<div class="descentlab-study"><b>study {esc(self.study)}</b> — {len(self.results)} experiments, '
            f"{runs} runs<br><i>{esc(claim)}</i>{verdicts_html(self.analysis.verdicts)}{figures}"
            f"<p>Runs of the first experiment:</p>{runs_head_html(primary)}"
            f"<p><small>report: <code>{esc(self.report)}</code></small></p></div>"
        )

    def __repr__(self) -> str:
        lines = "; ".join(
            f"{'pass' if v.passed else 'fail'} {v.check} {v.figure:.4g} (tolerance {v.tolerance:g})"
            for v in self.analysis.verdicts
        )
        return (
            f"StudyOutcome(study={self.study!r}, experiments={len(self.results)}, verdicts=[{lines}], "
            f"report={str(self.report)!r})"
        )


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
    computations = study_computations(name, options)
    if options.overrides and not specs:
        raise SpecError(
            "--set", " ".join(options.overrides), f"study '{name}' runs no spec to override; use its --option keys"
        )
    if not specs and not computations:
        raise TypeError(f"study {name!r} has neither specs nor computations for these options")
    while specs:
        for spec in specs:
            experiment = Experiment(spec)
            if options.overrides:
                experiment = experiment.with_overrides(list(options.overrides))
            if started is not None:
                started(experiment.hash)
            results.append(experiment.run(store, force=force, executor=executor, progress=progress))
        specs = study.followup(results, options)
    for computation in computations:
        if started is not None:
            started(computation.hash)
        results.append(Result(store, computation.hash, run_computation(computation, store, force=force)))
    primary = results[0]
    control = options.control or ""
    folder = store.report_dir(primary.experiment, control)
    analysis = study.analyze(results, folder, options)
    conform(type(study), analysis.verdicts)
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
            control_experiments=control_experiments(name, options),
            checks=study.checks,
        )
        write_index(store)
    return StudyOutcome(name, results, analysis, path)
