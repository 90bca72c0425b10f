"""Computations: measurements a study makes itself, stored as experiments of their own kind.

The engine runs optimizers on problems (a :class:`~descentlab.engine.spec.Spec`). Some claims are about other
computations — a Markov chain evaluated two ways, a certificate solved per game — that no spec expresses. Such a
study returns :class:`Computation`\\ s from :meth:`~descentlab.studies.Study.computations`; each is stored like an
engine experiment, so that everything the study concludes is read back from the store:

* its id is a content hash of the study, the computation's name, its ``parameters`` and its ``version`` (what
  the result depends on), so a control or another size that changes a parameter is another experiment;
* ``spec.json`` holds its *record* (``kind = "computation"``, study, name, parameters, version and the study
  options that produced it — enough for ``descentlab verify --repair`` to compute it again);
* the measurements (a list of :class:`Measurement`, one per configuration) become one chunk: the ``runs`` table
  has a row per measurement — the reserved columns, the parameters as ``computation_<key>`` columns and every
  scalar as ``final_<name>`` — and the ``curves`` table the series ``(run, step, metric, value)``;
* the experiment row says ``running`` while it computes, then ``complete`` with the wall time as
  ``run_seconds``; a stored, complete and undamaged computation is not computed again (``force`` recomputes).

Reading it back is the same as for a spec's runs: :class:`~descentlab.experiment.Result`, ``descentlab query``
(``select * from runs where computation_length = 1000``), the report.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pyarrow as pa

from descentlab.engine.runner import RunSummary, device_description, git_commit, utc_now, versions
from descentlab.store import Store, schema

KIND = "computation"
"""The ``kind`` of a computation's record (an engine experiment's record is its spec, which has no ``kind``)."""
CHUNK = "computation"
"""The id of the one chunk a computation stores."""


@dataclasses.dataclass(frozen=True)
class Measurement:
    """One configuration of a computation and what was measured on it.

    Attributes:
        parameters: what sets this configuration apart (a chain length, a game), stored as
            ``computation_<key>`` columns of ``runs``; ``seed`` is stored in the reserved ``seed`` column.
        values: scalar results, stored as ``final_<name>`` columns (NaN and ±inf are kept as they are).
        curves: series ``name → (steps, values)``, stored in ``curves`` as metric ``name``.
        status: ``ok``, or ``diverged`` when the configuration failed (then ``divergence_step`` is stored).
        divergence_step: the step at which it failed (with ``status = "diverged"``).
    """

    parameters: Mapping[str, Any]
    values: Mapping[str, float] = dataclasses.field(default_factory=dict)
    curves: Mapping[str, tuple[Sequence[float], Sequence[float]]] = dataclasses.field(default_factory=dict)
    status: str = schema.OK
    divergence_step: int | None = None


@dataclasses.dataclass(frozen=True)
class Computation:
    """A measurement a study makes itself, stored as an experiment (see the module docstring).

    Attributes:
        name: the experiment's readable name.
        description: one sentence for the report.
        parameters: everything the result depends on (JSON-serializable); part of the content hash.
        compute: returns the measurements; called only when the computation is not stored yet (or ``force``).
        study: the study that makes it; with ``options``, what ``verify --repair`` runs to compute it again.
        options: the study options that produced it, as ``{"quick", "scale", "control", "extra"}``.
        version: bumped when ``compute`` changes in a way that changes results (part of the hash).
        dtype: the floating-point precision the computation uses, for the experiment row.
    """

    name: str
    description: str
    parameters: Mapping[str, Any]
    compute: Callable[[], list[Measurement]]
    study: str = ""
    options: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    version: int = 1
    dtype: str = "float64"

    def identity(self) -> dict[str, Any]:
        """What the content hash covers: the kind, study, name, parameters and version."""
        return {
            "kind": KIND,
            "study": self.study,
            "name": self.name,
            "parameters": _plain(dict(self.parameters)),
            "version": self.version,
        }

    @property
    def hash(self) -> str:
        """The experiment id: 16 hex digits of the SHA-256 of :meth:`identity` (canonical JSON)."""
        body = json.dumps(self.identity(), sort_keys=True, default=str)
        return hashlib.sha256(body.encode()).hexdigest()[:16]

    def record(self) -> dict[str, Any]:
        """``spec.json``: the identity, the description and the study options that produced it."""
        return {**self.identity(), "description": self.description, "options": _plain(dict(self.options))}


def is_computation(record: Mapping[str, Any]) -> bool:
    """Whether a stored record (``spec.json``) is a computation's rather than an engine spec."""
    return record.get("kind") == KIND


def _plain(obj: Any) -> Any:
    """``obj`` with tuples as lists and NumPy scalars as Python numbers (what JSON round-trips)."""
    if isinstance(obj, Mapping):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


def _run_name(computation: Computation, parameters: Mapping[str, Any]) -> str:
    """A measurement's readable name: the computation's, then ``key=value`` for each parameter."""
    return " ".join([computation.name, *(f"{key}={value}" for key, value in parameters.items())])


def tables(experiment: str, computation: Computation, measured: list[Measurement]) -> tuple[pa.Table, pa.Table]:
    """The ``runs`` and ``curves`` tables of ``measured`` (see the module docstring for the layout).

    Raises:
        ValueError: a measurement's status is not ``ok``/``diverged``, or its series' steps and values differ
            in length.
    """
    n = len(measured)
    statuses = [m.status for m in measured]
    if set(statuses) - {schema.OK, schema.DIVERGED}:
        raise ValueError(f"measurement status {statuses}: allowed {schema.OK!r}, {schema.DIVERGED!r}")
    diverged = [m.status == schema.DIVERGED for m in measured]
    columns: dict[str, Any] = {
        "experiment": pa.array([experiment] * n, pa.string()),
        "run": np.arange(n, dtype=np.int64),
        "name": pa.array([_run_name(computation, m.parameters) for m in measured], pa.string()),
        "group": np.zeros(n, np.int64),
        "seed": np.asarray([int(m.parameters.get("seed", 0)) for m in measured], np.int64),
        "status": pa.array(statuses, pa.string()),
        "divergence_step": pa.array(
            [int(m.divergence_step or 0) if bad else None for m, bad in zip(measured, diverged, strict=True)],
            pa.int64(),
        ),
    }
    assert tuple(columns) == schema.RESERVED
    keys = list(dict.fromkeys(key for m in measured for key in m.parameters if key != "seed"))
    for key in keys:
        columns[schema.column(f"{KIND}.{key}")] = pa.array([_plain(m.parameters.get(key)) for m in measured])
    for name in dict.fromkeys(name for m in measured for name in m.values):
        columns[schema.final_column(name)] = np.asarray([m.values.get(name, math.nan) for m in measured], np.float64)
    runs = pa.table(columns)
    parts = []
    for run, m in enumerate(measured):
        for metric, (steps, values) in m.curves.items():
            steps, values = np.asarray(steps, np.int64), np.asarray(values, np.float64)
            if steps.shape != values.shape or steps.ndim != 1:
                raise ValueError(f"curve {metric!r} of measurement {run}: steps {steps.shape}, values {values.shape}")
            parts.append((run, metric, steps, values))
    curves = pa.table(
        {
            "experiment": pa.array([experiment] * sum(len(p[2]) for p in parts), pa.string()),
            "run": np.concatenate([np.full(len(p[2]), p[0], np.int64) for p in parts] or [np.zeros(0, np.int64)]),
            "step": np.concatenate([p[2] for p in parts] or [np.zeros(0, np.int64)]),
            "metric": pa.array([p[1] for p in parts for _ in range(len(p[2]))], pa.string()),
            "value": np.concatenate([p[3] for p in parts] or [np.zeros(0, np.float64)]),
        }
    )
    return runs, curves


def stored_whole(store: Store, experiment: str) -> bool:
    """Whether ``experiment`` is stored ``complete`` with all of its runs in chunks that pass their check."""
    if experiment not in store.experiments():
        return False
    row = store.experiment_row(experiment)
    return row["status"] == "complete" and len(store.stored_runs(experiment)) == row["n_runs"]


def run_computation(computation: Computation, store: Store | str, force: bool = False) -> RunSummary:
    """Compute and store ``computation`` unless it is stored whole already (``force`` recomputes it).

    The experiment row says ``running`` (with this process as its writer) while it computes, ``interrupted``
    after a KeyboardInterrupt (raised again) and ``complete`` once its one chunk is stored.

    Args:
        computation: what to compute.
        store: the store, or its folder.
        force: forget what is stored and compute again.

    Returns:
        What happened, as for an engine run (``computed`` 0 when it was stored already).
    """
    store = store if isinstance(store, Store) else Store(store)
    experiment = computation.hash
    if not force and stored_whole(store, experiment):
        row = store.experiment_row(experiment)
        return RunSummary(experiment, row["n_runs"], 0, row["n_runs"], row.get("diverged") or 0, 0.0, 0.0, 0.0)
    previous = store.experiment_row(experiment) if experiment in store.experiments() else None
    store.clear(experiment)  # a computation is stored whole or not at all: a partial one is recomputed
    base = {
        "experiment": experiment,
        "name": computation.name,
        "description": computation.description,
        "spec": json.dumps(computation.record(), sort_keys=True, default=str),
        "created_at": previous["created_at"] if previous else utc_now(),
        "n_groups": 1,
        "versions": json.dumps(versions(), sort_keys=True),
        "git_commit": git_commit(),
        "device": device_description(),
        "executor": KIND,
        "dtype": computation.dtype,
        "compile_seconds": None,
        "store_seconds": None,
    }
    store.write_experiment(
        experiment,
        {**base, "n_runs": None, "steps": None, "status": "running", "finished_at": None}
        | {"run_seconds": None, "diverged": None},
        computation.record(),
    )
    start = time.perf_counter()
    try:
        measured = computation.compute()
    except KeyboardInterrupt:
        store.write_experiment(experiment, {**base, "n_runs": None, "steps": None, "status": "interrupted"})
        raise
    seconds = time.perf_counter() - start
    runs, curves = tables(experiment, computation, measured)
    store.write_chunk(experiment, CHUNK, runs, curves)
    store_seconds = time.perf_counter() - start - seconds
    diverged = sum(m.status == schema.DIVERGED for m in measured)
    steps = max((int(np.max(s)) for m in measured for s, _ in m.curves.values() if len(s)), default=None)
    store.write_experiment(
        experiment,
        {**base, "n_runs": len(measured), "steps": steps, "status": "complete", "finished_at": utc_now()}
        | {"run_seconds": seconds, "store_seconds": store_seconds, "diverged": diverged},
    )
    return RunSummary(experiment, len(measured), len(measured), 0, diverged, 0.0, seconds, store_seconds)
