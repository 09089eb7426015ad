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
- ``lstm_ppv``: the share of steps where each LSTM output is positive (128 values);
- ``d1_*``: the first conv block's kernels at stride 1 and dilations 1, 2, 4, ...
  (the fitted ``ppv_dilations_``), no batch norm, shares above the 10/25/50/75/90% quantiles of
  each map's training values (``d1_q25`` ...), and at the median threshold the
  mean of the values above it (``d1_mpv``) and the longest stretch above it
  (``d1_lspv``, a share of the length); ``dx_*``: the same on the input's first
  differences.

Usage (benchmark environment, repository root; one torch thread)::

    for s in 0 1 2; do PYTHONPATH=. benchmarks/.venv/bin/python \\
        benchmarks/exp_feature_screen.py --seed $s; done
    PYTHONPATH=. benchmarks/.venv/bin/python benchmarks/exp_feature_screen.py --table
"""

from __future__ import annotations

import collections
import glob
import os
import sys

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import screen_main, variant_means_table  # noqa: E402
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
    "+ppvq+dil": ["base", "ppvq", "d1_q25", "d1_q50", "d1_q75"],
    "+ppvq+dil5q": ["base", "ppvq", "d1_q10", "d1_q25", "d1_q50", "d1_q75", "d1_q90"],
    "+ppvq+dil+mpv": ["base", "ppvq", "d1_q25", "d1_q50", "d1_q75", "d1_mpv"],
    "+ppvq+dil+lspv": ["base", "ppvq", "d1_q25", "d1_q50", "d1_q75", "d1_lspv"],
    "+ppvq+dil+dx": ["base", "ppvq", "d1_q25", "d1_q50", "d1_q75"]
    + ["dx_q25", "dx_q50", "dx_q75"],
    "+ppvq+dil+lspv+dx": ["base", "ppvq", "d1_q25", "d1_q50", "d1_q75", "d1_lspv"]
    + ["dx_q25", "dx_q50", "dx_q75", "dx_lspv"],
    "+ppvq+dil+dx+paa": ["base", "ppvq", "d1_q25", "d1_q50", "d1_q75"]
    + ["dx_q25", "dx_q50", "dx_q75", "paa32"],
    "+ppvq+dil+dx+seg": ["base", "ppvq", "d1_q25", "d1_q50", "d1_q75"]
    + ["dx_q25", "dx_q50", "dx_q75", "seg_lstm", "seg_conv"],
    "base+dil5q+lspv": ["base", "d1_q10", "d1_q25", "d1_q50", "d1_q75", "d1_q90"]
    + ["d1_lspv"],
    "base+dil": ["base", "d1_q25", "d1_q50", "d1_q75"],
}
QUANTILES = (0.1, 0.25, 0.5, 0.75, 0.9)


def dilated(m, x, dils):
    """Filter banks at stride 1, one (N, L, C) map per dilation (no batch norm:
    shares above quantiles ignore a channel's affine scale): ``d1``, the first
    conv block's learnt kernels on the input; ``dx``, the same kernels on the
    input's first differences (a zero appended; for a variable-length series its
    last valid difference is taken against the padding). A second bank ``d2``,
    the second block's kernels over the first block's output, was screened in an
    earlier run (RESULTS.md) and removed."""
    c1 = m.front.convs[0]
    k1 = c1.kernel_size[0]
    h = x.transpose(1, 2)
    dx = torch.nn.functional.pad(h[:, :, 1:] - h[:, :, :-1], (0, 1))
    out = {
        name: [
            torch.nn.functional.conv1d(
                v, c1.weight, c1.bias, padding=d * (k1 // 2), dilation=d
            ).transpose(1, 2)
            for d in dils
        ]
        for name, v in (("d1", h), ("dx", dx))
    }
    return out


def longest_run(b, lengths):
    """Longest stretch of True over time of (N, L, C), as a share of the length."""
    c = b.cumsum(1)
    reset = torch.where(b, torch.zeros_like(c), c).cummax(1).values
    return (c - reset).amax(1).float() / lengths[:, None].float()


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


def features(est, X, thresholds=None, dils=(), dil_thresholds=None):  # noqa: C901
    """All feature sets of X (dict of arrays) and the pre-activations' values at
    valid steps (per block, for the thresholds)."""
    batch = est._inputs(X)
    arrays = batch.inputs()
    x_all = torch.as_tensor(arrays["x"])
    len_all = arrays["lengths"]
    len_all = None if len_all is None else torch.as_tensor(len_all)
    m = est.net_.module_.eval()
    chunks, values = collections.defaultdict(list), collections.defaultdict(list)
    dvalues = collections.defaultdict(list)
    total = int(x_all.shape[0] * x_all.shape[1] if len_all is None else len_all.sum())
    every = max(1, -(-total // 200_000))
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
            full_valid = length_mask(full, steps)
            for bank, maps in dilated(m, x, dils).items():
                per = collections.defaultdict(list)
                for j, p in enumerate(maps):
                    p = p * full_valid[:, :, None]
                    dvalues[bank, j].append(p[full_valid][::every])
                    if dil_thresholds is None:
                        continue
                    for q, t in zip(QUANTILES, dil_thresholds[bank, j]):
                        above = (p > t[None, None, :]) & full_valid[:, :, None]
                        per[f"{bank}_q{int(q * 100)}"].append(
                            masked_mean(above.to(p.dtype), full)
                        )
                        if q == 0.5:
                            gap = torch.relu(p - t[None, None, :]) * above
                            per[f"{bank}_mpv"].append(
                                gap.sum(1) / above.sum(1).clamp(min=1)
                            )
                            per[f"{bank}_lspv"].append(longest_run(above, full))
                for k, v in per.items():
                    chunks[k].append(torch.cat(v, -1))
            xf, lf = m.front(x, lengths)
            outputs, _ = m.encoder(xf, lf, cell_state=False)
            chunks["lstm_ppv"].append(masked_mean((outputs > 0).to(outputs.dtype), lf))
            chunks["seg_lstm"].append(part_means(outputs, lf, 4))
            chunks["seg_conv"].append(part_means(xf, lf, 4))
    feats = {k: torch.cat(v).numpy() for k, v in chunks.items()}
    dv = {k: torch.cat(v) for k, v in dvalues.items()}
    return feats, [torch.cat(v) for _, v in sorted(values.items())], dv


def screen(problems, seed):
    os.makedirs(OUT, exist_ok=True)
    torch.set_num_threads(1)
    for name in problems:
        p = load_problem(name)
        est = LSTMAutoencoderTransformer(random_state=seed).fit(p["X_train"])
        # the estimator's own (powers of 2 up to the median training length)
        dils = list(est.ppv_dilations_)
        _, values, dvalues = features(est, p["X_train"], dils=dils)
        gen = torch.Generator().manual_seed(0)
        qs = torch.tensor([0.25, 0.5, 0.75])
        dqs = torch.tensor(QUANTILES)
        dil_thresholds = {
            k: list(torch.quantile(v, dqs, 0)) for k, v in dvalues.items()
        }
        thresholds = [
            list(
                torch.quantile(
                    v[torch.randperm(len(v), generator=gen)[:200_000]], qs, 0
                )
            )
            for v in values
        ]
        tr, _, _ = features(est, p["X_train"], thresholds, dils, dil_thresholds)
        te, _, _ = features(est, p["X_test"], thresholds, dils, dil_thresholds)
        np.savez_compressed(
            os.path.join(OUT, f"{name}_s{seed}.npz"),
            y_train=p["y_train"],
            y_test=p["y_test"],
            **{"tr_" + k: v for k, v in tr.items()},
            **{"te_" + k: v for k, v in te.items()},
        )
        print(f"{name} seed {seed}: saved (dilations {dils})", flush=True)


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
    print(variant_means_table(acc, list(VARIANTS), DEV + HELD_OUT + UNSEEN))


if __name__ == "__main__":
    screen_main(__doc__, screen, table, DEV + HELD_OUT + UNSEEN)
