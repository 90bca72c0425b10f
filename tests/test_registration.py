"""One registration mechanism: a component's parameters come from its factory's signature (one source of defaults).

Checked here: every registered component's declared defaults are its signature's (every registry introspected);
a registration whose declared default, kind or name disagrees with the signature is refused with a ValueError
naming the component and the parameter; a parameter without a default is required, and the validator says so.
"""

from __future__ import annotations

import dataclasses
import inspect
from typing import Annotated, Literal

import pytest

from descentlab.engine.load import spec_from_dict
from descentlab.optim import OPTIMIZERS, SCHEDULES
from descentlab.optim.registry import register_optimizer
from descentlab.params import Arg, Param, SpecError, check_params
from descentlab.probes import PROBES
from descentlab.problems import PROBLEMS
from descentlab.registry import Registry
from descentlab.theory import PREDICTIONS

EMPTY = inspect.Parameter.empty


@dataclasses.dataclass(frozen=True)
class Widget:
    name: str
    factory: object
    params: dict[str, Param]
    summary: str = ""


def widgets() -> Registry[Widget]:
    """A throw-away registry, so that failed registrations leave the real ones alone."""
    return Registry("widget", Widget, context=("learning_rate",))


# ---- (a) declared defaults are the signature's, in every registry -------------------------------------------------
def _factory_registries():
    return [("optimizer", OPTIMIZERS), ("schedule", SCHEDULES), ("probe", PROBES), ("prediction", PREDICTIONS)]


def _factory(entry):
    return getattr(entry, "factory", None) or getattr(entry, "build_fn", None) or entry.fn


@pytest.mark.parametrize(("kind", "registry"), _factory_registries(), ids=lambda x: x if isinstance(x, str) else "")
def test_every_declared_default_is_the_factory_signature_default(kind, registry):
    checked = 0
    for name, entry in registry.items():
        parameters = inspect.signature(_factory(entry)).parameters
        open_ended = any(p.kind == p.VAR_KEYWORD for p in parameters.values())
        for key, param in entry.params.items():
            if key not in parameters:
                assert open_ended, f"{kind} {name}: declared {key!r} is not an argument of its factory"
                continue
            default = parameters[key].default
            assert param.required == (default is EMPTY), f"{kind} {name}.{key}: required={param.required}"
            if default is not EMPTY:
                assert param.default == default, f"{kind} {name}.{key}: {param.default!r} != signature {default!r}"
                assert isinstance(param.default, bool) == isinstance(default, bool), f"{kind} {name}.{key}"
            checked += 1
    assert checked > 0 or kind == "prediction"


def test_our_factories_declare_every_spec_argument():
    """Ours (not optax's, read by inference): every argument but the engine's own is a declared parameter."""
    context = {"optimizer": {"learning_rate"}, "schedule": {"lr", "total_steps"}, "probe": set()}
    for kind, registry in _factory_registries()[:3]:
        for name, entry in registry.items():
            factory = _factory(entry)
            if not factory.__module__.startswith("descentlab."):
                continue
            arguments = set(inspect.signature(factory).parameters) - context[kind]
            assert arguments <= set(entry.params), f"{kind} {name}: undeclared {sorted(arguments - set(entry.params))}"


def test_problem_fields_and_declared_params_share_their_defaults():
    for name, cls in PROBLEMS.items():
        fields = {f.name: f for f in dataclasses.fields(cls)}
        for key, param in cls.declared_params().items():
            assert fields[key].default == param.default, f"problem {name}.{key}"


def test_the_disagreements_found_when_porting_are_settled():
    """layerwise_gd's rates were required in the table but defaulted to 1.0 in the signature; muon's ns_steps was a
    float (5.0) read from optax's ArrayLike annotation, which its fori_loop rejects."""
    layerwise = OPTIMIZERS.get("layerwise_gd").params
    assert layerwise["eta_hidden"].required and layerwise["eta_output"].required
    assert layerwise["learning_rate"].default == 1.0
    ns_steps = OPTIMIZERS.get("muon").params["ns_steps"]
    assert (ns_steps.kind, ns_steps.default) == ("int", 5)


# ---- (b) disagreements are refused at registration ---------------------------------------------------------------
def test_a_param_default_that_disagrees_with_the_signature_is_refused():
    registry = widgets()

    def factory(x: Annotated[float, Param("float", 2.0, "x")] = 1.0):
        return x

    with pytest.raises(ValueError, match=r"widget 'w'.*'x'.*default 2\.0.*default 1\.0"):
        registry.register("w")(factory)
    assert "w" not in registry


def test_an_explicit_table_that_disagrees_with_the_signature_is_refused():
    def factory(x=1.0):
        return x

    with pytest.raises(ValueError, match=r"widget 'w'.*'x'.*default 2\.0"):
        widgets().register("w", params={"x": Param("float", 2.0)})(factory)
    with pytest.raises(ValueError, match=r"widget 'w'.*'x'.*is required"):
        widgets().register("w", params={"x": Param("float", None, required=True)})(factory)


def test_a_declared_parameter_missing_from_the_signature_is_refused():
    def factory(x=1.0):
        return x

    with pytest.raises(ValueError, match=r"widget 'w'.*'y' is not in the factory's signature"):
        widgets().register("w", params={"x": Param("float", 1.0), "y": Param("float", 0.0)})(factory)


def test_a_parameter_without_metadata_is_refused():
    def factory(learning_rate, x: float = 1.0):
        return x

    with pytest.raises(ValueError, match=r"widget 'w'.*'x' has no Arg metadata"):
        widgets().register("w")(factory)


def test_a_default_outside_its_own_bounds_or_kind_is_refused():
    def negative(x: Annotated[float, Arg("x", low=0.0)] = -1.0):
        return x

    def no_kind(x: Annotated[object, Arg("x")] = 1.0):
        return x

    def wrong_kind(x: Annotated[int, Param("float", 1.0)] = 1.0):
        return x

    with pytest.raises(ValueError, match=r"widget 'w'.*'x'.*not allowed"):
        widgets().register("w")(negative)
    with pytest.raises(ValueError, match=r"widget 'w'.*'x'.*names no kind"):
        widgets().register("w")(no_kind)
    with pytest.raises(ValueError, match=r"widget 'w'.*'x'.*kind 'float'"):
        widgets().register("w")(wrong_kind)


def test_a_real_registry_refuses_and_keeps_nothing():
    def bogus(learning_rate, x: Annotated[float, Param("float", 0.5, "x")] = 0.1):
        return learning_rate

    with pytest.raises(ValueError, match=r"optimizer 'bogus_disagreeing'.*'x'"):
        register_optimizer("bogus_disagreeing", summary="s", reference="r")(bogus)
    assert "bogus_disagreeing" not in OPTIMIZERS


# ---- the signature gives kind, choices, default and the learning-rate convention --------------------------------
def test_kind_choices_and_default_come_from_the_signature():
    def factory(
        learning_rate,
        n: Annotated[int, Arg("n", low=1)] = 3,
        shape: Annotated[Literal["a", "b"], Arg("shape")] = "b",
        flag: Annotated[bool, Arg("flag")] = False,
        scale: Annotated[float, Arg("scale", static=True)] = 2,
    ):
        return learning_rate

    registry = widgets()
    registry.register("w")(factory)
    params = registry.get("w").params
    assert set(params) == {"n", "shape", "flag", "scale"}  # learning_rate is the engine's
    assert params["n"] == Param("int", 3, "n", low=1)
    assert params["shape"] == Param("str", "b", "shape", choices=("a", "b"))
    assert params["flag"] == Param("bool", False, "flag")
    assert params["scale"] == Param("float", 2.0, "scale", static=True) and isinstance(params["scale"].default, float)


def test_an_optimizer_takes_the_learning_rate_when_its_factory_does():
    assert OPTIMIZERS.get("adam").takes_learning_rate and OPTIMIZERS.get("adagrad_norm").takes_learning_rate
    assert not OPTIMIZERS.get("frank_wolfe").takes_learning_rate
    assert not OPTIMIZERS.get("polyak_sgd").takes_learning_rate


# ---- (c) no default: required, and the validator says so ----------------------------------------------------------
def test_a_parameter_without_default_is_required_by_the_validator():
    registry = widgets()

    @registry.register("w")
    def factory(rate: Annotated[float, Arg("rate", low=0.0)], size: Annotated[int, Arg("size", low=1)] = 4):
        return rate, size

    params = registry.get("w").params
    assert params["rate"].required and params["rate"].default is None and not params["size"].required
    with pytest.raises(SpecError, match=r"optimizer\.rate: got None; required by 'w'; expected a number >= 0"):
        check_params("optimizer", params, {"size": 2}, "w")
    check_params("optimizer", params, {"rate": 0.1}, "w")


def test_a_spec_missing_a_required_optimizer_parameter_is_refused():
    spec = {
        "name": "required",
        "problem": {"name": "fractal_net", "width": 4, "input_dim": 3},
        "optimizer": {"name": "layerwise_gd", "eta_output": 0.5},
        "sampler": {"name": "full_batch"},
        "run": {"steps": 10},
    }
    with pytest.raises(SpecError, match=r"optimizer\.eta_hidden: got None; required by 'layerwise_gd'"):
        spec_from_dict(spec)
