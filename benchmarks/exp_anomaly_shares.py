"""Research screen (issue 11): does the novelty of a sequence's default shares
(the quantile shares of the conv blocks and of the dilated kernels, the
columns of ``transform`` after the pooled features) add to ``score_samples``?

The anomaly protocol of ``bench_autoencoder_real.py``: the defaults fitted on
one class's training series, every test series scored, the other classes the
anomalies, AUROC averaged over the classes as the normal one. From the same
fit: ``default``, minus ``score_samples``; ``r``, each test series' distance
to the affine span of the training series' standardised shares over the
median leave-one-out distance of the training series themselves (run at
commit 0051907: since 13614eb ``score_samples`` holds that factor itself);
and the scores ``default * (1 + r)`` (``x(1+r)``) and ``default * max(1, r)``
(``x max(1,r)``), and ``r`` alone.

    PYTHONPATH=.:benchmarks OMP_NUM_THREADS=1 benchmarks/.venv/bin/python \\
        benchmarks/exp_anomaly_shares.py --seed 0 --problems Coffee Trace ...
    benchmarks/.venv/bin/python benchmarks/exp_anomaly_shares.py --table
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from sklearn.metrics import roc_auc_score  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import class_means_table, emit, screen_main  # noqa: E402
from _ucr_data import each_class, subset  # noqa: E402

from sksequence import LSTMAutoencoderTransformer  # noqa: E402

LOG = os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "out", "exp_anomaly_shares.jsonl"
)
KEYS = ("default", "x(1+r)", "x max(1,r)", "r")


def novelty(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance of each row of b to the affine span of the rows of a (both
    standardised by a's columns), over the median leave-one-out distance of
    a's rows."""
    mu, sd = a.mean(0), a.std(0)
    sd = np.where(sd > 1e-3, sd, 1.0)
    a, b = (a - mu) / sd, (b - mu) / sd

    def dist(train, test):
        c = train.mean(0)
        q, _ = np.linalg.qr((train - c).T)
        r = (test - c) - ((test - c) @ q) @ q.T
        return np.linalg.norm(r, axis=1)

    loo = np.array([dist(np.delete(a, i, 0), a[i : i + 1])[0] for i in range(len(a))])
    typical = np.median(loo)
    return dist(a, b) / typical if typical > 1e-9 else np.zeros(len(b))


def run(problems, seed):
    for name, p, c in each_class(problems):
        ytr, yte = p["y_train"], p["y_test"]
        idx = np.flatnonzero(ytr == c)
        if len(idx) < 3:
            continue
        Xn = subset(p["X_train"], idx)
        ae = LSTMAutoencoderTransformer(random_state=seed).fit(Xn)
        s0 = -ae.score_samples(p["X_test"])
        P = ae.net_.module_.pooled_size
        r = novelty(ae.transform(Xn)[:, P:], ae.transform(p["X_test"])[:, P:])
        scores = {
            "default": s0,
            "x(1+r)": s0 * (1 + r),
            "x max(1,r)": s0 * np.maximum(1.0, r),
            "r": r,
        }
        y = (yte != c).astype(int)
        row = dict(problem=name, seed=seed, cls=int(c))
        row.update({k: float(roc_auc_score(y, v)) for k, v in scores.items()})
        emit(row, LOG)


def table():
    print(class_means_table(LOG, list(KEYS)))


if __name__ == "__main__":
    screen_main(__doc__, run, table, ["Coffee", "Trace"])
