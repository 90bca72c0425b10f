"""parallel-mcmc: the parallel Newton chain equals the sequential one and needs tens of iterations at --quick size;
the verdict functions reject wrong tables; the must-fail controls run in test_controls."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from descentlab.store import Store, query
from descentlab.store.schema import final_column
from descentlab.studies import StudyOptions, run_study
from descentlab.studies.parallel_mcmc import (
    CHECK_EQUAL,
    CHECK_EXPONENT,
    COLUMNS,
    UPDATE,
    equality_figure,
    iteration_exponent,
)


@pytest.fixture(scope="module")
def outcome(tmp_path_factory):
    return run_study("parallel-mcmc", Store(tmp_path_factory.mktemp("store")), StudyOptions(quick=True), report=False)


def test_quick_verdicts_pass(outcome):
    for verdict in outcome.analysis.verdicts:
        assert verdict.passed, verdict.line()
    table = outcome.analysis.summary
    assert list(table["length"]) == [100, 1000, 10_000]
    assert table["iterations"].max() < 30
    assert 0.5 < table["acceptance"].min() < 1.0  # a chain that moves and rejects


def test_the_verdict_figures_are_the_stored_rows(outcome):
    result = outcome.results[0]
    assert result.info["executor"] == "computation" and result.info["status"] == "complete"
    runs = result.runs
    assert {final_column(name) for name in COLUMNS} <= set(runs.columns)
    assert outcome.analysis.verdicts[0].figure == pytest.approx(runs[final_column("max_abs_difference")].max())
    updates = result.curves[result.curves["metric"] == UPDATE]
    assert updates.groupby("run")["step"].max().tolist() == runs[final_column("iterations")].astype(int).tolist()
    rows = query(result.store.root, "select count(*) as n from runs where computation_length = 1000")
    assert int(rows["n"].iloc[0]) == 1


def test_a_stored_computation_is_read_back_not_run_again(outcome):
    result = outcome.results[0]
    again = run_study("parallel-mcmc", result.store, StudyOptions(quick=True), report=False)
    assert again.results[0].experiment == result.experiment and again.results[0].summary.computed == 0
    assert again.analysis.verdicts[0].figure == outcome.analysis.verdicts[0].figure


def _table(differences, iterations, converged=None) -> pd.DataFrame:
    lengths = [100, 1000, 10_000][: len(differences)]
    converged = [1.0] * len(lengths) if converged is None else converged
    return pd.DataFrame(
        {"length": lengths, "iterations": iterations, "converged": converged, "max_abs_difference": differences}
    )


def test_equality_fails_on_a_difference_or_an_unconverged_solve():
    figure, converged, _ = equality_figure(_table([1e-15, 2e-15, 1e-15], [10, 12, 14]))
    assert converged and figure <= CHECK_EQUAL.tolerance
    figure, _, _ = equality_figure(_table([1e-15, 1e-6, 1e-15], [10, 12, 14]))
    assert figure > CHECK_EQUAL.tolerance  # one state off by 1e-6
    figure, converged, detail = equality_figure(_table([1e-15, 1e-15, 1e-15], [10, 12, 64], [1.0, 1.0, 0.0]))
    assert not converged and figure == np.inf and "10000" in detail
    assert not CHECK_EQUAL.verdict(figure, passed=converged).passed
    figure, _, _ = equality_figure(_table([1e-15, np.inf], [10, 64]))
    assert not CHECK_EQUAL.verdict(figure).passed


def test_the_exponent_separates_tens_of_iterations_from_growth_with_t():
    exponent, _ = iteration_exponent(_table([0.0] * 3, [11, 13, 14]))
    assert exponent < CHECK_EXPONENT.tolerance
    exponent, _ = iteration_exponent(_table([0.0] * 3, [10, 20, 40]))  # ∝ T^0.3
    assert exponent > CHECK_EXPONENT.tolerance
    exponent, _ = iteration_exponent(_table([0.0] * 3, [11, 13, 14], [1.0, 1.0, 0.0]))
    assert exponent == np.inf
