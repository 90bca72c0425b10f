"""The empirical NTK against the data Gram matrix (linear model) and an explicit two-layer Jacobian."""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from descentlab.probes import PROBES
from descentlab.probes.ntk import alignment, empirical_ntk
from descentlab.problems.base import Problem
from tests.probes.probes_testkit import DENSE_NETWORKS, measure, perturbed_dense_network


@dataclasses.dataclass(frozen=True)
class Linear(Problem):
    def predict(self, params, x):
        return x @ params

    def loss(self, params, batch):
        return 0.5 * jnp.mean((self.predict(params, batch["x"]) - batch["y"]) ** 2)


@dataclasses.dataclass(frozen=True)
class TwoLayer(Problem):
    """f(x) = aᵀ tanh(W x) / √m."""

    def predict(self, params, x):
        hidden = jnp.tanh(x @ params["w"].T)
        return hidden @ params["a"] / jnp.sqrt(params["a"].shape[0])

    def loss(self, params, batch):
        return 0.5 * jnp.mean((self.predict(params, batch["x"]) - batch["y"]) ** 2)


def explicit_two_layer_jacobian(w: np.ndarray, a: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Rows ∂f(x_i)/∂(a, W) by hand: ∂f/∂a = tanh(Wx)/√m, ∂f/∂W_k = a_k (1 − tanh²(w_k·x)) x / √m."""
    m = a.shape[0]
    pre = x @ w.T  # (n, m)
    d_a = np.tanh(pre) / np.sqrt(m)
    d_w = (a * (1 - np.tanh(pre) ** 2))[:, :, None] * x[:, None, :] / np.sqrt(m)  # (n, m, d)
    return np.concatenate([d_a, d_w.reshape(x.shape[0], -1)], axis=1)


def test_ntk_of_linear_model_is_the_data_gram_matrix():
    x = np.random.default_rng(0).standard_normal((12, 5))
    kernel = empirical_ntk(Linear(), jnp.ones(5), jnp.asarray(x, jnp.float32))
    np.testing.assert_allclose(np.asarray(kernel), x @ x.T, rtol=1e-5, atol=1e-5)


def test_ntk_probe_of_two_layer_network_matches_explicit_jacobian():
    rng = np.random.default_rng(1)
    n, d, m = 10, 3, 7
    x = rng.standard_normal((n, d)).astype(np.float32)
    y = rng.standard_normal(n).astype(np.float32)
    params0 = {
        "a": jnp.asarray(rng.standard_normal(m), jnp.float32),
        "w": jnp.asarray(rng.standard_normal((m, d)), jnp.float32),
    }
    params = jax.tree_util.tree_map(lambda p: p + 0.3, params0)
    jac = explicit_two_layer_jacobian(np.asarray(params["w"], np.float64), np.asarray(params["a"], np.float64), x)
    jac0 = explicit_two_layer_jacobian(np.asarray(params0["w"], np.float64), np.asarray(params0["a"], np.float64), x)
    kernel, kernel0 = jac @ jac.T, jac0 @ jac0.T
    gram = np.outer(y, y)
    expected_alignment = np.sum(kernel * gram) / (np.linalg.norm(kernel) * np.linalg.norm(gram))

    probe = PROBES.get("ntk").factory(n_probe=n, k=3)
    out, _ = measure(probe, TwoLayer(), params, {"x": jnp.asarray(x), "y": jnp.asarray(y)}, params0=params0)
    np.testing.assert_allclose(
        [float(out[f"ntk_eig_{i}"]) for i in (1, 2, 3)], np.linalg.eigvalsh(kernel)[::-1][:3], rtol=1e-4
    )
    np.testing.assert_allclose(float(out["ntk_trace"]), np.trace(kernel), rtol=1e-5)
    np.testing.assert_allclose(float(out["ntk_alignment"]), expected_alignment, rtol=1e-4)
    np.testing.assert_allclose(
        float(out["ntk_change"]), np.linalg.norm(kernel - kernel0) / np.linalg.norm(kernel0), rtol=1e-4
    )


def test_alignment_uses_one_hot_integer_labels_and_is_one_for_the_label_kernel():
    labels = jnp.array([0, 1, 2, 1, 0])
    onehot = jax.nn.one_hot(labels, 3)
    from descentlab.probes.ntk import target_matrix

    target = target_matrix(labels, 3, jnp.float32)
    np.testing.assert_allclose(np.asarray(target), np.asarray(onehot))
    assert float(alignment(onehot @ onehot.T, target)) == pytest.approx(1.0, rel=1e-6)
    assert float(alignment(jnp.eye(5), target)) == pytest.approx(5 / (np.sqrt(5) * np.sqrt(9)), rel=1e-6)


def test_ntk_without_predict_is_a_clear_error():
    @dataclasses.dataclass(frozen=True)
    class NoPredict(Problem):
        def loss(self, params, batch):
            return jnp.sum(params**2)

    with pytest.raises(ValueError, match=r"problem\.predict"):
        measure(PROBES.get("ntk").factory(), NoPredict(), jnp.ones(3), {"x": jnp.ones((4, 3))})


@pytest.mark.parametrize(("name", "options"), DENSE_NETWORKS)
def test_structured_ntk_of_dense_networks_equals_the_jacobian_gram(name, options):
    """The problems' own ``ntk`` (structured derivatives, no parameter Jacobian) against Σ_a J_a J_aᵀ, float64."""
    from descentlab.probes.ntk import output_jacobians

    with jax.enable_x64(True):
        problem, params = perturbed_dense_network(name, options, key=3)
        x = problem.dataset()["x"][:10]
        jac = np.asarray(output_jacobians(problem, params, x))
        expected = np.einsum("iap,jap->ij", jac, jac)
        kernel = np.asarray(problem.ntk(params, x))
        np.testing.assert_allclose(kernel, expected, rtol=1e-11, atol=1e-12 * np.abs(expected).max())
        np.testing.assert_allclose(np.asarray(empirical_ntk(problem, params, x)), kernel)  # the probe uses it
