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
from d2lite._validate import _numpy

__all__ = ["CheckResult", "beam_step", "conv_kernel_gradient", "corr2d", "corr2d_multi_in_out",
           "gated_attention", "gaussian_score", "masked_attention", "output_size", "pool2d"]


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
        return _numpy(fn(*args), np.float64), None
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


def _softmax_last(e: np.ndarray) -> np.ndarray:
    e = np.exp(e - e.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _gated_weights(H, V, U, w, mask, *, gate: bool = True) -> np.ndarray:
    """Reference for `gated_attention` (float64), and the ungated variant for hints."""
    inner = np.tanh(H @ V)
    if gate:
        inner = inner * (1 / (1 + np.exp(-(H @ U))))
    scores = inner @ w
    return np.where(mask, _softmax_last(np.where(mask, scores, -np.inf)), 0.0)


def gated_attention(fn: Callable, *, cases: int = 20, seed: int = 0) -> CheckResult:
    """Check ``fn(H, V, U, w, mask)``: the weights of gated attention pooling over bags.

    Args:
        fn: your function of H (batch, m, d), the instance vectors of each bag; V and U
            (d, u); w (u,); and a boolean mask (batch, m), True for the instances that are
            really there. It must return the attention weights of shape (batch, m): zero
            where the mask is False, summing to 1 over each bag's other instances. Arrays
            arrive as NumPy float32 (bool for the mask); returning a Keras tensor is fine.
    """
    _require_callable(fn, "check.gated_attention")
    name, rng = "gated_attention", np.random.default_rng(seed)
    for case in range(cases):
        batch, m, d, u = (int(v) for v in (rng.integers(1, 5), rng.integers(2, 9), rng.integers(2, 7),
                                           rng.integers(2, 6)))
        if case == 0:
            batch, m, d, u = 2, 3, 4, 5  # small and all sizes different first
        H = rng.normal(size=(batch, m, d)).astype("float32")
        V, U = (rng.normal(size=(d, u)).astype("float32") for _ in range(2))
        w = rng.normal(size=u).astype("float32")
        mask = np.ones((batch, m), bool) if case < 2 else rng.random((batch, m)) < 0.7
        mask[:, 0] = True  # every bag keeps at least one instance
        described = f"H of shape {H.shape}, u = {u} and mask {mask.astype(int).tolist()}"
        got, failure = _call(fn, name, (H, V, U, w, mask.copy()), described)
        if failure is not None:
            return failure
        args = [a.astype(np.float64) for a in (H, V, U, w)]
        expected = _gated_weights(*args, mask)
        if got.shape != expected.shape:
            hint = ("one weight per instance: drop the trailing axis of size 1."
                    if got.size == expected.size else "one weight per instance and bag.")
            return _fail(name, f"on {described} it returned shape {got.shape}, expected "
                               f"{expected.shape}.", hint)
        if np.any(np.abs(got[~mask]) > 1e-6):
            return _fail(name, f"on {described} an instance outside the mask got weight "
                               f"{np.abs(got[~mask]).max():.3g}.",
                         "padding instances are not in the bag: their weight must be exactly 0.")
        sums = got.sum(axis=-1)
        if not np.allclose(sums, 1.0, atol=1e-4):
            hint = ("the weights are right up to a factor: renormalise after masking, or better, "
                    "mask the scores before the softmax." if _same(got / np.maximum(sums[:, None], 1e-12),
                                                                  expected) else
                    "the weights of one bag must be non-negative and sum to 1 over its instances "
                    "(a softmax over the instance axis).")
            return _fail(name, f"on {described} the weights of a bag sum to "
                               f"{sums[np.argmax(np.abs(sums - 1))]:.4g}, not 1.", hint)
        if not _same(got, expected):
            if _same(got, _gated_weights(*args, mask, gate=False)):
                hint = "you left out the gate: the sigmoid branch multiplies the tanh branch."
            elif _same(got, _gated_weights(args[0], args[2], args[1], args[3], mask)):
                hint = "U and V are swapped: check which branch each matrix belongs to."
            else:
                hint = "work out the score of one instance by hand and compare."
            return _fail(name, f"on {described} the weights are wrong (largest error "
                               f"{np.max(np.abs(got - expected)):.3g}).", hint)
    return _ok(name, cases)


def _softmax_attention(scores: np.ndarray, mask: np.ndarray | None, values: np.ndarray,
                       axis: int = -1) -> np.ndarray:
    """softmax(scores, masked entries set to -1e9, along `axis`) @ values, in float64."""
    s = scores if mask is None else np.where(mask, scores, -1e9)
    w = np.exp(s - s.max(axis=axis, keepdims=True))
    return (w / w.sum(axis=axis, keepdims=True)) @ values


def masked_attention(fn: Callable, *, cases: int = 20, seed: int = 0) -> CheckResult:
    """Check ``fn(queries, keys, values, mask)``: scaled dot-product attention with a mask.

    Your function gets NumPy float32 arrays queries (batch, n_q, d), keys (batch, m, d),
    values (batch, m, d_v) and a boolean mask (batch, n_q, m) in which True means "query i
    may attend to key j" (every query may attend to at least one key). It must return the
    outputs, shape (batch, n_q, d_v).
    """
    name = "masked_attention"
    _require_callable(fn, f"check.{name}")
    rng = np.random.default_rng(seed)
    for case in range(cases):
        b, n_q, m = int(rng.integers(1, 4)), int(rng.integers(2, 6)), int(rng.integers(2, 7))
        d, d_v = int(rng.integers(2, 9)), int(rng.integers(1, 6))
        if case == 0:
            b, n_q, m, d, d_v = 1, 2, 3, 4, 5  # small, and every size different
        q = rng.normal(size=(b, n_q, d)).astype("float32")
        k = rng.normal(size=(b, m, d)).astype("float32")
        v = rng.normal(size=(b, m, d_v)).astype("float32")
        mask = rng.random((b, n_q, m)) < 0.6
        mask[np.arange(b)[:, None], np.arange(n_q), rng.integers(0, m, (b, n_q))] = True
        mask[0, 0] = np.arange(m) < m - 1  # at least one key masked out in every case
        described = (f"queries of shape {q.shape}, keys {k.shape}, values {v.shape} and a mask "
                     f"with {int(mask.sum())} of its {mask.size} entries True")
        got, failure = _call(fn, name, (q.copy(), k.copy(), v.copy(), mask.copy()), described)
        if failure is not None:
            return failure
        v64 = v.astype(np.float64)
        scores = q.astype(np.float64) @ np.swapaxes(k.astype(np.float64), 1, 2)  # (b, n_q, m)
        scaled = scores / np.sqrt(d)
        expected = _softmax_attention(scaled, mask, v64)
        if got.shape != expected.shape:
            hint = ("that is the shape of the attention weights: return their averages of the values."
                    if got.shape == scores.shape else "one output per query, each of the values' size d_v.")
            return _fail(name, f"on {described} it returned shape {got.shape}, expected {expected.shape}.", hint)
        if _same(got, expected):
            continue
        wrong = [  # (what a common mistake computes, the hint for it)
            (_softmax_attention(scores, mask, v64), "scale the scores before the softmax, as in the text."),
            (_softmax_attention(scores / d, mask, v64),
             "you divided by the size itself: look again at the scale in the text."),
            (_softmax_attention(scaled, None, v64), "masked-out keys must get zero weight."),
            (_softmax_attention(scaled, ~mask, v64), "True in the mask means the query *may* attend to that key."),
            ((_softmax_attention(scaled, None, np.eye(m)) * mask) @ v64,
             "mask the scores *before* the softmax, so that the weights that are kept still sum to 1."),
            (_softmax_attention(scaled, mask, v64, axis=1), "each query's weights must sum to 1 over the keys "
                                                            "(the last axis), not over the queries."),
        ]
        hint = next((h for out, h in wrong if np.isfinite(out).all() and _same(got, out)),
                    "work through one query and two keys by hand, then compare step by step.")
        i = np.unravel_index(np.argmax(np.abs(got - expected)), got.shape)
        return _fail(name, f"on {described} the output at {tuple(int(j) for j in i)} is off by "
                           f"{abs(got[i] - expected[i]):.3g}.", hint)
    return _ok(name, cases)


def beam_step(fn: Callable, *, cases: int = 20, seed: int = 0) -> CheckResult:
    """Check ``fn(scores, log_probs, beam_width)``: one step of beam search.

    Args:
        fn: your function of scores (n, k), the log-likelihoods of the k hypotheses kept
            for each of n images, log_probs (n, k, V), the log-probabilities of the next
            token after each hypothesis, and beam_width, the number of extensions to keep.
            It returns ``(new_scores, parents, tokens)``, each of shape (n, beam_width),
            best first: extension j of image i appends token ``tokens[i, j]`` to hypothesis
            ``parents[i, j]`` and has log-likelihood ``new_scores[i, j]``.
    """
    from d2lite.captioning import beam_step as reference

    _require_callable(fn, "check.beam_step")
    name, rng = "beam_step", np.random.default_rng(seed)

    def best_token_each(scores, log_probs, width):
        """A wrong ranking, for the hint: only the best token of each hypothesis competes."""
        total = scores[:, :, None] + log_probs
        tok = total.argmax(axis=2)
        best = np.take_along_axis(total, tok[..., None], 2)[..., 0]
        order = np.argsort(-best, axis=1, kind="stable")[:, :width]
        return np.take_along_axis(best, order, 1), order, np.take_along_axis(tok, order, 1)

    for case in range(cases):
        n, k, vocab = (int(v) for v in (rng.integers(1, 4), rng.integers(1, 5), rng.integers(3, 9)))
        if case == 0:
            n, k, vocab = 2, 3, 5
        width = int(rng.integers(2, min(k * vocab, 6) + 1))
        scores = np.sort(rng.normal(size=(n, k)) * 2.0 - 3.0, axis=1)[:, ::-1].copy()
        logits = rng.normal(size=(n, k, vocab)) * 2.0
        log_probs = logits - np.log(np.exp(logits).sum(axis=-1, keepdims=True))
        described = (f"scores of shape {scores.shape}, log_probs of shape {log_probs.shape} and "
                     f"beam_width={width}")
        try:
            got = fn(scores.copy(), log_probs.copy(), width)
        except Exception as err:  # noqa: BLE001 - any error is reported to the student
            return _fail(name, f"your function raised {type(err).__name__}: {err}\n  on {described}.")
        if not isinstance(got, (tuple, list)) or len(got) != 3:
            return _fail(name, f"on {described} it returned {type(got).__name__}, not three arrays.",
                         "return a tuple (new_scores, parents, tokens).")
        try:
            got = [_numpy(g, np.float64) for g in got]
        except Exception:  # noqa: BLE001
            return _fail(name, f"on {described} the three results are not arrays of numbers.")
        if any(g.shape != (n, width) for g in got):
            return _fail(name, f"on {described} it returned shapes {[g.shape for g in got]}, expected "
                               f"three arrays of shape {(n, width)}.",
                         "one row per image and one column per kept extension.")

        def same(candidate) -> bool:
            s, p, t = (np.asarray(c, dtype=np.float64) for c in candidate)
            return (np.allclose(got[0], s, atol=1e-5) and np.array_equal(got[1], p)
                    and np.array_equal(got[2], t))

        s, p, t = reference(scores, log_probs, width)
        if same((s, p, t)):
            continue
        _, p0, t0 = reference(np.zeros_like(scores), log_probs, width)
        if same((s[:, ::-1], p[:, ::-1], t[:, ::-1])):
            hint = "list the kept extensions best first (highest log-likelihood first)."
        elif same(best_token_each(scores, log_probs, width)):
            hint = ("all k * V extensions compete together: a good hypothesis may have several of "
                    "the best extensions, and a weak one none.")
        elif np.array_equal(got[1], p0) and np.array_equal(got[2], t0):
            hint = ("an extension's score is its hypothesis's score plus the new token's "
                    "log-probability: rank by that sum, not by the token's log-probability alone.")
        elif np.allclose(got[0], s, atol=1e-5):
            hint = ("the scores are right but not the indices: parents must say which hypothesis "
                    "(0 .. k-1) is extended and tokens which word of the vocabulary (0 .. V-1), "
                    "not the position among all k * V candidates.")
        else:
            hint = ("work out a case with k = 2 hypotheses and V = 3 tokens by hand: write down all "
                    "six extensions and their log-likelihoods.")
        return _fail(name, f"on {described} the kept extensions are wrong.", hint)
    return _ok(name, cases)
