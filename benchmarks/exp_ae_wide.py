"""The default autoencoder on wide multivariate series, its first block reading
the features themselves or a learnt projection of them (``conv_projection``).

No archive problem with hundreds of channels is in the benchmark environment,
so real problems are widened the way a sensor array observes a few sources:
each series' F channels are mixed into ``--width`` channels by a fixed random
matrix (one per problem, entries N(0, 1 / F)) and every channel gets its own
Gaussian noise of ``--noise`` standard deviations (the series are z-normalised
per channel before). The information is the original problem's; the width is
an array's. Test accuracy of the benchmark's pipeline (StandardScaler +
LogisticRegression on ``transform``), fit CPU s of the pipeline on one torch
thread.

``--stretch K``: the series are first stretched K times by linear
interpolation (a long series' proxy, as ``exp_ae_pool.py``).

``--pools``: instead, the defaults with ``input_pool`` set (the workaround the
user guide gives for long, wide series), on main's package.

The option was tried in commit 6b23207 and reverted (benchmarks/RESULTS.md,
"Wide multivariate series"); run this against that commit's package:

    git worktree add /tmp/proj 6b23207
    PYTHONPATH=/tmp/proj:benchmarks OMP_NUM_THREADS=1 benchmarks/.venv/bin/python \\
        benchmarks/exp_ae_wide.py --problem JapaneseVowels --width 256 \\
        --projections auto none --seed 0
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


def widen(X, mix: np.ndarray, noise: float, rng: np.random.Generator):
    """Each (T, F) series -> (T, W): ``x @ mix`` plus per-channel noise."""
    out = []
    for x in X:
        y = x @ mix
        out.append((y + noise * rng.normal(size=y.shape)).astype(np.float32))
    return out if isinstance(X, list) else np.stack(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--problem", default="JapaneseVowels")
    ap.add_argument("--width", type=int, default=256)
    ap.add_argument("--noise", type=float, default=0.5)
    ap.add_argument("--projections", nargs="+", default=[])
    ap.add_argument(
        "--pools", nargs="+", default=[], help="input_pool values instead (main)"
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--stretch",
        type=int,
        default=1,
        help="stretch the series this many times by interpolation before widening",
    )
    ap.add_argument("--extra", default="{}", help="JSON of more estimator kwargs")
    ap.add_argument(
        "--patch-values",
        type=int,
        default=None,
        help="set sksequence._autoencoder._PATCH_VALUES (e.g. 10**12: no sampling)",
    )
    args = ap.parse_args()
    if args.patch_values is not None:
        import sksequence._autoencoder as autoencoder

        autoencoder._PATCH_VALUES = args.patch_values
    torch.set_num_threads(1)
    prob = load_problem(args.problem)
    Xtr, Xte = prob["X_train"], prob["X_test"]
    if args.stretch > 1:  # (equal-length problems)
        from exp_ae_pool import stretch

        Xtr, Xte = stretch(Xtr, args.stretch), stretch(Xte, args.stretch)
    ytr, yte = prob["y_train"], prob["y_test"]
    f = Xtr[0].shape[-1]
    rng = np.random.default_rng(12345)  # the same widened data for every run
    mix = rng.normal(size=(f, args.width)) / np.sqrt(f)
    Wtr, Wte = widen(Xtr, mix, args.noise, rng), widen(Xte, mix, args.noise, rng)
    runs = [("projection", p) for p in args.projections]
    runs += [("pool", p) for p in args.pools]
    for kind, proj in runs:
        if kind == "pool":
            kw = {"input_pool": proj if proj == "auto" else int(proj)}
        else:
            value = None if proj == "none" else proj if proj == "auto" else int(proj)
            kw = {"conv_projection": value}
        kw.update(json.loads(args.extra))
        est = LSTMAutoencoderTransformer(random_state=args.seed, **kw)
        pipe = make_pipeline(est, StandardScaler(), LogisticRegression(max_iter=2000))
        start = time.process_time()
        pipe.fit(Wtr, ytr)
        fit = time.process_time() - start
        rec = dict(
            problem=args.problem,
            width=args.width,
            stretch=args.stretch,
            noise=args.noise,
            seed=args.seed,
            **{kind: proj},
            extra=json.loads(args.extra),
            input_pool_=est.input_pool_,
            projection_=getattr(est, "conv_projection_", 0),
            acc=float(pipe.score(Wte, yte)),
            fit_s=round(fit, 1),
        )
        print(json.dumps(rec), flush=True)


if __name__ == "__main__":
    main()
