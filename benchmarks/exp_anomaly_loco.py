"""Check on another protocol (issue 11): novel-class detection, the normal set
made of several classes.

For each class ``c`` of a problem, the defaults are fitted on the training
series of every other class and score the test series; the anomalies are the
test series of class ``c`` (AUROC, mean over the classes, per seed). The
normal set is then multi-modal and larger (up to 240 series here) than in the
benchmark's one-class protocol. From the same fit:

- ``default``: minus ``score_samples`` (the error times ``1 + novelty`` times
  ``1 + share_novelty``);
- ``no shares``: the same without the shares' factor (the default before
  commit 13614eb);
- ``error``: the span's reconstruction error alone (without either factor);
- anchors on the equal-length copies (``E_*``, flattened): ``pca``, the
  reconstruction error of PCA(16) fitted on the normal training series;
  ``nn``, the distance to the nearest normal training series.

    PYTHONPATH=.:benchmarks OMP_NUM_THREADS=1 benchmarks/.venv/bin/python \\
        benchmarks/exp_anomaly_loco.py --seed 0 --problems JapaneseVowels ...
    benchmarks/.venv/bin/python benchmarks/exp_anomaly_loco.py --table
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from sklearn.decomposition import PCA  # noqa: E402
from sklearn.metrics import roc_auc_score  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import class_means_table, emit, screen_main  # noqa: E402
from _ucr_data import each_class, subset  # noqa: E402

from sksequence import LSTMAutoencoderTransformer  # noqa: E402

LOG = os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "out", "exp_anomaly_loco.jsonl"
)
KEYS = ("default", "no shares", "error", "pca", "nn")


def anchors(etr: np.ndarray, ete: np.ndarray) -> dict:
    """PCA(16) reconstruction error and nearest-neighbour distance, flattened."""
    a, b = etr.reshape(len(etr), -1), ete.reshape(len(ete), -1)
    pca = PCA(min(16, len(a) - 1)).fit(a)
    err = ((pca.inverse_transform(pca.transform(b)) - b) ** 2).mean(axis=1)
    d = ((b**2).sum(1)[:, None] - 2 * b @ a.T + (a**2).sum(1)[None, :]).min(axis=1)
    return {"pca": err, "nn": np.sqrt(np.maximum(d, 0.0))}


def run(problems, seed):
    for name, p, c in each_class(problems):
        ytr, yte = p["y_train"], p["y_test"]
        idx = np.flatnonzero(ytr != c)
        ae = LSTMAutoencoderTransformer(random_state=seed).fit(
            subset(p["X_train"], idx)
        )
        module, pooled = ae.net_.module_, ae.net_.module_.pooled_size
        score = -ae.score_samples(p["X_test"])
        fs = torch.as_tensor(ae.transform(p["X_test"]))
        with torch.no_grad():
            shares = module.share_novelty(fs[:, pooled:]).numpy()
            novelty = module.feature_novelty(fs[:, :pooled]).numpy()
        scores = {
            "default": score,
            "no shares": score / (1 + shares),
            "error": score / (1 + shares) / (1 + novelty),
            **anchors(p["E_train"][idx], p["E_test"]),
        }
        y = (yte == c).astype(int)
        row = dict(problem=name, seed=seed, cls=str(c), n_normal=len(idx))
        row["share_axes"] = module.share_axes
        row.update({k: float(roc_auc_score(y, v)) for k, v in scores.items()})
        emit(row, LOG)


def table():
    print(class_means_table(LOG, list(KEYS)))


if __name__ == "__main__":
    screen_main(__doc__, run, table, ["ArrowHead"])
