"""Newton–Schulz as a scalar map on singular values (descentlab.theory.muon) against optax in float64 and a NumPy
SVD, and the constants L, L_* of the matrix quadratic against their definitions."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax.contrib
import pytest

from descentlab.problems.matrix_quadratic import hessian_spectrum
from descentlab.theory import PREDICTIONS
from descentlab.theory.muon import OPTAX_COEFFS, muon_gd_ratio, newton_schulz_map, newton_schulz_svd, polar_error


def _optax_ns(g: np.ndarray, steps: int, coeffs=OPTAX_COEFFS) -> np.ndarray:
    with jax.enable_x64(True):
        out = optax.contrib._muon.orthogonalize_via_newton_schulz(jnp.asarray(g), jnp.asarray(coeffs), steps)
        return np.asarray(out, dtype=np.float64)


@pytest.mark.parametrize("shape", [(8, 8), (12, 5), (5, 12)])
@pytest.mark.parametrize("steps", [1, 5])
def test_newton_schulz_equals_the_scalar_map_on_the_svd(shape, steps):
    g = np.random.default_rng(sum(shape) + steps).standard_normal(shape)
    predicted, _ = newton_schulz_svd(g, steps)
    assert np.linalg.norm(_optax_ns(g, steps) - predicted, 2) < 1e-12


def test_a_wrong_coefficient_or_step_count_is_detected():
    g = np.random.default_rng(1).standard_normal((8, 8))
    ns = _optax_ns(g, 5)
    assert np.linalg.norm(ns - newton_schulz_svd(g, 4)[0], 2) > 1e-2
    assert np.linalg.norm(ns - newton_schulz_svd(g, 5, (3.4, -4.775, 2.0315))[0], 2) > 1e-3


def test_polar_error_against_the_svd_polar_factor():
    g = np.random.default_rng(2).standard_normal((10, 10))
    u, s, vt = np.linalg.svd(g)
    direct = np.linalg.norm(_optax_ns(g, 5) - u @ vt, 2)
    assert polar_error(g, 5) == pytest.approx(direct, rel=1e-9)
    assert polar_error(g, 5) == pytest.approx(np.max(np.abs(newton_schulz_map(s / np.linalg.norm(g), 5) - 1)))
    # the classical cubic iteration (1.5, -0.5, 0) converges to the polar factor for a well-conditioned G
    q, _ = np.linalg.qr(g)
    well = q * np.linspace(1.0, 2.0, 10)
    assert polar_error(well, 30, (1.5, -0.5, 0.0)) < 1e-10
    # optax's coefficients do not converge: singular values end in a band around 1, not at 1
    assert 0.05 < polar_error(well, 5) < 0.5


def test_prediction_registered():
    out = PREDICTIONS.get("newton_schulz").predict(np.arange(6), singular_value=0.3)
    assert out["singular_value"][0] == pytest.approx(0.3)
    assert out["singular_value"][5] == pytest.approx(float(newton_schulz_map(0.3, 5)))
    assert out["polar_error"][5] < 0.35


def test_nuclear_smoothness_is_the_trace():
    lam = hessian_spectrum(6, 3, 10.0)
    rng = np.random.default_rng(3)
    q, _ = np.linalg.qr(rng.standard_normal((6, 6)))
    a = (q * lam) @ q.T
    merit = muon_gd_ratio(lam, 6)
    assert merit["L"] == pytest.approx(1.0) and merit["L_star"] == pytest.approx(lam.sum())
    for _ in range(50):  # ‖AΔ‖_* ≤ tr A on the spectral unit ball, equality at Δ = I
        d, _ = np.linalg.qr(rng.standard_normal((6, 6)))
        assert np.linalg.norm(a @ d, "nuc") <= merit["L_star"] + 1e-12
    assert np.linalg.norm(a, "nuc") == pytest.approx(merit["L_star"])
    assert muon_gd_ratio(np.ones(6), 6)["ratio"] == pytest.approx(1.0)
