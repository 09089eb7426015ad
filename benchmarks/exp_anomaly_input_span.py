"""Research screen (issue 11): does the input's own distance to the training
series' span add to the anomaly score? Offline, from the scores that
``exp_anomaly_latent.py`` dumps with ``ANOM_DUMP`` (the default's error
``mae`` and feature novelty ``fres / t``): for the equal-length problems, the
distance of each test series (standardised per channel as the estimator
does, flattened) to the affine span of the normal class's training series,
over the median leave-one-out distance of those (0, no factor, when the
training series span every direction), and AUROC of the default score
(``e1 = mae * (1 + r)``) against products and mixes with it.

    PYTHONPATH=.:benchmarks benchmarks/.venv/bin/python \\
        benchmarks/exp_anomaly_input_span.py [benchmarks/out/exp/anom_lat_dump]
"""

import collections
import glob
import os
import sys

import numpy as np
from _ucr_data import load_problem
from exp_anomaly_latent import ANCHORS
from sklearn.metrics import roc_auc_score

KEYS = ("e1", "e1_in", "e_mix", "e_max", "in_only")


def span_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance of each row of ``b`` to the affine span of the rows of ``a``."""
    center = a.mean(axis=0)
    q, _ = np.linalg.qr((a - center).T)  # (D, n)
    r = (b - center) - ((b - center) @ q) @ q.T
    return np.linalg.norm(r, axis=1)


def input_novelty(x_train: np.ndarray, x_test: np.ndarray) -> np.ndarray:
    """The test series' distance to the training series' span over the median
    leave-one-out distance; zeros when that median is (nearly) 0."""
    flat = x_train.reshape(-1, x_train.shape[-1])
    mu, sd = flat.mean(axis=0), flat.std(axis=0)
    a = ((x_train - mu) / sd).reshape(len(x_train), -1)
    b = ((x_test - mu) / sd).reshape(len(x_test), -1)
    if len(a) > a.shape[1] + 1:
        return np.zeros(len(b))
    loo = [span_distance(np.delete(a, i, 0), a[i : i + 1])[0] for i in range(len(a))]
    t = float(np.median(loo))
    spread = np.linalg.norm(a - a.mean(axis=0), axis=1).mean()
    return span_distance(a, b) / t if t > 1e-3 * spread else np.zeros(len(b))


def variants(z, rin: np.ndarray) -> dict:
    mae, r = z["mae"], z["fres"] / float(z["t"])
    return {
        "e1": mae * (1 + r),
        "e1_in": mae * (1 + r) * (1 + rin),
        "e_mix": mae * (1 + (r + rin) / 2),
        "e_max": mae * (1 + np.maximum(r, rin)),
        "in_only": mae * (1 + rin),
    }


def main(dump: str) -> None:
    res = collections.defaultdict(lambda: collections.defaultdict(list))
    problems, novelty = {}, {}
    for path in sorted(glob.glob(os.path.join(dump, "*.npz"))):
        z = np.load(path)
        name, cls, seed = os.path.basename(path)[:-4].rsplit("_", 2)
        if name not in problems:
            problems[name] = load_problem(name)
        prob = problems[name]
        if prob["ragged"]:
            continue
        key = (name, int(cls))
        if key not in novelty:
            x_train = prob["X_train"][prob["y_train"] == int(cls)]
            novelty[key] = input_novelty(x_train, prob["X_test"])
        for k, s in variants(z, novelty[key]).items():
            res[name][(k, seed)].append(roc_auc_score(z["y"], s))
    print("| problem | " + " | ".join(KEYS) + " | PCA / NN |")
    for p in (p for p in ANCHORS if p in res):
        cells = []
        for k in KEYS:
            seeds = sorted({s for (kk, s) in res[p] if kk == k})
            cells.append(f"{np.mean([np.mean(res[p][(k, s)]) for s in seeds]):.3f}")
        pca, nn = ANCHORS[p]
        print(f"| {p} | " + " | ".join(cells) + f" | {pca:.3f} / {nn:.3f} |")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "benchmarks/out/exp/anom_lat_dump")
