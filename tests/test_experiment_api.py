"""The Python face: component objects are the spec's dicts (same hash, same errors); Result and StudyOutcome render
in Jupyter with escaped strings, verdicts headline first, embedded figures and the runs table head."""

from __future__ import annotations

import re
from pathlib import Path

import matplotlib.pyplot as plt
import pytest

from descentlab import (
    Experiment,
    Optimizer,
    Probe,
    Problem,
    Run,
    Sampler,
    Schedule,
    SpecError,
    Theory,
    grid,
    linspace,
    logspace,
)
from descentlab.analysis.verdicts import verdict_rows
from descentlab.engine.load import load_spec, spec_from_dict
from descentlab.engine.spec import RunSection
from descentlab.experiment import Result, runs_head_html, verdicts_html
from descentlab.studies.base import Analysis, StudyOutcome
from descentlab.theory.verdict import Verdict
from tests.conftest import small_spec_dict

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
LOG_ZERO = {"logspace": [0, 1, 3]}
TWICE = {"grid": [0.1, 0.1]}
HOSTILE = '<script>alert("x")</script>&'


# ---------------------------------------------------------------- component objects
def test_component_objects_give_the_dict_spec_and_its_hash():
    data = small_spec_dict()
    objects = Experiment(
        name="small",
        problem=Problem("least_squares", dim=16, spectrum="power_law", noise=0.1),
        optimizer=Optimizer("sgd", learning_rate=grid(0.2, 0.5)),
        run=Run(steps=60, seeds=3, checkpoints=10),
    )
    plain = Experiment(**data)
    assert objects.hash == plain.hash
    assert objects.spec.to_dict() == plain.spec.to_dict()


def test_every_section_as_an_object_matches_a_toml_spec():
    toml = load_spec(EXAMPLES / "sgd_theory.toml")
    objects = spec_from_dict(
        {
            "name": "sgd-theory",
            "description": toml.description,
            "problem": Problem("least_squares", dim=300, spectrum="isotropic", noise=0.1),
            "optimizer": Optimizer("sgd", learning_rate=grid(0.3, 1.0)),
            "run": Run(steps=1000, seeds=32, checkpoints=40),
            "theory": Theory("sgd_least_squares", kind="standard_error", tolerance=4.0),
        }
    )
    assert objects.content_hash() == toml.content_hash() and objects == toml


def test_sweeps_schedule_sampler_and_probes_as_objects():
    run = {"steps": 60, "seeds": 2, "checkpoints": 10}
    as_dicts = Experiment(
        problem={"name": "least_squares", "dim": {"grid": [8, 16]}, "noise": {"linspace": [0.0, 0.2, 3]}},
        optimizer={"name": "sgd", "learning_rate": {"logspace": [0.05, 0.5, 4]}},
        schedule={"name": "cosine"},
        sampler={"name": "auto"},
        run=run,
        probes=["metrics", {"name": "sharpness", "every": 2}],
    )
    objects = Experiment(
        problem=Problem("least_squares", dim=grid(8, 16), noise=linspace(0.0, 0.2, 3)),
        optimizer=Optimizer("sgd", learning_rate=logspace(0.05, 0.5, 4)),
        schedule=Schedule("cosine"),
        sampler=Sampler("auto"),
        run=Run(**run),
        probes=[Probe("metrics"), Probe("sharpness", every=2)],
    )
    assert objects.hash == as_dicts.hash and objects.plan.n_runs == 2 * 3 * 4 * 2


def test_the_spec_section_models_of_a_built_spec_are_accepted():
    spec = Experiment(**small_spec_dict()).spec
    again = Experiment(
        problem=spec.problem, optimizer=spec.optimizer, run=RunSection(steps=60, seeds=3, checkpoints=10)
    )
    assert again.hash == spec.content_hash()


@pytest.mark.parametrize(
    "section, obj, plain",
    [
        ("problem", Problem("least_square", dim=16), {"name": "least_square", "dim": 16}),
        ("problem", Problem("least_squares", dim=-3), {"name": "least_squares", "dim": -3}),
        ("problem", Problem("least_squares", width=3), {"name": "least_squares", "width": 3}),
        (
            "optimizer",
            Optimizer("sgd", learning_rate=logspace(0, 1, 3)),
            {"name": "sgd", "learning_rate": {"logspace": [0, 1, 3]}},
        ),
        (
            "optimizer",
            Optimizer("sgd", learning_rate=grid(0.1, 0.1)),
            {"name": "sgd", "learning_rate": {"grid": [0.1, 0.1]}},
        ),
        ("run", Run(steps=0), {"steps": 0}),
        ("probes", [Probe("no_such_probe")], ["no_such_probe"]),
    ],
)
def test_an_object_is_refused_with_the_dicts_one_line_error(section, obj, plain):
    with pytest.raises(SpecError) as as_object:
        Experiment(**small_spec_dict(**{section: obj}))
    with pytest.raises(SpecError) as as_dict:
        Experiment(**small_spec_dict(**{section: plain}))
    assert str(as_object.value) == str(as_dict.value)
    assert "\n" not in str(as_object.value) and as_object.value.field.startswith(section)


def test_an_object_for_another_section_is_named_in_the_error():
    with pytest.raises(SpecError, match=r"^problem: got Optimizer\('sgd'\); expected a table or Problem"):
        Experiment(**small_spec_dict(problem=Optimizer("sgd")))
    with pytest.raises(SpecError, match=r"^probes\[1\]: .* not Problem"):
        Experiment(**small_spec_dict(probes=["metrics", Problem("least_squares")]))
    with pytest.raises(SpecError, match=r"^problem\.name: .* give the name once"):
        Problem("least_squares", name="quadratic")


def test_component_objects_are_immutable_values():
    one = Optimizer("sgd", learning_rate=grid(0.1, 0.2))
    assert one == Optimizer("sgd", learning_rate={"grid": [0.1, 0.2]}) and one != Problem("sgd", learning_rate=0.1)
    assert repr(one) == "Optimizer('sgd', learning_rate={'grid': [0.1, 0.2]})"
    with pytest.raises(AttributeError):
        one.name = "adam"
    one.to_dict()["learning_rate"]["grid"].append(9.0)  # a copy: the object is unchanged
    assert one.to_dict() == {"name": "sgd", "learning_rate": {"grid": [0.1, 0.2]}}
    assert Probe("metrics").entry() == "metrics" and Theory("x", tolerance=1).to_dict() == {
        "predict": "x",
        "tolerance": 1,
    }


# ---------------------------------------------------------------- notebook views
@pytest.fixture(scope="module")
def result(tmp_path_factory) -> Result:
    """A tiny experiment with a hostile name, run into a temporary store."""
    store = tmp_path_factory.mktemp("api-store")
    return Experiment(**small_spec_dict(name=HOSTILE)).run(store)


def _no_raw_hostile(page: str) -> None:
    assert "<script>" not in page and 'alert("x")' not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;" in page


def test_a_result_renders_its_name_escaped_its_curves_and_its_runs_head(result):
    page = result._repr_html_()
    _no_raw_hostile(page)
    assert page.startswith('<div class="descentlab-result">') and "No verdict" in page
    assert "excess_risk vs step" in page  # the first stored metric that is not a minibatch one
    assert len(re.findall(r'src="data:image/png;base64,[A-Za-z0-9+/=]{1000,}"', page)) == 1
    assert "<th" in page and ">optimizer_learning_rate<" in page and ">final_population_risk<" in page
    assert page.count("<tr>") == 1 + len(result.runs)  # 6 runs: all shown (under HEAD_ROWS)


def test_a_result_shows_its_stored_verdicts_headline_first(result):
    verdicts = [Verdict(True, 0.5, "headline figure", 1.0, check="first"), Verdict(False, 2.0, HOSTILE, 1.0, "second")]
    rows = verdict_rows(verdicts, "a claim")
    result.store.write_verdicts(result.experiment, list(reversed(rows)))  # stored out of order
    page = result._repr_html_()
    _no_raw_hostile(page)
    assert page.index("[headline · first]") < page.index("[second]")
    assert 'class="descentlab-verdict pass"' in page and 'class="descentlab-verdict fail"' in page


def test_the_runs_head_is_cut_and_says_so(result):
    page = runs_head_html(result.runs, rows=2)
    assert page.count("<tr>") == 3 and "first 2 of 6 runs" in page


def test_verdict_lines_style_pass_and_fail_and_mark_the_headline():
    page = verdicts_html([Verdict(False, 3.25, "w", 0.5, check="c1"), Verdict(True, 0.125, "v", 0.5, check="c2")])
    first, second = page.split("</div>")[:2]
    assert "descentlab-verdict fail" in first and "✘ fail" in first and "3.25" in first and "[headline · c1]" in first
    assert "descentlab-verdict pass" in second and "✔ pass" in second and "[c2]" in second and "headline" not in second


def test_a_study_outcome_renders_verdicts_figures_and_runs(result, tmp_path):
    fig, ax = plt.subplots()
    ax.plot([1, 2, 3])
    png = tmp_path / "fig.png"
    fig.savefig(png)
    plt.close(fig)
    verdicts = [Verdict(False, 0.9, HOSTILE, 0.1, check="headline-check"), Verdict(True, 0.01, "ok", 0.1, "other")]
    outcome = StudyOutcome(
        HOSTILE, [result], Analysis(verdicts, [(HOSTILE, str(png)), ("gone", str(tmp_path / "no.png"))], None), png
    )
    page = outcome._repr_html_()
    _no_raw_hostile(page)
    assert page.startswith('<div class="descentlab-study">') and "1 experiments, 6 runs" in page
    assert page.index("descentlab-verdict fail") < page.index("descentlab-verdict pass")
    assert "[headline · headline-check]" in page and page.count("data:image/png;base64,") == 1
    assert "not readable" in page and ">optimizer_learning_rate<" in page
    text = repr(outcome)
    assert text.startswith("StudyOutcome(study='<script>") and "fail headline-check 0.9 (tolerance 0.1)" in text
