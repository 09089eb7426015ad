"""SequenceClassifier with and without autoencoder pre-training, on archive problems.

``SequenceClassifier()`` (defaults) against ``SequenceClassifier(encoder=ae)`` where
``ae = LSTMAutoencoderTransformer()`` (defaults) was fitted on the training series
(unsupervised pre-training: the classifier starts from the autoencoder's front end,
recurrent encoder and input scaling). Test accuracy and fit CPU seconds (the
pre-trained row counts the autoencoder's fit too), one torch thread.

Usage (benchmark environment, repository root)::

    PYTHONPATH=. benchmarks/.venv/bin/python benchmarks/bench_pretrain_real.py \\
        --problems Covid3Month_disc JapaneseVowels --seeds 0 1 \\
        --json benchmarks/out/pretrain.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import warnings

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _ucr_data import load_problem  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--problems", nargs="+", default=["Covid3Month_disc"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    from sksequence import LSTMAutoencoderTransformer, SequenceClassifier

    records = []
    for name in args.problems:
        prob = load_problem(name)
        Xtr, ytr, Xte, yte = (
            prob["X_train"],
            prob["y_train"],
            prob["X_test"],
            prob["y_test"],
        )
        for seed in args.seeds:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                t = time.process_time()
                clf = SequenceClassifier(random_state=seed).fit(Xtr, ytr)
                scratch_cpu = time.process_time() - t
                scratch = float(np.mean(clf.predict(Xte) == yte))
                t = time.process_time()
                ae = LSTMAutoencoderTransformer(random_state=seed).fit(Xtr)
                ae_cpu = time.process_time() - t
                clf = SequenceClassifier(encoder=ae, random_state=seed).fit(Xtr, ytr)
                pre_cpu = time.process_time() - t
                pre = float(np.mean(clf.predict(Xte) == yte))
            rec = dict(
                problem=name,
                seed=seed,
                scratch=scratch,
                pretrained=pre,
                scratch_cpu=scratch_cpu,
                pretrained_cpu=pre_cpu,
                ae_cpu=ae_cpu,
            )
            records.append(rec)
            print(json.dumps(rec), flush=True)
            if args.json:
                with open(args.json, "w") as f:
                    json.dump({"records": records}, f, indent=1)
    print("\n| problem | from scratch | pre-trained | fit CPU s (scratch / AE + clf) |")
    print("|---|---|---|---|")
    for name in args.problems:
        rs = [r for r in records if r["problem"] == name]
        print(
            f"| {name} | {statistics.mean(r['scratch'] for r in rs):.3f} | "
            f"{statistics.mean(r['pretrained'] for r in rs):.3f} | "
            f"{statistics.mean(r['scratch_cpu'] for r in rs):.0f} / "
            f"{statistics.mean(r['pretrained_cpu'] for r in rs):.0f} |"
        )


if __name__ == "__main__":
    main()
