"""The typed study contract: declared checks make every verdict, options come checked and complete."""

from __future__ import annotations

import math
import re
from typing import ClassVar

import pytest
from typer.testing import CliRunner

from descentlab.cli import app
from descentlab.params import Param
from descentlab.studies import STUDIES, Check, Study, StudyOptions, check_options
from descentlab.studies.base import conform
from descentlab.theory import Verdict

HEADLINE = Check("headline", "max relative error", "the ODE", 0.05, "3 × the largest relative s.e. at d = 500")
OTHER = Check("other", "a fitted exponent", "−1/2", 0.04, "fit spread over 8 seeds, 0.013")


class Toy(Study):
    name = "toy"
    checks = (HEADLINE, OTHER)


@pytest.mark.parametrize("name", STUDIES.names())
def test_every_study_declares_its_checks_with_the_basis_of_each_tolerance(name):
    checks = STUDIES.get(name).checks
    assert checks, f"{name} declares no checks"
    assert len({c.name for c in checks}) == len(checks)
    for check in checks:
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", check.name), check.name
        assert check.measures and check.predicts, check
        assert math.isfinite(check.tolerance) and check.tolerance >= 0, check
        assert len(check.basis) > 20, f"{name} {check.name}: the tolerance's basis is not stated"


def test_a_check_judges_figure_against_its_tolerance_and_tags_the_verdict():
    assert HEADLINE.verdict(0.05) == Verdict(True, 0.05, "max relative error", 0.05, check="headline")
    assert not HEADLINE.verdict(0.051).passed
    assert not HEADLINE.verdict(float("nan")).passed
    spread = HEADLINE.verdict(0.2, tolerance=0.3, detail="worst: d = 500")
    assert spread.passed and spread.tolerance == 0.3 and spread.what == "max relative error (worst: d = 500)"
    assert not HEADLINE.verdict(0.0, passed=False).passed  # an outcome judged otherwise (a band, a count)
    adopted = OTHER.adopt(Verdict(False, 0.3, "|fitted − predicted| exponent", 0.1))
    assert (adopted.passed, adopted.figure, adopted.tolerance, adopted.check) == (False, 0.3, 0.1, "other")


def test_conform_refuses_verdicts_the_study_did_not_declare():
    conform(Toy, [HEADLINE.verdict(0.0), OTHER.verdict(0.0), OTHER.verdict(1.0)])  # a check judged twice is fine
    with pytest.raises(TypeError, match="headline"):
        conform(Toy, [OTHER.verdict(0.0), HEADLINE.verdict(0.0)])
    with pytest.raises(TypeError, match="declared"):
        conform(Toy, [HEADLINE.verdict(0.0)])  # 'other' never judged
    with pytest.raises(TypeError, match="declared"):
        conform(Toy, [HEADLINE.verdict(0.0), OTHER.verdict(0.0), Verdict(True, 0.0, "by hand", 1.0)])
    with pytest.raises(TypeError, match="headline"):
        conform(Toy, [])

    class Empty(Study):
        name = "empty"

    with pytest.raises(TypeError, match="no checks"):
        conform(Empty, [HEADLINE.verdict(0.0)])


def test_checked_options_are_complete_and_coerced(monkeypatch):
    class WithOptions(Study):
        declared_options: ClassVar[dict[str, Param]] = {
            "shift": Param("float", 0.0, "a shift"),
            "steps": Param("int", None, "steps or None"),
        }

    monkeypatch.setitem(STUDIES._entries, "with-options", WithOptions)
    options = check_options("with-options", StudyOptions(extra=(("shift", 1),)))
    assert options["shift"] == 1.0 and isinstance(options["shift"], float) and options["steps"] is None
    assert dict(options.extra) == {"shift": 1.0, "steps": None}
    with pytest.raises(KeyError):
        StudyOptions()["shift"]  # not checked yet


def test_list_checks_names_each_check_with_the_basis_of_its_tolerance():
    result = CliRunner(env={"COLUMNS": "240"}).invoke(app, ["list", "checks", "sgd-risk-curves"])
    assert result.exit_code == 0, result.output
    for check in STUDIES.get("sgd-risk-curves").checks:
        assert check.name in result.output
    refused = CliRunner().invoke(app, ["list", "problems", "sgd-risk-curves"])
    assert refused.exit_code == 2 and refused.output.startswith("error: study")


def test_checking_options_twice_changes_nothing(monkeypatch):
    class WithOptions(Study):
        declared_options: ClassVar[dict[str, Param]] = {"steps": Param("int", None, "steps or None")}

    monkeypatch.setitem(STUDIES._entries, "with-options", WithOptions)
    once = check_options("with-options", StudyOptions())
    assert check_options("with-options", once) == once


def test_verdicts_added_to_a_file_written_before_a_column_existed_keep_it(tmp_path):
    """A store written before verdicts had a ``check`` column: a study's new rows keep theirs."""
    from descentlab.analysis import verdict_rows
    from descentlab.store import Store

    store = Store(tmp_path)
    store.experiment_dir("e").mkdir(parents=True)
    old = verdict_rows([Verdict(True, 0.1, "old", 0.2)], "a spec's theory")
    store.write_verdicts("e", [{k: v for k, v in row.items() if k != "check"} for row in old])
    store.write_verdicts("e", verdict_rows([HEADLINE.verdict(0.01)], "claim", study="toy"))
    stored = store.verdicts("e")
    assert list(stored["check"].fillna("")) == ["", "headline"] and list(stored["study"]) == ["", "toy"]
