"""The loop the autoencoder's research screens share (``exp_code_*.py``).

``screen_args(log)`` parses ``--problems --seeds --cfg --name --log``;
``run_screen(args, cfg, make_estimator, key)`` fits ``make_estimator(seed)`` on
every problem's training series, scores StandardScaler + LogisticRegression on
its ``transform`` and prints and appends one JSON record per fit to ``args.log``
(``key``: the accuracy's name; ``fit_s``: the fit's CPU seconds).
``legacy_code()`` makes ``n_components=k`` train the code these screens studied.
"""

import argparse
import json
import os
import time

from _ucr_data import DEV, load_problem
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


def legacy_code() -> None:
    """``LSTMAutoencoderTransformer(n_components=k)`` builds the design these
    screens studied (before the principal components): the decoders read a
    k-value code and ``transform`` returns it."""
    from sksequence import LSTMAutoencoderTransformer

    build = LSTMAutoencoderTransformer._module_kwargs

    def _module_kwargs(self, *args, **kwargs):
        kwargs["legacy_code"] = self.n_components is not None
        return build(self, *args, **kwargs)

    LSTMAutoencoderTransformer._module_kwargs = _module_kwargs


def screen_args(log: str, extra=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser()
    ap.add_argument("--problems", nargs="*", default=DEV)
    ap.add_argument("--seeds", type=int, nargs="*", default=[0])
    ap.add_argument("--cfg", default="{}")
    ap.add_argument("--name", required=True)
    ap.add_argument("--log", default=log)
    if extra is not None:
        extra(ap)
    return ap.parse_args()


def run_screen(args, cfg: dict, make_estimator, key: str = "acc16") -> None:
    os.makedirs(os.path.dirname(args.log) or ".", exist_ok=True)
    for seed in args.seeds:
        for name in args.problems:
            p = load_problem(name)
            t0 = time.process_time()
            est = make_estimator(seed).fit(p["X_train"])
            fit_s = time.process_time() - t0
            pipe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
            pipe.fit(est.transform(p["X_train"]), p["y_train"])
            acc = float(pipe.score(est.transform(p["X_test"]), p["y_test"]))
            res = {"name": args.name, "cfg": cfg, "problem": name, "seed": seed}
            res.update({key: acc, "fit_s": fit_s})
            print(json.dumps(res), flush=True)
            with open(args.log, "a") as f:
                f.write(json.dumps(res) + "\n")
