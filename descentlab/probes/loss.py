r"""The loss family: the problem's own metrics, the loss on the evaluation batch, f − f*, ‖∇f‖, ‖θ − θ*‖.

* ``metrics`` — whatever the problem knows how to measure exactly (population risk, accuracy, …);
* ``loss`` — :math:`f(\theta_t)` on the fixed evaluation batch and, when f* is known,
  the suboptimality :math:`f(\theta_t) - f^\star`;
* ``grad_norm`` — :math:`\|\nabla f(\theta_t)\|` on the evaluation batch;
* ``distance`` — :math:`\|\theta_t-\theta^\star\|` when the problem knows a minimizer;
* ``accuracy`` — for problems with ``predict(params, inputs)`` and labels (``batch["x"]``,
  ``batch["y"]``): the fraction of correct predictions on the evaluation batch (``accuracy``) and,
  when the problem has ``test_set()``, on it (``accuracy_test``, with ``loss_test``; named apart from
  the ``test_*`` metrics a problem may report itself). Integer labels are compared with the argmax of
  the outputs; real labels with the sign of a scalar output.

The training loss on the step's own minibatch is recorded by the engine (it is computed by every
step anyway); these probes look at fixed batches only.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax

from descentlab.probes.base import FunctionProbe, ProbeContext, register_probe
from descentlab.problems.base import Predicts


def _metrics(ctx: ProbeContext) -> dict[str, jax.Array]:
    return ctx.problem.metrics(ctx.params)


def _loss(ctx: ProbeContext) -> dict[str, jax.Array]:
    value = ctx.problem.loss(ctx.params, ctx.eval_batch)
    out = {"loss": value}
    if ctx.problem.f_star is not None:
        out["suboptimality"] = value - ctx.problem.f_star
    return out


def _grad_norm(ctx: ProbeContext) -> dict[str, jax.Array]:
    _, grads = ctx.problem.grad(ctx.params, ctx.eval_batch)
    return {"grad_norm": optax.tree.norm(grads)}


def _distance(ctx: ProbeContext) -> dict[str, jax.Array]:
    optimum = ctx.problem.optimum()
    if optimum is None:
        return {}
    diff = jax.tree_util.tree_map(jnp.subtract, ctx.params, optimum)
    return {"distance_to_optimum": optax.tree.norm(diff)}


def correct_fraction(outputs: jax.Array, labels: jax.Array) -> jax.Array:
    """Accuracy: argmax vs integer labels, or sign agreement for real labels and scalar outputs."""
    if jnp.issubdtype(labels.dtype, jnp.integer):
        hits = jnp.argmax(outputs, axis=-1) == labels
    else:
        hits = jnp.sign(jnp.reshape(outputs, labels.shape)) == jnp.sign(labels)
    return jnp.mean(hits.astype(jnp.result_type(float)))


def _accuracy(ctx: ProbeContext) -> dict[str, jax.Array]:
    problem = ctx.problem
    predict = getattr(problem, "predict", None)
    batch = ctx.eval_batch
    if not callable(predict) or not isinstance(batch, dict) or "x" not in batch or "y" not in batch:
        raise ValueError(
            f"probe 'accuracy' needs problem.predict(params, inputs) and labelled batches (x, y); "
            f"problem {type(problem).__name__} ({problem.name!r}) does not provide them"
        )
    out = {"accuracy": correct_fraction(predict(ctx.params, batch["x"]), batch["y"])}
    test_set = getattr(problem, "test_set", None)
    if callable(test_set):
        test = test_set()
        out["accuracy_test"] = correct_fraction(predict(ctx.params, test["x"]), test["y"])
        out["loss_test"] = problem.loss(ctx.params, test)
    return out


@register_probe("metrics", summary="the problem's own exact metrics (population risk, accuracy, overlaps)")
def metrics_probe():
    return FunctionProbe(_metrics, uses_eval_batch=False)


@register_probe("loss", summary="loss on the evaluation batch, and f − f* when f* is known")
def loss_probe():
    return FunctionProbe(_loss)


@register_probe("grad_norm", summary="‖∇f‖ on the evaluation batch")
def grad_norm_probe():
    return FunctionProbe(_grad_norm)


@register_probe("distance", summary="‖θ − θ*‖ when the problem knows a minimizer")
def distance_probe():
    return FunctionProbe(_distance)


@register_probe(
    "accuracy",
    needs=(Predicts,),
    summary="accuracy on the evaluation batch (and test set) for labelled network problems",
)
def accuracy_probe():
    return FunctionProbe(_accuracy)
