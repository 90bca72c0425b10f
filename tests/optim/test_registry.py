"""The optimizer registry: names, references, extra arguments, host metrics, spec-like building."""

import pytest

from descentlab.optim import OPTIMIZERS
from descentlab.optim.registry import EXTRA_ARGS, register_optimizer
from descentlab.params import SpecError

REQUIRED = [
    # optax
    "sgd",
    "momentum",
    "nesterov",
    "adam",
    "adamw",
    "adagrad",
    "rmsprop",
    "lion",
    "muon",
    "sign_sgd",
    "polyak_sgd",
    "optimistic_gradient_descent",
    "lookahead",
    "sgd_armijo",
    "lbfgs",
    # optax.contrib
    "sophia",
    "schedule_free_sgd",
    "schedule_free_adamw",
    "prodigy",
    "dog",
    "dowg",
    "sam",
    "dpsgd",
    # ours
    "adagrad_norm",
    "cautious_adamw",
    "cautious_lion",
    "adahessian",
    "exadam",
    "adamp",
    "exponentiated_gradient",
    "eg_pm",
    "reparam_gd",
    "proximal_l1",
    "frank_wolfe",
    "extragradient",
    "simultaneous_gda",
    "alternating_gda",
    "clipped_sgd",
    "autosgd",
    "natural_gradient",
]


def test_required_optimizers_are_registered():
    missing = [n for n in REQUIRED if n not in OPTIMIZERS]
    assert not missing


def test_entries_are_documented():
    for name, entry in OPTIMIZERS.items():
        assert entry.reference.strip(), name
        assert entry.summary.strip(), name
        assert set(entry.extra_args) <= set(EXTRA_ARGS), name
        assert entry.source in ("optax", "optax.contrib", "descentlab"), name


def test_only_dpsgd_has_host_metrics():
    assert [n for n, e in OPTIMIZERS.items() if e.host_metrics is not None] == ["dpsgd"]


def test_extra_args_declared():
    assert set(OPTIMIZERS.get("dpsgd").extra_args) == {"example_grads", "key"}
    assert set(OPTIMIZERS.get("natural_gradient").extra_args) == {"example_grads"}
    assert set(OPTIMIZERS.get("adahessian").extra_args) == {"value_fn", "key"}
    assert set(OPTIMIZERS.get("extragradient").extra_args) == {"grad_fn"}
    assert set(OPTIMIZERS.get("sgd_armijo").extra_args) == {"value", "grad", "value_fn"}


def test_unknown_name_is_a_spec_error():
    with pytest.raises(SpecError, match="allowed"):
        OPTIMIZERS.get("adamm", field="optimizer.name")


def test_unknown_extra_arg_is_rejected():
    def bogus(learning_rate):
        return learning_rate

    with pytest.raises(ValueError, match="extra_args"):
        register_optimizer("bogus", summary="x", reference="y", extra_args=("hessian",))(bogus)
    assert "bogus" not in OPTIMIZERS


def test_bad_static_choice_is_rejected():
    with pytest.raises(ValueError, match="constraint"):
        OPTIMIZERS.get("frank_wolfe").build(constraint="box")
