"""W3 (BENCHMARKS.md): SequenceClassifier fit time on variable-length multivariate
sequences, as a ratio to a hand-written PyTorch loop, and the cost of padding vs
packing.

Data: 5,000 sequences of 8 features, lengths uniform in 20..200, two classes
(sines of two frequency bands with noise), hidden 64, 5 epochs.

Contenders, all training the same torch module
(:class:`sksequence.nn.classifier.RecurrentClassifier` with the estimator's default
architecture: feature scaling, three-block convolutional front end, bidirectional
LSTM, pooling='auto', crop='auto': window slicing on this variable-length data) with AdamW, the same one-cycle learning-rate schedule,
gradient-norm clipping at 1.0 every step, the same batch size and epochs:

- ``hand``: hand-written loop over padded tensors + lengths (packed LSTM),
  ``x[perm[i:j]]`` per batch, ``loss.item()`` each step;
- ``ours``: ``SequenceClassifier(hidden_size=64, max_epochs=5, ...)`` on the list of
  arrays;
- ``hand_padded`` / ``ours_padded``: the same on the zero-padded 3-D array, with no
  lengths (every sequence runs through the full 200 steps, padding included): the
  cost of NOT packing, and a wrong model (padding leaks into the prediction).

Rounds alternate the contenders (order rotating); the reported ratio is the median
of per-round ratios.

Usage::

    python benchmarks/bench_w3_classifier.py --rounds 3 --json benchmarks/out/w3.json
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import machine_line, set_threads  # noqa: E402

from sksequence import SequenceClassifier  # noqa: E402
from sksequence._classifier import _AUTO_CROP  # noqa: E402
from sksequence.nn.classifier import RecurrentClassifier  # noqa: E402


def make_data(n, n_features=8, min_len=20, max_len=200, seed=0):
    rng = np.random.RandomState(seed)
    y = rng.randint(0, 2, size=n)
    X = []
    for i in range(n):
        length = rng.randint(min_len, max_len + 1)
        t = np.arange(length)[:, None]
        freq = rng.uniform(0.05, 0.15, n_features) * (1.5 if y[i] else 1.0)
        phase = rng.uniform(0, 2 * np.pi, n_features)
        X.append(
            (np.sin(freq * t + phase) + 0.3 * rng.randn(length, n_features)).astype(
                np.float32
            )
        )
    return X, y


def pad(X):
    lengths = np.array([len(x) for x in X])
    out = np.zeros((len(X), lengths.max(), X[0].shape[1]), np.float32)
    for i, x in enumerate(X):
        out[i, : len(x)] = x
    return out, lengths


def hand_written(X, y, *, packed, hidden, epochs, batch_size, lr, seed):
    """The reference loop: same module, AdamW, one-cycle, clipping, no framework."""
    est = SequenceClassifier(hidden_size=hidden)  # only to read the defaults
    Xp, lengths = pad(X)
    mask = np.arange(Xp.shape[1])[None, :] < lengths[:, None]
    if not packed:
        mask[:] = True
    valid = Xp[mask]
    n_steps = Xp.shape[1]
    arch = est._resolve_architecture(n_steps)  # the defaults, "auto" resolved
    torch.manual_seed(seed)
    module = RecurrentClassifier(
        Xp.shape[2],
        2,
        hidden_size=hidden,
        bidirectional=est.bidirectional,
        pooling="last_max" if packed else "max",  # what pooling='auto' picks
        crop=_AUTO_CROP if packed else 0.0,  # what crop='auto' picks
        **arch,
    )
    std = valid.std(0)
    module.input_mean.copy_(torch.as_tensor(valid.mean(0)))
    module.input_scale.copy_(torch.as_tensor(np.where(std > 0, std, 1.0)))
    x = torch.as_tensor(Xp)
    lt = torch.as_tensor(lengths)
    yt = torch.as_tensor(y, dtype=torch.long)
    n = len(x)
    opt = torch.optim.AdamW(module.parameters(), lr=lr, weight_decay=est.weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=lr, total_steps=epochs * math.ceil(n / batch_size)
    )
    gen = torch.Generator().manual_seed(seed)
    module.train()
    for _ in range(epochs):
        perm = torch.randperm(n, generator=gen)
        total = 0.0
        for i in range(0, n, batch_size):
            idx = perm[i : i + batch_size]
            out = module(x[idx], lt[idx] if packed else None)
            loss = F.cross_entropy(out, yt[idx])
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(module.parameters(), 1.0)
            opt.step()
            sched.step()
            total += loss.item() * len(idx)
    return module


def ours(X, y, *, packed, hidden, epochs, batch_size, lr, seed):
    data = X if packed else pad(X)[0]
    return SequenceClassifier(
        hidden_size=hidden,
        max_epochs=epochs,
        batch_size=batch_size,
        lr=lr,
        random_state=seed,
    ).fit(data, y)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n-samples", type=int, default=5000)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument(
        "--contenders",
        nargs="+",
        default=["hand", "ours", "hand_padded", "ours_padded"],
    )
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    set_threads(args.threads)
    print(machine_line(), flush=True)
    X, y = make_data(args.n_samples)
    Xte, yte = make_data(1000, seed=1)
    kw = dict(
        hidden=args.hidden,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        seed=0,
    )
    fns = {
        "hand": lambda: hand_written(X, y, packed=True, **kw),
        "ours": lambda: ours(X, y, packed=True, **kw),
        "hand_padded": lambda: hand_written(X, y, packed=False, **kw),
        "ours_padded": lambda: ours(X, y, packed=False, **kw),
    }
    names = [c for c in args.contenders if c in fns]
    times = {k: [] for k in names}
    cpu_times = {k: [] for k in names}
    accs = {}
    for r in range(args.rounds):
        shift = r % len(names)
        for name in names[shift:] + names[:shift]:
            gc.collect()
            start, cpu_start = time.perf_counter(), time.process_time()
            model = fns[name]()
            t = time.perf_counter() - start
            cpu = time.process_time() - cpu_start
            times[name].append(t)
            cpu_times[name].append(cpu)
            if name.startswith("ours"):
                accs[name] = float(model.score(Xte, yte))
            print(
                f"round {r + 1}/{args.rounds}  {name:12s} {t:8.1f} s wall "
                f"{cpu:8.1f} s cpu",
                flush=True,
            )

    def ratio(a, b, source):
        return statistics.median(x / y for x, y in zip(source[a], source[b]))

    summary = {k: statistics.median(v) for k, v in times.items()}
    ratios, cpu_ratios = {}, {}
    pairs = {
        "ours / hand (packed)": ("ours", "hand"),
        "ours / hand (padded)": ("ours_padded", "hand_padded"),
        "padded / packed (hand)": ("hand_padded", "hand"),
        "padded / packed (ours)": ("ours_padded", "ours"),
    }
    for label, (a, b) in pairs.items():
        if a in times and b in times:
            ratios[label] = ratio(a, b, times)
            cpu_ratios[label] = ratio(a, b, cpu_times)
    print()
    print(
        f"W3: {args.n_samples} sequences x 20..200 steps x 8 features, hidden "
        f"{args.hidden}, {args.epochs} epochs, batch {args.batch_size}, "
        f"{args.rounds} rounds"
    )
    for k, v in summary.items():
        print(
            f"  {k:12s} median {v:7.1f} s wall ({', '.join(f'{t:.1f}' for t in times[k])})"
            f"; cpu ({', '.join(f'{t:.1f}' for t in cpu_times[k])})"
        )
    for k, v in ratios.items():
        print(f"  {k:24s} wall {v:.3f}  cpu {cpu_ratios[k]:.3f}")
    for k, v in accs.items():
        print(f"  {k} test accuracy {v:.3f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                {
                    "machine": machine_line(),
                    "args": vars(args),
                    "times": times,
                    "cpu_times": cpu_times,
                    "ratios": ratios,
                    "cpu_ratios": cpu_ratios,
                    "accuracy": accs,
                },
                f,
                indent=1,
            )


if __name__ == "__main__":
    main()
