"""Output to no terminal: the summary table keeps one line per row (no 80-column wrap), and progress is plain
lines with runs done / total and an ETA — per experiment — while a terminal gets a Rich bar with the same."""

from __future__ import annotations

import io
import re

import matplotlib.pyplot as plt
import numpy as np
import pytest
from rich.console import Console
from typer.testing import CliRunner

from descentlab.cli import PIPE_WIDTH, _Console, _Progress, app
from descentlab.report.compare import compare_figure
from descentlab.report.figures import WALL_CLOCK_LABEL
from descentlab.store import Store

SPEC = """
name = "terminal-test"
[problem]
name = "least_squares"
dim = 8
[optimizer]
name = "sgd"
learning_rate = {grid = [0.1, 0.2, 0.31234567]}
momentum = {grid = [0.0, 0.5]}
[run]
steps = 40
seeds = 2
checkpoints = 4
chunk_size = 4
vmap_width = 4
"""
GROUPS = 6


@pytest.fixture(scope="module")
def ran(tmp_path_factory):
    """A spec of 12 runs in 3 chunks run through the CLI with stdout and stderr captured (no terminal)."""
    folder = tmp_path_factory.mktemp("terminal")
    (folder / "spec.toml").write_text(SPEC)
    result = CliRunner().invoke(
        app, ["--store", str(folder / "runs"), "run", str(folder / "spec.toml"), "--no-report"], env={"COLUMNS": None}
    )
    assert result.exit_code == 0, result.output
    return folder, result


def _table_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("│")]


def test_the_summary_table_does_not_wrap_in_a_pipe(ran):
    _, result = ran
    header = next(line for line in result.stdout.splitlines() if line.startswith("┃"))
    assert "optimizer_learning_rate" in header and "mean population_risk" in header
    assert len(header) > 80  # Rich alone would have wrapped it at 80 columns
    rows = _table_lines(result.stdout)
    assert len(rows) == GROUPS  # one line per group: no cell folded onto a second line
    assert {len(row) for row in rows} == {len(header)}
    assert any("0.3123" in row for row in rows)


def test_show_and_query_tables_keep_their_rows_whole(ran):
    folder, _ = ran
    runner = CliRunner()
    shown = runner.invoke(app, ["--store", str(folder / "runs"), "show", "terminal-test"], env={"COLUMNS": "40"})
    assert shown.exit_code == 0, shown.output
    assert len(_table_lines(shown.stdout.split("runs", 1)[-1])) >= GROUPS  # even when COLUMNS is narrow
    assert "invocations" in shown.stdout
    sql = "select name, optimizer_learning_rate, optimizer_momentum, seconds_per_step, final_population_risk from runs"
    queried = runner.invoke(app, ["--store", str(folder / "runs"), "query", sql], env={"COLUMNS": None})
    assert queried.exit_code == 0, queried.output
    rows = _table_lines(queried.stdout)
    assert len(rows) == 2 * GROUPS and all("sgd[" in row and "]" in row for row in rows)


def test_progress_in_a_pipe_shows_done_total_and_the_end(ran):
    _, result = ran
    lines = [line for line in result.stderr.splitlines() if " runs " in line]
    assert re.fullmatch(r".*spec\.toml: 0/12 runs \(0%\) · 0 diverged · \d+s elapsed · ETA —", lines[0]), lines
    assert re.fullmatch(r".*spec\.toml: 12/12 runs \(100%\) · \d+ diverged · \d+s elapsed · done", lines[-1]), lines


def test_the_console_is_wide_when_writing_to_no_terminal(monkeypatch):
    monkeypatch.delenv("COLUMNS", raising=False)
    assert _Console(file=io.StringIO()).width == PIPE_WIDTH
    assert Console(file=io.StringIO()).width == 80  # what Rich alone gives a pipe
    monkeypatch.setenv("COLUMNS", "137")
    assert _Console(file=io.StringIO()).width == 137
    assert _Console(file=io.StringIO(), width=90).width == 90
    assert _Console(file=io.StringIO(), force_terminal=True, width=72).width == 72  # a terminal: its own width


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_progress_lines_per_experiment_with_an_eta():
    out, clock = io.StringIO(), Clock()
    progress = _Progress("study-x", stream=_Console(file=out), every=30.0, clock=clock)
    progress.begin("aaaaaaaa1111")
    progress(4, 20, 0)  # resumed: 4 runs stored before, no pace yet
    clock.now += 10
    progress(8, 20, 1)  # 4 runs in 10 s; not 30 s since the last line: no line
    clock.now += 25
    progress(12, 20, 1)  # 8 runs in 35 s → 8 left take 35 s
    clock.now += 5
    progress(20, 20, 2)  # the last one is always written
    progress.begin("bbbbbbbb2222")
    clock.now += 1
    progress(0, 6, 0)
    clock.now += 3
    progress(3, 6, 0)
    lines = out.getvalue().splitlines()
    assert lines == [
        "study-x · experiment 1 (aaaaaaaa): 4/20 runs (20%) · 0 diverged · 0s elapsed · ETA —",
        "study-x · experiment 1 (aaaaaaaa): 12/20 runs (60%) · 1 diverged · 35s elapsed · ETA 35s",
        "study-x · experiment 1 (aaaaaaaa): 20/20 runs (100%) · 2 diverged · 40s elapsed · done",
        "study-x · experiment 2 (bbbbbbbb): 0/6 runs (0%) · 0 diverged · 0s elapsed · ETA —",
    ]
    clock.now += 27
    progress(4, 6, 0)  # 30 s after the last line: written, with a pace of 4 runs in 30 s
    assert out.getvalue().splitlines()[-1] == (
        "study-x · experiment 2 (bbbbbbbb): 4/6 runs (66%) · 0 diverged · 30s elapsed · ETA 15s"
    )
    assert progress.eta(4, 6) == pytest.approx(2 * 30 / 4)


def test_progress_on_a_terminal_is_a_bar_with_done_total_and_eta():
    out, clock = io.StringIO(), Clock()
    terminal = _Console(file=out, force_terminal=True, width=120)
    progress = _Progress("spec.toml", stream=terminal, clock=clock)
    progress(0, 64, 0)
    clock.now += 3620
    progress(16, 64, 0)
    progress.close()
    text = out.getvalue()
    assert "16/64" in text and "ETA 3h01m" in text


def test_compare_against_wall_clock(ran):
    folder, _ = ran
    store = Store(folder / "runs")
    experiment = store.resolve("terminal-test")
    runs, curves = store.read(experiment, "runs"), store.read(experiment, "curves")
    fig = compare_figure(store, experiment, experiment, metric="population_risk", x="wall_clock")
    assert fig.axes[0].get_xlabel() == WALL_CLOCK_LABEL
    keys = ["optimizer_learning_rate", "optimizer_momentum"]
    ok = runs[runs["status"] == "ok"]
    seconds = ok.groupby(keys)["seconds_per_step"].mean()
    steps = np.sort(curves.loc[curves["step"] > 0, "step"].unique())
    drawn = [line for line in fig.axes[0].get_lines() if len(line.get_xdata())]
    assert len(drawn) == 2 * len(seconds)  # each group, once per (identical) experiment
    expected = sorted(tuple(steps * s) for s in seconds)
    assert sorted(tuple(np.asarray(line.get_xdata(), float)) for line in drawn) == sorted(expected * 2)
    plt.close(fig)
    out = folder / "cmp.png"
    args = ["--store", str(folder / "runs"), "compare", experiment, experiment, "--x", "wall_clock"]
    result = CliRunner().invoke(app, [*args, "--out", str(out)])
    assert result.exit_code == 0 and out.is_file(), result.output
    bad = CliRunner().invoke(app, ["--store", str(folder / "runs"), "compare", experiment, experiment, "--x", "time"])
    assert bad.exit_code == 2 and "--x" in bad.output
