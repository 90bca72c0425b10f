"""A spec naming a prediction gets a stored verdict that passes when it should and fails when it must."""

from __future__ import annotations

import pytest

from descentlab import Experiment
from descentlab.engine import spec_from_dict
from descentlab.params import SpecError
from descentlab.store import Store, query
from tests.conftest import small_spec_dict


def theory_spec(**theory):
    return spec_from_dict(
        small_spec_dict(
            problem={"dim": 200, "spectrum": "isotropic"},
            optimizer={"learning_rate": {"grid": [0.3, 1.0]}},
            run={"steps": 400, "seeds": 32, "checkpoints": 20},
            theory={"predict": "sgd_least_squares", "kind": "standard_error", "tolerance": 4.0, **theory},
        )
    )


def test_exact_prediction_passes_and_lands_in_the_store(tmp_path):
    summary = Experiment(theory_spec()).run(tmp_path).summary
    verdicts = query(tmp_path, "select * from verdicts")
    assert len(verdicts) == 1 and bool(verdicts.passed[0]), verdicts.line[0]
    theory = Store(tmp_path).theory(summary.experiment)
    assert set(theory.optimizer_learning_rate) == {0.3, 1.0}
    assert (theory.groupby("optimizer_learning_rate").step.count() == len(theory.step.unique())).all()
    html = (Store(tmp_path).experiment_dir(summary.experiment) / "report").exists()
    assert not html  # reports are written on request only


def test_a_wrong_prediction_fails(tmp_path):
    Experiment(theory_spec(noise=0.5)).run(tmp_path)  # the theory is told the labels are much noisier
    verdicts = query(tmp_path, "select * from verdicts")
    assert not bool(verdicts.passed[0]) and verdicts.figure[0] > 10


@pytest.mark.parametrize(
    ("theory", "field"),
    [
        ({"predict": "nope"}, "theory.predict"),
        ({"predict": "sgd_least_squares", "kind": "vibes"}, "theory.kind"),
        ({"predict": "sgd_least_squares", "tolerance": -1}, "theory.tolerance"),
        ({"predict": "sgd_least_squares", "ode_resolution": 0.1}, "theory.ode_resolution"),
    ],
)
def test_bad_theory_sections(theory, field):
    with pytest.raises(SpecError, match=f"^{field}"):
        spec_from_dict(small_spec_dict(theory=theory))
