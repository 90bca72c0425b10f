r"""Hyperparameter search over a spec's declared ranges: grid, random, Sobol, successive halving.

The search space is written with the ordinary sweep syntax of a spec: an axis
``{logspace = [lo, hi, n]}`` is the range :math:`[lo, hi]` on a log scale, ``{linspace = [lo, hi, n]}``
the range on a linear scale and ``{grid = [v₁, …]}`` a set of choices. ``n`` is used only by the
``grid`` method. Candidates:

* ``grid`` — the product of the axes' values (what ``descentlab run`` would do);
* ``random`` — ``n`` points drawn uniformly in the unit cube ``u ∈ [0, 1)^k``;
* ``sobol`` — the first ``n`` points of a scrambled Sobol sequence (``scipy.stats.qmc.Sobol``);

a point ``u`` maps to ``lo·(hi/lo)^u`` (log), ``lo + (hi − lo)u`` (linear) or choice
``⌊u·m⌋`` (integer parameters are rounded).

``halving`` (successive halving, Jamieson & Talwalkar 2016, arXiv 1502.07943; Li et al.,
Hyperband, arXiv 1603.06560) takes ``n`` Sobol candidates and runs them in rungs
:math:`r = 0, …, R−1` for :math:`T_r = T\,η^{r−R+1}` steps, keeping the best
:math:`\lceil |C_r|/η\rceil` of each rung; the last rung runs the full ``run.steps``.

A candidate's score is the mean over seeds of ``final_<metric>`` (a diverged or non-finite seed
makes it the worst). Every evaluated run is stored (one experiment per rung, resumable like
``run_spec``: each chunk is written atomically before the next is computed); the best ``top``
candidates are written as plain spec files that ``descentlab run`` accepts.

The runs of a search are not a product grid, so they are planned here: candidates sharing their
static values form one group whose vmapped values are the candidates' own (one compiled program
per static group, as for ``run_spec``); the plan then runs through the engine's one run loop
(:func:`~descentlab.engine.runner.execute`: chunking, programs, complete experiment rows, the store,
any executor — Ray included).
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import math
import re
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import tomli_w

from descentlab.engine.load import spec_from_dict
from descentlab.engine.plan import BATCH_SIZE, SECTIONS, Group, Identity, Plan, RunPoint, declared_params
from descentlab.engine.runner import execute
from descentlab.engine.spec import Spec, Sweep, parse_sweep, read_toml
from descentlab.params import Param, SpecError
from descentlab.store import Store

METHODS = ("grid", "random", "sobol", "halving")
MODES = ("min", "max")
SEARCH_KEYS = ("method", "n", "metric", "mode", "top", "eta", "seed", "out")
MAX_CANDIDATES = 1_000_000
SEARCH_OPTIONS = {
    "method": Param("str", "sobol", "how candidates are chosen", choices=METHODS),
    "n": Param("int", None, "number of candidates (random, sobol, halving)", low=1, high=MAX_CANDIDATES),
    "metric": Param("str", None, "the metric ranked by its final value, mean over seeds"),
    "mode": Param("str", "min", "min or max", choices=MODES),
    "top": Param("int", 1, "number of best configurations written as specs", low=1, high=10_000),
    "eta": Param("int", 3, "halving: keep the best 1/eta of each rung", low=2, high=1_000),
    "seed": Param("int", 0, "seed of the random / Sobol candidates", low=0),
}
"""The search's options (``[search]`` table or command line) but ``out``, declared like a component's parameters."""


@dataclasses.dataclass(frozen=True)
class Axis:
    """One searched field: ``path`` = ``section.field``; ``scale`` log | linear | choice."""

    path: str
    scale: str
    lo: float = 0.0
    hi: float = 0.0
    choices: tuple[Any, ...] = ()
    grid: tuple[Any, ...] = ()
    integer: bool = False

    def value(self, u: float) -> Any:
        if self.scale == "choice":
            return self.choices[min(int(u * len(self.choices)), len(self.choices) - 1)]
        if self.scale == "log":
            v = self.lo * (self.hi / self.lo) ** u
        else:
            v = self.lo + (self.hi - self.lo) * u
        return round(v) if self.integer else float(f"{v:.10g}")


@dataclasses.dataclass
class SearchResult:
    """What a search did: every evaluated candidate, the best, the spec files written."""

    method: str
    metric: str
    mode: str
    candidates: pd.DataFrame  # one row per (rung, candidate): axis values, steps, score, experiment
    best: list[dict[str, Any]]  # the top candidates: axis values and score, best first
    spec_files: list[Path]
    experiments: list[str]


# ---- the search space ----------------------------------------------------------------------------
def _param_for(data: Mapping[str, Any], path: str) -> Param:
    section, field = path.split(".", 1)
    if path == "run.batch_size":
        return BATCH_SIZE
    if field == "name":
        return Param("str")
    name = data[section].get("name", {"schedule": "constant", "sampler": "auto"}.get(section))
    if isinstance(name, Mapping):  # a swept name: the parameter must be declared by every choice
        name = parse_sweep(f"{section}.name", name).values[0]
    return declared_params(section, name)[field]


def search_space(data: Mapping[str, Any]) -> list[Axis]:
    """The searched axes of a spec dict, in the order written (raises SpecError)."""
    axes = []
    places = [(s, data.get(s) or {}) for s in SECTIONS] + [
        ("run", {"batch_size": (data.get("run") or {}).get("batch_size")})
    ]
    for section, body in places:
        for field, raw in body.items():
            if not isinstance(raw, Mapping):
                continue
            path = f"{section}.{field}"
            sweep = parse_sweep(path, raw)
            ((kind, arg),) = raw.items()
            param = _param_for(data, path)
            integer = param.kind == "int"
            if kind == "grid" or param.kind not in ("float", "int"):
                axes.append(Axis(path, "choice", choices=sweep.values, grid=sweep.values))
            else:
                lo, hi = float(arg[0]), float(arg[1])
                grid = tuple(round(v) for v in sweep.values) if integer else sweep.values
                scale = "log" if kind == "logspace" else "linear"
                axes.append(Axis(path, scale, lo, hi, grid=tuple(dict.fromkeys(grid)), integer=integer))
    return axes


def candidates(axes: Sequence[Axis], method: str, n: int | None, seed: int = 0) -> list[dict[str, Any]]:
    """Distinct candidate assignments ``{path: value}`` (see the module docstring)."""
    if method not in METHODS:
        raise SpecError("search.method", method, "allowed: " + ", ".join(repr(m) for m in METHODS))
    if not axes:
        raise SpecError("spec", "no sweep axis", "a search needs at least one {grid|logspace|linspace} axis")
    if method == "grid":
        points = [
            dict(zip([a.path for a in axes], combo, strict=True))
            for combo in itertools.product(*(a.grid for a in axes))
        ]
    else:
        if n is None or isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_CANDIDATES:
            raise SpecError("search.n", n, f"an integer in [1, {MAX_CANDIDATES}] (number of candidates)")
        if method == "random":
            cube = np.random.default_rng(seed).random((n, len(axes)))
        else:
            from scipy.stats import qmc

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # "balance properties need n = 2^m": fine for a search
                cube = qmc.Sobol(d=len(axes), scramble=True, seed=seed).random(n)
        points = [{a.path: a.value(float(u)) for a, u in zip(axes, row, strict=True)} for row in cube]
    unique = {json.dumps(p, sort_keys=True): p for p in points}
    return list(unique.values())


# ---- evaluation: candidates → a plan → the store -------------------------------------------------
def _set(data: dict[str, Any], path: str, value: Any) -> None:
    section, field = path.split(".", 1)
    data.setdefault(section, {})[field] = value


def _vmapped(path: str, point: Mapping[str, Any], data: Mapping[str, Any]) -> bool:
    section, field = path.split(".", 1)
    if section == "run" or field == "name":
        return False
    name = point.get(
        f"{section}.name", data[section].get("name", {"schedule": "constant", "sampler": "auto"}.get(section))
    )
    return declared_params(section, name)[field].vmapped


def candidate_plan(
    base: Mapping[str, Any], points: Sequence[Mapping[str, Any]], steps: int, label: str = "search"
) -> Plan:
    """A plan whose runs are ``points`` × seeds (run index = candidate · seeds + seed), stored as an experiment
    named by the search: its id hashes the base spec, the steps and the candidates."""
    data = json.loads(json.dumps(base))
    data.setdefault("run", {})["steps"] = int(steps)
    seeds = int(data["run"].get("seeds", 1))
    by_static: dict[str, list[int]] = {}
    for i, point in enumerate(points):
        key = json.dumps({p: v for p, v in point.items() if not _vmapped(p, point, data)}, sort_keys=True)
        by_static.setdefault(key, []).append(i)
    groups: list[Group] = []
    first_spec: Spec | None = None
    for members in by_static.values():
        sub = json.loads(json.dumps(data))
        point0 = points[members[0]]
        dynamic = [p for p in point0 if _vmapped(p, point0, data)]
        for path, value in point0.items():
            if path not in dynamic:
                _set(sub, path, value)
        for path in dynamic:
            values = list(dict.fromkeys(points[i][path] for i in members))
            # two of the values mark the axis vmapped; the runs below carry every candidate's own
            _set(sub, path, {"grid": values[:2]} if len(values) > 1 else values[0])
        spec = spec_from_dict(sub)
        first_spec = first_spec or spec
        (group,) = Plan.from_spec(spec).groups
        runs = []
        for i in members:
            label_i = ",".join(
                f"{p.split('.', 1)[1]}={v:.4g}" if isinstance(v, float) else f"{p.split('.', 1)[1]}={v}"
                for p, v in points[i].items()
            )
            for s in range(seeds):
                name = f"{group.config['optimizer']['name']}[{label_i},seed={s}]"
                runs.append(RunPoint(i * seeds + s, s, dict(points[i]), name))
        groups.append(Group(len(groups), group.config, group.vmapped, runs, group.batch_size))
    assert first_spec is not None
    body = {"base": base, "steps": int(steps), "candidates": list(points)}
    experiment = "s" + hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()[:15]
    identity = Identity(
        experiment,
        f"{base.get('name', 'experiment')}-{label}",
        f"{label}: {len(points)} candidates × {seeds} seeds, {steps} steps",
        body,
    )
    return Plan(first_spec, groups, list(points[0]), identity=identity)


def evaluate(
    base: Mapping[str, Any],
    points: Sequence[Mapping[str, Any]],
    steps: int,
    store: Store,
    label: str = "search",
    executor: Any = None,
) -> tuple[str, pd.DataFrame]:
    """Run every candidate for ``steps`` steps (resuming stored runs) through the engine's run loop; returns
    (experiment, runs)."""
    the_plan = candidate_plan(base, points, steps, label)
    summary = execute(the_plan, store, executor=executor)
    runs = store.read(summary.experiment, "runs")
    runs["candidate"] = runs["run"] // the_plan.spec.run.seeds
    return summary.experiment, runs


def scores(runs: pd.DataFrame, metric: str, mode: str) -> pd.Series:
    """Per candidate: mean over seeds of ``final_<metric>``; ±inf (the worst) if any seed diverged."""
    column = metric if metric.startswith("final_") else f"final_{metric}"
    if column not in runs.columns:
        allowed = ", ".join(c[len("final_") :] for c in runs.columns if c.startswith("final_"))
        raise SpecError("search.metric", metric, f"allowed: {allowed}")
    worst = math.inf if mode == "min" else -math.inf
    values = runs[column].where((runs["status"] == "ok") & np.isfinite(runs[column]), np.nan)
    mean = values.groupby(runs["candidate"]).mean()
    bad = values.isna().groupby(runs["candidate"]).any()
    return mean.where(~bad, worst)


def _ranked(frame: pd.DataFrame, mode: str) -> pd.DataFrame:
    return frame.sort_values(["score", "candidate"], ascending=[mode == "min", True], kind="stable")


# ---- the search ----------------------------------------------------------------------------------
def search(
    spec: Mapping[str, Any] | Spec,
    method: str = "sobol",
    n: int | None = None,
    metric: str | None = None,
    mode: str = "min",
    store: Store | str | Path = "runs",
    top: int = 1,
    eta: int = 3,
    seed: int = 0,
    out: str | Path | None = None,
    executor: Any = None,
) -> SearchResult:
    """Search a spec's ranges and write the best ``top`` configurations as spec files (see module doc).

    ``metric`` defaults to the problem's monitor metric; every option and the metric are checked before
    anything runs. ``executor``: where the candidates' chunks run (local by default, or a
    :class:`~descentlab.engine.ray_executor.RayExecutor`)."""
    data = spec.to_dict() if isinstance(spec, Spec) else json.loads(json.dumps(dict(spec)))
    checked = spec_from_dict(data)  # the ranges are validated as an ordinary sweep first
    check_search_options(
        {"method": method, "n": n, "metric": metric, "mode": mode, "top": top, "eta": eta, "seed": seed}
    )
    metric = metric or default_metric(checked)
    check_metric(checked, metric)
    store = store if isinstance(store, Store) else Store(store)
    axes = search_space(data)
    points = candidates(axes, "sobol" if method == "halving" else method, n, seed)
    steps = int(data["run"]["steps"])
    if method == "halving":
        rungs = max(1, math.floor(math.log(len(points), eta) + 1e-9) + 1)
        schedule = [max(1, round(steps * eta ** (r - rungs + 1))) for r in range(rungs)]
    else:
        schedule = [steps]
    alive = list(range(len(points)))
    frames, experiments = [], []
    for rung, rung_steps in enumerate(schedule):
        label = f"{method}-rung{rung}" if method == "halving" else method
        experiment, runs = evaluate(data, [points[i] for i in alive], rung_steps, store, label, executor)
        experiments.append(experiment)
        score = scores(runs, metric, mode)
        frame = pd.DataFrame([points[i] for i in alive])
        frame.insert(0, "candidate", alive)
        frame["rung"] = rung
        frame["steps"] = rung_steps
        frame["score"] = [float(score.get(j, math.inf if mode == "min" else -math.inf)) for j in range(len(alive))]
        frame["experiment"] = experiment
        frames.append(frame)
        if rung < len(schedule) - 1:
            keep = max(1, math.ceil(len(alive) / eta))
            alive = sorted(_ranked(frame, mode)["candidate"].head(keep).tolist())
    table = pd.concat(frames, ignore_index=True)
    final = _ranked(frames[-1], mode).head(top)
    best = [{**points[int(c)], "score": float(s)} for c, s in zip(final["candidate"], final["score"], strict=True)]
    files = write_best(data, best, axes, out or Path(store.root) / "search", method, metric, mode)
    return SearchResult(method, metric, mode, table, best, files, experiments)


def write_best(
    data: Mapping[str, Any],
    best: Sequence[Mapping[str, Any]],
    axes: Sequence[Axis],
    out: str | Path,
    method: str,
    metric: str,
    mode: str,
) -> list[Path]:
    """One runnable spec file per best candidate: the base spec with each searched axis fixed."""
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    base_name = str(data.get("name", "experiment"))
    for rank, point in enumerate(best, start=1):
        spec = json.loads(json.dumps(data))
        for axis in axes:
            _set(spec, axis.path, point[axis.path])
        spec["name"] = f"{base_name}-best{rank}"[:200]
        spec["description"] = f"best #{rank} of a {method} search: {mode} {metric} = {point['score']:.6g}; " + str(
            data.get("description", "")
        )
        spec_from_dict(spec)  # what we write must run
        path = folder / f"{_slug(base_name)}-best{rank}.toml"
        path.write_text(to_toml(spec))
        files.append(path)
    return files


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-.") or "experiment"


# ---- TOML output ---------------------------------------------------------------------------------
def _plain(value: Any) -> Any:
    """``value`` with the types TOML has: a :class:`Sweep` as ``{grid = [...]}``, NumPy scalars as Python ones."""
    if isinstance(value, Sweep):
        return {"grid": [_plain(v) for v in value.values]}
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def to_toml(data: Mapping[str, Any]) -> str:
    """A spec dict as TOML (written by ``tomli_w``): top-level values first, then one ``[section]`` per table.

    Args:
      data: the spec as plain values (a :class:`Sweep` is written as its ``grid``).

    Returns:
      The TOML text; ``tomllib.loads`` of it gives back ``data`` (tuples as lists).

    Raises:
      TypeError: for a value TOML cannot hold (``None``, an arbitrary object).
    """
    return tomli_w.dumps(_plain(data))


def check_search_options(options: Mapping[str, Any]) -> None:
    """Raise SpecError for a search option of the wrong type or out of range (``None`` = the default)."""
    for key, value in options.items():
        if value is not None:
            SEARCH_OPTIONS[key].coerce(f"search.{key}", value)


def default_metric(spec: Spec) -> str:
    """The metric a search ranks by default: the first problem's ``monitor`` (what the divergence test
    watches), else ``loss``."""
    from descentlab.problems import PROBLEMS

    return PROBLEMS.get(Plan.from_spec(spec).groups[0].config["problem"]["name"]).monitor or "loss"


def check_metric(spec: Spec, metric: str) -> None:
    """Raise SpecError unless the runs of ``spec`` record ``metric`` (``final_`` prefix allowed), before any run."""
    recorded = Plan.from_spec(spec).metrics
    if metric.removeprefix("final_") not in recorded:
        raise SpecError("search.metric", metric, "a metric the probes record; allowed: " + ", ".join(sorted(recorded)))


def load_search_file(path: str | Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """(spec dict, search options) from a TOML file with an optional ``[search]`` table."""
    data = read_toml(path)
    options = data.pop("search", {}) or {}
    if not isinstance(options, Mapping):
        raise SpecError("search", options, "expected a table")
    for key in options:
        if key not in SEARCH_KEYS:
            raise SpecError(f"search.{key}", options[key], "unknown field; allowed: " + ", ".join(SEARCH_KEYS))
    options = dict(options)
    check_search_options({k: v for k, v in options.items() if k != "out"})
    if "out" in options:
        options["out"] = out_folder_of(Path(path), options["out"])
    return data, options


def out_folder_of(spec_file: Path, out: Any) -> Path:
    """``[search] out`` resolved against the spec file's folder, which it may not leave.

    A file that names an absolute folder or climbs out with ``..`` is refused: only a path the user
    types on the command line (``--out``) may point anywhere.
    """
    if not isinstance(out, str) or not out.strip() or "\x00" in out:
        raise SpecError("search.out", out, "expected a relative folder path (a non-empty string)")
    relative = Path(out)
    base = spec_file.resolve().parent
    resolved = (base / relative).resolve()
    if relative.is_absolute() or not resolved.is_relative_to(base):
        raise SpecError(
            "search.out",
            out,
            f"a folder inside the spec file's folder {str(base)!r}; pass --out on the command line to write elsewhere",
        )
    return resolved
