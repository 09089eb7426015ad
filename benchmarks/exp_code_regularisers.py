"""Research screen: regularisers of the 16-value code (``n_components=16``).

Each run fits ``LSTMAutoencoderTransformer(n_components=16, random_state=seed)`` (the
defaults) with the module's training forward replaced by one that adds, per
``--cfg``:

- ``{"noise": s}``: Gaussian noise of standard deviation ``s`` on the (batch-normed)
  code that the decoder reads in training (``transform`` is unchanged);
- ``{"decor": w}``: ``w`` times the sum of the squared off-diagonal covariances of
  the code over the batch, divided by its size (VICReg's covariance term).

It prints and appends to ``--log`` the test accuracy of StandardScaler +
LogisticRegression on the code. Only the reconstruction objective (the default) is
handled.

Usage (benchmark environment, repository root)::

    PYTHONPATH=. benchmarks/.venv/bin/python benchmarks/exp_code_regularisers.py \
        --name noise05 --cfg '{"noise": 0.5}' --seeds 0 1
"""

import argparse
import json
import os
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
import torch  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _ucr_data import DEV, load_problem  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from sksequence import LSTMAutoencoderTransformer  # noqa: E402
from sksequence.nn import autoencoder as A  # noqa: E402

torch.set_num_threads(1)
CFG = {}


def _forward(self, x, lengths, future, future_lengths, n_future, generator=None):
    """SequenceAutoencoder._forward (reconstruction objective) plus CFG's term."""
    xs = self.scale(x, lengths)
    x_in = self._corrupt(xs, generator) if self.training else xs
    f = self.features(x_in, lengths)
    pre = self.bottleneck(f)
    c = self.norm(pre)
    z = f if self.encoding == "pooled" else c
    code_loss = self._feature_loss(f, c) if self.training else None
    cd = c
    if self.training and CFG.get("noise"):
        cd = c + CFG["noise"] * torch.randn_like(c)
    if self.training and CFG.get("decor") and c.shape[0] > 2:
        cc = c - c.mean(0)
        cov = cc.T @ cc / (c.shape[0] - 1)
        off = cov - torch.diag(torch.diag(cov))
        extra = CFG["decor"] * off.pow(2).sum() / c.shape[1]
        code_loss = (code_loss if code_loss is not None else 0) + extra * torch.ones(
            c.shape[0]
        )
    teacher = self.training and self.conditional
    recon = forecast = None
    if self.reconstructor is not None:
        recon = self.unscale(
            self._reconstruct_scaled(cd, x.shape[1], lengths, xs if teacher else None)
        )
    out = {"encoding": z, "reconstruction": recon, "forecast": forecast}
    if code_loss is not None:
        out["code_loss"] = code_loss
    return out


A.SequenceAutoencoder._forward = _forward

ap = argparse.ArgumentParser()
ap.add_argument("--problems", nargs="*", default=DEV)
ap.add_argument("--seeds", type=int, nargs="*", default=[0])
ap.add_argument("--cfg", default="{}")
ap.add_argument("--name", required=True)
ap.add_argument("--log", default="benchmarks/out/exp/code_regularisers.jsonl")
a = ap.parse_args()
CFG.update(json.loads(a.cfg))
os.makedirs(os.path.dirname(a.log) or ".", exist_ok=True)
for seed in a.seeds:
    for name in a.problems:
        p = load_problem(name)
        t0 = time.process_time()
        est = LSTMAutoencoderTransformer(n_components=16, random_state=seed).fit(
            p["X_train"]
        )
        fit_s = time.process_time() - t0
        Ztr, Zte = est.transform(p["X_train"]), est.transform(p["X_test"])
        acc = (
            make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
            .fit(Ztr, p["y_train"])
            .score(Zte, p["y_test"])
        )
        res = dict(
            name=a.name, cfg=CFG, problem=name, seed=seed, acc16=float(acc), fit_s=fit_s
        )
        print(json.dumps(res), flush=True)
        with open(a.log, "a") as f:
            f.write(json.dumps(res) + "\n")
