"""W4 scale: LSTMAutoencoderTransformer fit time and peak memory vs sequence length.

Every configuration (n_timesteps x truncate_bptt) runs in a fresh Python subprocess, so
that the peak resident set size (``resource.getrusage(RUSAGE_SELF).ru_maxrss``, which
counts torch's allocations, unlike ``tracemalloc``) belongs to that configuration alone.
The child builds the data, runs a tiny warm-up fit (10 timesteps), reads its peak RSS
(the baseline), fits once on the real data and reads the peak again: the difference is
the extra memory that fit needed at its peak. Further fits (``--repeats``) only add
timings.

Usage (from the repository root)::

    python benchmarks/bench_w4_scale.py
    python benchmarks/bench_w4_scale.py --timesteps 100 1000 10000 --chunk 100
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


def _maxrss_mib() -> float:
    import resource

    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return kib / 1024.0


def child(args) -> dict:
    """One configuration, in this (fresh) process. Prints a JSON line."""
    import numpy as np
    import torch
    from _common import set_threads
    from bench_w2_autoencoder import make_data

    from sksequence import LSTMAutoencoderTransformer

    set_threads(args.threads)
    tbptt = args.child_tbptt or None

    def make():
        return LSTMAutoencoderTransformer(
            hidden_size=args.hidden,
            max_epochs=1,
            batch_size=args.batch_size,
            truncate_bptt=tbptt,
            random_state=0,
            n_iter_no_change=10**9,
            # truncate_bptt needs the classic model (no conv front end, final-state
            # code, no shape path or feature loss): both arms use it, so that the
            # only difference between them is the truncation
            conv_channels=None,
            pooling="last",
            bidirectional=False,
            code_norm="none",
            scaling="none",
            shape_basis=0,
            feature_loss=0.0,
        )

    X = make_data(args.n_samples, args.child_t, args.features)
    make().fit(make_data(args.batch_size, 10, args.features))  # warm-up
    rss_before = _maxrss_mib()
    walls, cpus = [], []
    for i in range(args.repeats):
        start, cpu_start = time.perf_counter(), time.process_time()
        est = make().fit(X)
        walls.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu_start)
        if i == 0:
            rss_after = _maxrss_mib()
        del est
    return {
        "n_timesteps": args.child_t,
        "truncate_bptt": tbptt,
        "n_batches": -(-args.n_samples // args.batch_size),
        "wall_s": statistics.median(walls),
        "cpu_s": statistics.median(cpus),
        "walls": walls,
        "rss_baseline_mib": rss_before,
        "rss_peak_mib": rss_after,
        "rss_fit_extra_mib": rss_after - rss_before,
        "data_mib": X.nbytes / 2**20,
        "torch": torch.__version__,
        "numpy": np.__version__,
    }


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--timesteps", type=int, nargs="+", default=[100, 1000, 10000])
    p.add_argument("--chunk", type=int, default=100, help="truncate_bptt value")
    p.add_argument("--n-samples", type=int, default=64)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--features", type=int, default=4)
    p.add_argument("--hidden", type=int, default=32)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--json", default=None, help="also write the raw results here")
    p.add_argument("--child-t", type=int, default=None, help=argparse.SUPPRESS)
    p.add_argument("--child-tbptt", type=int, default=0, help=argparse.SUPPRESS)
    args = p.parse_args(argv)

    if args.child_t is not None:
        print(json.dumps(child(args)), flush=True)
        return

    from _common import machine_info, machine_line, markdown_table, set_threads

    set_threads(args.threads)
    info = machine_info()
    print(machine_line(info), flush=True)
    print(
        f"W4: {args.n_samples} sequences x T x {args.features} features, hidden "
        f"{args.hidden}, batch {args.batch_size}, 1 epoch, {args.repeats} fit(s) per "
        f"configuration, torch threads {args.threads}",
        flush=True,
    )
    common = [
        "--n-samples", str(args.n_samples),
        "--batch-size", str(args.batch_size),
        "--features", str(args.features),
        "--hidden", str(args.hidden),
        "--repeats", str(args.repeats),
        "--threads", str(args.threads),
    ]  # fmt: skip
    results = []
    for t in args.timesteps:
        for tbptt in (0, args.chunk):
            cmd = [sys.executable, os.path.abspath(__file__), "--child-t", str(t)]
            cmd += ["--child-tbptt", str(tbptt), *common]
            out = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if out.returncode != 0:
                print(out.stderr, file=sys.stderr)
                raise SystemExit(f"child failed: {' '.join(cmd)}")
            res = json.loads(out.stdout.strip().splitlines()[-1])
            results.append(res)
            print(
                f"  T={t:>6} truncate_bptt={tbptt or None!s:>5}: fit "
                f"{res['wall_s']:.2f} s wall, {res['cpu_s']:.2f} s CPU, peak RSS "
                f"{res['rss_peak_mib']:.0f} MiB (+{res['rss_fit_extra_mib']:.0f} MiB)",
                flush=True,
            )
    rows = []
    for r in results:
        rows.append(
            [
                f"{r['n_timesteps']:,}",
                r["truncate_bptt"] or "off",
                f"{r['wall_s']:.2f}",
                f"{r['cpu_s']:.2f}",
                f"{1e3 * r['cpu_s'] / (r['n_batches'] * r['n_timesteps']):.3f}",
                f"{r['rss_peak_mib']:.0f}",
                f"**{r['rss_fit_extra_mib']:.0f}**",
                f"{r['data_mib']:.1f}",
            ]
        )
    print()
    print(
        markdown_table(
            [
                "n_timesteps",
                "truncate_bptt",
                "fit wall s (median)",
                "fit CPU s (median)",
                "CPU ms per batch-timestep",
                "peak RSS MiB",
                "peak RSS added by fit, MiB",
                "X size MiB",
            ],
            rows,
        )
    )
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"machine": info, "argv": sys.argv, "results": results}, fh)


if __name__ == "__main__":
    main()
