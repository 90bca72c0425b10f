r"""GFS sharpness: the sharpness of the point where gradient flow from the current iterate converges.

At each checkpoint the probe integrates gradient flow :math:`\dot w = -\nabla f(w)`, :math:`w(0) = \theta_t`,
to time ``horizon`` with ``diffrax`` (Tsit5, adaptive steps under a PID controller with tolerances
``rtol``/``atol``, at most ``max_steps`` steps, so the solve runs inside the compiled scan), and reports
the top eigenvalue of the dense Hessian :math:`\nabla^2 f` at the end point (``eigvalsh``: meant for
small parameter counts such as scalar networks). This is the *gradient flow solution (GFS) sharpness*
of Kreisler, Nacson, Soudry, Carmon, *Gradient Descent Monotonically Decreases the Sharpness of Gradient
Flow Solutions in Scalar Networks and Beyond* (2305.13064), which GD decreases monotonically on scalar
networks even at the edge of stability.

f is the deterministic objective ``problem.value`` when the problem has one (the oracle problems of
:mod:`descentlab.problems._oracle`, whose gradient noise must not move the flow), else the loss on the
evaluation batch. Metrics: ``gfs_sharpness``, ``gfs_loss`` (f at the end point: how far the flow got; a
value well above f* means ``horizon`` or ``max_steps`` was too small).
"""

from __future__ import annotations

from typing import Annotated, Any

import diffrax
import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree

from descentlab.params import Arg
from descentlab.probes.base import Probe, ProbeContext, register_probe


class GFSSharpness(Probe):
    """Top Hessian eigenvalue at the end of a diffrax gradient-flow solve from θ_t."""

    def __init__(self, horizon: float = 200.0, max_steps: int = 4096, rtol: float = 1e-9, atol: float = 1e-12):
        self.horizon, self.max_steps, self.rtol, self.atol = horizon, max_steps, rtol, atol
        self.uses_eval_batch = True

    def objective(self, ctx: ProbeContext):
        flat, unravel = ravel_pytree(ctx.params)
        value = getattr(ctx.problem, "value", None)
        if callable(value):
            return (lambda x: value(unravel(x))), flat
        return (lambda x: ctx.problem.loss(unravel(x), ctx.eval_batch)), flat

    def flow_end(self, fun, flat: jax.Array) -> jax.Array:
        """θ after gradient flow for time ``horizon`` from ``flat``."""
        grad = jax.grad(fun)
        term = diffrax.ODETerm(lambda t, y, args: -grad(y))
        solution = diffrax.diffeqsolve(
            term,
            diffrax.Tsit5(),
            t0=0.0,
            t1=self.horizon,
            dt0=None,
            y0=flat,
            stepsize_controller=diffrax.PIDController(rtol=self.rtol, atol=self.atol),
            max_steps=self.max_steps,
            saveat=diffrax.SaveAt(t1=True),
            throw=False,
        )
        return solution.ys[-1]

    def measure(self, ctx: ProbeContext, state: Any) -> tuple[dict[str, jax.Array], Any]:
        fun, flat = self.objective(ctx)
        end = self.flow_end(fun, flat)
        top = jnp.linalg.eigvalsh(jax.hessian(fun)(end))[-1]
        return {"gfs_sharpness": top, "gfs_loss": fun(end)}, state


@register_probe(
    "gfs_sharpness",
    summary="sharpness of the gradient-flow solution from θ_t (diffrax solve, then dense Hessian eigvalsh)",
    reference="Kreisler, Nacson, Soudry, Carmon 2023 (2305.13064)",
)
def gfs_sharpness_probe(
    horizon: Annotated[float, Arg("gradient-flow time integrated from θ_t", low=0.0)] = 200.0,
    max_steps: Annotated[int, Arg("most solver steps per solve", low=1)] = 4096,
    rtol: Annotated[float, Arg("relative tolerance of the step-size controller", low=0.0)] = 1e-9,
    atol: Annotated[float, Arg("absolute tolerance of the step-size controller", low=0.0)] = 1e-12,
) -> Probe:
    return GFSSharpness(horizon, max_steps, rtol, atol)
