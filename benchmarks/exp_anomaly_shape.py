"""Research: the reconstruction error of one part of the default decoder.

The default reconstruction is the decoder LSTM's output (patches from the code)
plus the linear shape path (the code's coefficients of 32 cosines over relative
time). The shape path alone is a smooth, linear decoding of the code, close to
what PCA's reconstruction is, and PCA's reconstruction error is the anchor that
leads on aligned problems (GunPoint, Coffee). From the SAME fitted model (the
defaults, decoding from the training features' span as ``score_samples`` does):

- ``mae``: the default score (both parts; checked against ``score_samples``);
- ``shape``: the shape path alone (the decoder LSTM's part set to zero);
- ``lstm``: the decoder LSTM alone (the shape path set to zero);
- ``both2``: the mean of the ``mae`` and ``shape`` errors.

Protocol of ``bench_autoencoder_real.py --tasks anom`` (fit on one class, AUROC
of "another class" on the test set, mean over the classes).
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from exp_anomaly_residual import _mask  # noqa: E402


@torch.no_grad()
def _errors(module, x, lengths, part):
    """Mean absolute error per sequence over valid steps, averaged over the span
    views, with the decoder's ``part`` only ("both", "shape", "lstm")."""
    views = (0, 1) if module.feature_span else (None,)
    mask = _mask(x, lengths)[:, :, None]
    decode, shape = type(module)._decode, type(module)._shape
    try:
        if part == "shape":
            module._decode = lambda dec, c, n, t: torch.zeros(
                c.shape[0], n, x.shape[2], dtype=c.dtype
            )
        elif part == "lstm":
            module._shape = lambda c, n, l: torch.zeros(
                c.shape[0], n, x.shape[2], dtype=c.dtype
            )
        out = 0.0
        for view in views:
            rec = module(x=x.float(), lengths=lengths, span=view)["reconstruction"]
            r = (x - rec.double()).abs() * mask
            out = out + r.sum(dim=(1, 2)) / (mask.sum(dim=(1, 2)) * x.shape[2])
        return (out / len(views)).numpy()
    finally:
        module.__dict__.pop("_decode", None)
        module.__dict__.pop("_shape", None)
        assert type(module)._decode is decode and type(module)._shape is shape


def one(prob, cls, seed, params=None):
    from exp_anomaly_memory import _tensors, fit_class
    from sklearn.metrics import roc_auc_score

    est, Xn, cpu = fit_class(prob, cls, seed, params)
    m = est.net_.module_.eval()
    x_te, l_te = _tensors(est, prob["X_test"], torch.float64)
    scores = {p: _errors(m, x_te, l_te, p) for p in ("both", "shape", "lstm")}
    y = np.asarray(prob["y_test"]) != cls

    def auc(s):
        return float(roc_auc_score(y, s))

    out = {
        "mae": auc(scores["both"]),
        "shape": auc(scores["shape"]),
        "lstm": auc(scores["lstm"]),
        "both2": auc(scores["both"] + scores["shape"]),
    }
    out["check"] = float(
        np.max(np.abs(-est.score_samples(prob["X_test"]) - scores["both"]))
    )
    return out, cpu


CANDIDATES = ("mae", "shape", "lstm", "both2")


if __name__ == "__main__":
    from exp_anomaly_memory import main

    main(one, CANDIDATES)
