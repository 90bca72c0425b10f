"""scaling-laws: passes at --quick; its fits recover known exponents from synthetic curves and reject wrong ones.

The must-fail controls (no-power-law, swapped-exponents) run in tests/studies/test_controls.py."""

from __future__ import annotations

import numpy as np
import pytest

from descentlab.store import Store, query
from descentlab.studies import StudyOptions, run_study
from descentlab.studies.scaling_laws import (
    CHECK_CURVE,
    CHECK_SIZE,
    CHECK_TIME,
    compute_exponent,
    curve_verdict,
    exponent_verdicts,
    fitted_exponents,
    predicted,
)
from descentlab.theory.scaling_laws import scaling_exponents


@pytest.fixture(scope="module")
def outcome(tmp_path_factory):
    store = Store(tmp_path_factory.mktemp("store"))
    return store, run_study("scaling-laws", store, StudyOptions(quick=True))


def test_quick_verdicts_pass_and_are_stored(outcome):
    store, result = outcome
    verdicts = result.analysis.verdicts
    assert [v.check for v in verdicts] == [
        "scaling-laws",
        "time-exponent",
        "size-exponent",
        "compute-exponent",
        "loss-curve",
    ]
    for v in verdicts:
        assert v.passed, v.line()
    assert 0 < verdicts[0].figure < 1
    stored = query(store.root, "select * from verdicts")
    assert len(stored) == len(verdicts) and bool(stored.passed.all())
    runs = result.results[0].runs
    assert len(runs) == 4 * 8 and (runs.status == "ok").all()
    table = result.analysis.summary.set_index("exponent")
    assert np.isclose(table.loc["time", "predicted"], 2 / 3) and np.isclose(table.loc["compute", "predicted"], 0.4)
    assert result.report.exists()


def _synthetic(x: float, y: float, ns: np.ndarray, t: np.ndarray, b: float = 1.5) -> tuple[np.ndarray, np.ndarray]:
    """L(t, N) = N^-y + t^-x e^(−t/N^b): the bottleneck form, the time term cut off at the crossover t ≈ N^b (as in
    the model, where the modes beyond N cannot be learned); returns (L, L − floor)."""
    excess = np.array([t ** (-x) * np.exp(-t / float(n) ** b) for n in ns])
    return excess + (ns.astype(float) ** (-y))[:, None], excess


NS = np.array([16, 32, 64, 128, 256, 512])
TIMES = np.geomspace(0.5, 8192, 120)


def test_fits_recover_the_exponents_of_the_bottleneck_form():
    """b = 1.5, a = 2 (x = 2/3, y = 1): measured fits 0.674, 0.976 and 0.400 (= xy/(x+y)); all verdicts pass."""
    e = scaling_exponents(1.5, 2.0)
    losses, excess = _synthetic(e.time, e.size, NS, TIMES)
    fitted, spread = fitted_exponents(NS, TIMES, losses, excess, 1.5)
    assert abs(fitted["time"] - e.time) < 0.02
    assert abs(fitted["size"] - e.size) < 0.05
    assert abs(fitted["compute"] - e.compute) < 0.02
    verdicts = exponent_verdicts(fitted, e, spread)
    assert all(v.passed for v in verdicts), [v.line() for v in verdicts]


@pytest.mark.parametrize(
    "x_shift,y_shift,failing",
    [(0.2, 0.0, "time-exponent"), (0.0, 0.3, "size-exponent"), (0.4, 0.5, "compute-exponent")],
)
def test_wrong_exponents_in_the_data_fail_their_check_and_the_headline(x_shift, y_shift, failing):
    """Curves with other exponents judged against b = 1.5, a = 2: time 0.87 (vs 0.67), size 1.19 (vs 1), compute
    ≈ 0.6 (vs 0.4) each fail their check, and the headline."""
    e = scaling_exponents(1.5, 2.0)
    losses, excess = _synthetic(e.time + x_shift, e.size + y_shift, NS, TIMES)
    fitted, _ = fitted_exponents(NS, TIMES, losses, excess, 1.5)
    verdicts = {v.check: v for v in exponent_verdicts(fitted, e)}
    assert not verdicts[failing].passed, verdicts[failing].line()
    assert not verdicts["scaling-laws"].passed


def test_nan_fits_fail():
    verdicts = exponent_verdicts({"time": np.nan, "size": 1.0, "compute": 0.4}, scaling_exponents(1.5, 2.0))
    assert not verdicts[0].passed and not verdicts[1].passed


def test_compute_envelope_needs_an_interior_optimum():
    """With one model size nothing is interior: no compute exponent (NaN), so the check cannot pass by default."""
    t = np.geomspace(1, 1000, 50)
    assert np.isnan(compute_exponent(np.array([64]), t, (t**-0.5)[None, :], 1.0))


def test_curve_verdict_rejects_a_curve_off_by_thirty_percent():
    theory = [np.geomspace(1, 0.01, 20)]
    assert curve_verdict([theory[0] * 1.05], theory).passed
    assert not curve_verdict([theory[0] * 1.3], theory).passed
    assert CHECK_CURVE.tolerance < 0.3


def test_exact_floor_is_the_problems_f_star():
    from descentlab.problems.random_features import RandomFeatures
    from descentlab.studies.scaling_laws import exact_floor

    problem = RandomFeatures(
        n_features=16, latent_dim=200, alpha=0.75, beta=0.25, feature_source="jax", feature_key=3.0
    )
    assert np.isclose(exact_floor(problem), float(problem.f_star), rtol=1e-4)


def test_problem_options_exact_gradient_spectrum_and_jax_features():
    """The additive options the study uses: the training loss is the population risk, the exponential spectrum,
    and W drawn in JAX from a (vmappable) key; the defaults are unchanged."""
    import jax
    import jax.numpy as jnp

    from descentlab.problems.random_features import RandomFeatures

    base = RandomFeatures(n_features=8, latent_dim=30)
    assert base.spectrum == "power_law" and not base.exact_gradient and base.feature_source == "numpy"
    exact = RandomFeatures(n_features=8, latent_dim=30, exact_gradient=True)
    theta = jnp.linspace(-1.0, 1.0, 8)
    batch = exact.sample(jax.random.key(0), 4)
    assert float(exact.loss(theta, batch)) == float(exact.population_risk(theta))
    assert float(base.loss(theta, batch)) != float(base.population_risk(theta))
    expo = RandomFeatures(n_features=8, latent_dim=30, alpha=0.5, spectrum="exponential", decay_length=4.0)
    assert np.allclose(np.asarray(expo.input_variances), np.exp(-np.arange(30) / 4.0), rtol=1e-5)
    a, b = (RandomFeatures(n_features=8, latent_dim=30, feature_source="jax", feature_key=k) for k in (1.0, 2.0))
    again = RandomFeatures(n_features=8, latent_dim=30, feature_source="jax", feature_key=1.0)
    assert np.array_equal(np.asarray(a.features), np.asarray(again.features))
    assert not np.allclose(np.asarray(a.features), np.asarray(b.features))


def test_predicted_exponents_follow_the_problem_parameters():
    e = predicted(0.75, 0.25)
    assert np.isclose(e.time, 2 / 3) and np.isclose(e.size, 1.0) and np.isclose(e.compute, 0.4)
    swapped = predicted(0.75, 0.25, swap=True)  # b = 0.5, a = 2
    assert np.isclose(swapped.time, 2.0) and np.isclose(swapped.size, 0.5)
    assert CHECK_TIME.tolerance < abs(swapped.time - e.time) and CHECK_SIZE.tolerance < abs(swapped.size - e.size)
