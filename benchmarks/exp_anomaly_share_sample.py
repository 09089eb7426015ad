"""Research screen (issue 11): the shares' novelty of a normal set larger than
the share basis holds (257 series), from the span of a sample of it.

The novel-class protocol of ``exp_anomaly_loco.py`` (fit on every class but
one, the left-out class's test series the anomalies). Run at commit 13614eb,
where the factor was off beyond 257 training series, so ``default`` is the
error times ``1 + novelty`` alone; ``sub``: that times ``1 + r``, ``r`` the
test series' distance to the affine span of every k-th training series'
standardised shares (k = ceil(n / 257)) over their median leave-one-out
distance (``exp_anomaly_shares.novelty``); ``rand``: the same with 257 series
drawn at random. One JSON line per class on stdout.

    PYTHONPATH=.:benchmarks OMP_NUM_THREADS=1 benchmarks/.venv/bin/python \\
        benchmarks/exp_anomaly_share_sample.py SEED PROBLEM [PART]

``PART`` (0 or 1) runs every other class, for two processes side by side.
"""

import json
import os
import sys

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from sklearn.metrics import roc_auc_score  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _ucr_data import load_problem, subset  # noqa: E402
from exp_anomaly_shares import novelty  # noqa: E402

from sksequence import LSTMAutoencoderTransformer  # noqa: E402

SAMPLE = 257


def run(seed: int, name: str, part: int | None) -> None:
    torch.set_num_threads(1)
    p = load_problem(name)
    ytr, yte = p["y_train"], p["y_test"]
    classes = np.unique(ytr)
    if part is not None:
        classes = classes[part::2]
    for c in classes:
        idx = np.flatnonzero(ytr != c)
        normal = subset(p["X_train"], idx)
        ae = LSTMAutoencoderTransformer(random_state=seed).fit(normal)
        pooled = ae.net_.module_.pooled_size
        score = -ae.score_samples(p["X_test"])
        ftr = ae.transform(normal)[:, pooled:]
        fte = ae.transform(p["X_test"])[:, pooled:]
        every = -(-len(ftr) // SAMPLE)
        pick = np.random.RandomState(0).choice(
            len(ftr), min(SAMPLE, len(ftr)), replace=False
        )
        y = (yte == c).astype(int)
        row = dict(problem=name, seed=seed, cls=str(c), n=len(idx))
        row["default"] = roc_auc_score(y, score)
        row["sub"] = roc_auc_score(y, score * (1 + novelty(ftr[::every], fte)))
        row["rand"] = roc_auc_score(y, score * (1 + novelty(ftr[pick], fte)))
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    part = int(sys.argv[3]) if len(sys.argv) > 3 else None
    run(int(sys.argv[1]), sys.argv[2], part)
