"""The RAM on the cluttered Fashion-MNIST scenes of Part III: an experiment too long for
the chapter's time budget (about five minutes on a 2-core CPU).

Run: `.venv/bin/python bench/ram_cluttered_fashion.py` (options: --help). It trains the
recurrent attention model of the RAM section (6 glimpses of 12x12 at 2 scales, an LSTM of
128) twice, with the learned policy and with random locations, along one curriculum:

1. 60x60 translated MNIST (the section's main task, from scratch);
2. translated Fashion-MNIST items (no distractors), continuing from stage 1;
3. the cluttered Fashion-MNIST scenes of the attention-pooling section (8 distractors of
   9x9), continuing from stage 2.

Each Fashion stage gets its own Adam with a cosine decay from 3e-3. On the cluttered
scenes the learned policy's lead over random locations is small and not robust at this
budget: in trials it ranged from under one point to a few points with the batch size and
the schedule (try --batch 128). The script prints the
test accuracy of both after each stage, with the learned policy's lead in points, all
measured in this one run. Trained from scratch on the cluttered scenes, or
moved there straight from MNIST, the learned policy does no better than random locations
(the reward is almost always 0 while the classifier still guesses; see the section's
curriculum on cluttered MNIST): the translated Fashion stage is what makes the
difference. Compare with the attention-pooling CNN's accuracy on the same scenes in that
section. A script, not a test: it asserts nothing and its times depend on the machine.
"""

from __future__ import annotations

import argparse
import time

import d2lite
from d2lite.glimpse import RecurrentAttentionModel

SIZE, SCALES, GLIMPSES, HIDDEN, STD, BATCH = 12, 2, 6, 128, 0.2, 256


def make_ram(policy: str) -> RecurrentAttentionModel:
    d2lite.set_seed(0)
    model = RecurrentAttentionModel(10, glimpses=GLIMPSES, size=SIZE, scales=SCALES,
                                    hidden=HIDDEN, std=STD, policy=policy)
    model.build((None, 60, 60, 1))
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mnist", type=int, default=30_000, help="translated MNIST scenes")
    parser.add_argument("--fashion", type=int, default=20_000,
                        help="Fashion-MNIST scenes per stage (translated, then cluttered)")
    parser.add_argument("--epochs", type=int, default=2, help="epochs per Fashion stage")
    parser.add_argument("--batch", type=int, default=256, help="batch size of the Fashion stages")
    parser.add_argument("--test", type=int, default=2_000, help="test scenes per task")
    args = parser.parse_args()

    mnist, fashion = d2lite.load_mnist(), d2lite.load_fashion_mnist()
    tasks = {
        "translated MNIST": d2lite.cluttered_splits(mnist, args.mnist, args.test, canvas=60,
                                                    distractors=0, seed=0),
        "translated Fashion": d2lite.cluttered_splits(fashion, args.fashion, args.test,
                                                      canvas=60, distractors=0, seed=2),
        "cluttered Fashion": d2lite.cluttered_splits(fashion, args.fashion, args.test,
                                                     canvas=60, distractors=8, patch=9,
                                                     seed=3),
    }
    results = {}
    for policy in ("learned", "random"):
        model = make_ram(policy)
        for stage, (train, test) in tasks.items():
            data = (train.images, train.labels, test.images, test.labels)
            start = time.perf_counter()
            if stage == "translated MNIST":
                opt = d2lite.models.adam_cosine(6, BATCH, args.mnist, lr=8e-3)
                hist = d2lite.train(model, data, epochs=6, batch_size=BATCH, optimizer=opt,
                                    live=False)
            else:
                opt = d2lite.models.adam_cosine(args.epochs, args.batch, args.fashion, lr=3e-3)
                hist = d2lite.train(model, data, epochs=args.epochs, batch_size=args.batch,
                                    optimizer=opt, live=False)
            results[policy, stage] = hist.test_accuracy[-1]
            print(f"{policy:8s} {stage:19s} test accuracy {hist.test_accuracy[-1]:.3f} "
                  f"({time.perf_counter() - start:.0f} s)", flush=True)
    for stage in tasks:
        lead = 100 * (results["learned", stage] - results["random", stage])
        print(f"{stage:19s} learned {results['learned', stage]:.3f}, random "
              f"{results['random', stage]:.3f}: lead {lead:+.1f} points")


if __name__ == "__main__":
    main()
