"""sksequence: scikit-learn compatible deep learning for sequences."""

from ._autoencoder import LSTMAutoencoderTransformer
from ._base import DivergenceWarning

__version__ = "0.1.0"

__all__ = ["DivergenceWarning", "LSTMAutoencoderTransformer", "__version__"]
