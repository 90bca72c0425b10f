"""kernel-sgd-curves: passes at --quick, and its verdict logic rejects wrong inputs (synthetic numbers).

The must-fail controls (constant-step, krr-exponent) run in tests/studies/test_controls.py."""

from __future__ import annotations

import jax
import numpy as np
import pandas as pd
import pytest

from descentlab.problems.kernel_regression import KernelRegression
from descentlab.store import Store, query
from descentlab.studies import StudyOptions, run_study
from descentlab.studies import kernel_sgd_curves as ks


@pytest.fixture(scope="module")
def outcome(tmp_path_factory):
    store = Store(tmp_path_factory.mktemp("store"))
    return store, run_study("kernel-sgd-curves", store, StudyOptions(quick=True))


def test_quick_verdicts_pass_and_are_stored(outcome):
    store, result = outcome
    rate, precision, separation = result.analysis.verdicts
    assert rate.passed, rate.line()
    assert precision.passed, precision.line()
    assert separation.passed, separation.line()
    stored = query(store.root, "select * from verdicts")
    assert len(stored) == 3 and stored.passed.all()
    table = result.analysis.summary
    assert (table["diverged runs"] == 0).all()
    size = ks.SIZES["quick"]
    assert len(result.results) == len(size["horizons"]) + len(ks.source_horizons(size, ks.SATURATED))


def _table(fitted: list[float], se: float | list[float] = 0.01, bias: float = 0.0) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "source": list(ks.SOURCES),
            "fitted exponent": fitted,
            "exponent s.e.": se,
            "predicted exponent": [ks.theory.sgd_exponent(s, ks.KERNEL_DECAY) for s in ks.SOURCES],
            "krr exponent": [ks.theory.krr_exponent(s, ks.KERNEL_DECAY) for s in ks.SOURCES],
            "recursion bias": bias,
        }
    )


def test_rate_verdict_passes_on_the_predicted_exponents_and_fails_off_them():
    exact = [ks.theory.sgd_exponent(s, ks.KERNEL_DECAY) for s in ks.SOURCES]
    k = ks.CHECK_RATE.tolerance
    assert ks.rate_verdict(_table(exact)).passed
    assert not ks.rate_verdict(_table([exact[0], exact[1], 0.8])).passed  # saturated at s = 6
    assert not ks.rate_verdict(_table([exact[0] + 0.1, exact[1], exact[2]])).passed
    assert not ks.rate_verdict(_table([np.nan, exact[1], exact[2]])).passed
    # the allowance is |recursion bias| + FOURIER_SHORTFALL + k s.e.: just inside passes, just outside fails
    edge = exact[0] + 0.02 + ks.FOURIER_SHORTFALL
    assert ks.rate_verdict(_table([edge + 0.99 * k * 0.01, exact[1], exact[2]], bias=0.02)).passed
    assert not ks.rate_verdict(_table([edge + 1.01 * k * 0.01, exact[1], exact[2]], bias=-0.02)).passed
    assert not ks.rate_verdict(_table([exact[0], exact[1], exact[2] - 0.06], se=0.01)).passed  # below, too
    # a wide error bar does not buy a pass: every s.e. must be within the precision check
    wide = ks.CHECK_PRECISION.tolerance * 2
    assert not ks.rate_verdict(_table([exact[0] + 0.1, exact[1], exact[2]], se=wide)).passed
    assert not ks.rate_verdict(_table(exact, se=[0.01, 0.0, 0.01])).passed  # a zero s.e. cannot divide


def test_precision_verdict_rejects_a_wide_error_bar():
    assert ks.precision_verdict(_table([0.6, 0.75, 0.92], se=0.01)).passed
    assert not ks.precision_verdict(_table([0.6, 0.75, 0.92], se=[0.01, 0.05, 0.01])).passed
    assert not ks.precision_verdict(_table([0.6, 0.75, 0.92], se=[0.01, np.nan, 0.01])).passed


def test_separation_verdict_rejects_a_saturated_curve():
    assert ks.separation_verdict(_table([0.6, 0.75, 0.92])).passed
    assert not ks.separation_verdict(_table([0.6, 0.75, 0.81])).passed
    assert not ks.separation_verdict(_table([0.6, 0.75, np.nan])).passed


def test_fit_exponent_recovers_a_power_law_and_its_seed_error():
    n = np.array([512, 1024, 2048, 4096])
    exponent, se = ks.fit_exponent(n, 3.0 * n**-0.7, 0.05 * 3.0 * n**-0.7)
    assert exponent == pytest.approx(0.7)
    dx = np.log(n) - np.log(n).mean()
    assert se == pytest.approx(0.05 / np.sqrt(dx @ dx))
    assert np.isnan(ks.fit_exponent(n[:2], n[:2] ** -1.0, n[:2] * 0.0)[0])


def test_stream_kernel_regression_samples_the_target():
    problem = KernelRegression(n_train=0, n_modes=8, noise=0.0)
    assert problem.is_stream and float(problem.f_star) == 0.0
    batch = problem.sample(jax.random.PRNGKey(0), 5)
    assert batch["x"].shape == (5,) and (batch["x"] >= 0).all() and (batch["x"] < 2 * np.pi).all()
    theta_star = problem.target_coefficients / np.sqrt(problem.eigenvalues)
    np.testing.assert_allclose(problem.predict(theta_star, batch["x"]), batch["y"], atol=1e-5)
    assert float(problem.metrics(theta_star)["excess_risk"]) == pytest.approx(0.0, abs=1e-10)
    assert not KernelRegression().is_stream  # the default stays a finite training set
