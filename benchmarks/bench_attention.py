"""Attention comparison: Seq2SeqClassifier on the "first two integers" problem.

The problem of the classic Keras attention tutorial: an input of 5 random integers in
0..49 (one-hot, 50 features) maps to its first 2 integers followed by 3 zeros. Each
model sees 5,000 training sequences one at a time (batch size 1, one pass), with 150
units, then decodes 1,000 fresh sequences; a sequence counts only if all 5 steps are
right. The tutorial's Keras results (mean of 10 runs): 23.1% without attention, 95.7%
with its attention decoder.

Every kind runs ``--repeats`` times (repeat ``r`` uses data seed ``r`` and
``random_state=r``); the script reports mean and min-max exact-sequence accuracy per
kind and plots the mean training-loss curve (the per-sequence loss, averaged over
windows of 100 sequences and over the repeats), the tutorial's suggested extension.

Results are appended to a JSON file, so kinds can run in separate invocations (each
is a few minutes); the table and the plot always cover everything in the file.

Usage (from the repository root)::

    python benchmarks/bench_attention.py --kinds none direct general --repeats 5
    python benchmarks/bench_attention.py --kinds dot concat location bahdanau
    python benchmarks/bench_attention.py --report-only
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import machine_line, markdown_table, set_threads  # noqa: E402

from sksequence import Seq2SeqClassifier  # noqa: E402

N_TRAIN, N_TEST, N_IN, CARD, HIDDEN, WINDOW = 5_000, 1_000, 5, 50, 150, 100
HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_JSON = os.path.join(HERE, "out", "attention.json")

# kind name -> estimator parameters
KINDS = {
    "none": dict(attention=None),
    "direct": dict(attention=None, decoder="direct"),
    "dot": dict(attention="dot"),
    "general": dict(attention="general"),
    "concat": dict(attention="concat"),
    "location": dict(attention="location"),
    "bahdanau": dict(attention="bahdanau"),
    "general+feeding": dict(attention="general", input_feeding=True),
}
LABELS = {
    "none": "no attention (recursive decoder)",
    "direct": "no attention (direct, RepeatVector: the tutorial's baseline)",
    "general+feeding": "general + input feeding",
}


def make_data(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    src = rng.integers(0, CARD, size=(n, N_IN))
    y = np.zeros_like(src)
    y[:, :2] = src[:, :2]
    return np.eye(CARD, dtype=np.float32)[src], y


def run(kind: str, repeat: int) -> dict:
    X, y = make_data(N_TRAIN, seed=repeat)
    X_test, y_test = make_data(N_TEST, seed=10_000 + repeat)
    clf = Seq2SeqClassifier(
        hidden_size=HIDDEN,
        batch_size=1,
        max_epochs=1,
        random_state=repeat,
        **KINDS[kind],
    )
    start = time.perf_counter()
    clf.fit(X, y)
    seconds = time.perf_counter() - start
    losses = np.array(clf.history_[-1, "batches", :, "train_loss"])
    curve = losses[: len(losses) // WINDOW * WINDOW].reshape(-1, WINDOW).mean(axis=1)
    return {
        "kind": kind,
        "repeat": repeat,
        "accuracy": float(clf.score(X_test, y_test)),
        "fit_seconds": seconds,
        "loss_curve": curve.tolist(),
    }


def report(results: list[dict], plot_path: str | None) -> str:
    rows = []
    kinds = [k for k in KINDS if any(r["kind"] == k for r in results)]
    for kind in kinds:
        rs = [r for r in results if r["kind"] == kind]
        acc = np.array([r["accuracy"] for r in rs])
        fit = np.array([r["fit_seconds"] for r in rs])
        rows.append(
            [
                LABELS.get(kind, kind),
                len(rs),
                f"{100 * acc.mean():.1f}%",
                f"{100 * acc.min():.1f}-{100 * acc.max():.1f}%",
                f"{np.median(fit):.0f}",
            ]
        )
    table = markdown_table(
        ["attention", "runs", "mean exact-seq acc", "min-max", "fit s (median)"], rows
    )
    if plot_path:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(8, 5))
        for kind in kinds:
            curves = np.array([r["loss_curve"] for r in results if r["kind"] == kind])
            seen = (np.arange(curves.shape[1]) + 1) * WINDOW
            ax.plot(seen, curves.mean(axis=0), label=LABELS.get(kind, kind))
        ax.set_xlabel("training sequences seen (batch size 1)")
        ax.set_ylabel(f"training loss (mean of {WINDOW} sequences, over runs)")
        ax.set_yscale("log")
        ax.set_title("Seq2SeqClassifier: first two integers, 150 units")
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(plot_path, dpi=120)
    return table


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kinds", nargs="*", default=list(KINDS), choices=list(KINDS))
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", default=DEFAULT_JSON)
    parser.add_argument("--plot", default=os.path.join(HERE, "out", "attention.png"))
    parser.add_argument("--report-only", action="store_true")
    args = parser.parse_args(argv)
    set_threads(args.threads)
    os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
    results = []
    if os.path.exists(args.json):
        with open(args.json) as fh:
            results = json.load(fh)["results"]
    if not args.report_only:
        print(machine_line())
        for kind in args.kinds:
            for repeat in range(args.repeats):
                res = run(kind, repeat)
                print(
                    f"  {kind:<16s} run {repeat}: accuracy {res['accuracy']:.3f}, "
                    f"fit {res['fit_seconds']:.0f} s",
                    flush=True,
                )
                results = [
                    r
                    for r in results
                    if (r["kind"], r["repeat"]) != (res["kind"], res["repeat"])
                ]
                results.append(res)
                with open(args.json, "w") as fh:
                    json.dump({"machine": machine_line(), "results": results}, fh)
    print(report(results, args.plot))
    if args.plot:
        print(f"plot: {args.plot}")


if __name__ == "__main__":
    main()
