"""The red-team's bad-input classes, case by case: one line naming the field, exit 2, nothing stored, no hang.

Complements the generated spec mutations of ``test_bad_input.py`` with the classes found outside a spec's
own fields: Rich markup in user strings, deep nesting, values that used to validate and then crash after the
store was written, memory bombs inside each field's range, bad targets and options, and nonsense that used to
be accepted silently. Every case runs the CLI in process under a 60 s alarm (a FIFO target once hung).
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from descentlab.cli import app
from descentlab.store import Store

SPEC = """name = "bad-input"
[problem]
name = "least_squares"
dim = 8
[optimizer]
name = "sgd"
learning_rate = 0.1
[run]
steps = 20
seeds = 2
checkpoints = 4
"""
THEORY = SPEC + '[theory]\npredict = "sgd_least_squares"\nkind = "standard_error"\ntolerance = 4.0\n'


def with_problem(body: str) -> str:
    """SPEC with its [problem] table replaced by ``body`` (the table's lines, without the header)."""
    return SPEC.replace('name = "least_squares"\ndim = 8\n', body)


SEARCH = SPEC.replace("learning_rate = 0.1", "learning_rate = {logspace = [0.01, 0.5, 3]}") + "[search]\n"


@contextlib.contextmanager
def alarm(seconds: int):
    """Fail (instead of hanging the suite) when the body runs past ``seconds``."""

    def _raise(*_):
        raise TimeoutError(f"no answer within {seconds} s")

    previous = signal.signal(signal.SIGALRM, _raise)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def refused(folder: Path, args: list[str], field: str | tuple[str, ...]) -> str:
    """Run ``descentlab --store folder/store *args``; assert one ``error: field…`` line (one of ``field`` when a
    tuple), exit 2 and no store."""
    store = folder / "store"
    with alarm(60):
        result = CliRunner().invoke(app, ["--store", str(store), *args])
    text = result.output.strip()
    assert result.exit_code == 2, (args, text, result.exception)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in text and len(text.splitlines()) == 1, text
    fields = "|".join(re.escape(f) for f in ((field,) if isinstance(field, str) else field))
    assert re.match(rf"^error: ({fields})\S*: got .+; .{{6,}}", text), (field, text)
    assert not store.exists(), "a rejected input wrote to the store"
    return text


def write(folder: Path, text: str, name: str = "spec.toml") -> str:
    path = folder / name
    path.write_text(text)
    return str(path)


# ---------------------------------------------------------------------------------------------------------------
# Rich markup in user strings: printed as written, never interpreted (a crash before the fix)

MARKUP = st.builds(
    lambda a, tag, b: f"{a}[{tag}]{b}",
    st.text(alphabet="ab /", max_size=3),
    st.sampled_from(["/x", "/", "/bold", "bold red", "link=file:///etc", "#", "/]"]),
    st.text(alphabet="ab]/[", max_size=3),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(MARKUP, st.sampled_from(["show", "set", "target", "option", "theory"]))
def test_markup_in_user_strings_is_printed_as_written(tmp_path, text, where):
    if where == "option":  # an option is key=value: the key is the user string
        text = text.replace("=", ":")
    spec = write(tmp_path, SPEC)
    args, field = {
        "show": (["show", text], "experiment"),
        "set": (["run", spec, "--set", f"problem.spectrum={text}", "--no-report"], "problem.spectrum"),
        "target": (["run", text], "target"),
        "option": (["run", "sgd-risk-curves", "--option", f"{text}=1", "--no-report"], "--option"),
        "theory": (
            [
                "run",
                write(tmp_path, THEORY.replace('"sgd_least_squares"', repr(text).replace("'", '"'))),
                "--no-report",
            ],
            "theory.predict",
        ),
    }[where]
    with alarm(60):
        result = CliRunner().invoke(app, ["--store", str(tmp_path / "store"), *args])
    assert result.exit_code == 2, (args, result.output, result.exception)
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1, result.output
    assert text.strip() in result.output, (text, result.output)  # as written (--set and --option strip spaces)
    assert not (tmp_path / "store").exists()
    del field


def test_a_name_with_markup_and_mathtext_runs_and_reports(tmp_path):
    spec = write(tmp_path, SPEC.replace('"bad-input"', "'ok [/bold] $\\frac{$ name'"))
    result = CliRunner().invoke(app, ["--store", str(tmp_path / "store"), "run", spec])
    assert result.exit_code == 0, (result.output, result.exception)
    assert "ok [/bold] $\\frac{$ name" in result.output
    store = Store(tmp_path / "store")
    (experiment,) = store.experiments()
    assert (store.experiment_dir(experiment) / "report" / "index.html").is_file()


# ---------------------------------------------------------------------------------------------------------------
# Deep nesting (a RecursionError before the fix)


@pytest.mark.parametrize("depth", [33, 100, 600, 5000])
@pytest.mark.parametrize("where", ["toml-array", "toml-table", "set-array", "set-table"])
def test_deep_nesting_is_refused(tmp_path, depth, where):
    array, table = "[" * depth + "]" * depth, "{a = " * depth + "1" + "}" * depth
    if where.startswith("toml"):
        value = array if where == "toml-array" else table
        args = ["run", write(tmp_path, SPEC + f"probes = {value}\n"), "--no-report"]
        field = "spec"
    else:
        value = array if where == "set-array" else table
        args = ["run", write(tmp_path, SPEC), "--set", f"problem.spectrum={value}", "--no-report"]
        field = ("--set", "spec")  # the value alone, or the spec it lands in, is too deep
    refused(tmp_path, args, field)


def test_a_deep_set_path_is_refused(tmp_path):
    refused(tmp_path, ["run", write(tmp_path, SPEC), "--set", ".".join(["a"] * 700) + "=1"], "--set")


# ---------------------------------------------------------------------------------------------------------------
# Values that validated and then crashed after the store was written (a stale `running` row)

LATE_CRASHES = [
    (["run.memory_budget_mb=inf"], "run.memory_budget_mb"),
    (["run.memory_budget_mb=nan"], "run.memory_budget_mb"),
    (["problem.noise=1e300"], "problem.noise"),
    (["problem.teacher_seed=1e300"], "problem.teacher_seed"),
    (["problem.teacher_seed=1e20"], "problem.teacher_seed"),
    (['probes=["metrics", "metrics"]'], "probes"),
    ([], "problem.target_rank", 'name = "deep_linear"\ndim = 8\ntarget_rank = 9\n'),
    ([], "problem.heads", 'name = "modular_addition"\nmodel = "transformer"\nheads = 3\nembed_dim = 32\n'),
    (['name="$\\\\frac{$\\ttab"'], "name"),
]
LATE_CRASHES = [(*case, None) if len(case) == 2 else case for case in LATE_CRASHES]


@pytest.mark.parametrize(
    ("sets", "field", "problem"), LATE_CRASHES, ids=[c[1] + str(i) for i, c in enumerate(LATE_CRASHES)]
)
def test_values_that_crashed_late_are_refused_before_the_store(tmp_path, sets, field, problem):
    args = ["run", write(tmp_path, SPEC if problem is None else with_problem(problem))]
    for item in sets:
        args += ["--set", item]
    refused(tmp_path, [*args, "--no-report"], field)


THEORY_CASES = [
    ('theory.curve="nope"', "theory.curve"),
    ('theory.metric="nope"', "theory.metric"),
    ("theory.tolerance=nan", "theory.tolerance"),
    ("theory.tolerance=-1", "theory.tolerance"),
    ('theory.kind="nope"', "theory.kind"),
    ('theory.predict="nope"', "theory.predict"),
    ("theory.curve=3", "theory.curve"),
]


@pytest.mark.parametrize(("item", "field"), THEORY_CASES)
def test_a_bad_theory_section_is_refused_before_anything_runs(tmp_path, item, field):
    refused(tmp_path, ["run", write(tmp_path, THEORY), "--set", item, "--no-report"], field)


def test_a_theory_section_without_a_prediction_is_refused(tmp_path):
    refused(tmp_path, ["run", write(tmp_path, SPEC + '[theory]\ncurve = "risk"\n'), "--no-report"], "theory.predict")


# ---------------------------------------------------------------------------------------------------------------
# Memory bombs inside each field's own range: a pre-flight estimate against the budget

MEMORY_BOMBS = [
    ([], "problem", 'name = "matrix_factorization"\nrows = 100000\ncols = 100000\n'),
    (["problem.dim=2000000", "run.batch_size=1000"], "run.batch_size", None),
    (["problem.dim=1000000", 'sampler.name="with_replacement"', "problem.n_samples=10000000"], "problem", None),
    (["problem.dim=2000000", "run.seeds=100000"], "run", None),
]


@pytest.mark.parametrize(("sets", "field", "problem"), MEMORY_BOMBS, ids=[str(i) for i in range(len(MEMORY_BOMBS))])
def test_memory_bombs_are_refused_with_what_fits(tmp_path, sets, field, problem):
    args = ["run", write(tmp_path, SPEC if problem is None else with_problem(problem))]
    for item in sets:
        args += ["--set", item]
    text = refused(tmp_path, [*args, "--no-report"], field)
    assert "fit" in text, text


# ---------------------------------------------------------------------------------------------------------------
# Bad targets and options


def test_bad_targets_are_refused_without_hanging(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    refused(tmp_path, ["run", str(tmp_path)], "spec")
    refused(tmp_path, ["run", ""], "target")
    refused(tmp_path, ["run", str(fifo)], "spec")
    refused(tmp_path, ["run", "/dev/zero"], "spec")
    refused(tmp_path, ["run", "no-such-study-or-file"], "target")
    refused(tmp_path, ["run", "a\nb"], "target")
    refused(tmp_path, ["run", write(tmp_path, "\x00\xff not toml")], "spec")


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["predict", "gd_quadratic", "--csv", "."], "--csv"),
        (["predict", "gd_quadratic", "--csv", "/no/such/folder/x.csv"], "--csv"),
        (["predict", "gd_quadratic", "--steps", str(10**18)], "--steps"),
        (["predict", "gd_quadratic", "--points", str(10**9)], "--points"),
        (["predict", "gd_quadratic", "--steps", "abc"], "Invalid value"),
        (["run", "sgd-risk-curves", "--option", "resolution=abc", "--no-report"], "--option"),
        (["run", "sgd-risk-curves", "--option", "zzz=1", "--no-report"], "--option"),
        (["run", "sgd-risk-curves", "--option", "a=1\nb=2", "--no-report"], "--option"),
        (["run", "sgd-risk-curves", "--scale", "huge", "--no-report"], "--scale"),
        (["run", "sgd-risk-curves", "--executor", "gpu", "--no-report"], "--executor"),
        (["run", "--executor", "ray", "--address", "127.0.0.1:1", "sgd-risk-curves"], "--address"),
    ],
)
def test_bad_options_are_refused(tmp_path, args, field):
    if field == "Invalid value":  # Click's own type check, through the same one-line path
        result = CliRunner().invoke(app, ["--store", str(tmp_path / "store"), *args])
        assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1, result.output
        assert result.output.startswith("error: ") and not (tmp_path / "store").exists()
        return
    refused(tmp_path, args, field)


@pytest.mark.parametrize("flags", [["--scale", "paper"], ["--option", "a=1"], ["--quick"]])
def test_study_options_with_a_spec_file_are_refused(tmp_path, flags):
    refused(tmp_path, ["run", write(tmp_path, SPEC), *flags], flags[0])


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ('seed = "x"', "search.seed"),
        ("out = 5", "search.out"),
        ('metric = "nope"', "search.metric"),
        ("n = 0", "search.n"),
        ('method = "zz"', "search.method"),
        ('mode = "up"', "search.mode"),
        ('out = "/tmp/elsewhere"', "search.out"),
        ('out = "../up"', "search.out"),
        ("top = 0", "search.top"),
    ],
)
def test_bad_search_options_are_refused_before_a_rung_runs(tmp_path, extra, field):
    refused(tmp_path, ["sweep", write(tmp_path, SEARCH + extra + "\n")], field)


# ---------------------------------------------------------------------------------------------------------------
# Nonsense that used to be accepted silently

NONSENSE = [
    ('run.steps="10"', "run.steps"),
    ("run.steps=true", "run.steps"),
    ("run.seeds=2.0", "run.seeds"),
    ('run.dtype="float16"', "run.dtype"),
    ("optimizer.learning_rate={grid=[1, 1.0]}", "optimizer.learning_rate"),
    ("optimizer.learning_rate={grid=[0.1, 0.1]}", "optimizer.learning_rate"),
    ("optimizer.momentum=1.5", "optimizer"),
    ("optimizer.learning_rate={logspace=[0.1, 0.1000000000001, 3]}", "optimizer.learning_rate"),
    ('problem.spectrum="custom"\x00', "--set"),
    ("a=1\nb=2", "--set"),
    ("problem.noise=-0.0001", "problem.noise"),
    ("run.checkpoints=[]", "run.checkpoints"),
    ("run.divergence_factor=nan", "run"),
    ("optimizer.learning_rate=inf", "optimizer.learning_rate"),
]


@pytest.mark.parametrize(("item", "field"), NONSENSE, ids=[f"{i}-{c[1]}" for i, c in enumerate(NONSENSE)])
def test_nonsense_is_no_longer_accepted(tmp_path, item, field):
    refused(tmp_path, ["run", write(tmp_path, SPEC), "--set", item, "--no-report"], field)


def test_custom_spectrum_values_must_be_finite(tmp_path):
    refused(
        tmp_path,
        [
            "run",
            write(tmp_path, SPEC),
            "--set",
            'problem.spectrum="custom"',
            "--set",
            'problem.spectrum_values="nan,1,1,1,1,1,1,1"',
            "--no-report",
        ],
        "problem.spectrum_values",
    )


# ---------------------------------------------------------------------------------------------------------------
# Probes the problem cannot serve, or two probes reporting one metric: refused before the store (they used to be a
# traceback at trace time, or an error after a `running` row)


@pytest.mark.parametrize("probes", ['["metrics", "loss"]', '["accuracy"]', '["metrics", "accuracy"]'])
def test_probes_the_problem_cannot_serve_are_refused_before_the_store(tmp_path, probes):
    spec = with_problem('name = "quadratic"\n')
    refused(tmp_path, ["run", write(tmp_path, spec), "--set", f"probes={probes}", "--no-report"], "probes")
