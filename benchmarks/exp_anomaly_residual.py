"""Research: the reconstruction error after a linear model of the training residuals.

The autoencoder's reconstruction of a normal sequence is not exact: what it
misses on the training sequences has structure of its own (a detail the
patch decoder smooths, an offset at the ends), and that systematic part of
the error is shared by normal and unusual sequences alike, which dilutes
what separates them. This screen rebuilds each sequence in two stages, as a
stacked autoencoder would: the autoencoder's reconstruction (the default
score's, decoded from the training features' span, in each of its two
metrics), then a linear autoencoder of the residual ``x - reconstruction``
fitted on the training sequences' residuals (their mean and leading
principal axes). The score is the mean absolute error left after both
stages, over valid steps, in the input's units; the protocol is
``bench_autoencoder_real.py --tasks anom`` (fit on one class, AUROC of
"another class" on the test set, mean over the classes), every candidate
from the SAME fitted model:

- ``mae``: the default score (no second stage);
- ``rmean``: the training residuals' mean subtracted (a systematic offset);
- ``rpc{k}``: also the projection onto their ``k`` leading axes (at most the
  training residuals' rank), k in 4, 16;
- ``rspan``: onto their whole affine span;
- ``r90``: onto the axes holding 90% of their variance.

Variable-length sequences: residuals are zero after each sequence's end, and
errors are taken over valid steps only. ``--json`` appends one record per
(problem, class, seed).
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def _mask(x, lengths):
    if lengths is None:
        return torch.ones(x.shape[:2], dtype=torch.float64)
    steps = torch.arange(x.shape[1])[None, :]
    return (steps < lengths[:, None]).double()


@torch.no_grad()
def _residuals(module, x, lengths):
    """Residuals x - reconstruction (N, L, F), one per span view, zero after the end."""
    out = []
    views = (0, 1) if module.feature_span else (None,)
    mask = _mask(x, lengths)[:, :, None]
    for view in views:
        rec = module(x=x.float(), lengths=lengths, span=view)["reconstruction"]
        out.append((x - rec.double()) * mask)
    return out, mask


def _mae(r, mask):
    return (r.abs() * mask).sum(dim=(1, 2)) / (mask.sum(dim=(1, 2)) * r.shape[2])


def _candidates(r_tr, r_te, m_te):
    n = len(r_tr)
    a_tr = r_tr.reshape(n, -1)
    a_te = r_te.reshape(len(r_te), -1)
    mean = a_tr.mean(dim=0)
    out = {"mae": a_te, "rmean": a_te - mean}
    c = a_tr - mean
    _, s, vt = torch.linalg.svd(c, full_matrices=False)
    rank = int((s > 1e-8 * s[0]).sum()) if len(s) and s[0] > 0 else 0
    share = (s**2).cumsum(0) / (s**2).sum().clamp(min=1e-300)
    r90 = int((share < 0.9).sum()) + 1
    for name, k in (
        ("rpc4", min(4, rank)),
        ("rpc16", min(16, rank)),
        ("r90", min(r90, rank)),
        ("rspan", rank),
    ):
        v = vt[:k]
        d = a_te - mean
        out[name] = d - d @ v.T @ v
    shape = r_te.shape
    return {k: _mae(v.reshape(shape) * m_te, m_te).numpy() for k, v in out.items()}


def one(prob, cls, seed, params=None):
    from exp_anomaly_memory import _tensors, fit_class
    from sklearn.metrics import roc_auc_score

    est, Xn, cpu = fit_class(prob, cls, seed, params)
    m = est.net_.module_.eval()
    x_tr, l_tr = _tensors(est, Xn, torch.float64)
    x_te, l_te = _tensors(est, prob["X_test"], torch.float64)
    rs_tr, _ = _residuals(m, x_tr, l_tr)
    rs_te, m_te = _residuals(m, x_te, l_te)
    # the same step count on both sides (the longer of the two; zero padded)
    L = max(rs_tr[0].shape[1], rs_te[0].shape[1])

    def pad(r):
        return torch.nn.functional.pad(r, (0, 0, 0, L - r.shape[1]))

    m_te = pad(m_te)
    scores = {}
    for r_tr, r_te in zip(rs_tr, rs_te):
        for k, v in _candidates(pad(r_tr), pad(r_te), m_te).items():
            scores[k] = scores.get(k, 0.0) + v / len(rs_tr)
    check = -est.score_samples(prob["X_test"])
    y = np.asarray(prob["y_test"]) != cls
    auc = {k: float(roc_auc_score(y, v)) for k, v in scores.items()}
    auc["check"] = float(np.max(np.abs(check - scores["mae"])))
    return auc, cpu


CANDIDATES = ("mae", "rmean", "rpc4", "rpc16", "r90", "rspan")


if __name__ == "__main__":
    from exp_anomaly_memory import main

    main(one, CANDIDATES)
