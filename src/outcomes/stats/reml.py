"""REML for a linear mixed model with two random effects per group, from group sums.

The model is lme4's ``lmer(y ~ X + (z1 + z2 | g))``: ``y_i = X_i beta + Z_i b_i + e_i``,
``b_i ~ N(0, sigma^2 Lambda Lambda')``, ``e_i ~ N(0, sigma^2 I)``, with ``Lambda`` lower
triangular (relative Cholesky factor, 3 parameters ``theta``).  With the Woodbury
identity the profiled REML criterion needs only per-group sums:

- ``A_i = Z_i' Z_i`` (2 x 2), ``B_i = Z_i' X_i`` (2 x p), ``c_i = Z_i' y_i`` (2),
- and the totals ``X'X``, ``X'y``, ``y'y``.

For ``M_i = I + Lambda' A_i Lambda`` and ``W_i = Lambda M_i^{-1} Lambda'``:
``X'V^{-1}X = X'X - sum B_i' W_i B_i`` (times sigma^2, likewise for ``X'V^{-1}y``,
``y'V^{-1}y``), ``beta = (X'V^{-1}X)^{-1} X'V^{-1}y``, ``r^2 = y'V^{-1}y - beta'X'V^{-1}y``,
``sigma^2 = r^2 / (N - p)`` and

``-2 l_R(theta) = sum_i log det M_i + log det X'V^{-1}X + (N - p) (1 + log(2 pi sigma^2))``

(Bates et al. 2015, *J. Stat. Softw.* 67(1), section 3, with the sparse Cholesky
replaced by the 2 x 2 blocks of independent groups).  Each evaluation is a handful of
vectorised operations over the groups, so a fit on a million episodes takes seconds,
where statsmodels' ``MixedLM`` loops over groups in Python (about 5 s per 1,000
episodes).  Written by hand because no maintained Python library fits this model from
group sums; it is checked against lme4's ``sleepstudy`` output and against ``MixedLM``
on the same data (tests/test_stats_reml.py).

The fixed-effect covariance is ``sigma^2 (X'V^{-1}X)^{-1}`` (lme4's ``vcov``).  statsmodels'
``MixedLM.cov_params`` inverts the full observed information (fixed and variance
parameters) instead; the two agree to three decimals on ``sleepstudy`` and differ by a
few per cent when the time covariate is misspecified.  A fit is
*singular* (lme4's ``isSingular``) when a diagonal element of ``Lambda`` is below 1e-4.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(1)
>>> g = np.repeat(np.arange(200), 5)
>>> t = np.tile(np.arange(5.0), 200)
>>> y = 10 + rng.normal(0, 2, 200)[g] + (1 + rng.normal(0, 0.5, 200)[g]) * t + rng.normal(0, 1, g.size)
>>> X = np.column_stack([np.ones_like(t), t])
>>> fit = reml_fit(y, X, X, g)
>>> np.round(fit.params, 2), fit.converged
(array([9.83, 0.96]), True)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import optimize

from outcomes.stats._validate import invalid

__all__ = ["RemlFit", "reml_fit"]

#: lme4's tolerance for a singular fit (``isSingular(tol = 1e-4)``).
SINGULAR_TOL = 1e-4
#: Largest projected gradient of the deviance per observation accepted as converged.
_GRAD_TOL = 1e-5


@dataclass(frozen=True)
class RemlFit:
    """Result of :func:`reml_fit`.

    Attributes
    ----------
    params, cov : numpy.ndarray
        Fixed effects and their covariance ``sigma^2 (X'V^{-1}X)^{-1}``.
    cov_re : numpy.ndarray
        2 x 2 covariance of the random effects.
    scale : float
        Residual variance ``sigma^2``.
    theta : numpy.ndarray
        ``Lambda[0, 0], Lambda[1, 0], Lambda[1, 1]`` at the optimum.
    llf : float
        REML log-likelihood.
    converged, singular : bool
        Optimizer success; a random-effect variance at ~0 (see the module notes).
    message : str
        The optimizer's message.
    n_groups, n_obs : int
        Groups and observations used.
    """

    params: np.ndarray = field(repr=False)
    cov: np.ndarray = field(repr=False)
    cov_re: np.ndarray = field(repr=False)
    scale: float
    theta: np.ndarray = field(repr=False)
    llf: float
    converged: bool
    singular: bool
    message: str
    n_groups: int
    n_obs: int


def _group_sums(
    y: np.ndarray, X: np.ndarray, Z: np.ndarray, codes: np.ndarray, n_groups: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-group ``Z'Z``, ``Z'X``, ``Z'y`` (arrays over groups) by weighted bincounts."""

    def per_group(w: np.ndarray) -> np.ndarray:
        return np.bincount(codes, weights=w, minlength=n_groups)

    q, p = Z.shape[1], X.shape[1]
    A = np.empty((n_groups, q, q))
    for j in range(q):
        for k in range(j, q):
            A[:, j, k] = A[:, k, j] = per_group(Z[:, j] * Z[:, k])
    B = np.stack([np.stack([per_group(Z[:, j] * X[:, k]) for k in range(p)], axis=-1) for j in range(q)], axis=1)
    c = np.stack([per_group(Z[:, j] * y) for j in range(q)], axis=-1)
    return A, B, c


def _lambda(theta: np.ndarray) -> np.ndarray:
    return np.array([[theta[0], 0.0], [theta[1], theta[2]]])


class _Criterion:
    """Profiled REML deviance ``-2 l_R(theta)`` and the estimates at ``theta``."""

    def __init__(self, y: np.ndarray, X: np.ndarray, Z: np.ndarray, codes: np.ndarray, n_groups: int) -> None:
        self.n, self.p = X.shape
        A, B, c = _group_sums(y, X, Z, codes, n_groups)
        self.XtX, self.Xty, self.yty = X.T @ X, X.T @ y, float(y @ y)
        self.a00, self.a01, self.a11 = (np.ascontiguousarray(A[:, i, j]) for i, j in ((0, 0), (0, 1), (1, 1)))
        # Every theta-free product of the group sums, contiguous, so that one evaluation is
        # ~15 vector operations plus matrix-vector products over the groups.
        b0, b1, c0, c1 = B[:, 0, :], B[:, 1, :], c[:, 0], c[:, 1]

        def outer(u: np.ndarray, v: np.ndarray) -> np.ndarray:
            products: np.ndarray = np.einsum("gp,gq->gpq", u, v).reshape(n_groups, -1)
            return products

        # Laid out (columns, 3 G) so that sum_k w[k] @ stack[k] is one row-major matrix-vector product.
        self.bb = self._rows(outer(b0, b0), outer(b0, b1) + outer(b1, b0), outer(b1, b1))  # (p*p, 3G)
        self.bc = self._rows(b0 * c0[:, None], b0 * c1[:, None] + b1 * c0[:, None], b1 * c1[:, None])  # (p, 3G)
        self.cc = self._rows(c0 * c0, 2.0 * c0 * c1, c1 * c1)  # (3G,)

    @staticmethod
    def _rows(*parts: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(np.concatenate(parts, axis=0).T)

    def parts(
        self, theta: np.ndarray, gradient: bool = False
    ) -> tuple[float, np.ndarray | None, np.ndarray, np.ndarray, float]:
        """``(-2 l_R, its gradient or None, X'V^-1X, beta, r^2)`` at ``theta``.

        2 x 2 matrices over the groups are arrays of shape (2, 2, G) multiplied by
        :func:`_mm` (a general einsum is ~50x slower, and this runs ~50 times per fit).
        """
        lam = _lambda(theta)
        A = np.array([[self.a00, self.a01], [self.a01, self.a11]])
        AL = _mm(A, lam)
        M = _mm(lam.T, AL)
        M[0, 0] += 1.0
        M[1, 1] += 1.0
        det = M[0, 0] * M[1, 1] - M[0, 1] * M[1, 0]
        Minv = np.array([[M[1, 1], -M[0, 1]], [-M[1, 0], M[0, 0]]]) / det
        MinvLt = _mm(Minv, lam.T)  # M^-1 Lambda'
        W = _mm(lam, MinvLt)  # Lambda M^-1 Lambda'
        w = np.stack([W[0, 0], W[0, 1], W[1, 1]])
        xvx = self.XtX - self._dot(w, self.bb).reshape(self.p, self.p)
        xvy = self.Xty - self._dot(w, self.bc)
        yvy = self.yty - float(self._dot(w, self.cc))
        beta = np.linalg.solve(xvx, xvy)
        r2 = max(yvy - beta @ xvy, 1e-300)
        sign, logdet_x = np.linalg.slogdet(xvx)
        dof = self.n - self.p
        dev = np.log(det).sum() + logdet_x + dof * (1.0 + np.log(2.0 * np.pi * r2 / dof)) if sign > 0 else np.inf
        if not gradient or not np.isfinite(dev):
            return dev, None, xvx, beta, r2
        xvx_inv = np.linalg.inv(xvx)
        grad = np.empty(3)
        for k, (i, j) in enumerate(((0, 0), (1, 0), (1, 1))):  # d Lambda / d theta_k: a unit matrix
            dL = np.zeros((2, 2))
            dL[i, j] = 1.0
            half = _mm(dL.T, AL)
            dM = half + half.transpose(1, 0, 2)
            half = _mm(dL, MinvLt)
            dW = half + half.transpose(1, 0, 2) - _mm(MinvLt.transpose(1, 0, 2), _mm(dM, MinvLt))
            dw = np.stack([dW[0, 0], dW[0, 1], dW[1, 1]])
            d_xvx = -self._dot(dw, self.bb).reshape(self.p, self.p)
            d_xvy = -self._dot(dw, self.bc)
            d_yvy = -float(self._dot(dw, self.cc))
            d_r2 = d_yvy - 2.0 * beta @ d_xvy + beta @ d_xvx @ beta
            d_logdet_m = float((Minv * dM).sum())  # sum_i tr(M_i^-1 dM_i), both symmetric
            grad[k] = d_logdet_m + np.trace(xvx_inv @ d_xvx) + dof * d_r2 / r2
        return dev, grad, xvx, beta, r2

    @staticmethod
    def _dot(w: np.ndarray, stack: np.ndarray) -> np.ndarray:
        """``sum_k w[k] @ products_k``: W00, W01, W11 (``w``, shape (3, G)) against the group products.

        ``einsum`` rather than ``@``: a BLAS call between vector operations pays for waking
        its threads (10x slower here on a busy 2-core machine).
        """
        product: np.ndarray = np.einsum("...j,j->...", stack, w.ravel())
        return product

    def __call__(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        dev, grad = self.parts(theta, gradient=True)[:2]
        return dev, (grad if grad is not None else np.zeros(3))


def _mm(P: np.ndarray, Q: np.ndarray) -> np.ndarray:
    """2 x 2 matrix product, element by element over groups (shapes (2, 2[, G]))."""
    return np.array(
        [
            [P[0, 0] * Q[0, 0] + P[0, 1] * Q[1, 0], P[0, 0] * Q[0, 1] + P[0, 1] * Q[1, 1]],
            [P[1, 0] * Q[0, 0] + P[1, 1] * Q[1, 0], P[1, 0] * Q[0, 1] + P[1, 1] * Q[1, 1]],
        ]
    )


def reml_fit(y: ArrayLike, X: ArrayLike, Z: ArrayLike, groups: ArrayLike) -> RemlFit:
    """Fit the two-random-effect mixed model by REML from per-group sums.

    Parameters
    ----------
    y : array-like, shape (N,)
        Outcome (finite).
    X : array-like, shape (N, p)
        Fixed-effect design (with the intercept column).
    Z : array-like, shape (N, 2)
        Random-effect design (intercept and slope).
    groups : array-like, shape (N,)
        Group labels (any hashable values).

    Returns
    -------
    RemlFit

    Examples
    --------
    >>> import numpy as np
    >>> g = np.repeat(np.arange(50), 4)
    >>> t = np.tile([0.0, 1, 2, 3], 50)
    >>> y = 5 - t + np.random.default_rng(0).normal(0, 1, 200) + np.repeat(np.random.default_rng(1).normal(0, 1, 50), 4)
    >>> X = np.column_stack([np.ones(200), t])
    >>> round(float(reml_fit(y, X, X, g).params[1]), 2)
    -0.99
    """
    y = np.asarray(y, dtype=float).reshape(-1)
    X = np.asarray(X, dtype=float)
    Z = np.asarray(Z, dtype=float)
    if X.ndim != 2 or Z.ndim != 2 or Z.shape[1] != 2 or len(X) != y.size or len(Z) != y.size:
        raise invalid("design_shape", "X must be (N, p) and Z (N, 2) with N = len(y)", "X")
    if not (np.isfinite(y).all() and np.isfinite(X).all() and np.isfinite(Z).all()):
        raise invalid("finite_values", "y, X and Z must be finite", "y")
    codes, uniques = _codes(groups, y.size)
    crit = _Criterion(y, X, Z, codes, uniques)
    if crit.n <= crit.p or np.linalg.matrix_rank(crit.XtX) < crit.p:
        raise invalid("design_rank", "the fixed-effect design is rank deficient", "X")
    theta, res = _optimize(crit)
    _, _, xvx, beta, r2 = crit.parts(theta)
    scale = r2 / (crit.n - crit.p)
    lam = _lambda(theta)
    return RemlFit(
        params=beta,
        cov=scale * np.linalg.inv(xvx),
        cov_re=scale * (lam @ lam.T),
        scale=float(scale),
        theta=theta,
        llf=-0.5 * float(res.fun) * crit.n,
        converged=bool(res.success),
        singular=bool(min(theta[0], theta[2]) < SINGULAR_TOL),
        message=str(res.message),
        n_groups=uniques,
        n_obs=int(y.size),
    )


def _optimize(crit: _Criterion) -> tuple[np.ndarray, optimize.OptimizeResult]:
    """Minimise the deviance over theta with its analytic gradient, in two stages.

    1. BFGS on ``(log Lambda00, Lambda10, log Lambda11)`` from lme4's start (Lambda = I):
       unconstrained, so no step lands on a boundary face (a bounded quasi-Newton
       method started at I can stick at Lambda11 = 0, a perfect-correlation local optimum).
    2. L-BFGS-B on theta with the diagonal >= 0 from there, which can reach a boundary
       (a singular fit) exactly.

    The deviance is scaled per observation so the tolerances mean the same at any N.
    The better of the two optima is returned (with ``fun`` per observation).
    """
    n = crit.n

    def on_log_scale(phi: np.ndarray) -> tuple[float, np.ndarray]:
        theta = np.array([np.exp(phi[0]), phi[1], np.exp(phi[2])])
        dev, grad = crit(theta)
        return dev / n, grad * np.array([theta[0], 1.0, theta[2]]) / n

    def on_theta(theta: np.ndarray) -> tuple[float, np.ndarray]:
        dev, grad = crit(theta)
        return dev / n, grad / n

    first = optimize.minimize(
        on_log_scale, x0=np.zeros(3), jac=True, method="BFGS", options={"gtol": 1e-6, "maxiter": 500}
    )
    start = np.array([np.exp(first.x[0]), first.x[1], np.exp(first.x[2])])
    second = optimize.minimize(
        on_theta,
        x0=start,
        jac=True,
        method="L-BFGS-B",
        bounds=[(0.0, None), (None, None), (0.0, None)],
        options={"ftol": 1e-12, "gtol": 1e-7, "maxiter": 500},
    )
    best = second if np.isfinite(second.fun) and second.fun <= first.fun else first
    theta = second.x if best is second else start
    # Converged = the projected gradient (per observation) vanishes at the optimum: a line
    # search that stops on rounding right at the optimum ("ABNORMAL") is not a failure.
    grad = on_theta(theta)[1]
    at_bound = (np.array([theta[0], 1.0, theta[2]]) <= 0.0) & (grad > 0)
    best.success = bool(best.success or np.max(np.abs(np.where(at_bound, 0.0, grad))) < _GRAD_TOL)
    return theta, best


def _codes(groups: ArrayLike, n: int) -> tuple[np.ndarray, int]:
    g = np.asarray(groups).reshape(-1)
    if g.size != n:
        raise invalid("same_length", "groups must have one label per observation", "groups")
    codes, uniques = pd.factorize(g)
    if (codes < 0).any():
        raise invalid("finite_values", "groups must not be missing", "groups")
    return codes, len(uniques)
