"""sksequence: scikit-learn compatible deep learning for sequences.

The estimators are imported on first use, so ``import sksequence.nn`` (the pure
torch modules) needs neither scikit-learn nor skorch.
"""

import importlib

__version__ = "0.1.0"

_LAZY = {
    "LSTMAutoencoderTransformer": "._autoencoder",
    "SequenceClassifier": "._classifier",
    "Seq2SeqClassifier": "._seq2seq",
    "Seq2SeqRegressor": "._seq2seq",
    "DivergenceWarning": "._base",
    "TrainingInterrupted": "._base",
    "load": ".persistence",
    "SequenceLayoutWarning": ".utils.validation",
    "SlidingWindowAnomalyDetector": ".anomaly",
}

__all__ = [
    "DivergenceWarning",
    "LSTMAutoencoderTransformer",
    "Seq2SeqClassifier",
    "Seq2SeqRegressor",
    "SequenceClassifier",
    "SequenceLayoutWarning",
    "SlidingWindowAnomalyDetector",
    "TrainingInterrupted",
    "__version__",
    "load",
]


def __getattr__(name):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'sksequence' has no attribute {name!r}")


def __dir__():
    return sorted(__all__)
