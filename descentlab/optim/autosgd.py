r"""AutoSGD-style learning-rate selection: three SGD streams at γ/c, γ, γ·c compared per episode.

Within an episode of τ steps three SGD streams start from the same point and see the same batches:

.. math::
    x^{(s)}_{k+1} = x^{(s)}_k - c_s \gamma\, \nabla f_{B_k}(x^{(s)}_k), \qquad c_s \in \{1/c,\ 1,\ c\},

and each accumulates its batch losses after the step, :math:`\Lambda_s = \sum_k f_{B_k}(x^{(s)}_{k+1})`
(the same batches, so the comparison has common random numbers). At the episode's end the stream
with the least accumulated loss wins: γ is multiplied by :math:`c_s` (decrease, keep or increase) and
all three streams restart from the winner's iterate. The engine's parameters are the middle stream
(γ); the other two live in the state. Each step costs three gradients and three loss evaluations
(extra arguments ``grad_fn`` and ``value_fn``). With full batches this is the paper's AutoGD; the
paper's stochastic version uses a sequential statistical test for the decision, which is replaced
here by the comparison of accumulated batch losses over the episode.

Reference: Surjanovic, Bouchard-Côté, Campbell. *AutoSGD: Automatic Learning Rate Selection for
Stochastic Gradient Descent* (arXiv 2505.21651).
"""

from __future__ import annotations

from typing import Annotated, NamedTuple

import jax
import jax.numpy as jnp
import optax

from descentlab.optim._common import require
from descentlab.optim.registry import register_optimizer
from descentlab.params import Arg


class AutoSGDState(NamedTuple):
    step_in_episode: jax.Array
    gamma: jax.Array
    low: optax.Params  # stream at γ / c
    high: optax.Params  # stream at γ · c
    losses: jax.Array  # accumulated batch losses of (low, mid, high)


@register_optimizer(
    "autosgd",
    summary="AutoSGD: per episode, keep the best of SGD at γ/c, γ, γc on the same batches and rescale γ",
    reference="Surjanovic, Bouchard-Côté, Campbell. AutoSGD: Automatic Learning Rate Selection for SGD (2505.21651)",
    extra_args=("grad_fn", "value_fn"),
)
def autosgd(
    learning_rate: optax.ScalarOrSchedule,
    episode_length: Annotated[int, Arg("τ: steps per episode", low=1)] = 10,
    factor: Annotated[float, Arg("c: the streams run at γ/c, γ, γc", low=1.0, low_open=True)] = 2.0,
    loss_at: Annotated[
        str,
        Arg(
            "after: f_B(x_{k+1}) on the batch just used; before: f_B(x_k) on a batch not yet used",
            choices=("after", "before"),
        ),
    ] = "after",
    adapt: Annotated[
        bool, Arg("the end-of-episode decision (false: γ stays γ₀ and the middle stream is plain SGD)")
    ] = True,
) -> optax.GradientTransformationExtraArgs:
    r"""``learning_rate`` is the initial γ₀ (a schedule is read at step 0). ``adapt=False`` disables the
    increase/decrease decision: γ stays γ₀ and the middle stream (the parameters) is never restarted, so the
    parameters follow constant-step SGD at γ₀ (a control; the side streams still run and cost their gradients).
    ``loss_at="before"`` scores each stream by :math:`\sum_k f_{B_k}(x^{(s)}_k)`, the loss of its iterate on
    the batch it is about to use (a batch independent of the iterate: an unbiased online estimate); the
    default ``"after"`` scores :math:`f_{B_k}(x^{(s)}_{k+1})` on the batch the step was just fitted to, which
    favours larger steps when the gradient noise is large (measured in the autosgd study)."""
    gamma0 = learning_rate(0) if callable(learning_rate) else learning_rate

    def init_fn(params):
        dtype = jnp.result_type(*jax.tree.leaves(params))
        return AutoSGDState(jnp.zeros([], jnp.int32), jnp.asarray(gamma0, dtype), params, params, jnp.zeros(3, dtype))

    def update_fn(updates, state, params=None, *, grad_fn=None, value_fn=None, **extra):
        del extra
        grad_fn = require(grad_fn, "grad_fn", "autosgd")
        value_fn = require(value_fn, "value_fn", "autosgd")
        scales = jnp.stack([1.0 / factor, jnp.ones_like(factor), factor]).astype(state.gamma.dtype)

        def sgd(x, g, s):
            return jax.tree.map(lambda a, b: (a - s * state.gamma * b).astype(a.dtype), x, g)

        low = sgd(state.low, grad_fn(state.low), scales[0])
        mid = sgd(params, updates, scales[1])
        high = sgd(state.high, grad_fn(state.high), scales[2])
        scored = (low, mid, high) if loss_at == "after" else (state.low, params, state.high)
        losses = state.losses + jnp.stack([value_fn(x) for x in scored]).astype(state.losses.dtype)

        end = state.step_in_episode + 1 >= episode_length
        best = jnp.argmin(jnp.where(jnp.isfinite(losses), losses, jnp.inf))
        winner = jax.tree.map(lambda a, b, c: jnp.stack([a, b, c])[best], low, mid, high)
        gamma = jnp.where(end, state.gamma * scales[best], state.gamma) if adapt else state.gamma

        def pick(new, restart):
            return jax.tree.map(lambda n, r: jnp.where(end, r, n), new, restart)

        new_mid = pick(mid, winner) if adapt else mid
        state = AutoSGDState(
            jnp.where(end, 0, state.step_in_episode + 1).astype(jnp.int32),
            gamma,
            pick(low, winner),
            pick(high, winner),
            jnp.where(end, jnp.zeros_like(losses), losses),
        )
        return jax.tree.map(lambda n, p: (n - p).astype(p.dtype), new_mid, params), state

    return optax.GradientTransformationExtraArgs(init_fn, update_fn)
