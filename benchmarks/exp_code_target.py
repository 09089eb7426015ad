"""Research screen: what the feature loss asks the 16-value code to predict.

Before commit 8a010ab the feature loss (``feature_loss=3.0``) made a linear
read-out of the code predict the pooled encoder features (576 values),
standardised over the batch. The default ``transform`` (``n_components=None``) is
much stronger than those pooled features alone, because it adds the shares of
steps above quantile thresholds of every conv channel and of the first block's
kernels read at several dilations, on the series and on its differences. This
screen extends the feature loss's target (``--cfg``):

- ``{"target": "none"}``: the pooled features alone (the defaults before 8a010ab);
- ``{"target": "q"}``: and the quantile shares, with thresholds taken per batch
  (the 25/50/75% quantiles of each channel's values over the batch's valid
  steps, from at most ``rows`` evenly spaced steps), so the code is pulled
  towards the principal subspace of the default features;
- ``{"target": "ppv0"}``: and the dilated maps' shares of positive values (no
  quantiles), computed over every step of the full maps;
- ``{"coarse": 32, "coarse_weight": w}``: the estimator's target plus a second
  term, w times the error of a linear read-out of the code predicting the
  standardised input's means over 32 equal parts of each sequence (PCA-like
  pressure, for the short aligned series where PCA(16) beats the code);
- ``{}``: the estimator as it is (since 8a010ab: ppv0's shares estimated at 128
  random steps of each sequence, ``feature_loss_steps``); ``{"steps": k}``: at k.

``{"weight": w}`` sets the feature loss's weight (default 3; with ``target``
only); ``{"feature_loss": w}`` sets the estimator's ``feature_loss``. With
``--default`` the default transform (``n_components=None``) is measured instead of
the code; ``{"default_steps": 128}`` then trains its module with the sampled
shares in the feature loss too (the adopted defaults do not). It prints and
appends to ``--log`` the test accuracy of StandardScaler + LogisticRegression on
the code (or the default features) and the fit's CPU seconds.

Usage (benchmark environment, repository root)::

    PYTHONPATH=. benchmarks/.venv/bin/python benchmarks/exp_code_target.py \
        --name q --cfg '{"target": "q"}' --seeds 0 1
"""

import json
import os
import sys

os.environ.setdefault("OMP_NUM_THREADS", "1")
import torch  # noqa: E402
from torch import nn  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _screen import legacy_code, run_screen, screen_args  # noqa: E402

from sksequence import LSTMAutoencoderTransformer  # noqa: E402
from sksequence import _autoencoder as _A  # noqa: E402
from sksequence.nn import autoencoder as A  # noqa: E402
from sksequence.nn.functional import length_mask  # noqa: E402
from sksequence.nn.pooling import masked_mean  # noqa: E402

torch.set_num_threads(1)
CFG = {}
_init = A.SequenceAutoencoder.__init__


_Q = (0.25, 0.5, 0.75)


def _extra_size(self) -> int:
    q = len(_Q)
    c1 = self.front.convs[0].out_channels
    n_dil = len(self.ppv_dilations) * (1 + self.ppv_differences)
    if CFG.get("target") == "q":
        return q * (sum(c.out_channels for c in self.front.convs) + n_dil * c1)
    if CFG.get("target") == "ppv0":
        return n_dil * c1
    return 0


def __init__(self, *args, **kwargs):
    _init(self, *args, **kwargs)
    # the module of a code (n_components set) has no shares: read its maps anyway
    self.ppv_dilations = tuple(kwargs.get("ppv_dilations", ()))
    self.ppv_differences = bool(kwargs.get("ppv_differences") and self.ppv_dilations)
    self.extra_head = None
    if self.feature_loss and self.front is not None and _extra_size(self):
        self.extra_head = nn.Linear(self.code_size, _extra_size(self))


def _batch_shares(self, x, lengths):
    """(N, extra) targets of the batch (no gradient)."""
    out = []
    rows = CFG.get("rows", 4096)
    maps = list(self._threshold_maps(x, lengths))
    if CFG.get("target") == "ppv0":
        maps = maps[len(self.front.convs) :]
    for pre, lens in maps:
        if CFG.get("target") == "ppv0":
            out.append(masked_mean((pre > 0).to(pre.dtype), lens))
            continue
        if lens is None:
            v = pre.reshape(-1, pre.shape[-1])
        else:
            v = pre[length_mask(lens.to(pre.device), pre.shape[1])]
        v = v[:: max(1, len(v) // rows)]
        qs = torch.quantile(v, torch.tensor(_Q, dtype=v.dtype), dim=0)
        for t in qs:  # (C,)
            out.append(masked_mean((pre > t).to(pre.dtype), lens))
    return torch.cat(out, dim=-1)


def _read_out_error(pred, t):
    """(N,): the squared error of ``pred`` against the targets ``t`` (N, K),
    standardised over the batch, as the module's feature loss measures it."""
    std = t.std(dim=0, unbiased=False)
    t = (t - t.mean(dim=0)) / torch.where(std > 1e-4, std, torch.ones_like(std))
    return (pred - t).pow(2).mean(dim=1)


def _feature_loss(self, f, c, x=None, lengths=None, generator=None):
    """The feature loss before 8a010ab (the pooled features), its target extended
    per CFG's ``target``."""
    if not self.feature_loss or f.shape[0] < 2:
        return None
    t = f.detach()
    pred = self.feature_head(c)
    if self.extra_head is not None and x is not None:
        with torch.no_grad():
            t = torch.cat([t, _batch_shares(self, x, lengths)], dim=-1)
        pred = torch.cat([pred, self.extra_head(c)], dim=-1)
    return CFG.get("weight", self.feature_loss) * _read_out_error(pred, t)


_module_feature_loss = A.SequenceAutoencoder._feature_loss


def _coarse_means(x, lengths, k):
    """(N, k F): the means of ``x`` (N, L, F) over k equal parts of each
    sequence's valid steps."""
    n, steps, f = x.shape
    lens = torch.full((n,), steps) if lengths is None else lengths.to(x.device)
    t = torch.arange(steps, device=x.device)[None, :]  # (1, L)
    part = (t * k // lens[:, None]).clamp(max=k - 1)  # (N, L)
    valid = (t < lens[:, None]).to(x.dtype)  # (N, L)
    one_hot = torch.nn.functional.one_hot(part, k).to(x.dtype) * valid[..., None]
    sums = torch.einsum("nlk,nlf->nkf", one_hot, x)
    counts = one_hot.sum(dim=1).clamp(min=1)[..., None]  # (N, k, 1)
    return (sums / counts).reshape(n, k * f)


def _init_coarse(self, *args, **kwargs):
    _init(self, *args, **kwargs)
    self.coarse_head = None
    if self.feature_loss:
        self.coarse_head = nn.Linear(self.code_size, CFG["coarse"] * self.input_size)


def _feature_loss_coarse(self, f, c, x=None, lengths=None, generator=None):
    """The module's feature loss plus ``coarse_weight`` times the squared error
    of a linear read-out of the code predicting the input's ``coarse`` part
    means (standardised over the batch): PCA-like pressure on the code."""
    loss = _module_feature_loss(self, f, c, x, lengths, generator)
    if loss is None or x is None:
        return loss
    t = _coarse_means(x, lengths, CFG["coarse"]).detach()
    err = _read_out_error(self.coarse_head(c), t)
    return loss + CFG.get("coarse_weight", 1.0) * err


legacy_code()  # the code design this screen studies
args = screen_args(
    "benchmarks/out/exp/code_target.jsonl",
    lambda ap: ap.add_argument(
        "--default",
        action="store_true",
        help="measure the default transform (n_components=None) instead of the code",
    ),
)
CFG.update(json.loads(args.cfg))
if "target" in CFG:  # the feature loss before 8a010ab, or a full-map variant
    _A._FEATURE_LOSS_STEPS = 0
    A.SequenceAutoencoder.__init__ = __init__
    A.SequenceAutoencoder._feature_loss = _feature_loss
elif "steps" in CFG:  # the adopted sampled shares at another number of steps
    _A._FEATURE_LOSS_STEPS = int(CFG["steps"])
if CFG.get("coarse"):  # the adopted target plus the input's coarse part means
    A.SequenceAutoencoder.__init__ = _init_coarse
    A.SequenceAutoencoder._feature_loss = _feature_loss_coarse
if CFG.get("default_steps"):  # the default transform's module trained with them too
    _module_kwargs = LSTMAutoencoderTransformer._module_kwargs

    def _with_steps(self, *args, **kwargs):
        return dict(
            _module_kwargs(self, *args, **kwargs),
            feature_loss_steps=CFG["default_steps"],
        )

    LSTMAutoencoderTransformer._module_kwargs = _with_steps
kwargs = dict(n_components=None if args.default else 16)
if "feature_loss" in CFG:
    kwargs["feature_loss"] = float(CFG["feature_loss"])
run_screen(
    args,
    CFG,
    lambda seed: LSTMAutoencoderTransformer(random_state=seed, **kwargs),
    key="acc_default" if args.default else "acc16",
)
