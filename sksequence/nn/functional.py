"""Small tensor helpers for padded sequence batches.

Shape symbols: N batch, L length (padded), F features.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch import Tensor, nn

__all__ = [
    "conv1d_steps_last",
    "dilated_maps_steps_last",
    "length_mask",
    "take_steps",
    "reverse_padded",
    "masked_mse",
    "masked_mae",
    "pool_counts",
    "pool_steps",
    "row_linear",
    "weighted_mean",
    "window_warp",
]


def length_mask(lengths: Tensor, max_len: int) -> Tensor:
    """Boolean mask ``(N, L)``: True on valid steps, False on padding."""
    steps = torch.arange(max_len, device=lengths.device)
    return steps[None, :] < lengths[:, None]  # (N, L)


def take_steps(x: Tensor, index: Tensor) -> Tensor:
    """``x[n, index[n, t]]`` for every n, t: (N, L, F) and (N, L') -> (N, L', F)."""
    return torch.gather(x, 1, index[:, :, None].expand(-1, -1, x.shape[2]))


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
    return take_steps(x, index)


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
    return _masked_mean((pred - target).pow(2), lengths, reduction)


def masked_mae(
    pred: Tensor, target: Tensor, lengths: Tensor | None = None, reduction: str = "mean"
) -> Tensor:
    """Mean absolute error over valid steps only (arguments as :func:`masked_mse`)."""
    return _masked_mean((pred - target).abs(), lengths, reduction)


def _masked_mean(err: Tensor, lengths: Tensor | None, reduction: str) -> Tensor:
    """Mean of ``err`` (N, L, F) over valid steps: one scalar, or ``(N,)``."""
    if lengths is None:
        if reduction == "none":
            return err.mean(dim=(1, 2))  # (N,)
        return err.mean()
    mask = length_mask(lengths.to(err.device), err.shape[1])[:, :, None]  # (N, L, 1)
    err = err * mask
    counts = lengths.to(err.device, err.dtype) * err.shape[2]  # (N,)
    if reduction == "none":
        return err.sum(dim=(1, 2)) / counts
    return err.sum() / counts.sum()


def window_warp(
    x: Tensor,
    lengths: Tensor | None,
    fraction: float,
    generator: torch.Generator | None = None,
) -> tuple[Tensor, Tensor | None]:
    """Window warping (Le Guennec et al. 2016), a training-time augmentation.

    In each sequence a window of ``fraction`` of its valid length (at least 2 steps,
    at a random offset) is resampled by linear interpolation to half or double its
    length (one draw of the two for the whole batch); the steps before and after it
    are kept as they are, so the sequence gets shorter or longer by half the window.

    ``x`` (N, L, F), ``lengths`` (N,) or None -> ``(y, new_lengths)``: ``y``
    (N, L', F) zero after each sequence's new end; ``new_lengths`` None if
    ``lengths`` was None (all sequences then change by the same amount).
    Draws from ``generator`` (torch's global generator if None).
    """
    n, steps = x.shape[0], x.shape[1]
    if lengths is None:
        full = torch.full((n,), steps, dtype=torch.long)
    else:
        full = lengths.to("cpu", torch.long).clamp(min=1)
    width = (full.double() * fraction).round().long().clamp(min=2)
    width = torch.minimum(width, full)  # (N,)
    ratio = 0.5 if bool(torch.rand((), generator=generator) < 0.5) else 2.0
    warped = (width.double() * ratio).round().long().clamp(min=1)  # (N,)
    new = full - width + warped  # (N,)
    start = (torch.rand(n, generator=generator).double() * (full - width + 1)).floor()
    start = start.long()
    start = torch.minimum(start, full - width)[:, None].double()  # (N, 1)
    out_steps = int(new.max())
    j = torch.arange(out_steps).double()[None, :]  # (1, L')
    w, ww = width[:, None].double(), warped[:, None].double()
    inside = start + (j - start) * (w - 1) / (ww - 1).clamp(min=1)
    source = torch.where(j < start, j, torch.where(j < start + ww, inside, j - ww + w))
    source = torch.minimum(source, (full[:, None] - 1).double()).clamp(min=0)  # (N, L')
    low = source.floor().long()
    high = torch.minimum(low + 1, full[:, None] - 1)
    t = (source - low.double()).to(x.dtype).to(x.device)[:, :, None]  # (N, L', 1)
    y = take_steps(x, low.to(x.device)) * (1 - t) + take_steps(x, high.to(x.device)) * t
    if lengths is None:
        return y, None
    mask = length_mask(new.to(x.device), out_steps)[:, :, None]  # (N, L', 1)
    return y * mask, new.to(lengths.device, lengths.dtype)


def pool_steps(
    x: Tensor, lengths: Tensor | None, size: int
) -> tuple[Tensor, Tensor | None]:
    """Average every ``size`` consecutive steps: (N, L, F) -> (N, ceil(L / size), F)
    and each sequence's length -> ceil(length / size). Only a sequence's own steps
    are averaged (its last group may be shorter), so the result does not depend on
    the batch's padding."""
    if size == 1:
        return x, lengths
    if lengths is None:  # (the last group averages its own steps; traceable)
        pooled = nn.functional.avg_pool1d(x.transpose(1, 2), size, ceil_mode=True)
        return pooled.transpose(1, 2), None
    n, steps, feats = x.shape
    groups = -(-steps // size)
    lengths = lengths.to(x.device)
    x = x * length_mask(lengths, steps)[:, :, None]
    counts = pool_counts(lengths, steps, size).clamp(min=1)  # (N, G)
    x = nn.functional.pad(x, (0, 0, 0, groups * size - steps))
    sums = x.reshape(n, groups, size, feats).sum(dim=2)  # (N, G, F)
    return sums / counts[:, :, None].to(x.dtype), -(-lengths // size)


# conv1d_steps_last convolves inputs of at least this many features in the
# channels-last layout (1.5-6x faster on CPU for 16-256 features: no transposed
# copy of the input, and oneDNN's kernels for that layout; benchmarks/RESULTS.md);
# narrower inputs as before, bit for bit
_STEPS_LAST_MIN_FEATURES = 16


def conv1d_steps_last(
    x: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: int = 1,
    padding: int = 0,
    dilation: int = 1,
) -> Tensor:
    """``conv1d`` of ``x`` (N, L, F), steps before features, with ``weight`` (C,
    F, k): (N, C, L'). With ``F`` >= 16 the convolution reads ``x`` in place
    as a channels-last image (equal to ``conv1d`` of ``x.transpose(1, 2)`` up
    to float rounding); narrower inputs are transposed and convolved by
    ``conv1d`` itself."""
    if x.shape[-1] < _STEPS_LAST_MIN_FEATURES:
        return nn.functional.conv1d(
            x.transpose(1, 2), weight, bias, stride, padding, dilation
        )
    y = nn.functional.conv2d(
        x.transpose(1, 2).unsqueeze(2),  # (N, F, 1, L), channels last in memory
        weight.unsqueeze(2).contiguous(memory_format=torch.channels_last),
        bias,
        (1, stride),
        (0, padding),
        (1, dilation),
    )
    return y.squeeze(2)  # (N, C, L')


# dilated_maps_steps_last sums shifted taps for inputs of at least this many
# features (12 dilations of 64 kernels of 7 taps, 16 x 1,000 steps, one CPU
# thread: 1.8x faster than a convolution per dilation at 32 features, 2.7x at
# 64, 5.8x at 300; 1.3x slower at 16); narrower inputs as before, bit for bit
_TAP_SUM_MIN_FEATURES = 32


def dilated_maps_steps_last(
    x: Tensor, weight: Tensor, bias: Tensor | None, dilations
) -> Iterator[Tensor]:
    """For each ``d`` of ``dilations``, the "same" convolution of ``x`` (N, L,
    F) with ``weight`` (C, F, k) (k odd) at dilation ``d``: (N, L, C), as
    ``conv1d_steps_last(x, weight, bias, 1, d * (k // 2), d).transpose(1, 2)``.
    Inputs of fewer than 32 features (and any input when traced for export)
    are convolved so, one dilation at a time. Wider ones have each tap's
    products with every step computed once, (k, N, L, C), and each dilation's
    map is the sum of the k taps' products shifted by multiples of ``d``: one
    convolution's multiplications for all the dilations (equal to the
    convolutions up to float rounding)."""
    k, dilations = weight.shape[-1], tuple(dilations)
    if x.shape[-1] < _TAP_SUM_MIN_FEATURES or torch.jit.is_tracing():
        for d in dilations:
            yield conv1d_steps_last(x, weight, bias, 1, d * (k // 2), d).transpose(1, 2)
        return
    if not dilations:
        return
    n, steps, f = x.shape
    mid = k // 2
    # (k, N, L, C): each tap's products, contiguous
    taps = torch.matmul(x.reshape(1, n * steps, f), weight.permute(2, 1, 0))
    taps = taps.reshape(k, n, steps, -1)
    for d in dilations:
        y = taps[mid].clone()  # (N, L, C)
        for j in range(k):
            shift = d * (j - mid)  # step t reads step t + shift (zero outside)
            if j == mid or abs(shift) >= steps:
                continue
            if shift > 0:
                y[:, : steps - shift].add_(taps[j, :, shift:])
            else:
                y[:, -shift:].add_(taps[j, :, : steps + shift])
        yield y if bias is None else y.add_(bias)


def pool_counts(lengths: Tensor, steps: int, size: int) -> Tensor:
    """How many of each sequence's own steps each group of :func:`pool_steps`
    averages: (N,) lengths of (N, steps, F) -> (N, ceil(steps / size)), 0 for
    the groups after a sequence's end."""
    start = torch.arange(-(-steps // size), device=lengths.device) * size  # (G,)
    return (lengths[:, None] - start).clamp(min=0, max=size)


def weighted_mean(values: Tensor, weight: Tensor) -> Tensor:
    """``sum(weight * values) / sum(weight)`` over the batch: (N,) -> ()."""
    weight = weight.to(values.dtype)
    return (values * weight).sum() / weight.sum().clamp(
        min=torch.finfo(values.dtype).tiny
    )


def row_linear(x: Tensor, layer: nn.Linear) -> Tensor:
    """``layer(x)`` for ``x`` (N, K), computed row by row (a batched product of
    N 1-row matrices), so each row's result does not depend on how many rows are in
    the batch: CPU matrix-product kernels pick other code paths for other batch
    sizes, and the last bits of a row's output then differ (seen: 3.6e-7 on logits
    between batches of 8 and 40 rows). -> (N, C)."""
    n = x.shape[0]
    weight = layer.weight.t().expand(n, *layer.weight.t().shape)  # (N, K, C)
    out = torch.bmm(x[:, None, :], weight)[:, 0]  # (N, C)
    return out if layer.bias is None else out + layer.bias
