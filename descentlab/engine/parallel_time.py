r"""Parallel-in-time evaluation of a nonlinear recursion by Newton's method (DEER), and MALA written as one.

A recursion :math:`s_t = f(s_{t-1}, u_t)`, :math:`t = 1..T`, with its inputs :math:`u_{1:T}` fixed in advance (for
a Markov chain: its Gaussian draws and uniforms, "taped"), is the root of the residual
:math:`r_t(s_{1:T}) = s_t - f(s_{t-1}, u_t)`. Newton's method on :math:`r = 0` linearizes :math:`f` around the
current guess :math:`s^{(i)}_{1:T}` of the whole trajectory,

.. math::

    s^{(i+1)}_t = J_t\,s^{(i+1)}_{t-1} + b_t, \qquad
    J_t = \partial_s f(s^{(i)}_{t-1}, u_t), \qquad b_t = f(s^{(i)}_{t-1}, u_t) - J_t\,s^{(i)}_{t-1},

with :math:`s^{(i+1)}_0 = s_0`. :math:`J_t` and :math:`b_t` are computed for all :math:`t` at once (``vmap``),
and the linear recursion is a prefix product of the affine maps :math:`x\mapsto J_t x + b_t`, whose composition
:math:`(J_2, b_2)\circ(J_1, b_1) = (J_2J_1,\ J_2b_1 + b_2)` is associative: ``jax.lax.associative_scan``
evaluates it in :math:`O(\log T)` depth (Blelloch). Two facts make this exact rather than approximate:

* iteration :math:`i` gets :math:`s_1..s_i` exactly right (:math:`s_1` depends only on :math:`s_0`, and so on by
  induction), so Newton needs at most :math:`T` iterations — it is the sequential evaluation at worst;
* near the solution it converges quadratically, so for a contracting recursion (a Markov chain that forgets its
  start) the count stays in the tens whatever :math:`T` (Lim et al. 2309.12252; Gonzalez et al., *Towards
  scalable and stable parallelization of nonlinear RNNs*; Zoltowski, Wu, Gonzalez, Kozachkov, Linderman,
  *Parallelizing MCMC Across the Sequence Length*, 2508.18413). For a chaotic recursion (positive Lyapunov
  exponent) the products :math:`J_t\cdots J_s` grow exponentially and the count grows like :math:`T`.

The iteration starts from :math:`s^{(0)}_t = s_0` for all :math:`t` and stops when
:math:`\max_t\|s^{(i+1)}_t - s^{(i)}_t\|_\infty \le` ``tolerance`` (or after ``max_iterations``; a non-finite
update stops it unconverged). ``linearize`` replaces :math:`f` where the Jacobian is taken (a wrong Jacobian is a
quasi-Newton method: the fixed point is the same, the convergence is not).

**MALA as a recursion** (:func:`mala_step`). With :math:`U = -\log\pi`, step :math:`h`, inputs
:math:`u_t = (\xi_t, \log v_t)`, :math:`\xi_t\sim\mathcal N(0, I)`, :math:`v_t\sim\mathcal U(0, 1)`:

.. math::

    y = x - h\nabla U(x) + \sqrt{2h}\,\xi_t, \qquad
    \log\alpha = U(x) - U(y) - \frac{\|x - y + h\nabla U(y)\|^2 - \|y - x + h\nabla U(x)\|^2}{4h},

    f(x, u_t) = x + a_t\,(y - x), \qquad a_t = \mathbb 1[\log v_t < \log\alpha].

The accept indicator is a step function of :math:`x`: its derivative is zero almost everywhere, so the Jacobian
is that of the branch taken, :math:`\partial_x f = I - h\nabla^2U(x)` on acceptance and :math:`I` on rejection
(``jnp.where`` differentiates this way; it is the treatment of the accept step in Zoltowski et al.). Newton then
solves each piece exactly, and the accept decisions settle as the trajectory does.

This is not an evaluation mode of the engine: measured on the 2-core CPU this was written on, the parallel
evaluation is slower than ``lax.scan`` (the ratio is in :mod:`descentlab.studies.parallel_mcmc`); it pays only where
the :math:`T`-wide work runs in parallel (an accelerator).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

Step = Callable[[jax.Array, Any], jax.Array]
"""One step of a recursion: ``f(s_prev, u_t) -> s_t`` on a state vector of shape (d,)."""


class NewtonSolution(NamedTuple):
    """What :func:`newton_solve` returns.

    Attributes:
        states: the trajectory :math:`s_{1:T}`, shape (T, d).
        iterations: Newton iterations run (the last one changed nothing by more than the tolerance when converged).
        converged: whether the last update was ≤ the tolerance.
        updates: :math:`\\max_t\\|s^{(i+1)}_t - s^{(i)}_t\\|_\\infty` of each iteration, shape (max_iterations,),
            NaN after the last one run.
    """

    states: jax.Array
    iterations: jax.Array
    converged: jax.Array
    updates: jax.Array


def sequential(step: Step, s0: jax.Array, inputs: Any) -> jax.Array:
    """The recursion evaluated step by step (``lax.scan``): :math:`s_{1:T}`, shape (T, d)."""

    def body(s, u):
        s_next = step(s, u)
        return s_next, s_next

    return jax.lax.scan(body, s0, inputs)[1]


def _compose(earlier: tuple[jax.Array, jax.Array], later: tuple[jax.Array, jax.Array]):
    """(J₂, b₂) ∘ (J₁, b₁) = (J₂J₁, J₂b₁ + b₂), batched over the leading axis."""
    a1, b1 = earlier
    a2, b2 = later
    return a2 @ a1, jnp.einsum("...ij,...j->...i", a2, b1) + b2


def linear_recursion(jacobians: jax.Array, offsets: jax.Array, s0: jax.Array) -> jax.Array:
    """:math:`s_t = J_t s_{t-1} + b_t` from :math:`s_0`, for all t by an associative scan (depth O(log T)).

    Args:
        jacobians: :math:`J_{1:T}`, shape (T, d, d).
        offsets: :math:`b_{1:T}`, shape (T, d).
        s0: the initial state, shape (d,).

    Returns:
        :math:`s_{1:T}`, shape (T, d).
    """
    first = jacobians[0] @ s0 + offsets[0]  # fold s0 into the first map: s_1 is then its offset
    offsets = offsets.at[0].set(first)
    jacobians = jacobians.at[0].set(jnp.zeros_like(jacobians[0]))
    return jax.lax.associative_scan(_compose, (jacobians, offsets))[1]


def newton_solve(
    step: Step,
    s0: jax.Array,
    inputs: Any,
    *,
    tolerance: float,
    max_iterations: int,
    linearize: Step | None = None,
) -> NewtonSolution:
    """The trajectory of ``step`` from ``s0`` driven by ``inputs`` (leading axis T), by parallel Newton iterations.

    Args:
        step: :math:`f(s_{t-1}, u_t)`.
        s0: :math:`s_0`, shape (d,).
        inputs: a pytree of arrays with leading axis T (:math:`u_{1:T}`).
        tolerance: stop when the largest change of any state entry is at most this.
        max_iterations: at most this many iterations (static).
        linearize: the function whose Jacobian is used (default ``step``; a different one makes a quasi-Newton
            method with the same fixed point).

    Returns:
        A :class:`NewtonSolution`.
    """
    linearize = step if linearize is None else linearize
    horizon = jax.tree_util.tree_leaves(inputs)[0].shape[0]
    values = jax.vmap(step)
    jacobian = jax.vmap(jax.jacfwd(linearize, argnums=0))

    def iterate(states):
        previous = jnp.concatenate([s0[None], states[:-1]], axis=0)
        jacobians = jacobian(previous, inputs)
        offsets = values(previous, inputs) - jnp.einsum("tij,tj->ti", jacobians, previous)
        return linear_recursion(jacobians, offsets, s0)

    def more(carry):
        i, _, update, _ = carry
        return (i == 0) | ((i < max_iterations) & ~(update <= tolerance) & jnp.isfinite(update))

    def body(carry):
        i, states, _, updates = carry
        new = iterate(states)
        update = jnp.max(jnp.abs(new - states))
        return i + 1, new, update, updates.at[i].set(update)

    guess = jnp.broadcast_to(s0, (horizon, *s0.shape))
    updates = jnp.full((max_iterations,), jnp.nan, dtype=s0.dtype)
    start = (jnp.asarray(0), guess, jnp.asarray(jnp.inf, dtype=s0.dtype), updates)
    iterations, states, update, updates = jax.lax.while_loop(more, body, start)
    return NewtonSolution(states, iterations, update <= tolerance, updates)


def mala_step(potential: Callable[[jax.Array], jax.Array], step_size: float, drop_hessian: bool = False) -> Step:
    """One MALA step on :math:`\\pi\\propto e^{-U}` as a recursion ``f(x, (xi, log_v))`` (see the module docstring).

    Args:
        potential: :math:`U(x)`.
        step_size: :math:`h`.
        drop_hessian: stop the gradient through the drift :math:`\\nabla U(x)` of the proposal, so the Jacobian
            of an accepted step is :math:`I` instead of :math:`I - h\\nabla^2U(x)` (the same values; a wrong
            Jacobian, for a control).
    """
    value_and_grad = jax.value_and_grad(potential)
    scale = jnp.sqrt(2.0 * step_size)

    def step(x: jax.Array, inputs: tuple[jax.Array, jax.Array]) -> jax.Array:
        xi, log_v = inputs
        u_x, g_x = value_and_grad(x)
        drift = jax.lax.stop_gradient(g_x) if drop_hessian else g_x
        y = x - step_size * drift + scale * xi
        u_y, g_y = value_and_grad(y)
        forward = jnp.sum((y - x + step_size * g_x) ** 2)
        backward = jnp.sum((x - y + step_size * g_y) ** 2)
        log_alpha = u_x - u_y - (backward - forward) / (4.0 * step_size)
        return jnp.where(log_v < log_alpha, y, x)

    return step


def mala_inputs(key: jax.Array, horizon: int, dim: int, dtype: Any = None) -> tuple[jax.Array, jax.Array]:
    """The taped inputs of ``horizon`` MALA steps in dimension ``dim``: Gaussian draws (T, d) and log-uniforms (T,)."""
    k_xi, k_v = jax.random.split(key)
    dtype = dtype or jnp.result_type(float)
    xi = jax.random.normal(k_xi, (horizon, dim), dtype=dtype)
    log_v = jnp.log(jax.random.uniform(k_v, (horizon,), dtype=dtype))
    return xi, log_v


def logistic_map_step(rate: float) -> Step:
    """The driven logistic map :math:`x_t = r\\,x_{t-1}(1 - x_{t-1})` (inputs unused): chaotic for r near 4
    (Lyapunov exponent ln 2 at r = 4), so its Newton iteration count grows like T."""

    def step(x: jax.Array, inputs: Any) -> jax.Array:
        del inputs
        return rate * x * (1.0 - x)

    return step
