"""clipped-heavy-tails: the study passes at --quick; its verdict logic rejects wrong quantile curves; the
heavy-tailed oracle option (Student-t ``noise_tail``) leaves the Gaussian default bit-identical."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from descentlab.problems.quadratic import Quadratic
from descentlab.store import Store
from descentlab.studies import StudyOptions, run_study
from descentlab.studies.clipped_heavy_tails import (
    CHECK_EXPONENTS,
    CHECK_LEVEL,
    CHECK_MODELS,
    TAIL,
    delta_grid,
    exponent_figure,
    level_figure,
    model_figure,
    power_fit,
)

QUICK = StudyOptions(quick=True)
DELTAS = delta_grid(20_000)


@pytest.fixture(scope="module")
def outcome(tmp_path_factory):
    return run_study("clipped-heavy-tails", Store(tmp_path_factory.mktemp("store")), QUICK, report=False)


def test_quick_verdicts_pass(outcome):
    for verdict in outcome.analysis.verdicts:
        assert verdict.passed, verdict.line()
    table = outcome.analysis.summary
    # at the smallest δ, SGD's error quantile is far above clipped SGD's
    assert table["sgd quantile"].iloc[-1] > 20 * table["clipped quantile"].iloc[-1]


def _power(deltas: np.ndarray, s: float) -> np.ndarray:
    return 3.0 * deltas**-s


def _log(deltas: np.ndarray) -> np.ndarray:
    return 1.5 + 0.15 * np.log(1 / deltas)


def test_power_fit_recovers_a_known_exponent():
    assert power_fit(DELTAS, _power(DELTAS, 0.5))[0] == pytest.approx(0.5, abs=1e-12)


def test_headline_rejects_wrong_exponents():
    good = exponent_figure(power_fit(DELTAS, _power(DELTAS, 1 / TAIL))[0], power_fit(DELTAS, _log(DELTAS))[0], 1 / TAIL)
    assert CHECK_EXPONENTS.verdict(good).passed
    for sgd, clipped in ((1 / TAIL, 1 / TAIL), (0.07, 0.07), (1 / TAIL + 0.2, 0.0), (1 / TAIL, 0.2)):
        assert not CHECK_EXPONENTS.verdict(exponent_figure(sgd, clipped, 1 / TAIL)).passed, (sgd, clipped)


def test_model_selection_prefers_the_claimed_model_and_rejects_swapped_curves():
    figure, _ = model_figure(_power(DELTAS, 0.6), _log(DELTAS), DELTAS)
    assert CHECK_MODELS.verdict(figure).passed
    assert not CHECK_MODELS.verdict(model_figure(_log(DELTAS), _power(DELTAS, 0.6), DELTAS)[0]).passed
    assert not CHECK_MODELS.verdict(model_figure(_power(DELTAS, 0.6), _power(DELTAS, 0.6), DELTAS)[0]).passed


def test_tail_level_rejects_a_wrong_level():
    predicted = _power(DELTAS, 1 / TAIL)
    assert CHECK_LEVEL.verdict(level_figure(1.1 * predicted, predicted, DELTAS)).passed
    assert not CHECK_LEVEL.verdict(level_figure(1.5 * predicted, predicted, DELTAS)).passed
    assert not CHECK_LEVEL.verdict(level_figure(0.6 * predicted, predicted, DELTAS)).passed


def test_gaussian_default_oracle_is_bit_identical():
    key = jax.random.key(3)
    plain = Quadratic(dim=4, grad_noise=0.5).sample(key, 8)["xi"]
    explicit = Quadratic(dim=4, grad_noise=0.5, noise_tail=0.0).sample(key, 8)["xi"]
    np.testing.assert_array_equal(np.asarray(plain), np.asarray(jax.random.normal(key, (8, 4))))
    np.testing.assert_array_equal(np.asarray(plain), np.asarray(explicit))


def test_student_t_oracle_has_the_declared_tail_and_stays_unbiased():
    problem = Quadratic(dim=2, grad_noise=1.0, noise_tail=TAIL)
    xi = np.asarray(problem.sample(jax.random.key(0), 200_000)["xi"]).ravel()
    # two-sided tail at u = 5, 20 against Student-t(ν = 1.5): P(|ξ|>u) within 6 % (≥ 1 700 exceedances)
    for u in (5.0, 20.0):
        assert np.mean(np.abs(xi) > u) == pytest.approx(2 * stats.t.sf(u, TAIL), rel=0.06)
    x = jnp.asarray([0.3, -1.0])
    keys = jax.random.split(jax.random.key(1), 20_000)
    grads = np.asarray(jax.vmap(lambda k: jax.grad(problem.loss)(x, problem.sample(k, 1)))(keys))
    exact = np.asarray(jax.grad(problem.value)(x))
    # the mean of a tail-1.5 variable converges slowly: a median check of unbiasedness (symmetric noise); the
    # sample median's sd is 1/(2 f(0) √n) = 0.0104 (f(0) = 0.341 for ν = 1.5), so 0.05 is ≈ 5 sd
    np.testing.assert_allclose(np.median(grads, axis=0), exact, atol=0.05)
