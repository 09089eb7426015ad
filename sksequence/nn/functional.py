"""Small tensor helpers for padded sequence batches.

Shape symbols: N batch, L length (padded), F features.
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["length_mask", "reverse_padded", "masked_mse"]


def length_mask(lengths: Tensor, max_len: int) -> Tensor:
    """Boolean mask ``(N, L)``: True on valid steps, False on padding."""
    steps = torch.arange(max_len, device=lengths.device)
    return steps[None, :] < lengths[:, None]  # (N, L)


def reverse_padded(x: Tensor, lengths: Tensor | None = None) -> Tensor:
    """Reverse each sequence of ``x`` ``(N, L, F)`` within its own valid length.

    Padding stays where it is, so ``reverse_padded(reverse_padded(x, l), l) == x``.
    """
    if lengths is None:
        return torch.flip(x, dims=(1,))
    n, max_len = x.shape[0], x.shape[1]
    steps = torch.arange(max_len, device=x.device).expand(n, max_len)  # (N, L)
    lengths = lengths.to(x.device)[:, None]
    index = torch.where(steps < lengths, lengths - 1 - steps, steps)  # (N, L)
    return torch.gather(x, 1, index[:, :, None].expand_as(x))


def masked_mse(
    pred: Tensor, target: Tensor, lengths: Tensor | None = None, reduction: str = "mean"
) -> Tensor:
    """Mean squared error over valid steps only.

    Parameters
    ----------
    pred, target : Tensor of shape (N, L, F)
    lengths : Tensor of shape (N,), optional
        Valid steps per sequence; None means every step is valid.
    reduction : {"mean", "none"}
        "mean": one scalar, the mean over all valid values. "none": ``(N,)``, the mean
        over each sequence's valid values.
    """
    sq = (pred - target).pow(2)  # (N, L, F)
    if lengths is None:
        if reduction == "none":
            return sq.mean(dim=(1, 2))  # (N,)
        return sq.mean()
    mask = length_mask(lengths.to(pred.device), pred.shape[1])[:, :, None]  # (N, L, 1)
    sq = sq * mask
    counts = lengths.to(pred.device, pred.dtype) * pred.shape[2]  # (N,)
    if reduction == "none":
        return sq.sum(dim=(1, 2)) / counts
    return sq.sum() / counts.sum()
