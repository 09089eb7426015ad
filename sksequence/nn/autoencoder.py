"""Sequence autoencoder: encoder, optional bottleneck, reconstruct and/or predict decoders.

After Srivastava et al. 2015, "Unsupervised Learning of Video Representations using
LSTMs": one encoder; a decoder that reconstructs the input (optionally in reverse
order), a decoder that predicts the sequence's continuation, or both ("composite").

On top of that classic model (the defaults), options that make the encodings good
features for a linear model and keep long series cheap:

- input standardisation inside the module (``scaling="standard"``), with the loss in
  standardised units and every output in the input's units;
- a length-aware convolutional front end (``conv_channels``), optionally strided, before
  the recurrent encoder;
- pooling over the encoder's per-step outputs (``pooling``) and over the front end's
  features (``conv_skip``) into the encoding;
- a normalisation of the encoding (``code_norm``);
- patch decoding (``decoder_stride``): each decoder step emits ``decoder_stride``
  timesteps, so a strided encoder's decoder also runs over the shortened sequence;
- denoising (``input_noise``) and masked reconstruction (``mask_fraction``) in training;
- a linear shape path of the reconstruction (``shape_basis``) and an auxiliary loss
  that makes the code predict the pooled features (``feature_loss``), which make a
  short code a better input for a downstream model;
- a short encoding made of the leading principal components of the pooled
  encoding (``encoding="principal"``), fitted after training.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor, nn

from .conv import ConvFrontEnd, MaskedBatchNorm1d, conv_output_lengths
from .decoder import ConditionalDecoder, RepeatDecoder
from .encoder import RecurrentEncoder
from .functional import (
    dilated_maps_steps_last,
    length_mask,
    masked_mse,
    pool_counts,
    pool_steps,
    reverse_padded,
    weighted_mean,
)
from .pooling import SequencePooling, masked_max, masked_mean

__all__ = ["SequenceAutoencoder", "patchify", "unpatchify"]

OBJECTIVES = ("reconstruct", "predict", "composite")
SCALINGS = ("none", "standard")
CODE_NORMS = ("none", "layer", "batch")
ENCODINGS = ("code", "pooled", "principal")
# quantile_ppv counts a value above its threshold only by more than this
_PPV_MARGIN = 1e-4
# ... and reads this many values of a map (rows x steps x channels) at a time:
# small maps stay in cache (3-4x faster than one map of a 1024-row batch)
_PPV_CHUNK_VALUES = 2**20
# _sampled_shares reads a few sequences (or difference series) at a time, whose
# sampled maps hold about this many values, so that they stay in cache (about 2x
# faster at 256 steps)
_SHARE_VALUES = 2**19
# fit_ppv_thresholds computes a dilated map only at the steps it keeps (every
# k-th valid one) where k is at least this; below it, the whole map (the figures
# of every archive problem in benchmarks/RESULTS.md, at most k = 5, are the
# full maps')
_THRESHOLD_GATHER_EVERY = 8


# The shape path of sequences of one length longer than this is one matrix product
# (faster on long ones); up to it, the broadcast batched product the defaults'
# figures in benchmarks/RESULTS.md were measured with (the two differ by float
# rounding, which a fit amplifies)
_SHAPE_BROADCAST_STEPS = 4096


def _detach(state):
    return tuple(s.detach() if s is not None else None for s in state)


def _trim(x: Tensor, lengths: Tensor | None) -> Tensor:
    """Drop the steps after the longest sequence of the batch: (N, L, F) ->
    (N, max(lengths), F)."""
    if lengths is None or torch.jit.is_tracing():
        return x
    longest = int(lengths.max())
    return x[:, :longest] if 0 < longest < x.shape[1] else x


def _valid_steps(h: Tensor, lengths: Tensor | None) -> Tensor:
    """(N, L) True on the valid steps of ``h`` (N, L, ...)."""
    if lengths is None:
        return torch.ones(h.shape[:2], dtype=torch.bool, device=h.device)
    return length_mask(lengths.to(h.device), h.shape[1])


def _pad_steps(y: Tensor | None, n_steps: int) -> Tensor | None:
    """Zero-pad (N, L_b, F) to (N, n_steps, F)."""
    if y is None or y.shape[1] == n_steps:
        return y
    pad = y.new_zeros(y.shape[0], n_steps - y.shape[1], y.shape[2])
    return torch.cat([y, pad], dim=1)


class _CodeBatchNorm(MaskedBatchNorm1d):
    """Batch norm of (N, C) encodings without scale or shift, which (unlike
    ``nn.BatchNorm1d``) accepts a training batch of one sequence (normalised with
    the running statistics)."""

    def __init__(self, num_features: int) -> None:
        super().__init__(num_features, affine=False)

    def forward(self, z: Tensor) -> Tensor:
        if self.training and z.shape[0] == 1:
            # one sequence has no spread to normalise by (its code would be 0 in
            # training and the running variance would decay to 0): normalise it
            # with the running statistics, as at evaluation, and leave them as
            # they are
            return nn.functional.batch_norm(
                z, self.running_mean, self.running_var, training=False, eps=self.eps
            )  # (N, C)
        return super().forward(z[:, :, None])[:, :, 0]  # (N, C)


class _ZeroLinear(nn.Module):
    """A linear layer that starts at zero (also after a seeded re-initialisation):
    a path added to a model's output that starts as no change."""

    def __init__(self, in_features: int, out_features: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(out_features, in_features))
        self.bias = nn.Parameter(torch.zeros(out_features))

    @torch.no_grad()
    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        self.weight.zero_()
        self.bias.zero_()

    def forward(self, x: Tensor) -> Tensor:
        return nn.functional.linear(x, self.weight, self.bias)


def patchify(x: Tensor, size: int) -> Tensor:
    """Group ``size`` consecutive steps: (N, L, F) -> (N, ceil(L / size), size * F).

    The last patch is zero-padded.
    """
    if size == 1:
        return x
    n, steps, feats = x.shape
    n_patches = -(-steps // size)
    pad = n_patches * size - steps
    if pad:
        x = torch.cat([x, x.new_zeros(n, pad, feats)], dim=1)  # (N, L'*s, F)
    return x.reshape(n, n_patches, size * feats)  # (N, L', s*F)


def unpatchify(y: Tensor, size: int, n_steps: int) -> Tensor:
    """Inverse of :func:`patchify`: (N, L', size * F) -> (N, n_steps, F)."""
    if size == 1:
        return y[:, :n_steps]
    n, n_patches, width = y.shape
    return y.reshape(n, n_patches * size, width // size)[:, :n_steps]  # (N, L, F)


class SequenceAutoencoder(nn.Module):
    """Recurrent autoencoder with reconstruct / predict / composite decoders.

    Shape symbols: N batch, L input length, M future length, F features, P pooled
    encoder features, C encoding size (``n_components``, or P without a bottleneck or
    with ``encoding="pooled"``), s decoder stride.

    Parameters
    ----------
    input_size : int
        F, features per timestep.
    hidden_size, num_layers, cell, bidirectional, dropout
        The recurrent encoder and decoders (decoders are unidirectional).
    n_components : int or None
        A linear bottleneck from the pooled encoder features (P) to a code of this
        size, which the decoders read; None: no bottleneck (the code is the pooled
        features).
    objective : {"reconstruct", "predict", "composite"}
    conditional : bool
        Decoders fed their previous output (teacher forcing in training) instead of
        the encoding only.
    reverse_target : bool
        Reconstruct in reverse order (outputs are returned in the original order).
    pooling : {"last", "mean", "max", "mean_max", "last_max", "attention"}
        How the encoder's per-step outputs become one vector (valid steps only);
        "last" is the final recurrent state.
    conv_channels, conv_kernel_sizes, conv_strides : sequence of int
        The :class:`~sksequence.nn.conv.ConvFrontEnd` blocks; empty: none.
    conv_skip : bool or "all"
        Also pool the front end's features (mean and max over valid steps) into the
        encoder features: of its last block (True) or of every block ("all").
        Ignored without a front end.
    scaling : {"none", "standard"}
        "standard": the module reads ``(x - input_mean) / input_scale`` (buffers set
        with :meth:`fit_scaling` or by hand), computes the loss in those standardised
        units, and returns reconstructions and forecasts in the input's units.
    code_norm : {"none", "layer", "batch"}
        Normalisation of the encoding without learned scale or shift: per sequence
        over the C components ("layer") or per component over the batch, with
        running statistics at evaluation ("batch").
    decoder_stride : int or None
        s, timesteps emitted per decoder step; None: ``input_pool`` times the
        product of ``conv_strides`` (1 without a front end).
    input_pool : int
        With a front end: the encoder reads the mean of every ``input_pool``
        consecutive steps of the (standardised) input, each sequence's own
        steps only (:func:`~sksequence.nn.functional.pool_steps`), so a very
        long sequence costs the front end and every feature map that many times
        less; the decoders still rebuild every step. 1: every step. Ignored
        without a front end. In training the means are taken first and then
        standardised, with ``input_noise`` scaled to what a mean of that many
        noisy steps carries (the same distribution at a fraction of the cost).
    input_noise : float
        Denoising: in training, Gaussian noise of this standard deviation (in
        standardised units) is added to the encoder's input; the target is clean.
    mask_fraction : float
        Masked reconstruction: in training, this fraction of the encoder's input
        blocks (of ``max(1, L // 32)`` steps) is set to zero (the mean, in
        standardised units).
    conv_ppv : bool
        Also give the share of valid steps at which each front-end channel is
        positive (before its ReLU), for every block (MiniRocket's "proportion of
        positive values"; Dempster et al. 2021). Not differentiable: it adds
        features without adding gradient paths. Ignored without a front end.
    encoding : {"code", "pooled", "principal"}
        What :meth:`encode` returns and :meth:`reconstruct` / :meth:`forecast` take:
        the (normalised) bottleneck code, C = ``n_components`` values, or the pooled
        encoder features before the bottleneck, C = P values (the decoders then apply
        the bottleneck themselves). With "pooled", features for downstream models
        are rich while the reconstruction still passes through a narrow code.
        "principal": the model is the one of "pooled" (trained identically), and
        the encoding is the leading ``principal_components`` principal components
        of the pooled encoding (each value standardised over the training
        sequences), whitened (unit variance over the training sequences); the
        buffers ``principal_mean``, ``principal_scale``, ``principal_axes`` and
        ``principal_sd``, set by :meth:`fit_principal` after training. The
        decoders map an encoding back to pooled features (the components' linear
        inverse) and apply the bottleneck.
    feature_loss : float
        Weight of an auxiliary training term: a linear read-out of the code
        predicts the pooled features (standardised over the batch and detached),
        so that the code also summarises what a linear model reads best. In
        training the outputs then hold ``code_loss`` (N,), which :meth:`loss`
        adds. Needs a bottleneck (``n_components``).
    shape_basis : int
        K: a linear shape path of the reconstruction, added to the decoder's
        output: the code's coefficients (a linear layer that starts at zero) of K
        cosines over each sequence's relative time (the DCT-II basis
        ``cos(pi * k * (t + 0.5) / L_i)``). 0: none.
    ppv_quantiles : sequence of float
        With ``encoding="pooled"`` and ``conv_ppv``: the encoding also holds, for
        each of these quantiles q and every front-end channel, the share of valid
        steps at which the channel's value before its ReLU exceeds the q-quantile
        of that value over the training steps (MiniRocket's biases taken from
        quantiles; ``len(ppv_quantiles) * sum(conv_channels)`` more values). The
        thresholds are the buffer ``ppv_thresholds``, set by
        :meth:`fit_ppv_thresholds` after training; they do not enter training (the
        bottleneck and the feature loss read the pooled features alone). Empty:
        none.
    ppv_dilations : sequence of int
        With ``ppv_quantiles``: the first front-end block's kernels are also applied
        at stride 1 and each of these dilations to the standardised input, and
        the encoding holds each resulting channel's shares above the same
        quantiles of its training values (``len(ppv_quantiles) *
        len(ppv_dilations) * conv_channels[0]`` more values, after the blocks'):
        the learnt kernels read at several time scales, as MiniRocket reads its
        fixed kernels. Empty: none.
    ppv_differences : bool
        With ``ppv_dilations``: the same dilated kernels also read the input's
        first differences (``x[t + 1] - x[t]``), another set of maps with their
        own thresholds (MultiRocket's second representation).
    ppv_zero_mean : bool
        With ``ppv_dilations``: the dilated kernels that read the input (not its
        differences) lose their mean over their taps first (per input
        feature), so that they respond to the shape around a step and not to
        its level, as MiniRocket's kernels, whose weights sum to zero. Only
        these maps and their thresholds change; the front end, and the sampled
        shares of ``feature_loss_steps``, read the kernels as they are.
    feature_loss_steps : int
        With ``feature_loss`` and ``ppv_dilations``: the feature loss's target
        also holds the share of positive values of each of the first block's
        kernels read at each dilation (on the input and, with
        ``ppv_differences``, on its differences), estimated at this many random
        steps of each training sequence, so that the code also summarises what
        the kernels see at several time scales. 0: the pooled features alone.
    principal_components : int
        With ``encoding="principal"``: C, the number of principal components
        (>= 1; those beyond the training encodings' rank are 0).
    feature_span : bool
        With a bottleneck: the buffers ``span_weight`` (2, C, P), ``span_bias``
        (2, C) and ``span_rank`` (2,), set by :meth:`fit_feature_span` after
        training: the bottleneck applied to the pooled features' projection
        onto the affine span of the training sequences' pooled features, with
        the features standardised (0) or in their own units (1).
        ``forward(..., span=i)`` reads the code through them (a sequence unlike
        the training ones is then rebuilt from what of it they span, so its
        reconstruction error grows); until they are set, through the plain
        bottleneck.
    span_novelty : bool
        With ``feature_span``: also the buffers ``span_center``, ``span_scale``
        (P,), ``span_axes`` (P, P) and ``span_typical`` (), set by
        :meth:`fit_feature_span`, from which :meth:`feature_novelty` measures
        how far a sequence's standardised pooled features lie outside the
        training sequences' affine span.
    share_axes : int
        With ``span_novelty`` and ``ppv_quantiles``: K > 0 keeps the buffers
        ``share_center``, ``share_scale`` (S,), ``share_basis`` (K, S) and
        ``share_typical`` (), set by :meth:`fit_share_novelty` from at most K +
        1 training sequences, from which :meth:`share_novelty` measures how far
        a sequence's standardised shares (the S values of :meth:`quantile_ppv`)
        lie outside the training sequences' affine span. 0: no such buffers.
    patch_values : int
        In training, a sequence of more values than this (steps times
        features) rebuilds a random ``1 / ceil(values / patch_values)`` of the
        decoder's patches each update (at least ``1 / input_pool``; see
        :meth:`_sampled_patches` and :meth:`_sampled_own_patches`), and a
        batch of such sequences draws its ``input_noise`` from a bank (see
        :meth:`_noise`); 0: every patch (only ``input_pool`` samples), fresh
        noise. Inference rebuilds every step.

    Forward
    -------
    x : Tensor (N, L, F); lengths : Tensor (N,) or None
    future : Tensor (N, M, F) or None
        The continuation to predict (teacher-forcing input for a conditional decoder
        in training; its length sets M).
    n_future : int, optional
        M when ``future`` is not given (inference).
    span : int or None, default None
        0 or 1: read the code through the ``span_*`` buffers of that metric
        (``feature_span``), once set; None (or before they are set): through
        the bottleneck.
    pooled_features : Tensor (N, P) or None, default None
        In eval mode: the pooled features of ``x`` (:meth:`pooled_encoding`
        without the shares), to decode from them without running the encoder
        again (e.g. once per ``span`` view).

    Returns a dict: ``encoding`` (N, C), ``reconstruction`` (N, L, F) in the original
    order (None for the "predict" objective) and ``forecast`` (N, M, F) (None for
    "reconstruct"). One exception keeps training on very long or wide sequences
    cheap: in training (no teacher forcing), with ``input_pool`` > 1 or more
    than ``patch_values`` values in the longest sequence, ``reconstruction`` is
    None and ``reconstruction_patches`` and ``patch_index`` hold a random
    sample of the decoder's patches instead, standardised: the same patches of
    every sequence with ``lengths`` None (``patch_index`` (S,); see
    :meth:`_sampled_patches`), else each sequence's own (``patch_index`` (N,
    S), -1 where a sequence has fewer; see :meth:`_sampled_own_patches`).
    :meth:`loss` reads them; call ``eval()`` for the reconstruction itself.
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int = 64,
        num_layers: int = 1,
        cell: str = "lstm",
        bidirectional: bool = False,
        dropout: float = 0.0,
        n_components: int | None = None,
        objective: str = "reconstruct",
        conditional: bool = False,
        reverse_target: bool = True,
        *,
        pooling: str = "last",
        conv_channels: Sequence[int] = (),
        conv_kernel_sizes: Sequence[int] = (),
        conv_strides: Sequence[int] = (),
        conv_skip: bool | str = False,
        scaling: str = "none",
        code_norm: str = "none",
        decoder_stride: int | None = None,
        input_noise: float = 0.0,
        mask_fraction: float = 0.0,
        encoding: str = "code",
        conv_ppv: bool = False,
        feature_loss: float = 0.0,
        shape_basis: int = 0,
        ppv_quantiles: Sequence[float] = (),
        ppv_dilations: Sequence[int] = (),
        ppv_differences: bool = False,
        ppv_zero_mean: bool = False,
        feature_loss_steps: int = 0,
        principal_components: int = 0,
        feature_span: bool = False,
        input_pool: int = 1,
        span_novelty: bool = False,
        share_axes: int = 0,
        patch_values: int = 0,
    ) -> None:
        super().__init__()
        if objective not in OBJECTIVES:
            raise ValueError(
                f"objective must be one of {OBJECTIVES}, got {objective!r}."
            )
        if scaling not in SCALINGS:
            raise ValueError(f"scaling must be one of {SCALINGS}, got {scaling!r}.")
        if code_norm not in CODE_NORMS:
            raise ValueError(
                f"code_norm must be one of {CODE_NORMS}, got {code_norm!r}."
            )
        if not 0.0 <= mask_fraction < 1.0:
            raise ValueError(f"mask_fraction must be in [0, 1), got {mask_fraction!r}.")
        if input_noise < 0:
            raise ValueError(f"input_noise must be >= 0, got {input_noise!r}.")
        self.input_size = input_size
        self.objective = objective
        self.conditional = conditional
        self.reverse_target = reverse_target
        self.scaling = scaling
        self.input_noise = float(input_noise)
        self.mask_fraction = float(mask_fraction)
        if scaling == "standard":
            self.register_buffer("input_mean", torch.zeros(input_size))
            self.register_buffer("input_scale", torch.ones(input_size))
        self.front = None
        encoder_input = input_size
        if int(input_pool) < 1:
            raise ValueError(f"input_pool must be >= 1, got {input_pool!r}.")
        self.input_pool = int(input_pool) if len(conv_channels) else 1
        if int(patch_values) < 0:
            raise ValueError(f"patch_values must be >= 0, got {patch_values!r}.")
        self.patch_values = int(patch_values)
        if len(conv_channels):
            self.front = ConvFrontEnd(
                input_size, conv_channels, conv_kernel_sizes, conv_strides
            )
            encoder_input = self.front.output_size
        self.encoder = RecurrentEncoder(
            encoder_input, hidden_size, num_layers, cell, bidirectional, dropout
        )
        self.pooling = SequencePooling(pooling, self.encoder.output_size)
        if conv_skip not in (True, False, "all"):
            raise ValueError(f"conv_skip must be a bool or 'all', got {conv_skip!r}.")
        self.conv_skip = conv_skip if self.front is not None else False
        pooled = self.pooling.output_size
        if self.conv_skip == "all":
            pooled += 2 * sum(c.out_channels for c in self.front.convs)
        elif self.conv_skip:
            pooled += 2 * self.front.output_size
        self.conv_ppv = bool(conv_ppv and self.front is not None)
        if self.conv_ppv:
            pooled += sum(c.out_channels for c in self.front.convs)
        self.pooled_size = pooled
        if encoding not in ENCODINGS:
            raise ValueError(f"encoding must be one of {ENCODINGS}, got {encoding!r}.")
        self.encoding = encoding
        pooled_encoding = encoding in ("pooled", "principal")
        if encoding == "principal" and (
            n_components is None or principal_components < 1
        ):
            raise ValueError(
                'encoding="principal" needs a bottleneck (n_components) and '
                f"principal_components >= 1, got n_components={n_components!r}, "
                f"principal_components={principal_components!r}."
            )
        if n_components is None:
            self.bottleneck: nn.Module = nn.Identity()
            self.code_size = pooled
        else:
            self.bottleneck = nn.Linear(pooled, n_components)
            self.code_size = n_components
        self.ppv_quantiles = (
            tuple(float(q) for q in ppv_quantiles)
            if pooled_encoding and self.conv_ppv
            else ()
        )
        if any(not 0.0 < q < 1.0 for q in self.ppv_quantiles):
            raise ValueError(f"ppv_quantiles must be in (0, 1), got {ppv_quantiles!r}.")
        if feature_loss < 0:
            raise ValueError(f"feature_loss must be >= 0, got {feature_loss!r}.")
        if feature_loss_steps < 0:
            raise ValueError(
                f"feature_loss_steps must be >= 0, got {feature_loss_steps!r}."
            )
        # without a bottleneck the code is the pooled features themselves
        self.feature_loss = float(feature_loss) if n_components is not None else 0.0
        # the sampled shares need the first block's kernels and some dilations
        sampled = self.feature_loss and self.front is not None and len(ppv_dilations)
        self.feature_loss_steps = int(feature_loss_steps) if sampled else 0
        self.ppv_dilations = (
            tuple(int(d) for d in ppv_dilations)
            if self.ppv_quantiles or self.feature_loss_steps
            else ()
        )
        if any(d < 1 for d in self.ppv_dilations):
            raise ValueError(f"ppv_dilations must be >= 1, got {ppv_dilations!r}.")
        self.ppv_differences = bool(ppv_differences and self.ppv_dilations)
        self.ppv_zero_mean = bool(ppv_zero_mean and self.ppv_dilations)
        extra = 0
        if self.ppv_quantiles:
            c1 = self.front.convs[0].out_channels
            dilated = len(self.ppv_dilations) * (2 if self.ppv_differences else 1)
            channels = sum(c.out_channels for c in self.front.convs) + dilated * c1
            self.register_buffer(
                "ppv_thresholds", torch.zeros(len(self.ppv_quantiles), channels)
            )
            extra = len(self.ppv_quantiles) * channels
        self.encoding_size = pooled + extra if encoding == "pooled" else self.code_size
        self.principal_components = 0
        if encoding == "principal":
            k, width = int(principal_components), pooled + extra
            self.principal_components = k
            self.register_buffer("principal_mean", torch.zeros(width))
            self.register_buffer("principal_scale", torch.ones(width))
            self.register_buffer("principal_axes", torch.zeros(k, width))
            self.register_buffer("principal_sd", torch.ones(k))
            self.encoding_size = k
        self.feature_span = bool(feature_span and n_components is not None)
        if self.feature_span:
            self.register_buffer("span_weight", torch.zeros(2, n_components, pooled))
            self.register_buffer("span_bias", torch.zeros(2, n_components))
            self.register_buffer("span_rank", torch.full((2,), -1))
        self.span_novelty = bool(span_novelty and self.feature_span)
        if self.span_novelty:
            self.register_buffer("span_center", torch.zeros(pooled))
            self.register_buffer("span_scale", torch.ones(pooled))
            self.register_buffer("span_axes", torch.zeros(pooled, pooled))
            self.register_buffer("span_typical", torch.zeros(()))
        shares = extra  # the S shares of quantile_ppv
        if share_axes < 0:
            raise ValueError(f"share_axes must be >= 0, got {share_axes!r}.")
        self.share_axes = int(share_axes) if self.span_novelty and shares else 0
        if self.share_axes:
            self.register_buffer("share_center", torch.zeros(shares))
            self.register_buffer("share_scale", torch.ones(shares))
            self.register_buffer("share_basis", torch.zeros(self.share_axes, shares))
            self.register_buffer("share_typical", torch.zeros(()))
        targets = pooled
        if self.feature_loss_steps:
            maps = len(self.ppv_dilations) * (2 if self.ppv_differences else 1)
            targets += maps * self.front.convs[0].out_channels
        self.feature_head = (
            nn.Linear(self.code_size, targets) if self.feature_loss else None
        )
        if shape_basis < 0:
            raise ValueError(f"shape_basis must be >= 0, got {shape_basis!r}.")
        self.shape_basis = int(shape_basis)
        self.shape_decoder = (
            _ZeroLinear(self.code_size, self.shape_basis * input_size)
            if self.shape_basis and objective in ("reconstruct", "composite")
            else None
        )
        self.code_norm = code_norm
        if code_norm == "layer":
            self.norm: nn.Module = nn.LayerNorm(
                self.code_size, elementwise_affine=False
            )
        elif code_norm == "batch":
            self.norm = _CodeBatchNorm(self.code_size)
        else:
            self.norm = nn.Identity()
        if decoder_stride is None:
            decoder_stride = (
                self.input_pool * math.prod(int(s) for s in conv_strides)
                if len(conv_channels)
                else 1
            )
        if int(decoder_stride) < 1:
            raise ValueError(f"decoder_stride must be >= 1, got {decoder_stride!r}.")
        self.decoder_stride = int(decoder_stride)
        decoder_cls = ConditionalDecoder if conditional else RepeatDecoder
        kw = dict(num_layers=num_layers, cell=cell, dropout=dropout)
        out_size = input_size * self.decoder_stride
        self.reconstructor = (
            decoder_cls(self.code_size, out_size, hidden_size, **kw)
            if objective in ("reconstruct", "composite")
            else None
        )
        self.predictor = (
            decoder_cls(self.code_size, out_size, hidden_size, **kw)
            if objective in ("predict", "composite")
            else None
        )

    # -- input scaling ------------------------------------------------------------
    @torch.no_grad()
    def fit_scaling(self, x: Tensor, lengths: Tensor | None = None) -> None:
        """Set ``input_mean`` and ``input_scale`` to each feature's mean and standard
        deviation over the valid steps of ``x`` (N, L, F) (a scale of 1 where the
        deviation is below 1e-8)."""
        if self.scaling != "standard":
            raise ValueError("fit_scaling needs scaling='standard'.")
        x = x.double()
        if lengths is None:
            flat = x.reshape(-1, x.shape[-1])  # (N*L, F)
        else:
            flat = x[length_mask(lengths.to(x.device), x.shape[1])]  # (sum L_i, F)
        mean = flat.mean(dim=0)
        std = flat.std(dim=0, unbiased=False)
        std = torch.where(std > 1e-8, std, torch.ones_like(std))
        self.input_mean.copy_(mean.to(self.input_mean.dtype))
        self.input_scale.copy_(std.to(self.input_scale.dtype))

    def scale(self, x: Tensor, lengths: Tensor | None = None) -> Tensor:
        """The standardised input (N, L, F), zero on padding (identity without
        scaling)."""
        if self.scaling == "none":
            return x
        # (in place on the new tensor: one pass less over a wide input's memory)
        x = torch.sub(x, self.input_mean).div_(self.input_scale)  # (N, L, F)
        if lengths is not None:
            x = x.mul_(length_mask(lengths.to(x.device), x.shape[1])[:, :, None])
        return x

    def unscale(self, y: Tensor) -> Tensor:
        """Standardised units (N, L, F) -> the input's units."""
        if self.scaling == "none":
            return y
        return y * self.input_scale + self.input_mean

    def _corrupt(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """Training-time noise and block masking of the standardised input (drawn
        on the CPU, where the fit's generator lives, then moved to ``x``'s
        device)."""
        if self.input_noise:
            noise = self._noise(x.shape, generator, x.dtype)
            # x + input_noise * noise, in place on the noise (the same values)
            x = noise.mul_(self.input_noise).to(x.device).add_(x)
        if self.mask_fraction:
            n, steps = x.shape[0], x.shape[1]
            block = max(1, steps // 32)
            keep = torch.rand(n, -(-steps // block), generator=generator)
            keep = keep.to(x.device)
            keep = (keep >= self.mask_fraction).to(x.dtype)  # (N, B)
            keep = keep.repeat_interleave(block, dim=1)[:, :steps]  # (N, L)
            x = x * keep[:, :, None]
        return x

    def _pooled_training_input(
        self, x: Tensor, lengths: Tensor | None, generator: torch.Generator | None
    ) -> tuple[Tensor, Tensor | None]:
        """What the front end reads in training, computed from the means: the
        means of ``input_pool`` steps of ``x`` (input units) standardised, plus
        ``input_noise`` times a standard normal over the square root of each
        group's number of steps, as the means of the noisy standardised steps
        would carry (scaling is affine, so it commutes with the means; zero
        after each sequence's end). -> (N, G, F) and the groups' lengths."""
        xp, lp = pool_steps(x, lengths, self.input_pool)
        xp = self.scale(xp, lp)  # (N, G, F), zero on padding
        if not self.input_noise:
            return xp, lp
        lens = (
            torch.full((xp.shape[0],), x.shape[1], device=x.device)
            if lengths is None
            else lengths.to(x.device)
        )
        counts = pool_counts(lens, x.shape[1], self.input_pool)  # (N, G)
        gain = torch.where(counts > 0, counts.clamp(min=1).to(xp.dtype).rsqrt(), 0.0)
        noise = self._noise(xp.shape, generator, xp.dtype)
        return xp + self.input_noise * gain[:, :, None] * noise.to(x.device), lp

    def __getstate__(self):
        # the noise bank is scratch: never pickled or copied with the model
        state = super().__getstate__()
        state.pop("_noise_bank", None)
        return state

    def _noise(
        self, shape: torch.Size, generator: torch.Generator | None, dtype
    ) -> Tensor:
        """Standard normal noise of ``shape`` (N, L, F), a new tensor on the
        CPU. Where a sequence of the batch holds more than ``patch_values``
        values: a copy of a random slice of a bank drawn once (twice the
        batch's values; redrawn for a larger batch) instead of fresh draws,
        the same distribution at each value for a fraction of the cost."""
        values = getattr(self, "patch_values", 0)
        if not values or shape[1] * shape[2] <= values:
            return torch.randn(shape, generator=generator, dtype=dtype)
        n = math.prod(shape)
        bank = self.__dict__.get("_noise_bank")
        if bank is None or bank.numel() < 2 * n or bank.dtype != dtype:
            bank = torch.randn(2 * n, generator=generator, dtype=dtype)
            self.__dict__["_noise_bank"] = bank
        start = int(torch.randint(bank.numel() - n + 1, (), generator=generator))
        return bank[start : start + n].view(shape).clone()

    # -- encoding ---------------------------------------------------------------
    def hidden_states(
        self, x: Tensor, lengths: Tensor | None = None
    ) -> tuple[Tensor, tuple[Tensor, Tensor | None]]:
        """The encoder's per-step outputs (N, L', D*H) and final ``(h_n, c_n)``, read
        from the input as the encoder reads it (scaled, through the front end; L' is
        the front end's output length)."""
        x = self.scale(x, lengths)
        if self.front is not None:
            x, lengths = self.front(*self._front_input(x, lengths))
        return self.encoder(x, lengths)

    def _front_input(
        self, x: Tensor, lengths: Tensor | None
    ) -> tuple[Tensor, Tensor | None]:
        """What the front end reads of the standardised input: its means over
        ``input_pool`` steps (see :func:`~sksequence.nn.functional.pool_steps`)."""
        return pool_steps(x, lengths, self.input_pool)

    def features(
        self, x: Tensor, lengths: Tensor | None = None, pooled: bool = False
    ) -> Tensor:
        """The pooled encoder features (N, P) of the standardised input ``x``
        (with ``pooled``, ``x`` is already the front end's input: the means of
        :meth:`_front_input`)."""
        skip = None
        if self.front is not None:
            if not pooled:
                x, lengths = self._front_input(x, lengths)
            x, lengths, blocks = self.front(x, lengths, return_blocks=True)
            if self.conv_skip:  # mean and max of the last (or every) block
                skip = torch.cat(
                    [
                        f(h, lens)
                        for h, lens in (
                            blocks if self.conv_skip == "all" else [(x, lengths)]
                        )
                        for f in (masked_mean, masked_max)
                    ],
                    dim=-1,
                )  # (N, 2C) or (N, 2 * sum C_b)
            if self.conv_ppv:  # share of steps where each channel fires
                ppv = [masked_mean((h > 0).to(h.dtype), lens) for h, lens in blocks]
                skip = torch.cat(([skip] if skip is not None else []) + ppv, dim=-1)
        outputs, (h_n, _) = self.encoder(x, lengths, cell_state=False)  # (N, L', D*H)
        last = self.encoder.final_hidden(h_n)  # (N, D*H)
        if self.pooling.mode == "last":
            z = last
        else:
            z = self.pooling(outputs, lengths, last=last)  # (N, P)
        if skip is not None:
            z = torch.cat([z, skip], dim=-1)  # (N, P)
        return z

    def code(self, z: Tensor) -> Tensor:
        """The code the decoders read (N, C_code) from an encoding (N, C): the
        encoding itself, or with ``encoding="pooled"`` its bottleneck and norm
        (with "principal", of the pooled encoding the components map back to)."""
        if self.encoding == "principal":
            z = self._from_principal(z)
        if self.encoding in ("pooled", "principal"):
            return self.norm(self.bottleneck(z[:, : self.pooled_size]))
        return z

    def _pooled_encoding(
        self, x: Tensor, lengths: Tensor | None = None, shares: bool = True
    ) -> Tensor:
        """The pooled features and the shares above the thresholds (N, P + extra)
        of the standardised input ``x``; without ``shares``, the pooled features
        alone (N, P)."""
        f = self.features(x, lengths)  # (N, P)
        if shares and self.ppv_quantiles:
            f = torch.cat([f, self.quantile_ppv(x, lengths)], dim=-1)
        return f

    def _to_principal(self, f: Tensor) -> Tensor:
        """Pooled encodings (N, E) -> whitened principal components (N, C)."""
        zs = (f - self.principal_mean) / self.principal_scale
        return (zs @ self.principal_axes.T) / self.principal_sd

    def _from_principal(self, z: Tensor) -> Tensor:
        """Principal components (N, C) -> the pooled encodings they stand for."""
        zs = (z * self.principal_sd) @ self.principal_axes
        return zs * self.principal_scale + self.principal_mean

    def _encode_scaled(self, x: Tensor, lengths: Tensor | None = None) -> Tensor:
        if self.encoding == "pooled":
            return self._pooled_encoding(x, lengths)
        if self.encoding == "principal":
            return self._to_principal(self._pooled_encoding(x, lengths))
        return self.norm(self.bottleneck(self.features(x, lengths)))  # (N, C)

    def pooled_encoding(
        self, x: Tensor, lengths: Tensor | None = None, shares: bool = True
    ) -> Tensor:
        """What "pooled" encodes (N, E) of ``x`` (N, L, F) in the input's units,
        whatever ``encoding``: the input of the principal components; without
        ``shares``, the pooled features alone (N, P): the bottleneck's input."""
        x = _trim(x, lengths)
        return self._pooled_encoding(self.scale(x, lengths), lengths, shares)

    @torch.no_grad()
    def fit_principal(self, f: Tensor) -> None:
        """Set the ``principal_*`` buffers from the training sequences' pooled
        encodings ``f`` (n, E) (:meth:`pooled_encoding`): each value's mean and
        standard deviation (1 where below 1e-6), and the leading
        ``principal_components`` right singular vectors of the standardised
        encodings with their standard deviations (float64). A component beyond
        the encodings' rank (a share of variance below 1e-10 of the first's)
        gets a zero axis: it is 0 for every sequence. Each axis' sign makes its
        largest coordinate positive."""
        f = f.double()
        n, width = f.shape
        mean = f.mean(dim=0)
        scale = f.std(dim=0, unbiased=False)
        scale = torch.where(scale > 1e-6, scale, torch.ones_like(scale))
        values, axes = _principal_axes((f - mean) / scale)
        k = self.principal_components
        kept = values[:k] > 1e-10 * values[:1].clamp(min=1e-300)
        axes, values = axes[:k] * kept[:, None], values[:k] * kept
        if len(axes) < k:  # fewer sequences than components
            axes = torch.cat([axes, axes.new_zeros(k - len(axes), width)])
            values = torch.cat([values, values.new_zeros(k - len(values))])
        top = axes.abs().argmax(dim=1)
        sign = torch.sign(axes.gather(1, top[:, None]))
        axes = axes * torch.where(sign == 0, torch.ones_like(sign), sign)
        sd = (values / n).sqrt()
        sd = torch.where(sd > 0, sd, torch.ones_like(sd))
        for name, value in (
            ("principal_mean", mean),
            ("principal_scale", scale),
            ("principal_axes", axes),
            ("principal_sd", sd),
        ):
            buffer = self.get_buffer(name)
            buffer.copy_(value.to(buffer.dtype))

    @torch.no_grad()
    def fit_feature_span(self, f: Tensor) -> None:
        """Set the ``span_*`` buffers from the training sequences' pooled features
        ``f`` (n, P) (the bottleneck's input; the first P values of
        :meth:`pooled_encoding`), for each of two metrics: each value
        standardised by its standard deviation over ``f`` (1 where below 1e-6),
        and the values in their own units. In each, the orthogonal projection
        onto the affine span of the rows (axes whose share of variance is at
        least 1e-10 of the first's) is composed with the bottleneck's current
        weights (float64): ``span_weight[i] @ f + span_bias[i]`` is
        ``bottleneck(mean + projection_i(f - mean))``."""
        if not self.feature_span:
            raise ValueError("fit_feature_span needs feature_span=True.")
        f = f.double()
        mean = f.mean(dim=0)
        std = f.std(dim=0, unbiased=False)
        w = self.bottleneck.weight.double()  # (C, P)
        for i, scale in enumerate(
            (torch.where(std > 1e-6, std, torch.ones_like(std)), torch.ones_like(std))
        ):
            values, axes = _principal_axes((f - mean) / scale)
            axes = axes[values > 1e-10 * values[:1].clamp(min=1e-300)]  # (r, P)
            weight = (w * scale) @ axes.T @ axes / scale  # (C, P)
            bias = self.bottleneck.bias.double() + w @ mean - weight @ mean
            self.span_weight[i].copy_(weight.to(self.span_weight.dtype))
            self.span_bias[i].copy_(bias.to(self.span_bias.dtype))
            self.span_rank[i] = len(axes)
            if i == 0 and self.span_novelty:
                self.span_center.copy_(mean.to(self.span_center.dtype))
                self.span_scale.copy_(scale.to(self.span_scale.dtype))
                self.span_axes.zero_()
                self.span_axes[: len(axes)] = axes.to(self.span_axes.dtype)
                self.span_typical.fill_(_typical_residual((f - mean) / scale))

    def feature_novelty(self, f: Tensor) -> Tensor:
        """Each sequence's novelty (N,), float64: how far its pooled features
        ``f`` (N, P) lie outside the training sequences'. That is the Euclidean
        distance of the standardised features to the training features' affine
        span (``span_novelty``, set by :meth:`fit_feature_span`), in units of a
        training sequence's typical distance to the span of the others (their
        median). 0 for a sequence in the span (every training sequence), and
        for every sequence when that typical distance is 0 (more varied
        training sequences than pooled features: the span is every direction)
        or before the buffers are set."""
        if not self.span_novelty:
            return torch.zeros(len(f), dtype=torch.float64, device=f.device)
        # (P, P) axes: the span's, then zero rows
        return _span_novelty(
            f, self.span_center, self.span_scale, self.span_typical, self.span_axes
        )

    def training_novelty(self, f: Tensor, leave_out: Tensor | None = None) -> Tensor:
        """The novelty (N,), float64, that each of the training sequences would
        have had if it had been left out: the distance of its standardised
        pooled features ``f`` (N, P) (those :meth:`fit_feature_span` read) to
        the affine span of the other rows', in the units of
        :meth:`feature_novelty` (whose value for a training sequence is 0). Its
        median is 1 over the rows the span was fitted on; zeros where
        :meth:`feature_novelty` is 0 everywhere. ``leave_out`` (N, N) bool:
        row i is measured against the span of the rows j with
        ``leave_out[i, j]`` False (e.g. without the windows that overlap
        window i)."""
        if not self.span_novelty:
            return torch.zeros(len(f), dtype=torch.float64, device=f.device)
        return _span_novelty(
            f, self.span_center, self.span_scale, self.span_typical, None, leave_out
        )

    @torch.no_grad()
    def fit_share_novelty(self, s: Tensor) -> None:
        """Set the ``share_*`` buffers from the training sequences' shares ``s``
        (n, S) (the values of :meth:`pooled_encoding` after the first
        ``pooled_size``): each share's mean and standard deviation over the rows
        (1 where below 1e-3: a share that hardly varies), the axes of the
        standardised rows' affine span (those whose share of variance is at
        least 1e-10 of the first's) and the rows' median distance to the span
        of the others. With more than ``share_axes`` + 1 rows (more than the
        buffer holds) that distance is set to 0: no novelty."""
        if not self.share_axes:
            raise ValueError("fit_share_novelty needs share_axes > 0.")
        self.share_basis.zero_()
        self.share_typical.fill_(0.0)
        if len(s) > self.share_axes + 1:
            return
        s = s.double()
        mean = s.mean(dim=0)
        std = s.std(dim=0, unbiased=False)
        scale = torch.where(std > 1e-3, std, torch.ones_like(std))
        u = (s - mean) / scale
        values, axes = _principal_axes(u)
        axes = axes[values > 1e-10 * values[:1].clamp(min=1e-300)]
        self.share_center.copy_(mean.to(self.share_center.dtype))
        self.share_scale.copy_(scale.to(self.share_scale.dtype))
        self.share_basis[: len(axes)] = axes.to(self.share_basis.dtype)
        self.share_typical.fill_(_typical_residual(u))

    def share_novelty(self, s: Tensor) -> Tensor:
        """Each sequence's share novelty (N,), float64: the Euclidean distance of
        its standardised shares ``s`` (N, S) to the affine span of the training
        shares (set by :meth:`fit_share_novelty`), in units of a training
        sequence's typical distance to the span of the others. 0 for a training
        sequence, and for every sequence without the buffers, before they are
        set or where that typical distance is 0."""
        if not self.share_axes:
            return torch.zeros(len(s), dtype=torch.float64, device=s.device)
        # (K, S) axes: the span's, then zero rows
        return _span_novelty(
            s, self.share_center, self.share_scale, self.share_typical, self.share_basis
        )

    def training_share_novelty(
        self, s: Tensor, leave_out: Tensor | None = None, every: int = 1
    ) -> Tensor:
        """The share novelty (N,) the training sequences of shares ``s`` (N, S)
        would have had if each had been left out, as :meth:`training_novelty`
        for the pooled features: each row's distance to the affine span of the
        other rows (without those where ``leave_out[i]`` is True), in the
        units of :meth:`share_novelty`; zeros where that is 0 everywhere. With
        ``every`` > 1 the span was fitted on ``s[::every]``: each row's distance
        to the span of those rows less itself and those it leaves out."""
        if not self.share_axes or float(self.share_typical) <= 0:
            return torch.zeros(len(s), dtype=torch.float64, device=s.device)
        if every == 1:
            return _span_novelty(
                s,
                self.share_center,
                self.share_scale,
                self.share_typical,
                None,
                leave_out,
            )
        # (standardised in float32: float64 copies of N x S values can be large)
        u = (s.float() - self.share_center) / self.share_scale
        if leave_out is not None:
            leave_out = torch.as_tensor(leave_out, dtype=torch.bool, device=u.device)
        distance = _sample_span_distances(u, every, leave_out)
        return distance / self.share_typical.double()

    def _threshold_maps(self, x: Tensor, lengths: Tensor | None, blocks_only=False):
        """What ``ppv_thresholds`` thresholds, ``(N, L_m, C_m), (N,) or None``
        per map, one map at a time (so that only one dilated map is held in
        memory), of the standardised input ``x`` (zero after each sequence's
        end): every front-end block's value before its ReLU, then the first
        block's kernels at stride 1 and each of ``ppv_dilations`` on ``x``
        (with ``ppv_zero_mean``, less their mean over the taps) and, with
        ``ppv_differences``, on its first differences (one step shorter; "same"
        zero padding, so a step's value does not depend on the batch's
        padding). ``blocks_only``: the blocks' maps alone."""
        x, lengths = self._front_input(x, lengths)
        _, _, blocks = self.front(x, lengths, return_blocks=True, pre_activation=True)
        yield from blocks
        if blocks_only:
            return
        bias = self.front.convs[0].bias
        for h, lens, weight in self._dilated_inputs(x, lengths):
            for y in dilated_maps_steps_last(h, weight, bias, self.ppv_dilations):
                yield y, lens  # (N, L_h, C_1)

    def _dilated_inputs(self, x: Tensor, lengths: Tensor | None) -> list:
        """What the dilated maps of :meth:`_threshold_maps` read, of the front
        end's input ``x`` (N, L, F): ``(h, lengths, weight)`` for the input
        and, with ``ppv_differences``, for its first differences (N, L - 1, F),
        zero after each sequence's end; ``weight`` the first block's kernels
        (with ``ppv_zero_mean``, less their mean over the taps for the input)."""
        if not self.ppv_dilations:
            return []
        conv = self.front.convs[0]
        # (a module saved before the option has no attribute: plain kernels)
        weight = conv.weight
        if getattr(self, "ppv_zero_mean", False):
            weight = conv.weight - conv.weight.mean(dim=2, keepdim=True)
        inputs = [(x, lengths, weight)]
        if self.ppv_differences:
            if x.shape[1] < 2:
                inputs.append((torch.zeros_like(x), lengths, conv.weight))
            elif lengths is None:
                inputs.append((x[:, 1:] - x[:, :-1], None, conv.weight))
            else:
                valid = length_mask((lengths - 1).to(x.device), x.shape[1] - 1)
                dx = (x[:, 1:] - x[:, :-1]) * valid[:, :, None]
                inputs.append((dx, (lengths - 1).clamp(min=1), conv.weight))
        return inputs

    def _dilated_at(
        self, h: Tensor, weight: Tensor, d: int, rows: Tensor, steps: Tensor
    ) -> Tensor:
        """The dilated map of :meth:`_threshold_maps` (kernels ``weight``,
        dilation ``d``, "same" zero padding) of ``h`` (N, L, F) at the steps
        ``steps`` of the sequences ``rows`` (M,) only: (M, C_1), equal to the
        full map's values there up to float rounding."""
        conv = self.front.convs[0]
        k = conv.kernel_size[0]
        pad = d * (k // 2)
        hp = nn.functional.pad(h, (0, 0, pad, pad))  # (N, L + 2 pad, F)
        taps = steps[:, None] + d * torch.arange(k, device=h.device)  # (M, k)
        g = hp[rows[:, None], taps]  # (M, k, F)
        w = weight.permute(2, 1, 0).reshape(k * h.shape[-1], -1)  # (k F, C_1)
        return torch.addmm(conv.bias, g.reshape(len(rows), -1), w)

    def _sampled_shares(
        self,
        x: Tensor,
        lengths: Tensor | None,
        generator: torch.Generator | None = None,
        pooled: bool = False,
    ) -> Tensor:
        """The share of positive values of the first block's kernels read at each
        of ``ppv_dilations`` on the standardised input ``x`` (N, L, F) and, with
        ``ppv_differences``, on its first differences (the maps of
        :meth:`_threshold_maps`, threshold 0), estimated at
        ``feature_loss_steps`` random valid steps of each sequence: only those
        steps are computed (a gather and a matrix product for a few sequences
        at a time, whose sampled maps stay in cache), so the cost does not grow
        with the sequences' length. (N, maps * C_1), in :meth:`_threshold_maps`'
        order. With ``pooled``, ``x`` is already the front end's input."""
        if not pooled:
            x, lengths = self._front_input(x, lengths)
        n, steps, f = x.shape
        lens = (
            torch.full((n,), steps, device=x.device)
            if lengths is None
            else lengths.to(x.device)
        )
        h, hl = x, lens
        if self.ppv_differences:  # zero after each sequence's end, L steps wide
            if steps < 2:
                dx, dl = torch.zeros_like(x), lens
            else:
                valid = length_mask(lens - 1, steps - 1)
                dx = (x[:, 1:] - x[:, :-1]) * valid[:, :, None]
                dx = nn.functional.pad(dx, (0, 0, 0, 1))
                dl = (lens - 1).clamp(min=1)
            h, hl = torch.cat([x, dx]), torch.cat([lens, dl])  # (M N, L, F)
        m = len(h) // n
        conv = self.front.convs[0]
        k = conv.kernel_size[0]
        offsets = torch.arange(k, device=x.device) - k // 2  # (k,)
        dilations = torch.tensor(self.ppv_dilations, device=x.device)  # (D,)
        p, d = self.feature_loss_steps, len(self.ppv_dilations)
        u = torch.rand(n, p, generator=generator).to(x.device)  # drawn on the CPU
        t = (u.repeat(m, 1) * hl[:, None]).long()  # (M N, P): valid steps
        w = conv.weight.permute(2, 1, 0).reshape(k * f, -1)  # (k F, C_1)
        pad = max(self.ppv_dilations) * (k // 2)  # "same" zero padding, both ends
        h = nn.functional.pad(h, (0, 0, pad, pad))  # (M N, L + 2 pad, F)
        shares = []
        rows = max(1, _SHARE_VALUES // (p * d * w.shape[1]))  # a few at a time
        for i in range(0, m * n, rows):
            ti = t[i : i + rows] + pad
            r = len(ti)
            idx = ti[:, :, None, None] + dilations[:, None] * offsets  # (r, P, D, k)
            idx = idx.reshape(r, p * d * k, 1).expand(-1, -1, f)
            g = torch.gather(h[i : i + r], 1, idx).reshape(r * p * d, k * f)
            y = torch.addmm(conv.bias, g, w).gt_(0)  # (r P D, C_1): 1 where positive
            shares.append(y.reshape(r, p, -1).mean(dim=1))  # (r, D C_1)
        shares = torch.cat(shares)  # (M N, D C_1)
        return shares.reshape(m, n, -1).transpose(0, 1).reshape(n, -1)

    def _ppv_rows(self, steps: int) -> int:
        """Sequences of ``steps`` steps whose maps hold about _PPV_CHUNK_VALUES
        values."""
        widest = max(c.out_channels for c in self.front.convs)
        return max(1, _PPV_CHUNK_VALUES // max(1, steps * widest))

    def quantile_ppv(self, x: Tensor, lengths: Tensor | None = None) -> Tensor:
        """The shares of valid steps above ``ppv_thresholds`` (by more than 1e-4)
        (N, Q * sum C_m) of the standardised input ``x``: map by map (see
        ``_threshold_maps``), each quantile's C_m values. Read a few sequences at
        a time (one chunk when traced for export)."""
        rows = len(x) if torch.jit.is_tracing() else self._ppv_rows(x.shape[1])
        if rows >= len(x):
            return self._quantile_ppv(x, lengths)
        out = []
        for i in range(0, len(x), rows):
            lb = None if lengths is None else lengths[i : i + rows]
            out.append(self._quantile_ppv(_trim(x[i : i + rows], lb), lb))
        return torch.cat(out)

    def _quantile_ppv(self, x: Tensor, lengths: Tensor | None) -> Tensor:
        out, start = [], 0
        for pre, lens in self._threshold_maps(x, lengths):
            c = pre.shape[-1]
            for t in self.ppv_thresholds[:, start : start + c]:  # (C_m,)
                # (a margin, so that float noise of 1e-6, e.g. from padding, cannot
                # flip a value that sits on its threshold: a near-constant channel)
                above = pre > t + _PPV_MARGIN
                out.append(masked_mean(above.to(pre.dtype), lens))
            start += c
        return torch.cat(out, dim=-1)

    @torch.no_grad()
    def fit_ppv_thresholds(
        self,
        x: Tensor,
        lengths: Tensor | None = None,
        chunk: int | None = None,
        max_rows: int = 50_000,
    ) -> None:
        """Set ``ppv_thresholds`` to the ``ppv_quantiles`` of every front-end
        channel's value before its ReLU (and of every dilated map's channel) over
        the valid steps of ``x`` (N, L, F), in the input's units, read ``chunk``
        sequences at a time (None: as many as keep a map at about a million
        values); of more than ``max_rows`` valid steps in a map, every k-th is
        kept (k the fewest that keeps at most ``max_rows``; the same steps
        whatever ``chunk``)."""
        x = _trim(x, lengths)
        n = len(x)
        chunk = self._ppv_rows(x.shape[1]) if chunk is None else chunk
        full = torch.full((n,), x.shape[1]) if lengths is None else lengths.cpu()
        full = -(-full // self.input_pool)  # the steps the front end reads
        totals, channels, lens = [], [], full
        for conv, k, s in zip(
            self.front.convs, self.front.kernel_sizes, self.front.strides
        ):
            lens = conv_output_lengths(lens, k, s)
            totals.append(int(lens.sum()))
            channels.append(conv.out_channels)
        diff_total = int((full - 1).clamp(min=1).sum())
        for total in [int(full.sum())] + [diff_total] * self.ppv_differences:
            for _ in self.ppv_dilations:
                totals.append(total)
                channels.append(self.front.convs[0].out_channels)
        # (bounds the memory of the values kept)
        caps = [min(max_rows, 2**24 // c) for c in channels]
        every = [max(1, -(-t // cap)) for t, cap in zip(totals, caps)]
        rows: list[list[Tensor]] = [[] for _ in totals]
        seen = [0] * len(totals)

        def kept(b: int, count: int) -> Tensor:
            # which of map b's next ``count`` valid values are kept
            index = torch.arange(seen[b], seen[b] + count, device=x.device)
            seen[b] += count
            return index % every[b] == 0

        conv = self.front.convs[0]
        for i in range(0, n, chunk):
            xb = x[i : i + chunk]
            lb = None if lengths is None else lengths[i : i + chunk]
            xb = self.scale(xb, lb)
            maps = self._threshold_maps(xb, lb, blocks_only=True)
            for b, (pre, lens_b) in enumerate(maps):
                v = pre[_valid_steps(pre, lens_b)]  # (V, C_m), row-major
                rows[b].append(v[kept(b, len(v))])
            b = len(self.front.convs)
            for h, lens_h, weight in self._dilated_inputs(*self._front_input(xb, lb)):
                valid = _valid_steps(h, lens_h)  # (N, L_h)
                at = valid.nonzero()  # (V, 2): the valid steps, row-major
                # (the input's maps keep the same steps: the same every)
                gather = every[b] >= _THRESHOLD_GATHER_EVERY
                maps = dilated_maps_steps_last(
                    h, weight, conv.bias, () if gather else self.ppv_dilations
                )
                for d in self.ppv_dilations:
                    if gather:  # of many steps, only the kept ones are computed
                        sel = at[kept(b, len(at))]
                        rows[b].append(self._dilated_at(h, weight, d, *sel.T))
                    else:
                        v = next(maps)[valid]  # (V, C_1)
                        rows[b].append(v[kept(b, len(v))])
                    b += 1
        # numpy's selection, not torch.quantile's full sort: 7x less time (18 s ->
        # 2.5 s on a data set of 100 series of 1460 steps); the same linear
        # interpolation
        thresholds = [
            np.quantile(
                torch.cat(r).float().T.contiguous().cpu().numpy(),
                self.ppv_quantiles,
                axis=1,
            )
            for r in rows
        ]  # each (Q, C_m)
        thresholds = torch.as_tensor(np.concatenate(thresholds, axis=1))
        self.ppv_thresholds.copy_(thresholds)

    def encode(self, x: Tensor, lengths: Tensor | None = None) -> Tensor:
        """The fixed-length encoding (N, C) of each sequence."""
        x = _trim(x, lengths)
        return self._encode_scaled(self.scale(x, lengths), lengths)

    # -- decoding ---------------------------------------------------------------
    def _decode(self, decoder, c: Tensor, n_steps: int, target: Tensor | None):
        """Run ``decoder`` from the code ``c`` for ``n_steps`` timesteps (in patches of
        s); ``target``
        (N, n_steps, F), standardised, for teacher forcing. Returns (N, n_steps, F)
        in standardised units."""
        s = self.decoder_stride
        tgt = None if target is None else patchify(target, s)  # (N, L', s*F)
        out, _ = decoder(c, -(-n_steps // s), target=tgt)  # (N, L', s*F)
        return unpatchify(out, s, n_steps)  # (N, L, F)

    def _reconstruct_scaled(
        self,
        c: Tensor,
        n_steps: int,
        lengths: Tensor | None = None,
        target: Tensor | None = None,
    ) -> Tensor:
        if self.reverse_target and target is not None:
            target = reverse_padded(target, lengths)
        out = self._decode(self.reconstructor, c, n_steps, target)  # (N, L, F)
        if self.reverse_target:
            out = reverse_padded(out, lengths)
        if self.shape_decoder is not None:
            out = out + self._shape(c, n_steps, lengths)
        return out

    def _patch_divisor(self, n_steps: int | Tensor) -> int | Tensor:
        """In training, a sequence of ``n_steps`` steps (an int, or a tensor
        (N,) of each sequence's) rebuilds ``1 / divisor`` of its decoder's
        patches (see :meth:`_sampled_patches`): ``input_pool``, or more where
        it holds more than ``patch_values`` values (steps times features); 1:
        every patch. (A module saved before ``patch_values`` has none.)"""
        values = getattr(self, "patch_values", 0)
        if isinstance(n_steps, Tensor):  # each sequence's own (N,)
            if not values:
                return torch.full_like(n_steps, self.input_pool)
            return (-(-n_steps * self.input_size // values)).clamp(min=self.input_pool)
        need = -(-n_steps * self.input_size // values) if values else 0
        return max(self.input_pool, need)

    def _sampled_patches(
        self,
        c: Tensor,
        n_steps: int,
        generator: torch.Generator | None,
        divisor: int | None = None,
    ) -> tuple[Tensor, Tensor]:
        """In training on long or wide sequences (:meth:`_patch_divisor` > 1,
        ``lengths`` None): the standardised reconstruction of a random ``1 /
        divisor`` of the decoder's patches (at least one; ``divisor`` None:
        ``input_pool``), in the decoder's order (last step first with
        ``reverse_target``): (N, S, s * F), and the patches' indices (S,). The
        decoder's recurrence still runs over every patch; only the sampled
        patches are emitted, shaped and compared (:meth:`loss`), so the
        reconstruction's cost per update is that of a sequence ``divisor`` times
        shorter while its expected error is the mean over every step."""
        s = self.decoder_stride
        patches = -(-n_steps // s)
        divisor = self.input_pool if divisor is None else divisor
        keep = max(1, -(-patches // divisor))
        index = torch.randperm(patches, generator=generator)[:keep].sort().values
        index = index.to(c.device)
        out, _ = self.reconstructor(c, patches, steps=index)  # (N, S, s*F)
        if self.shape_decoder is not None:
            t = index[:, None] * s + torch.arange(s, device=c.device)  # (S, s)
            t = t.to(c.dtype) + 0.5
            if self.reverse_target:
                t = n_steps - t  # the same times, last first (exact)
            shape = self._shape_at(c, (t / n_steps).reshape(1, -1), True)
            out = out + shape.reshape(out.shape)  # (N, S, s*F)
        return out, index

    def _own_patch_steps(
        self, index: Tensor, lengths: Tensor
    ) -> tuple[Tensor, Tensor, Tensor]:
        """For each sequence's sampled patches ``index`` (N, S) (-1: none):
        the decoder steps' times (N, S, s) in the input's order (clamped into
        the sequence), whether each is a valid step (N, S, s), and each
        sequence's patches over its sampled ones (N,), the weight that makes
        the sampled error's sum an unbiased estimate of the whole one."""
        s = self.decoder_stride
        lens = lengths.to(index.device)[:, None, None]  # (N, 1, 1)
        k = index.clamp(min=0)[:, :, None] * s + torch.arange(s, device=index.device)
        valid = (k < lens) & (index >= 0)[:, :, None]  # (N, S, s)
        t = lens - 1 - k if self.reverse_target else k
        t = torch.minimum(t.clamp(min=0), lens.clamp(min=1) - 1)
        patches = -(-lengths.to(index.device) // s)  # (N,)
        sampled = (index >= 0).sum(dim=1).clamp(min=1)
        return t, valid, patches / sampled

    def _sampled_own_patches(
        self, c: Tensor, lengths: Tensor, generator: torch.Generator | None
    ) -> tuple[Tensor, Tensor]:
        """:meth:`_sampled_patches` for sequences of unequal lengths: each
        sequence rebuilds a random ``ceil(P_i / d_i)`` of its own ``P_i``
        patches, ``d_i`` :meth:`_patch_divisor` of its own length (every patch
        of a sequence short enough). (N, S, s * F) in the decoder's order, and the
        patches' indices (N, S), -1 where a sequence has fewer than S (their
        outputs are not compared)."""
        s, n = self.decoder_stride, c.shape[0]
        lens = lengths.to(c.device)
        patches = -(-lens // s)  # (N,) each sequence's own
        most = int(patches.max())
        keep = -(-patches // self._patch_divisor(lens))  # (N,)
        width = int(keep.max())
        keys = torch.rand(n, most, generator=generator).to(c.device)  # (CPU draw)
        keys = keys.masked_fill(
            torch.arange(most, device=c.device) >= patches[:, None], 2.0
        )
        index = keys.argsort(dim=1)[:, :width]  # (N, S): each its own, at random
        index = index.masked_fill(
            torch.arange(width, device=c.device) >= keep[:, None], -1
        )
        out, _ = self.reconstructor(c, most, steps=index.clamp(min=0))  # (N, S, sF)
        if self.shape_decoder is not None:
            t, _, _ = self._own_patch_steps(index, lens)  # (N, S, s)
            rel = (t.to(c.dtype) + 0.5) / lens.to(c.dtype).clamp(min=1)[:, None, None]
            shape = self._shape_at(c, rel.reshape(n, -1))  # (N, S s, F)
            out = out + shape.reshape(out.shape)
        return out, index

    def _shape(self, c: Tensor, n_steps: int, lengths: Tensor | None) -> Tensor:
        """The linear shape path: the code's coefficients of K cosines over each
        sequence's relative time (a DCT-II basis), (N, L, F)."""
        t = torch.arange(n_steps, device=c.device, dtype=c.dtype) + 0.5  # (L,)
        if lengths is None:
            rel = (t / n_steps)[None, :]  # (1, L)
        else:
            rel = t[None, :] / lengths.to(c.device, c.dtype).clamp(min=1)[:, None]
        shared = lengths is None and n_steps > _SHAPE_BROADCAST_STEPS
        return self._shape_at(c, rel, shared)

    def _shape_at(self, c: Tensor, rel: Tensor, one_product: bool = False) -> Tensor:
        """The shape path of the codes ``c`` (N, C) at the relative times ``rel``
        (N, T), or (1, T) shared by all: (N, T, F). ``one_product`` (shared
        times): one (T, K) x (K, N F) product instead of a broadcast batched one
        of skinny matrices, which took 5x longer on the CPU at 18,000 steps."""
        k = self.shape_basis
        freq = torch.arange(k, device=c.device, dtype=c.dtype) * math.pi  # (K,)
        phi = torch.cos(rel[:, :, None] * freq)  # (N or 1, T, K)
        n = c.shape[0]
        coef = self.shape_decoder(c).view(n, k, -1)  # (N, K, F)
        if not one_product:
            return torch.matmul(phi, coef)  # (N, T, F)
        out = phi[0] @ coef.transpose(0, 1).reshape(k, -1)  # (T, N F)
        return out.view(rel.shape[1], n, -1).transpose(0, 1).contiguous()  # (N, T, F)

    def reconstruct(
        self,
        z: Tensor,
        n_steps: int,
        lengths: Tensor | None = None,
        target: Tensor | None = None,
    ) -> Tensor:
        """Decode ``z`` (N, C) into (N, L, F), returned in the original time order
        and in the input's units.

        ``target`` (N, L, F, original order, input units) enables teacher forcing
        (conditional decoder). With ``reverse_target`` the decoder emits the sequence
        backwards, each sequence within its own length.
        """
        if target is not None:
            target = self.scale(target, lengths)
        c = self.code(z)
        return self.unscale(self._reconstruct_scaled(c, n_steps, lengths, target))

    def forecast(self, z: Tensor, n_steps: int, target: Tensor | None = None) -> Tensor:
        """Decode the continuation (N, M, F) from ``z`` (N, C), in the input's
        units."""
        if target is not None:
            target = self.scale(target)
        return self.unscale(self._decode(self.predictor, self.code(z), n_steps, target))

    def forward(
        self,
        x: Tensor,
        lengths: Tensor | None = None,
        future: Tensor | None = None,
        future_lengths: Tensor | None = None,
        n_future: int | None = None,
        generator: torch.Generator | None = None,
        span: int | None = None,
        pooled_features: Tensor | None = None,
        **_: object,
    ) -> dict[str, Tensor | None]:
        full = x.shape[1]
        x = _trim(x, lengths)  # (N, L_b, F): no step after the longest is computed
        if future is not None:
            future_full = future.shape[1]
            future = _trim(future, future_lengths)
        out = self._forward(
            x,
            lengths,
            future,
            future_lengths,
            n_future,
            generator,
            span,
            None if self.training else pooled_features,
        )
        out["reconstruction"] = _pad_steps(out["reconstruction"], full)
        if future is not None:
            out["forecast"] = _pad_steps(out["forecast"], future_full)
        return out

    def _forward(
        self,
        x,
        lengths,
        future,
        future_lengths,
        n_future,
        generator=None,
        span=None,
        pooled_features=None,
    ):
        teacher = self.training and self.conditional
        if (
            self.training
            and self.input_pool > 1
            and self.front is not None
            and not (teacher or self.mask_fraction)
        ):
            # the encoder reads means of steps: pool first, then scale and add
            # the noise those means would carry (the same in distribution, at a
            # fraction of the cost on long series; the decoder needs no xs)
            xs = None
            x_in, enc_lengths = self._pooled_training_input(x, lengths, generator)
            pooled = True
        elif pooled_features is not None:  # (eval only: xs feeds the encoder alone)
            xs, pooled = None, False
        else:
            xs = self.scale(x, lengths)  # (N, L, F)
            x_in = self._corrupt(xs, generator) if self.training else xs
            enc_lengths, pooled = lengths, False
        if pooled_features is not None:
            f = pooled_features
        else:
            f = self.features(x_in, enc_lengths, pooled)  # (N, P)
        if span is not None and self.feature_span and int(self.span_rank[span]) >= 0:
            pre = nn.functional.linear(f, self.span_weight[span], self.span_bias[span])
        else:
            pre = self.bottleneck(f)  # (N, C)
        c = self.norm(pre)  # (N, C)
        z = c if self.encoding == "code" else f
        code_loss = (
            self._feature_loss(f, c, x_in, enc_lengths, generator, pooled)
            if self.training
            else None
        )
        recon = forecast = None
        training_out = {}
        divisor = (
            self._patch_divisor(x.shape[1]) if self.training and not teacher else 1
        )
        if self.reconstructor is not None and divisor > 1 and lengths is None:
            # long or wide series in training: a sample of the patches,
            # standardised
            patches, index = self._sampled_patches(c, x.shape[1], generator, divisor)
            training_out = {"reconstruction_patches": patches, "patch_index": index}
        elif self.reconstructor is not None and divisor > 1:
            # ... of unequal lengths: each a sample of its own patches
            patches, index = self._sampled_own_patches(c, lengths, generator)
            training_out = {"reconstruction_patches": patches, "patch_index": index}
        elif self.reconstructor is not None:
            recon = self.unscale(
                self._reconstruct_scaled(
                    c, x.shape[1], lengths, xs if teacher else None
                )
            )
        if self.predictor is not None:
            m = future.shape[1] if future is not None else n_future
            fs = self.scale(future, future_lengths) if teacher else None
            forecast = self.unscale(self._decode(self.predictor, c, m, fs))
        out = {"encoding": z, "reconstruction": recon, "forecast": forecast}
        out.update(training_out)
        if code_loss is not None:
            out["code_loss"] = code_loss
        return out

    def _feature_loss(
        self,
        f: Tensor,
        c: Tensor,
        x: Tensor | None = None,
        lengths: Tensor | None = None,
        generator: torch.Generator | None = None,
        pooled: bool = False,
    ) -> Tensor | None:
        """``feature_loss`` times the squared error of a linear read-out of the code
        ``c`` (N, C) that predicts the pooled features ``f`` (N, P) and, with
        ``feature_loss_steps``, the sampled shares of the encoder's input ``x``
        (see :meth:`_sampled_shares`), standardised over the batch and detached:
        one value per sequence (N,), or None (no ``feature_loss``, or a batch of
        one sequence)."""
        n = f.shape[0]
        if not self.feature_loss or n < 2:
            return None
        t = f.detach()
        if self.feature_loss_steps and x is not None:
            with torch.no_grad():
                shares = self._sampled_shares(x, lengths, generator, pooled)
            t = torch.cat([t, shares], dim=-1)
        std = t.std(dim=0, unbiased=False)  # (P,)
        t = (t - t.mean(dim=0)) / torch.where(std > 1e-4, std, torch.ones_like(std))
        err = (self.feature_head(c) - t).pow(2).mean(dim=1)  # (N,)
        return self.feature_loss * err

    def loss(
        self,
        outputs: dict[str, Tensor | None],
        x: Tensor,
        lengths: Tensor | None = None,
        future: Tensor | None = None,
        future_lengths: Tensor | None = None,
        reduction: str = "mean",
        sample_weight: Tensor | None = None,
        **_: object,
    ) -> Tensor:
        """Mean squared error over valid steps (in standardised units with
        ``scaling="standard"``), summed over the active decoders.

        ``reduction="none"`` gives one value per sequence (N,); ``sample_weight``
        (N,) makes the mean a weighted one.
        """
        if sample_weight is not None and reduction != "none":
            per = self.loss(outputs, x, lengths, future, future_lengths, "none")
            return weighted_mean(per, sample_weight)
        scale = self.input_scale.to(x.dtype) if self.scaling == "standard" else None
        loss = 0.0
        if outputs["reconstruction"] is not None:
            pred = outputs["reconstruction"]
            if scale is not None:
                pred, x = pred / scale, x / scale
            loss = loss + masked_mse(pred, x, lengths, reduction)
        if outputs.get("reconstruction_patches") is not None:
            patches, index = outputs["reconstruction_patches"], outputs["patch_index"]
            if index.dim() == 1:
                loss = loss + self._patch_loss(patches, index, x, reduction)
            else:
                loss = loss + self._own_patch_loss(
                    patches, index, x, lengths, reduction
                )
        if outputs["forecast"] is not None:
            pred = outputs["forecast"]
            if scale is not None:
                pred, future = pred / scale, future / scale
            loss = loss + masked_mse(pred, future, future_lengths, reduction)
        if outputs.get("code_loss") is not None:
            extra = outputs["code_loss"]
            loss = loss + (extra if reduction == "none" else extra.mean())
        return loss

    def _patch_loss(
        self, pred: Tensor, index: Tensor, x: Tensor, reduction: str
    ) -> Tensor:
        """Mean squared error of the sampled patches ``pred`` (N, S, s * F) of
        :meth:`_sampled_patches` against the same steps of ``x`` (N, L, F),
        standardised; steps after the end of the sequence (the last patch's
        padding) are not counted. A scalar, or (N,)."""
        s, (n, steps, feats) = self.decoder_stride, x.shape
        with torch.no_grad():
            # the sampled patches' steps, in the decoder's order
            t = (index[:, None] * s + torch.arange(s, device=x.device)).reshape(-1)
            valid = t < steps  # (S s,)
            t = t.clamp(max=steps - 1)
            if self.reverse_target:
                t = steps - 1 - t
            target = self.scale(x.index_select(1, t))  # (N, S s, F)
            target = target.reshape(n, len(index), s * feats)
            weight = valid.to(x.dtype).repeat_interleave(feats)
            weight = weight.view(len(index), s * feats)  # (S, s F)
        err = (pred - target).pow(2) * weight  # (N, S, s F)
        count = weight.sum()
        if reduction == "none":
            return err.sum(dim=(1, 2)) / count
        return err.sum() / (count * n)

    def _own_patch_loss(
        self,
        pred: Tensor,
        index: Tensor,
        x: Tensor,
        lengths: Tensor,
        reduction: str,
    ) -> Tensor:
        """The error of :meth:`_sampled_own_patches` ``pred`` (N, S, s * F)
        against the same steps of ``x`` (N, L, F), standardised, each
        sequence's sum over its valid sampled values weighed by its patches
        over its sampled ones, so that the expected loss is :func:`masked_mse`
        of the whole reconstruction: over every valid value (a scalar) or, with
        ``reduction="none"``, each sequence's (N,)."""
        n, feats = x.shape[0], x.shape[2]
        with torch.no_grad():
            t, valid, weight = self._own_patch_steps(index, lengths)  # (N, S, s)
            at = t.reshape(n, -1, 1).expand(-1, -1, feats)  # (N, S s, F)
            target = self.scale(x.gather(1, at)).reshape(pred.shape)
            mask = valid[:, :, :, None].expand(-1, -1, -1, feats)
            mask = mask.reshape(pred.shape).to(pred.dtype)  # (N, S, s F)
        total = ((pred - target).pow(2) * mask).sum(dim=(1, 2)) * weight  # (N,)
        counts = lengths.to(x.device, x.dtype) * feats  # (N,)
        if reduction == "none":
            return total / counts
        return total.sum() / counts.sum()

    def step_errors(self, x: Tensor, lengths: Tensor | None = None) -> Tensor:
        """Squared reconstruction error of every step, mean over features, in
        standardised units: (N, L), zero on padding (objectives with a
        reconstruction decoder)."""
        if self.reconstructor is None:
            raise ValueError("step_errors needs a reconstruction decoder.")
        full = x.shape[1]
        x = _trim(x, lengths)
        xs = self.scale(x, lengths)
        c = self.code(self._encode_scaled(xs, lengths))
        out = self._reconstruct_scaled(c, x.shape[1], lengths)  # (N, L_b, F)
        err = (out - xs).pow(2).mean(dim=2)  # (N, L_b)
        if lengths is not None:
            err = err * length_mask(lengths.to(x.device), x.shape[1])
        return _pad_steps(err[:, :, None], full)[:, :, 0]  # (N, L)

    # -- truncated backpropagation through time ------------------------------------
    def truncated_backward(
        self,
        chunk_size: int,
        x: Tensor,
        lengths: Tensor | None = None,
        future: Tensor | None = None,
        future_lengths: Tensor | None = None,
        **_: object,
    ) -> Tensor:
        """One training step's loss and gradients with truncated BPTT.

        The encoder and the decoders run ``chunk_size`` steps at a time; the recurrent
        state is carried across chunks but gradients stop at chunk borders, so memory
        does not grow with the sequence length. The decoders' gradients with respect
        to the encoding are accumulated over all their chunks and then sent back into
        the encoder's final chunk. Calls ``backward`` itself; returns the (detached)
        loss, equal to :meth:`loss` of the full forward pass (without training-time
        corruption).

        Needs the classic encoder: unidirectional, no front end, ``pooling="last"``,
        ``decoder_stride=1``.
        """
        if self.encoder.num_directions == 2:
            raise ValueError("Truncated BPTT needs a unidirectional encoder.")
        if self.shape_decoder is not None or self.feature_loss:
            raise ValueError(
                "Truncated BPTT needs shape_basis=0 and feature_loss=0 (the shape "
                "path and the feature loss are not chunked)."
            )
        if (
            self.front is not None
            or self.pooling.mode != "last"
            or self.decoder_stride != 1
        ):
            raise ValueError(
                "Truncated BPTT needs an encoder without a convolutional front end, "
                "with pooling='last' and decoder_stride=1 (the pooled encodings "
                "depend on every step at once), got "
                f"front end={self.front is not None}, pooling={self.pooling.mode!r}, "
                f"decoder_stride={self.decoder_stride}."
            )
        x = self.scale(x, lengths)
        if future is not None:
            future = self.scale(future, future_lengths)
        z = self.norm(
            self.bottleneck(
                self.encoder.final_hidden(self._encode_chunked(x, lengths, chunk_size))
            )
        )
        z_leaf = z.detach().requires_grad_()
        total = x.new_zeros(())
        if self.reconstructor is not None:
            target = reverse_padded(x, lengths) if self.reverse_target else x
            total += self._decode_chunked(
                self.reconstructor, z_leaf, target, lengths, chunk_size
            )
        if self.predictor is not None:
            total += self._decode_chunked(
                self.predictor, z_leaf, future, future_lengths, chunk_size
            )
        z.backward(z_leaf.grad)
        return total

    def _encode_chunked(self, x: Tensor, lengths: Tensor | None, chunk: int) -> Tensor:
        """Final hidden states (K*D, N, H), gradients only through each final chunk."""
        n, max_len = x.shape[0], x.shape[1]
        state = None
        if lengths is None:
            for start in range(0, max_len, chunk):
                if state is not None:
                    state = _detach(state)
                _, state = self.encoder(x[:, start : start + chunk], state=state)
            return state[0]
        lengths = lengths.to(x.device)
        k = self.encoder.num_layers * self.encoder.num_directions
        h = x.new_zeros(k, n, self.encoder.hidden_size)
        state = (h, torch.zeros_like(h) if self.encoder.cell == "lstm" else None)
        final = h
        for start in range(0, int(lengths.max()), chunk):
            valid = (lengths - start).clamp(0, chunk)  # (N,)
            rows = valid.nonzero().squeeze(1)
            sub_state = tuple(s[:, rows] if s is not None else None for s in state)
            _, new = self.encoder(
                x[rows, start : start + chunk], valid[rows], sub_state
            )
            ended = lengths[rows] <= start + chunk
            final = final.index_copy(1, rows[ended], new[0][:, ended])
            state = tuple(
                s.index_copy(1, rows, ns.detach()) if s is not None else None
                for s, ns in zip(state, new)
            )
        return final

    def _decode_chunked(self, decoder, z, target, lengths, chunk) -> Tensor:
        n, max_len, n_feat = target.shape
        if lengths is None:
            n_valid = float(n * max_len * n_feat)
            mask = None
        else:
            n_valid = float(lengths.sum()) * n_feat
            mask = length_mask(lengths.to(target.device), max_len)[
                :, :, None
            ]  # (N, L, 1)
        state = prev = None
        total = target.new_zeros(())
        for start in range(0, max_len, chunk):
            tgt = target[:, start : start + chunk]  # (N, k, F)
            out, state = decoder(
                z,
                tgt.shape[1],
                target=tgt if self.conditional else None,
                state=state,
                prev=prev,
            )
            sq = (out - tgt).pow(2)
            if mask is not None:
                sq = sq * mask[:, start : start + chunk]
            loss = sq.sum() / n_valid
            loss.backward()
            total += loss.detach()
            state = _detach(state)
            prev = tgt[:, -1] if self.conditional else None
        return total


def _bordered_gram_inverse(c: Tensor) -> Tensor | None:
    """The inverse (n + 1, n + 1), float64, of the Gram matrix of the centred
    rows ``c`` (n, P), float64, bordered by ones (the affine constraint), with
    a ridge of 1e-10 of its mean diagonal so that it is invertible; None with
    fewer than 2 rows or no spread."""
    n = len(c)
    gram = c @ c.T
    spread = float(gram.diagonal().mean()) if n else 0.0
    if n < 2 or spread <= 0:
        return None
    bordered = torch.zeros(n + 1, n + 1, dtype=torch.float64, device=c.device)
    bordered[:n, :n] = gram + 1e-10 * spread * torch.eye(
        n, dtype=torch.float64, device=c.device
    )
    bordered[:n, n] = 1.0
    bordered[n, :n] = 1.0
    return torch.linalg.inv(bordered)


def _leave_one_out_distances(u: Tensor, leave_out: Tensor | None = None) -> Tensor:
    """Each row's distance to the affine span of the other rows of ``u`` (n,
    P), float64 (n,): ``1 / sqrt(inv(B)[i, i])``, ``B`` the centred rows' Gram
    matrix bordered by ones (the affine constraint), with a ridge of 1e-10 of
    its mean diagonal so that it is invertible; zeros with fewer than 2 rows
    or no spread. ``leave_out`` (n, n) bool: row i's distance to the span of
    the rows j with ``leave_out[i, j]`` False instead (row i itself is left
    out either way; where that would leave no other row, row i alone): the
    Schur complement of those rows' block of ``inv(B)``, which is the inverse
    of ``B`` without them."""
    n = len(u)
    inverse = _bordered_gram_inverse(u.double() - u.double().mean(dim=0))
    if inverse is None:
        return torch.zeros(n, dtype=torch.float64, device=u.device)
    inv_diag = inverse.diagonal()[:n].clone()
    if leave_out is not None:
        for i in range(n):
            rows = torch.nonzero(leave_out[i]).flatten()
            rows = rows[rows != i]
            # (with no other row left there is no span: the row alone is left out)
            if 0 < len(rows) < n - 1:
                cross = inverse[rows, i]  # (k,)
                block = inverse[rows][:, rows]  # (k, k)
                inv_diag[i] -= cross @ torch.linalg.solve(block, cross)
    return (1 / inv_diag.clamp(min=1e-300)).sqrt()


def _span_novelty(
    f: Tensor,
    center: Tensor,
    scale: Tensor,
    typical: Tensor,
    axes: Tensor | None,
    leave_out: Tensor | None = None,
) -> Tensor:
    """The novelty (N,), float64, of the rows ``f`` (N, P) standardised by
    ``center`` and ``scale``: with ``axes`` (K, P) (the training rows' span's
    orthonormal axes, then zero rows), each row's distance to that span; without,
    the rows are the training rows and each one's distance to the span of the
    others (``_leave_one_out_distances``, with ``leave_out``); over ``typical``.
    Zeros where ``typical`` is 0."""
    if float(typical) <= 0:
        return torch.zeros(len(f), dtype=torch.float64, device=f.device)
    u = (f.double() - center.double()) / scale.double()
    if axes is None:
        if leave_out is not None:
            leave_out = torch.as_tensor(leave_out, dtype=torch.bool, device=u.device)
        distance = _leave_one_out_distances(u, leave_out)
    else:
        axes = axes.double()
        distance = (u - (u @ axes.T) @ axes).norm(dim=1)
    return distance / typical.double()


def _sample_span_distances(
    u: Tensor, every: int, leave_out: Tensor | None = None
) -> Tensor:
    """Each row's distance (N,), float64, to the affine span of the rows
    ``u[::every]`` other than itself and, with ``leave_out`` (N, N) bool, those
    where ``leave_out[i]`` is True (where that would leave none, itself
    alone). For row i, with ``a`` the row and ``C`` the span's rows, both less
    the span rows' mean: ``d^2 = a.a - h' inv(B') h'``, ``B`` the rows' Gram
    matrix bordered by ones (a ridge of 1e-10 of its mean diagonal), ``h =
    (C a, 1)``, and ``'`` the kept rows: the Schur complement of the removed
    rows' block of ``inv(B)``, which is the inverse of ``B`` without them."""
    n = len(u)
    rows = torch.arange(0, n, every, device=u.device)
    m = len(rows)
    center = u[rows].double().mean(dim=0)
    c = u[rows].double() - center
    # (N, S) in float64 can be large: a chunk of rows at a time
    h = torch.empty(m + 1, n, dtype=torch.float64, device=u.device)
    aa = torch.empty(n, dtype=torch.float64, device=u.device)
    for lo in range(0, n, 1024):
        a = u[lo : lo + 1024].double() - center
        h[:m, lo : lo + 1024] = c @ a.T
        aa[lo : lo + 1024] = (a * a).sum(dim=1)
    h[m] = 1.0
    inverse = _bordered_gram_inverse(c)
    if inverse is None:
        return torch.zeros(n, dtype=torch.float64, device=u.device)
    out = torch.empty(n, dtype=torch.float64, device=u.device)
    for i in range(n):
        removed = torch.zeros(m, dtype=torch.bool, device=u.device)
        if leave_out is not None:
            removed |= leave_out[i, rows]
        if i % every == 0:
            removed[i // every] = True
        if int(removed.sum()) >= m:  # no span left: leave out row i alone
            removed.zero_()
            if i % every == 0:
                removed[i // every] = True
        hi = h[:, i].clone()
        gone = torch.nonzero(removed).flatten()
        hi[gone] = 0.0
        nh = inverse @ hi
        q = hi @ nh
        if len(gone):
            v = nh[gone]
            q = q - v @ torch.linalg.solve(inverse[gone][:, gone], v)
        out[i] = (aa[i] - q).clamp(min=0.0).sqrt()
    return out


def _typical_residual(u: Tensor) -> float:
    """The median (the mean of the middle two for an even count) over the rows
    of ``u`` (n, P) of each row's distance to the affine span of the other
    rows; 0 when that is below 1e-3 of the rows' root-mean-square distance to
    their mean (most rows lie in the others' span, e.g. more rows than
    columns), or with fewer than 2 rows. Each distance is
    ``1 / sqrt(inv(B)[i, i])``, ``B`` the centred rows' Gram matrix bordered
    by ones (the affine constraint), with a ridge of 1e-10 of its mean
    diagonal so that it is invertible."""
    n, width = u.shape
    if n < 2 or n > 2 * width + 2:
        # (at most width + 1 rows can lie outside the others' affine span,
        # fewer than half of them: the median is 0, no need to compute it)
        return 0.0
    c = u.double() - u.double().mean(dim=0)
    spread = float((c * c).sum(dim=1).mean())
    if spread <= 0:
        return 0.0
    typical = float(_leave_one_out_distances(u).quantile(0.5))
    return typical if typical > 1e-3 * spread**0.5 else 0.0


def _principal_axes(zs: Tensor) -> tuple[Tensor, Tensor]:
    """The eigenvalues of ``zs.T @ zs`` for the rows ``zs`` (n, E), largest first
    (at least 0), and their unit eigenvectors as rows (min(n, E), E): from the
    Gram matrix ``zs @ zs.T`` when there are fewer rows than columns."""
    n, width = zs.shape
    if n <= width:  # the Gram matrix's eigenvectors give the axes
        values, vectors = torch.linalg.eigh(zs @ zs.T)  # ascending
        values = values.flip(0).clamp(min=0)
        axes = vectors.flip(1).T @ zs  # (n, E), rows of norm sqrt(value)
        norm = values.sqrt()
        norm = torch.where(norm > 0, norm, torch.ones_like(norm))
        return values, axes / norm[:, None]
    values, vectors = torch.linalg.eigh(zs.T @ zs)
    return values.flip(0).clamp(min=0), vectors.flip(1).T  # (E,), (E, E)
