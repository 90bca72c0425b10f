r"""Linearized (NTK) dynamics: GD with squared loss on the linearized model.

The model :math:`f_{\rm lin}(\theta)=f(\theta_0)+J(\theta_0)(\theta-\theta_0)` is trained by GD.

With the empirical NTK on the training set :math:`\Theta = J J^\top = V\,\mathrm{diag}(\omega)\,V^\top`
(n × n, outputs sharing the kernel), the loss :math:`\mathcal L = \frac1{2n}\sum_i\|f(x_i)-y_i\|^2` and step η,
the training residual :math:`r_t = f_t(X) - Y` evolves linearly,

.. math:: r_{t+1} = (I - \tfrac\eta n\Theta)\,r_t \;\Rightarrow\;
   r_t = V\,\mathrm{diag}\big((1-\tfrac{\eta\omega_k}n)^t\big)V^\top r_0 ,

and on test inputs, with the cross-kernel :math:`\Theta_{xX} = J(x)J(X)^\top`,

.. math:: f_t(x) = f_0(x) - \Theta_{xX}\,V\,\mathrm{diag}\Big(\frac{1-(1-\eta\omega_k/n)^t}{\omega_k}\Big)V^\top r_0 ,

(the factor → tη/n when ω_k = 0; gradient flow replaces :math:`(1-\eta\omega/n)^t` by :math:`e^{-\eta\omega t/n}`).
Wide networks in the NTK parameterisation follow these curves to :math:`O(1/\sqrt{\text{width}})`.

References: Jacot, Gabriel, Hongler, *Neural Tangent Kernel* (1806.07572); Lee et al., *Wide Neural
Networks of Any Depth Evolve as Linear Models Under Gradient Descent* (1902.06720).
"""

from __future__ import annotations

import dataclasses

import numpy as np


@dataclasses.dataclass(frozen=True)
class LinearizedCurves:
    """Curves on the step grid: losses (steps,), predictions (steps, n[, k]) and (steps, m[, k])."""

    steps: np.ndarray
    train_loss: np.ndarray
    train_predictions: np.ndarray
    test_loss: np.ndarray | None = None
    test_predictions: np.ndarray | None = None


def _decay_factors(omega: np.ndarray, steps: np.ndarray, rate: float, flow: bool) -> tuple[np.ndarray, np.ndarray]:
    """(decay (T, n), integrated factor (T, n)) with decay = (1 − ηω/n)^t or e^{−ηωt/n}."""
    t = steps.astype(np.float64)[:, None]
    a = rate * omega[None, :]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if flow:
            decay = np.exp(-a * t)
            integrated = np.where(omega > 0, -np.expm1(-a * t) / np.where(omega > 0, omega, 1.0), rate * t)
        else:
            decay = np.power(1.0 - a, t)
            integrated = np.where(
                np.abs(omega) > 1e-14 * max(float(np.max(np.abs(omega))), 1e-300),
                (1.0 - decay) / np.where(omega != 0, omega, 1.0),
                rate * t,
            )
    return decay, integrated


def linearized_gd(
    ntk_train: np.ndarray,
    f0_train: np.ndarray,
    y_train: np.ndarray,
    steps: np.ndarray,
    learning_rate: float,
    ntk_test_train: np.ndarray | None = None,
    f0_test: np.ndarray | None = None,
    y_test: np.ndarray | None = None,
    gradient_flow: bool = False,
) -> LinearizedCurves:
    """Training and test predictions and losses of the linearized model under GD on ½·mean squared error."""
    theta = np.asarray(ntk_train, dtype=np.float64)
    n = theta.shape[0]
    if theta.shape != (n, n):
        raise ValueError(f"ntk_train must be square (n × n), got {theta.shape}")
    steps = np.asarray(steps)
    omega, v = np.linalg.eigh(0.5 * (theta + theta.T))
    omega = np.clip(omega, 0.0, None)
    r0 = np.asarray(f0_train, dtype=np.float64) - np.asarray(y_train, dtype=np.float64)
    r0_2d = r0.reshape(n, -1)
    coeff = v.T @ r0_2d  # (n, k)
    decay, integrated = _decay_factors(omega, steps, learning_rate / n, gradient_flow)
    residual = np.einsum("ij,tj,jk->tik", v, decay, coeff)  # (T, n, k)
    train_pred = residual + np.asarray(y_train, dtype=np.float64).reshape(n, -1)[None]
    train_loss = 0.5 * np.mean(np.sum(residual**2, axis=2), axis=1)
    out = dict(steps=steps, train_loss=train_loss, train_predictions=train_pred.reshape((steps.size, *r0.shape)))
    if ntk_test_train is not None:
        cross = np.asarray(ntk_test_train, dtype=np.float64)
        f0t = np.asarray(f0_test, dtype=np.float64)
        m = cross.shape[0]
        # f_t(x) = f_0(x) − (η/n) Θ_xX V diag(Σ_{s<t}(1−ηω/n)^s) Vᵀ r_0 = f_0(x) − Θ_xX V diag(integrated) Vᵀ r_0
        test_pred = f0t.reshape(m, -1)[None] - np.einsum("mi,ij,tj,jk->tmk", cross, v, integrated, coeff)
        out["test_predictions"] = test_pred.reshape((steps.size, *f0t.shape))
        if y_test is not None:
            err = test_pred - np.asarray(y_test, dtype=np.float64).reshape(m, -1)[None]
            out["test_loss"] = 0.5 * np.mean(np.sum(err**2, axis=2), axis=1)
    return LinearizedCurves(**out)
