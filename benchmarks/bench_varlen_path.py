"""The variable-length speed figure the docs quote: how much faster a fit on a list
of variable-length sequences is with the encoders' CPU path (padded batch, backward
direction reversed within each sequence's length) than with packing.

Data: W3's generator (BENCHMARKS.md), fewer sequences: 1,000 sequences of 8
features, lengths uniform in 20..200, two classes. Estimators with their defaults
except a fixed number of epochs (``max_epochs=5``, no stopping rule), so both
contenders do the same steps:

- ``SequenceClassifier()`` (convolutional front end + bidirectional LSTM);
- ``LSTMAutoencoderTransformer()`` (LSTM encoder + unconditioned decoder).

Contenders: ``reversed`` (the package as it is) and ``packed`` (the encoder's
``cell_state=True`` forced, which makes ``RecurrentEncoder`` pack the batch as it
does on GPU; results equal to float rounding). Rounds alternate; the figure is the
median of per-round CPU-time ratios packed / reversed.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/bench_varlen_path.py --rounds 3
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _common import (  # noqa: E402
    alternate,
    machine_line,
    markdown_table,
    set_threads,
    summarize,
)
from bench_w3_classifier import make_data  # noqa: E402

from sksequence import LSTMAutoencoderTransformer, SequenceClassifier  # noqa: E402
from sksequence.nn.encoder import RecurrentEncoder  # noqa: E402

_forward = RecurrentEncoder.forward


def _packed_forward(self, x, lengths=None, state=None, cell_state=True):
    return _forward(self, x, lengths, state, True)  # cell_state=True: packs


def fit(make, X, y, *, packed):
    RecurrentEncoder.forward = _packed_forward if packed else _forward
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return make().fit(X, y)
    finally:
        RecurrentEncoder.forward = _forward


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    set_threads(args.threads)
    X, y = make_data(args.n)
    models = {
        "SequenceClassifier": lambda: SequenceClassifier(
            max_epochs=5, n_iter_no_change=1000, random_state=0
        ),
        "LSTMAutoencoderTransformer": lambda: LSTMAutoencoderTransformer(
            max_epochs=5, n_iter_no_change=1000, random_state=0
        ),
    }
    print(machine_line())
    rows = []
    for name, make in models.items():
        yy = y if name == "SequenceClassifier" else None
        print(name)
        _, cpu, _ = alternate(
            {
                "reversed": lambda m=make, t=yy: fit(m, X, t, packed=False),
                "packed": lambda m=make, t=yy: fit(m, X, t, packed=True),
            },
            args.rounds,
        )
        s = summarize(cpu, "reversed")
        rows.append(
            [
                name,
                " / ".join(f"{t:.1f}" for t in cpu["reversed"]),
                " / ".join(f"{t:.1f}" for t in cpu["packed"]),
                f"{s['packed']['ratio']:.2f} "
                f"({s['packed']['ratio_min']:.2f}-{s['packed']['ratio_max']:.2f})",
            ]
        )
    print(
        markdown_table(
            [
                "estimator (5 epochs)",
                "reversed CPU s",
                "packed CPU s",
                "packed / reversed (median, min-max)",
            ],
            rows,
        )
    )


if __name__ == "__main__":
    main()
