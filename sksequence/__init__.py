"""sksequence: scikit-learn compatible deep learning for sequences."""

from ._autoencoder import LSTMAutoencoderTransformer
from ._base import DivergenceWarning
from ._classifier import SequenceClassifier
from ._seq2seq import Seq2SeqClassifier, Seq2SeqRegressor

__version__ = "0.1.0"

__all__ = [
    "DivergenceWarning",
    "LSTMAutoencoderTransformer",
    "Seq2SeqClassifier",
    "Seq2SeqRegressor",
    "SequenceClassifier",
    "__version__",
]
