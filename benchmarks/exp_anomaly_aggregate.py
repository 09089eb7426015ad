"""Research screen (issue 11, item 3): how the detector turns its windows'
values into one score per step (``aggregate``), against the smear of an
anomaly's score onto the normal steps next to it.

``exp_anomaly_injected.py`` found the default detector's plain AUROC on level
shifts (0.734) far below its AUROC without the normal steps within a window of
an anomaly (0.982): every window that overlaps an anomaly scores high, and the
mean over the windows that hold a normal step near it carries that to the
step. A step's value could instead be the median or the minimum over its
windows: a normal step next to an anomaly lies in windows that avoid it, an
anomalous step does not.

``--fit``: fits the default detector once per series and seed on the training
part (as ``exp_anomaly_level.py``: one fit serves every injected kind), and
saves every window's values of each part ("step", "score", "level") for the
training part and each kind, by recording what ``_errors`` hands to
``sksequence.anomaly._steps``; also the labelled series of
``bench_anomaly_series.py`` (``--labelled``). ``--table`` then aggregates
offline (``mean``: the detector as it is; ``median``; ``min``; ``lowmean``:
the mean of the lower half of a step's windows; ``centre``: the mean over the
windows whose middle half holds the step), scales each part by its
training steps' 99th percentile under the same rule, takes the largest, and
reports AUROC, ``buf`` (without the normal steps within a window of an
anomaly), and recall / false-positive rate at the detector's threshold rule
(the training steps' maximum, capped at 3).

    PYTHONPATH=.:benchmarks OMP_NUM_THREADS=1 benchmarks/.venv/bin/python \\
        benchmarks/exp_anomaly_aggregate.py --fit --series ecg co2 --seeds 0
    PYTHONPATH=.:benchmarks OMP_NUM_THREADS=1 benchmarks/.venv/bin/python \\
        benchmarks/exp_anomaly_aggregate.py --fit --labelled KDD-TSAD_135 --seeds 0
    benchmarks/.venv/bin/python benchmarks/exp_anomaly_aggregate.py --table
"""

import argparse
import collections
import glob
import os
import pickle

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score

OUT = "benchmarks/out/exp/aggregate"
RULES = ("mean", "median", "min", "lowmean", "centre")
CAP = 3.0


def _recording(store: list):
    """A stand-in for ``sksequence.anomaly._steps`` that records its inputs."""
    import sksequence.anomaly as anomaly

    original = anomaly._steps

    def steps(errors, starts, n_timesteps, how):
        store.append((np.array(errors), np.array(starts), int(n_timesteps)))
        return original(errors, starts, n_timesteps, how)

    return steps


def fit_one(name: str, seed: int, labelled: bool) -> None:
    from exp_anomaly_injected import KINDS, WINDOWS, inject, normal_series

    import sksequence.anomaly as anomaly
    from sksequence import LSTMAutoencoderTransformer, SlidingWindowAnomalyDetector

    if labelled:
        from bench_anomaly_series import SERIES, load_series

        x, labels, n_train = load_series(name)
        x = x.astype(np.float64)
        window = SERIES[name][1]
        cases = {"labelled": (x, labels)}
    else:
        window = WINDOWS[name]
        base = normal_series(name)
        n_train = int(0.4 * len(base))
        cases = {
            kind: inject(base, kind, window, n_train, np.random.default_rng(seed))
            for kind in KINDS
        }
        x = base
    det = SlidingWindowAnomalyDetector(
        estimator=LSTMAutoencoderTransformer(random_state=seed),
        window_size=window,
        stride=max(1, window // 8),
    )
    store: list = []
    original = anomaly._steps
    anomaly._steps = _recording(store)
    try:
        det.fit(x[None, :n_train])
        saved = {"train": list(store), "n_train": n_train, "window": window}
        for kind, (xk, lab) in cases.items():
            store.clear()
            det.score_samples(xk[None])
            saved[kind] = (list(store), lab)
    finally:
        anomaly._steps = original
    os.makedirs(OUT, exist_ok=True)
    with open(f"{OUT}/{name}_s{seed}.pkl", "wb") as fh:
        pickle.dump(saved, fh)
    print(name, seed, "saved", flush=True)


def aggregate(errors, starts, n, rule):
    """Per-step values (n,) of (W, w) per-window-step values by ``rule``."""
    w = errors.shape[1]
    idx = starts[:, None] + np.arange(w)[None, :]
    lo = np.searchsorted(starts, np.arange(n) - w + 1, side="left")
    slot = np.arange(len(starts))[:, None] - lo[idx]
    table = np.full((n, int(slot.max()) + 1), np.nan)
    table[idx.ravel(), slot.ravel()] = errors.ravel()
    if rule == "mean":
        return np.nanmean(table, axis=1)
    if rule == "median":
        return np.nanmedian(table, axis=1)
    if rule == "min":
        return np.nanmin(table, axis=1)
    if rule == "lowmean":  # the mean of the lower half of a step's windows
        srt = np.sort(table, axis=1)  # (NaN last)
        count = np.sum(~np.isnan(table), axis=1)
        keep = np.maximum(1, (count + 1) // 2)
        mask = np.arange(table.shape[1])[None, :] < keep[:, None]
        return np.nansum(np.where(mask, srt, 0.0), axis=1) / keep
    if rule == "centre":  # the mean over the windows whose middle half holds
        # the step (over all its windows where none does: the series' ends)
        j = np.arange(w)
        middle = (j >= w // 4) & (j < w - w // 4)
        inner = np.full((n, table.shape[1]), np.nan)
        inner[idx[:, middle].ravel(), slot[:, middle].ravel()] = errors[
            :, middle
        ].ravel()
        none = np.all(np.isnan(inner), axis=1)
        out = np.nanmean(np.where(none[:, None], table, inner), axis=1)
        return out
    raise ValueError(rule)


def combined(parts, rule, scales=None):
    values = [aggregate(e, s, n, rule) for e, s, n in parts]
    if scales is None:
        scales = [max(np.percentile(v, 99), 1e-12) for v in values]
    return np.max([v / q for v, q in zip(values, scales)], axis=0), scales


def table(metric: str) -> None:
    files = sorted(glob.glob(f"{OUT}/*.pkl"))
    acc = collections.defaultdict(list)
    for f in files:
        d = pickle.load(open(f, "rb"))
        name = os.path.basename(f).rsplit("_s", 1)[0]
        n_train, w = d["n_train"], d["window"]
        for rule in RULES:
            train, scales = combined(d["train"], rule)
            threshold = min(train.max(), CAP)
            for kind, (parts, lab) in (
                (k, v) for k, v in d.items() if isinstance(v, tuple)
            ):
                score, _ = combined(parts, rule, scales)
                if kind == "labelled":  # the whole series, as bench_anomaly_series
                    value = {
                        "auroc": roc_auc_score(lab, score),
                        "auprc": average_precision_score(lab, score),
                    }.get(metric, np.nan)
                    acc[(rule, name)].append(value)
                    continue
                near = np.convolve(lab, np.ones(2 * w + 1), mode="same") > 0
                keep = (~near | (lab == 1))[n_train:]
                s, lb = score[n_train:], lab[n_train:]
                flagged = s > threshold
                value = {
                    "auroc": roc_auc_score(lb, s),
                    "buf": roc_auc_score(lb[keep], s[keep]),
                    "recall": flagged[lb == 1].mean(),
                    "fpr": flagged[~near[n_train:]].mean(),
                }.get(metric, np.nan)
                acc[(rule, kind)].append(value)
                acc[(rule, "all")].append(value)
    groups = sorted({g for _, g in acc})
    print(f"metric: {metric}; files: {len(files)}")
    print("| rule | " + " | ".join(groups) + " |")
    print("|---" * (len(groups) + 1) + "|")
    for rule in RULES:
        cells = [
            f"{np.nanmean(acc[(rule, g)]):.3f}"
            if not np.all(np.isnan(acc[(rule, g)]))
            else ""
            for g in groups
        ]
        print(f"| {rule} | " + " | ".join(cells) + " |")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--fit", action="store_true")
    ap.add_argument("--series", nargs="+", default=[])
    ap.add_argument("--labelled", nargs="+", default=[])
    ap.add_argument("--seeds", nargs="+", type=int, default=[0])
    ap.add_argument("--table", action="store_true")
    ap.add_argument("--metric", default="auroc")
    args = ap.parse_args()
    if args.fit:
        import torch

        torch.set_num_threads(1)
        for seed in args.seeds:
            for name in args.series:
                fit_one(name, seed, labelled=False)
            for name in args.labelled:
                fit_one(name, seed, labelled=True)
    if args.table:
        table(args.metric)


if __name__ == "__main__":
    main()
