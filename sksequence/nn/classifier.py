"""Sequence -> label: input scaling, convolutional front end, recurrent encoder,
pooling over valid steps, linear head.

Shape symbols: N batch, L length (padded), F features, C front-end channels,
D directions, H hidden size, K classes.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .conv import ConvFrontEnd
from .encoder import RecurrentEncoder
from .functional import (
    length_mask,
    pool_steps,
    row_linear,
    take_steps,
    window_warp,
)
from .pooling import SequencePooling, masked_max, masked_mean

__all__ = ["RecurrentClassifier"]

SCALINGS = ("none", "standard", "series")


def scale_series(x: Tensor, lengths: Tensor | None = None, eps: float = 1e-6) -> Tensor:
    """z-normalise each sequence and feature over its valid steps: (N, L, F).

    Padding stays zero.
    """
    if lengths is None:
        mean = x.mean(dim=1, keepdim=True)  # (N, 1, F)
        std = x.std(dim=1, keepdim=True, unbiased=False)  # (N, 1, F)
        return (x - mean) / (std + eps)
    mask = length_mask(lengths.to(x.device), x.shape[1])[:, :, None]  # (N, L, 1)
    counts = lengths.to(x.device, x.dtype).clamp(min=1)[:, None, None]  # (N, 1, 1)
    mean = (x * mask).sum(dim=1, keepdim=True) / counts  # (N, 1, F)
    var = (((x - mean) * mask) ** 2).sum(dim=1, keepdim=True) / counts  # (N, 1, F)
    return (x - mean) / (var.sqrt() + eps) * mask


class RecurrentClassifier(nn.Module):
    """Classify sequences from a recurrent encoding, optionally behind a
    convolutional front end.

    Parameters
    ----------
    input_size : int
        F, features per timestep.
    n_classes : int
        K.
    hidden_size, num_layers, cell, bidirectional, dropout
        The :class:`RecurrentEncoder`.
    pooling : {"last", "mean", "max", "mean_max", "attention"}
        How the encoder's per-step outputs become one vector (valid steps only).
    conv_channels, conv_kernel_sizes, conv_strides : sequence of int
        The :class:`ConvFrontEnd` blocks; an empty ``conv_channels`` means none: the
        encoder reads the (scaled) input directly.
    conv_skip : bool
        Also give the head the mean and max over valid steps of the front end's
        features: a skip connection around the recurrent encoder (as in LSTM-FCN,
        Karim et al. 2017). Ignored without a front end.
    scaling : {"none", "standard", "series"}
        "standard": ``(x - input_mean) / input_scale`` with buffers set from the
        training data; "series": z-normalise each sequence over its valid steps.
    class_weight : sequence of float, optional
        Per-class weights of the cross-entropy loss.
    crop : float, default=0.0
        Window slicing (Le Guennec et al. 2016) when in (0, 1): in training, each
        sequence is replaced by a window of ``crop`` of its valid length at a
        random offset (a new one each batch); in evaluation, the logits are the
        mean of those of the whole sequence and of three such windows, at its
        start, middle and end. 0 (or 1): off.
    warp : float, default=0.0
        Window warping (:func:`~sksequence.nn.functional.window_warp`) in training
        when > 0: in each batch, a random window of ``warp`` of each sequence's
        length is played at half or double speed (before ``crop``). Evaluation is
        unaffected. 0: off.
    input_pool : int, default=1
        With a front end: it reads the mean of every ``input_pool`` consecutive
        steps of the scaled input (each sequence's own steps; the front end of
        an autoencoder fitted with ``input_pool`` > 1 read its input so). 1:
        every step.

    Forward: ``x`` (N, L, F), ``lengths`` (N,) or None -> logits (N, K).
    ``loss(logits, y, sample_weight=None)`` is the (weighted) mean cross-entropy.
    """

    def __init__(
        self,
        input_size: int,
        n_classes: int,
        hidden_size: int = 64,
        num_layers: int = 1,
        cell: str = "lstm",
        bidirectional: bool = True,
        dropout: float = 0.0,
        pooling: str = "mean_max",
        conv_channels: Sequence[int] = (),
        conv_kernel_sizes: Sequence[int] = (),
        conv_strides: Sequence[int] = (),
        conv_skip: bool = True,
        scaling: str = "standard",
        class_weight: Sequence[float] | None = None,
        crop: float = 0.0,
        warp: float = 0.0,
        input_pool: int = 1,
    ) -> None:
        super().__init__()
        if int(input_pool) < 1:
            raise ValueError(f"input_pool must be >= 1, got {input_pool!r}.")
        self.input_pool = int(input_pool)
        if not 0.0 <= crop <= 1.0:
            raise ValueError(f"crop must be in [0, 1], got {crop!r}.")
        if not 0.0 <= warp <= 1.0:
            raise ValueError(f"warp must be in [0, 1], got {warp!r}.")
        self.warp = float(warp)
        self.crop = float(crop) if 0.0 < crop < 1.0 else 0.0
        if scaling not in SCALINGS:
            raise ValueError(f"scaling must be one of {SCALINGS}, got {scaling!r}.")
        self.scaling = scaling
        self.register_buffer("input_mean", torch.zeros(input_size))
        self.register_buffer("input_scale", torch.ones(input_size))
        self.front = None
        encoder_input = input_size
        if len(conv_channels):
            self.front = ConvFrontEnd(
                input_size, conv_channels, conv_kernel_sizes, conv_strides
            )
            encoder_input = self.front.output_size
        self.encoder = RecurrentEncoder(
            encoder_input, hidden_size, num_layers, cell, bidirectional, dropout
        )
        self.pooling = SequencePooling(pooling, self.encoder.output_size)
        self.conv_skip = bool(conv_skip and self.front is not None)
        head_input = self.pooling.output_size
        if self.conv_skip:
            head_input += 2 * self.front.output_size
        self.head = nn.Linear(head_input, n_classes)
        weight = None if class_weight is None else torch.as_tensor(class_weight)
        self.register_buffer("class_weight", weight, persistent=False)

    def scale(self, x: Tensor, lengths: Tensor | None = None) -> Tensor:
        """The scaled input (N, L, F), zero on padding."""
        if self.scaling == "series":
            return scale_series(x, lengths)
        if self.scaling == "standard":
            x = (x - self.input_mean) / self.input_scale  # (N, L, F)
            if lengths is not None:
                mask = length_mask(lengths.to(x.device), x.shape[1])
                x = x * mask[:, :, None]
        return x

    def crop_windows(
        self,
        x: Tensor,
        lengths: Tensor | None = None,
        position: float | None = None,
        generator: torch.Generator | None = None,
    ) -> tuple[Tensor, Tensor | None]:
        """Each sequence's window of ``crop`` of its valid length (at least one
        step), starting at ``position`` (0: at the start, 1: at the end) of the
        possible offsets, or at a random offset per sequence when None (drawn
        from ``generator``, or torch's global generator if None).

        ``x`` (N, L, F) -> (N, L_w, F), zero after each window's end; ``lengths``
        (N,) -> the window lengths (None stays None: all windows are equal then).
        """
        n, steps = x.shape[0], x.shape[1]
        if lengths is None:
            full = torch.full((n,), steps, dtype=torch.long)
        else:
            full = lengths.to("cpu", torch.long).clamp(min=1)
        width = (full.double() * self.crop).round().long().clamp(min=1)
        width = torch.minimum(width, full)
        room = (full - width).double()
        if position is None:
            offset = (torch.rand(n, generator=generator).double() * (room + 1)).floor()
            offset = offset.long()
            offset = torch.minimum(offset, room.long())
        else:
            offset = (room * position).round().long()
        out_steps = int(width.max())
        idx = offset[:, None] + torch.arange(out_steps)[None, :]  # (N, L_w)
        idx = torch.minimum(idx, full[:, None] - 1).to(x.device)
        x = take_steps(x, idx)
        if lengths is None:
            return x, None
        mask = length_mask(width.to(x.device), out_steps)[:, :, None]  # (N, L_w, 1)
        return x * mask, width.to(lengths.device, lengths.dtype)

    def features(
        self,
        x: Tensor,
        lengths: Tensor | None = None,
        generator: torch.Generator | None = None,
    ) -> Tensor:
        """The pooled encoding (N, P) that the linear head reads (of a random
        window of each sequence when training with ``crop``; warped when training
        with ``warp``; the draws come from ``generator``)."""
        if self.training and self.warp:
            x, lengths = window_warp(x, lengths, self.warp, generator=generator)
        if self.training and self.crop:
            x, lengths = self.crop_windows(x, lengths, generator=generator)
        x = self.scale(x, lengths)
        skip = None
        if self.front is not None:
            x, lengths = pool_steps(x, lengths, self.input_pool)
            x, lengths = self.front(x, lengths)  # (N, L', C)
            if self.conv_skip:
                skip = torch.cat([masked_mean(x, lengths), masked_max(x, lengths)], -1)
        outputs, (h_n, _) = self.encoder(x, lengths, cell_state=False)  # (N, L', D*H)
        z = self.pooling(outputs, lengths, last=self.encoder.final_hidden(h_n))
        if skip is not None:
            z = torch.cat([z, skip], dim=-1)  # (N, P + 2C)
        return z

    def hidden_states(
        self, x: Tensor, lengths: Tensor | None = None
    ) -> tuple[Tensor, tuple[Tensor, Tensor | None]]:
        """The recurrent encoder's per-step outputs (N, L', D*H) and final
        ``(h_n, c_n)``, after scaling and the front end (L' steps after strides)."""
        x = self.scale(x, lengths)
        if self.front is not None:
            x, lengths = self.front(*pool_steps(x, lengths, self.input_pool))
        return self.encoder(x, lengths)

    def forward(
        self,
        x: Tensor,
        lengths: Tensor | None = None,
        generator: torch.Generator | None = None,
        **_: object,
    ) -> Tensor:
        logits = self._head(self.features(x, lengths, generator))  # (N, K)
        if self.training or not self.crop:
            return logits
        for position in (0.0, 0.5, 1.0):
            if lengths is None:
                window, window_lengths = self._equal_window(x, position), None
            else:
                window, window_lengths = self.crop_windows(x, lengths, position)
            logits = logits + self._head(self.features(window, window_lengths))
        return logits / 4

    def _head(self, z: Tensor) -> Tensor:
        """The linear head; in evaluation row by row, so that a sequence's logits
        do not depend on the batch it is predicted in."""
        return self.head(z) if self.training else row_linear(z, self.head)

    def _equal_window(self, x: Tensor, position: float) -> Tensor:
        """``crop_windows(x, None, position)`` in tensor operations only, so that an
        ONNX trace keeps the window's size and offset dynamic in the length."""
        steps_f = torch.ones_like(x[0, :, 0]).cumsum(0)  # 1, 2, ..., L
        steps = steps_f[-1].double()
        width = torch.clamp(torch.round(steps * self.crop), min=1)
        width = torch.minimum(width, steps)
        offset = torch.round((steps - width) * position)
        step = steps_f.double() - 1  # 0, 1, ..., L - 1
        idx = (step[step < width] + offset).long()  # (L_w,)
        return x.index_select(1, idx)

    def loss(
        self,
        logits: Tensor,
        y: Tensor,
        sample_weight: Tensor | None = None,
        **_: object,
    ) -> Tensor:
        weight = self.class_weight
        if weight is not None:
            weight = weight.to(logits.dtype)
        if sample_weight is None:
            return F.cross_entropy(logits, y, weight=weight)
        per_sample = F.cross_entropy(logits, y, weight=weight, reduction="none")  # (N,)
        sw = sample_weight.to(logits.dtype)
        if weight is not None:
            sw = sw * weight[y]
        return (per_sample * sample_weight.to(logits.dtype)).sum() / sw.sum().clamp(
            min=torch.finfo(logits.dtype).tiny
        )
