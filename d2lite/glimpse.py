"""Hard attention with glimpses: the Recurrent Attention Model (Mnih et al., 2014) in Keras 3.

* `glimpse_sensor` cuts a "retina" out of each image: ``scales`` square patches centred on
  one location, each twice the side of the previous, all reduced to ``size x size`` pixels
  (fine in the centre, coarse around it).
* `RecurrentAttentionModel` looks at ``glimpses`` such retinas in turn: a glimpse network
  encodes what and where, a recurrent core accumulates it, a location network proposes
  where to look next (a Gaussian policy), a baseline network predicts the reward, and a
  classifier reads the final state. Its `compute_loss` is the hybrid loss: cross-entropy
  for everything differentiable, REINFORCE (`d2lite.reinforce.reinforce_loss`) for the
  locations, squared error for the baseline. Train it with ``model.fit`` or `d2lite.train`.

Locations are (row, column) pairs in [-1, 1]: (-1, -1) is the top-left corner of the
image, (0, 0) its centre, (1, 1) the bottom-right corner.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import layers, ops

from d2lite.reinforce import gaussian_log_prob, reinforce_loss

__all__ = ["RecurrentAttentionModel", "glimpse_sensor", "location_to_pixels"]


def location_to_pixels(locations, height: int, width: int):
    """Pixel coordinates (row, column) of normalised locations in [-1, 1]: (..., 2) -> (..., 2)."""
    scale = ops.convert_to_tensor(np.array([height, width], "float32"))
    return (ops.cast(locations, "float32") + 1.0) / 2.0 * scale


def glimpse_sensor(images, locations, *, size: int = 12, scales: int = 3):
    """Multi-resolution patches ("retinas") centred on one location per image.

    Patch ``k`` (k = 0 .. scales-1) has side ``size * 2**k`` pixels and is reduced to
    ``size x size`` by averaging ``2**k x 2**k`` blocks. Pixels outside the image read 0.

    Args:
        images: (batch, height, width, channels).
        locations: (batch, 2) (row, column) in [-1, 1]; the patch centre is rounded to the
            nearest pixel corner, so the patch is a piecewise-constant function of the
            location (no gradient flows to it).
        size: positive int, side of every returned patch.
        scales: positive int, number of patches.

    Returns:
        Tensor (batch, scales, size, size, channels).

    Raises:
        ValueError: naming the argument, for bad shapes or sizes.
    """
    if len(tuple(images.shape)) != 4:
        raise ValueError(f"images must have shape (batch, height, width, channels), got {tuple(images.shape)}")
    if tuple(locations.shape)[-1:] != (2,) or len(tuple(locations.shape)) != 2:
        raise ValueError(f"locations must have shape (batch, 2), got {tuple(locations.shape)}")
    for name, value in (("size", size), ("scales", scales)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    _, height, width, channels = tuple(images.shape)
    return _read_retina(_retina_levels(images, size, scales), locations, height, width, size,
                        channels)


def _retina_levels(images, size: int, scales: int) -> list:
    """Box averages of the images, one level per scale: (batch * C, h_k, w_k) each.

    Level k holds, for every pixel (r, c) from ``-margin`` on, the mean of the
    ``2**k x 2**k`` square whose top-left pixel it is (zeros outside the image), with
    ``margin = 2**(scales-1) - 1``; each level is the mean of four shifted copies of the
    one below. Patch k of a retina is then ``size x size`` samples, ``2**k`` apart, of
    level k (`_read_retina`): one small gather instead of averaging a ``size 2**k``
    square, and the levels, computed once per batch of images, serve every glimpse of an
    episode. Channels are folded into the batch: TensorFlow's CPU kernels pad and slice
    (b, h, w, 1) several times slower than (b, h, w), and its average pooling with stride 1
    is slower still.
    """
    margin = 2 ** (scales - 1) - 1
    _, height, width, _ = tuple(images.shape)
    planes = ops.reshape(ops.transpose(images, (0, 3, 1, 2)), (-1, height, width))
    levels = [ops.pad(planes, [[0, 0], [margin, margin], [margin, margin]])]
    for k in range(1, scales):  # a 2^k box is the mean of four 2^(k-1) boxes, 2^(k-1) apart
        shift, prev = 2 ** (k - 1), levels[-1]
        h, w = prev.shape[1] - shift, prev.shape[2] - shift
        rows = prev[:, :h] + prev[:, shift:shift + h]
        levels.append((rows[:, :, :w] + rows[:, :, shift:shift + w]) * 0.25)
    return levels


def _read_retina(levels: list, locations, height: int, width: int, size: int,
                 channels: int):
    """Retinas (batch, scales, size, size, channels) at `locations` from `_retina_levels`."""
    margin = 2 ** (len(levels) - 1) - 1
    # (convert first: on PyTorch, stop_gradient of a NumPy array fails instead of passing it on)
    locations = ops.stop_gradient(ops.convert_to_tensor(locations))
    centre = ops.cast(ops.round(location_to_pixels(locations, height, width)), "int32")
    batch = ops.shape(centre)[0]
    plane = ops.reshape(ops.arange(batch * channels, dtype="int32"), (-1, channels))
    patches = []
    for k, level in enumerate(levels):
        _, h_k, w_k = tuple(level.shape)
        side, factor = size * 2**k, 2**k
        # top-left pixel of each of the size x size blocks of the window, as an index of
        # the level; blocks entirely outside the image read 0
        offsets = ops.arange(size, dtype="int32") * factor - side // 2 + margin
        rows = centre[:, 0, None] + offsets[None, :]  # (batch, size)
        cols = centre[:, 1, None] + offsets[None, :]
        inside = (((rows >= 0) & (rows < h_k))[:, :, None]
                  & ((cols >= 0) & (cols < w_k))[:, None, :])  # (batch, size, size)
        pixel = (ops.clip(rows, 0, h_k - 1)[:, :, None] * w_k
                 + ops.clip(cols, 0, w_k - 1)[:, None, :])
        index = plane[:, :, None, None] * (h_k * w_k) + pixel[:, None]  # (batch, C, size, size)
        patch = ops.take(ops.reshape(level, (-1,)), ops.reshape(index, (-1,)), axis=0)
        patch = ops.reshape(patch, (-1, channels, size, size)) * ops.cast(inside[:, None], level.dtype)
        patches.append(ops.transpose(patch, (0, 2, 3, 1)))
    return ops.stack(patches, axis=1)


@keras.saving.register_keras_serializable(package="d2lite")
class RecurrentAttentionModel(keras.Model):
    """The Recurrent Attention Model: a few glimpses, a recurrent core, a Gaussian policy.

    Args:
        num_classes: number of classes.
        glimpses: number of glimpses T (the first at the image centre).
        size, scales: the glimpse sensor's patch side and number of scales.
        hidden: size of the recurrent state (an LSTM here).
        glimpse_units: size of the "what" and "where" codes.
        std: standard deviation of the Gaussian location policy during training.
        policy: ``"learned"`` (the location network, trained by REINFORCE) or
            ``"random"`` (locations uniform in [-1, 1]: the control experiment).
        seed: seed of the model's random draws (location samples).

    Call:
        images (batch, height, width, channels) -> logits (batch, num_classes) after the
        last glimpse. In training, locations are sampled from the policy; at test time the
        policy's mean is used (deterministic). `trace` returns the locations and the
        logits after every glimpse.

    Metrics:
        ``reward`` (the mean reward of the batches of the epoch so far: the accuracy after
        the last glimpse) and ``baseline`` (the mean of the baseline's predictions), logged
        by ``model.fit`` next to the loss.
    """

    def __init__(self, num_classes: int = 10, glimpses: int = 6, size: int = 12, scales: int = 3,
                 hidden: int = 256, glimpse_units: int = 128, std: float = 0.15,
                 policy: str = "learned", seed: int = 0, **kwargs):
        super().__init__(**kwargs)
        if policy not in ("learned", "random"):
            raise ValueError(f"policy must be 'learned' or 'random', got {policy!r}")
        if isinstance(glimpses, bool) or not isinstance(glimpses, int) or glimpses < 1:
            raise ValueError(f"glimpses must be a positive int, got {glimpses!r}")
        if not std > 0:
            raise ValueError(f"std must be positive, got {std!r}")
        self.num_classes, self.glimpses, self.size, self.scales = num_classes, glimpses, size, scales
        self.hidden, self.glimpse_units, self.std, self.policy, self.seed = (
            hidden, glimpse_units, float(std), policy, seed)
        self.what = layers.Dense(glimpse_units, activation="relu", name="what")
        self.where = layers.Dense(glimpse_units, activation="relu", name="where")
        self.what_out = layers.Dense(hidden, name="what_out")
        self.where_out = layers.Dense(hidden, name="where_out")
        self.core = layers.LSTMCell(hidden, name="core")
        self.locator = layers.Dense(2, activation="tanh", name="locator")
        self.baseline_net = layers.Dense(1, name="baseline")
        self.classifier = layers.Dense(num_classes, name="classifier")
        self.seed_generator = keras.random.SeedGenerator(seed)
        # Logged by fit as "reward" and "baseline": the mean over the epoch's batches so far
        # of each batch's mean reward and mean baseline (every batch counts equally).
        self.reward_tracker = keras.metrics.Mean(name="reward")
        self.baseline_tracker = keras.metrics.Mean(name="baseline")
        self._trajectory = None

    def build(self, input_shape):
        if len(input_shape) != 4:
            raise ValueError(f"RecurrentAttentionModel expects images (batch, height, width, channels), "
                             f"got {input_shape}")
        self.trace(ops.zeros((1, *input_shape[1:])))  # creates every sub-layer's weights
        self.built = True

    def glimpse_features(self, images, locations, levels=None):
        """g_t = ReLU(W (what) + W' (where)): (batch, H, W, C), (batch, 2) -> (batch, hidden).

        `levels` (optional): the images' retina levels, computed once per episode by
        `trace` so that the glimpses of one episode share them; same result as without.
        """
        if levels is None:
            levels = _retina_levels(images, self.size, self.scales)
        _, height, width, channels = tuple(images.shape)
        retina = _read_retina(levels, locations, height, width, self.size, channels)
        what = self.what(ops.reshape(retina, (ops.shape(retina)[0], -1)))
        where = self.where(locations)
        return ops.relu(self.what_out(what) + self.where_out(where))

    def trace(self, images, training: bool = False):
        """Run the glimpses; return a dict of per-step tensors.

        Keys: ``locations`` (batch, T, 2), ``logits`` (batch, T, classes) read after each
        glimpse, ``log_pi`` (batch, T-1) log-probabilities of the sampled locations,
        ``baselines`` (batch, T-1) predicted rewards.
        """
        batch = ops.shape(images)[0]
        state = [ops.zeros((batch, self.hidden)), ops.zeros((batch, self.hidden))]
        location = ops.zeros((batch, 2))  # the first glimpse: the centre
        levels = _retina_levels(images, self.size, self.scales)  # shared by all glimpses
        locations, logits, log_pi, baselines = [], [], [], []
        for t in range(self.glimpses):
            locations.append(location)
            features = self.glimpse_features(images, location, levels)
            h, state = self.core(features, state, training=training)
            logits.append(self.classifier(h))
            if t == self.glimpses - 1:
                break
            baselines.append(self.baseline_net(ops.stop_gradient(h))[:, 0])
            if self.policy == "random":
                location = keras.random.uniform((batch, 2), -1.0, 1.0, seed=self.seed_generator)
                log_pi.append(ops.zeros((batch,)))
                continue
            mean = self.locator(ops.stop_gradient(h))
            if training:
                noise = keras.random.normal((batch, 2), stddev=self.std, seed=self.seed_generator)
                location = ops.stop_gradient(ops.clip(mean + noise, -1.0, 1.0))
            else:
                location = mean
            log_pi.append(gaussian_log_prob(location, mean, self.std))
        stack = lambda xs: ops.stack(xs, axis=1)  # noqa: E731
        return {"locations": stack(locations), "logits": stack(logits),
                "log_pi": stack(log_pi) if log_pi else ops.zeros((batch, 0)),
                "baselines": stack(baselines) if baselines else ops.zeros((batch, 0))}

    def call(self, images, training: bool = False):
        trajectory = self.trace(images, training=training)
        self._trajectory = trajectory  # read by compute_loss in the same training step
        return trajectory["logits"][:, -1]

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """Hybrid loss: cross-entropy after every glimpse + REINFORCE + baseline regression.

        The reward is 1 if the prediction after the last glimpse is right, else 0; every
        location decision of the episode shares it, each with its own baseline. With
        ``policy="random"`` there is nothing to reinforce: cross-entropy and the baseline's
        regression only. The batch's mean reward and mean baseline update the ``reward``
        and ``baseline`` metrics.
        """
        t = self._trajectory
        y = ops.cast(ops.reshape(y, (-1,)), "int32")
        # ops.tile, not ops.repeat: Keras' PyTorch backend cannot run ops.repeat on its
        # "meta" device, where fit first traces this loss. The trace then falls back to the
        # CPU, where the trajectory stored by `call` on the meta device cannot be used.
        targets = ops.tile(y[:, None], (1, self.glimpses))
        ce = ops.mean(keras.losses.sparse_categorical_crossentropy(targets, t["logits"], from_logits=True))
        correct = ops.cast(ops.equal(ops.cast(ops.argmax(y_pred, axis=-1), "int32"), y), "float32")
        self.reward_tracker.update_state(ops.mean(correct))  # one value per batch
        if self.glimpses == 1:
            return ce
        self.baseline_tracker.update_state(ops.mean(t["baselines"]))
        reward = ops.tile(ops.stop_gradient(correct)[:, None], (1, self.glimpses - 1))
        baseline_loss = ops.mean((reward - t["baselines"]) ** 2)
        if self.policy == "random":  # nothing to reinforce; the baseline is still fitted
            return ce + baseline_loss
        flat = lambda v: ops.reshape(v, (-1,))  # noqa: E731
        policy_loss = reinforce_loss(flat(t["log_pi"]), flat(reward), flat(ops.stop_gradient(t["baselines"])))
        return ce + policy_loss + baseline_loss

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes, "glimpses": self.glimpses,
                "size": self.size, "scales": self.scales, "hidden": self.hidden,
                "glimpse_units": self.glimpse_units, "std": self.std, "policy": self.policy,
                "seed": self.seed}
