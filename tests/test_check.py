"""d2lite.check: every self-check passes the reference solution, fails wrong answers with a
helpful message, and never shows the solution."""

import d2lite  # noqa: F401
import numpy as np
import pytest
from keras import ops

from d2lite import check

# ------------------------------------------------------------ reference answers


def ref_output_size(n, k, p, s):
    return (n + 2 * p - k) // s + 1


def ref_corr2d(X, K):
    h, w = K.shape
    Y = np.zeros((X.shape[0] - h + 1, X.shape[1] - w + 1))
    for i in range(h):
        for j in range(w):
            Y += K[i, j] * X[i: i + Y.shape[0], j: j + Y.shape[1]]
    return Y


def ref_multi(X, K):
    return np.stack([sum(ref_corr2d(X[:, :, c], K[:, :, c, o]) for c in range(X.shape[2]))
                     for o in range(K.shape[3])], axis=-1)


def ref_pool(mode):
    def pool(X, size):
        h, w = size
        windows = np.lib.stride_tricks.sliding_window_view(X, (h, w))
        return windows.max(axis=(2, 3)) if mode == "max" else windows.mean(axis=(2, 3))
    return pool


def ref_kernel_gradient(X, dY):
    return ref_corr2d(X, dY)  # dL/dK is the cross-correlation of X with dL/dY


def ref_gated(H, V, U, w, mask):
    """Gated attention weights (Ilse et al., 2018), with keras.ops and d2lite's masked softmax."""
    scores = ops.matmul(ops.tanh(ops.matmul(H, V)) * ops.sigmoid(ops.matmul(H, U)), w)
    return d2lite.attention.masked_softmax(scores, mask)


def ungated(H, V, U, w, mask):
    return d2lite.attention.masked_softmax(ops.matmul(ops.tanh(ops.matmul(H, V)), w), mask)


def masked_after_softmax(H, V, U, w, mask):
    return ops.convert_to_numpy(ref_gated(H, V, U, w, np.ones_like(mask))) * mask


# ------------------------------------------------------------------ the checks

CASES = [
    (check.output_size, ref_output_size,
     [(lambda n, k, p, s: (n + p - k) // s + 1, r"\*each\* side"),
      (lambda n, k, p, s: (n + 2 * p - k) / s + 1, "round down"),
      (lambda n, k, p, s: n - k + 1, "gives")]),
    (check.corr2d, ref_corr2d,
     [(lambda X, K: ref_corr2d(X, K[::-1, ::-1]), "you flipped the kernel"),
      (lambda X, K: ref_corr2d(X, K)[:-1], "returned shape"),
      (lambda X, K: ref_corr2d(X, K) + 0.1, "off by"),
      (lambda X, K: 1 / 0, "raised ZeroDivisionError")]),
    (check.corr2d_multi_in_out, ref_multi,
     [(lambda X, K: np.moveaxis(ref_multi(X, K), -1, 0), "channels go last"),
      (lambda X, K: ref_multi(X[:, :, :1], K[:, :, :1]), "all\\* input channels|\\*all\\* input channels")]),
    (lambda fn: check.pool2d(fn, "max"), ref_pool("max"),
     [(ref_pool("avg"), "computes avg pooling"),
      (lambda X, s: ref_pool("max")(X, s)[::2], "returned shape")]),
    (lambda fn: check.pool2d(fn, "avg"), ref_pool("avg"),
     [(ref_pool("max"), "computes max pooling")]),
    (check.conv_kernel_gradient, ref_kernel_gradient,
     [(lambda X, dY: ref_corr2d(X, dY)[::-1, ::-1], "flipped"),
      (lambda X, dY: ref_corr2d(X, dY) * 2, "gradient is wrong"),
      (lambda X, dY: ref_corr2d(X, dY)[:, :1], "kernel's shape")]),
    (check.gated_attention, ref_gated,
     [(ungated, "left out the gate"),
      (lambda H, V, U, w, mask: ref_gated(H, U, V, w, mask), "swapped"),
      (lambda H, V, U, w, mask: ref_gated(H, V, U, w, np.ones_like(mask)), "outside the mask"),
      (masked_after_softmax, "renormalise after masking"),
      (lambda H, V, U, w, mask: ops.softmax((np.tanh(H @ V) / (1 + np.exp(-H @ U))) @ w, axis=0) * mask,
       "sum to 1 over its instances"),
      (lambda H, V, U, w, mask: ops.convert_to_numpy(ref_gated(H, V, U, w, mask))[..., None],
       "drop the trailing axis"),
      (lambda H, V, U, w, mask: ref_gated(H, V, U, -w, mask), "by hand"),
      (lambda H, V, U, w, mask: ref_gated(H.T, V, U, w, mask), "raised")]),
]


@pytest.mark.parametrize("run_check,reference,_", CASES)
def test_reference_answer_passes(run_check, reference, _):
    result = run_check(reference)
    assert result and result.passed
    assert result.message.startswith("✓")


@pytest.mark.parametrize("run_check,wrong,match", [(c, w, m) for c, _, ws in CASES for w, m in ws])
def test_wrong_answer_fails_with_a_helpful_message(run_check, wrong, match):
    result = run_check(wrong)
    assert not result
    assert result.message.startswith("✗")
    assert pytest.importorskip("re").search(match, result.message), result.message
    # Never the solution: no reference code or formula in the message.
    for giveaway in ("n + 2 * p", "(n + 2p", "+ 2 * p", "corr2d(X, dY)", "def ", "sum(", "return "):
        assert giveaway not in result.message


def test_d2lite_functions_pass_their_own_checks():
    assert check.corr2d(d2lite.corr2d)
    assert check.corr2d_multi_in_out(d2lite.corr2d_multi_in_out)
    assert check.pool2d(lambda X, s: d2lite.pool2d(X, s, stride=1), "max")
    assert check.pool2d(lambda X, s: d2lite.pool2d(X, s, stride=1, mode="avg"), "avg")
    assert check.output_size(lambda n, k, p, s: d2lite.conv_output_shape(n, k, p, s)[0])
    assert check.corr2d(lambda X, K: ops.convert_to_numpy(d2lite.corr2d(X, K)))


def test_result_displays_its_message():
    result = check.output_size(ref_output_size)
    assert repr(result) == result.message and "random cases" in result._repr_markdown_()


def test_bad_arguments_to_checks():
    with pytest.raises(TypeError, match="expects your function"):
        check.corr2d("not a function")
    with pytest.raises(ValueError, match='mode must be "max" or "avg"'):
        check.pool2d(ref_pool("max"), "min")
