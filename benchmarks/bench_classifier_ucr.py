"""SequenceClassifier on UCR/UEA archive problems, next to the classic baselines.

Per problem, on the archive's own train/test split: test accuracy and fit time of

- ``ours``: ``SequenceClassifier(random_state=seed)``, the package defaults;
- ``lstm``: a plain one-layer LSTM classifier on its last hidden state, the way most
  tutorials write it (hidden 64, Adam lr 1e-3, batch 32, 100 epochs, raw input);
- ``dtw``: 1-nearest-neighbour with full-window DTW (aeon);
- ``rocket``: ROCKET, 10,000 kernels + ridge (aeon). ROCKET needs equal-length
  series: on a variable-length problem it runs on the archive's padded ``_eq``
  version (marked with *).

The data sets are the ones bundled inside the aeon wheel (no download). aeon is a
benchmark-only dependency: ``pip install -r benchmarks/requirements-bench.txt`` in a
separate environment (see ``benchmarks/RESULTS.md``).

Usage::

    python benchmarks/bench_classifier_ucr.py --seeds 0 1 2 --json benchmarks/out/ucr.json
    python benchmarks/bench_classifier_ucr.py --problems GunPoint --only ours lstm
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import machine_line, set_threads  # noqa: E402

PROBLEMS = [
    "GunPoint",
    "ArrowHead",
    "ItalyPowerDemand",
    "OSULeaf",
    "ACSF1",
    "BasicMotions",
    "JapaneseVowels",
    "PickupGestureWiimoteZ",
]
CONTENDERS = ["ours", "lstm", "dtw", "rocket"]


def load(name: str, split: str):
    from aeon.datasets import load_classification

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_classification(name, split=split)


def to_sksequence(X):
    """aeon's (n_cases, n_channels, n_timepoints) or list of (n_channels, T_i) ->
    sksequence's (n_samples, n_timesteps, n_features) or list of (T_i, n_features)."""
    if isinstance(X, list):
        return [np.asarray(x, dtype=np.float32).T for x in X]
    return np.ascontiguousarray(np.transpose(X, (0, 2, 1)), dtype=np.float32)


def describe(X) -> str:
    if isinstance(X, list):
        lengths = [x.shape[-1] for x in X]
        return f"{len(X)} x {min(lengths)}..{max(lengths)} x {X[0].shape[0]}"
    return f"{X.shape[0]} x {X.shape[2]} x {X.shape[1]}"


def make_ours(seed):
    from sksequence import SequenceClassifier

    return SequenceClassifier(random_state=seed)


def make_lstm(seed):
    from sksequence import SequenceClassifier

    return SequenceClassifier(
        conv_channels=None,
        pooling="last",
        bidirectional=False,
        scaling="none",
        hidden_size=64,
        optimizer="adam",
        lr=1e-3,
        weight_decay=0.0,
        lr_schedule="constant",
        batch_size=32,
        max_epochs=100,
        n_iter_no_change=100,
        random_state=seed,
    )


class Timer:
    """Wall time and process CPU time of a block. On a shared machine the wall time
    includes waiting for a core; with one torch thread the CPU time does not."""

    def __enter__(self):
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self.wall
        self.cpu = time.process_time() - self.cpu


def run_torch(make, seed, Xtr, ytr, Xte, yte, threads=1):
    import torch

    # aeon's numba/threadpool code can change the OpenMP pool size: pin it again.
    torch.set_num_threads(threads)
    est = make(seed)
    Xtr, Xte = to_sksequence(Xtr), to_sksequence(Xte)
    with Timer() as t:
        est.fit(Xtr, ytr)
    acc = float(np.mean(est.predict(Xte) == yte))
    return acc, t, ""


def run_dtw(name, seed):
    from aeon.classification.distance_based import KNeighborsTimeSeriesClassifier

    Xtr, ytr = load(name, "train")
    Xte, yte = load(name, "test")
    with Timer() as t:
        est = KNeighborsTimeSeriesClassifier(distance="dtw").fit(Xtr, ytr)
        pred = est.predict(Xte)  # the work of 1-NN is in predict: time both
    return float(np.mean(pred == yte)), t, ""


def run_rocket(name, seed):
    from aeon.classification.convolution_based import RocketClassifier

    Xtr, ytr = load(name, "train")
    note = ""
    if isinstance(Xtr, list):
        name, note = name + "_eq", "*"
        Xtr, ytr = load(name, "train")
    Xte, yte = load(name, "test")
    with Timer() as t:
        est = RocketClassifier(n_kernels=10000, random_state=seed).fit(Xtr, ytr)
    return float(np.mean(est.predict(Xte) == yte)), t, note


def fmt(values, digits=3):
    if not values:
        return "-"
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    return f"{statistics.mean(values):.{digits}f} ({min(values):.{digits}f}-" + (
        f"{max(values):.{digits}f})"
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--problems", nargs="+", default=PROBLEMS)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--only", nargs="+", default=CONTENDERS, choices=CONTENDERS)
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads (default 1: CPU time "
        "is then a steady measure on a shared machine)",
    )
    parser.add_argument("--json", default=None, help="write the raw results here")
    parser.add_argument(
        "--table-from",
        nargs="+",
        default=None,
        metavar="JSON",
        help="run nothing: print the table of these result files (written by "
        "--json, e.g. by runs of different contenders), merged per problem",
    )
    args = parser.parse_args(argv)
    if args.table_from:
        results = {}
        for path in args.table_from:
            with open(path) as f:
                for name, res in json.load(f)["results"].items():
                    results.setdefault(name, {}).update(res)
        only = [w for w in CONTENDERS if any(w in r for r in results.values())]
        print_table(results, only)
        return

    set_threads(args.threads)
    print(machine_line(), flush=True)
    results = {}
    for name in args.problems:
        Xtr, ytr = load(name, "train")
        Xte, yte = load(name, "test")
        res = {"shape": describe(Xtr), "n_test": len(yte), "n_classes": len(set(ytr))}
        for who in args.only:
            accs, fits, cpus, note = [], [], [], ""
            # 1-NN DTW is deterministic: one run is enough.
            seeds = args.seeds[:1] if who == "dtw" else args.seeds
            for seed in seeds:
                if who == "ours":
                    acc, t, note = run_torch(
                        make_ours, seed, Xtr, ytr, Xte, yte, args.threads
                    )
                elif who == "lstm":
                    acc, t, note = run_torch(
                        make_lstm, seed, Xtr, ytr, Xte, yte, args.threads
                    )
                elif who == "dtw":
                    acc, t, note = run_dtw(name, seed)
                else:
                    acc, t, note = run_rocket(name, seed)
                accs.append(acc)
                fits.append(t.wall)
                cpus.append(t.cpu)
                print(
                    f"{name:22s} {who:6s} seed {seed}: acc {acc:.3f}  fit {t.wall:6.1f} "
                    f"s wall, {t.cpu:6.1f} s cpu",
                    flush=True,
                )
            res[who] = {"acc": accs, "fit_s": fits, "cpu_s": cpus, "note": note}
        results[name] = res
        if args.json:
            with open(args.json, "w") as f:
                json.dump({"machine": machine_line(), "results": results}, f, indent=1)

    print_table(results, args.only)


def print_table(results: dict, only: list) -> None:
    """Markdown table: accuracy (mean (min-max) over seeds) and mean fit time."""
    header = "| problem | train (n x T x F) | " + " | ".join(f"{w} acc" for w in only)
    header += " | " + " | ".join(f"{w} fit s (wall / cpu)" for w in only) + " |"
    print()
    print(header)
    print("|" + "---|" * (2 + 2 * len(only)))
    for name, res in results.items():
        accs = [fmt(res[w]["acc"]) + res[w]["note"] if w in res else "-" for w in only]
        fits = [
            f"{statistics.mean(res[w]['fit_s']):.1f} / "
            f"{statistics.mean(res[w]['cpu_s']):.1f}"
            if w in res
            else "-"
            for w in only
        ]
        print(f"| {name} | {res['shape']} | " + " | ".join(accs + fits) + " |")


if __name__ == "__main__":
    main()
