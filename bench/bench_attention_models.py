"""Training throughput of Part IV's models next to the modern LeNet of Part I, in one run.

Run: `.venv/bin/python bench/bench_attention_models.py` (options: --help). Each model is
trained with `d2lite.train` for a few epochs on the same number of examples, and its
steady-state speed (`TrainHistory.examples_per_second`: the training passes of epochs 2,
3, ... only) is printed with its ratio to the modern LeNet's, all measured in this one run:

* the modern LeNet (ReLU, max pooling, batch normalisation) on 28x28 Fashion-MNIST;
* the vision transformer of the ViT section (`d2lite.vit.vision_transformer` with the
  section's configuration: patch 7, width 64, 2 blocks, 4 heads, mean pooling) on the
  same images;
* the same ViT with its attention computed by calling ``keras.layers.MultiHeadAttention``
  (whose projections are ``EinsumDense`` layers) instead of the block's matrix products
  on the same weights: what that choice of `d2lite.vit.TransformerEncoderBlock` buys;
* the recurrent attention model (`d2lite.glimpse.RecurrentAttentionModel`, 6 glimpses of
  12x12 at 3 scales) on 60x60 translated MNIST, the paper's task.

A ratio below 1 means slower than LeNet per training example. This is a script, not a
test: timings depend on the machine and its load.
"""

from __future__ import annotations

import argparse

import d2lite
import keras

from d2lite.glimpse import RecurrentAttentionModel
from d2lite.models import lenet
from d2lite import vit
from d2lite.vit import vision_transformer


VIT = dict(patch_size=7, dim=64, depth=2, num_heads=4, mlp_dim=128, pooling="mean")


class KerasAttentionBlock(vit.TransformerEncoderBlock):
    """The encoder block, its attention computed by calling the Keras layer itself."""

    def _self_attention(self, h):
        return self.attention(h, h, return_attention_scores=True)


def keras_attention_vit(**config) -> keras.Model:
    """`vision_transformer` built with `KerasAttentionBlock` (same weights, same outputs)."""
    return vision_transformer(**config, block=KerasAttentionBlock)


def speed(model, data, epochs: int, batch_size: int) -> float:
    history = d2lite.train(model, data, epochs=epochs, batch_size=batch_size,
                           optimizer=keras.optimizers.Adam(1e-3), live=False)
    return history.examples_per_second


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=10_000, help="training examples per epoch")
    parser.add_argument("--epochs", type=int, default=3, help="epochs (the first is not timed)")
    parser.add_argument("--batch-size", type=int, default=128)
    args = parser.parse_args()

    fashion = d2lite.load_fashion_mnist()
    n = args.examples
    small = (fashion.x_train[:n], fashion.y_train[:n], fashion.x_test[:1000], fashion.y_test[:1000])
    train, test = d2lite.cluttered_splits(d2lite.load_mnist(), n, 1000, canvas=60, distractors=0)
    translated = (train.images, train.labels, test.images, test.labels)

    d2lite.set_seed(0)
    rates = {"modern LeNet (28x28)": speed(lenet("relu", "max", True), small, args.epochs, args.batch_size)}
    d2lite.set_seed(0)
    rates["ViT (28x28)"] = speed(vision_transformer(**VIT), small, args.epochs, args.batch_size)
    d2lite.set_seed(0)
    rates["ViT, Keras MHA call (28x28)"] = speed(keras_attention_vit(**VIT), small, args.epochs,
                                                 args.batch_size)
    d2lite.set_seed(0)
    rates["RAM (60x60 translated MNIST)"] = speed(RecurrentAttentionModel(hidden=128, std=0.3), translated,
                                                  args.epochs, args.batch_size)
    base = rates["modern LeNet (28x28)"]
    print(f"training throughput on {d2lite.training.device_name()}, batch {args.batch_size}, "
          f"{n:,} examples per epoch:")
    for name, rate in rates.items():
        print(f"  {name:<30} {rate:9,.0f} examples/s   ratio to LeNet {rate / base:5.2f}")


if __name__ == "__main__":
    main()
