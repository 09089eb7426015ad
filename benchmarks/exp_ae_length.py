"""Fit time of LSTMAutoencoderTransformer with its defaults against the sequences'
length and width (random walks; CPU seconds, 1 torch thread).

    PYTHONPATH=. OMP_NUM_THREADS=1 python benchmarks/exp_ae_length.py
    PYTHONPATH=. OMP_NUM_THREADS=1 python benchmarks/exp_ae_length.py --long  # > 4096 steps
    PYTHONPATH=. OMP_NUM_THREADS=1 python benchmarks/exp_ae_length.py --wide  # many channels
    PYTHONPATH=. OMP_NUM_THREADS=1 python benchmarks/exp_ae_length.py --wide --per-update

``--per-update``: instead of whole fits, the CPU time of one training update of
the default module (a batch of 16, mean of 20 after 3 warm-up updates; the
module built by a one-epoch fit on 32 of the series). ``--classifier``:
instead, the default ``SequenceClassifier`` fitted on random labels (it shares
the autoencoder's front end).
"""

import sys
import time

import numpy as np
import torch

from sksequence import LSTMAutoencoderTransformer, SequenceClassifier

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
# the shapes of three wide archive problems: MotorImagery, DuckDuckGeese, PEMS-SF
WIDE = [(278, 3000, 64), (50, 270, 1345), (267, 144, 963)]


def per_update(X: np.ndarray) -> float:
    """CPU ms of one training update of the default module on X[:16]."""
    est = LSTMAutoencoderTransformer(random_state=0, max_epochs=1).fit(X[:32])
    module = est.net_.module_.train()
    batch = torch.as_tensor(X[:16])
    gen = torch.Generator().manual_seed(0)
    opt = torch.optim.AdamW(module.parameters(), 1e-3)

    def step():
        loss = module.loss(module(batch, generator=gen), batch)
        opt.zero_grad()
        loss.backward()
        opt.step()

    for _ in range(3):
        step()
    start = time.process_time()
    for _ in range(20):
        step()
    return (time.process_time() - start) / 20 * 1000


def main():
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    if "--wide" in sys.argv:
        shapes = WIDE
    elif "--long" in sys.argv:
        shapes = [s for s in SHAPES if s[1] > 4096]
    else:
        shapes = SHAPES
    for n, t, f in shapes:
        X = np.cumsum(rng.normal(size=(n, t, f)), axis=1).astype(np.float32)
        if "--classifier" in sys.argv:
            y = rng.integers(0, 2, n)
            start = time.process_time()
            SequenceClassifier(random_state=0).fit(X, y)
            fit = time.process_time() - start
            print(f"{n} x {t} x {f}: classifier fit {fit:.1f} s", flush=True)
            continue
        if "--per-update" in sys.argv:
            print(f"{n} x {t} x {f}: {per_update(X):.0f} ms/update", flush=True)
            continue
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
