"""Verdicts with teeth: every study declares must-fail controls, and each one fails its headline verdict.

A control is the claim made false on purpose (:class:`descentlab.studies.Control`). Each runs here at
``--quick`` size in a store of its own; the unbroken studies are shown to pass in their own test files.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from descentlab.cli import app
from descentlab.store import Store
from descentlab.studies import STUDIES, StudyOptions, run_study
from descentlab.studies.base import control_experiments

CONTROLS = [(name, control.name) for name, study in STUDIES.items() for control in study.controls]


@pytest.mark.parametrize("name", STUDIES.names())
def test_every_study_declares_two_controls_one_of_them_breaking_the_mechanism(name):
    controls = STUDIES.get(name).controls
    assert len(controls) >= 2, f"{name} declares {len(controls)} controls"
    assert any(c.mechanism for c in controls), f"no control of {name} breaks the mechanism"
    assert len({c.name for c in controls}) == len(controls)
    for control in controls:
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", control.name), control.name
        assert control.breaks.endswith(".") and len(control.breaks) > 30, control.breaks
        assert control.overrides or control.options, f"{name} --control {control.name} changes nothing"


@pytest.mark.parametrize(("name", "control"), CONTROLS, ids=[f"{n}--{c}" for n, c in CONTROLS])
def test_every_control_fails_the_headline_verdict(tmp_path, name, control):
    store = Store(tmp_path)
    outcome = run_study(name, store, StudyOptions(quick=True, control=control), report=False)
    headline = outcome.analysis.verdicts[0]
    assert not headline.passed, f"{name} --control {control} passed: {headline.line()}"
    stored = store.verdicts(outcome.results[0].experiment, control=control)
    assert len(stored) == len(outcome.analysis.verdicts) and not bool(stored["passed"].iloc[0])
    assert stored["headline"].iloc[0]
    # the study's report finds it there: the control's experiment is known from the study's options alone
    assert control_experiments(name, StudyOptions(quick=True))[control] == outcome.results[0].experiment


def test_the_cli_runs_a_control_exits_1_and_the_report_lists_every_control(tmp_path):
    """One study end to end through the CLI: the unbroken study exits 0, its control exits 1 with the
    control's verdict printed last, and the study's report lists each control with its stored outcome."""
    name, control = CONTROLS[0]
    store = tmp_path / "store"
    ok = CliRunner().invoke(app, ["--store", str(store), "run", name, "--quick"])
    assert ok.exit_code == 0, ok.output
    broken = CliRunner().invoke(app, ["--store", str(store), "run", name, "--quick", "--control", control])
    assert broken.exit_code == 1, broken.output
    assert broken.output.strip().splitlines()[-1].startswith(f"control {control}: verdict: fail"), broken.output
    again = CliRunner().invoke(app, ["--store", str(store), "run", name, "--quick"])  # report now sees the control
    assert again.exit_code == 0, again.output
    report = Store(store).experiment_dir(re.search(r"\(([0-9a-f]{16})\)", again.output).group(1))
    page = (report / "report" / "index.html").read_text()
    assert "What would make this verdict fail" in page
    for other in STUDIES.get(name).controls:
        assert other.name in page
    assert "verdict fail" in page  # the control that was run, with its stored outcome
    control_report = Path(re.search(r"^report: (\S+)$", broken.output, re.M).group(1))
    assert control_report.parts[-3:] == ("controls", control, "index.html") and control_report.is_file()
    verify = CliRunner().invoke(app, ["--store", str(store), "verify"])
    assert verify.exit_code == 0, verify.output  # a control's report is no stray entry


def test_list_controls_names_each_with_what_it_breaks():
    result = CliRunner().invoke(app, ["list", "controls"])
    assert result.exit_code == 0
    for _, control in CONTROLS:
        assert control in result.output
    refused = CliRunner().invoke(app, ["list", "controls", "no-such-study"])
    assert refused.exit_code == 2 and refused.output.startswith("error: study")


def test_an_unknown_control_is_one_line_and_exit_2(tmp_path):
    result = CliRunner().invoke(
        app, ["--store", str(tmp_path / "s"), "run", "sgd-risk-curves", "--quick", "--control", "nope"]
    )
    assert result.exit_code == 2 and result.output.startswith("error: --control: got 'nope'")
    assert not (tmp_path / "s").exists()
