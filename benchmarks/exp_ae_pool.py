"""The default autoencoder's features on long series, read every step or as
means of groups of steps (``input_pool``): archive problems stretched by linear
interpolation (the same information, ``--factor`` times as many steps: long
series because of a high sampling rate), each fitted with its defaults, test
accuracy of StandardScaler + LogisticRegression on ``transform``; fit CPU s on
one torch thread (the pipeline's fit: the autoencoder's, its transform of
the training series and the logistic regression's).

    PYTHONPATH=. OMP_NUM_THREADS=1 benchmarks/.venv/bin/python \\
        benchmarks/exp_ae_pool.py --problem ACSF1 --factor 8 --pools auto 6

``--anomaly N``: instead, the anomaly AUROC of ``-score_samples`` with each of
the first N classes as the normal one (fit on its training series, the test
series of the other classes anomalous), mean over those classes.
"""

import argparse
import json
import time

import numpy as np
import torch
from _ucr_data import load_problem
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sksequence import LSTMAutoencoderTransformer


def stretch(X: np.ndarray, factor: int) -> np.ndarray:
    """(n, T, F) -> (n, factor * T, F), linear interpolation in time."""
    t = np.arange(X.shape[1])
    new = np.linspace(0, X.shape[1] - 1, factor * X.shape[1])
    return np.stack(
        [
            np.stack([np.interp(new, t, x[:, j]) for j in range(X.shape[2])], 1)
            for x in X
        ]
    ).astype(np.float32)


def run(Xtr, ytr, Xte, yte, seed, pool):
    est = LSTMAutoencoderTransformer(random_state=seed, input_pool=pool)
    pipe = make_pipeline(est, StandardScaler(), LogisticRegression(max_iter=2000))
    start = time.process_time()
    pipe.fit(Xtr, ytr)
    fit = time.process_time() - start  # with the training transform and the LR
    return dict(acc=float(pipe.score(Xte, yte)), fit_s=fit, pool=est.input_pool_)


def run_anomaly(Xtr, ytr, Xte, yte, seed, pool, classes):
    """Mean AUROC of -score_samples over ``classes`` as the normal one (fit on
    that class's training series, the other classes' test series anomalous)."""
    from sklearn.metrics import roc_auc_score

    aucs, fit = [], 0.0
    for c in classes:
        est = LSTMAutoencoderTransformer(random_state=seed, input_pool=pool)
        start = time.process_time()
        est.fit(Xtr[ytr == c])
        fit += time.process_time() - start
        aucs.append(roc_auc_score(yte != c, -est.score_samples(Xte)))
    return dict(
        auroc=float(np.mean(aucs)), fit_s=fit / len(classes), pool=est.input_pool_
    )


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--problem", default="ACSF1")
    ap.add_argument("--factor", type=int, default=8)
    ap.add_argument("--pools", nargs="+", default=["auto"])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--original", action="store_true", help="also the unstretched")
    ap.add_argument(
        "--anomaly", type=int, default=0, help="AUROC with the first N normal classes"
    )
    args = ap.parse_args()
    torch.set_num_threads(1)
    prob = load_problem(args.problem)
    Xtr, Xte = prob["X_train"], prob["X_test"]
    ytr, yte = prob["y_train"], prob["y_test"]
    task = run
    if args.anomaly:
        classes = np.unique(ytr)[: args.anomaly]

        def task(*a):
            return run_anomaly(*a, classes)

    if args.original:
        rec = task(Xtr, ytr, Xte, yte, args.seed, "auto")
        print(json.dumps(dict(problem=args.problem, factor=1, **rec)), flush=True)
    Str, Ste = stretch(Xtr, args.factor), stretch(Xte, args.factor)
    for pool in args.pools:
        pool = pool if pool == "auto" else int(pool)
        rec = task(Str, ytr, Ste, yte, args.seed, pool)
        print(
            json.dumps(dict(problem=args.problem, factor=args.factor, **rec)),
            flush=True,
        )


if __name__ == "__main__":
    main()
