"""Pure PyTorch modules: encoders, decoders, attention and model assemblies."""

from .autoencoder import SequenceAutoencoder
from .decoder import ConditionalDecoder, RepeatDecoder
from .encoder import RecurrentEncoder, make_rnn
from .functional import length_mask, masked_mse, reverse_padded

__all__ = [
    "ConditionalDecoder",
    "RecurrentEncoder",
    "RepeatDecoder",
    "SequenceAutoencoder",
    "length_mask",
    "make_rnn",
    "masked_mse",
    "reverse_padded",
]
