"""Research: reconstruction errors from codes held to the training codes.

The autoencoder rebuilds series of other classes nearly as well as its own, so
its reconstruction error separates classes weakly (``RESULTS.md``, "Anomaly
scores"). Memory-augmented autoencoders (Gong et al. 2019, "Memorizing
Normality to Detect Anomaly") rebuild each input from a combination of codes
of normal data, so that an anomaly is rebuilt as something normal. This
screen tries that after the fit, with the training sequences' codes as the
memory, on the protocol of ``bench_autoencoder_real.py --tasks anom`` (fit on
one class, AUROC of "another class" on the test set, mean over the classes),
every candidate from the SAME fitted model:

- ``mae``: the default score (the plain reconstruction's mean absolute error);
- ``nn1``: rebuilt from the nearest training code;
- ``knn3``: from the mean of the 3 nearest training codes;
- ``lle5``: from the affine combination of the 5 nearest training codes
  closest to the code (weights summing to one, ridge 1e-3), as in locally
  linear embedding;
- ``soft``: from a softmax-weighted mean of all training codes (temperature:
  the training codes' median squared nearest-neighbour distance);
- ``span``: from the code's projection onto the affine span of the training
  codes (the identity when they span the code space, n_train > 16);
- ``span90``: onto the span of their leading principal axes that hold 90% of
  their variance;
- ``fspan``, ``fspan90``, ``fpc4``: the same projections one step earlier, on
  the encoder's pooled features (576 values, which the bottleneck reads
  linearly) instead of the 16-value code: onto the affine span of the
  training sequences' features, onto their axes holding 90% of the variance,
  and onto their 4 leading axes (features standardised by the training
  sequences' statistics for the axes); then bottleneck and decoder as usual;
- ``fspan_raw``, ``fspan_floor``: ``fspan`` with the projection taken in the
  features' own units (not standardised), or with each feature's standard
  deviation floored at the features' median one, or divided by the square
  root of its standard deviation (``fspan_sqrt``, between the two); ``fspan_mix``: the mean of
  the ``fspan`` and ``fspan_raw`` errors.
- held closer to the training features, each the mean of its standardised and
  own-unit errors as ``fspan_mix``: ``fclip_mix``, the span coordinates clipped
  to the training sequences' range on every axis; ``flle5_mix``, the affine
  combination of the 5 nearest training features (locally linear embedding,
  ridge 1e-3); ``fnn1_mix`` the nearest training feature vector itself;
  ``fknn3_mix`` the mean of the 3 nearest.
- ``fspan_max``, ``fspan_gmean``: the larger, or the geometric mean, of the
  ``fspan`` and ``fspan_raw`` errors instead of their mean.

Errors are mean absolute errors in standardised units over each sequence's
valid steps. ``--json`` appends one record per (problem, class, seed);
``--params`` sets estimator parameters (JSON) for a run.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import set_threads  # noqa: E402
from _ucr_data import load_problem, subset  # noqa: E402

from sksequence.nn.functional import masked_mae  # noqa: E402

CANDIDATES = ("mae", "nn1", "knn3", "lle5", "soft", "span", "span90")
FEATURE_CANDIDATES = (
    "fspan",
    "fspan90",
    "fpc4",
    "fspan_raw",
    "fspan_floor",
    "fspan_mix",
    "fspan_sqrt",
    "fclip_mix",
    "flle5_mix",
    "fnn1_mix",
    "fknn3_mix",
    "fspan_max",
    "fspan_gmean",
)


def _tensors(est, X, dtype=torch.float32):
    """The estimator's module inputs of ``X``: (x (N, L, F), lengths or None)."""
    arrays = est._inputs(X).inputs()
    x = torch.as_tensor(np.asarray(arrays["x"]), dtype=dtype)
    lengths = arrays.get("lengths")
    lengths = None if lengths is None else torch.as_tensor(np.asarray(lengths))
    return x, lengths


@torch.no_grad()
def _codes(m, x, lengths):
    xs = m.scale(x, lengths)
    return m.norm(m.bottleneck(m.features(xs, lengths))), xs


@torch.no_grad()
def _feature_projections(f_te, f_tr):
    mean = f_tr.mean(dim=0)
    std = f_tr.std(dim=0)
    out = {}
    scales = {
        "": std.clamp(min=1e-6),
        "_raw": torch.ones_like(std),
        "_floor": std.clamp(min=float(std.median())),
        "_sqrt": std.clamp(min=1e-6).sqrt(),
    }
    for suffix, sd in scales.items():
        z_tr = (f_tr - mean) / sd
        z_te = (f_te - mean) / sd
        _, s, vt = torch.linalg.svd(z_tr, full_matrices=False)
        rank = int((s > 1e-5 * s[0]).sum())
        if suffix in ("", "_raw"):
            v = vt[:rank]
            a_tr, a_te = z_tr @ v.T, z_te @ v.T  # span coordinates
            clipped = torch.maximum(
                torch.minimum(a_te, a_tr.max(0).values), a_tr.min(0).values
            )
            out["fclip" + suffix] = mean + (clipped @ v) * sd
            for name, z in _local_features(z_te, z_tr).items():
                out[name + suffix] = mean + z * sd
        share = (s**2).cumsum(0) / (s**2).sum()
        r90 = int((share < 0.9).sum()) + 1
        rows = [("fspan", rank)]
        if not suffix:
            rows += [("fspan90", min(r90, rank)), ("fpc4", min(4, rank))]
        for name, r in rows:
            v = vt[:r]
            out[name + suffix] = mean + (z_te @ v.T @ v) * sd
    return out


@torch.no_grad()
def _error(m, c, xs, lengths):
    out = m._reconstruct_scaled(c, xs.shape[1], lengths)
    return masked_mae(out, xs, lengths, "none").numpy()


def _sq(a, b):
    return ((a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2 * a @ b.T).clamp(
        min=0
    )


def _local_features(z_te, z_tr):
    """Nearest-neighbour reconstructions of z_te from the rows of z_tr."""
    d = _sq(z_te, z_tr)
    order = d.argsort(dim=1)
    out = {"fnn1": z_tr[order[:, 0]]}
    out["fknn3"] = z_tr[order[:, : min(3, len(z_tr))]].mean(dim=1)
    k = min(5, len(z_tr))
    nb = z_tr[order[:, :k]]
    g = nb - z_te[:, None, :]
    gram = g @ g.transpose(1, 2)
    reg = 1e-3 * gram.diagonal(dim1=1, dim2=2).sum(-1).clamp(min=1e-8)
    gram = gram + reg[:, None, None] * torch.eye(k)
    w = torch.linalg.solve(gram, torch.ones(len(z_te), k, 1))[..., 0]
    w = w / w.sum(dim=1, keepdim=True)
    out["flle5"] = (w[:, :, None] * nb).sum(dim=1)
    return out


def _memory_codes(c_te, c_tr):
    d = _sq(c_te, c_tr)  # (n_te, n_tr)
    order = d.argsort(dim=1)
    n_tr = len(c_tr)
    out = {"nn1": c_tr[order[:, 0]]}
    k = min(3, n_tr)
    out["knn3"] = c_tr[order[:, :k]].mean(dim=1)
    k = min(5, n_tr)
    nb = c_tr[order[:, :k]]  # (n, k, C)
    g = nb - c_te[:, None, :]  # (n, k, C)
    gram = g @ g.transpose(1, 2)  # (n, k, k)
    reg = 1e-3 * gram.diagonal(dim1=1, dim2=2).sum(-1).clamp(min=1e-8)
    gram = gram + reg[:, None, None] * torch.eye(k)
    w = torch.linalg.solve(gram, torch.ones(len(c_te), k, 1))[..., 0]
    w = w / w.sum(dim=1, keepdim=True)
    out["lle5"] = (w[:, :, None] * nb).sum(dim=1)
    dtr = _sq(c_tr, c_tr)
    dtr.fill_diagonal_(float("inf"))
    tau = dtr.min(dim=1).values.median().clamp(min=1e-8)
    out["soft"] = torch.softmax(-d / tau, dim=1) @ c_tr
    mean = c_tr.mean(dim=0)
    _, s, vt = torch.linalg.svd(c_tr - mean, full_matrices=False)
    rank = int((s > 1e-5 * s[0]).sum())
    share = (s**2).cumsum(0) / (s**2).sum()
    r90 = int((share < 0.9).sum()) + 1
    for name, r in (("span", rank), ("span90", min(r90, rank))):
        v = vt[:r]  # (r, C)
        out[name] = mean + (c_te - mean) @ v.T @ v
    return out


def fit_class(prob, cls, seed, params=None):
    """The estimator (defaults and ``params``) fitted on the training series of
    class ``cls``: (estimator, those series, the fit's CPU seconds)."""
    from sksequence import LSTMAutoencoderTransformer

    Xn = subset(prob["X_train"], np.flatnonzero(prob["y_train"] == cls))
    est = LSTMAutoencoderTransformer(random_state=seed, **(params or {}))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        c0 = time.process_time()
        est.fit(Xn)
        cpu = time.process_time() - c0
    return est, Xn, cpu


def one(prob, cls, seed, params=None):
    est, Xn, cpu = fit_class(prob, cls, seed, params)
    m = est.net_.module_.eval()
    x_tr, l_tr = _tensors(est, Xn)
    x_te, l_te = _tensors(est, prob["X_test"])
    c_tr, _ = _codes(m, x_tr, l_tr)
    c_te, xs_te = _codes(m, x_te, l_te)
    scores = {"mae": _error(m, c_te, xs_te, l_te)}
    for name, c in _memory_codes(c_te, c_tr).items():
        scores[name] = _error(m, c, xs_te, l_te)
    with torch.no_grad():
        f_tr = m.features(m.scale(x_tr, l_tr), l_tr)
        f_te = m.features(xs_te, l_te)
        for name, f in _feature_projections(f_te, f_tr).items():
            scores[name] = _error(m, m.norm(m.bottleneck(f)), xs_te, l_te)
    scores["fspan_mix"] = (scores["fspan"] + scores["fspan_raw"]) / 2
    scores["fspan_max"] = np.maximum(scores["fspan"], scores["fspan_raw"])
    scores["fspan_gmean"] = np.sqrt(scores["fspan"] * scores["fspan_raw"])
    for name in ("fclip", "flle5", "fnn1", "fknn3"):
        scores[name + "_mix"] = (scores.pop(name) + scores.pop(name + "_raw")) / 2
    from sklearn.metrics import roc_auc_score

    y = np.asarray(prob["y_test"]) != cls
    return {k: float(roc_auc_score(y, v)) for k, v in scores.items()}, cpu


def main(one=one, candidates=CANDIDATES + FEATURE_CANDIDATES):
    """The command line of this screen; another per-class anomaly screen passes
    its own ``one(prob, cls, seed, params) -> (aucs, cpu)`` and columns."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--problems", nargs="+", required=True)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--json", default=None)
    parser.add_argument("--table", nargs="+", default=None)
    parser.add_argument("--params", default="{}", help="estimator parameters (JSON)")
    parser.add_argument(
        "--updates",
        type=int,
        default=None,
        help='the budget of max_epochs="auto" in optimizer updates (default: the '
        "estimator's, 1000)",
    )
    args = parser.parse_args()
    if args.table:
        return table(args.table, candidates)
    set_threads(1)
    if args.updates:
        from sksequence import LSTMAutoencoderTransformer

        LSTMAutoencoderTransformer._auto_updates = args.updates
    for seed in args.seeds:
        for name in args.problems:
            prob = load_problem(name)
            for cls in np.unique(prob["y_train"]):
                params = json.loads(args.params)
                auc, cpu = one(prob, cls, seed, params)
                rec = dict(problem=name, cls=str(cls), seed=seed, cpu=cpu, **auc)
                rec["params"] = params
                if args.updates:
                    rec["updates"] = args.updates
                print(json.dumps(rec), flush=True)
                if args.json:
                    with open(args.json, "a") as fh:
                        fh.write(json.dumps(rec) + "\n")


def table(paths, candidates=CANDIDATES + FEATURE_CANDIDATES):
    recs = [json.loads(line) for p in paths for line in open(p)]
    probs = list(dict.fromkeys(r["problem"] for r in recs))
    cands = [c for c in candidates if c in recs[0]]
    print("| problem | " + " | ".join(cands) + " |")
    print("|---" * (len(cands) + 1) + "|")
    for p in probs:
        rs = [r for r in recs if r["problem"] == p]
        seeds = sorted({r["seed"] for r in rs})
        cells = []
        for c in cands:
            per_seed = [np.mean([r[c] for r in rs if r["seed"] == s]) for s in seeds]
            cells.append(f"{np.mean(per_seed):.3f}")
        print(f"| {p} ({len(seeds)} seeds) | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
