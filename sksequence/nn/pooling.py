"""Pooling a padded sequence of vectors into one vector per sequence.

Shape symbols: N batch, L length (padded), H features per step.

Every pooling looks only at each sequence's valid steps, so the amount of padding
never changes the result.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from .functional import length_mask

__all__ = [
    "POOLINGS",
    "AttentionPooling",
    "SequencePooling",
    "masked_max",
    "masked_mean",
]

POOLINGS = ("last", "mean", "max", "mean_max", "last_max", "attention")


def masked_mean(x: Tensor, lengths: Tensor | None = None) -> Tensor:
    """Mean over the valid steps of ``x`` (N, L, H) -> (N, H)."""
    if lengths is None:
        return x.mean(dim=1)
    mask = length_mask(lengths.to(x.device), x.shape[1])[:, :, None]  # (N, L, 1)
    counts = lengths.to(x.device, x.dtype).clamp(min=1)[:, None]  # (N, 1)
    return (x * mask).sum(dim=1) / counts  # (N, H)


def masked_max(x: Tensor, lengths: Tensor | None = None) -> Tensor:
    """Maximum over the valid steps of ``x`` (N, L, H) -> (N, H)."""
    if lengths is None:
        return x.amax(dim=1)
    mask = length_mask(lengths.to(x.device), x.shape[1])[:, :, None]  # (N, L, 1)
    return x.masked_fill(~mask, float("-inf")).amax(dim=1)  # (N, H)


class AttentionPooling(nn.Module):
    """Attention pooling: a learned score per step, softmax over the valid steps,
    and the weighted sum of the steps (Bahdanau-style additive scoring).

    Parameters
    ----------
    input_size : int
        H, features per step.
    attention_size : int, optional
        Width of the scoring layer (default: ``input_size``).

    Forward: ``x`` (N, L, H), ``lengths`` (N,) or None -> (N, H). After a forward pass
    ``last_weights`` holds the (N, L) weights (zero on padding).
    """

    def __init__(self, input_size: int, attention_size: int | None = None) -> None:
        super().__init__()
        attention_size = attention_size or input_size
        self.score = nn.Sequential(
            nn.Linear(input_size, attention_size),
            nn.Tanh(),
            nn.Linear(attention_size, 1, bias=False),
        )
        self.last_weights: Tensor | None = None

    def forward(self, x: Tensor, lengths: Tensor | None = None) -> Tensor:
        scores = self.score(x).squeeze(-1)  # (N, L)
        if lengths is not None:
            mask = length_mask(lengths.to(x.device), x.shape[1])  # (N, L)
            scores = scores.masked_fill(~mask, float("-inf"))
        weights = torch.softmax(scores, dim=1)  # (N, L)
        self.last_weights = weights.detach()
        return torch.bmm(weights[:, None, :], x).squeeze(1)  # (N, H)


class SequencePooling(nn.Module):
    """One vector per sequence from per-step vectors.

    Parameters
    ----------
    mode : {"last", "mean", "max", "mean_max", "last_max", "attention"}
        "last" takes the final recurrent state (passed as ``last``); "mean_max"
        concatenates the mean and the maximum, "last_max" the final state and the
        maximum.
    input_size : int
        H, features per step.

    Forward: ``x`` (N, L, H), ``lengths`` (N,) or None, ``last`` (N, H) (for "last")
    -> (N, ``output_size``).
    """

    def __init__(self, mode: str, input_size: int) -> None:
        super().__init__()
        if mode not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, got {mode!r}.")
        self.mode = mode
        combined = mode in ("mean_max", "last_max")
        self.output_size = 2 * input_size if combined else input_size
        self.attention = AttentionPooling(input_size) if mode == "attention" else None

    def forward(
        self, x: Tensor, lengths: Tensor | None = None, last: Tensor | None = None
    ) -> Tensor:
        if self.mode in ("last", "last_max") and last is None:
            raise ValueError(f"pooling={self.mode!r} needs the final state `last`.")
        if self.mode == "last":
            return last
        if self.mode == "last_max":
            return torch.cat([last, masked_max(x, lengths)], dim=-1)
        if self.mode == "mean":
            return masked_mean(x, lengths)
        if self.mode == "max":
            return masked_max(x, lengths)
        if self.mode == "mean_max":
            return torch.cat([masked_mean(x, lengths), masked_max(x, lengths)], dim=-1)
        return self.attention(x, lengths)
