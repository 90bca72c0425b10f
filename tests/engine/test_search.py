"""Search: grid equals run_spec's sweep, random/Sobol stay in range, halving keeps the best, specs written run."""

from __future__ import annotations

import tomllib

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from descentlab.engine import run_spec, spec_from_dict
from descentlab.engine.search import candidates, load_search_file, search, search_space, to_toml
from descentlab.engine.spec import Sweep
from descentlab.params import SpecError
from descentlab.store import Store


def base(**run) -> dict:
    return {
        "name": "search-test",
        "problem": {"name": "least_squares", "dim": 8, "noise": 0.1},
        "optimizer": {"name": "sgd", "learning_rate": {"logspace": [0.02, 3.0, 4]}},
        "run": {"steps": 40, "seeds": 2, "checkpoints": 3, **run},
    }


def test_grid_search_ranks_the_same_runs_as_run_spec(tmp_path):
    result = search(base(), method="grid", metric="population_risk", store=tmp_path / "s", top=2)
    summary = run_spec(spec_from_dict(base()), tmp_path / "r")
    runs = Store(tmp_path / "r").read(summary.experiment, "runs")
    means = runs[runs.status == "ok"].groupby("optimizer_learning_rate")["final_population_risk"].mean()
    diverged = set(runs[runs.status == "diverged"]["optimizer_learning_rate"])
    assert diverged, "the largest rate should diverge so that the ranking is tested against it"
    table = result.candidates.set_index("optimizer.learning_rate")
    for lr, mean in means.items():
        if lr not in diverged:
            np.testing.assert_allclose(table.loc[lr, "score"], mean, rtol=1e-5)
    for lr in diverged:
        assert table.loc[lr, "score"] == np.inf
    assert result.best[0]["optimizer.learning_rate"] == means.drop(list(diverged), errors="ignore").idxmin()
    assert len(result.spec_files) == 2
    written = tomllib.loads(result.spec_files[0].read_text())
    spec = spec_from_dict(written)  # runnable as written
    assert written["optimizer"]["learning_rate"] == result.best[0]["optimizer.learning_rate"]
    assert spec.run.steps == 40 and spec.name == "search-test-best1"


def test_a_search_writes_complete_experiment_rows_through_the_engines_run_loop(tmp_path):
    result = search(base(), method="sobol", n=3, metric="population_risk", store=tmp_path)
    (experiment,) = result.experiments
    row = Store(tmp_path).experiment_row(experiment)
    assert row["status"] == "complete" and row["executor"] == "local" and row["n_runs"] == 6
    assert row["compile_seconds"] >= 0 and row["run_seconds"] > 0 and row["store_seconds"] > 0
    assert row["diverged"] == int((Store(tmp_path).read(experiment, "runs").status == "diverged").sum())
    again = search(base(), method="sobol", n=3, metric="population_risk", store=tmp_path)  # resumes: nothing new
    assert again.experiments == result.experiments
    pd.testing.assert_frame_equal(again.candidates, result.candidates)


@pytest.mark.parametrize("method", ["random", "sobol"])
def test_sampled_candidates_lie_in_the_ranges(method):
    data = base()
    data["optimizer"]["momentum"] = {"linspace": [0.0, 0.9, 2]}
    data["run"]["batch_size"] = {"grid": [1, 4]}
    axes = search_space(data)
    assert [a.scale for a in axes] == ["log", "linear", "choice"]
    points = candidates(axes, method, 64, seed=3)
    lr = np.asarray([p["optimizer.learning_rate"] for p in points])
    mom = np.asarray([p["optimizer.momentum"] for p in points])
    assert len(points) == 64 and lr.min() >= 0.02 and lr.max() <= 3.0 and 0 <= mom.min() and mom.max() <= 0.9
    assert {p["run.batch_size"] for p in points} == {1, 4}
    # log scale: about half the points below the geometric midpoint
    assert 20 <= (lr < np.sqrt(0.02 * 3.0)).sum() <= 44
    assert candidates(axes, method, 64, seed=3) == points  # reproducible


def test_sobol_search_with_a_static_axis_picks_the_best_score(tmp_path):
    data = base()
    data["run"]["batch_size"] = {"grid": [1, 4]}
    result = search(data, method="sobol", n=8, metric="population_risk", store=tmp_path)
    scores = result.candidates["score"]
    assert result.best[0]["score"] == scores.min() and np.isfinite(scores.min())
    assert set(result.candidates["run.batch_size"]) == {1, 4}
    runs = Store(tmp_path).read(result.experiments[0], "runs")
    assert len(runs) == 2 * len(result.candidates) and runs["run"].is_unique


def test_successive_halving_keeps_the_best_third_each_rung(tmp_path):
    result = search(base(), method="halving", n=9, eta=3, metric="population_risk", store=tmp_path)
    table = result.candidates
    sizes = table.groupby("rung").size().tolist()
    assert sizes == [9, 3, 1]
    assert table.groupby("rung")["steps"].first().tolist() == [4, 13, 40]
    for rung in (0, 1):
        current, following = table[table.rung == rung], table[table.rung == rung + 1]
        kept = set(current.nsmallest(len(following), "score")["candidate"])
        assert set(following["candidate"]) == kept
    assert result.best[0]["score"] == table[table.rung == 2]["score"].iloc[0]


def test_bad_search_options_are_one_line_errors(tmp_path):
    with pytest.raises(SpecError, match=r"search\.method"):
        search(base(), method="bayes", n=4, store=tmp_path)
    with pytest.raises(SpecError, match=r"search\.n"):
        search(base(), method="random", n=0, store=tmp_path)
    with pytest.raises(SpecError, match=r"search\.metric.*allowed: .*population_risk"):
        search(base(), method="grid", metric="nope", store=tmp_path)
    spec = tmp_path / "s.toml"
    spec.write_text(to_toml(base()) + "\n[search]\nmethod = 'sobol'\nbudget = 3\n")
    with pytest.raises(SpecError, match=r"search\.budget"):
        load_search_file(spec)


def test_toml_writer_round_trips_strange_strings():
    data = base()
    data["name"] = 'a "quoted" \\ name\nwith <b>tags</b> & ünïcode'
    data["description"] = "tab\tand \x01 control"
    assert tomllib.loads(to_toml(data)) == data


def test_toml_writer_round_trips_keys_outside_the_bmp_numpy_scalars_and_sweeps():
    # the former hand writer quoted keys with json.dumps (UTF-16 surrogate escapes "\ud800\udc00", invalid TOML)
    # and wrote np.float64 as "np.float64(0.1)"
    data = base()
    data["run"]['𐀀 key "q"\n'] = "😀 \x7f \x1f"
    data["problem"]["noise"] = np.float64(0.1)
    data["run"]["seeds"] = np.int64(2)
    data["optimizer"]["learning_rate"] = Sweep(values=(0.1, 0.2))
    back = tomllib.loads(to_toml(data))
    assert back["run"]['𐀀 key "q"\n'] == "😀 \x7f \x1f"
    assert back["problem"]["noise"] == 0.1 and back["run"]["seeds"] == 2
    assert back["optimizer"]["learning_rate"] == {"grid": [0.1, 0.2]}
    with pytest.raises(TypeError):
        to_toml({"run": {"steps": None}})


_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12)
_SCALAR = st.one_of(_TEXT, st.integers(-(2**63), 2**63 - 1), st.floats(allow_nan=False), st.booleans())
_VALUE = st.one_of(_SCALAR, st.lists(_SCALAR, max_size=3), st.dictionaries(_TEXT, _SCALAR, max_size=2))


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(_TEXT, st.one_of(_SCALAR, st.dictionaries(_TEXT, _VALUE, max_size=3)), max_size=4))
def test_toml_writer_round_trips_any_document(data):
    assert tomllib.loads(to_toml(data)) == data
