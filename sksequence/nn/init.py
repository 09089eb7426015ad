"""Parameter initialisation from an explicit generator.

torch's layers initialise themselves from the global generator when they are built.
:func:`reset_parameters` draws them again, with the same distributions as torch's
defaults, from a ``torch.Generator`` of the caller's, so that a model's initial weights
depend on that generator alone (two fits in threads cannot draw from each other's
seed).
"""

from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["reset_parameters"]

_NORMS = (
    nn.modules.batchnorm._NormBase,
    nn.LayerNorm,
    nn.GroupNorm,
)


@torch.no_grad()
def _uniform(t: torch.Tensor, bound: float, generator: torch.Generator) -> None:
    nn.init.uniform_(t, -bound, bound, generator=generator)


@torch.no_grad()
def _reset_layer(m: nn.Module, generator: torch.Generator) -> bool:
    """Re-draw one layer's own parameters; False if its type is not known here."""
    if isinstance(m, (nn.Linear, nn.modules.conv._ConvNd, nn.Bilinear)):
        nn.init.kaiming_uniform_(m.weight, a=math.sqrt(5), generator=generator)
        if m.bias is not None:
            fan_in, _ = nn.init._calculate_fan_in_and_fan_out(m.weight)
            _uniform(m.bias, 1 / math.sqrt(fan_in) if fan_in > 0 else 0.0, generator)
        return True
    if isinstance(m, (nn.RNNBase, nn.RNNCellBase)):
        bound = 1.0 / math.sqrt(m.hidden_size) if m.hidden_size > 0 else 0.0
        for p in m.parameters(recurse=False):
            _uniform(p, bound, generator)
        return True
    if isinstance(m, nn.Embedding):
        nn.init.normal_(m.weight, generator=generator)
        if m.padding_idx is not None:
            m.weight[m.padding_idx].fill_(0)
        return True
    if isinstance(m, _NORMS):
        m.reset_parameters()  # ones and zeros: no randomness
        return True
    return False


def reset_parameters(module: nn.Module, generator: torch.Generator) -> nn.Module:
    """Re-initialise every parameter of ``module`` from ``generator``.

    Linear and convolution layers, LSTM/GRU layers and cells, embeddings and
    normalisation layers get torch's default distributions. A module of another
    kind that owns parameters directly must either define
    ``reset_parameters(generator=...)`` or build them deterministically (e.g. a
    learned start vector of zeros), which is left as it is.
    """
    for m in module.modules():
        if _reset_layer(m, generator):
            continue
        own = list(m.parameters(recurse=False))
        if own and hasattr(m, "reset_parameters"):
            try:
                m.reset_parameters(generator=generator)
            except TypeError as exc:
                raise TypeError(
                    f"{type(m).__name__} owns parameters, so its reset_parameters "
                    "must take a generator= keyword argument."
                ) from exc
    return module
