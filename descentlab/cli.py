"""``descentlab`` — run / list / show / query / report (Typer + Rich). Thin: the work is in the library.

Bad input (a malformed spec, an unknown name, an unknown experiment, an option of the wrong type) is one
line on stderr and exit status 2, never a traceback. The consoles never read Rich markup: names and values
the user wrote (``"[/x]"``) are printed as they are; style with :class:`rich.text.Text`.

Output to no terminal (a pipe, a log, CI) is ``COLUMNS`` wide, else :data:`PIPE_WIDTH` (not Rich's 80), and tables
of data (the runs summary, query results) keep one line per row at any width. Progress shows runs done / total,
diverged, elapsed and the ETA per experiment: a Rich bar on a terminal, plain lines every
:data:`PIPE_PROGRESS_SECONDS` elsewhere.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import json
import math
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
import typer.core
from rich.console import Console, ConsoleDimensions
from rich.measure import Measurement
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from descentlab.params import SpecError

PIPE_WIDTH = 200
"""Columns of the output when it goes to no terminal (a pipe, a file, CI) and ``COLUMNS`` is unset; Rich's 80
would wrap the summary table's rows."""
PIPE_PROGRESS_SECONDS = 10.0
"""Seconds between the progress lines written when stderr is no terminal (the first and last always are)."""


class _Console(Console):
    """A Rich console that is as wide as its terminal, or — writing to no terminal — ``COLUMNS`` wide when that is
    set, else :data:`PIPE_WIDTH` (Rich alone falls back to 80 columns). ``COLUMNS`` is read when printing, not
    frozen when the console is made (at import, where a test runner's worker may have set it)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if kwargs.get("width") is None:
            self._width = None

    @property
    def size(self) -> ConsoleDimensions:
        size = super().size
        if self.is_terminal or self.is_jupyter or self._width is not None:
            return size
        columns = self._environ.get("COLUMNS", "")
        return ConsoleDimensions(int(columns) if columns.isdigit() and int(columns) > 0 else PIPE_WIDTH, size.height)

    @size.setter
    def size(self, new_size: tuple[int, int]) -> None:
        Console.size.fset(self, new_size)


console = _Console(markup=False)
err_console = _Console(stderr=True, markup=False)


def _print_table(table: Table) -> None:
    """Print a table of data (runs, query results) on stdout; to no terminal at its natural width, however wide,
    so that each row stays one line (a log, ``grep``, ``cut``)."""
    width = None
    if not console.is_terminal:
        natural = Measurement.get(console, console.options.update_width(1 << 20), table).maximum
        width = max(console.width, natural)
    console.print(table, width=width)


_CLICK_ERRORS = importlib.import_module(typer.BadParameter.__module__)
"""Click's exceptions module as Typer uses it (its own copy of Click, or Click itself)."""
MAX_PREDICT_STEPS = 100_000_000
MAX_PREDICT_POINTS = 100_000


@dataclasses.dataclass(frozen=True)
class CliState:
    """What the top-level options set for the command that runs (Click's context object, one per invocation)."""

    store: Path = Path("runs")


def fail(message: str) -> NoReturn:
    """``error: message`` as one line of plain text on stderr (never read as markup), exit status 2."""
    line = " ".join(message.splitlines())
    err_console.print(Text.assemble(("error:", "bold red"), " ", line), highlight=False, soft_wrap=True)
    raise typer.Exit(2)


@contextlib.contextmanager
def _one_line_usage_errors():
    """Click's usage errors (an unknown option, a value of the wrong type) through :func:`fail`; the help shown
    for no arguments at all is left as it is."""
    try:
        yield
    except _CLICK_ERRORS.NoArgsIsHelpError:
        raise
    except _CLICK_ERRORS.UsageError as err:
        fail(err.format_message())


class _Commands(typer.core.TyperGroup):
    """The command group, with usage errors as one line like every other bad input."""

    def make_context(self, *args, **kwargs):
        with _one_line_usage_errors():
            return super().make_context(*args, **kwargs)

    def invoke(self, ctx):
        with _one_line_usage_errors():
            return super().invoke(ctx)


app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    cls=_Commands,
    help="descentlab: gradient-method experiments as one compiled sweep, with theory and verdicts.",
)


@app.callback()
def main_options(
    ctx: typer.Context,
    store: Annotated[Path, typer.Option("--store", help="store folder (Parquet + DuckDB catalog)")] = Path("runs"),
) -> None:
    from descentlab import host_devices

    try:
        host_devices.check()  # a malformed DESCENTLAB_HOST_DEVICES, kept when descentlab was imported
    except SpecError as err:
        fail(str(err))
    ctx.obj = CliState(store)


def _store(ctx: typer.Context):
    """The store the top-level ``--store`` chose (kept in the command's context object)."""
    from descentlab.store import Store

    return Store((ctx.find_object(CliState) or CliState()).store)


def _duration(seconds: float) -> str:
    """``42s``, ``3m05s``, ``2h07m``: a duration as a progress line shows it."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


class _Progress:
    """Runs done / total, diverged so far, time elapsed and the ETA, for each experiment a command runs.

    On a terminal: a Rich bar per experiment. To no terminal (a pipe, a log, CI): one plain line per update —
    ``label: 12/64 runs (19%) · 0 diverged · 8s elapsed · ETA 34s`` — the first and the last of each experiment
    and, between them, at most one every ``every`` seconds. The ETA extrapolates this invocation's pace over the
    experiment's runs not yet stored (runs stored before, by a resumed invocation, take no time): it shows once a
    chunk is done.

    Args:
        label: what runs (the study or spec file).
        stream: where it writes (default: the stderr console).
        every: seconds between plain lines (default :data:`PIPE_PROGRESS_SECONDS`).
        clock: the time source (seconds; tests pass their own).
    """

    def __init__(
        self,
        label: str,
        stream: Console | None = None,
        every: float = PIPE_PROGRESS_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.label = label
        self.stream = stream or err_console
        self.every = every
        self.clock = clock
        self.bar: Progress | None = None
        self.task = None
        self.experiments = 0
        self.next_experiment: str | None = None
        self.started: tuple[float, int] | None = None  # (time, runs done) at this experiment's first update
        self.last_line = -math.inf

    def begin(self, experiment: str) -> None:
        """Say that a new experiment starts: its updates get a bar (or lines) of their own, numbered."""
        self.next_experiment = experiment
        self.started = None

    def label_now(self) -> str:
        """The label of the experiment being run: the command's, with its number and id once there are several."""
        if self.next_experiment is None:
            return self.label
        return f"{self.label} · experiment {self.experiments} ({self.next_experiment[:8]})"

    def eta(self, done: int, total: int) -> float | None:
        """Seconds left at this experiment's pace so far; None before any run was computed."""
        if self.started is None:
            return None
        since, first = self.started
        computed = done - first
        if computed <= 0:
            return None
        return (total - done) * (self.clock() - since) / computed

    def __call__(self, done: int, total: int, diverged: int) -> None:
        now = self.clock()
        first = self.started is None
        if first:
            self.started = (now, done)
            self.experiments += 1
        eta = self.eta(done, total)
        eta_text = "ETA —" if eta is None else f"ETA {_duration(eta)}"
        if self.stream.is_terminal:
            self._bar(first, done, total, diverged, eta_text)
            return
        if not (first or done >= total or now - self.last_line >= self.every):
            return
        self.last_line = now
        share = f" ({100 * done // total}%)" if total else ""
        line = (
            f"{self.label_now()}: {done}/{total} runs{share} · {diverged} diverged · "
            f"{_duration(now - self.started[0])} elapsed · {'done' if done >= total else eta_text}"
        )
        self.stream.print(line, highlight=False, soft_wrap=True)

    def _bar(self, first: bool, done: int, total: int, diverged: int, eta_text: str) -> None:
        if self.bar is None:
            self.bar = Progress(
                TextColumn("{task.description}", style="bold", markup=False),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("runs · {task.fields[diverged]} diverged", markup=False),
                TimeElapsedColumn(),
                TextColumn("{task.fields[eta]}", markup=False),
                console=self.stream,
                transient=False,
            )
            self.bar.start()
        if first:
            self.task = self.bar.add_task(self.label_now(), total=total, completed=done, diverged=0, eta="")
        self.bar.update(self.task, completed=done, total=total, diverged=diverged, eta=eta_text)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()
            self.bar = None


SUMMARY_ROWS = 24
"""Most rows the summary table prints; a longer one shows its first and last halves and a count between."""


def _cell(value, digits: int = 4) -> str:
    return f"{value:.{digits}g}" if isinstance(value, float) else str(value)


def _distinguishing_digits(values: list, most: int = 12) -> int:
    """The fewest significant digits (at least 4) that keep an axis's distinct values distinct when printed:
    a zoom window's learning rates differ only in their fifth or sixth digit."""
    distinct = {v for v in values if isinstance(v, float)}
    digits = 4
    while digits < most and len({f"{v:.{digits}g}" for v in distinct}) < len(distinct):
        digits += 1
    return digits


def _summary_table(runs, title: str, max_rows: int = SUMMARY_ROWS) -> Table:
    """One row per combination of the swept axes: runs, diverged, and the mean of the first three ``final_*``
    columns over the runs that did not diverge. Aggregated in one pandas groupby (a fractal map has 16 384
    groups), and cut to ``max_rows`` rows with the number left out in the middle."""
    import pandas as pd

    from descentlab.store.schema import swept_axes

    table = Table(title=title, show_lines=False)
    axes = swept_axes(runs)
    finals = [c for c in runs.columns if c.startswith("final_")][:3]
    for col in [*axes, "runs", "diverged", *[f"mean {f[6:]}" for f in finals]]:
        table.add_column(col, justify="right")
    ok = runs["status"] == "ok"
    frame = runs[axes].copy()
    frame["_ok"] = ok.astype(int)
    for f in finals:
        frame[f] = runs[f].where(ok)
    if not axes:
        frame["_all"] = 0
    keys = axes or ["_all"]
    summary = (
        frame.groupby(keys, dropna=False, sort=True)
        .agg(**{"_runs": ("_ok", "size"), "_good": ("_ok", "sum"), **{f: (f, "mean") for f in finals}})
        .reset_index()
    )
    head = max_rows // 2
    left_out = max(len(summary) - 2 * head, 0) if len(summary) > max_rows else 0
    if left_out:
        summary = pd.concat([summary.iloc[:head], summary.iloc[-head:]])
    columns = {c: summary[c].tolist() for c in summary.columns}
    digits = {a: _distinguishing_digits(columns[a]) for a in axes}
    for position in range(len(summary)):
        if left_out and position == head:
            table.add_row(f"… {left_out} more", *[""] * (len(table.columns) - 1))
        good = columns["_good"][position]
        cells = [_cell(columns[a][position], digits[a]) for a in axes]
        cells += [str(columns["_runs"][position]), str(columns["_runs"][position] - good)]
        cells += [_cell(columns[f][position]) if good else "—" for f in finals]
        table.add_row(*cells)
    return table


def _executor(name: str, address: str | None):
    if name == "local":
        if address is not None:
            raise SpecError("--address", address, "only with --executor ray")
        return None
    if name == "ray":
        from descentlab.engine.ray_executor import RayExecutor

        return RayExecutor(address=address)
    raise SpecError("--executor", name, "allowed: 'local', 'ray'")


def _parse_extra(items: list[str], flag: str = "--option") -> tuple[tuple[str, object], ...]:
    """``key=value`` items (one line each) as (key, TOML value) pairs."""
    from descentlab.engine.spec import check_one_line, parse_override_value

    out = []
    for item in items:
        check_one_line(flag, item)
        key, _, value = item.partition("=")
        if not key.strip() or not _:
            raise SpecError(flag, item, "expected key=value")
        out.append((key.strip(), parse_override_value(value.strip(), flag)))
    return tuple(out)


def _spec_file(target: str, quick: bool, scale: str, option: list[str]) -> Path:
    """The spec file ``run`` was given; study-only options with it are an error, not silently ignored."""
    from descentlab.engine.spec import check_one_line
    from descentlab.studies import STUDIES

    for flag, value, given in (
        ("--quick", quick, quick),
        ("--scale", scale, scale != "default"),
        ("--option", option, bool(option)),
    ):
        if given:
            raise SpecError(flag, value, "only for studies; a spec file takes --set path.to.field=value")
    check_one_line("target", target)
    path = Path(target)
    if not target.strip() or not path.exists():
        raise SpecError("target", target, "neither a spec file nor a study; studies: " + ", ".join(STUDIES.names()))
    return path


def _output_file(flag: str, path: Path) -> None:
    """Raise SpecError unless ``path`` can be written as a plain file: its folder exists, it is no folder, FIFO
    or device."""
    if (path.exists() and not path.is_file()) or not path.parent.is_dir():
        raise SpecError(flag, str(path), "a file path in an existing folder (not a folder, FIFO or device)")


@app.command()
def run(
    ctx: typer.Context,
    target: Annotated[str, typer.Argument(help="a spec file (TOML) or a study name (see `descentlab list studies`)")],
    set_: Annotated[list[str], typer.Option("--set", help="override: path.to.field=value")] = [],  # noqa: B006
    force: Annotated[bool, typer.Option(help="recompute runs already stored")] = False,
    quick: Annotated[bool, typer.Option(help="studies: the small, fast version")] = False,
    scale: Annotated[str, typer.Option(help="studies: default | paper")] = "default",
    option: Annotated[list[str], typer.Option("--option", help="study option key=value")] = [],  # noqa: B006
    control: Annotated[
        str | None, typer.Option(help="studies: run this must-fail control instead (see `descentlab list controls`)")
    ] = None,
    report: Annotated[bool, typer.Option(help="write the HTML report")] = True,
    executor: Annotated[str, typer.Option(help="local | ray")] = "local",
    address: Annotated[
        str | None, typer.Option(help="ray: 'auto' or HOST:PORT of a running cluster; none starts a local instance")
    ] = None,
) -> None:
    """Run a spec or a study: the sweep, the store, theory and verdict, the report.

    Every verdict is printed, the headline last. Exit status: 0 when the headline verdict passes (or there is
    none), 1 when it fails, 2 for bad input; Ctrl-C stops it with one line saying how many runs are stored (a
    re-run resumes) and status 130.
    """
    experiments: list[str] = []  # the experiments this command runs: their stored runs are counted on Ctrl-C
    progress = _Progress(target)

    def started(experiment: str) -> None:
        experiments.append(experiment)
        progress.begin(experiment)

    start = time.perf_counter()
    try:
        from descentlab.studies import STUDIES, StudyOptions, check_options, run_study

        runner = _executor(executor, address)
        if target in STUDIES:
            if scale not in ("default", "paper"):
                raise SpecError("--scale", scale, "allowed: 'default', 'paper'")
            options = check_options(
                target,
                StudyOptions(
                    quick=quick, scale=scale, overrides=tuple(set_), extra=_parse_extra(option), control=control
                ),
            )
            outcome = run_study(
                target,
                _store(ctx),
                options,
                force=force,
                executor=runner,
                progress=progress,
                report=report,
                started=started,
            )
            progress.close()
            for result in outcome.results:
                _print_table(_summary_table(result.runs, f"{result.info['name']} ({result.experiment})"))
            if len(outcome.analysis.summary):
                console.print(outcome.analysis.summary.to_string(index=False), highlight=False)
            if report:
                console.print(f"report: {outcome.report}", highlight=False, soft_wrap=True)
            console.print(f"time: {time.perf_counter() - start:.1f} s", highlight=False)
            for verdict in outcome.analysis.verdicts[1:]:
                console.print(verdict.line(), highlight=False, soft_wrap=True)
            headline = outcome.analysis.verdicts[0]
            console.print(
                ("control " + control + ": " if control else "") + headline.line(), highlight=False, soft_wrap=True
            )
            failed = not headline.passed
        else:
            failed = _run_spec_file(
                ctx, target, set_, quick, scale, option, control, force, runner, progress, report, experiments
            )
    except SpecError as err:
        progress.close()
        fail(str(err))
    except KeyboardInterrupt:
        progress.close()
        _interrupted(ctx, experiments)
    if failed:
        raise typer.Exit(1)


def _run_spec_file(
    ctx: typer.Context,
    target: str,
    set_: list[str],
    quick: bool,
    scale: str,
    option: list[str],
    control: str | None,
    force: bool,
    runner,
    progress: _Progress,
    report: bool,
    experiments: list[str],
) -> bool:
    """``run`` for a spec file: run, print the summary and the verdicts; True when the headline verdict failed."""
    from descentlab.experiment import Experiment

    if control is not None:
        raise SpecError("--control", control, "only for studies (see `descentlab list controls`)")
    experiment = Experiment.from_toml(_spec_file(target, quick, scale, option), set_)
    experiments.append(experiment.hash)
    result = experiment.run(_store(ctx), force=force, executor=runner, progress=progress)
    progress.close()
    _print_table(_summary_table(result.runs, f"{result.info['name']} ({result.experiment})"))
    s = result.summary
    console.print(
        f"stored {s.computed} runs ({s.skipped} already stored), {s.diverged} diverged · "
        f"compile {s.compile_seconds:.2f} s · run {s.run_seconds:.2f} s · store {s.store_seconds:.2f} s",
        highlight=False,
    )
    if report:
        from descentlab.report.html import write_index

        console.print(f"report: {result.report()}", highlight=False, soft_wrap=True)
        write_index(_store(ctx))
    verdicts = result.verdicts
    for _, verdict in verdicts.iterrows():
        console.print(verdict["line"], highlight=False, soft_wrap=True)
    return bool(len(verdicts)) and not bool(verdicts["passed"].iloc[0])


def _interrupted(ctx: typer.Context, experiments: list[str]) -> NoReturn:
    """After Ctrl-C (the progress bar stopped): one line with the number of runs stored, exit status 130.

    The process ends with ``os._exit``: a compilation or a compiled program interrupted mid-way keeps
    running on XLA's threads, and tearing the interpreter down under it crashes (SIGSEGV). Every
    stored chunk is already whole on disk (chunks are renamed into place), so nothing is lost.
    """
    store = _store(ctx)
    stored = sum(sum(store.status_counts(experiment).values()) for experiment in experiments)
    err_console.print(f"interrupted; {stored} runs stored, re-run to resume", highlight=False, soft_wrap=True)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(130)


@app.command("list")
def list_(
    what: Annotated[
        str,
        typer.Argument(
            help="studies | checks | controls | problems | optimizers | schedules | samplers | probes | predictions"
            " | all"
        ),
    ] = "all",
    study: Annotated[str | None, typer.Argument(help="checks, controls: only this study's")] = None,
) -> None:
    """List what descentlab knows, with one line and a reference each (checks: what each verdict measures, its
    tolerance and where the tolerance comes from; controls: what each one breaks)."""
    from descentlab.optim import OPTIMIZERS, SCHEDULES
    from descentlab.probes import PROBES
    from descentlab.problems import PROBLEMS
    from descentlab.problems.samplers import SAMPLERS
    from descentlab.studies import STUDIES

    def predictions():
        try:
            from descentlab.theory import PREDICTIONS
        except ImportError:
            return []
        return [(n, e.summary, getattr(e, "reference", "")) for n, e in PREDICTIONS.items()]

    def studies() -> list[str]:
        return STUDIES.names() if study is None else [STUDIES.get(study, "study").name]

    def checks():
        return [
            (f"{n} {c.name}", f"{c.measures}, against {c.predicts}; tolerance {c.tolerance:g}: {c.basis}", "")
            for n in studies()
            for c in STUDIES.get(n, "study").checks
        ]

    def controls():
        return [
            (f"{n} --control {c.name}", f"[{'mechanism' if c.mechanism else 'prediction'}] {c.breaks}", "")
            for n in studies()
            for c in STUDIES.get(n, "study").controls
        ]

    catalog = {
        "studies": lambda: [(n, c.claim, c.reference) for n, c in STUDIES.items()],
        "checks": checks,
        "controls": controls,
        "problems": lambda: [(n, c.summary, "; ".join(c.references)) for n, c in PROBLEMS.items()],
        "optimizers": lambda: [(n, e.summary, e.reference) for n, e in OPTIMIZERS.items()],
        "schedules": lambda: [(n, e.summary, e.reference) for n, e in SCHEDULES.items()],
        "samplers": lambda: [(n, "", "") for n in SAMPLERS.names()],
        "probes": lambda: [(n, e.summary, e.reference) for n, e in PROBES.items()],
        "predictions": predictions,
    }
    if what != "all" and what not in catalog:
        fail(str(SpecError("what", what, "allowed: " + ", ".join([*catalog, "all"]))))
    if study is not None and what not in ("checks", "controls"):
        fail(str(SpecError("study", study, "only with `list checks STUDY` or `list controls STUDY`")))
    try:
        for kind in catalog if what == "all" else [what]:
            table = Table(title=kind, show_lines=False)
            table.add_column("name", style="bold")
            table.add_column({"controls": "what it breaks", "checks": "what it judges"}.get(kind, "what it is"))
            table.add_column("reference", style="dim")
            for name, summary, reference in catalog[kind]():
                table.add_row(Text(name), Text(summary), Text(reference))
            console.print(table)
    except SpecError as err:
        fail(str(err))


@app.command()
def show(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="experiment hash (prefix) or name, or a run name")],
) -> None:
    """Print an experiment's summary (or one run's row)."""
    store = _store(ctx)
    try:
        experiment = store.resolve(ref)
    except KeyError as err:
        from descentlab.store import query as run_query

        rows = run_query(store.root, "select * from runs where name = ?", [ref]) if store.experiments() else None
        if rows is None or rows.empty:
            fail(str(err.args[0]))
        for _, row in rows.iterrows():
            table = Table(title=ref, show_header=False)
            for key, value in row.items():
                table.add_row(str(key), str(value))
            console.print(table)
        return
    info = store.experiment_row(experiment)
    table = Table(title=f"{info['name']} ({experiment})", show_header=False)
    for key in (
        "status",
        "created_at",
        "finished_at",
        "n_runs",
        "diverged",
        "device",
        "dtype",
        "steps",
        "compile_seconds",
        "run_seconds",
        "store_seconds",
        "invocations",
        "git_commit",
    ):
        table.add_row(key, str(info.get(key)))
    console.print(table)
    runs = store.read(experiment, "runs")
    if len(runs):
        _print_table(_summary_table(runs, "runs"))
    for _, verdict in store.verdicts(experiment).iterrows():
        console.print(verdict["line"], highlight=False)


@app.command()
def query(
    ctx: typer.Context,
    sql: Annotated[str, typer.Argument(help="SQL over the views experiments, runs, curves, verdicts, theory")],
    format: Annotated[str, typer.Option("--format", help="table | csv | json")] = "table",
) -> None:
    """Query the store with SQL (DuckDB, read-only)."""
    import duckdb

    from descentlab.store.catalog import ReadOnlyQueryError
    from descentlab.store.catalog import query as run_query

    if format not in ("table", "csv", "json"):
        fail(str(SpecError("--format", format, "allowed: 'table', 'csv', 'json'")))
    try:
        frame = run_query(_store(ctx).root, sql)
    except (ReadOnlyQueryError, duckdb.Error) as err:
        fail(str(err).splitlines()[0])
    if format == "csv":
        sys.stdout.write(frame.to_csv(index=False))
    elif format == "json":
        sys.stdout.write(json.dumps(json.loads(frame.to_json(orient="records")), indent=1) + "\n")
    else:
        table = Table(show_lines=False)
        for col in frame.columns:
            table.add_column(Text(str(col)))
        for _, row in frame.iterrows():
            table.add_row(*[Text(f"{v:.6g}" if isinstance(v, float) else str(v)) for v in row])
        _print_table(table)


@app.command()
def verify(
    ctx: typer.Context,
    experiment: Annotated[str | None, typer.Argument(help="experiment hash (prefix) or name; none: every one")] = None,
    repair: Annotated[bool, typer.Option(help="quarantine what is damaged and recompute it")] = False,
) -> None:
    """Check every file and chunk checksum; exit 1 on damage left unrepaired (read-only without --repair)."""
    from descentlab.engine.repair import verify as verify_store
    from descentlab.studies import computation_from_record

    store = _store(ctx)
    try:
        found = verify_store(store, experiment, fix=repair, rebuild=computation_from_record)
    except KeyError as err:
        fail(str(err.args[0]))
    for item in found:
        console.print(item.line(store.root), highlight=False, soft_wrap=True)
    if not found:
        console.print(f"no experiments in {store.root}", highlight=False)
    raise typer.Exit(0 if all(item.ok for item in found) else 1)


@app.command()
def report(
    ctx: typer.Context,
    experiment: Annotated[str | None, typer.Argument(help="experiment hash (prefix) or name; none: every one")] = None,
    out: Annotated[Path | None, typer.Option(help="output folder (one experiment only)")] = None,
) -> None:
    """Write the HTML report of an experiment (and the store's index page)."""
    from descentlab.report.html import write_index, write_report

    store = _store(ctx)
    try:
        targets = [store.resolve(experiment)] if experiment else store.experiments()
    except KeyError as err:
        fail(str(err.args[0]))
    for target in targets:
        path = write_report(store, target, out if experiment else None)
        console.print(f"report: {path}", highlight=False, soft_wrap=True)
    console.print(f"index: {write_index(store)}", highlight=False)


@app.command()
def compare(
    ctx: typer.Context,
    a: Annotated[str, typer.Argument(help="first experiment (hash, prefix or name)")],
    b: Annotated[str, typer.Argument(help="second experiment (hash, prefix or name)")],
    metric: Annotated[str | None, typer.Option(help="metric to compare (default: one both stored)")] = None,
    out: Annotated[Path | None, typer.Option(help="output file (.png/.svg/.pdf) or folder")] = None,
    x: Annotated[
        str, typer.Option("--x", help="step | wall_clock (step × the seconds per step of the runs' vmapped chunk)")
    ] = "step",
) -> None:
    """Put two experiments' seed-mean curves in one figure, against steps or wall-clock seconds."""
    from descentlab.report.compare import write_compare

    try:
        paths = write_compare(_store(ctx), a, b, metric=metric, out=out, x=x)
    except KeyError as err:
        fail(str(err.args[0]))
    except SpecError as err:
        fail(str(err))
    for path in paths.values():
        console.print(f"figure: {path}", highlight=False)


@app.command()
def predict(
    name: Annotated[str, typer.Argument(help="a prediction (see `descentlab list predictions`)")],
    param: Annotated[list[str], typer.Option("--param", help="parameter: key=value")] = [],  # noqa: B006
    steps: Annotated[int, typer.Option(help="last step of the grid")] = 1000,
    points: Annotated[int, typer.Option(help="number of grid points")] = 100,
    spacing: Annotated[str, typer.Option(help="log | linear")] = "log",
    csv: Annotated[Path | None, typer.Option("--csv", help="write step,curve… to this file")] = None,
) -> None:
    """Print (or write as CSV) a prediction's curves on a step grid, without running anything."""
    import pandas as pd

    from descentlab.engine.spec import checkpoint_steps
    from descentlab.theory import PREDICTIONS

    try:
        entry = PREDICTIONS.get(name, "name")
        if spacing not in ("log", "linear"):
            raise SpecError("--spacing", spacing, "allowed: 'log', 'linear'")
        if not 1 <= steps <= MAX_PREDICT_STEPS:
            raise SpecError("--steps", steps, f"expected an integer in [1, {MAX_PREDICT_STEPS}]")
        if not 1 <= points <= MAX_PREDICT_POINTS:
            raise SpecError("--points", points, f"expected an integer in [1, {MAX_PREDICT_POINTS}]")
        if csv is not None:
            _output_file("--csv", csv)
        params = dict(_parse_extra(param, "--param"))
        entry.validate(params, "param")
        grid = checkpoint_steps(steps, points, spacing)
        frame = pd.DataFrame({"step": grid, **entry.predict(grid, **params)})
    except SpecError as err:
        fail(str(err))
    if csv is not None:
        frame.to_csv(csv, index=False)
        console.print(f"wrote {len(frame)} rows to {csv}", highlight=False)
        return
    sys.stdout.write(frame.to_string(index=False, float_format=lambda v: f"{v:.6g}") + "\n")


@app.command()
def sweep(
    ctx: typer.Context,
    target: Annotated[
        Path,
        typer.Argument(
            help="a spec file: its sweep axes are the search ranges; an optional [search] table sets the options below"
        ),
    ],
    method: Annotated[str | None, typer.Option(help="grid | random | sobol | halving")] = None,
    n: Annotated[int | None, typer.Option("--n", help="candidates (random, sobol, halving)")] = None,
    metric: Annotated[str | None, typer.Option(help="metric ranked by its final value, mean over seeds")] = None,
    mode: Annotated[str | None, typer.Option(help="min | max")] = None,
    top: Annotated[int | None, typer.Option(help="number of best configurations written as specs")] = None,
    eta: Annotated[int | None, typer.Option(help="halving: keep the best 1/eta of each rung")] = None,
    seed: Annotated[int | None, typer.Option(help="seed of the random / Sobol candidates")] = None,
    out: Annotated[Path | None, typer.Option(help="folder of the best specs (default: <store>/search)")] = None,
    set_: Annotated[list[str], typer.Option("--set", help="override: path.to.field=value")] = [],  # noqa: B006
    executor: Annotated[str, typer.Option(help="local | ray")] = "local",
    address: Annotated[
        str | None, typer.Option(help="ray: 'auto' or HOST:PORT of a running cluster; none starts a local instance")
    ] = None,
) -> None:
    """Search a spec's ranges (grid, random, Sobol, successive halving); write the best as runnable specs."""
    from descentlab.engine.search import load_search_file, search
    from descentlab.engine.spec import apply_overrides

    start = time.perf_counter()
    try:
        data, options = load_search_file(target)
        data = apply_overrides(data, set_)
        given = {
            "method": method,
            "n": n,
            "metric": metric,
            "mode": mode,
            "top": top,
            "eta": eta,
            "seed": seed,
            "out": out,
        }
        options.update({k: v for k, v in given.items() if v is not None})
        result = search(data, store=_store(ctx), executor=_executor(executor, address), **options)
    except SpecError as err:
        fail(str(err))
    table = Table(title=f"{result.method} search · {result.mode} {result.metric} · best {len(result.best)}")
    for col in [*(k for k in result.best[0] if k != "score"), "score"]:
        table.add_column(col, justify="right")
    for best in result.best:
        table.add_row(*[f"{v:.6g}" if isinstance(v, float) else str(v) for v in best.values()])
    _print_table(table)
    console.print(
        f"evaluated {len(result.candidates)} candidates in {len(result.experiments)} experiment(s) · "
        f"{time.perf_counter() - start:.1f} s",
        highlight=False,
    )
    for path in result.spec_files:
        console.print(f"spec: {path}  (descentlab run {path})", highlight=False)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
