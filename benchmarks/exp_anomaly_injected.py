"""Research check (issue 11, item 3): the detector's defaults against kinds of
anomaly injected into real series that hold none.

The labelled series of ``bench_anomaly_series.py`` are three, each with one
kind of anomaly. Here the normal parts of real series get anomalies of five
kinds injected at random places after the training part (``--kinds``), up to
five of one kind per run (apart by half a window at least), and each contender scores every step; AUROC over the
steps after the training part (the injected steps are the positives; with
``--metric auroc_buf``, without the normal steps within a window of an
anomaly, which the windows straddling its edges score as anomalous):

- ``spike``: one step moved by 5 training standard deviations (either sign);
- ``level``: a stretch of two windows shifted by 2 standard deviations (longer
  than a window: what centred windows cannot see inside it);
- ``noise``: half a window with Gaussian noise of 1 standard deviation added;
- ``flat``: half a window held at its first value;
- ``speed``: a window's worth of the series played at double speed (the
  pattern's shape changes, its level does not).

Series (none has labelled anomalies in the stretch used; the first 40% train):
``ecg`` (the MIT-BIH excerpt of ``bench_anomaly_series.py`` before its
anomaly, window 300), ``bleeding`` (KDD-TSAD_135 before its anomaly, window
100), ``daphnet`` (aeon's Daphnet excerpt, 9 accelerometer channels, window
64), ``co2`` (statsmodels' weekly Mauna Loa CO2, gaps interpolated, window
104: a trend with a season).

Contenders: ``auto`` (the detector's defaults: ``error="auto"``, centred
windows), ``step_raw`` (the former defaults: ``error="step"``,
``center_windows=False``), ``auto_raw`` (``error="auto"`` on uncentred
windows), and the anchors ``pca``, ``nn`` and ``zscore`` of
``bench_anomaly_series.py``.

    PYTHONPATH=.:benchmarks OMP_NUM_THREADS=1 benchmarks/.venv/bin/python \\
        benchmarks/exp_anomaly_injected.py --series ecg bleeding --json out.jsonl
    benchmarks/.venv/bin/python benchmarks/exp_anomaly_injected.py --table out.jsonl
"""

import argparse
import collections
import json
import time

import numpy as np
from _common import emit
from bench_anomaly_series import aeon_data, load_series, run_nn, run_pca, run_zscore
from sklearn.metrics import roc_auc_score

WINDOWS = {"ecg": 300, "bleeding": 100, "daphnet": 64, "co2": 104}
KINDS = ("spike", "level", "noise", "flat", "speed")
CONTENDERS = {
    "auto": {},
    "step_raw": {"error": "step", "center_windows": False},
    "auto_raw": {"center_windows": False},
}


def normal_series(name: str) -> np.ndarray:
    """(T, F) float64: a stretch of a real series without labelled anomalies."""
    import pandas as pd

    if name == "ecg":
        x, y, _ = load_series("mitdb")
        return x[: np.flatnonzero(y)[0] - 300].astype(np.float64)
    if name == "bleeding":
        x, y, _ = load_series("KDD-TSAD_135")
        return x[: np.flatnonzero(y)[0] - 100].astype(np.float64)
    if name == "daphnet":
        df = pd.read_csv(aeon_data("Daphnet_S06R02E0", "S06R02E0.csv"))
        return df.drop(columns=["timestamp", "is_anomaly"]).to_numpy(np.float64)
    if name == "co2":
        import statsmodels.api as sm

        co2 = sm.datasets.co2.load_pandas().data["co2"].interpolate()
        return co2.to_numpy(np.float64)[:, None]
    raise ValueError(name)


def inject(x: np.ndarray, kind: str, window: int, n_train: int, rng):
    """``x`` with 5 anomalies of ``kind`` after ``n_train``, and the labels."""
    x, labels = x.copy(), np.zeros(len(x), dtype=int)
    sd = x[:n_train].std(axis=0)
    length = {"spike": 1, "level": 2 * window, "noise": window // 2}
    length = length.get(kind, window // 2 if kind == "flat" else window)
    free = np.ones(len(x), dtype=bool)
    free[: n_train + window] = False
    free[len(x) - length - window :] = False
    for _ in range(5):  # (fewer where five do not fit)
        if not free.any():
            break
        start = rng.choice(np.flatnonzero(free))
        seg = slice(start, start + length)
        if kind == "spike":
            x[start] += rng.choice([-1, 1]) * 5 * sd
        elif kind == "level":
            x[seg] += 2 * sd
        elif kind == "noise":
            x[seg] += rng.normal(size=(length, x.shape[1])) * sd
        elif kind == "flat":
            x[seg] = x[start]
        else:  # double speed: the next 2 * length steps squeezed into length
            src = x[start : start + 2 * length : 2]
            x[start : start + len(src)] = src
        labels[seg] = 1
        free[max(0, start - length - window // 2) : start + length + window // 2] = (
            False
        )
    return x, labels


def run(name: str, kind: str, seed: int, contenders=(*CONTENDERS, "anchors")) -> list:
    from sksequence import LSTMAutoencoderTransformer, SlidingWindowAnomalyDetector

    window = WINDOWS[name]
    base = normal_series(name)
    n_train = int(0.4 * len(base))
    x, labels = inject(base, kind, window, n_train, np.random.default_rng(seed))
    stride = max(1, window // 8)
    out, thresholds = [], {}
    for who, kw in ((w, CONTENDERS[w]) for w in contenders if w in CONTENDERS):
        det = SlidingWindowAnomalyDetector(
            LSTMAutoencoderTransformer(random_state=seed),
            window_size=window,
            stride=stride,
            **kw,
        )
        start = time.process_time()
        det.fit(x[None, :n_train])
        cpu = time.process_time() - start
        out.append((who, -det.score_samples(x[None])[0], cpu))
        thresholds[who] = -det.offset_
    if "anchors" in contenders:
        for who, fn in (("pca", run_pca), ("nn", run_nn)):
            out.append((who, fn(x, n_train, window, stride)[0], 0.0))
        out.append(("zscore", run_zscore(x, n_train, window)[0], 0.0))
    # "auroc_buf": without the normal steps within a window of an anomaly,
    # onto which the windows that straddle its edges smear its score
    near = np.convolve(labels, np.ones(2 * window + 1), mode="same") > 0
    keep = (~near | (labels == 1))[n_train:]
    lab = labels[n_train:]
    return [
        dict(
            series=name,
            kind=kind,
            seed=seed,
            who=who,
            auroc=float(roc_auc_score(lab, s[n_train:])),
            auroc_buf=float(roc_auc_score(lab[keep], s[n_train:][keep])),
            fit_cpu_s=round(cpu, 1),
            # at the detector's own threshold (predict): the shares of the
            # anomalous steps and of the normal steps away from them flagged
            **(
                {}
                if who not in thresholds
                else dict(
                    recall=float((s[n_train:][lab == 1] > thresholds[who]).mean()),
                    fpr=float((s[n_train:][~near[n_train:]] > thresholds[who]).mean()),
                )
            ),
        )
        for who, s, cpu in out
    ]


def table(paths, metric="auroc") -> None:
    rows = [json.loads(line) for p in paths for line in open(p)]
    rows = [r for r in rows if metric in r]
    res = collections.defaultdict(list)
    for r in rows:
        res[(r["kind"], r["series"], r["who"])].append(r[metric])
    whos = list(dict.fromkeys(r["who"] for r in rows))
    series = list(dict.fromkeys(r["series"] for r in rows))
    print("| kind | series | " + " | ".join(whos) + " |")
    print("|---" * (len(whos) + 2) + "|")
    means = collections.defaultdict(list)
    for kind in KINDS:
        for s in series:
            if (kind, s, whos[0]) not in res:
                continue
            cells = [np.mean(res[(kind, s, w)]) for w in whos]
            for w, c in zip(whos, cells):
                means[(kind, w)].append(c)
            best = max(cells)
            print(
                f"| {kind} | {s} | "
                + " | ".join(
                    f"**{c:.3f}**" if c >= best - 1e-9 else f"{c:.3f}" for c in cells
                )
                + " |"
            )
        if means[(kind, whos[0])]:
            print(
                f"| {kind} | mean | "
                + " | ".join(f"{np.mean(means[(kind, w)]):.3f}" for w in whos)
                + " |"
            )
    allm = [
        np.mean([v for (k, w2), vs in means.items() if w2 == w for v in vs])
        for w in whos
    ]
    print("| all | mean | " + " | ".join(f"{m:.3f}" for m in allm) + " |")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--series", nargs="+", default=list(WINDOWS))
    ap.add_argument("--kinds", nargs="+", default=list(KINDS))
    ap.add_argument("--seeds", nargs="+", type=int, default=[0])
    ap.add_argument("--contenders", nargs="+", default=list(CONTENDERS) + ["anchors"])
    ap.add_argument("--json", default=None)
    ap.add_argument("--table", nargs="+", default=None)
    ap.add_argument(
        "--metric",
        default="auroc",
        choices=["auroc", "auroc_buf", "recall", "fpr"],
        help="--table: AUROC over every step after the training part, or "
        "without the normal steps within a window of an anomaly; the shares "
        "of anomalous and of normal steps (away from them) that predict flags",
    )
    args = ap.parse_args()
    if args.table:
        return table(args.table, args.metric)
    import torch

    torch.set_num_threads(1)
    for name in args.series:
        for kind in args.kinds:
            for seed in args.seeds:
                for rec in run(name, kind, seed, args.contenders):
                    emit(rec, args.json)


if __name__ == "__main__":
    main()
