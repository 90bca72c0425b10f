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
* ``key``       — a fresh PRNG key for this step (Hutchinson probes, privacy noise).
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable
from typing import Any

import optax
import optax.contrib

from descentlab.params import Param
from descentlab.registry import Registry

EXTRA_ARGS = ("value", "grad", "value_fn", "grad_fn", "example_grads", "key")


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

    def build(self, learning_rate: Any = None, **params: Any) -> optax.GradientTransformationExtraArgs:
        """The transformation; ``learning_rate`` may be a scalar or an optax schedule."""
        if self.takes_learning_rate:
            params = {"learning_rate": learning_rate, **params}
        return optax.with_extra_args_support(self.factory(**params))


OPTIMIZERS: Registry[OptimizerEntry] = Registry("optimizer")

# Arguments of optax factories that are not hyperparameters a spec can set.
_NOT_SETTABLE = {
    "mask", "mu_dtype", "accumulator_dtype", "weight_decay_mask", "trust_ratio_mask", "linesearch",
    "key", "seed", "dtype_momentum", "base_optimizer", "adv_optimizer", "opt", "state_dtype",
    "muon_weight_dimension_numbers", "adam_learning_rate", "consistent_rms", "weight_dimension_numbers",
}


_UNIT = {"low": 0.0, "high": 1.0, "high_open": True}
_NONNEGATIVE = {"low": 0.0}
KNOWN_BOUNDS: dict[str, dict[str, Any]] = {
    **dict.fromkeys(("momentum", "b1", "b2", "b3", "beta3", "decay", "rho", "adam_b1", "adam_b2"), _UNIT),
    **dict.fromkeys(("eps", "eps_root", "weight_decay", "initial_accumulator_value", "initial_scale",
                     "trust_coefficient", "min_norm", "max_learning_rate", "estim_lr0", "adam_eps_root",
                     "adam_weight_decay", "init_estim_sq_dist"), _NONNEGATIVE),
}
"""Bounds of the float hyperparameters read from optax signatures, by their conventional names: averaging
and momentum coefficients lie in [0, 1), step-size floors, decays and initial values are >= 0."""


def _param_from_signature(parameter: inspect.Parameter) -> Param | None:
    text = str(parameter.annotation)
    required = parameter.default is inspect.Parameter.empty
    default = None if required else parameter.default
    if parameter.kind in (inspect.Parameter.VAR_KEYWORD, inspect.Parameter.VAR_POSITIONAL):
        return None
    if text in ("<class 'bool'>", "bool") or isinstance(default, bool):
        return Param("bool", default, required=required)
    if "numpy.number" in text or "float" in text or isinstance(default, float):
        if default is not None and not isinstance(default, (int, float)):
            return None  # a tuple or callable default: not a scalar hyperparameter
        return Param("float", None if default is None else float(default), required=required,
                     **KNOWN_BOUNDS.get(parameter.name, {}))
    if text in ("<class 'int'>", "int") or (isinstance(default, int) and not isinstance(default, bool)):
        return Param("int", default, required=required)
    if text in ("<class 'str'>", "str") or isinstance(default, str):
        return Param("str", default, required=required)
    return None


def register_optax(name: str, factory: Callable, reference: str, extra_args: tuple[str, ...] = (),
                   source: str = "optax", **overrides: Param) -> OptimizerEntry:
    """Register an optax optimizer, reading its hyperparameters from its signature."""
    params: dict[str, Param] = {}
    takes_lr = False
    for pname, parameter in inspect.signature(factory).parameters.items():
        if pname == "learning_rate":
            takes_lr = True
            continue
        if pname in _NOT_SETTABLE:
            continue
        param = _param_from_signature(parameter)
        if param is not None:
            params[pname] = param
    params.update(overrides)
    doc = (inspect.getdoc(factory) or name).strip().splitlines()[0]
    entry = OptimizerEntry(name, factory, params, doc, reference, takes_lr, extra_args, source)
    return OPTIMIZERS.add(name, entry)


def register_optimizer(
    name: str,
    params: dict[str, Param],
    summary: str,
    reference: str,
    takes_learning_rate: bool = True,
    extra_args: tuple[str, ...] = (),
    host_metrics: Callable[..., dict[str, float]] | None = None,
    source: str = "descentlab",
) -> Callable[[Callable], Callable]:
    """Decorator registering one of our optimizer factories (or an adapter of an optax one)."""
    unknown = set(extra_args) - set(EXTRA_ARGS)
    if unknown:
        raise ValueError(f"optimizer {name!r}: unknown extra_args {sorted(unknown)}; allowed: {EXTRA_ARGS}")

    def decorator(factory: Callable) -> Callable:
        OPTIMIZERS.add(name, OptimizerEntry(name, factory, params, summary, reference, takes_learning_rate, extra_args,
                                            source, host_metrics))
        return factory

    return decorator


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
        beta=Param("float", 0.95, "momentum β", **_UNIT),
    )


_register_builtin()
