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

import json
import os
import sys

os.environ.setdefault("OMP_NUM_THREADS", "1")
import torch  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _screen import legacy_code, run_screen, screen_args  # noqa: E402

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
    code_loss = (
        self._feature_loss(f, c, x_in, lengths, generator) if self.training else None
    )
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

legacy_code()  # the code design this screen studies
args = screen_args("benchmarks/out/exp/code_regularisers.jsonl")
CFG.update(json.loads(args.cfg))
run_screen(
    args,
    CFG,
    lambda seed: LSTMAutoencoderTransformer(n_components=16, random_state=seed),
)
