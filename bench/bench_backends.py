"""Train the classic and the modern LeNet for the same steps on TensorFlow, JAX and PyTorch.

Run: `.venv/bin/python bench/bench_backends.py` (options: --help; a backend that is not
installed is reported and skipped: `make install EXTRAS=dev,jax,torch` installs all three).

Keras picks its backend once per process, so each backend trains in a process of its own,
one after the other (never two at once: they would share the cores). Each process trains
both models with `d2lite.train` on the same first examples of the real Fashion-MNIST, with
the same seed, batch size and epochs, and reports `TrainHistory.examples_per_second`: the
training passes of epochs 2, 3, ... only, so that compilation and tracing (paid once, in
epoch 1) are left out, as is the test-set evaluation. The table gives examples/s and the
ratio to TensorFlow's, all measured in this one run.

This is a script, not a test: timings depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path

BACKENDS = ("tensorflow", "jax", "torch")
MODELS = ("classic LeNet", "modern LeNet")


def worker(examples: int, epochs: int, batch_size: int) -> None:
    """Runs in the child process, with KERAS_BACKEND already set: prints one JSON line."""
    import d2lite
    import keras
    from d2lite.models import lenet

    splits = d2lite.load_fashion_mnist()
    data = (splits.x_train[:examples], splits.y_train[:examples], splits.x_test[:1000], splits.y_test[:1000])
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    settings = {
        "classic LeNet": ({}, lambda: keras.optimizers.SGD(0.1, momentum=0.9)),
        "modern LeNet": (dict(activation="relu", pooling="max", batch_norm=True), keras.optimizers.Adam),
    }
    result = {"keras": keras.__version__}
    for name in MODELS:
        kwargs, optimizer = settings[name]
        d2lite.set_seed(0)
        hist = d2lite.train(lenet(**kwargs), data, epochs=epochs, batch_size=batch_size,
                            optimizer=optimizer(), loss=loss, live=False)
        result["device"] = hist.device
        result[name] = {"examples_per_second": hist.examples_per_second,
                        "epoch_seconds": [round(s, 2) for s in hist.train_seconds],
                        "test_accuracy": float(hist.test_accuracy[-1])}
    print("RESULT " + json.dumps(result))


def run_backend(backend: str, args) -> dict | None:
    if importlib.util.find_spec(backend) is None:  # each backend is named as its package
        print(f"   {backend}: not installed, skipped")
        return None
    env = {**os.environ, "KERAS_BACKEND": backend}
    cmd = [sys.executable, __file__, "--worker", "--examples", str(args.examples),
           "--epochs", str(args.epochs), "--batch-size", str(args.batch_size)]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True)
    lines = [line for line in out.stdout.splitlines() if line.startswith("RESULT ")]
    if out.returncode != 0 or not lines:
        print(f"   {backend}: failed\n{out.stderr[-2000:]}")
        return None
    return json.loads(lines[-1][len("RESULT "):])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=12_800, help="training examples per epoch")
    parser.add_argument("--epochs", type=int, default=3, help="epochs (the first is not timed)")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--backends", default=",".join(BACKENDS), help="comma-separated")
    parser.add_argument("--save", action="store_true",
                        help="also write the results to bench/results/backends.json (the status page shows them)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.examples, args.epochs, args.batch_size)
        return

    print(f"Training speed by Keras backend: {args.examples:,} Fashion-MNIST examples per epoch, "
          f"batch {args.batch_size}, epochs 2..{args.epochs} timed, {os.cpu_count()} CPU cores\n")
    results = {b: r for b in args.backends.split(",") if (r := run_backend(b, args)) is not None}
    if not results:
        return
    reference = results.get("tensorflow")
    print(f"   {'backend':11s} {'device':24s}" + "".join(f"{m + ' (ex/s)':>22s}{'vs TF':>7s}" for m in MODELS))
    for backend, r in results.items():
        row = f"   {backend:11s} {r['device'][:24]:24s}"
        for m in MODELS:
            rate = r[m]["examples_per_second"]
            ratio = f"{rate / reference[m]['examples_per_second']:.2f}" if reference else "-"
            row += f"{rate:22,.0f}{ratio:>7s}"
        print(row)
    if args.save:
        out = Path(__file__).resolve().parent / "results" / "backends.json"
        out.parent.mkdir(exist_ok=True)
        record = {"date": time.strftime("%Y-%m-%d"), "examples": args.examples, "epochs": args.epochs,
                  "batch_size": args.batch_size, "cpu_cores": os.cpu_count(), "results": results}
        out.write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")
        print(f"   wrote {out}")
    print("\n   epoch seconds (epoch 1 includes compilation) and test accuracy on 1,000 images:")
    for backend, r in results.items():
        for m in MODELS:
            print(f"   {backend:11s} {m:14s} {r[m]['epoch_seconds']}  accuracy {r[m]['test_accuracy']:.3f}")


if __name__ == "__main__":
    main()
