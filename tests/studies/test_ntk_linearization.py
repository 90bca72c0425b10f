"""ntk-linearization: passes at --quick size, fails with shuffled widths; probe and problem known answers.

The must-fail controls (exponents shifted by +0.15, the mean-field parameterization) run in
tests/studies/test_controls.py.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from descentlab.probes.base import ProbeContext
from descentlab.probes.lazy_training import LazyTraining
from descentlab.problems.base import Problem
from descentlab.problems.ntk_network import NTKNetwork
from descentlab.store import Store, query
from descentlab.studies import STUDIES, StudyOptions, check_options, run_study
from descentlab.studies.ntk_linearization import GAP, PREDICTIONS, TOLERANCE

QUICK = StudyOptions(quick=True)
CHECKED = check_options("ntk-linearization", QUICK)  # every declared option filled in, for analyze


@pytest.fixture(scope="module")
def outcome(tmp_path_factory):
    store = Store(tmp_path_factory.mktemp("store"))
    return store, run_study("ntk-linearization", store, QUICK)


@dataclasses.dataclass(frozen=True)
class LinearModel(Problem):
    """f(x) = x·w: linear in its parameters, so it equals its linearization exactly."""

    def predict(self, params, x):
        return x @ params["w"]

    def loss(self, params, batch):
        return 0.5 * jnp.mean((self.predict(params, batch["x"]) - batch["y"]) ** 2)


def test_probe_on_a_linear_model_knows_the_answer():
    with jax.enable_x64(True):
        rng = np.random.default_rng(0)
        batch = {"x": jnp.asarray(rng.standard_normal((6, 4))), "y": jnp.asarray(rng.standard_normal(6))}
        problem, eta, steps = LinearModel(), 0.3, 25
        params0 = {"w": jnp.asarray(rng.standard_normal(4))}
        params = params0
        for _ in range(steps):
            params = jax.tree_util.tree_map(lambda p, g: p - eta * g, params, jax.grad(problem.loss)(params, batch))

        def ctx(p, t):
            return ProbeContext(
                p, params0, problem, batch, jax.random.key(0), jnp.asarray(t), None, jnp.asarray(eta), None
            )

        probe = LazyTraining()
        state = probe.init(ctx(params0, 0))
        at_start, _ = probe.measure(ctx(params0, 0), state)
        assert float(at_start["weight_change.w"]) == 0.0 and float(at_start["linearization_gap"]) < 1e-12
        out, _ = probe.measure(ctx(params, steps), state)
        expected = np.linalg.norm(params["w"] - params0["w"]) / np.linalg.norm(params0["w"])
        assert float(out["weight_change.w"]) == pytest.approx(expected, rel=1e-10)
        assert float(out["weight_change"]) == pytest.approx(expected, rel=1e-10)
        assert float(out["linearization_gap"]) < 1e-10  # GD on a linear model is its linearized GD
        assert float(out["weight_change.w"]) > 0.01
        # the wrong step count in the closed form is detected
        wrong, _ = probe.measure(ctx(params, steps // 2), state)
        assert float(wrong["linearization_gap"]) > 1e-3


def test_mean_field_readout_divides_by_width_and_the_default_is_unchanged():
    x = jnp.asarray(np.random.default_rng(1).standard_normal((5, 3)))
    for depth in (2, 3):
        ntk = NTKNetwork(width=16, depth=depth, dim=3)
        params = ntk.init(jax.random.key(3))
        h = (x @ params["w1"]) / jnp.sqrt(3.0)
        for i in range(2, depth):
            h = (jnp.tanh(h) @ params[f"w{i}"]) / 4.0
        readout = (jnp.tanh(h) @ params[f"w{depth}"])[:, 0]
        assert NTKNetwork().parameterization == "ntk"
        np.testing.assert_allclose(ntk.predict(params, x), readout / 4.0, rtol=1e-6)
        mean_field = dataclasses.replace(ntk, parameterization="mean_field")
        np.testing.assert_allclose(mean_field.predict(params, x), readout / 16.0, rtol=1e-6)
        # the structured NTK uses the same multipliers as the forward pass
        jac = jax.jacrev(lambda p, m=mean_field: m.predict(p, x))(params)
        flat = jnp.concatenate([j.reshape(5, -1) for j in jax.tree_util.tree_leaves(jac)], axis=1)
        np.testing.assert_allclose(mean_field.ntk(params, x), flat @ flat.T, rtol=1e-5, atol=1e-7)


def test_quick_verdict_passes_and_is_stored(outcome):
    store, result = outcome
    verdicts = result.analysis.verdicts
    headline = verdicts[0]
    assert headline.passed, [v.line() for v in verdicts]
    assert len(verdicts) == 1 + len(PREDICTIONS) and all(v.passed for v in verdicts)
    assert 0 <= headline.figure <= TOLERANCE
    stored = query(store.root, "select * from verdicts")
    assert bool(stored.passed.all()) and headline.line() in set(stored.line)
    assert result.report.exists() and "verdict: pass" in result.report.read_text()
    assert {q for _, q in PREDICTIONS} >= {GAP} and "max lin gap" in result.analysis.summary
    for r in result.results:
        assert (r.runs.status == "ok").all()
        # lazy regime: the wide network stays close to its linearization and barely moves its kernel
        last = r.curves[r.curves.step == r.curves.step.max()]
        assert last[last.metric == "ntk_change"].value.max() < 0.6
        assert r.curves[r.curves.metric == "linearization_gap"].value.max() < 0.2
        # trained to a low loss: at least an eightfold fall of every run's training loss
        loss = r.curves[r.curves.metric == "train_loss"].pivot(index="run", columns="step", values="value")
        assert (loss[loss.columns.max()] < 0.125 * loss[0]).all()


def test_verdict_fails_when_widths_are_shuffled(outcome, tmp_path):
    _, result = outcome

    class Shuffled:
        def __init__(self, inner):
            runs = inner.runs.copy()
            widths = sorted(runs.problem_width.unique())
            runs["problem_width"] = runs.problem_width.map(dict(zip(widths, widths[::-1], strict=True)))
            self.runs, self.curves = runs, inner.curves

    analysis = STUDIES.get("ntk-linearization")().analyze([Shuffled(r) for r in result.results], tmp_path, CHECKED)
    assert not analysis.verdicts[0].passed
