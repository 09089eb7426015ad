"""Anomaly scores per timestep of long real series with labelled anomalies.

``SlidingWindowAnomalyDetector`` (an ``LSTMAutoencoderTransformer`` on sliding
windows, public API only; the autoencoder's defaults unless ``--ours-kwargs``)
against anchors a user would pick, all fitted on the same normal training part
and given the same window:

- ``pca``: PCA(16) fitted on the training windows (flattened, standardised with the
  training part's mean and standard deviation); each window's per-step squared
  reconstruction error, mapped back to time steps like ours (mean over the windows
  that hold the step);
- ``nn``: each window's Euclidean distance to the nearest training window (windows
  that overlap it left out), given to all its steps (mean over the windows that
  hold the step);
- ``zscore``: a rolling z-score, ``|x_t - mean| / std`` of the ``window`` steps
  before t (largest over features);
- ``kmeans``: aeon's ``KMeansAD`` (20 clusters, same window and stride) fitted on
  the training part (needs aeon: run with the benchmark venv).

Series (labels per time step, shipped in the aeon / sktime wheels):

- ``KDD-TSAD_135`` (UCR anomaly archive, InternalBleeding16): 7,501 steps, the first
  1,200 are the archive's normal training part; the anomaly is steps 4187-4198.
  Window 100.
- ``mitdb`` (sktime's copy of an MIT-BIH ECG excerpt): 7,500 steps, anomaly at steps
  6936-7287; the first 3,000 steps serve as the normal training part. Window 300
  (beats are about 300 steps apart).
- ``yahoo`` (sktime's copy of a Yahoo S5 series): 1,000 steps, 7 labelled point
  anomalies from step 431 on; the first 400 steps serve as the training part.
  Window 24.

Research option ``--span``: ours scored from the autoencoder's reconstructions
through the training features' span (the two views ``score_samples`` averages,
their squared errors averaged) instead of ``inverse_transform(transform(.))``; the
same fit, scored both ways (``ours`` and ``ours_span`` records).

Research option ``--novelty``: the same fit also scored with each window's errors
weighed by ``1 + `` its features' novelty (the factor of the autoencoder's
``score_samples``: the distance of the window's pooled features to the span of
the training windows' over its typical value), per step (``nov_step``) and as
the window's mean error (``nov_win``); also the autoencoder's ``score_samples``
of each window given to all its steps (``own_win``) and the plain window error
(``win``). With ``ANOM_SERIES_DUMP=DIR`` the curves are saved there.

Measures: AUROC, AUPRC (average precision) and best F1 (over all thresholds) of the
per-step scores over the whole series (training part included), and the fit's CPU
seconds (1 torch thread).

Usage::

    PYTHONPATH=. benchmarks/.venv/bin/python benchmarks/bench_anomaly_series.py \\
        --seeds 0 1 2 --json benchmarks/out/anomaly_series.json [--plot out.png]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import machine_line, set_threads  # noqa: E402

#: name -> (training steps, window)
SERIES = {"KDD-TSAD_135": (1200, 100), "mitdb": (3000, 300), "yahoo": (400, 24)}
PROTO = False


def aeon_data(*parts: str) -> str:
    """The path of a file shipped in aeon's wheel (``aeon/datasets/data/...``)."""
    import aeon

    return os.path.join(os.path.dirname(aeon.__file__), "datasets", "data", *parts)


def load_series(name: str):
    """(values (T, 1) float32, labels (T,) int, n_train)."""
    import pandas as pd

    if name == "KDD-TSAD_135":
        path = aeon_data("KDD-TSAD_135", "135_UCR_Anomaly_InternalBleeding16_TEST.csv")
        df = pd.read_csv(path)
        x, y = df["value"].to_numpy(), df["is_anomaly"].to_numpy()
    elif name == "mitdb":
        import sktime

        path = os.path.join(
            os.path.dirname(sktime.__file__), "datasets", "data", "mitdb", "mitdb.csv"
        )
        df = pd.read_csv(path)
        x, y = df["data"].to_numpy(), df["label"].to_numpy()
    elif name == "yahoo":
        import sktime

        path = os.path.join(
            os.path.dirname(sktime.__file__), "datasets", "data", "yahoo", "yahoo.csv"
        )
        df = pd.read_csv(path)
        x, y = df["data"].to_numpy(), df["label"].to_numpy()
    else:
        raise ValueError(name)
    return x.astype(np.float32)[:, None], y.astype(int), SERIES[name][0]


def windows_of(x, window, stride):
    from sksequence.anomaly import sliding_windows

    starts = sliding_windows(len(x), window, stride)
    idx = starts[:, None] + np.arange(window)[None, :]
    return x[idx], idx  # (W, w, F), (W, w)


def to_steps(per_step, idx, n):
    """Mean over the windows holding each step of (W, w) per-window-step values."""
    total, count = np.zeros(n), np.zeros(n)
    np.add.at(total, idx.ravel(), per_step.ravel())
    np.add.at(count, idx.ravel(), 1.0)
    return total / count


DETECTOR_KWARGS: dict = {}


def run_ours(x, n_train, window, stride, seed, kwargs):
    from sksequence import LSTMAutoencoderTransformer
    from sksequence.anomaly import SlidingWindowAnomalyDetector

    if PROTO:
        from exp_autoencoder import Prototype

        est = Prototype(random_state=seed, **kwargs)
    else:
        est = LSTMAutoencoderTransformer(random_state=seed, **kwargs)
    det = SlidingWindowAnomalyDetector(
        est,
        window_size=window,
        stride=stride,
        **DETECTOR_KWARGS,
    )
    t0 = time.process_time()
    det.fit(x[None, :n_train])  # one (T, F) series as a 3-D array
    cpu = time.process_time() - t0
    if SPAN:
        plain = -det.score_samples(x[None])[0]
        det._score_one = lambda scaled: _span_score_one(det, scaled)
        return (plain, -det.score_samples(x[None])[0]), cpu
    if NOVELTY:
        plain = -det.score_samples(x[None])[0]
        scaled = (x - det.mean_) / det.scale_
        return (plain, *_novelty_scores(det, scaled)), cpu
    return -det.score_samples(x[None])[0], cpu


SPAN = False
NOVELTY = False


def _novelty_scores(det, scaled):
    """The detector's per-step scores of one standardised series with each
    window's errors weighed by 1 + its features' novelty (the factor of the
    autoencoder's ``score_samples``): its per-step squared errors, and its mean
    squared error given to all its steps."""
    from sksequence.anomaly import _steps

    windows, starts, _ = det._windows(scaled)
    est = det.estimator_
    arrays = est._module_inputs(est._inputs(windows))
    recon = est.inverse_transform(est.transform(windows), n_timesteps=windows.shape[1])
    errors = ((np.asarray(recon, np.float64) - windows) ** 2).mean(axis=2)  # (W, w)
    novelty = est._batched(
        lambda m, **b: m.feature_novelty(
            m.pooled_encoding(b["x"], b.get("lengths"), shares=False)
        ),
        arrays,
        windows.shape[1],
    )
    factor = 1 + np.asarray(novelty, np.float64)[:, None]  # (W, 1)
    window = errors.mean(axis=1, keepdims=True) * np.ones_like(errors)
    # the autoencoder's own anomaly score of each window, given to all its steps
    own = -est.score_samples(windows)[:, None] * np.ones_like(errors)
    out = [
        _steps(e * factor, starts, len(scaled), det.aggregate) for e in (errors, window)
    ]
    out.append(_steps(own, starts, len(scaled), det.aggregate))
    out.append(_steps(window, starts, len(scaled), det.aggregate))
    return tuple(out)


def _span_score_one(det, scaled):
    """The detector's per-step score of one standardised series, each window
    rebuilt through the training features' span (mean of the two views' squared
    errors)."""
    from sksequence.anomaly import _steps

    windows, starts, _ = det._windows(scaled)
    est = det.estimator_
    arrays = est._module_inputs(est._inputs(windows))
    errors = 0.0
    for view in (0, 1):
        recon = est._batched(
            lambda m, view=view, **b: m(**b, span=view)["reconstruction"],
            arrays,
            windows.shape[1],
        )
        errors = errors + ((np.asarray(recon, np.float64) - windows) ** 2).mean(2) / 2
    return -_steps(errors, starts, len(scaled), det.aggregate)


def run_pca(x, n_train, window, stride):
    from sklearn.decomposition import PCA

    mu, sd = x[:n_train].mean(0), x[:n_train].std(0) + 1e-8
    xs = (x - mu) / sd
    Wtr, _ = windows_of(xs[:n_train], window, stride)
    W, idx = windows_of(xs, window, stride)
    t0 = time.process_time()
    pca = PCA(min(16, len(Wtr) - 1)).fit(Wtr.reshape(len(Wtr), -1))
    cpu = time.process_time() - t0
    rec = pca.inverse_transform(pca.transform(W.reshape(len(W), -1))).reshape(W.shape)
    return to_steps(((rec - W) ** 2).mean(2), idx, len(x)), cpu


def run_nn(x, n_train, window, stride):
    mu, sd = x[:n_train].mean(0), x[:n_train].std(0) + 1e-8
    xs = (x - mu) / sd
    Wtr, _ = windows_of(xs[:n_train], window, 1)
    W, idx = windows_of(xs, window, stride)
    a, b = Wtr.reshape(len(Wtr), -1), W.reshape(len(W), -1)
    d = (b**2).sum(1)[:, None] - 2 * b @ a.T + (a**2).sum(1)[None, :]
    # a training window is its own nearest neighbour: leave out those that overlap it
    start_tr = np.arange(len(Wtr))
    start_te = idx[:, 0]
    overlap = np.abs(start_te[:, None] - start_tr[None, :]) < window
    d = np.where(overlap, np.inf, d)
    nearest = np.sqrt(np.maximum(d.min(1), 0))
    return to_steps(np.repeat(nearest[:, None], window, 1), idx, len(x)), 0.0


def run_zscore(x, n_train, window):
    import pandas as pd

    df = pd.DataFrame(x)
    past = df.rolling(window, min_periods=2)
    mean, std = past.mean().shift(1), past.std().shift(1)
    z = ((df - mean).abs() / (std + 1e-8 * df.abs().max())).to_numpy()
    z = np.nan_to_num(z, nan=0.0)
    return z.max(axis=1), 0.0


def run_kmeans(x, n_train, window, stride):
    from aeon.anomaly_detection.series.distance_based import KMeansAD

    det = KMeansAD(n_clusters=20, window_size=window, stride=stride, random_state=0)
    t0 = time.process_time()
    det.fit(x[:n_train].T)  # aeon: (n_channels, n_timepoints)
    cpu = time.process_time() - t0
    return np.asarray(det.predict(x.T), dtype=np.float64), cpu


def measure(scores, y):
    from sklearn.metrics import (
        average_precision_score,
        precision_recall_curve,
        roc_auc_score,
    )

    p, r, _ = precision_recall_curve(y, scores)
    f1 = np.max(2 * p * r / np.maximum(p + r, 1e-12))
    return (
        float(roc_auc_score(y, scores)),
        float(average_precision_score(y, scores)),
        float(f1),
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--series", nargs="+", default=list(SERIES))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument(
        "--window", type=int, nargs="+", default=None, help="default: per series"
    )
    parser.add_argument("--stride", type=int, default=None)
    parser.add_argument(
        "--only", nargs="+", default=["ours", "pca", "nn", "zscore", "kmeans"]
    )
    parser.add_argument(
        "--ours-kwargs", default="{}", help="JSON of LSTMAutoencoderTransformer kwargs"
    )
    parser.add_argument(
        "--detector-kwargs",
        default="{}",
        help="JSON of SlidingWindowAnomalyDetector kwargs (e.g. error, aggregate)",
    )
    parser.add_argument("--json", default=None)
    parser.add_argument("--plot", default=None, help="png of the first series' scores")
    parser.add_argument(
        "--proto",
        action="store_true",
        help="ours: the recipe's prototype (exp_autoencoder.Prototype) instead of the "
        "estimator",
    )
    parser.add_argument("--span", action="store_true", help="see the docstring")
    parser.add_argument("--novelty", action="store_true", help="see the docstring")
    args = parser.parse_args(argv)
    global PROTO, SPAN, NOVELTY
    PROTO = args.proto
    SPAN = args.span
    NOVELTY = args.novelty
    DETECTOR_KWARGS.update(json.loads(args.detector_kwargs))
    set_threads(1)
    kwargs = json.loads(args.ours_kwargs)
    machine = machine_line()
    print(machine, flush=True)
    records, curves = [], {}
    for name in args.series:
        x, y, n_train = load_series(name)
        for window in args.window or [SERIES[name][1]]:
            stride = args.stride or max(1, window // 8)
            for who in args.only:
                for seed in args.seeds if who == "ours" else args.seeds[:1]:
                    if who == "ours":
                        s, cpu = run_ours(x, n_train, window, stride, seed, kwargs)
                    elif who == "pca":
                        s, cpu = run_pca(x, n_train, window, stride)
                    elif who == "nn":
                        s, cpu = run_nn(x, n_train, window, stride)
                    elif who == "zscore":
                        s, cpu = run_zscore(x, n_train, window)
                    else:
                        s, cpu = run_kmeans(x, n_train, window, stride)
                    scored = [(who, s)]
                    if isinstance(s, tuple) and len(s) == 2:  # --span: the same
                        scored = [(who, s[0]), (who + "_span", s[1])]  # fit, both ways
                    elif isinstance(s, tuple):  # --novelty
                        names = (who, "nov_step", "nov_win", "own_win", "win")
                        scored = list(zip(names, s))
                        dump = os.environ.get("ANOM_SERIES_DUMP")
                        if dump:  # the curves, to score combinations offline
                            os.makedirs(dump, exist_ok=True)
                            np.savez(
                                os.path.join(dump, f"{name}_{window}_{seed}.npz"),
                                y=y,
                                n_train=n_train,
                                **dict(zip(names, s)),
                            )
                    for label, s in scored:
                        auroc, auprc, f1 = measure(s, y)
                        curves.setdefault((name, window, label), s)
                        records.append(
                            dict(
                                series=name,
                                window=window,
                                stride=stride,
                                who=label,
                                seed=seed,
                                auroc=auroc,
                                auprc=auprc,
                                f1=f1,
                                cpu=cpu,
                            )
                        )
                        print(
                            f"{name:14s} w={window:4d} {label:5s} seed {seed}: AUROC "
                            f"{auroc:.3f} AUPRC {auprc:.3f} F1 {f1:.3f} "
                            f"fit {cpu:6.1f} s cpu",
                            flush=True,
                        )
                    if args.json:
                        os.makedirs(os.path.dirname(args.json) or ".", exist_ok=True)
                        with open(args.json, "w") as f:
                            json.dump(
                                {
                                    "machine": machine,
                                    "kwargs": kwargs,
                                    "detector_kwargs": DETECTOR_KWARGS,
                                    "records": records,
                                },
                                f,
                                indent=1,
                            )
    print("\n| series | window | contender | AUROC | AUPRC | best F1 | fit s (CPU) |")
    print("|---|---|---|---|---|---|---|")
    keys = dict.fromkeys((r["series"], r["window"], r["who"]) for r in records)
    for key in keys:
        rs = [r for r in records if (r["series"], r["window"], r["who"]) == key]
        m = {k: np.mean([r[k] for r in rs]) for k in ("auroc", "auprc", "f1", "cpu")}
        sd = np.std([r["auroc"] for r in rs]) if len(rs) > 1 else 0.0
        print(
            f"| {key[0]} | {key[1]} | {key[2]} | {m['auroc']:.3f}"
            + (f" ± {sd:.3f}" if len(rs) > 1 else "")
            + f" | {m['auprc']:.3f} | {m['f1']:.3f} | {m['cpu']:.1f} |"
        )
    if args.plot:
        plot(args, curves)


def plot(args, curves):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    name = args.series[0]
    window = (args.window or [SERIES[name][1]])[0]
    x, y, n_train = load_series(name)
    whos = [w for w in args.only if (name, window, w) in curves]
    fig, axes = plt.subplots(
        1 + len(whos), 1, figsize=(10, 2 + 1.6 * len(whos)), sharex=True
    )
    axes[0].plot(x[:, 0], lw=0.6)
    axes[0].axvspan(0, n_train, color="0.9", label="training part")
    for a in np.flatnonzero(np.diff(np.r_[0, y, 0]) == 1):
        end = a + np.flatnonzero(y[a:] == 0)[0] if (y[a:] == 0).any() else len(y)
        for ax in axes:
            ax.axvspan(a, end, color="red", alpha=0.3)
    axes[0].set_title(f"{name}: series (anomaly in red)")
    for ax, who in zip(axes[1:], whos):
        ax.plot(curves[(name, window, who)], lw=0.8)
        ax.set_ylabel(who)
    fig.tight_layout()
    fig.savefig(args.plot, dpi=100)


if __name__ == "__main__":
    main()
