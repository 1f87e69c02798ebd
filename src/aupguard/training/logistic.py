"""Weighted L2-regularised logistic regression, many heads at once, minimised with SciPy's
L-BFGS-B (deterministic: no random initialisation, no sampling)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from aupguard.training.deps import require_scipy

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]


def sigmoid(z: npt.NDArray[Any]) -> npt.NDArray[Any]:
    out: npt.NDArray[Any] = 0.5 * (1.0 + np.tanh(0.5 * z))
    return out


def _log1pexp(z: npt.NDArray[Any]) -> npt.NDArray[Any]:
    out: npt.NDArray[Any] = np.logaddexp(0.0, z)
    return out


@dataclass(frozen=True, slots=True)
class LinearHeads:
    """``z = X @ weights + bias`` for every head (columns)."""

    weights: F32  # (features, heads)
    bias: F32  # (heads,)
    iterations: int
    converged: bool


def fit_heads(
    x: Any,
    y: F32,
    sample_weight: F32,
    *,
    l2: float,
    max_iter: int = 300,
    history: int = 10,
) -> LinearHeads:
    """Fit one logistic regression per column of ``y`` on the same features.

    ``x`` is a dense float32 array or a SciPy CSR matrix (rows = examples); ``y`` holds 0/1
    targets and ``sample_weight`` the weight of each example for each head (0 leaves the
    example out of that head). Each head's loss is its weighted mean log-loss, plus
    ``l2 / 2 * ||w||²`` (the bias is not penalised)."""
    optimize = require_scipy().optimize
    n, d = x.shape
    h = y.shape[1]
    if y.shape != (n, h) or sample_weight.shape != (n, h):
        raise ValueError("x, y and sample_weight disagree on their shapes")
    totals = sample_weight.sum(axis=0, dtype=np.float64)
    scale = (sample_weight / np.maximum(totals, 1e-12)).astype(np.float32)
    xt = x.T.tocsr() if hasattr(x, "tocsr") else x.T
    y32 = y.astype(np.float32)

    def loss_grad(theta: F64) -> tuple[float, F64]:
        w = theta[: d * h].reshape(d, h).astype(np.float32)
        b = theta[d * h :].astype(np.float32)
        z = np.asarray(x @ w, dtype=np.float32) + b
        loss = float(np.sum(scale * (_log1pexp(z) - y32 * z), dtype=np.float64))
        g = scale * (sigmoid(z) - y32)
        gw = np.asarray(xt @ g, dtype=np.float64) + l2 * theta[: d * h].reshape(d, h)
        gb = g.sum(axis=0, dtype=np.float64)
        loss += 0.5 * l2 * float(np.dot(theta[: d * h], theta[: d * h]))
        return loss, np.concatenate([gw.ravel(), gb])

    theta0 = np.zeros(d * h + h, dtype=np.float64)
    res = optimize.minimize(
        loss_grad,
        theta0,
        jac=True,
        method="L-BFGS-B",
        options={"maxiter": max_iter, "maxcor": history, "ftol": 1e-10, "gtol": 1e-7},
    )
    theta = res.x
    return LinearHeads(
        weights=theta[: d * h].reshape(d, h).astype(np.float32),
        bias=theta[d * h :].astype(np.float32),
        iterations=int(res.nit),
        converged=bool(res.success),
    )


def fit_stacker(
    features: F64,
    y: F64,
    sample_weight: F64,
    *,
    prior: F64,
    strength: float,
    nonneg: tuple[bool, ...],
) -> F64:
    """A small logistic regression (the stacked Platt calibration of one category):
    ``p = sigmoid(features @ coef[:-1] + coef[-1])``, fitted by weighted log-loss plus
    ``strength / 2 * ||coef - prior||²`` (categories with few validation examples stay near
    the pooled ``prior``); coefficients flagged in ``nonneg`` are kept ≥ 0 so the probability
    never falls when a head's raw score rises."""
    optimize = require_scipy().optimize
    k = features.shape[1]
    f1 = np.hstack([features, np.ones((len(features), 1))])

    def loss_grad(coef: F64) -> tuple[float, F64]:
        z = f1 @ coef
        loss = float(np.sum(sample_weight * (_log1pexp(z) - y * z)))
        grad = f1.T @ (sample_weight * (sigmoid(z) - y))
        diff = coef - prior
        return loss + 0.5 * strength * float(diff @ diff), grad + strength * diff

    bounds = [(0.0, None) if nonneg[i] else (None, None) for i in range(k)] + [(None, None)]
    x0 = np.clip(prior, [b[0] if b[0] is not None else -np.inf for b in bounds], None)
    res = optimize.minimize(
        loss_grad, x0, jac=True, method="L-BFGS-B", bounds=bounds, options={"maxiter": 500}
    )
    coef: F64 = np.asarray(res.x, dtype=np.float64)
    return coef
