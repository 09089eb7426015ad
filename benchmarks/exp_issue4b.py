"""Temporary experiment runner for issue 4b (crop / SWA / mixup)."""
import json, sys, time
import numpy as np
import torch
sys.path.insert(0, "/work/wt7/benchmarks")
from bench_classifier_ucr import load, to_sksequence
import sksequence._classifier as C
from sksequence import SequenceClassifier

configs = json.loads(sys.argv[1])  # list of [name, experiment dict, tta frac or 0]
problems = sys.argv[2].split(",")
seeds = [int(s) for s in sys.argv[3].split(",")]
out = sys.argv[4]
torch.set_num_threads(1)
data = {}
for p in problems:
    Xtr, ytr = load(p, "train"); Xte, yte = load(p, "test")
    data[p] = (to_sksequence(Xtr), ytr, to_sksequence(Xte), yte)


def crops(X, frac, pos):
    def one(x):
        T = x.shape[0]; w = max(1, int(round(T * frac)))
        o = int(round((T - w) * pos))
        return x[o:o + w]
    if isinstance(X, list):
        return [one(x) for x in X]
    return np.stack([one(x) for x in X])


for name, exp, tta in configs:
    for p in problems:
        Xtr, ytr, Xte, yte = data[p]
        for s in seeds:
            C._EXPERIMENT.clear(); C._EXPERIMENT.update(exp)
            torch.set_num_threads(1)
            clf = SequenceClassifier(random_state=s)
            t = time.process_time(); clf.fit(Xtr, ytr); cpu = time.process_time() - t
            proba = clf.predict_proba(Xte)
            acc = float(np.mean(clf.classes_[proba.argmax(1)] == yte))
            rec = dict(config=name, problem=p, seed=s, acc=acc, cpu=cpu)
            if tta:
                ps = [proba] + [clf.predict_proba(crops(Xte, tta, q)) for q in (0, 0.5, 1)]
                rec["acc_tta"] = float(np.mean(clf.classes_[np.mean(ps, 0).argmax(1)] == yte))
            C._EXPERIMENT.clear()
            print(json.dumps(rec), flush=True)
            with open(out, "a") as f:
                f.write(json.dumps(rec) + "\n")
