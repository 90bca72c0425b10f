r"""One compiled program per static group: ``jit(vmap(run_one))`` with a nested scan over steps.

``run_one(seed, hparams)`` runs one training run entirely on the device:

.. code-block:: text

    θ₀ = problem.init(k_init); s₀ = opt.init(θ₀); record probes at step 0 (and, at every
    checkpoint, ``batch_loss``: the loss of the last step on its own minibatch)
    scan over checkpoint segments (c_{k-1}, c_k]:              # outer lax.scan
        fori_loop t = c_{k-1} … c_k − 1:                      # inner loop, never in Python
            batch_t = sample(k_data, t);  (f_t, g_t) = problem.grad(θ_t, batch_t)
            (u_t, s') = opt.update(g_t, s_t, θ_t, **extras)
            alive ← alive ∧ finite(f_t) ∧ f_t ≤ factor · f_ref     # divergence test
            θ_{t+1}, s_{t+1} = (θ_t + u_t, s') if alive else (θ_t, s_t)   # frozen once diverged
        record probes at c_k (NaN once diverged)

``vmap`` maps it over the runs of a chunk (seeds × vmapped hyperparameters). Checkpoint steps are
the same for every run, so the inner loop bounds are unbatched and the loop stays a loop.
A run's random key is ``fold_in(PRNGKey(run.seed), seed)``: it depends only on the seed index, so
runs that differ only in a hyperparameter see the same data (common random numbers).
"""

from __future__ import annotations

import dataclasses
import math
import os
import traceback
from typing import TYPE_CHECKING, Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from descentlab.engine.spec import Spec, probe_name_options, probe_params
from descentlab.params import SpecError
from descentlab.probes.base import Probe, ProbeContext
from descentlab.problems.samplers import Sampler

if TYPE_CHECKING:
    from descentlab.engine.plan import Group, Plan


class Carry(NamedTuple):
    params: Any
    opt_state: Any
    order: jax.Array
    alive: jax.Array
    divergence_step: jax.Array
    last_update: Any
    probe_states: tuple
    batch_loss: jax.Array  # the loss of the last step on its own minibatch (NaN before the first step)


def _select(flag: jax.Array, new: Any, old: Any) -> Any:
    return jax.tree_util.tree_map(lambda a, b: jnp.where(flag, a, b), new, old)


@dataclasses.dataclass
class GroupProgram:
    """Builds and compiles the program of one static group."""

    spec: Spec
    group: Group
    checkpoints: np.ndarray

    def __post_init__(self):
        from descentlab.optim import OPTIMIZERS, SCHEDULES
        from descentlab.probes import PROBES
        from descentlab.problems import PROBLEMS

        problem_name, self.problem_values = self.group.component("problem")
        self.problem_cls = PROBLEMS.get(problem_name)
        optimizer_name, self.optimizer_values = self.group.component("optimizer")
        self.optimizer = OPTIMIZERS.get(optimizer_name)
        schedule_name, self.schedule_values = self.group.component("schedule")
        self.schedule = SCHEDULES.get(schedule_name)
        self.sampler_kind = self.group.sampler_kind()
        self.probes: list[Probe] = []
        self.probe_every: list[int] = []
        for i, item in enumerate(self.spec.probes):
            name, options = probe_name_options(item, f"probes[{i}]")
            entry = PROBES.get(name)
            declared = probe_params(entry)
            options = {k: declared[k].coerce(f"probes[{i}].{k}", v) for k, v in options.items()}
            self.probe_every.append(int(options.pop("every", 1)))
            self.probes.append(entry.factory(**options))
        self.steps = int(self.spec.run.steps)
        self.factor = float(self.spec.run.divergence_factor)
        self.uses_eval_batch = any(getattr(p, "uses_eval_batch", True) for p in self.probes)
        self.uses_last_update = any(getattr(p, "uses_last_update", False) for p in self.probes)

    # ---- building blocks ---------------------------------------------------------------------
    def _components(self, hparams: dict[str, jax.Array]):
        values = {
            "problem": dict(self.problem_values),
            "optimizer": dict(self.optimizer_values),
            "schedule": dict(self.schedule_values),
        }
        for path, value in hparams.items():
            section, field = path.split(".", 1)
            values[section][field] = value
        problem = self.problem_cls(**values["problem"])
        opt_values = values["optimizer"]
        schedule = None
        if self.optimizer.takes_learning_rate:
            schedule = self.schedule.build(opt_values.pop("learning_rate"), self.steps, **values["schedule"])
            opt = self.optimizer.build(schedule, **opt_values)
        else:
            opt = self.optimizer.build(**opt_values)
        return problem, opt, schedule

    def _data(self, problem, key: jax.Array):
        """(initial sampler state, batch_fn(t, order) -> (batch, order))."""
        b = self.group.batch_size
        if self.sampler_kind == "stream":
            return jnp.zeros((0,), jnp.int32), lambda t, order: (problem.sample(jax.random.fold_in(key, t), b), order)
        data = problem.dataset()
        sampler = Sampler(self.sampler_kind, problem.n_examples, b)
        if self.sampler_kind == "full_batch":
            return jnp.zeros((0,), jnp.int32), lambda t, order: (data, order)

        def batch_fn(t, order):
            idx, order = sampler.indices(key, order, t)
            return jax.tree_util.tree_map(lambda a: a[idx], data), order

        return sampler.init(key), batch_fn

    def _extras(self, problem, params, batch, loss, grads, key) -> dict[str, Any]:
        wanted = self.optimizer.extra_args
        extras: dict[str, Any] = {}
        if "value" in wanted:
            extras["value"] = loss
        if "grad" in wanted:
            extras["grad"] = grads
        if "value_fn" in wanted:
            extras["value_fn"] = lambda p: problem.loss(p, batch)
        if "grad_fn" in wanted:
            extras["grad_fn"] = lambda p: problem.grad(p, batch)[1]
        if "example_grads" in wanted:
            extras["example_grads"] = jax.vmap(jax.grad(problem.example_loss), in_axes=(None, 0))(params, batch)
        if "key" in wanted:
            extras["key"] = key
        if "risk_fn" in wanted:  # the plan checked that the problem has a monitor metric
            extras["risk_fn"] = lambda p: problem.metrics(p)[problem.monitor]
        return extras

    # ---- one run -----------------------------------------------------------------------------
    def run_one(self, seed: jax.Array, hparams: dict[str, jax.Array]) -> dict[str, Any]:
        problem, opt, schedule = self._components(hparams)
        key = jax.random.fold_in(jax.random.PRNGKey(self.spec.run.seed), seed)
        k_init, k_data, k_eval, k_probe, k_opt = jax.random.split(key, 5)
        params0 = problem.init(k_init)
        opt_state = opt.init(params0)
        eval_batch = problem.eval_batch(k_eval) if self.uses_eval_batch or problem.monitor is None else None
        order, batch_fn = self._data(problem, k_data)

        def reference(params):
            if problem.monitor is not None:
                return problem.metrics(params)[problem.monitor]
            return problem.loss(params, eval_batch)

        ref0 = reference(params0)
        threshold = jnp.where(ref0 > 0, self.factor * ref0, jnp.inf)

        def context(params, opt_state, last_update, t):
            lr = schedule(t) if schedule is not None else jnp.nan
            return ProbeContext(
                params,
                params0,
                problem,
                eval_batch,
                jax.random.fold_in(k_probe, t),
                t,
                opt_state,
                jnp.asarray(lr),
                last_update,
            )

        zeros = jax.tree_util.tree_map(jnp.zeros_like, params0) if self.uses_last_update else None
        ctx0 = context(params0, opt_state, zeros, jnp.asarray(0))
        carry = Carry(
            params0,
            opt_state,
            order,
            jnp.asarray(True),
            jnp.asarray(-1),
            zeros,
            tuple(p.init(ctx0) for p in self.probes),
            jnp.asarray(jnp.nan, jnp.result_type(float)),
        )

        last = len(self.checkpoints) - 1
        real = jnp.result_type(float)

        def measure_one(probe: Probe, every: int, ctx: ProbeContext, state, k) -> tuple[dict, Any]:
            """The probe's values (as floats), or NaN without computing them where checkpoint k is not due.

            k is the checkpoint's index, the same for every run of a vmapped block, so the
            ``lax.cond`` stays a branch (under ``vmap`` a batched predicate would compute both sides)."""

            def compute():
                out, new_state = probe.measure(ctx, state)
                return {name: jnp.asarray(v, real) for name, v in out.items()}, new_state

            if every == 1:
                return compute()
            shapes = jax.eval_shape(compute)[0]
            due = (k % every == 0) | (k == last)
            return jax.lax.cond(
                due, compute, lambda: ({n: jnp.full(a.shape, jnp.nan, a.dtype) for n, a in shapes.items()}, state)
            )

        def measure(carry: Carry, t, k=0) -> tuple[dict[str, jax.Array], Carry]:
            ctx = context(carry.params, carry.opt_state, carry.last_update, t)
            values: dict[str, jax.Array] = {"batch_loss": carry.batch_loss}
            states = []
            for probe, every, state in zip(self.probes, self.probe_every, carry.probe_states, strict=True):
                out, state = measure_one(probe, every, ctx, state, k)
                clash = set(out) & set(values)
                if clash:
                    raise SpecError(
                        "probes",
                        self.spec.probes,
                        f"each metric from one probe only; {sorted(clash)} are reported twice",
                    )
                values.update(out)
                states.append(state)
            value = reference(carry.params)
            ok = carry.alive & jnp.isfinite(value) & (value <= threshold)
            divergence_step = jnp.where(carry.alive & ~ok, t, carry.divergence_step)
            values = {k: jnp.where(ok, jnp.asarray(v, jnp.result_type(float)), jnp.nan) for k, v in values.items()}
            return values, carry._replace(alive=ok, divergence_step=divergence_step, probe_states=tuple(states))

        def advance(t, carry: Carry) -> tuple[Carry, Any]:
            """One optimizer step (skipped once the run is frozen); also returns the update it computed."""
            batch, order = batch_fn(t, carry.order)
            loss, grads = problem.grad(carry.params, batch)
            extras = self._extras(problem, carry.params, batch, loss, grads, jax.random.fold_in(k_opt, t))
            updates, new_state = opt.update(grads, carry.opt_state, carry.params, **extras)
            new_params = optax.apply_updates(carry.params, updates)
            ok = carry.alive & jnp.isfinite(loss) & (loss <= threshold)
            carry = carry._replace(
                params=_select(ok, new_params, carry.params),
                opt_state=_select(ok, new_state, carry.opt_state),
                order=order,
                alive=ok,
                divergence_step=jnp.where(carry.alive & ~ok, t, carry.divergence_step),
                batch_loss=jnp.asarray(loss, carry.batch_loss.dtype),
            )
            return carry, updates

        def step(t, carry: Carry) -> Carry:
            return advance(t, carry)[0]

        def segment(carry: Carry, bounds):
            start, end, k = bounds
            if not self.uses_last_update:
                carry = jax.lax.fori_loop(start, end, step, carry)
            else:
                # Only the segment's last update is ever read (by the probes at ``end``): run the
                # last step apart instead of carrying a parameter-sized update through every step.
                carry = jax.lax.fori_loop(start, end - 1, step, carry)
                carry, updates = advance(end - 1, carry)  # carry.alive now says whether it was applied
                carry = carry._replace(last_update=_select(carry.alive, updates, carry.last_update))
            return measure(carry, end, k)[::-1]

        first, carry = measure(carry, jnp.asarray(0))
        starts = jnp.asarray(self.checkpoints[:-1], jnp.int32)
        ends = jnp.asarray(self.checkpoints[1:], jnp.int32)
        indices = jnp.arange(1, len(self.checkpoints), dtype=jnp.int32)
        carry, rest = jax.lax.scan(segment, carry, (starts, ends, indices))
        curves = {k: jnp.concatenate([first[k][None], rest[k]]) for k in first}
        return {"curves": curves, "divergence_step": carry.divergence_step}

    # ---- compiled, batched -------------------------------------------------------------------
    def example_inputs(self, n: int, dtype) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        return np.zeros(n, np.int32), self.group.dynamic_arrays_at([self.group.runs[0].index] * n, dtype)

    def batched(self, width: int, devices: list | None = None):
        """``f(seeds, hparams)`` over a chunk of ``k × width × n_devices`` runs.

        The chunk is cut into blocks of ``width`` runs; each block is one ``vmap(run_one)`` and the
        blocks go through ``lax.map`` (on several devices, ``shard_map`` gives each its share of
        blocks). Every run is thus computed by the same width-``width`` program wherever it sits,
        so its result is bit-identical whatever the chunk size, executor or device count.
        """
        block = jax.vmap(self.run_one)

        def blocks(seeds, hparams):
            k = seeds.shape[0] // width
            split = jax.tree_util.tree_map(lambda a: a.reshape((k, width, *a.shape[1:])), (seeds, hparams))
            out = jax.lax.map(lambda xs: block(*xs), split)
            return jax.tree_util.tree_map(lambda a: a.reshape((k * width, *a.shape[2:])), out)

        if not devices or len(devices) == 1:
            return jax.jit(blocks)
        from jax.sharding import Mesh, PartitionSpec

        mesh = Mesh(np.asarray(devices), ("runs",))
        spec = PartitionSpec("runs")
        return jax.jit(jax.shard_map(blocks, mesh=mesh, in_specs=(spec, spec), out_specs=spec, check_vma=False))

    def compile(self, chunk_size: int, dtype, width: int | None = None, devices: list | None = None):
        """AOT-compile the batched program for chunks of ``chunk_size`` runs."""
        seeds, hparams = self.example_inputs(chunk_size, dtype)
        return self.batched(width or chunk_size, devices).lower(seeds, hparams).compile()

    def bytes_per_run(self, dtype) -> int:
        """A conservative estimate of the device memory one run of a chunk needs."""
        seeds, hparams = self.example_inputs(1, dtype)

        def state_sizes(seed, hp):
            problem, opt, _ = self._components({k: v[0] for k, v in hp.items()})
            params = problem.init(jax.random.PRNGKey(0))
            batch = (
                problem.sample(jax.random.PRNGKey(0), self.group.batch_size) if problem.is_stream else problem.dataset()
            )
            return params, opt.init(params), batch

        params, state, batch = jax.eval_shape(state_sizes, seeds, hparams)

        def nbytes(tree):
            return sum(math.prod(x.shape) * x.dtype.itemsize for x in jax.tree_util.tree_leaves(tree))

        batch_bytes = nbytes(batch) if self.sampler_kind == "stream" else 0  # finite data is shared
        curves = len(self.checkpoints) * self.metrics_estimate() * 8
        return 4 * (nbytes(params) + nbytes(state)) + 3 * batch_bytes + curves + 1024

    def metrics_estimate(self) -> int:
        return 8 + 8 * len(self.probes)

    def host_bytes_per_run(self) -> int:
        """A conservative estimate of the host memory one run of a chunk needs once it is back: its
        ``runs`` row (Python objects, then Arrow and Parquet buffers, ~4 KB measured) and its curves
        (float64 values with run/step/metric columns, in NumPy, Arrow and Parquet: ~8 copies)."""
        return 4096 + 8 * len(self.checkpoints) * self.metrics_estimate() * 8


def recorded_metrics(the_plan: Plan) -> set[str]:
    """The metrics every run of ``the_plan`` records (``batch_loss`` and the probes'), found by tracing one run
    per problem without computing it (a problem's host-side data is built, nothing is compiled).

    A ``ValueError`` raised from a probe's own code while tracing (``accuracy`` on a problem without
    ``predict``, an ``overlaps`` key the parameters lack) is a :class:`SpecError` naming the probes; anything
    else propagates.
    """
    found: set[str] | None = None
    traced: set[str] = set()
    for group in the_plan.groups:
        problem = group.config["problem"]["name"]
        if problem in traced:
            continue
        traced.add(problem)
        program = the_plan.program(group.index)
        seeds, hparams = program.example_inputs(1, np.float32)
        try:
            shapes = jax.eval_shape(program.run_one, seeds[0], {k: v[0] for k, v in hparams.items()})
        except SpecError:
            raise
        except ValueError as err:
            frames = traceback.extract_tb(err.__traceback__)
            if frames and f"{os.sep}probes{os.sep}" in frames[-1].filename:
                raise SpecError("probes", the_plan.spec.probes, str(err).split("\n")[0]) from None
            raise
        found = set(shapes["curves"]) if found is None else found & set(shapes["curves"])
    return found or set()
