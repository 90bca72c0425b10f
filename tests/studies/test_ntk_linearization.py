"""ntk-linearization: passes at --quick size, fails with wrong exponents or shuffled widths; probe known answers."""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from descentlab.probes.base import ProbeContext
from descentlab.probes.lazy_training import LazyTraining
from descentlab.problems.base import Problem
from descentlab.store import Store, query
from descentlab.studies import STUDIES, StudyOptions, run_study
from descentlab.studies.ntk_linearization import PREDICTIONS

QUICK = StudyOptions(quick=True)


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
            return ProbeContext(p, params0, problem, batch, jax.random.key(0), jnp.asarray(t), None,
                                jnp.asarray(eta), None)

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


def test_quick_verdict_passes_and_is_stored(outcome):
    store, result = outcome
    verdicts = result.analysis.verdicts
    headline = verdicts[0]
    assert headline.passed, [v.line() for v in verdicts]
    assert len(verdicts) == 1 + len(PREDICTIONS) and all(v.passed for v in verdicts)
    assert 0 <= headline.figure <= 0.2
    stored = query(store.root, "select * from verdicts")
    assert bool(stored.passed.all()) and headline.line() in set(stored.line)
    assert result.report.exists() and "verdict: pass" in result.report.read_text()
    for r in result.results:
        assert (r.runs.status == "ok").all()
        # lazy regime: the wide network stays close to its linearization and barely moves its kernel
        last = r.curves[r.curves.step == r.curves.step.max()]
        assert last[last.metric == "ntk_change"].value.max() < 0.3
        assert last[last.metric == "linearization_gap"].value.max() < 0.1
        first = r.curves[r.curves.step == 0]
        assert last[last.metric == "train_loss"].value.max() < 0.5 * first[first.metric == "train_loss"].value.min()


def test_verdict_fails_with_wrong_exponents(outcome, tmp_path):
    """The naive guess 'everything moves like n^-1/2' fails for the hidden-to-hidden weights and the NTK."""
    _, result = outcome
    naive = {key: -0.5 for key in PREDICTIONS}
    analysis = STUDIES.get("ntk-linearization")().analyze(result.results, tmp_path, QUICK, predictions=naive)
    assert not analysis.verdicts[0].passed
    assert analysis.verdicts[0].figure > 0.3


def test_verdict_fails_when_widths_are_shuffled(outcome, tmp_path):
    _, result = outcome

    class Shuffled:
        def __init__(self, inner):
            runs = inner.runs.copy()
            widths = sorted(runs.problem_width.unique())
            runs["problem_width"] = runs.problem_width.map(dict(zip(widths, widths[::-1], strict=True)))
            self.runs, self.curves = runs, inner.curves

    analysis = STUDIES.get("ntk-linearization")().analyze([Shuffled(r) for r in result.results], tmp_path, QUICK)
    assert not analysis.verdicts[0].passed
