"""Research screen: 16 directions of the default features that augmentations
move least (an unsupervised, invariance-seeking alternative to the 16 leading
principal components that ``n_components=16`` returns).

``--fit`` fits ``LSTMAutoencoderTransformer(random_state=seed)`` (the
defaults) once per problem and saves its default features of the training
series, of ``--copies`` augmented copies of them (each series a random
contiguous 80-100% of its steps plus Gaussian noise of 0.1, the series being
z-normalised), and of the test series
(``benchmarks/out/exp/inv/<problem>_s<seed>.npz``). ``--table`` then scores,
on those saved features, ways to reduce them to 16 values without labels,
with the benchmark's linear model (StandardScaler + LogisticRegression, test
accuracy, mean over the saved seeds):

- ``pca``: the 16 leading principal components of the standardised training
  features, whitened (what ``n_components=16`` returns);
- ``invK``: in the K leading whitened components (each of unit variance over
  the training series), the 16 directions along which an augmented copy
  moves least from its series (the smallest eigenvalues of the covariance of
  the copies' differences): the directions with the most variance across
  series per unit of variance within a series' augmentations;
- ``halfK``: the 8 leading components, and the 8 directions of the other
  K - 8 that augmentations move least.

Usage (benchmark environment, repository root; one torch thread)::

    PYTHONPATH=.:benchmarks benchmarks/.venv/bin/python benchmarks/exp_invariant_components.py --fit --seed 0
    PYTHONPATH=.:benchmarks benchmarks/.venv/bin/python benchmarks/exp_invariant_components.py --table
"""

from __future__ import annotations

import argparse
import collections
import glob
import os
import warnings

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from _ucr_data import DEV, HELD_OUT, UNSEEN, load_problem  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "out", "exp", "inv")
VARIANTS = ["pca", "inv24", "inv32", "inv64", "half32", "half64"]


def augment(X, rng):
    """Each series: a random contiguous 80-100% of its steps, plus N(0, 0.1)."""
    out = []
    for x in X:
        n = len(x)
        keep = max(2, int(round(n * rng.uniform(0.8, 1.0))))
        start = rng.integers(0, n - keep + 1)
        part = x[start : start + keep]
        out.append((part + 0.1 * rng.normal(size=part.shape)).astype(np.float32))
    return out


def fit(seed, problems, copies):
    from sksequence import LSTMAutoencoderTransformer

    torch.set_num_threads(1)
    os.makedirs(OUT, exist_ok=True)
    for name in problems:
        prob = load_problem(name)
        Xtr, Xte = prob["X_train"], prob["X_test"]
        ae = LSTMAutoencoderTransformer(random_state=seed).fit(Xtr)
        rng = np.random.default_rng(1000 + seed)
        aug = [ae.transform(augment(Xtr, rng)) for _ in range(copies)]
        np.savez(
            os.path.join(OUT, f"{name}_s{seed}.npz"),
            ftr=ae.transform(Xtr),
            fte=ae.transform(Xte),
            faug=np.stack(aug),
            ytr=prob["y_train"],
            yte=prob["y_test"],
        )
        print(name, seed, "saved", flush=True)


def variant(name, ftr, fte, faug):
    mean, std = ftr.mean(0), ftr.std(0)
    std = np.where(std > 1e-8, std, 1.0)
    ztr, zte, zaug = (ftr - mean) / std, (fte - mean) / std, (faug - mean) / std
    # principal axes of the training features (economy SVD)
    _, s, vt = np.linalg.svd(ztr - ztr.mean(0), full_matrices=False)
    sd = s / np.sqrt(len(ztr))
    if name == "pca":
        k = 16
        w = vt[:k].T / np.maximum(sd[:k], 1e-12)
        return ztr @ w, zte @ w
    k = int(name[4:] if name.startswith("half") else name[3:])
    k = min(k, int((sd > 1e-6 * sd[0]).sum()))
    w = vt[:k].T / np.maximum(sd[:k], 1e-12)  # whitened: unit variance each
    ptr, pte = ztr @ w, zte @ w
    d = (zaug @ w) - ptr[None]  # (copies, n, k): each copy's move
    d = d.reshape(-1, k)
    nuisance = d.T @ d / len(d)
    if name.startswith("half"):  # 8 leading components, 8 least moved of the rest
        rest = nuisance[8:, 8:]
        vals, vecs = np.linalg.eigh(rest)
        r = np.zeros((k, 16))
        r[:8, :8] = np.eye(8)
        r[8:, 8:] = vecs[:, :8]
        return ptr @ r, pte @ r
    vals, vecs = np.linalg.eigh(nuisance)
    r = vecs[:, :16]  # the directions moved least
    return ptr @ r, pte @ r


def score(ztr, zte, ytr, yte):
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(ztr, ytr)
    return float(model.score(zte, yte))


def table(variants):
    res = collections.defaultdict(list)
    for path in sorted(glob.glob(os.path.join(OUT, "*_s*.npz"))):
        problem = os.path.basename(path).rsplit("_s", 1)[0]
        d = np.load(path, allow_pickle=True)
        for v in variants:
            ztr, zte = variant(v, d["ftr"], d["fte"], d["faug"])
            res[(problem, v)].append(score(ztr, zte, d["ytr"], d["yte"]))
    groups = [("development", DEV), ("held out", HELD_OUT), ("never tuned", UNSEEN)]
    print("| problem | " + " | ".join(variants) + " |")
    print("|---" * (len(variants) + 1) + "|")
    for label, names in groups:
        present = [p for p in names if (p, variants[0]) in res]
        for p in present:
            row = [np.mean(res[(p, v)]) for v in variants]
            print(f"| {p} | " + " | ".join(f"{x:.3f}" for x in row) + " |")
        if present:
            row = [np.mean([np.mean(res[(p, v)]) for p in present]) for v in variants]
            print(
                f"| **mean, {label}** | " + " | ".join(f"{x:.3f}" for x in row) + " |"
            )


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--fit", action="store_true")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--copies", type=int, default=2)
    ap.add_argument("--problems", nargs="*", default=DEV + HELD_OUT + UNSEEN)
    ap.add_argument("--table", action="store_true")
    ap.add_argument("--variants", nargs="*", default=VARIANTS)
    args = ap.parse_args(argv)
    if args.fit:
        fit(args.seed, args.problems, args.copies)
    if args.table:
        table(args.variants)


if __name__ == "__main__":
    main()
