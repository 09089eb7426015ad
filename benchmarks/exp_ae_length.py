"""Fit time of LSTMAutoencoderTransformer with its defaults against the sequences'
length (random walks; CPU seconds, 1 torch thread).

    PYTHONPATH=. OMP_NUM_THREADS=1 python benchmarks/exp_ae_length.py
    PYTHONPATH=. OMP_NUM_THREADS=1 python benchmarks/exp_ae_length.py --long  # > 4096 steps
"""

import sys
import time

import numpy as np
import torch

from sksequence import LSTMAutoencoderTransformer

SHAPES = [
    (100, 500, 1),
    (100, 2000, 1),
    (100, 4000, 1),
    (1000, 500, 1),
    (300, 1000, 3),
    (204, 405, 61),
    (100, 8000, 1),
    (128, 17984, 6),
]


def main():
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    shapes = [s for s in SHAPES if s[1] > 4096] if "--long" in sys.argv else SHAPES
    for n, t, f in shapes:
        X = np.cumsum(rng.normal(size=(n, t, f)), axis=1).astype(np.float32)
        start = time.process_time()
        est = LSTMAutoencoderTransformer(random_state=0).fit(X)
        fit = time.process_time() - start
        start = time.process_time()
        Z = est.transform(X)
        print(
            f"{n} x {t} x {f}: fit {fit:.1f} s, transform {time.process_time() - start:.1f} s, "
            f"{Z.shape[1]} features, input_pool_ {est.input_pool_}",
            flush=True,
        )


if __name__ == "__main__":
    main()
