"""Optimizer registry: optax's optimizers (registered, not rewritten) and ours, by name.

An :class:`OptimizerEntry` knows how to build an ``optax.GradientTransformation`` from spec
values, which of its parameters are vmappable (floats) or static (bools, ints, strings), and
what the engine must hand it besides the mean gradient, following optax's extra-args
convention: ``update(grads, state, params, **extra)`` with extra keys among

* ``value``     — the batch loss at ``params``;
* ``grad``      — the mean gradient (same as ``grads`` unless per-example gradients are passed);
* ``value_fn``  — ``params -> batch loss`` (line searches, Polyak-type steps);
* ``grad_fn``   — ``params -> mean gradient on the batch`` (extragradient, SAM-type steps);
* ``example_grads`` — per-example gradients with a leading batch axis (DP-SGD, noise probes);
* ``key``       — a fresh PRNG key for this step (Hutchinson probes, privacy noise);
* ``risk_fn``   — ``params -> the problem's monitored objective`` (its ``monitor`` metric, e.g. the exact
  population risk of ``least_squares``): idealized methods that use what the problem knows (an exact line
  search on the population risk). Only problems with a ``monitor`` provide it; the plan checks this.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable
from typing import Any

import optax
import optax.contrib

from descentlab.optim._common import UNIT
from descentlab.params import Arg, Param, annotated_param
from descentlab.registry import Registry

EXTRA_ARGS = ("value", "grad", "value_fn", "grad_fn", "example_grads", "key", "risk_fn")


@dataclasses.dataclass(frozen=True)
class OptimizerEntry:
    """How to build one named optimizer from spec values."""

    name: str
    factory: Callable[..., optax.GradientTransformation]
    params: dict[str, Param]
    summary: str
    reference: str
    takes_learning_rate: bool = True
    extra_args: tuple[str, ...] = ()
    source: str = "descentlab"
    # Host-side quantities computed after a run from the spec values (e.g. DP-SGD's privacy ε):
    # ``host_metrics(params, *, steps, batch_size, n_examples) -> dict[str, float]``.
    host_metrics: Callable[..., dict[str, float]] | None = None

    def __post_init__(self):
        unknown = set(self.extra_args) - set(EXTRA_ARGS)
        if unknown:
            raise ValueError(f"optimizer {self.name!r}: unknown extra_args {sorted(unknown)}; allowed: {EXTRA_ARGS}")

    def build(self, learning_rate: Any = None, **params: Any) -> optax.GradientTransformationExtraArgs:
        """The transformation; ``learning_rate`` may be a scalar or an optax schedule."""
        if self.takes_learning_rate:
            params = {"learning_rate": learning_rate, **params}
        return optax.with_extra_args_support(self.factory(**params))


def _entry(name: str, factory: Callable, params: dict[str, Param], **fields: Any) -> OptimizerEntry:
    """An optimizer takes the (scheduled) learning rate when its factory has a ``learning_rate`` argument."""
    takes_learning_rate = "learning_rate" in inspect.signature(factory).parameters
    return OptimizerEntry(name, factory, params, takes_learning_rate=takes_learning_rate, **fields)


OPTIMIZERS: Registry[OptimizerEntry] = Registry("optimizer", _entry, context=("learning_rate",))

register_optimizer = OPTIMIZERS.register
"""``@register_optimizer(name, summary=..., reference=..., extra_args=..., host_metrics=..., source=...)`` on a
factory ``(learning_rate, **params) -> GradientTransformation`` whose parameters carry ``Arg`` metadata."""

# Arguments of optax factories that are not hyperparameters a spec can set.
_NOT_SETTABLE = {
    "mask",
    "mu_dtype",
    "accumulator_dtype",
    "weight_decay_mask",
    "trust_ratio_mask",
    "linesearch",
    "key",
    "seed",
    "dtype_momentum",
    "base_optimizer",
    "adv_optimizer",
    "opt",
    "state_dtype",
    "muon_weight_dimension_numbers",
    "adam_learning_rate",
    "consistent_rms",
    "weight_dimension_numbers",
}


_NONNEGATIVE = {"low": 0.0}
KNOWN_BOUNDS: dict[str, dict[str, Any]] = {
    **dict.fromkeys(("momentum", "b1", "b2", "b3", "beta3", "decay", "rho", "adam_b1", "adam_b2"), UNIT),
    **dict.fromkeys(
        (
            "eps",
            "eps_root",
            "weight_decay",
            "initial_accumulator_value",
            "initial_scale",
            "trust_coefficient",
            "min_norm",
            "max_learning_rate",
            "estim_lr0",
            "adam_eps_root",
            "adam_weight_decay",
            "init_estim_sq_dist",
        ),
        _NONNEGATIVE,
    ),
}
"""Bounds of the float hyperparameters read from optax signatures, by their conventional names: averaging
and momentum coefficients lie in [0, 1), step-size floors, decays and initial values are >= 0."""


def _param_from_signature(parameter: inspect.Parameter) -> Param | None:
    """An optax hyperparameter's Param, inferred from its annotation, default and conventional name."""
    text = str(parameter.annotation)
    required = parameter.default is inspect.Parameter.empty
    default = None if required else parameter.default
    if parameter.name in _NOT_SETTABLE:
        return None
    if text in ("<class 'bool'>", "bool") or isinstance(default, bool):
        return Param("bool", default, required=required)
    if "numpy.number" in text or "float" in text or isinstance(default, float):
        if default is not None and not isinstance(default, (int, float)):
            return None  # a tuple or callable default: not a scalar hyperparameter
        return Param(
            "float",
            None if default is None else float(default),
            required=required,
            **KNOWN_BOUNDS.get(parameter.name, {}),
        )
    if text in ("<class 'int'>", "int") or (isinstance(default, int) and not isinstance(default, bool)):
        return Param("int", default, required=required)
    if text in ("<class 'str'>", "str") or isinstance(default, str):
        return Param("str", default, required=required)
    return None


def register_optax(
    name: str,
    factory: Callable,
    reference: str,
    extra_args: tuple[str, ...] = (),
    source: str = "optax",
    **overrides: Arg,
) -> OptimizerEntry:
    """Register an optax optimizer, inferring its hyperparameters from its signature (``overrides``: an
    :class:`Arg` for a hyperparameter the inference gets wrong; the default still comes from the signature)."""
    component = f"optimizer {name!r}"

    def from_optax(parameter: inspect.Parameter) -> Param | None:
        if parameter.name in overrides:
            return annotated_param(component, parameter, overrides[parameter.name])
        return _param_from_signature(parameter)

    unknown = set(overrides) - set(inspect.signature(factory).parameters)
    if unknown:
        raise ValueError(f"{component}: overrides {sorted(unknown)} are not in the factory's signature")
    summary = (inspect.getdoc(factory) or name).strip().splitlines()[0]
    OPTIMIZERS.register(
        name, unannotated=from_optax, summary=summary, reference=reference, extra_args=extra_args, source=source
    )(factory)
    return OPTIMIZERS.get(name)


_OPTAX = {
    "sgd": ("Robbins & Monro 1951; Polyak 1964 (heavy ball); Nesterov 1983", ()),
    "adam": ("Kingma & Ba. Adam: A Method for Stochastic Optimization (1412.6980)", ()),
    "adamw": ("Loshchilov & Hutter. Decoupled Weight Decay Regularization (1711.05101)", ()),
    "nadam": ("Dozat. Incorporating Nesterov Momentum into Adam (2016)", ()),
    "adamax": ("Kingma & Ba (1412.6980), section 7", ()),
    "amsgrad": ("Reddi, Kale, Kumar. On the Convergence of Adam and Beyond (1904.09237)", ()),
    "adabelief": ("Zhuang et al. AdaBelief Optimizer (2010.07468)", ()),
    "adagrad": ("Duchi, Hazan, Singer. Adaptive Subgradient Methods (JMLR 2011)", ()),
    "rmsprop": ("Tieleman & Hinton. Lecture 6.5 - RMSProp (2012)", ()),
    "lion": ("Chen et al. Symbolic Discovery of Optimization Algorithms (2302.06675)", ()),
    "sign_sgd": ("Bernstein et al. signSGD (1802.04434)", ()),
    "lamb": ("You et al. Large Batch Optimization for Deep Learning (1904.00962)", ()),
    "lars": ("You, Gitman, Ginsburg. Large Batch Training of Convolutional Networks (1708.03888)", ()),
    "radam": ("Liu et al. On the Variance of the Adaptive Learning Rate and Beyond (1908.03265)", ()),
    "yogi": ("Zaheer et al. Adaptive Methods for Nonconvex Optimization (NeurIPS 2018)", ()),
    "novograd": ("Ginsburg et al. Stochastic Gradient Methods with Layer-wise Adaptive Moments (1905.11286)", ()),
    "adadelta": ("Zeiler. ADADELTA (1212.5701)", ()),
    "adan": ("Xie et al. Adan: Adaptive Nesterov Momentum Algorithm (2208.06677)", ()),
    "fromage": ("Bernstein et al. On the distance between two neural networks (2002.03432)", ()),
    "optimistic_gradient_descent": ("Daskalakis et al. Training GANs with Optimism (1711.00141)", ()),
    "polyak_sgd": ("Loizou et al. Stochastic Polyak Step-size for SGD (2002.10542)", ("value",)),
}


def _register_builtin() -> None:
    for name, (reference, extras) in _OPTAX.items():
        register_optax(name, getattr(optax, name), reference, extras)
    register_optax(
        "muon",
        optax.contrib.muon,
        "Jordan et al. Muon (2024); Newton–Schulz 5 with coefficients (3.4445, −4.7750, 2.0315)",
        source="optax.contrib",
        beta=Arg("momentum β", kind="float", **UNIT),
        ns_steps=Arg(
            "Newton–Schulz iterations (0: no orthogonalization, the update is G/‖G‖_F: normalized GD)",
            kind="int",
            low=0,
        ),
    )


_register_builtin()
