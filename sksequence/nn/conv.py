"""Length-aware 1-D convolutional front end for padded sequence batches.

Shape symbols: N batch, L length (padded), F input features, C channels.

Each block is Conv1d -> batch norm -> ReLU, optionally strided (which shortens the
sequence the recurrent layer then reads). Padding never changes a valid output:
invalid steps are zeroed after every block, so a convolution near the end of a
sequence reads the same zeros as it would on the unpadded sequence, and batch-norm
statistics in training are taken over valid steps only.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .functional import conv1d_steps_last, length_mask

__all__ = ["ConvFrontEnd", "MaskedBatchNorm1d", "conv_output_lengths"]


def conv_output_lengths(lengths: Tensor, kernel_size: int, stride: int) -> Tensor:
    """Valid output steps of a ``padding=kernel_size // 2`` convolution."""
    pad = kernel_size // 2
    return torch.div(lengths + 2 * pad - kernel_size, stride, rounding_mode="floor") + 1


class MaskedBatchNorm1d(nn.BatchNorm1d):
    """``nn.BatchNorm1d`` over (N, C, L) whose training statistics ignore padding.

    In evaluation mode (running statistics) it is exactly ``nn.BatchNorm1d``.
    """

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        single = x.shape[0] * x.shape[2] == 1  # torch refuses one value per channel
        if not self.training or (not single and (mask is None or bool(mask.all()))):
            return super().forward(x)
        m = (x.new_ones(x[:, :1].shape) if mask is None else mask[:, None, :]).to(
            x.dtype
        )  # (N, 1, L)
        count = m.sum().clamp(min=2.0)
        mean = (x * m).sum(dim=(0, 2)) / count  # (C,)
        var = (((x - mean[None, :, None]) * m) ** 2).sum(dim=(0, 2)) / count  # (C,)
        if self.track_running_stats and self.running_mean is not None:
            with torch.no_grad():
                mom = self.momentum if self.momentum is not None else 0.1
                self.running_mean.mul_(1 - mom).add_(mom * mean)
                self.running_var.mul_(1 - mom).add_(mom * var * count / (count - 1))
                self.num_batches_tracked.add_(1)
        x = (x - mean[None, :, None]) / torch.sqrt(var[None, :, None] + self.eps)
        if self.affine:
            x = x * self.weight[None, :, None] + self.bias[None, :, None]
        return x


class ConvFrontEnd(nn.Module):
    """A stack of length-aware Conv1d -> BatchNorm -> ReLU blocks.

    Parameters
    ----------
    input_size : int
        F, features per timestep.
    channels : sequence of int
        Output channels of each block.
    kernel_sizes : sequence of int
        Odd kernel width of each block ("same" padding).
    strides : sequence of int
        Stride of each block; the output length is ``ceil(L / stride)``.

    Forward: ``x`` (N, L, F), ``lengths`` (N,) or None -> ``(y, lengths)`` with ``y``
    (N, L', C) zero after each sequence's end and ``lengths`` the valid steps of each
    output sequence (None if the input had none).
    """

    def __init__(
        self,
        input_size: int,
        channels: Sequence[int],
        kernel_sizes: Sequence[int],
        strides: Sequence[int],
    ) -> None:
        super().__init__()
        if not (len(channels) == len(kernel_sizes) == len(strides)):
            raise ValueError(
                "channels, kernel_sizes and strides need one entry per block, got "
                f"{len(channels)}, {len(kernel_sizes)} and {len(strides)}."
            )
        self.kernel_sizes = [int(k) for k in kernel_sizes]
        self.strides = [int(s) for s in strides]
        self.convs = nn.ModuleList()
        self.norms = nn.ModuleList()
        size = input_size
        for c, k, s in zip(channels, self.kernel_sizes, self.strides):
            self.convs.append(nn.Conv1d(size, c, k, stride=s, padding=k // 2))
            self.norms.append(MaskedBatchNorm1d(c))
            size = c
        self.output_size = size

    def output_lengths(self, lengths: Tensor) -> Tensor:
        for k, s in zip(self.kernel_sizes, self.strides):
            lengths = conv_output_lengths(lengths, k, s)
        return lengths

    def forward(
        self,
        x: Tensor,
        lengths: Tensor | None = None,
        return_blocks: bool = False,
        pre_activation: bool = False,
    ):
        """``(y, lengths)``; with ``return_blocks`` also a list of every block's
        ``(y_b, lengths_b)``, each (N, L_b, C_b): its output, or with
        ``pre_activation`` its batch-normalised value before the ReLU (not zeroed
        after each sequence's end)."""
        h = x.transpose(1, 2)  # (N, F, L): a view, read only without blocks
        blocks = []
        for i, (conv, norm, k, s) in enumerate(
            zip(self.convs, self.norms, self.kernel_sizes, self.strides)
        ):
            if i == 0:  # (wide inputs read in place)
                h = conv1d_steps_last(x, conv.weight, conv.bias, s, k // 2)
            else:
                h = conv(h)  # (N, C, L')
            mask = None
            if lengths is not None:
                lengths = conv_output_lengths(lengths, k, s)
                mask = length_mask(lengths.to(h.device), h.shape[-1])  # (N, L')
            pre = norm(h, mask)
            h = F.relu(pre)
            if mask is not None:
                h = h * mask[:, None, :]
            if return_blocks:
                blocks.append(((pre if pre_activation else h).transpose(1, 2), lengths))
        if return_blocks:
            return h.transpose(1, 2), lengths, blocks
        return h.transpose(1, 2), lengths  # (N, L', C)
