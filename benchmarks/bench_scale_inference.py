"""Reliability at scale: transform/predict on up to a million sequences in bounded memory.

Inference runs in batches (``BaseSequenceEstimator._inference_batch_size``), so its
memory is the validated copy of the input, the output, and one batch of activations:
it must not grow like n_samples x hidden state x timesteps.

Each size runs in a fresh Python subprocess, so that the peak resident set size
(``resource.getrusage(RUSAGE_SELF).ru_maxrss``, which counts torch's allocations) is
that size's alone. The child fits two small models on 256 sequences, builds the
input (n x 10 x 2 float32, generated in chunks), reads its peak RSS (the baseline),
runs ``LSTMAutoencoderTransformer.transform`` and reads the peak again, then
``SequenceClassifier.predict`` and reads it once more. The differences are the extra
memory each call needed at its peak; the table sets them against the input array's
own size.

Usage (from the repository root)::

    python benchmarks/bench_scale_inference.py
    python benchmarks/bench_scale_inference.py --sizes 10000 100000 1000000 --threads 2
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import machine_line, set_threads  # noqa: E402

N_TIMESTEPS, N_FEATURES = 10, 2


def _peak_mib() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def child(n: int, threads: int) -> dict:
    """One size, in this (fresh) process."""
    import numpy as np
    import torch

    from sksequence import LSTMAutoencoderTransformer, SequenceClassifier

    torch.set_num_threads(threads)
    rng = np.random.default_rng(0)
    X_small = rng.standard_normal((256, N_TIMESTEPS, N_FEATURES), dtype=np.float32)
    y_small = (X_small[:, :, 0].mean(axis=1) > 0).astype(int)
    common = dict(hidden_size=8, max_epochs=2, random_state=0)
    ae = LSTMAutoencoderTransformer(n_components=4, **common).fit(X_small)
    clf = SequenceClassifier(conv_channels=None, **common).fit(X_small, y_small)
    ae.transform(X_small[:8]), clf.predict(X_small[:8])  # warm-up

    X = np.empty((n, N_TIMESTEPS, N_FEATURES), dtype=np.float32)
    for start in range(0, n, 100_000):  # in chunks: no float64 temporary of size n
        stop = min(n, start + 100_000)
        X[start:stop] = rng.standard_normal(
            (stop - start, N_TIMESTEPS, N_FEATURES), dtype=np.float32
        )
    base = _peak_mib()

    t0 = time.perf_counter()
    Z = ae.transform(X)
    t_transform = time.perf_counter() - t0
    peak_transform = _peak_mib()
    assert Z.shape == (n, 4) and np.isfinite(Z).all()
    del Z

    t0 = time.perf_counter()
    pred = clf.predict(X)
    t_predict = time.perf_counter() - t0
    peak_predict = _peak_mib()
    assert pred.shape == (n,)
    return {
        "n": n,
        "input_mib": X.nbytes / 2**20,
        "baseline_mib": base,
        "transform_extra_mib": peak_transform - base,
        "transform_s": t_transform,
        "predict_extra_mib": peak_predict - base,
        "predict_s": t_predict,
        "batch_size": ae._inference_batch_size(N_TIMESTEPS),
    }


def table(rows: list[dict]) -> str:
    lines = [
        "| sequences | input array | baseline peak RSS | transform: extra peak RSS "
        "| transform time | predict: extra peak RSS | predict time |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['n']:,} | {r['input_mib']:.1f} MiB | {r['baseline_mib']:.0f} MiB "
            f"| {r['transform_extra_mib']:.1f} MiB "
            f"({r['transform_extra_mib'] / r['input_mib']:.2f}x input) "
            f"| {r['transform_s']:.2f} s "
            f"| {r['predict_extra_mib']:.1f} MiB "
            f"({r['predict_extra_mib'] / r['input_mib']:.2f}x input) "
            f"| {r['predict_s']:.2f} s |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10**4, 10**5, 10**6])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        print(json.dumps(child(args.child, args.threads)))
        return
    rows = []
    for n in args.sizes:
        cmd = [sys.executable, os.path.abspath(__file__), "--child", str(n)]
        cmd += ["--threads", str(args.threads)]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True)
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
        print(f"n={n:,} done", file=sys.stderr)
    set_threads(args.threads)  # the children's setting, for the machine line
    print(f"Machine: {machine_line()}")
    print(
        f"Command: python benchmarks/bench_scale_inference.py --sizes "
        f"{' '.join(map(str, args.sizes))} --threads {args.threads}"
    )
    print(f"Inference batch size (10 timesteps): {rows[0]['batch_size']}")
    print()
    print(table(rows))


if __name__ == "__main__":
    main()
