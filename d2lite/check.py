"""Self-checks: test your answer to an exercise offline, without seeing the solution.

Each check calls *your* function on many random cases, compares the result with
d2lite's reference implementation, and returns a `CheckResult` that prints a short
verdict. On failure the message shows one input on which your function went wrong and
what kind of mistake it looks like (for example "you flipped the kernel") -- never the
code or formula of the solution.

    >>> import d2lite
    >>> def my_corr2d(X, K): ...
    >>> d2lite.check.corr2d(my_corr2d)
    ✓ corr2d: correct on 25 random cases.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from d2lite import conv

__all__ = ["CheckResult", "conv_kernel_gradient", "corr2d", "corr2d_multi_in_out", "gaussian_score", "output_size",
           "pool2d"]


@dataclass(frozen=True)
class CheckResult:
    """The verdict of a self-check: true if your function passed.

    Attributes:
        passed: whether every case agreed with the reference.
        message: what to print; on failure, a failing input and a hint.
    """

    name: str
    passed: bool
    message: str

    def __bool__(self) -> bool:
        return self.passed

    def __repr__(self) -> str:
        return self.message

    def _repr_markdown_(self) -> str:
        return self.message.replace("\n", "  \n")


def _ok(name: str, cases: int) -> CheckResult:
    return CheckResult(name, True, f"✓ {name}: correct on {cases} random cases.")


def _fail(name: str, detail: str, hint: str = "") -> CheckResult:
    text = f"✗ {name}: {detail}"
    if hint:
        text += f"\n  Hint: {hint}"
    return CheckResult(name, False, text)


def _require_callable(fn, name: str) -> None:
    if not callable(fn):
        raise TypeError(f"{name} expects your function as its argument, got {type(fn).__name__}")


def _call(fn, name: str, args: tuple, described: str):
    """Call the student's function; turn an exception into a failed CheckResult."""
    try:
        return np.asarray(fn(*args), dtype=np.float64), None
    except Exception as err:  # noqa: BLE001 - any error is reported to the student
        return None, _fail(name, f"your function raised {type(err).__name__}: {err}\n  on {described}.")


def _same(a: np.ndarray, b: np.ndarray, tol: float = 1e-4) -> bool:
    return a.shape == b.shape and np.allclose(a, b, atol=tol, rtol=tol)


def output_size(fn: Callable[[int, int, int, int], int], *, cases: int = 200, seed: int = 0) -> CheckResult:
    """Check ``fn(n, k, p, s)``: the output size along one axis of a convolution.

    Args:
        fn: your function of the input size n, kernel size k, padding p (zeros on each
            side) and stride s, returning the number of output rows.
    """
    _require_callable(fn, "check.output_size")
    name, rng = "output_size", np.random.default_rng(seed)
    for _ in range(cases):
        n, k, p, s = (int(v) for v in (rng.integers(1, 65), rng.integers(1, 8), rng.integers(0, 4), rng.integers(1, 5)))
        if k > n + 2 * p:
            continue
        expected = conv.conv_output_shape(n, k, p, s)[0]
        try:
            got = fn(n, k, p, s)
        except Exception as err:  # noqa: BLE001
            return _fail(name, f"your function raised {type(err).__name__}: {err}\n  for n={n}, k={k}, p={p}, s={s}.")
        if not isinstance(got, (int, np.integer)) or isinstance(got, bool):
            return _fail(name, f"for n={n}, k={k}, p={p}, s={s} it returned {got!r}, not an int.",
                         "a size is a whole number: round down (//), don't divide (/).")
        if got != expected:
            hint = ("padding adds p zeros on *each* side." if p and got == conv.conv_output_shape(n + p, k, 0, s)[0]
                    else "count where the last window can start, then how many strides fit before it.")
            return _fail(name, f"for n={n}, k={k}, p={p}, s={s} your function gives {got}, "
                               f"but a convolution layer outputs {expected} rows.", hint)
    return _ok(name, cases)


def corr2d(fn: Callable, *, cases: int = 25, seed: int = 0) -> CheckResult:
    """Check ``fn(X, K)``: the 2-D cross-correlation of X (n_h, n_w) with K (k_h, k_w).

    Your function gets NumPy float32 arrays and must return an array-like of shape
    (n_h - k_h + 1, n_w - k_w + 1).
    """
    _require_callable(fn, "check.corr2d")
    name, rng = "corr2d", np.random.default_rng(seed)
    for case in range(cases):
        n_h, n_w = (int(v) for v in rng.integers(3, 12, size=2))
        k_h, k_w = (int(v) for v in rng.integers(1, 4, size=2))
        if case == 0:
            n_h, n_w, k_h, k_w = 3, 4, 2, 3  # small and non-square first
        X = rng.normal(size=(n_h, n_w)).astype("float32")
        K = rng.normal(size=(k_h, k_w)).astype("float32")
        described = f"X of shape {X.shape} and K of shape {K.shape}"
        got, failure = _call(fn, name, (X, K), described)
        if failure is not None:
            return failure
        expected = np.asarray(conv.corr2d(X, K), dtype=np.float64)
        if got.shape != expected.shape:
            return _fail(name, f"on {described} it returned shape {got.shape}, expected {expected.shape}.",
                         "the kernel must fit entirely inside the input at every position.")
        if not _same(got, expected):
            flipped = np.asarray(conv.corr2d(X, K[::-1, ::-1]), dtype=np.float64)
            hint = ("you flipped the kernel: that is convolution; a convolutional layer computes "
                    "cross-correlation." if _same(got, flipped) else
                    "compare your result with a 3x3 input and a 2x2 kernel worked out by hand.")
            i, j = np.unravel_index(np.argmax(np.abs(got - expected)), got.shape)
            return _fail(name, f"on {described} the output at position ({i}, {j}) is off by "
                               f"{abs(got[i, j] - expected[i, j]):.3g}.", hint)
    return _ok(name, cases)


def corr2d_multi_in_out(fn: Callable, *, cases: int = 15, seed: int = 0) -> CheckResult:
    """Check ``fn(X, K)`` for X (n_h, n_w, c_i) and K (k_h, k_w, c_i, c_o) -> (o_h, o_w, c_o)."""
    _require_callable(fn, "check.corr2d_multi_in_out")
    name, rng = "corr2d_multi_in_out", np.random.default_rng(seed)
    for _ in range(cases):
        n_h, n_w = (int(v) for v in rng.integers(3, 10, size=2))
        k_h, k_w = (int(v) for v in rng.integers(1, 4, size=2))
        c_i, c_o = (int(v) for v in rng.integers(1, 4, size=2))
        X = rng.normal(size=(n_h, n_w, c_i)).astype("float32")
        K = rng.normal(size=(k_h, k_w, c_i, c_o)).astype("float32")
        described = f"X of shape {X.shape} and K of shape {K.shape}"
        got, failure = _call(fn, name, (X, K), described)
        if failure is not None:
            return failure
        expected = np.asarray(conv.corr2d_multi_in_out(X, K), dtype=np.float64)
        if got.shape != expected.shape:
            hint = ("channels go last: (height, width, channels)." if got.shape[::-1] == expected.shape
                    or (got.ndim == 3 and got.shape[0] == expected.shape[-1]) else
                    "one output channel per kernel in K's last axis.")
            return _fail(name, f"on {described} it returned shape {got.shape}, expected {expected.shape}.", hint)
        if not _same(got, expected):
            return _fail(name, f"on {described} the values are wrong (largest error "
                               f"{np.max(np.abs(got - expected)):.3g}).",
                         "each output channel sums the cross-correlations over *all* input channels.")
    return _ok(name, cases)


def pool2d(fn: Callable, mode: str = "max", *, cases: int = 25, seed: int = 0) -> CheckResult:
    """Check ``fn(X, pool_size)``: max or average pooling of X (n_h, n_w) with stride 1.

    Args:
        fn: your function of X and pool_size = (p_h, p_w), returning shape
            (n_h - p_h + 1, n_w - p_w + 1).
        mode: "max" or "avg", the pooling your function computes.
    """
    _require_callable(fn, "check.pool2d")
    if mode not in ("max", "avg"):
        raise ValueError(f'mode must be "max" or "avg", got {mode!r}')
    name, rng = f"pool2d ({mode})", np.random.default_rng(seed)
    for _ in range(cases):
        n_h, n_w = (int(v) for v in rng.integers(3, 12, size=2))
        size = tuple(int(v) for v in rng.integers(1, 4, size=2))
        X = rng.normal(size=(n_h, n_w)).astype("float32")
        described = f"X of shape {X.shape} and pool_size={size}"
        got, failure = _call(fn, name, (X, size), described)
        if failure is not None:
            return failure
        expected = np.asarray(conv.pool2d(X, size, stride=1, mode=mode), dtype=np.float64)
        if got.shape != expected.shape:
            return _fail(name, f"on {described} it returned shape {got.shape}, expected {expected.shape}.",
                         "here the window moves one pixel at a time (stride 1).")
        if not _same(got, expected):
            other = "avg" if mode == "max" else "max"
            hint = (f"your function computes {other} pooling." if _same(
                got, np.asarray(conv.pool2d(X, size, stride=1, mode=other), dtype=np.float64))
                else "each output is one statistic of one window; check the window's rows and columns.")
            return _fail(name, f"on {described} the values are wrong.", hint)
    return _ok(name, cases)


def conv_kernel_gradient(fn: Callable, *, cases: int = 15, seed: int = 0) -> CheckResult:
    """Check ``fn(X, dY)``: the gradient dL/dK of a loss through Y = corr2d(X, K).

    Args:
        fn: your function of the input X (n_h, n_w) and the upstream gradient dY = dL/dY
            (o_h, o_w), returning dL/dK of shape (n_h - o_h + 1, n_w - o_w + 1).
    """
    _require_callable(fn, "check.conv_kernel_gradient")
    name, rng = "conv_kernel_gradient", np.random.default_rng(seed)
    for _ in range(cases):
        n_h, n_w = (int(v) for v in rng.integers(4, 10, size=2))
        k_h, k_w = (int(v) for v in rng.integers(1, 4, size=2))
        X = rng.normal(size=(n_h, n_w))
        dY = rng.normal(size=(n_h - k_h + 1, n_w - k_w + 1))
        # Y is linear in K: dL/dK[a, b] = sum_ij X[i + a, j + b] dY[i, j]. Computed here as
        # the derivative of <corr2d(X, K), dY> along each unit kernel, with d2lite.corr2d.
        expected = np.array([[float(np.sum(np.asarray(conv.corr2d(X, np.eye(k_h * k_w)[a * k_w + b].reshape(k_h, k_w)))
                                           * dY)) for b in range(k_w)] for a in range(k_h)])
        described = f"X of shape {X.shape} and dY of shape {dY.shape}"
        got, failure = _call(fn, name, (X, dY), described)
        if failure is not None:
            return failure
        if got.shape != expected.shape:
            return _fail(name, f"on {described} it returned shape {got.shape}, expected the kernel's "
                               f"shape {expected.shape}.")
        if not _same(got, expected):
            hint = ("you flipped something: check whether X or dY needs rotating." if _same(got, expected[::-1, ::-1])
                    else "each kernel entry touches many outputs: sum its contributions over all of them.")
            return _fail(name, f"on {described} the gradient is wrong.", hint)
    return _ok(name, cases)


def gaussian_score(fn: Callable, *, cases: int = 20, seed: int = 0) -> CheckResult:
    """Check ``fn(x, mean, std)``: the gradient of log N(x; mean, std^2 I) with respect to the mean.

    `x` and `mean` have shape (n, d), `std` is a positive float; the answer has shape (n, d).
    """
    name = "gaussian_score"
    _require_callable(fn, name)
    rng = np.random.default_rng(seed)
    for _ in range(cases):
        n, d = int(rng.integers(1, 6)), int(rng.integers(1, 4))
        x, mean = rng.normal(size=(n, d)), rng.normal(size=(n, d))
        std = float(rng.uniform(0.2, 2.0))
        described = f"x of shape {x.shape}, mean of shape {mean.shape}, std={std:.3f}"
        got, failure = _call(fn, name, (x.copy(), mean.copy(), std), described)
        if failure is not None:
            return failure
        expected = (x - mean) / std**2
        if got.shape != expected.shape:
            return _fail(name, f"for {described} your function returned shape {got.shape}, "
                               f"expected {expected.shape}", "one gradient entry per entry of the mean")
        if _same(got, expected):
            continue
        hint = "differentiate the log-density, not the density, and with respect to the mean"
        if _same(got, -expected):
            hint = "the sign is backwards: the score should point from the mean towards the sample"
        elif _same(got, x - mean):
            hint = "the answer depends on std"
        elif _same(got, expected * std) or _same(got, expected / std):
            hint = "look again at the power of std in the denominator"
        return _fail(name, f"wrong result for {described}.", hint)
    return _ok(name, cases)
