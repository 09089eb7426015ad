"""sksequence: scikit-learn compatible deep learning for sequences."""

from ._autoencoder import LSTMAutoencoderTransformer
from ._base import DivergenceWarning, TrainingInterrupted
from ._classifier import SequenceClassifier
from ._seq2seq import Seq2SeqClassifier, Seq2SeqRegressor
from .persistence import load
from .utils.validation import SequenceLayoutWarning

__version__ = "0.1.0"

__all__ = [
    "DivergenceWarning",
    "LSTMAutoencoderTransformer",
    "Seq2SeqClassifier",
    "Seq2SeqRegressor",
    "SequenceClassifier",
    "SequenceLayoutWarning",
    "TrainingInterrupted",
    "__version__",
    "load",
]
