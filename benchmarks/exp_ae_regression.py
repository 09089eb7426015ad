"""Kept-aside check: the default features for regression (extrinsic regression).

Three regression problems of the UCR/Monash TSER kind shipped in the aeon and
sktime wheels, never used for any choice: Tecator (NIR spectra -> fat content;
sktime), Covid3Month (84 days of cases -> the next month's death rate; aeon; its
discretised copy is one of issue 11's development problems), CardanoSentiment
(24 hours of 2 channels -> the next day's price change; aeon).

Contenders (each fitted on the training series, RMSE on the test series; series
NOT z-normalised: the target may depend on the level):

- ``ae16``: ``make_pipeline(LSTMAutoencoderTransformer(n_components=16,
  random_state=seed), StandardScaler(), RidgeCV(alphas=np.logspace(-3, 3, 10)))``;
- ``ae``: the same with the default ``n_components``, read from the ``ae16`` fit
  (``n_components=16`` trains exactly the default's module, then adds the
  principal components of its default features); its fit time is that fit's;
- ``pca16``: StandardScaler + PCA(16) + RidgeCV on the flattened series;
- ``catch22``: aeon Catch22 + StandardScaler + RidgeCV;
- ``minirocket``: aeon MiniRocket + StandardScaler(with_mean=False) + RidgeCV
  (the TSER archive's Rocket-with-ridge recipe);
- ``mean``: the training targets' mean (the floor).

Usage (benchmark environment, repository root; one torch thread)::

    PYTHONPATH=.:benchmarks OMP_NUM_THREADS=1 benchmarks/.venv/bin/python \\
        benchmarks/exp_ae_regression.py --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import json
import os
import time
import warnings

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

SITE = os.path.join(
    os.path.dirname(os.path.abspath(__file__)),
    ".venv",
    "lib",
    "python3.11",
    "site-packages",
)
PATHS = {
    "Tecator": ("sktime", "Tecator"),
    "Covid3Month": ("aeon", "Covid3Month"),
    "CardanoSentiment": ("aeon", "CardanoSentiment"),
}
ALPHAS = np.logspace(-3, 3, 10)


def load(name):
    from aeon.datasets import load_from_ts_file

    pkg, folder = PATHS[name]
    base = os.path.join(SITE, pkg, "datasets", "data", folder, folder)
    out = {}
    for part in ("TRAIN", "TEST"):
        X, y = load_from_ts_file(f"{base}_{part}.ts")
        out[part] = (np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.float64))
    return out  # X: (n, channels, steps)


def rmse(a, b):
    return float(np.sqrt(np.mean((np.asarray(a) - np.asarray(b)) ** 2)))


def run(name, seeds):
    import torch
    from aeon.transformations.collection.convolution_based import MiniRocket
    from aeon.transformations.collection.feature_based import Catch22
    from sklearn.decomposition import PCA
    from sklearn.linear_model import RidgeCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from sksequence import LSTMAutoencoderTransformer

    d = load(name)
    (Xtr, ytr), (Xte, yte) = d["TRAIN"], d["TEST"]
    rows = []

    def add(who, seed, pred, fit_s):
        rows.append(
            dict(problem=name, who=who, seed=seed, rmse=rmse(pred, yte), fit=fit_s)
        )
        print(
            f"{name:18s} {who:10s} seed {seed}: RMSE {rows[-1]['rmse']:.4f}"
            f"  fit {fit_s:6.1f} s cpu",
            flush=True,
        )

    add("mean", 0, np.full(len(yte), ytr.mean()), 0.0)
    flat_tr, flat_te = Xtr.reshape(len(Xtr), -1), Xte.reshape(len(Xte), -1)
    t = time.process_time()
    p = make_pipeline(StandardScaler(), PCA(16), RidgeCV(alphas=ALPHAS)).fit(
        flat_tr, ytr
    )
    add("pca16", 0, p.predict(flat_te), time.process_time() - t)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = time.process_time()
        p = make_pipeline(
            Catch22(replace_nans=True), StandardScaler(), RidgeCV(alphas=ALPHAS)
        ).fit(Xtr, ytr)
        add("catch22", 0, p.predict(Xte), time.process_time() - t)
    for seed in seeds:
        t = time.process_time()
        p = make_pipeline(
            MiniRocket(random_state=seed),
            StandardScaler(with_mean=False),
            RidgeCV(alphas=ALPHAS),
        ).fit(Xtr, ytr)
        add("minirocket", seed, p.predict(Xte), time.process_time() - t)
    for seed in seeds:
        torch.set_num_threads(1)  # (MiniRocket resets torch's threads)
        Str, Ste = np.swapaxes(Xtr, 1, 2), np.swapaxes(Xte, 1, 2)  # (n, steps, ch)
        t = time.process_time()
        # n_components=16 trains exactly the default's module and adds the
        # principal components of its default features: both read from one fit
        ae = LSTMAutoencoderTransformer(n_components=16, random_state=seed)
        Ptr = ae.fit_transform(Str)
        fit_s = time.process_time() - t
        Pte = ae.transform(Ste)
        p = make_pipeline(StandardScaler(), RidgeCV(alphas=ALPHAS)).fit(Ptr, ytr)
        add("ae16", seed, p.predict(Pte), fit_s)
        module = ae.net_.module_
        module.encoding = "pooled"
        ae.n_components_ = module.principal_mean.numel()
        Ftr, Fte = ae.transform(Str), ae.transform(Ste)
        p = make_pipeline(StandardScaler(), RidgeCV(alphas=ALPHAS)).fit(Ftr, ytr)
        add("ae", seed, p.predict(Fte), fit_s)
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--problems", nargs="+", default=list(PATHS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    rows = []
    for name in args.problems:
        rows += run(name, args.seeds)
        if args.json:
            with open(args.json, "w") as f:
                json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
