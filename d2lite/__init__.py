"""d2lite: the helper package of the d2lite course book on convolutions and attention.

Import it before Keras or TensorFlow in a notebook: it quiets TensorFlow's C++ and
absl start-up logs, which are printed when TensorFlow is first imported and would
otherwise land in every rendered page.
"""

import os as _os

# Must happen before TensorFlow is imported anywhere in the process. `setdefault`
# keeps a value the user chose (set TF_CPP_MIN_LOG_LEVEL=0 to see every log line).
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
_os.environ.setdefault("KERAS_BACKEND", "tensorflow")

__version__ = "0.1.0"

from d2lite._quiet import quiet_logs as _quiet_logs  # noqa: E402

_quiet_logs()

from d2lite.conv import (  # noqa: E402
    conv2d,
    conv_output_shape,
    corr2d,
    corr2d_multi_in,
    corr2d_multi_in_out,
    pool2d,
    same_padding,
)
from d2lite.data import (  # noqa: E402
    FASHION_MNIST_CLASSES,
    DataSplits,
    load_fashion_mnist,
    load_mnist,
    shift_images,
)
from d2lite.plot import plot, show_images, use_svg_display  # noqa: E402
from d2lite.seed import set_seed  # noqa: E402
from d2lite import check  # noqa: E402  (self-checks: d2lite.check.corr2d(my_fn), ...)

# Modules added by later sections: one import line each, kept in alphabetical order.
# (d2lite-modules-anchor)
from d2lite import attention  # noqa: E402  (d2lite.attention.additive_scores, ...)
from d2lite.attention import AttentionPooling  # noqa: E402
from d2lite.autodiff import enable_float64, grad  # noqa: E402
from d2lite import captioning  # noqa: E402
from d2lite.conv_grad import conv2d_backward, im2col, insert_zeros  # noqa: E402
from d2lite.conv_math import (  # noqa: E402
    conv2d_true,
    conv_matrix,
    conv_transpose_output_shape,
    fft_conv2d,
    receptive_field,
)
from d2lite import diagrams  # noqa: E402  (d2lite.diagrams.sliding_window, ...)
from d2lite import glimpse  # noqa: E402  (d2lite.glimpse.RecurrentAttentionModel, ...)
from d2lite import models  # noqa: E402  (d2lite.models.lenet, ...)
from d2lite.notebook import glue  # noqa: E402
from d2lite.plot import show_attention  # noqa: E402
from d2lite import reinforce  # noqa: E402  (d2lite.reinforce.reinforce_loss, ...)
from d2lite.scenes import (  # noqa: E402
    CaptionScenes,
    CaptionVocab,
    Scenes,
    caption_scenes,
    caption_splits,
    cluttered_scenes,
    cluttered_splits,
)
from d2lite import sequences  # noqa: E402  (d2lite.sequences.load_sunspots, ...)
from d2lite.training import LivePlot, TrainHistory, train  # noqa: E402
from d2lite import vit  # noqa: E402  (d2lite.vit.PatchEmbedding, ...)

__all__ = [
    "AttentionPooling",
    "CaptionScenes",
    "CaptionVocab",
    "FASHION_MNIST_CLASSES",
    "DataSplits",
    "LivePlot",
    "TrainHistory",
    "Scenes",
    "__version__",
    "attention",
    "caption_scenes",
    "caption_splits",
    "captioning",
    "check",
    "cluttered_scenes",
    "cluttered_splits",
    "conv2d",
    "conv2d_backward",
    "conv2d_true",
    "conv_matrix",
    "conv_output_shape",
    "conv_transpose_output_shape",
    "corr2d",
    "corr2d_multi_in",
    "corr2d_multi_in_out",
    "diagrams",
    "fft_conv2d",
    "glimpse",
    "glue",
    "enable_float64",
    "grad",
    "im2col",
    "insert_zeros",
    "load_fashion_mnist",
    "load_mnist",
    "models",
    "plot",
    "pool2d",
    "receptive_field",
    "reinforce",
    "same_padding",
    "sequences",
    "set_seed",
    "shift_images",
    "show_attention",
    "show_images",
    "train",
    "use_svg_display",
    "vit",
]
