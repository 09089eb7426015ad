"""Research: the reconstruction error measured by the encoder (latent error).

The autoencoder rebuilds series of other classes nearly as well as its own in
the input's units, so the input-space error separates classes weakly
(``RESULTS.md``, "Anomaly scores"), while the encoder's pooled features separate
them well (the nearest-neighbour distance there). GANomaly (Akcay et al. 2018)
scores a sample by the distance between the encoding of the input and the
encoding of its reconstruction: a reconstruction error, measured in the
encoder's space instead of the input's. This screen tries that on the
protocol of ``bench_autoencoder_real.py --tasks anom`` (fit on one class, AUROC
of "another class" on the test set, mean over the classes), every candidate
from the SAME fitted model (the defaults):

- ``mae``: ``-score_samples`` (the default score: the mean absolute error of
  the reconstructions decoded from the training features' span, mean of its
  two metrics);
- ``lat``: the Euclidean distance between the standardised pooled features
  (the bottleneck's input; mean and std of the training sequences) of the
  sequence and of its reconstruction, mean over the same two reconstructions;
  ``lat_plain``: the same for the plain reconstruction (no span);
- ``lat_full``: the same with the default ``transform`` vector (pooled
  features, quantile shares, dilated kernels' shares) instead;
- ``fres``: the distance of the standardised features to their projection on
  the training features' affine span (what the span drops);
- ``nn``: the distance of the standardised features to the nearest training
  sequence's (what ``anomaly_score="combined"`` adds);
- products, which rank as sums of logs (``combined`` ranks as ``mae * nn``):
  ``mae_lat``, ``mae_latfull``, ``mae_fres``, ``combined``; and ``mae_lat2``,
  ``mae * lat ** 2``.

``--json`` appends one record per (problem, class, seed); ``--table`` prints
the means. Same command line as ``exp_anomaly_memory.py``; with the
environment variable ``ANOM_DUMP=DIR`` each fit's raw scores are saved there,
and ``--products DIR`` prints the products' table from them.
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from exp_anomaly_memory import _tensors, fit_class, main  # noqa: E402

CANDIDATES = (
    "mae",
    "lat",
    "lat_plain",
    "lat_full",
    "fres",
    "nn",
    "mae_lat",
    "mae_lat2",
    "mae_latfull",
    "mae_fres",
    "combined",
    "fres_raw",
    "mae_fres1",
    "mae_fresmix",
    "mae_fresmix1",
)


def _residual(z_te, z_tr):
    """Distance of each row of z_te to the affine span of the rows of z_tr, and
    the median of each training row's distance to the span of the others
    (1 / diag of the inverse of the bordered Gram matrix)."""
    centre = z_tr.mean(dim=0)
    _, s, vt = torch.linalg.svd(z_tr - centre, full_matrices=False)
    v = vt[: int((s > 1e-5 * s[0]).sum())]
    resid = (z_te - centre) - (z_te - centre) @ v.T @ v
    n = len(z_tr)
    c = z_tr - centre
    m = torch.zeros(n + 1, n + 1, dtype=z_tr.dtype)
    m[:n, :n] = c @ c.T
    m[:n, n] = 1
    m[n, :n] = 1
    loo = (1 / torch.linalg.inv(m).diagonal()[:n].clamp(min=1e-300)).sqrt()
    return resid.norm(dim=1).numpy(), float(loo.median())


def _z(f, mean, sd):
    return (f - mean) / sd


@torch.no_grad()
def one(prob, cls, seed, params=None):
    from sklearn.metrics import roc_auc_score

    est, Xn, cpu = fit_class(prob, cls, seed, params)
    m = est.net_.module_.eval()
    x_tr, l_tr = _tensors(est, Xn)
    x_te, l_te = _tensors(est, prob["X_test"])
    scores = {"mae": -est.score_samples(prob["X_test"])}

    f_tr = m.pooled_encoding(x_tr, l_tr, shares=False).double()
    g_tr = m.pooled_encoding(x_tr, l_tr, shares=True).double()
    stats = {}
    for key, f in (("p", f_tr), ("g", g_tr)):
        sd = f.std(dim=0)
        stats[key] = (f.mean(dim=0), torch.where(sd > 1e-6, sd, torch.ones_like(sd)))

    f_te = m.pooled_encoding(x_te, l_te, shares=False).double()
    g_te = m.pooled_encoding(x_te, l_te, shares=True).double()
    z_te = _z(f_te, *stats["p"])
    zg_te = _z(g_te, *stats["g"])
    z_tr = _z(f_tr, *stats["p"])

    def latent(view):
        out = m(x=x_te, lengths=l_te, span=view)["reconstruction"]
        fr = m.pooled_encoding(out, l_te, shares=False).double()
        gr = m.pooled_encoding(out, l_te, shares=True).double()
        a = (z_te - _z(fr, *stats["p"])).norm(dim=1)
        b = (zg_te - _z(gr, *stats["g"])).norm(dim=1)
        return a.numpy(), b.numpy()

    views = [latent(0), latent(1)]
    scores["lat"] = (views[0][0] + views[1][0]) / 2
    scores["lat_full"] = (views[0][1] + views[1][1]) / 2
    scores["lat_plain"] = latent(None)[0]

    scores["fres"], t = _residual(z_te, z_tr)
    scores["fres_raw"], t_raw = _residual(f_te, f_tr)
    d = torch.cdist(z_te, z_tr)
    scores["nn"] = d.min(dim=1).values.numpy()

    mae = scores["mae"]
    scores["mae_lat"] = mae * scores["lat"]
    scores["mae_lat2"] = mae * scores["lat"] ** 2
    scores["mae_latfull"] = mae * scores["lat_full"]
    scores["mae_fres"] = mae * scores["fres"]
    scores["combined"] = mae * np.maximum(scores["nn"], 1e-12)
    scores["mae_fres1"] = mae * (1 + scores["fres"] / t)
    mix = (scores["fres"] / t + scores["fres_raw"] / t_raw) / 2
    scores["mae_fresmix"] = mae * mix
    scores["mae_fresmix1"] = mae * (1 + mix)

    y = np.asarray(prob["y_test"]) != cls
    dump = os.environ.get("ANOM_DUMP")
    if dump:  # the raw scores, to score other combinations offline
        os.makedirs(dump, exist_ok=True)
        np.savez(
            os.path.join(dump, f"{prob['name']}_{cls}_{seed}.npz"),
            y=y,
            t=t,
            t_raw=t_raw,
            **{k: np.asarray(v) for k, v in scores.items()},
        )
    return {k: float(roc_auc_score(y, v)) for k, v in scores.items()}, cpu


ANCHORS = {  # PCA, NN (RESULTS.md, "Anomaly scores"; deterministic)
    "OSULeaf": (0.755, 0.802),
    "ACSF1": (0.597, 0.635),
    "PLAID": (0.756, 0.772),
    "Covid3Month_disc": (0.547, 0.641),
    "JapaneseVowels": (0.765, 0.753),
    "PickupGestureWiimoteZ": (0.836, 0.848),
    "GunPoint": (0.871, 0.846),
    "ArrowHead": (0.754, 0.768),
    "ItalyPowerDemand": (0.904, 0.887),
    "BasicMotions": (0.839, 0.847),
    "Coffee": (0.987, 0.962),
    "Trace": (0.888, 0.936),
}


def products(dump):
    """The table of RESULTS.md from the scores dumped with ``ANOM_DUMP``: the
    products of the error with the span distance, computed offline."""
    import collections
    import glob

    from sklearn.metrics import roc_auc_score

    def variants(z):
        mae, fres = z["mae"], z["fres"]
        r = fres / float(z["t"])
        nn = np.maximum(z["nn"], 1e-12)
        return {
            "mae": mae,
            "e1": mae * (1 + r),
            "lat": z["lat"],
            "fres": fres,
            "e0": mae * r,
            "p3": mae * (1 + r) ** 3,
            "combined": z["combined"],
            "comb_new": mae * (1 + r) * nn,
        }

    res = collections.defaultdict(lambda: collections.defaultdict(list))
    for path in sorted(glob.glob(os.path.join(dump, "*.npz"))):
        z = np.load(path)
        name, _, seed = os.path.basename(path)[:-4].rsplit("_", 2)
        for k, v in variants(z).items():
            res[name][(k, seed)].append(roc_auc_score(z["y"], v))
    keys = list(variants(z))
    print("| problem | " + " | ".join(keys) + " | PCA / NN |")
    for p in (p for p in ANCHORS if p in res):
        cells = []
        for k in keys:
            seeds = sorted({s for (kk, s) in res[p] if kk == k})
            per = [np.mean(res[p][(k, s)]) for s in seeds]
            mark = "**" if np.mean(per) >= max(ANCHORS[p]) - 1e-9 else ""
            cells.append(
                f"{mark}{np.mean(per):.3f} ({min(per):.3f}-{max(per):.3f}){mark}"
            )
        pca, nn = ANCHORS[p]
        print(f"| {p} | " + " | ".join(cells) + f" | {pca:.3f} / {nn:.3f} |")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--products"]:
        products(sys.argv[2])
    else:
        main(one=one, candidates=CANDIDATES)
