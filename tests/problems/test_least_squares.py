"""Least squares: spectra, teacher normalisation, exact population risk, finite-sample constants."""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from descentlab.params import SpecError
from descentlab.problems import PROBLEMS
from descentlab.problems.least_squares import LeastSquares


def test_defaults_unchanged():
    defaults = {f.name: f.default for f in dataclasses.fields(LeastSquares)}
    assert defaults["dim"] == 500 and defaults["spectrum"] == "isotropic" and defaults["normalize"] == "trace"
    assert defaults["teacher"] == "flat" and defaults["noise"] == 0.0 and defaults["init_scale"] == 0.0
    assert defaults["n_samples"] == 0 and LeastSquares().is_stream
    assert PROBLEMS.get("least_squares") is LeastSquares


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"spectrum": "isotropic"}, np.ones(8)),
        ({"spectrum": "power_law", "alpha": 1.5}, np.arange(1, 9) ** -1.5),
        ({"spectrum": "zero_one", "zero_fraction": 0.25}, np.array([1, 1, 1, 1, 1, 1, 0, 0.0])),
        ({"spectrum": "two_level", "low_fraction": 0.5, "low_value": 0.2}, np.array([1, 1, 1, 1, 0.2, 0.2, 0.2, 0.2])),
        ({"spectrum": "custom", "spectrum_values": "4, 2,1,0.5"}, np.repeat([4, 2, 1, 0.5], 2)),
        ({"spectrum": "custom", "spectrum_values": ",".join(str(v) for v in range(1, 9))}, np.arange(1, 9.0)),
    ],
)
def test_spectra_are_trace_normalised(kwargs, expected):
    lam = np.asarray(LeastSquares(dim=8, **kwargs).eigenvalues)
    np.testing.assert_allclose(lam, expected / expected.sum(), rtol=1e-6)
    lam_max = np.asarray(LeastSquares(dim=8, normalize="max", **kwargs).eigenvalues)
    np.testing.assert_allclose(lam_max, expected / expected.max(), rtol=1e-6)


@pytest.mark.parametrize("values", ["", "1,2,3", "1,-1", "a,b", "0,0"])
def test_custom_spectrum_errors_name_the_field(values):
    with pytest.raises(SpecError) as err:
        LeastSquares(dim=8, spectrum="custom", spectrum_values=values)
    assert err.value.field == "problem.spectrum_values" and "dividing dim = 8" in str(err.value)


@pytest.mark.parametrize("teacher", ["flat", "power_law", "random"])
def test_teacher_signal_is_one_and_profile(teacher):
    problem = LeastSquares(dim=16, spectrum="power_law", alpha=1.2, teacher=teacher, teacher_decay=2.0)
    theta, lam = np.asarray(problem.theta_star), np.asarray(problem.eigenvalues)
    np.testing.assert_allclose(np.sum(lam * theta**2), 1.0, rtol=1e-5)
    if teacher == "power_law":  # (θ*_i)² ∝ i^-β
        np.testing.assert_allclose(theta**2 / theta[0] ** 2, np.arange(1, 17) ** -2.0, rtol=1e-5)


def test_population_risk_matches_monte_carlo():
    problem = LeastSquares(dim=20, spectrum="power_law", alpha=1.0, noise=0.5, init_scale=2.0, teacher="random")
    params = problem.init(jax.random.key(0))
    batch = problem.sample(jax.random.key(1), 200_000)
    per_example = np.asarray(jax.vmap(problem.example_loss, in_axes=(None, 0))(params, batch), np.float64)
    se = per_example.std() / np.sqrt(per_example.size)
    assert abs(per_example.mean() - float(problem.population_risk(params))) < 4 * se
    assert float(problem.f_star) == pytest.approx(0.125)
    np.testing.assert_allclose(float(problem.population_risk(problem.optimum())), 0.125, rtol=1e-6)


def test_stream_constants_are_spectrum_extremes():
    problem = LeastSquares(dim=10, spectrum="power_law", alpha=2.0, normalize="max")
    assert float(problem.smoothness) == pytest.approx(1.0)
    assert float(problem.strong_convexity) == pytest.approx(10.0**-2.0, rel=1e-5)


@pytest.mark.parametrize(("n", "d"), [(30, 6), (5, 8)])
def test_finite_sample_constants_match_numpy(n, d):
    with jax.enable_x64(True):
        problem = LeastSquares(dim=d, n_samples=n, spectrum="power_law", noise=0.3, data_seed=3)
        assert not problem.is_stream and problem.n_examples == n
        with pytest.raises(NotImplementedError):
            problem.sample(jax.random.key(0), 2)
        data = problem.dataset()
        x, y = np.asarray(data["x"]), np.asarray(data["y"])
        w, *_ = np.linalg.lstsq(x, y, rcond=None)
        f_star = 0.5 * np.mean((x @ w - y) ** 2)
        evals = np.linalg.eigvalsh(x.T @ x / n)
        np.testing.assert_allclose(float(problem.f_star), f_star, rtol=1e-8, atol=1e-14)
        np.testing.assert_allclose(float(problem.smoothness), evals[-1], rtol=1e-10)
        np.testing.assert_allclose(float(problem.strong_convexity), evals[0] if n >= d else 0.0, atol=1e-12)
        grad = jax.grad(problem.loss)(problem.optimum(), data)
        assert float(jnp.max(jnp.abs(grad))) < 1e-10
        # the finite sample follows its spectrum: x = z √λ with fixed z, so it moves with α
        other = LeastSquares(dim=d, n_samples=n, spectrum="power_law", alpha=2.0, noise=0.3, data_seed=3)
        ratio = np.asarray(other.dataset()["x"]) / x
        np.testing.assert_allclose(ratio[0], ratio[1], rtol=1e-8)


def test_finite_sample_is_traceable_in_noise():
    def f_star(noise):
        return LeastSquares(dim=4, n_samples=10, noise=noise).f_star

    values = jax.jit(jax.vmap(f_star))(jnp.asarray([0.0, 0.5, 1.0]))
    np.testing.assert_allclose(np.asarray(values) / float(values[2]), [0.0, 0.25, 1.0], atol=1e-5)
