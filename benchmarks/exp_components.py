"""Research screen: which k directions of the default features make the best short
feature vector (``n_components=k``) for a linear model.

``--fit`` fits ``LSTMAutoencoderTransformer(random_state=seed)`` (the defaults)
once per problem and saves its default features of the training and test series
(``benchmarks/out/exp/comp/<problem>_s<seed>.npz``). ``--table`` then scores, on
those saved features, ways to reduce them to 16 values (each fitted on the
training features only, without labels), with the benchmark's linear model
(StandardScaler + LogisticRegression, test accuracy, mean over the saved seeds):

- ``pca``: the 16 leading principal components of the standardised features
  (what ``n_components=16`` returns);
- ``pcaK_kurt``: of the K leading components, the 16 with the lowest kurtosis
  over the training series (most bimodal: a direction that splits the series
  into groups has a low kurtosis; projection pursuit's clustering index);
- ``ica``: FastICA's 16 components of the standardised features (whitened by
  its own PCA to 16 first, so the same subspace as ``pca``, rotated);
- ``icaK_kurt``: FastICA on the K leading components, keeping the 16 with the
  lowest kurtosis;
- ``all``: the standardised features themselves (the default transform);
- ``pcvF``: the leading principal components that explain the share F of the
  standardised features' variance (as ``PCA(n_components=F)``; 0.95, 0.99);
- ``krbfG``: kernel PCA (RBF kernel, gamma G / the median squared distance
  between training series), 16 components;
- ``ddR``: the standardised features with near-duplicates dropped (greedily,
  in column order, a feature whose absolute correlation over the training
  series with a kept one is at least R);
- ``pca_shares`` / ``pca_pooled``: the 16 leading components of the shares
  alone (the columns after the 576 pooled features) or of the pooled features
  alone; ``pca_blocks``: of the three blocks (pooled features, the conv
  blocks' shares, the dilated kernels' shares) each weighted by one over the
  square root of its width, so that each holds the same variance.

- ``pcadd0.9``, ``pcarow``, ``pcaclipC``, ``pcarank``, ``pcaraw``: the 16
  leading components after near-duplicates are dropped, of the rows scaled to
  unit length, of the features clipped to +-C, of a rank-Gauss transform, of
  the unstandardised features;
- ``diffE``: a diffusion map's 16 leading coordinates (Gaussian kernel of
  width E times the median squared distance; Nystrom extension to the test
  series);
- ``kmtriK`` / ``kmdisK``: k-means with 16 centroids in the K leading
  whitened components; the "triangle" activations (Coates and Ng 2011) or the
  distances to the centroids.

``--dilk`` reads the features of today's defaults that
``exp_dilated_kernels.py`` saved (its ``zm+dense`` set: the same fits, seeds
0-2) instead of this script's own.

``--classifier`` scores with another downstream model after the same
StandardScaler: ``lr`` (the benchmark's), ``ridge`` (RidgeClassifierCV, alphas
1e-3..1e3) or ``knn`` (1-nearest neighbour).

Usage (benchmark environment, repository root; one torch thread)::

    PYTHONPATH=. benchmarks/.venv/bin/python benchmarks/exp_components.py --fit --seed 0
    PYTHONPATH=. benchmarks/.venv/bin/python benchmarks/exp_components.py --table
"""

from __future__ import annotations

import argparse
import collections
import glob
import os
import sys
import time
import warnings

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _ucr_data import DEV, HELD_OUT, UNSEEN, load_problem  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "out", "exp", "comp")
DILK = os.path.join(os.path.dirname(OUT), "dilk")
K = 16
POOLED = 576  # the default architecture's pooled features, first in transform


def fit(seed, problems):
    import torch

    from sksequence import LSTMAutoencoderTransformer

    torch.set_num_threads(1)
    os.makedirs(OUT, exist_ok=True)
    for name in problems:
        path = os.path.join(OUT, f"{name}_s{seed}.npz")
        if os.path.exists(path):
            continue
        prob = load_problem(name)
        t0 = time.process_time()
        est = LSTMAutoencoderTransformer(random_state=seed)
        ftr = est.fit_transform(prob["X_train"])
        fte = est.transform(prob["X_test"])
        np.savez(
            path,
            ftr=ftr,
            fte=fte,
            ytr=prob["y_train"],
            yte=prob["y_test"],
            cpu=time.process_time() - t0,
        )
        print(
            f"{name} s{seed}: {ftr.shape} {time.process_time() - t0:.1f}s", flush=True
        )


def _standardise(ftr, fte):
    mean, sd = ftr.mean(0), ftr.std(0)
    sd = np.where(sd > 1e-6, sd, 1.0)
    return (ftr - mean) / sd, (fte - mean) / sd


def _pca(ztr, zte, k):
    mean = ztr.mean(0)
    _, s, vt = np.linalg.svd(ztr - mean, full_matrices=False)
    k = min(k, len(s))
    return (ztr - mean) @ vt[:k].T, (zte - mean) @ vt[:k].T


def _kurtosis(a):
    a = (a - a.mean(0)) / np.maximum(a.std(0), 1e-12)
    return (a**4).mean(0) - 3.0


def _lowest_kurtosis(ptr, pte, k):
    keep = np.argsort(_kurtosis(ptr))[:k]
    return ptr[:, keep], pte[:, keep]


def _ica(ptr, pte, k, seed):
    from sklearn.decomposition import FastICA

    ica = FastICA(
        n_components=min(k, ptr.shape[1]),
        whiten="unit-variance",
        random_state=seed,
        max_iter=1000,
    )
    return ica.fit_transform(ptr), ica.transform(pte)


def variant(name, ftr, fte, seed):
    ztr, zte = _standardise(ftr, fte)
    if name == "all":
        return ztr, zte
    if name == "pca":
        return _pca(ztr, zte, K)
    if name.startswith("pca") and name.endswith("_kurt"):
        wide = int(name[3:-5])
        return _lowest_kurtosis(*_pca(ztr, zte, wide), K)
    if name == "ica":
        return _ica(*_pca(ztr, zte, K), K, seed)
    if name.startswith("ica") and name.endswith("_kurt"):
        wide = int(name[3:-5])
        itr, ite = _ica(*_pca(ztr, zte, wide), wide, seed)
        return _lowest_kurtosis(itr, ite, K)
    if name.startswith("pcv"):
        share = float(name[3:])
        s = np.linalg.svd(ztr - ztr.mean(0), compute_uv=False)
        explained = np.cumsum(s**2) / np.sum(s**2)
        return _pca(ztr, zte, int(np.searchsorted(explained, share)) + 1)
    if name.startswith("krbf"):
        from sklearn.decomposition import KernelPCA

        d2 = ((ztr[:, None, :] - ztr[None, :, :]) ** 2).sum(-1)
        gamma = float(name[4:]) / np.median(d2[d2 > 0])
        kpca = KernelPCA(min(K, len(ztr) - 1), kernel="rbf", gamma=gamma).fit(ztr)
        return kpca.transform(ztr), kpca.transform(zte)
    if name in ("pca_shares", "pca_pooled", "pca_blocks"):
        width = ztr.shape[1]
        blocks = [(0, POOLED), (POOLED, 2 * POOLED), (2 * POOLED, width)]
        weight = np.zeros(width)
        for i, (lo, hi) in enumerate(blocks):
            if name == "pca_blocks":
                weight[lo:hi] = 1 / np.sqrt(hi - lo)
            elif (i == 0) == (name == "pca_pooled"):
                weight[lo:hi] = 1.0
        return _pca(ztr * weight, zte * weight, K)
    if name.startswith("pcadd"):
        z = variant(name[3:], ftr, fte, seed)
        return _pca(*z, K)
    if name == "pcarow":
        ntr = np.linalg.norm(ztr, axis=1, keepdims=True)
        nte = np.linalg.norm(zte, axis=1, keepdims=True)
        return _pca(ztr / ntr, zte / nte, K)
    if name.startswith("pcaclip"):
        c = float(name[7:])
        return _pca(np.clip(ztr, -c, c), np.clip(zte, -c, c), K)
    if name == "pcarank":
        from sklearn.preprocessing import QuantileTransformer

        q = QuantileTransformer(
            n_quantiles=min(len(ztr), 1000), output_distribution="normal"
        ).fit(ztr)
        return _pca(q.transform(ztr), q.transform(zte), K)
    if name == "pcaraw":
        return _pca(ftr, fte, K)
    if name.startswith("diff"):
        # diffusion map (alpha=1), Nystrom extension to the test series
        d2 = ((ztr[:, None, :] - ztr[None, :, :]) ** 2).sum(-1)
        eps = float(name[4:]) * np.median(d2[d2 > 0])
        kt = np.exp(-d2 / eps)
        q = kt.sum(1)
        kt1 = kt / np.outer(q, q)
        d = kt1.sum(1)
        sym = kt1 / np.sqrt(np.outer(d, d))
        w, v = np.linalg.eigh(sym)
        order = np.argsort(w)[::-1][1 : K + 1]
        w, v = w[order], v[:, order]
        psi = v / np.sqrt(d)[:, None]
        d2e = ((zte[:, None, :] - ztr[None, :, :]) ** 2).sum(-1)
        ke = np.exp(-d2e / eps)
        ke1 = ke / np.outer(ke.sum(1), q)
        pe = ke1 / ke1.sum(1, keepdims=True)
        return psi, (pe @ psi) / w
    if name.startswith("km"):  # k-means "triangle" features (Coates & Ng 2011)
        from sklearn.cluster import KMeans

        kind, wide = name[2:5], int(name[5:])
        ptr, pte = _pca(ztr, zte, wide)
        sd = ptr.std(0)
        ptr, pte = ptr / sd, pte / sd
        km = KMeans(K, n_init=10, random_state=seed).fit(ptr)
        dtr, dte = km.transform(ptr), km.transform(pte)
        if kind == "tri":
            return (
                np.maximum(0, dtr.mean(1, keepdims=True) - dtr),
                np.maximum(0, dte.mean(1, keepdims=True) - dte),
            )
        return dtr, dte
    if name.startswith("dd"):
        corr = np.nan_to_num(np.abs(np.corrcoef(ztr.T)))
        free, keep = np.ones(len(corr), bool), []
        for i in range(len(corr)):
            if free[i]:
                keep.append(i)
                free &= corr[i] < float(name[2:])
        return ztr[:, keep], zte[:, keep]
    raise ValueError(name)


VARIANTS = [
    "all",
    "pca",
    "pca32_kurt",
    "pca64_kurt",
    "ica",
    "ica32_kurt",
    "ica64_kurt",
]


def score(ztr, zte, ytr, yte, classifier="lr"):
    from sklearn.linear_model import LogisticRegression, RidgeClassifierCV
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = {
        "lr": lambda: LogisticRegression(max_iter=2000),
        "ridge": lambda: RidgeClassifierCV(alphas=np.logspace(-3, 3, 10)),
        "knn": lambda: KNeighborsClassifier(1),
    }[classifier]()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pipe = make_pipeline(StandardScaler(), model)
        pipe.fit(ztr, ytr)
        return float(np.mean(pipe.predict(zte) == yte))


def table(variants, classifier="lr", dilk=False):
    acc = collections.defaultdict(list)
    for path in sorted(glob.glob(os.path.join(DILK if dilk else OUT, "*.npz"))):
        problem, seed = os.path.basename(path)[:-4].rsplit("_s", 1)
        d = np.load(path)
        if dilk:  # exp_dilated_kernels.py's layout: its zm+dense set
            ftr, fte = d["tr_zm+dense"], d["te_zm+dense"]
            ytr, yte = d["y_train"], d["y_test"]
        else:
            ftr, fte, ytr, yte = d["ftr"], d["fte"], d["ytr"], d["yte"]
        ftr, fte = ftr.astype(np.float64), fte.astype(np.float64)
        for v in variants:
            ztr, zte = variant(v, ftr, fte, int(seed))
            acc[problem, v].append(score(ztr, zte, ytr, yte, classifier))
    groups = [("dev", DEV), ("held out", HELD_OUT), ("never tuned", UNSEEN)]
    print("| problem | " + " | ".join(variants) + " |")
    print("|---" * (len(variants) + 1) + "|")
    for label, names in groups:
        names = [n for n in names if (n, variants[0]) in acc]
        for n in names:
            cells = [f"{np.mean(acc[n, v]):.3f}" for v in variants]
            print(f"| {n} ({len(acc[n, variants[0]])}) | " + " | ".join(cells) + " |")
        if names:
            means = [np.mean([np.mean(acc[n, v]) for n in names]) for v in variants]
            print(
                f"| **mean {label}** | " + " | ".join(f"{m:.3f}" for m in means) + " |"
            )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--fit", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--problems", nargs="*", default=DEV + HELD_OUT + UNSEEN)
    parser.add_argument("--table", action="store_true")
    parser.add_argument("--variants", nargs="*", default=VARIANTS)
    parser.add_argument("--classifier", choices=["lr", "ridge", "knn"], default="lr")
    parser.add_argument("--dilk", action="store_true")
    args = parser.parse_args(argv)
    if args.fit:
        fit(args.seed, args.problems)
    if args.table:
        table(args.variants, args.classifier, args.dilk)


if __name__ == "__main__":
    main()
