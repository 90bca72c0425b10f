"""Overlap probes on constructed examples with hand-computed answers."""

from __future__ import annotations

import dataclasses
from typing import Any

import jax.numpy as jnp
import numpy as np
import pytest

from descentlab.probes import PROBES
from descentlab.problems.base import Problem
from descentlab.problems.least_squares import LeastSquares
from tests.probes.probes_testkit import measure


@dataclasses.dataclass(frozen=True)
class Known(Problem):
    """A problem carrying whatever attributes a test needs."""

    theta_star: Any = None
    teacher_weights: Any = None
    class_means: Any = None
    n_classes: int = 0

    def loss(self, params, batch):
        return jnp.zeros(())


def test_vector_teacher_overlaps():
    problem = Known(theta_star=jnp.array([1.0, 0.0, 0.0, 0.0]))
    out, _ = measure(PROBES.get("teacher_overlap").factory(), problem, jnp.array([1.0, 2.0, 0.0, 0.0]))
    assert float(out["overlap_m"]) == pytest.approx(0.25)
    assert float(out["overlap_q"]) == pytest.approx(1.25)
    assert float(out["overlap_rho"]) == pytest.approx(0.25)
    assert float(out["overlap_cosine"]) == pytest.approx(1 / np.sqrt(5), rel=1e-6)


def test_matrix_teacher_overlaps_for_a_two_layer_student_stored_inputs_first():
    eye = np.eye(4)
    teacher = np.stack([eye[0], eye[1]])  # (k=2, d=4)
    student = np.stack([eye[0], eye[1] + eye[2], 2 * eye[3]])  # (p=3, d=4)
    problem = Known(teacher_weights=jnp.asarray(teacher, jnp.float32))
    # stored (d, p) as in x @ W layers: the probe must transpose it
    params = {"w": jnp.asarray(student.T, jnp.float32), "a": jnp.ones(3)}
    out, _ = measure(PROBES.get("teacher_overlap").factory(param_key="w"), problem, params)
    q, m = student @ student.T / 4, student @ teacher.T / 4
    for i in range(3):
        for j in range(i, 3):
            assert float(out[f"overlap_Q_{i}_{j}"]) == pytest.approx(q[i, j])
        for r in range(2):
            assert float(out[f"overlap_M_{i}_{r}"]) == pytest.approx(m[i, r])
    assert "overlap_Q_1_0" not in out
    assert float(out["overlap_specialization"]) == pytest.approx((1 + 1 / np.sqrt(2)) / 2, rel=1e-6)


def test_teacher_overlap_without_teacher_is_a_clear_error():
    with pytest.raises(ValueError, match="teacher_weights or theta_star"):
        measure(PROBES.get("teacher_overlap").factory(), Known(), jnp.ones(3))


def test_class_alignment_from_attribute_and_from_labelled_batch():
    means = jnp.array([[2.0, 0.0, 0.0], [0.0, 0.0, 0.0]])  # centred: ±e1
    theta = jnp.array([1.0, 1.0, 0.0])
    out, _ = measure(PROBES.get("class_alignment").factory(), Known(class_means=means), theta)
    assert float(out["class_alignment"]) == pytest.approx(0.5, rel=1e-6)
    assert float(out["class_cosine_0"]) == pytest.approx(1 / np.sqrt(2), rel=1e-6)
    assert float(out["class_cosine_1"]) == pytest.approx(-1 / np.sqrt(2), rel=1e-6)
    # the same means estimated from a labelled batch
    x = jnp.array([[3.0, 1.0, 0.0], [1.0, -1.0, 0.0], [0.0, 2.0, 0.0], [0.0, -2.0, 0.0]])
    y = jnp.array([0, 0, 1, 1])
    out2, _ = measure(PROBES.get("class_alignment").factory(classes=2), Known(), theta, {"x": x, "y": y})
    assert float(out2["class_alignment"]) == pytest.approx(0.5, rel=1e-6)
    with pytest.raises(ValueError, match="class_means"):
        measure(PROBES.get("class_alignment").factory(), Known(), theta, {"x": x, "y": y})


def test_spectral_energy_on_least_squares_bands_sum_to_the_excess_risk():
    problem = LeastSquares(dim=8, spectrum="power_law", alpha=1.0)
    theta = jnp.arange(8.0) / 8.0
    probe = PROBES.get("spectral_energy").factory(bands=4, spacing="linear", target="error")
    out, _ = measure(probe, problem, theta)
    error = np.asarray(theta - problem.theta_star, np.float64)
    lam = np.asarray(problem.eigenvalues, np.float64)  # decreasing for a power law
    for b in range(4):
        band = slice(2 * b, 2 * b + 2)
        assert float(out[f"spectral_energy_{b:02d}"]) == pytest.approx(np.sum(error[band] ** 2), rel=1e-5)
        risk = 0.5 * np.sum(lam[band] * error[band] ** 2)
        assert float(out[f"spectral_risk_{b:02d}"]) == pytest.approx(risk, rel=1e-5)
    total = sum(float(out[f"spectral_risk_{b:02d}"]) for b in range(4))
    assert total == pytest.approx(float(problem.metrics(theta)["excess_risk"]), rel=1e-5)


def test_spectral_energy_from_sample_covariance_orders_directions_by_variance():
    # centred data with variances 9 (e2), 4 (e0), 1 (e1) along the axes
    x = jnp.array([[2.0, 0, 0], [-2.0, 0, 0], [0, 1.0, 0], [0, -1.0, 0], [0, 0, 3.0], [0, 0, -3.0]]) * np.sqrt(3.0)
    theta = jnp.array([1.0, 2.0, 3.0])
    probe = PROBES.get("spectral_energy").factory(bands=3, spacing="linear", target="params")
    out, _ = measure(probe, Known(), theta, {"x": x})
    got = [float(out[f"spectral_energy_{b:02d}"]) for b in range(3)]
    np.testing.assert_allclose(got, [9.0, 1.0, 4.0], rtol=1e-5)
    np.testing.assert_allclose(float(out["spectral_risk_00"]), 0.5 * 9.0 * 9.0, rtol=1e-5)


def test_log_bands_cover_every_direction_once():
    from descentlab.probes.overlaps import band_edges

    edges = band_edges(1000, 6, "log")
    assert edges[0] == 0 and edges[-1] == 1000 and np.all(np.diff(edges) > 0) and len(edges) == 7
    small = band_edges(5, 8, "log")
    assert small[0] == 0 and small[-1] == 5 and np.all(np.diff(small) > 0)
