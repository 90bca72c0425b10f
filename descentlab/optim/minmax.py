r"""Gradient methods for min-max games :math:`\min_x \max_y f(x, y)`.

Parameters are a dict ``{"x": …, "y": …}`` and the problem's gradient is the descent–ascent field
:math:`F(x, y) = (\nabla_x f, -\nabla_y f)`, so a descent step on F is a descent step in x and an
ascent step in y. ``grad_fn`` (an extra argument) evaluates F at other points on the same batch.

* **Simultaneous GDA**: :math:`z_{t+1} = z_t - \eta F(z_t)` — plain SGD on the field.
* **Alternating GDA**: :math:`x_{t+1} = x_t - \eta F_x(x_t, y_t)`,
  :math:`y_{t+1} = y_t - \eta F_y(x_{t+1}, y_t)`.
* **Extragradient** (Korpelevich): :math:`z_{t+1/2} = z_t - \eta F(z_t)`,
  :math:`z_{t+1} = z_t - \eta F(z_{t+1/2})`.
* Optimistic GD is optax's ``optimistic_gradient_descent`` (registered in ``registry``).
* **Two-timescale GDA / extragradient** (Chae, Kim, Kim 2305.16242): with
  :math:`\Lambda_\tau = \mathrm{diag}(\tau^{-1} I_x, I_y)` (time-scale ratio τ: the max player y steps
  with η, the min player x with η/τ), GDA is :math:`z_{t+1} = z_t - \eta\Lambda_\tau F(z_t)` and
  extragradient :math:`z_{t+1/2} = z_t - \eta\Lambda_\tau F(z_t)`,
  :math:`z_{t+1} = z_t - \eta\Lambda_\tau F(z_{t+1/2})`. τ is a float (a vmapped axis); τ = 1 is the
  one-timescale method.

Both GDA variants take a ``geometry`` (default ``"euclidean"``, the plain steps above, unchanged):
``"simplex"`` projects each player's new iterate onto the probability simplex — each row (last axis)
onto its own simplex for a 2-D parameter, e.g. one behavioural strategy per infoset (projected GDA: the
*direct* policy parametrization of policy-gradient methods); ``"softmax_natural"`` divides each player's
field by :math:`\mathrm{softmax}` of its parameters — for softmax logits θ with
:math:`\nabla_\theta f = p\odot(g-\langle p,g\rangle)`, :math:`p=\mathrm{softmax}(\theta)`, this is
:math:`g-\langle p, g\rangle\mathbf 1 = F(\theta)^{+}\nabla_\theta f` up to a multiple of
:math:`\mathbf 1`, the natural policy gradient with the Fisher matrix :math:`F=\mathrm{diag}(p)-pp^\top`
of the softmax policy (Kakade 2001; Agarwal et al. 1908.00261).

On a minimisation problem (F = ∇f) extragradient is a two-gradient method and alternating GDA
a two-block Gauss–Seidel gradient method.

References: Korpelevich. *The extragradient method for finding saddle points and other problems*
(1976); Gidel et al. *A Variational Inequality Perspective on Generative Adversarial Networks*
(ICLR 2019, arXiv 1802.10551); Zhang, Wang, Lessard, Grosse. *Near-optimal Local Convergence of
Alternating Gradient Descent-Ascent for Minimax Optimization* (AISTATS 2022, arXiv 2102.09468).
"""

from __future__ import annotations

from typing import Annotated, NamedTuple

import jax
import jax.numpy as jnp
import optax

from descentlab.optim._common import count_increment, learning_rate_at, require, simplex_projection
from descentlab.optim.registry import register_optimizer
from descentlab.params import Arg

GEOMETRIES = ("euclidean", "simplex", "softmax_natural")
Geometry = Annotated[
    str,
    Arg(
        "euclidean: plain steps; simplex: project each player onto the probability simplex (direct "
        "parametrization); softmax_natural: natural policy gradient for softmax logits",
        choices=GEOMETRIES,
    ),
]


def _check_geometry(geometry: str) -> None:
    if geometry not in GEOMETRIES:
        raise ValueError(f"geometry: got {geometry!r}; allowed: {', '.join(GEOMETRIES)}")


def _direction(field: jax.Array, z: jax.Array, geometry: str) -> jax.Array:
    """The field a player steps along: preconditioned by the softmax Fisher's pseudo-inverse for
    ``softmax_natural`` (its rows are the logits' last axis), else the field itself."""
    if geometry == "softmax_natural":
        return field / jax.nn.softmax(z, axis=-1)
    return field


def _step(z: jax.Array, field: jax.Array, eta: jax.Array, geometry: str) -> jax.Array:
    """One player's move (new − old) under ``geometry``."""
    new = z - eta * _direction(field, z, geometry)
    if geometry == "simplex":
        new = _project_rows(new)
    return (new - z).astype(z.dtype)


def _project_rows(v: jax.Array) -> jax.Array:
    """Each row (the last axis) onto the probability simplex; a vector is one row (a product of simplices for
    the per-infoset behavioural strategies of an extensive-form game)."""
    if v.ndim <= 1:
        return simplex_projection(v.reshape(-1)).reshape(v.shape)
    return jax.vmap(simplex_projection)(v.reshape(-1, v.shape[-1])).reshape(v.shape)


class CountState(NamedTuple):
    count: jax.Array


@register_optimizer(
    "simultaneous_gda",
    summary="simultaneous gradient descent–ascent: z ← z − η F(z) (SGD on the descent–ascent field)",
    reference="Arrow, Hurwicz, Uzawa. Studies in Linear and Non-linear Programming (1958)",
    source="optax",
)
def simultaneous_gda(
    learning_rate: optax.ScalarOrSchedule, geometry: Geometry = "euclidean"
) -> optax.GradientTransformation:
    _check_geometry(geometry)
    if geometry == "euclidean":
        return optax.sgd(learning_rate)

    def init_fn(params):
        del params
        return CountState(jnp.zeros([], jnp.int32))

    def update_fn(updates, state, params=None):
        eta = learning_rate_at(learning_rate, state.count)
        moves = jax.tree.map(lambda f, z: _step(z, f, eta, geometry), updates, params)
        return moves, CountState(count_increment(state.count))

    return optax.GradientTransformation(init_fn, update_fn)


@register_optimizer(
    "extragradient",
    summary="extragradient: z ← z − η F(z − η F(z))",
    reference="Korpelevich. The extragradient method for finding saddle points (1976)",
    extra_args=("grad_fn",),
)
def extragradient(learning_rate: optax.ScalarOrSchedule) -> optax.GradientTransformationExtraArgs:
    def init_fn(params):
        del params
        return CountState(jnp.zeros([], jnp.int32))

    def update_fn(updates, state, params=None, *, grad_fn=None, **extra):
        del extra
        grad_fn = require(grad_fn, "grad_fn", "extragradient")
        eta = learning_rate_at(learning_rate, state.count)
        half = jax.tree.map(lambda z, f: z - eta * f, params, updates)
        field = grad_fn(half)
        moves = jax.tree.map(lambda f, z: (-eta * f).astype(z.dtype), field, params)
        return moves, CountState(count_increment(state.count))

    return optax.GradientTransformationExtraArgs(init_fn, update_fn)


@register_optimizer(
    "alternating_gda",
    summary="alternating gradient descent–ascent: x ← x − η F_x(x, y), then y ← y − η F_y(x_new, y)",
    reference="Zhang, Wang, Lessard, Grosse. Near-optimal Local Convergence of Alternating GDA (2102.09468)",
    extra_args=("grad_fn",),
)
def alternating_gda(
    learning_rate: optax.ScalarOrSchedule, geometry: Geometry = "euclidean"
) -> optax.GradientTransformationExtraArgs:
    _check_geometry(geometry)

    def init_fn(params):
        del params
        return CountState(jnp.zeros([], jnp.int32))

    def update_fn(updates, state, params=None, *, grad_fn=None, **extra):
        del extra
        grad_fn = require(grad_fn, "grad_fn", "alternating_gda")
        if not (isinstance(params, dict) and set(params) == {"x", "y"}):
            raise ValueError(
                "alternating_gda needs params {'x': …, 'y': …} (the two players); "
                f"got keys {sorted(params) if isinstance(params, dict) else type(params).__name__}"
            )
        eta = learning_rate_at(learning_rate, state.count)
        if geometry == "euclidean":
            dx = jax.tree.map(lambda f, z: (-eta * f).astype(z.dtype), updates["x"], params["x"])
        else:
            dx = jax.tree.map(lambda f, z: _step(z, f, eta, geometry), updates["x"], params["x"])
        x_new = jax.tree.map(jnp.add, params["x"], dx)
        field_y = grad_fn({"x": x_new, "y": params["y"]})["y"]
        if geometry == "euclidean":
            dy = jax.tree.map(lambda f, z: (-eta * f).astype(z.dtype), field_y, params["y"])
        else:
            dy = jax.tree.map(lambda f, z: _step(z, f, eta, geometry), field_y, params["y"])
        return {"x": dx, "y": dy}, CountState(count_increment(state.count))

    return optax.GradientTransformationExtraArgs(init_fn, update_fn)


Ratio = Annotated[float, Arg("time-scale ratio τ: y steps with η, x with η/τ", low=0.0, low_open=True)]


def _two_timescale(params: dict, what: str) -> None:
    if not (isinstance(params, dict) and set(params) == {"x", "y"}):
        raise ValueError(
            f"{what} needs params {{'x': …, 'y': …}} (the two players); "
            f"got keys {sorted(params) if isinstance(params, dict) else type(params).__name__}"
        )


def _scaled_step(field: dict, params: dict, eta: jax.Array, ratio: jax.Array) -> dict:
    """−η Λ_τ F: the x block scaled by η/τ, the y block by η."""
    return {
        "x": jax.tree.map(lambda f, z: (-(eta / ratio) * f).astype(z.dtype), field["x"], params["x"]),
        "y": jax.tree.map(lambda f, z: (-eta * f).astype(z.dtype), field["y"], params["y"]),
    }


@register_optimizer(
    "two_timescale_gda",
    summary="two-timescale GDA: x ← x − (η/τ) F_x(z), y ← y − η F_y(z) (simultaneous)",
    reference="Heusel et al. GANs trained by a two time-scale update rule (1706.08500); Jin, Netrapalli, "
    "Jordan (1902.00618)",
)
def two_timescale_gda(learning_rate: optax.ScalarOrSchedule, ratio: Ratio = 1.0) -> optax.GradientTransformation:
    def init_fn(params):
        del params
        return CountState(jnp.zeros([], jnp.int32))

    def update_fn(updates, state, params=None):
        _two_timescale(updates, "two_timescale_gda")
        eta = learning_rate_at(learning_rate, state.count)
        return _scaled_step(updates, updates, eta, jnp.asarray(ratio)), CountState(count_increment(state.count))

    return optax.GradientTransformation(init_fn, update_fn)


@register_optimizer(
    "two_timescale_extragradient",
    summary="two-timescale extragradient: z ← z − ηΛ_τ F(z − ηΛ_τ F(z)), Λ_τ = diag(I/τ, I)",
    reference="Chae, Kim, Kim. Two-timescale Extragradient for Finding Local Minimax Points (2305.16242)",
    extra_args=("grad_fn",),
)
def two_timescale_extragradient(
    learning_rate: optax.ScalarOrSchedule, ratio: Ratio = 1.0
) -> optax.GradientTransformationExtraArgs:
    def init_fn(params):
        del params
        return CountState(jnp.zeros([], jnp.int32))

    def update_fn(updates, state, params=None, *, grad_fn=None, **extra):
        del extra
        grad_fn = require(grad_fn, "grad_fn", "two_timescale_extragradient")
        _two_timescale(params, "two_timescale_extragradient")
        eta = learning_rate_at(learning_rate, state.count)
        tau = jnp.asarray(ratio)
        half = jax.tree.map(jnp.add, params, _scaled_step(updates, params, eta, tau))
        moves = _scaled_step(grad_fn(half), params, eta, tau)
        return moves, CountState(count_increment(state.count))

    return optax.GradientTransformationExtraArgs(init_fn, update_fn)
