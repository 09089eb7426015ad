"""Pure PyTorch modules: encoders, decoders, attention, model assemblies, decoding.

Nothing here imports scikit-learn or skorch: ``import sksequence.nn`` needs torch
alone.
"""

from .attention import BahdanauAttention, LuongAttention
from .autoencoder import SequenceAutoencoder
from .classifier import RecurrentClassifier
from .conv import ConvFrontEnd
from .decoder import ConditionalDecoder, RepeatDecoder
from .decoding import beam_search, greedy_decode, sample_decode
from .encoder import RecurrentEncoder, make_rnn
from .functional import length_mask, masked_mse, reverse_padded
from .init import reset_parameters
from .pooling import SequencePooling
from .seq2seq import Seq2Seq

__all__ = [
    "BahdanauAttention",
    "ConditionalDecoder",
    "ConvFrontEnd",
    "LuongAttention",
    "RecurrentClassifier",
    "RecurrentEncoder",
    "RepeatDecoder",
    "Seq2Seq",
    "SequenceAutoencoder",
    "SequencePooling",
    "beam_search",
    "greedy_decode",
    "length_mask",
    "make_rnn",
    "masked_mse",
    "reset_parameters",
    "reverse_padded",
    "sample_decode",
]
