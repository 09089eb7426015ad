"""Research screen: extra pooled features read from a fitted default autoencoder.

Fits ``LSTMAutoencoderTransformer(random_state=seed)`` (the defaults) once per problem
and seed, then computes, from the same fitted module and without retraining, the
default pooled features ("base") and candidate additions, and saves them all
(``benchmarks/out/exp/feats/<problem>_s<seed>.npz``). ``--table`` then scores each
variant with the benchmark's linear model (StandardScaler + LogisticRegression,
test accuracy, mean over the saved seeds):

- ``ppvq``: the share of steps where each conv block's pre-activation (its
  batch-normalised output before the ReLU) exceeds the 25th, 50th and 75th
  percentile of that channel over the training set, MiniRocket's
  "proportion of positive values" at three biases (576 values; the default
  features hold the share above 0 only);
- ``paa32``: the standardised input averaged over 32 equal parts of each
  sequence's own length (a coarse copy of the input, 32 x F values);
- ``seg``: the mean of the LSTM outputs and of the last conv block over 4 equal
  parts of each sequence (position-aware pooling, 768 values);
- ``lstm_ppv``: the share of steps where each LSTM output is positive (128 values).

Usage (benchmark environment, repository root; one torch thread)::

    for s in 0 1 2; do PYTHONPATH=. benchmarks/.venv/bin/python \\
        benchmarks/exp_feature_screen.py --seed $s; done
    PYTHONPATH=. benchmarks/.venv/bin/python benchmarks/exp_feature_screen.py --table
"""

from __future__ import annotations

import argparse
import collections
import glob
import os
import sys

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _ucr_data import DEV, HELD_OUT, UNSEEN, load_problem  # noqa: E402

from sksequence import LSTMAutoencoderTransformer  # noqa: E402
from sksequence.nn.functional import length_mask  # noqa: E402
from sksequence.nn.pooling import masked_mean  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "out", "exp", "feats")
VARIANTS = {
    "base": ["base"],
    "+paa": ["base", "paa32"],
    "+ppvq": ["base", "ppvq"],
    "+paa+ppvq": ["base", "paa32", "ppvq"],
    "+seg": ["base", "seg_lstm", "seg_conv"],
    "+lstm_ppv": ["base", "lstm_ppv"],
}


def pre_activations(m, x, lengths):
    """Every conv block's batch-normalised output before the ReLU, (N, L_b, C_b),
    with its lengths (``x`` already scaled)."""
    _, _, blocks = m.front(x, lengths, return_blocks=True, pre_activation=True)
    return blocks


def part_means(h, lengths, parts):
    """Mean of (N, L, C) over ``parts`` equal parts of each sequence's length."""
    n, steps, _ = h.shape
    lens = torch.full((n,), steps) if lengths is None else lengths
    t = torch.arange(steps)[None, :].float()
    part = (t * parts / lens[:, None].float()).floor().long().clamp(max=parts - 1)
    valid = t < lens[:, None]
    means = []
    for p in range(parts):
        w = ((part == p) & valid).float()[:, :, None]
        means.append((h * w).sum(1) / w.sum(1).clamp(min=1))
    return torch.cat(means, -1)


def features(est, X, thresholds=None):
    """All feature sets of X (dict of arrays) and the pre-activations' values at
    valid steps (per block, for the thresholds)."""
    batch = est._inputs(X)
    arrays = batch.inputs()
    x_all = torch.as_tensor(arrays["x"])
    len_all = arrays["lengths"]
    len_all = None if len_all is None else torch.as_tensor(len_all)
    m = est.net_.module_.eval()
    chunks, values = collections.defaultdict(list), collections.defaultdict(list)
    with torch.no_grad():
        for i in range(0, len(x_all), 256):
            lengths = None if len_all is None else len_all[i : i + 256]
            x = m.scale(x_all[i : i + 256], lengths)
            base = m.features(x, lengths)
            chunks["base"].append(base)
            n, steps, _ = x.shape
            full = torch.full((n,), steps) if lengths is None else lengths
            chunks["paa32"].append(part_means(x, full, 32))
            pre = pre_activations(m, x, lengths)
            for b, (p, lens) in enumerate(pre):
                lens = torch.full((n,), p.shape[1]) if lens is None else lens
                valid = length_mask(lens, p.shape[1])
                values[b].append(p[valid])
            if thresholds is not None:
                ppv = [
                    masked_mean((p > q[None, None, :]).to(p.dtype), lens)
                    for (p, lens), qs in zip(pre, thresholds)
                    for q in qs
                ]
                chunks["ppvq"].append(torch.cat(ppv, -1))
            xf, lf = m.front(x, lengths)
            outputs, _ = m.encoder(xf, lf, cell_state=False)
            chunks["lstm_ppv"].append(masked_mean((outputs > 0).to(outputs.dtype), lf))
            chunks["seg_lstm"].append(part_means(outputs, lf, 4))
            chunks["seg_conv"].append(part_means(xf, lf, 4))
    feats = {k: torch.cat(v).numpy() for k, v in chunks.items()}
    return feats, [torch.cat(v) for _, v in sorted(values.items())]


def screen(problems, seed):
    os.makedirs(OUT, exist_ok=True)
    torch.set_num_threads(1)
    for name in problems:
        p = load_problem(name)
        est = LSTMAutoencoderTransformer(random_state=seed).fit(p["X_train"])
        _, values = features(est, p["X_train"])
        gen = torch.Generator().manual_seed(0)
        qs = torch.tensor([0.25, 0.5, 0.75])
        thresholds = [
            list(
                torch.quantile(
                    v[torch.randperm(len(v), generator=gen)[:200_000]], qs, 0
                )
            )
            for v in values
        ]
        tr, _ = features(est, p["X_train"], thresholds)
        te, _ = features(est, p["X_test"], thresholds)
        np.savez_compressed(
            os.path.join(OUT, f"{name}_s{seed}.npz"),
            y_train=p["y_train"],
            y_test=p["y_test"],
            **{"tr_" + k: v for k, v in tr.items()},
            **{"te_" + k: v for k, v in te.items()},
        )
        print(f"{name} seed {seed}: saved", flush=True)


def table():
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    acc = collections.defaultdict(lambda: collections.defaultdict(list))
    for path in sorted(glob.glob(os.path.join(OUT, "*.npz"))):
        d = np.load(path)
        name = os.path.basename(path)[:-4].rsplit("_s", 1)[0]
        for v, keys in VARIANTS.items():
            Xtr = np.concatenate([d["tr_" + k] for k in keys], 1)
            Xte = np.concatenate([d["te_" + k] for k in keys], 1)
            lr = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
            acc[name][v].append(lr.fit(Xtr, d["y_train"]).score(Xte, d["y_test"]))
    print("| problem | seeds | " + " | ".join(VARIANTS) + " |")
    print("|---" * (2 + len(VARIANTS)) + "|")
    means = collections.defaultdict(list)
    for name in [p for p in DEV + HELD_OUT + UNSEEN if p in acc]:
        row = {v: float(np.mean(acc[name][v])) for v in VARIANTS}
        for v in VARIANTS:
            means[v].append(row[v])
        cells = " | ".join(f"{row[v]:.3f}" for v in VARIANTS)
        print(f"| {name} | {len(acc[name]['base'])} | {cells} |")
    cells = " | ".join(f"{np.mean(means[v]):.3f}" for v in VARIANTS)
    print(f"| mean | | {cells} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--problems", nargs="+", default=DEV + HELD_OUT + UNSEEN)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--table", action="store_true")
    args = parser.parse_args()
    if args.table:
        table()
    else:
        screen(args.problems, args.seed)


if __name__ == "__main__":
    main()
