"""The command line: a spec end to end, listings, SQL formats, and bad input as one line with exit 2."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from descentlab.cli import app

SPEC = """
name = "cli-test"
[problem]
name = "least_squares"
dim = 8
[optimizer]
name = "sgd"
learning_rate = {grid = [0.1, 0.3]}
[run]
steps = 30
seeds = 2
checkpoints = 5
"""


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli")
    spec = folder / "spec.toml"
    spec.write_text(SPEC)
    result = CliRunner().invoke(app, ["--store", str(folder / "runs"), "run", str(spec)])
    assert result.exit_code == 0, result.output
    assert "stored 4 runs" in result.output
    return folder


def invoke(store, *args):
    return CliRunner().invoke(app, ["--store", str(store / "runs"), *args])


def test_rerun_resumes_and_set_overrides(store):
    result = invoke(store, "run", str(store / "spec.toml"))
    assert "stored 0 runs (4 already stored)" in result.output
    result = invoke(store, "run", str(store / "spec.toml"), "--set", "run.steps=20", "--no-report")
    assert result.exit_code == 0 and "stored 4 runs" in result.output


def test_query_formats(store):
    out = invoke(store, "query", "select count(*) as n from runs", "--format", "json")
    assert json.loads(out.output) == [{"n": 8}]
    out = invoke(store, "query", "select name from runs where run = 0 order by name limit 1", "--format", "csv")
    assert out.output.splitlines()[0] == "name"
    assert out.output.splitlines()[1].strip('"') == "sgd[lr=0.1,seed=0]"
    out = invoke(store, "query", "select metric, count(*) from curves group by metric")
    assert out.exit_code == 0 and "population_risk" in out.output


def test_show_report_and_list(store):
    assert "cli-test" in invoke(store, "show", "cli-test").output
    assert "population_risk" in invoke(store, "show", "sgd[lr=0.3,seed=1]").output
    out = invoke(store, "report", "cli-test")
    assert out.exit_code == 0 and "index.html" in out.output
    listing = invoke(store, "list").output
    for word in ("least_squares", "sgd", "adam", "sgd-risk-curves", "metrics", "random_reshuffling"):
        assert word in listing


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["run", "nonexistent.toml"], "target"),
        (["run", "{spec}", "--set", "problem.dim=-3"], "problem.dim"),
        (["run", "{spec}", "--set", "optimizer.name=sgdd"], "optimizer.name"),
        (["run", "{spec}", "--set", "run.steps"], "--set"),
        (["query", "drop table runs"], "only SELECT"),
        (["query", "select * from nowhere"], "nowhere"),
        (["query", "select 1", "--format", "xml"], "--format"),
        (["show", "no-such-experiment"], "no experiment"),
        (["list", "planets"], "what"),
        (["run", "sgd-risk-curves", "--scale", "huge"], "--scale"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(store, args, field):
    args = [a.replace("{spec}", str(store / "spec.toml")) for a in args]
    result = invoke(store, *args)
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and field in lines[0], result.output
    assert "Traceback" not in result.output


def test_predict_prints_and_writes_csv(tmp_path):
    out = CliRunner().invoke(
        app,
        [
            "predict",
            "sgd_least_squares",
            "--param",
            "dim=50",
            "--param",
            "learning_rate=0.5",
            "--steps",
            "100",
            "--points",
            "5",
        ],
    )
    assert out.exit_code == 0, out.output
    lines = out.output.strip().splitlines()
    assert lines[0].split() == ["step", "risk", "excess_risk"] and lines[1].split()[:2] == ["0", "0.5"]
    target = tmp_path / "curve.csv"
    out = CliRunner().invoke(app, ["predict", "sgd_least_squares_ode", "--param", "dim=50", "--csv", str(target)])
    assert out.exit_code == 0 and target.read_text().startswith("step,risk")
    bad = CliRunner().invoke(app, ["predict", "sgd_least_squares", "--param", "dim=-4"])
    assert bad.exit_code == 2 and bad.output.startswith("error: param.dim")


def _table_rows(table):
    columns = [list(column.cells) for column in table.columns]
    return [list(row) for row in zip(*columns, strict=True)]


def test_summary_table_matches_per_group_means_and_cuts_long_tables():
    import numpy as np
    import pandas as pd

    from descentlab.cli import _summary_table

    rng = np.random.default_rng(0)
    lrs, widths = np.geomspace(0.01, 1.0, 10), [4, 8, 16]
    rows = [
        {
            "lr": lr,
            "width": w,
            "seed": s,
            "status": "diverged" if (lr > 0.5 and s == 0) else "ok",
            "final_loss": rng.normal(),
            "final_gnorm": rng.normal(),
        }
        for lr in lrs
        for w in widths
        for s in range(3)
    ]
    runs = pd.DataFrame(rows)
    runs.loc[runs["status"] != "ok", "final_loss"] = np.inf
    table = _summary_table(runs, "t", max_rows=100)
    assert [c.header for c in table.columns][-4:] == ["runs", "diverged", "mean loss", "mean gnorm"]
    printed = _table_rows(table)
    assert len(printed) == 30
    for cells, ((lr, w), members) in zip(printed, runs.groupby(["lr", "width"]), strict=True):
        ok = members[members["status"] == "ok"]
        assert cells[-4:-2] == [str(len(members)), str(len(members) - len(ok))]
        assert cells[-2] == f"{ok['final_loss'].mean():.4g}"  # the diverged run's inf is left out
        assert cells[:2] == [f"{lr:.4g}", str(w)]
    cut = _table_rows(_summary_table(runs, "t", max_rows=10))
    assert len(cut) == 11 and cut[5][0] == "… 20 more"
    assert cut[:5] == printed[:5] and cut[6:] == printed[-5:]


def test_summary_table_prints_close_axis_values_apart():
    import pandas as pd

    from descentlab.cli import _summary_table

    lrs = [85.8512, 85.8519, 85.8526]
    runs = pd.DataFrame({"lr": lrs, "status": ["ok"] * 3, "final_loss": [1.0, 2.0, 3.0]})
    printed = [row[0] for row in _table_rows(_summary_table(runs, "zoom"))]
    assert printed == ["85.851", "85.852", "85.853"]  # five digits keep them apart; four would not
