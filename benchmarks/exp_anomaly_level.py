"""Research screen (issue 11, item 3): a level part for the detector's centred
windows, so that a stretch at a wrong level longer than a window shows.

``exp_anomaly_injected.py`` found that centred windows (the default) miss level
shifts longer than a window (AUROC 0.68 against 0.85 uncentred). This script
fits the default detector once per series and seed on the training part (the
same as ``exp_anomaly_injected.py``: its injections leave the training part
alone, so one fit serves every kind), scores the five injected kinds, and
saves, per kind, the detector's two parts ("step", "score"), the labels and
every window's mean (standardised units), plus the training windows' means
(``--fit``). ``--table`` then scores, offline, level parts computed from the
saved means, combined with the detector's parts by the same rule (each over
its 99th percentile on the training steps, the larger one):

- ``auto``: the detector as it is (reproduces ``exp_anomaly_injected.py``);
- ``lvl``: the window's mean per feature against the training windows'
  means (its distance to their median, over their standard deviation, RMS
  over features), given to the window's steps;
- ``lvl_gate``: ``lvl`` only where the training part's level is stationary:
  the training windows' means of its last third lie inside the range of its
  first two thirds' (see ``stationary``);
- ``lvl_lo1``, ``lvl_lo4``: ``lvl`` with its scale from each training
  window's distance to the training windows that start at least 1 or 4
  window lengths away (``lvl_lo4`` is what the detector adopted);
- with ``--detrend`` (fits saved apart): the detector whose windows also lose
  their least-squares line, and ``lvl_slope_lo4``, a slope part built as
  ``lvl_lo4`` from each window's slope.

``--metric``: ``auroc`` (every step after the training part), ``buf`` (without
the normal steps within a window of an anomaly), ``recall`` and ``fpr`` (the
shares of anomalous and of normal steps, those more than a window from an
anomaly, above the detector's threshold, ``contamination="auto"``).

    PYTHONPATH=.:benchmarks OMP_NUM_THREADS=1 benchmarks/.venv/bin/python \\
        benchmarks/exp_anomaly_level.py --fit --series ecg co2 --seeds 0
    benchmarks/.venv/bin/python benchmarks/exp_anomaly_level.py --table
"""

import argparse
import collections
import glob
import os

import numpy as np
from exp_anomaly_injected import KINDS, WINDOWS, inject, normal_series
from sklearn.metrics import roc_auc_score

OUT = "benchmarks/out/exp/level"
METRIC = "auroc"


def _unit_ramp(w: int) -> np.ndarray:
    t = np.arange(w) - (w - 1) / 2
    return t / np.sqrt((t**2).sum())


def detrended_detector(**kw):
    """``--detrend``: the detector whose windows also lose their least-squares
    line (per feature) before the autoencoder reads them (a working-copy
    variant: a subclass of the estimator)."""
    from sksequence import SlidingWindowAnomalyDetector

    class Detrended(SlidingWindowAnomalyDetector):
        def _windows(self, series):
            w, starts, means = super()._windows(series)  # centred
            t = _unit_ramp(self.window_size)
            slope = np.einsum("ntf,t->nf", w.astype(np.float64), t)
            w = w - (slope[:, None, :] * t[None, :, None]).astype(np.float32)
            return w, starts, means

    return Detrended(**kw)


DETREND = False


def fit_one(name: str, seed: int) -> None:
    from sksequence import LSTMAutoencoderTransformer, SlidingWindowAnomalyDetector
    from sksequence.anomaly import _steps

    window = WINDOWS[name]
    base = normal_series(name)
    n_train = int(0.4 * len(base))
    stride = max(1, window // 8)
    make = detrended_detector if DETREND else SlidingWindowAnomalyDetector
    det = make(
        estimator=LSTMAutoencoderTransformer(random_state=seed),
        window_size=window,
        stride=stride,
    ).fit(base[None, :n_train])
    saved = {"scales": det.error_scales_, "n_train": n_train, "offset": det.offset_}

    def window_means(scaled):
        starts = np.arange(0, len(scaled) - window + 1, stride)
        if starts[-1] != len(scaled) - window:
            starts = np.append(starts, len(scaled) - window)
        csum = np.concatenate([np.zeros((1, scaled.shape[1])), np.cumsum(scaled, 0)])
        return (csum[starts + window] - csum[starts]) / window, starts

    def window_slopes(scaled, starts):
        idx = starts[:, None] + np.arange(window)[None, :]
        return np.einsum("ntf,t->nf", scaled[idx], _unit_ramp(window))

    train_scaled = (base[:n_train] - det.mean_) / det.scale_
    tm, ts = window_means(train_scaled)
    saved["train_means"], saved["train_starts"] = tm, ts
    saved["train_slopes"] = window_slopes(train_scaled, ts)
    step, score = det._errors(train_scaled)[:2]  # (no level part at 20bbfeb)
    saved["train_step"], saved["train_score"] = step, score
    for kind in KINDS:
        x, labels = inject(base, kind, window, n_train, np.random.default_rng(seed))
        scaled = (x - det.mean_) / det.scale_
        step, score = det._errors(scaled)[:2]
        m, st = window_means(scaled)
        saved[f"{kind}_step"], saved[f"{kind}_score"] = step, score
        saved[f"{kind}_labels"], saved[f"{kind}_means"] = labels, m
        saved[f"{kind}_starts"] = st
        saved[f"{kind}_slopes"] = window_slopes(scaled, st)
    saved["window"] = window
    out = OUT + ("_detrend" if DETREND else "")
    os.makedirs(out, exist_ok=True)
    np.savez(f"{out}/{name}_s{seed}.npz", **saved)
    _ = _steps  # (imported for the table's aggregation)
    print(name, seed, "saved", flush=True)


def level_distance(means, ref):
    """RMS over features of each window's mean against the reference windows'
    means: distance to their median over their standard deviation."""
    med = np.median(ref, axis=0)
    sd = ref.std(axis=0)
    sd = np.where(sd > 1e-3, sd, 1e-3)
    return np.sqrt((((means - med) / sd) ** 2).mean(axis=1))


def left_out_distance(means, starts, gap):
    """Each training window's level distance to the training windows that start
    at least ``gap`` steps away from it (mean and standard deviation of those)."""
    out = np.empty(len(means))
    for i in range(len(means)):
        ref = means[np.abs(starts - starts[i]) >= gap]
        if len(ref) < 2:
            ref = means
        sd = ref.std(axis=0)
        sd = np.where(sd > 1e-3, sd, 1e-3)
        out[i] = np.sqrt((((means[i] - ref.mean(0)) / sd) ** 2).mean())
    return out


def stationary(train_means) -> bool:
    """The last third of the training windows' means inside the range of the
    first two thirds' (per feature, widened by a quarter of that range)."""
    n = len(train_means)
    early, late = train_means[: 2 * n // 3], train_means[2 * n // 3 :]
    lo, hi = early.min(0), early.max(0)
    pad = 0.25 * (hi - lo)
    return bool(np.all((late >= lo - pad) & (late <= hi + pad)))


def variants(d, kind):
    from sksequence.anomaly import _steps

    w = int(d["window"])
    n_train = int(d["n_train"])
    sc = d["scales"]
    step, score = d[f"{kind}_step"], d[f"{kind}_score"]
    auto = np.maximum(step / sc[0], score / sc[1])
    tm = d["train_means"]
    lvl_train = _steps(
        level_distance(tm, tm)[:, None] * np.ones((1, w)),
        d["train_starts"],
        len(d["train_step"]),
        "mean",
    )
    q = np.percentile(lvl_train, 99)
    lvl = _steps(
        level_distance(d[f"{kind}_means"], tm)[:, None] * np.ones((1, w)),
        d[f"{kind}_starts"],
        len(step),
        "mean",
    )
    out = {"auto": auto, "lvl": np.maximum(auto, lvl / q)}
    qs = {}
    for g in (1, 4):
        lo = left_out_distance(tm, d["train_starts"], g * w)
        lo_steps = _steps(
            lo[:, None] * np.ones((1, w)),
            d["train_starts"],
            len(d["train_step"]),
            "mean",
        )
        qs[g] = np.percentile(lo_steps, 99)
        out[f"lvl_lo{g}"] = np.maximum(auto, lvl / qs[g])
    out["lvl_gate"] = out["lvl"] if stationary(tm) else auto
    train_auto = np.maximum(d["train_step"] / sc[0], d["train_score"] / sc[1])
    thresholds = {
        "auto": train_auto.max(),
        "lvl": np.maximum(train_auto, lvl_train / q).max(),
    }
    thresholds["lvl_gate"] = thresholds["lvl"] if stationary(tm) else thresholds["auto"]
    for g in (1, 4):  # (the training steps' own level distances over the scale)
        thresholds[f"lvl_lo{g}"] = np.maximum(train_auto, lvl_train / qs[g]).max()
    if "train_slopes" in d:  # the window's slope too, each scaled as lvl_lo4
        starts = d["train_starts"]
        parts_train, parts_test = [], []
        for key in ("means", "slopes"):
            tr = d[f"train_{key}"]
            lo = left_out_distance(tr, starts, 4 * w)
            lo = _steps(lo[:, None] * np.ones((1, w)), starts, len(train_auto), "mean")
            te = level_distance(d[f"{kind}_{key}"], tr)
            te = _steps(
                te[:, None] * np.ones((1, w)), d[f"{kind}_starts"], len(step), "mean"
            )
            qk = np.percentile(lo, 99)
            parts_train.append(lo / qk)
            parts_test.append(te / qk)
        out["lvl_slope_lo4"] = np.maximum(auto, np.maximum(*parts_test))
        thresholds["lvl_slope_lo4"] = np.maximum(
            train_auto, np.maximum(*parts_train)
        ).max()
    labels = d[f"{kind}_labels"]
    # the steps within a window of an anomaly, but not in it: neither positive
    # nor negative in "buf" (windows that straddle an anomaly's edge smear its
    # score onto them)
    near = np.convolve(labels, np.ones(2 * w + 1), mode="same") > 0
    keep = (~near | (labels == 1))[n_train:]
    lab = labels[n_train:]
    res = {}
    for k, v in out.items():
        v = v[n_train:]
        flagged = v > thresholds[k]
        res[k] = {
            "auroc": roc_auc_score(lab, v),
            "buf": roc_auc_score(lab[keep], v[keep]),
            "recall": flagged[lab == 1].mean(),
            "fpr": flagged[~near[n_train:]].mean(),
        }
    return res


def table(directory=OUT) -> None:
    files = sorted(glob.glob(f"{directory}/*.npz"))
    res = collections.defaultdict(list)
    gates = {}
    metric = METRIC
    for f in files:
        d = np.load(f)
        name = os.path.basename(f).rsplit("_s", 1)[0]
        gates[name] = stationary(d["train_means"])
        for kind in KINDS:
            for k, v in variants(d, kind).items():
                res[(kind, name, k)].append(v[metric])
    res_whos = {k[2] for k in res}
    names = list(dict.fromkeys(os.path.basename(f).rsplit("_s", 1)[0] for f in files))
    whos = ["auto", "lvl", "lvl_gate", "lvl_lo1", "lvl_lo4"]
    if "lvl_slope_lo4" in res_whos:
        whos.append("lvl_slope_lo4")
    print("stationary:", gates)
    print("| kind | series | " + " | ".join(whos) + " |")
    print("|---" * (len(whos) + 2) + "|")
    per = collections.defaultdict(list)
    for kind in KINDS:
        for n in names:
            cells = [np.mean(res[(kind, n, w)]) for w in whos]
            for w, c in zip(whos, cells):
                per[(kind, w)].append(c)
                per[("all", w)].append(c)
            print(f"| {kind} | {n} | " + " | ".join(f"{c:.3f}" for c in cells) + " |")
    for kind in (*KINDS, "all"):
        print(
            f"| {kind} | mean | "
            + " | ".join(f"{np.mean(per[(kind, w)]):.3f}" for w in whos)
            + " |"
        )


def emit_before(path: str) -> None:
    """The detector before the level part (``auto``) as records of
    ``exp_anomaly_injected.py`` (who "before"), for its ``--table``."""
    import json

    with open(path, "w") as f:
        for file in sorted(glob.glob(f"{OUT}/*.npz")):
            d = np.load(file)
            name, seed = os.path.basename(file)[:-4].rsplit("_s", 1)
            for kind in KINDS:
                v = variants(d, kind)["auto"]
                rec = dict(series=name, kind=kind, seed=int(seed), who="before")
                rec.update(auroc=float(v["auroc"]), auroc_buf=float(v["buf"]))
                f.write(json.dumps(rec) + "\n")


def thresholds_table(rules=("max", "2", "3", "min(max, 3)")) -> None:
    """``--thresholds``: recall and false-positive rate of the adopted score
    (``lvl_lo4``) at the detector's own threshold of these fits (``max``: the
    training steps' maximum, saved at fit), at fixed values and at the maximum
    capped; mean over the five kinds and the seeds."""
    from exp_anomaly_threshold import threshold

    from sksequence.anomaly import _steps

    res = collections.defaultdict(list)
    tops = collections.defaultdict(list)
    for file in sorted(glob.glob(f"{OUT}/*.npz")):
        d = np.load(file)
        name = os.path.basename(file).rsplit("_s", 1)[0]
        w, n, sc = int(d["window"]), int(d["n_train"]), d["scales"]
        tm, ts = d["train_means"], d["train_starts"]
        lo = left_out_distance(tm, ts, 4 * w)
        lo = _steps(lo[:, None] * np.ones((1, w)), ts, len(d["train_step"]), "mean")
        q, top = np.percentile(lo, 99), -float(d["offset"])
        tops[name].append(top)
        sd = np.maximum(tm.std(0), 1e-2)
        for kind in KINDS:
            lab = d[f"{kind}_labels"]
            lv = np.sqrt((((d[f"{kind}_means"] - tm.mean(0)) / sd) ** 2).mean(1))
            lv = _steps(
                lv[:, None] * np.ones((1, w)), d[f"{kind}_starts"], len(lab), "mean"
            )
            auto = np.maximum(d[f"{kind}_step"] / sc[0], d[f"{kind}_score"] / sc[1])
            v = np.maximum(auto, lv / q)[n:]
            near = (np.convolve(lab, np.ones(2 * w + 1), mode="same") > 0)[n:]
            for rule in rules:
                flagged = v > threshold(rule, top)
                res[(name, rule)].append(
                    (flagged[lab[n:] == 1].mean(), flagged[~near].mean())
                )
    print("| series | training maximum | " + " | ".join(rules) + " |")
    print("|---" * (len(rules) + 2) + "|")
    for name in tops:
        cells = [
            "{:.2f} / {:.3f}".format(*np.mean(res[(name, r)], axis=0)) for r in rules
        ]
        print(f"| {name} | {np.mean(tops[name]):.2f} | " + " | ".join(cells) + " |")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--fit", action="store_true")
    ap.add_argument("--series", nargs="+", default=list(WINDOWS))
    ap.add_argument("--seeds", nargs="+", type=int, default=[0])
    ap.add_argument("--table", action="store_true")
    ap.add_argument("--emit-before", default=None, metavar="JSONL")
    ap.add_argument("--detrend", action="store_true", help="see detrended_detector")
    ap.add_argument("--thresholds", action="store_true", help="see thresholds_table")
    ap.add_argument(
        "--metric", default="auroc", choices=["auroc", "buf", "recall", "fpr"]
    )
    args = ap.parse_args()
    global METRIC, DETREND
    METRIC, DETREND = args.metric, args.detrend
    if args.fit:
        import torch

        torch.set_num_threads(1)
        for name in args.series:
            for seed in args.seeds:
                fit_one(name, seed)
    if args.table:
        table(OUT + ("_detrend" if args.detrend else ""))
    if args.emit_before:
        emit_before(args.emit_before)
    if args.thresholds:
        thresholds_table()


if __name__ == "__main__":
    main()
