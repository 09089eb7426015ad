"""Research screen (issue 11, item 3): the detector's threshold with
``contamination="auto"``, on the labelled series of ``bench_anomaly_series.py``.

With ``error="auto"`` every part of the score is in units of its 99th
percentile over the training steps, and ``contamination="auto"`` flags the
steps scored above every training step (``offset_``). One outlying training
window can set that maximum far above the rest. This script fits the default
detector on each labelled series' training part and reports, at several
thresholds, the share of the labelled anomaly's steps flagged (recall) and
of the normal steps after the training part, more than a window from the
anomaly, flagged (false-positive rate):

- ``max``: the detector's own threshold (the training steps' maximum);
- ``c``: a fixed ``c`` times the parts' training q99;
- ``min(max, c)``: the training maximum, capped at ``c``.

    PYTHONPATH=.:benchmarks OMP_NUM_THREADS=1 benchmarks/.venv/bin/python \\
        benchmarks/exp_anomaly_threshold.py --seeds 0 1 2
"""

import argparse

import numpy as np
from bench_anomaly_series import SERIES, load_series

RULES = ("max", "2", "3", "min(max, 2)", "min(max, 3)")


def threshold(rule: str, top: float) -> float:
    if rule == "max":
        return top
    if rule.startswith("min"):
        return min(top, float(rule.split(",")[1].strip(" )")))
    return float(rule)


def run(name: str, seed: int) -> dict:
    from sksequence import LSTMAutoencoderTransformer, SlidingWindowAnomalyDetector

    x, y, n_train = load_series(name)
    window = SERIES[name][1]
    det = SlidingWindowAnomalyDetector(
        LSTMAutoencoderTransformer(random_state=seed),
        window_size=window,
        stride=max(1, window // 8),
    ).fit(x[None, :n_train])
    score = -det.score_samples(x[None])[0][n_train:]
    lab = y[n_train:]
    near = np.convolve(lab, np.ones(2 * window + 1), mode="same") > 0
    top = -det.offset_
    out = {"top": top}
    for rule in RULES:
        flagged = score > threshold(rule, top)
        out[rule] = (flagged[lab == 1].mean(), flagged[~near].mean())
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--series", nargs="+", default=list(SERIES))
    ap.add_argument("--seeds", nargs="+", type=int, default=[0])
    args = ap.parse_args()
    import torch

    torch.set_num_threads(1)
    print("| series | training max | " + " | ".join(RULES) + " |")
    print("|---" * (len(RULES) + 2) + "|")
    for name in args.series:
        runs = [run(name, s) for s in args.seeds]
        cells = []
        for rule in RULES:
            rec = np.mean([r[rule][0] for r in runs])
            fpr = np.mean([r[rule][1] for r in runs])
            cells.append(f"{rec:.2f} / {fpr:.3f}")
        top = np.mean([r["top"] for r in runs])
        print(f"| {name} | {top:.2f} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
