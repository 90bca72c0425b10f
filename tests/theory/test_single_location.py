"""theory.single_location: the risk as a function of the overlaps against direct simulation in d dimensions, the
expected-overlap map against many one-step SGD draws, the linear floor, the temperature identity and the
prediction entry."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from descentlab.problems.single_location import SingleLocation
from descentlab.theory import PREDICTIONS
from descentlab.theory.single_location import OVERLAPS, linear_floor, overlap_ode, risk


def _gram(problem: SingleLocation, k: jax.Array, v: jax.Array) -> np.ndarray:
    ks, vs = problem.teacher
    return np.array([k @ k, k @ v, v @ v, k @ ks, k @ vs, v @ ks, v @ vs], np.float64)


def _params(problem: SingleLocation, seed: int, k_along: float, v_along: float) -> dict[str, jax.Array]:
    """k = k_along·k* + noise, v = v_along·v* + noise (noise of norm ≈ 0.5, in random directions)."""
    ks, vs = problem.teacher
    a, b = jax.random.split(jax.random.key(seed))
    d = problem.dim
    return {
        "k": k_along * ks + 0.5 * jax.random.normal(a, (d,), jnp.float64) / np.sqrt(d),
        "v": v_along * vs + 0.5 * jax.random.normal(b, (d,), jnp.float64) / np.sqrt(d),
    }


@pytest.mark.parametrize("k_along, v_along", [(0.0, 0.3), (1.5, 0.9), (3.0, 1.0)])
def test_risk_of_the_overlaps_matches_direct_simulation(k_along, v_along):
    """R(Q) and Var ℓ against 100 000 fresh sequences in d = 12 (float64): within 4 standard errors."""
    n = 100_000
    with jax.enable_x64(True):
        problem = SingleLocation(dim=12, seq_len=4, signal=3.0, noise=0.2)
        params = _params(problem, 3, k_along, v_along)
        batch = problem.sample(jax.random.key(11), n)
        losses = np.asarray(jax.vmap(problem.example_loss, in_axes=(None, 0))(params, batch))
        q = _gram(problem, params["k"], params["v"])
    predicted = risk(q, seq_len=4, signal=3.0, noise=0.2)
    se = losses.std() / np.sqrt(n)
    assert abs(losses.mean() - predicted["risk"]) < 4 * se
    var_se = np.sqrt(np.var((losses - losses.mean()) ** 2) / n)
    assert abs(losses.var() - predicted["loss_var"]) < 4 * var_se
    weights = np.asarray(jax.nn.softmax(batch["x"] @ params["k"], axis=-1))
    on_signal = weights[np.arange(n), np.asarray(batch["position"])]
    assert abs(on_signal.mean() - predicted["attention_on_signal"]) < 4 * on_signal.std() / np.sqrt(n)


def test_temperature_is_a_rescaling_of_k():
    """softmax(⟨x, k⟩/T) is the model with k/T: the overlaps of k scale by 1/T (‖k‖² by 1/T²)."""
    q = np.array([2.0, 0.1, 1.1, 1.2, 0.05, 0.02, 0.9])
    t = 2.0
    scaled = q * np.array([1 / t**2, 1 / t, 1, 1 / t, 1 / t, 1, 1])
    a = risk(q, seq_len=4, signal=3.0, temperature=t)
    b = risk(scaled, seq_len=4, signal=3.0)
    for key in a:
        assert a[key] == pytest.approx(b[key], rel=1e-9)


def test_linear_floor_is_the_best_linear_risk():
    """The linear model f = Σ⟨x_ℓ, v⟩ at v = v*/L reaches ½(1 − 1/L) + ½σ², and v*/L is stationary."""
    n = 100_000
    with jax.enable_x64(True):
        problem = SingleLocation(dim=8, seq_len=4, signal=3.0, noise=0.3, model="linear")
        _, vs = problem.teacher
        params = {"k": jnp.zeros(8), "v": vs / 4}
        batch = problem.sample(jax.random.key(5), n)
        residual = np.asarray(problem.predict(params, batch["x"]) - batch["y"])
        along = residual * np.asarray(jnp.sum(batch["x"], axis=1) @ vs)  # per-example gradient along v*
    losses = 0.5 * residual**2
    assert abs(losses.mean() - linear_floor(4, 0.3)) < 4 * losses.std() / np.sqrt(n)
    assert linear_floor(4, 0.3) == pytest.approx(0.5 * 0.75 + 0.5 * 0.09)
    assert abs(along.mean()) < 4 * along.std() / np.sqrt(n)


def test_expected_overlap_map_matches_one_sgd_step():
    """One SGD step (η = 0.3, b = 4, d = 20) from fixed (k, v), 10 000 independent batches: the mean of each new
    overlap agrees with the map (exact at finite d, in-span and d − 4 orthogonal parts) within 4 standard errors,
    and the map is not the noiseless gradient step (the Itô term of ‖k‖² is resolved)."""
    eta, b, d, reps = 0.3, 4, 20, 10_000
    with jax.enable_x64(True):
        problem = SingleLocation(dim=d, seq_len=4, signal=3.0)
        params = _params(problem, 7, 1.0, 0.7)
        q0 = _gram(problem, params["k"], params["v"])

        def one(key):
            g = jax.grad(problem.loss)(params, problem.sample(key, b))
            k, v = params["k"] - eta * g["k"], params["v"] - eta * g["v"]
            ks, vs = problem.teacher
            return jnp.stack([k @ k, k @ v, v @ v, k @ ks, k @ vs, v @ ks, v @ vs])

        new = np.asarray(jax.vmap(one)(jax.random.split(jax.random.key(2), reps)))
    mapped = _one_step(q0, eta, b, d)
    se = new.std(0) / np.sqrt(reps)
    z = np.abs(new.mean(0) - mapped) / se
    assert np.all(z < 4), dict(zip(OVERLAPS, z.round(2), strict=True))
    noiseless = _one_step(q0, eta, 10**9, d)
    assert abs(mapped[0] - noiseless[0]) > 10 * se[0]  # measured: 32 standard errors at 20 000 draws


def _one_step(q0: np.ndarray, eta: float, b: int, d: int) -> np.ndarray:
    from descentlab.theory import single_location as S

    with jax.enable_x64(True):
        z = jnp.asarray(S._tokens(2**16, 4, 0))
        return np.asarray(S._step(jnp.asarray(q0), z, 3.0, 0.0, 1.0, eta, 1.0 / b, float(d)))


def test_mean_field_reaches_the_oracle_attractor_and_the_prediction_entry():
    steps = np.array([0, 100, 400])
    q = overlap_ode(steps, dim=100, seq_len=4, signal=3.0, learning_rate=0.1, batch_size=16)
    kk, k_signal, v_value = q[:, 0], q[:, 3], q[:, 6]
    assert np.allclose(q[0], [0.01, 0, 0.01, 0, 0, 0, 0])
    assert v_value[-1] == pytest.approx(1.0, abs=0.1) and k_signal[-1] > 1.5
    assert k_signal[-1] ** 2 / kk[-1] > 0.85  # k along k*
    out = PREDICTIONS.get("single_location_ode").predict(
        steps, dim=100, seq_len=4, signal=3.0, learning_rate=0.1, batch_size=16
    )
    assert set(out) >= {"risk", "k_signal", "v_overlap", "k_norm", "v_norm", "attention_on_signal"}
    assert out["risk"][0] == pytest.approx(0.5, abs=0.01) and out["risk"][-1] < 0.1 < linear_floor(4)
    np.testing.assert_allclose(out["k_signal"], k_signal)
