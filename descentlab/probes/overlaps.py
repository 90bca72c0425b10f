r"""Overlaps and order parameters: teacher overlaps, alignment with class means, energy per spectral band.

The weights looked at are ``params`` itself when it is an array, else ``params[param_key]``: a vector
:math:`\theta\in\mathbb R^d` or a first-layer matrix :math:`W\in\mathbb R^{p\times d}` (one row per
hidden unit). A matrix stored as (d, p) (``x @ W`` layers, e.g. ``digits_mlp``'s ``w1``) is transposed,
recognised by matching the input dimension d of the teacher, class means or covariance (a square
matrix is read as (p, d)).

``teacher_overlap`` (needs the problem attribute ``theta_star`` (d,) or ``teacher_weights`` (k, d)):

* vector: :math:`m=\theta^\top\theta^\star/d`, :math:`q=\theta^\top\theta/d`, :math:`\rho=\|\theta^\star\|^2/d`,
  cosine :math:`m/\sqrt{q\rho}` → ``overlap_m``, ``overlap_q``, ``overlap_rho``, ``overlap_cosine``;
* matrix (two-layer student/teacher, Saad & Solla 1995; Goldt et al. 1906.08632):
  :math:`Q=WW^\top/d` (p×p), :math:`M=WW^{\star\top}/d` (p×k) → ``overlap_Q_i_j`` (i ≤ j) and
  ``overlap_M_i_r``; plus ``overlap_specialization`` = the mean over teacher units r of
  :math:`\max_i |\cos(w_i, w^\star_r)|`.

``class_alignment`` (class means from the problem attribute ``class_means`` (c, d), else from the
evaluation batch ``x``/``y`` with integer labels and ``classes`` (option, or attribute ``n_classes``)):
with :math:`\tilde\mu_c=\mu_c-\bar\mu` and :math:`P` the orthogonal projector on their span,
``class_alignment`` = :math:`\|WP\|_F^2/\|W\|_F^2` (fraction of the weights' energy in the class-mean
subspace) and ``class_cosine_c`` = :math:`\big(\frac1p\sum_i\cos^2(w_i,\tilde\mu_c)\big)^{1/2}`
(the plain cosine for a vector). Reference: Mignacco et al., *The role of regularization in
classification of high-dimensional noisy Gaussian mixture* (2002.11544); Refinetti et al.,
*Classifying high-dimensional Gaussian mixtures: where kernel methods fail and neural networks
succeed* (2102.11742).

``spectral_energy`` (eigen-directions :math:`u_i` of the data covariance, by decreasing eigenvalue
:math:`\lambda_i`: from the problem attribute ``eigenvalues`` when the covariance is diagonal in the
canonical basis (``least_squares``), else from the sample covariance of the evaluation batch ``x``):
the eigen-indices are split into ``bands`` groups (equal counts, or log-spaced for power-law spectra;
with log spacing on a small d, duplicate edges are merged, so fewer bands may appear) and for each
band b, ``spectral_energy_b`` = :math:`\sum_{i\in b}\|W u_i\|^2` and ``spectral_risk_b`` =
:math:`\tfrac12\sum_{i\in b}\lambda_i\|Wu_i\|^2`, with :math:`W=\theta-\theta^\star` when
``target = "error"`` (needs ``problem.optimum()``), else the weights themselves. Reference:
Paquette et al., *Homogenization of SGD in high-dimensions* (2205.07069).
"""

from __future__ import annotations

from typing import Annotated, Any

import jax
import jax.numpy as jnp
import numpy as np

from descentlab.params import Arg
from descentlab.probes.base import FunctionProbe, Probe, ProbeContext, register_probe
from descentlab.problems.base import Params, Problem


def select_weights(params: Params, param_key: str, probe: str) -> jax.Array:
    """``params`` when it is an array, else ``params[param_key]``; a clear error otherwise."""
    if isinstance(params, jax.Array | np.ndarray):
        return params
    if isinstance(params, dict) and param_key in params:
        return params[param_key]
    keys = sorted(params) if isinstance(params, dict) else type(params).__name__
    raise ValueError(f"probe {probe!r}: param_key {param_key!r} not found in the parameters (have {keys})")


def orient(weights: jax.Array, dim: int, probe: str) -> jax.Array:
    """Weights as (units, d) (or a vector of length d), transposing a (d, units) matrix."""
    if weights.shape[-1] == dim:
        return weights
    if weights.ndim == 2 and weights.shape[0] == dim:
        return weights.T
    raise ValueError(f"probe {probe!r}: weights of shape {weights.shape} do not match the input dimension {dim}")


def require_attribute(problem: Problem, names: tuple[str, ...], probe: str) -> tuple[str, Any]:
    for name in names:
        value = getattr(problem, name, None)
        if value is not None:
            return name, value
    raise ValueError(
        f"probe {probe!r} needs the problem attribute {' or '.join(names)}; "
        f"problem {type(problem).__name__} ({problem.name!r}) has none"
    )


# ---- teacher overlaps ------------------------------------------------------------------------


def teacher_overlaps(weights: jax.Array, teacher: jax.Array) -> dict[str, jax.Array]:
    d = weights.shape[-1]
    if weights.ndim == 1 and teacher.ndim == 1:
        m = weights @ teacher / d
        q = weights @ weights / d
        rho = teacher @ teacher / d
        return {"overlap_m": m, "overlap_q": q, "overlap_rho": rho, "overlap_cosine": m / jnp.sqrt(q * rho)}
    student = jnp.atleast_2d(weights)
    teacher = jnp.atleast_2d(teacher)
    q_mat = student @ student.T / d
    m_mat = student @ teacher.T / d
    out = {}
    for i in range(q_mat.shape[0]):
        for j in range(i, q_mat.shape[1]):
            out[f"overlap_Q_{i}_{j}"] = q_mat[i, j]
    for i in range(m_mat.shape[0]):
        for r in range(m_mat.shape[1]):
            out[f"overlap_M_{i}_{r}"] = m_mat[i, r]
    norms = jnp.linalg.norm(student, axis=1)[:, None] * jnp.linalg.norm(teacher, axis=1)[None, :]
    cosines = jnp.abs(student @ teacher.T) / norms
    out["overlap_specialization"] = jnp.mean(jnp.max(cosines, axis=0))
    return out


ParamKey = Annotated[str, Arg("the weights inside a params dict (vector or first-layer matrix)")]


@register_probe(
    "teacher_overlap",
    summary="teacher-student order parameters m, q (and matrices M, Q for two-layer students)",
    reference="Saad & Solla 1995; Goldt et al. 2019 (1906.08632)",
)
def teacher_overlap_probe(param_key: ParamKey = "w") -> Probe:
    def fn(ctx: ProbeContext) -> dict[str, jax.Array]:
        _, teacher = require_attribute(ctx.problem, ("teacher_weights", "theta_star"), "teacher_overlap")
        weights = select_weights(ctx.params, param_key, "teacher_overlap")
        teacher = jnp.asarray(teacher, weights.dtype)
        return teacher_overlaps(orient(weights, teacher.shape[-1], "teacher_overlap"), teacher)

    return FunctionProbe(fn, uses_eval_batch=False)


# ---- alignment with class means ---------------------------------------------------------------


def class_means_from_batch(batch: dict, classes: int) -> jax.Array:
    x, y = batch["x"], batch["y"]
    onehot = jax.nn.one_hot(y, classes, dtype=x.dtype)  # (n, c)
    counts = jnp.sum(onehot, axis=0)
    return (onehot.T @ x) / jnp.maximum(counts, 1.0)[:, None]


def class_alignment(weights: jax.Array, means: jax.Array) -> dict[str, jax.Array]:
    student = jnp.atleast_2d(weights)
    centred = means - jnp.mean(means, axis=0, keepdims=True)
    _, s, vt = jnp.linalg.svd(centred, full_matrices=False)
    keep = (s > 1e-6 * jnp.max(s)).astype(student.dtype)
    projected = (student @ vt.T) * keep  # coordinates in the class-mean subspace
    out = {"class_alignment": jnp.sum(projected**2) / jnp.sum(student**2)}
    unit = centred / jnp.linalg.norm(centred, axis=1, keepdims=True)
    cosines = (student @ unit.T) / jnp.linalg.norm(student, axis=1, keepdims=True)  # (p, c)
    for c in range(means.shape[0]):
        out[f"class_cosine_{c}"] = cosines[0, c] if weights.ndim == 1 else jnp.sqrt(jnp.mean(cosines[:, c] ** 2))
    return out


@register_probe(
    "class_alignment",
    summary="alignment of the weights with the (centred) class means",
    reference="Mignacco et al. 2020 (2002.11544); Refinetti et al. 2021 (2102.11742)",
)
def class_alignment_probe(
    param_key: ParamKey = "w",
    classes: Annotated[int, Arg("number of classes (0: the problem's n_classes or class_means)", low=0)] = 0,
) -> Probe:
    def fn(ctx: ProbeContext) -> dict[str, jax.Array]:
        weights = select_weights(ctx.params, param_key, "class_alignment")
        means = getattr(ctx.problem, "class_means", None)
        if means is None:
            n_classes = classes or getattr(ctx.problem, "n_classes", 0)
            batch = ctx.eval_batch
            if not n_classes or not isinstance(batch, dict) or "x" not in batch or "y" not in batch:
                raise ValueError(
                    "probe 'class_alignment' needs the problem attribute class_means, or integer labels in the "
                    "evaluation batch (x, y) and the number of classes (option classes or attribute n_classes)"
                )
            means = class_means_from_batch(batch, int(n_classes))
        means = jnp.asarray(means, weights.dtype)
        return class_alignment(orient(weights, means.shape[-1], "class_alignment"), means)

    return FunctionProbe(fn)


# ---- energy per spectral band ------------------------------------------------------------------


def band_edges(dim: int, bands: int, spacing: str) -> np.ndarray:
    """Static eigen-index edges (0 = largest eigenvalue) of the bands."""
    if spacing == "log":
        edges = np.unique(np.round(np.geomspace(1, dim + 1, bands + 1)).astype(int) - 1)
    else:
        edges = np.unique(np.round(np.linspace(0, dim, bands + 1)).astype(int))
    return edges


def data_spectrum(problem: Problem, batch: Any) -> tuple[jax.Array, jax.Array | None]:
    """(eigenvalues descending, eigenvectors as columns or None for the canonical basis)."""
    values = getattr(problem, "eigenvalues", None)
    if values is not None:
        values = jnp.asarray(values)
        order = jnp.argsort(-values)
        return values[order], jnp.eye(values.shape[0], dtype=values.dtype)[:, order]
    if not isinstance(batch, dict) or "x" not in batch:
        raise ValueError(
            "probe 'spectral_energy' needs the problem attribute eigenvalues (diagonal covariance) "
            "or inputs x in the evaluation batch"
        )
    x = jnp.reshape(batch["x"], (batch["x"].shape[0], -1))
    x = x - jnp.mean(x, axis=0, keepdims=True)
    values, vectors = jnp.linalg.eigh(x.T @ x / x.shape[0])
    return values[::-1], vectors[:, ::-1]


class SpectralEnergy(Probe):
    def __init__(self, bands: int, spacing: str, target: str, param_key: str):
        self.bands, self.spacing, self.target, self.param_key = bands, spacing, target, param_key

    def measure(self, ctx: ProbeContext, state: Any) -> tuple[dict[str, jax.Array], Any]:
        weights = select_weights(ctx.params, self.param_key, "spectral_energy")
        if self.target == "error":
            optimum = ctx.problem.optimum()
            if optimum is None:
                raise ValueError("probe 'spectral_energy' with target = 'error' needs problem.optimum()")
            weights = weights - select_weights(optimum, self.param_key, "spectral_energy")
        values, vectors = data_spectrum(ctx.problem, ctx.eval_batch)
        student = jnp.atleast_2d(orient(weights, values.shape[0], "spectral_energy"))
        energy = jnp.sum((student @ vectors.astype(student.dtype)) ** 2, axis=0)  # per eigen-direction
        edges = band_edges(values.shape[0], self.bands, self.spacing)
        out = {}
        for b in range(len(edges) - 1):
            lo, hi = int(edges[b]), int(edges[b + 1])
            out[f"spectral_energy_{b:02d}"] = jnp.sum(energy[lo:hi])
            out[f"spectral_risk_{b:02d}"] = 0.5 * jnp.sum(values[lo:hi] * energy[lo:hi])
        return out, state


@register_probe(
    "spectral_energy",
    summary="energy of θ − θ* (or θ) per band of data-covariance eigen-directions",
    reference="Paquette et al. 2022 (2205.07069)",
)
def spectral_energy_probe(
    bands: Annotated[int, Arg("number of bands of eigen-directions", low=1, high=100)] = 8,
    spacing: Annotated[str, Arg("band edges in eigen-index: log | linear", choices=("log", "linear"))] = "log",
    target: Annotated[str, Arg("error: θ − θ*; params: θ itself", choices=("error", "params"))] = "error",
    param_key: Annotated[str, Arg("the weights inside a params dict")] = "w",
) -> Probe:
    return SpectralEnergy(bands, spacing, target, param_key)
