"""LSTMAutoencoderTransformer: fixed-length encodings of sequences."""

from __future__ import annotations

import math
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ._base import BaseSequenceEstimator
from ._classifier import SequenceClassifier, _front_end
from ._params import Param
from .nn.autoencoder import SequenceAutoencoder
from .nn.functional import masked_mae
from .nn.pooling import POOLINGS
from .utils.validation import (
    check_decode_lengths,
    check_decode_memory,
    check_encodings,
    check_positive_int,
    split_future,
)

__all__ = ["LSTMAutoencoderTransformer"]

# The recipe's front end shortens series like the classifier's "auto" strides, with
# stride 4 already above 128 steps (the classifier's 256 cost the autoencoder's
# features on the longest archive series; see benchmarks/RESULTS.md).
_AUTO_MAX_STEPS_STRIDE4 = 128
# input_pool="auto": longer training sequences reach the front end as the means of
# groups of steps, at most this many groups (a fit of 17,984 steps took 337 s of CPU
# reading every step; benchmarks/RESULTS.md)
_AUTO_MAX_POOLED_STEPS = 4096
# In training, a sequence of more values than this (steps x features) rebuilds a
# random 1 / ceil(values / this) of its decoder's patches each update, at least
# 1 / input_pool of them (with the faster layout of wide
# inputs, fits of three wide archive shapes 1.4-1.9x faster; benchmarks/RESULTS.md);
# a batch of such sequences draws its noise from a bank, and max_epochs="auto"
# gives sequences of more values than this on average fewer updates (with the
# dilated maps' sums of taps, fits of the three shapes 2.2-2.3x faster again)
_PATCH_VALUES = 2**15
# With n_components=None the decoders read a linear bottleneck of this size.
_CODE_SIZE = 16
# With n_components=None the pooled features also hold, for each front-end channel,
# the share of steps above these quantiles of its training values (MiniRocket's
# biases; +1.5 points of accuracy on 13 archive problems, benchmarks/RESULTS.md)
_PPV_QUANTILES = (0.25, 0.5, 0.75)
# ... and so do the first block's kernels read at stride 1 and dilations spaced
# by sqrt(2), 1, 2, 3, 4, 6, 8, 11, 16, ... (up to the power of 2 whose kernel
# spans the median training length, at most 2 ** this), on the input (the kernels
# less their mean over the taps) and on its first differences (MiniRocket's
# dilations and zero-sum kernels, MultiRocket's differences; benchmarks/RESULTS.md)
_PPV_MAX_DILATION_EXPONENT = 8
# Models fitted with n_components set before the principal components (their
# decoders read an n_components-value code, whose feature loss also predicted the
# dilated kernels' shares at this many random steps) keep training that way
_FEATURE_LOSS_STEPS = 256
# The principal components of n_components=k are fitted on at most this many
# training sequences (every k-th): the eigendecomposition of their Gram matrix then
# takes at most about 3 s of CPU on one thread (26 s at 4,096)
_PRINCIPAL_ROWS = 2048
# score_samples weighs the error by the novelty of the shares: their distance to
# the affine span of at most this many + 1 training sequences' (every k-th of
# more), whose axes the model keeps (a K x S float32 buffer, K the rows less
# one: 6.9 MB at the most)
_SHARE_AXES = 256
# rows of shares measured at a time where there can be many (the detector's)
_SHARE_CHUNK = 1024
# anomaly_score="combined": the distance of a sequence's features to the training
# sequences' is the mean distance to this many nearest ones
_NEIGHBORS = 1
# the smallest ratio of an error or distance to its typical value that counts
_MIN_RATIO = 1e-3
# rows of the distance matrices computed at a time (bounds their memory)
_DISTANCE_CHUNK = 1024


class LSTMAutoencoderTransformer(
    ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseSequenceEstimator
):
    """Recurrent autoencoder that encodes each sequence as a fixed-length vector.

    The defaults are a recipe measured on time-series archive problems (see
    ``benchmarks/RESULTS.md`` and the user guide): each feature is standardised with
    the training data's mean and standard deviation; three length-aware convolution
    blocks (64 channels, kernels 7, 5, 3, strided on long series) feed a
    bidirectional LSTM encoder; its outputs' mean and maximum over the valid steps,
    next to the front end's pooled features, are the encoder's features; a linear
    bottleneck (with batch normalisation) turns them into a short code, from which
    a decoder LSTM rebuilds the sequence (in reverse order, Srivastava et al. 2015)
    together with a linear shape path (the code's coefficients of cosines over
    relative time); in training, a linear read-out of the code also predicts the
    pooled features, so that the code summarises them. Training: AdamW with a
    one-cycle learning rate over a budget of 1000 optimizer updates
    (``max_epochs="auto"``; fewer, at least 500, for sequences of more than
    32,768 values), so that small data sets train as long as large ones.

    ``transform`` gives the encodings for any downstream scikit-learn model: by
    default (``n_components=None``) the encoder's pooled features and, for every
    front-end channel, the share of steps above three quantiles (25%, 50%, 75%) of
    its training values; the same shares of the first block's learnt kernels read
    at stride 1 and dilations 1, 2, 3, 4, 6, 8, 11, ... (powers of sqrt(2), up to
    the sequences' length), on the series (the kernels less their mean, so that
    they see shape and not level) and on its first differences: a strong input
    for a linear model. With
    ``n_components=k``, the same model's k leading principal components of those
    features (each standardised over the training sequences), whitened.
    ``inverse_transform`` decodes encodings back into sequences, and
    ``score_samples`` (negative mean absolute reconstruction or forecast error,
    weighed by how far the encoder's features lie outside the span of the
    training sequences'; with ``anomaly_score="combined"`` also the distance of
    the encoder's features to the nearest training sequence's) is an anomaly
    score. Every output is in the input's units.

    The decoders learn to unroll the code:

    - ``objective="reconstruct"``: rebuild the input sequence (by default in reverse
      order, which makes the first decoded step depend on the last encoded one);
    - ``objective="predict"``: the encoder reads the first part of each training
      sequence and a decoder forecasts its last ``n_future`` steps;
    - ``objective="composite"``: both decoders on one encoder.

    The classic LSTM autoencoder (an LSTM reads the raw input, its final state is
    the code) is ``conv_channels=None, pooling="last", bidirectional=False,
    code_norm="none", scaling="none", shape_basis=0, feature_loss=0,
    input_noise=0``.

    Parameters
    ----------
    %(parameters)s

    Attributes
    ----------
    n_features_in_ : int
        Features per timestep seen in fit.
    n_components_ : int
        Size of the encodings ``transform`` returns (with ``n_components=None``, the
        number of pooled encoder features and quantile shares: with the default
        sizes ``1152 + 384 * len(ppv_dilations_)``, e.g. 4224 for series of 100
        to 190 steps).
    conv_strides_ : tuple of int
        The front end's strides (resolved from "auto"; empty without a front end).
    input_pool_ : int
        The steps the front end averages into one (``input_pool`` resolved from
        "auto"; 1 without a front end).
    ppv_dilations_ : tuple of int
        The dilations at which the default features read the first block's
        kernels: powers of sqrt(2), rounded (1, 2, 3, 4, 6, 8, 11, 16, ...), up
        to the power of 2 whose kernel spans the median training length, at most
        256 (16 dilations); empty without a front end.
    n_timesteps_ : int
        Length of the longest (observed part of a) training sequence; the length
        ``inverse_transform`` decodes to.
    n_future_ : int or None
        Longest forecast horizon seen in fit ("predict"/"composite").
    net_ : SequenceNet
        The trained skorch net (``net_.module_`` is the torch module).
    history_ : skorch History
        Per-epoch ``train_loss`` (``valid_loss`` with early stopping), ``grad_norm``,
        ``dur``.
    n_epochs_ : int
    diverged_ : bool
        True if training stopped on a non-finite loss or gradient; a
        ``DivergenceWarning`` then said so and the last finite weights were kept.
    anomaly_reference_ : dict or None
        With ``anomaly_score="combined"``, what :meth:`score_samples` compares a
        sequence with, from the sequences of the last ``fit`` (or
        ``partial_fit`` call): ``features`` (n_train, P), their standardised
        pooled encoder features, ``mean`` and ``scale`` (P,), the
        standardisation, ``error`` the training sequences' median error and
        ``distance`` their median distance to their nearest other training
        sequence. None with ``anomaly_score="reconstruction"``.

    Examples
    --------
    >>> import numpy as np
    >>> from sksequence import LSTMAutoencoderTransformer
    >>> X = np.sin(np.linspace(0, 6, 20))[None, :, None] * np.arange(1, 9)[:, None, None]
    >>> ae = LSTMAutoencoderTransformer(n_components=4, max_epochs=5, random_state=0)
    >>> ae.fit_transform(X).shape
    (8, 4)
    >>> ae.inverse_transform(ae.transform(X)).shape
    (8, 20, 1)
    """

    _own_params = {
        "n_components": Param(
            None,
            [Interval(Integral, 1, None, closed="left"), None],
            "int or None, default={default}",
            """
            What ``transform`` returns. None: the encoder's pooled features (the
            recurrent outputs' pooling, and with a front end and ``conv_skip`` its
            pooled features) and, with the front end, each of its channels' share
            of steps above the 25%, 50% and 75% quantiles of its values over the
            training steps (thresholds set at the end of each fit, from the
            sequences of that call), a rich input
            for a downstream model, while the decoders read a 16-value bottleneck
            code of the pooled features. An int k: the same model, trained in the
            same way, and ``transform`` returns the k leading principal components
            of those features (each feature standardised with its mean and
            standard deviation over the training sequences; each component
            scaled to unit variance over them), fitted at the end of each fit
            from the sequences of that call (at most 2,048 of them, every k-th
            beyond). Components beyond the number of
            training sequences (the features' rank) are 0. ``inverse_transform``
            maps components back to features and decodes them.""",
        ),
        "objective": Param(
            "reconstruct",
            [StrOptions({"reconstruct", "predict", "composite"})],
            '{{"reconstruct", "predict", "composite"}}, default={default}',
        ),
        "reverse_target": Param(
            True,
            ["boolean"],
            "bool, default={default}",
            "Reconstruct in reverse order during training (outputs are always "
            "returned in the original order).",
        ),
        "conditional": Param(
            False,
            ["boolean"],
            "bool, default={default}",
            """
            False: unconditioned decoders that receive the code at every step.
            True: decoders fed their previous output (the true previous value in
            training, i.e. teacher forcing; their own prediction at inference).""",
        ),
        "n_future": Param(
            None,
            [Interval(Integral, 1, None, closed="left"), None],
            "int or None, default={default}",
            "Steps of each training sequence that the 'predict'/'composite' "
            "objectives forecast. None: the second half of each sequence.",
        ),
        "scaling": Param(
            "standard",
            [StrOptions({"standard", "none"})],
            '{{"standard", "none"}}, default={default}',
            """
            Input standardisation inside the model: "standard" subtracts each
            feature's mean and divides by its standard deviation over the valid
            training timesteps (fitted by ``fit``, kept by ``partial_fit`` and
            warm starts); the loss is computed in these standardised units, and
            every output (``inverse_transform``, ``forecast``, ``score_samples``)
            is in the input's units. "none": the model reads the input as it
            is.""",
        ),
        "conv_channels": Param(
            "auto",
            [StrOptions({"auto"}), tuple, list, None],
            '"auto", tuple of int or None, default={default}',
            """
            Channels of each convolution block before the recurrent encoder (the
            front end of :class:`~sksequence.SequenceClassifier`); None (or ``()``)
            reads the input directly. "auto": ``(64, 64, 64)``.""",
        ),
        "conv_kernel_sizes": SequenceClassifier._own_params["conv_kernel_sizes"],
        "conv_strides": Param(
            "auto",
            [StrOptions({"auto"}), tuple, list],
            '"auto" or tuple of int, default={default}',
            """
            Stride of each block; the decoders then emit one patch of as many
            timesteps as the strides' product per step. "auto": shorten the
            longest training sequence towards 64 steps with stride 2 in the
            blocks from the last one backwards; if that leaves more than 128
            steps, stride 4 from the first block on (where the kernel is at least
            4 wide) until at most 128 remain.""",
        ),
        "input_pool": Param(
            "auto",
            [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
            '"auto" or int, default={default}',
            """
            The front end reads the mean of every ``input_pool`` consecutive
            steps (each sequence's own steps only); the decoders still rebuild
            every step. "auto": 1 (every step) for training sequences of up to
            4096 steps, and for longer ones the smallest number that leaves at
            most 4096 (e.g. 5 for 17,984 steps: a fit of the defaults then took
            55 s of CPU on one core instead of 337 s; see the user guide).
            Ignored without a front end. The strides ("auto") and the
            dilations of the default features are then chosen for the pooled
            length. In training each update then compares a random ``1 /
            input_pool`` of the decoder's patches with the input (series of
            unequal lengths, each a sample of its own), so that the
            reconstruction costs what a series of at most 4096 steps costs;
            the expected loss is still the error of every step. Wide series
            are sampled the same way whatever ``input_pool``: a training
            sequence of more than 32,768 values (steps times features)
            rebuilds a random ``1 / ceil(values / 32768)`` of its patches
            each update.""",
        ),
        "conv_skip": Param(
            True,
            ["boolean"],
            "bool, default={default}",
            """
            Also pool the front end's features into the encoder's features: the
            mean and maximum over the valid steps of the last block's features,
            and the share of valid steps at which each channel of every block is
            positive (MiniRocket's "proportion of positive values", Dempster et
            al. 2021). Ignored without a front end.""",
        ),
        "pooling": Param(
            "mean_max",
            [StrOptions(set(POOLINGS))],
            '{{"mean_max", "last", "mean", "max", "last_max", "attention"}}, '
            "default={default}",
            """
            How the recurrent encoder's per-step outputs become one vector: the
            mean and maximum over each sequence's valid steps ("mean_max"), the
            final recurrent state ("last"; both directions when bidirectional),
            the mean, the maximum, the final state and the maximum, or attention
            pooling (a learned weighted mean).""",
        ),
        "code_norm": Param(
            "batch",
            [StrOptions({"batch", "layer", "none"})],
            '{{"batch", "layer", "none"}}, default={default}',
            """
            Normalisation of the bottleneck code, without learned scale or shift:
            per component over the training batch, with running statistics at
            inference ("batch"), or per sequence over the components ("layer").
            It keeps the code well scaled, which the decoders need to tell
            sequences apart.""",
        ),
        "shape_basis": Param(
            32,
            [Interval(Integral, 0, None, closed="left")],
            "int, default={default}",
            """
            A linear path next to the reconstruction decoder: the code's
            coefficients of this many cosines over each sequence's relative time
            (a DCT-II basis, from a linear layer that starts at zero) are added to
            the decoder LSTM's output. The code then describes the sequence's
            overall shape directly, as PCA's components would, which makes it a
            better input for a downstream model on aligned series; 0: no shape
            path.""",
        ),
        "feature_loss": Param(
            3.0,
            [Interval(Real, 0, None, closed="left")],
            "float, default={default}",
            """
            Weight of an auxiliary training loss on the bottleneck code: a linear
            read-out of the code predicts the encoder's pooled features
            (standardised over the batch, as constants), so that the code also
            summarises the features a linear model reads best. It is added to
            the reconstruction loss (``history_[:, "train_loss"]`` includes it;
            the validation loss and ``score_samples`` do not). 0: the code is
            trained by the reconstruction alone.""",
        ),
        "input_noise": Param(
            0.1,
            [Interval(Real, 0, None, closed="left")],
            "float, default={default}",
            """
            Denoising: in training, Gaussian noise of this standard deviation
            is added to the encoder's scaled input (with the default
            ``scaling="standard"``, a share of each feature's training standard
            deviation), while the target stays the clean sequence. The model
            then learns to map what is near the training sequences back onto
            them, which sharpens ``score_samples`` as an anomaly score (0.1
            raised the mean AUROC of nine archive problems from 0.81 to 0.83
            and left the default features level; see the user guide).
            Inference (``transform``, ``score_samples``) reads the clean
            input; ``truncate_bptt`` trains on it too. 0: no noise.""",
        ),
        "mask_fraction": Param(
            0.0,
            [Interval(Real, 0, 1, closed="left")],
            "float, default={default}",
            """
            Masked reconstruction: in training, this share of the encoder's
            scaled input blocks (each ``max(1, n_timesteps // 32)`` steps) is
            set to zero (with the default ``scaling="standard"``, the
            feature's training mean), and the model rebuilds the whole clean
            sequence. Like ``input_noise`` it can sharpen the reconstruction
            error as an anomaly score; inference reads the whole input, and
            ``truncate_bptt`` trains on it too. 0: no masking.""",
        ),
        "anomaly_score": Param(
            "reconstruction",
            [StrOptions({"reconstruction", "combined"})],
            '{{"reconstruction", "combined"}}, default={default}',
            """
            What :meth:`score_samples` measures. "reconstruction": the negative
            mean absolute reconstruction (or forecast) error of each sequence, in
            the input's units, decoded from the sequence's features projected
            onto the span of the training sequences', times 1 + how far the
            features lie outside that span (see :meth:`score_samples`).
            "combined": that error and how far the sequence's
            pooled encoder features (without the quantile shares) are from the
            training sequences' (standardised with the training features' mean
            and standard deviation, distance to the nearest one), each as the
            log of its ratio to its typical value on
            the training sequences (median error; median distance of a training
            sequence to its nearest other one), summed and negated. It ranks
            anomalies better on most archive problems (see the user guide); fit
            then keeps the training sequences' features (``anomaly_reference_``)
            and computes their pairwise distances.""",
        ),
        "lr_schedule": Param(
            "onecycle",
            [StrOptions({"onecycle", "cosine", "constant"})],
            '{{"onecycle", "cosine", "constant"}}, default={default}',
            """
            Learning rate over training: one-cycle (warm-up to ``lr``, then annealed
            towards zero at the end of the budget), cosine annealing from ``lr``,
            or constant (only then does a training-loss plateau stop the fit, and
            never before 500 optimizer updates).""",
        ),
    }
    _positional_first = True
    _supports_truncate_bptt = True
    _module_class = SequenceAutoencoder
    _fitted_attributes = (
        "n_components_",
        "n_timesteps_",
        "n_future_",
        "conv_strides_",
        "input_pool_",
        "ppv_dilations_",
        "anomaly_reference_",
    )
    # An autoencoder first sits on a plateau (it outputs the mean): the plateau rule
    # may end a fit only after this many optimizer updates.
    _min_updates = 500
    # the budget of max_epochs="auto", in optimizer updates
    _auto_updates = 1000
    _shared_defaults = {
        "bidirectional": True,
        "max_epochs": "auto",
        "batch_size": 16,
        "lr": 3e-3,
        "optimizer": "adamw",
        "weight_decay": 1e-2,
        "n_iter_no_change": 20,
    }
    _shared_docs = {
        "max_epochs": """
            Passes over the training data; the learning-rate schedule ends here.
            "auto": the epochs that give 1000 optimizer updates for the data at
            hand (at least one epoch); for sequences of more than 32,768 values
            (steps read times features) on average, ``1000 * 32768 / values``
            updates, at least 500. With ``early_stopping=True`` (or ``X_val``)
            training stops earlier when the validation loss has not improved by
            ``tol`` (relative) for ``n_iter_no_change`` epochs; without it, only
            ``lr_schedule="constant"`` stops on a training-loss plateau.""",
        "lr": "Peak learning rate (of the one-cycle schedule by default).",
    }

    # -- fitting --------------------------------------------------------------------
    def _module_inputs(self, batch) -> dict:
        """Module inputs: the whole sequence, or observed part + future to forecast."""
        if self.objective == "reconstruct":
            return batch.inputs()
        return split_future(batch, self.n_future, estimator=self)

    def fit(self, X, y=None, sample_weight=None, *, X_val=None):
        """Fit the autoencoder.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features)
            Or (n_samples, n_timesteps) for univariate series, or a list of arrays of
            shape (n_timesteps_i, n_features) of different lengths.
        y : None
            Ignored.
        sample_weight : array-like of shape (n_samples,), default=None
            Weight of each sequence in the loss (None: equal weights).
        X_val : array-like, default=None
            Validation sequences (same conventions as ``X``): their loss is
            recorded every epoch (``history_[:, "valid_loss"]``,
            ``validation_loss_curve_``), and with ``early_stopping=True`` it is
            monitored instead of a held-out fraction of ``X``.

        Returns
        -------
        self
        """
        return self._fit(X, sample_weight=sample_weight, X_val=X_val)

    def partial_fit(self, X, y=None, sample_weight=None):
        """Train one epoch on ``X``, starting from the current weights.

        The first call creates the model (from ``X``'s number of features); later
        calls need the same number of features. Each call is one pass over ``X`` in
        shuffled mini-batches at the constant learning rate ``lr``, with no
        validation split or early stopping; the optimizer's state carries over from
        call to call. Use it to train on data that does not fit in memory at once,
        or to go on training after ``fit`` (e.g. after a ``DivergenceWarning``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features)
            Or (n_samples, n_timesteps) for univariate series, or a list of arrays of
            shape (n_timesteps_i, n_features) of different lengths.
        y : None
            Ignored.
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self
        """
        return self._fit(X, incremental=True, sample_weight=sample_weight)

    def fit_transform(self, X, y=None, sample_weight=None, *, X_val=None):
        """Fit the autoencoder, then encode ``X``: the same as ``fit(X,
        ...).transform(X)``. With the default ``n_components=None`` and at
        most 257 training sequences, the fit has already encoded every one of
        them (the span of their shares, which ``score_samples`` reads) and
        those encodings are returned instead of being computed again.

        Parameters
        ----------
        X, y, sample_weight, X_val
            As for :meth:`fit`.

        Returns
        -------
        Z : ndarray of shape (n_samples, n_components_), float32
        """
        self._keep_fit_encodings = True
        try:
            self.fit(X, y, sample_weight, X_val=X_val)
        finally:
            del self._keep_fit_encodings
        Z = self.__dict__.pop("_fit_encodings", None)
        return self.transform(X) if Z is None else Z

    def _input_pool(self, n_timesteps: int) -> int:
        """``input_pool`` ("auto" resolved for ``n_timesteps``; 1 without a front
        end)."""
        if not self._architecture(0)["conv_channels"]:
            return 1
        if self.input_pool == "auto":
            return max(1, -(-n_timesteps // _AUTO_MAX_POOLED_STEPS))
        return int(self.input_pool)

    def _budget(self, plan) -> int:
        """``max_epochs="auto"``'s optimizer updates: ``_auto_updates``; for a
        front end reading sequences of more than ``patch_values`` values on
        average (steps as it reads them, times features), that many times
        fewer, at least half (their updates cost the most; half of them cost
        no accuracy on widened archive problems, benchmarks/RESULTS.md). A
        model fitted before ``patch_values`` keeps the whole budget."""
        kwargs = plan.module_kwargs
        values = kwargs.get("patch_values", 0)
        if not (values and kwargs.get("conv_channels")):
            return self._auto_updates
        x, lengths = plan.inputs["x"], plan.inputs.get("lengths")
        steps = x.shape[1] if lengths is None else float(np.mean(lengths))
        mean_values = math.ceil(steps / kwargs["input_pool"]) * x.shape[2]
        share = min(1.0, max(0.5, values / mean_values))
        return math.ceil(self._auto_updates * share)

    def _architecture(self, n_timesteps: int) -> dict:
        """The front end's module arguments ("auto" resolved for ``n_timesteps``
        steps as the front end reads them)."""
        channels, kernels, strides = _front_end(
            self, n_timesteps, _AUTO_MAX_STEPS_STRIDE4
        )
        return dict(
            conv_channels=channels, conv_kernel_sizes=kernels, conv_strides=strides
        )

    def _ppv_dilations(self, lengths, n_timesteps: int) -> tuple:
        """The dilations of the default features' shares (see
        ``ppv_dilations_``), for training sequences of ``lengths`` (None: all
        ``n_timesteps`` long)."""
        kernels = self._architecture(0)["conv_kernel_sizes"]
        if not kernels or not self.conv_skip:
            return ()
        steps = n_timesteps if lengths is None else float(np.median(lengths))
        steps = math.ceil(steps / self._input_pool(n_timesteps))  # as the front reads
        top = math.floor(math.log2(max(1.0, (steps - 1) / max(1, kernels[0] - 1))))
        top = min(top, _PPV_MAX_DILATION_EXPONENT)
        return tuple(sorted({round(2 ** (i / 2)) for i in range(2 * top + 1)}))

    def _module_kwargs(
        self,
        n_features: int,
        conv_strides: tuple,
        ppv_dilations: tuple = (),
        legacy_code: bool = False,
        feature_span: bool = True,
        input_pool: int = 1,
        span_novelty: bool = True,
        ppv_zero_mean: bool = True,
        share_axes: int = 0,
        patch_values: int = _PATCH_VALUES,
    ) -> dict:
        """The module's arguments; ``legacy_code``: those of a model fitted with
        ``n_components`` set before the principal components (its decoders read
        the ``n_components``-value code ``transform`` returns); ``feature_span``
        False: those of a model fitted before ``score_samples`` read the code of
        the training features' span; ``span_novelty`` False: those of one fitted
        before the score weighed the error by the features' novelty;
        ``ppv_zero_mean`` False: those of one fitted before the dilated kernels
        lost their mean; ``share_axes``: how many axes of the training shares'
        span the model can keep for the score's share novelty (0: none, as in a
        model fitted before it); ``patch_values``: above how many values a
        training sequence rebuilds a sample of its patches (0: every patch, as
        a model fitted before it)."""
        arch = self._architecture(0)
        if arch["conv_channels"]:
            arch["conv_strides"] = tuple(conv_strides)
        front = bool(arch["conv_channels"])
        if self.truncate_bptt and (
            front
            or self.pooling != "last"
            or self.bidirectional
            or self.shape_basis
            or self.feature_loss
        ):
            raise ValueError(
                "truncate_bptt needs the classic model, whose encoder reads the "
                "input directly, in one direction, and encodes it by its final "
                "state, and whose code only the decoder LSTM reads: set "
                "conv_channels=None, pooling='last', bidirectional=False, "
                "shape_basis=0 and feature_loss=0 (got "
                f"conv_channels={self.conv_channels!r}, pooling={self.pooling!r}, "
                f"bidirectional={self.bidirectional!r}, "
                f"shape_basis={self.shape_basis!r}, "
                f"feature_loss={self.feature_loss!r})."
            )
        return dict(
            input_size=n_features,
            hidden_size=self.hidden_size,
            num_layers=self.num_layers,
            cell=self.cell,
            bidirectional=self.bidirectional,
            dropout=self.dropout,
            n_components=self.n_components if legacy_code else _CODE_SIZE,
            encoding=(
                "code"
                if legacy_code
                else ("pooled" if self.n_components is None else "principal")
            ),
            principal_components=0 if legacy_code else self.n_components or 0,
            objective=self.objective,
            conditional=self.conditional,
            reverse_target=self.reverse_target,
            pooling=self.pooling,
            conv_skip=bool(self.conv_skip and front),
            conv_ppv=bool(self.conv_skip and front),
            scaling=self.scaling,
            code_norm=self.code_norm,
            shape_basis=self.shape_basis,
            feature_loss=self.feature_loss,
            input_noise=self.input_noise,
            mask_fraction=self.mask_fraction,
            ppv_quantiles=_PPV_QUANTILES,
            ppv_dilations=ppv_dilations,
            ppv_differences=True,
            ppv_zero_mean=ppv_zero_mean,
            feature_loss_steps=_FEATURE_LOSS_STEPS if legacy_code else 0,
            feature_span=feature_span,
            input_pool=input_pool,
            span_novelty=span_novelty,
            share_axes=share_axes,
            patch_values=patch_values,
            **arch,
        )

    def _plan(self, data, *, continuing, incremental, seed):
        batch = data.batch
        inputs = self._module_inputs(batch)
        inputs["sample_weight"] = data.sample_weight
        valid_inputs = None
        if data.valid is not None:
            valid_inputs = self._module_inputs(data.valid)
        n_timesteps = inputs["x"].shape[1]
        n_future = inputs["future"].shape[1] if "future" in inputs else None
        buffers = {}
        if continuing:  # the longest seen over every fit (partial_fit chunks too)
            n_timesteps = max(n_timesteps, self.n_timesteps_)
            if n_future is not None and self.n_future_ is not None:
                n_future = max(n_future, self.n_future_)
            strides = self.conv_strides_
            # (a model saved before the dilated shares, or the pooled input, has none)
            dilations = getattr(self, "ppv_dilations_", ())
            pool = getattr(self, "input_pool_", 1)
            fitted = {}
            # (a code model fitted before the principal components keeps its
            # code; one fitted before the features' span keeps scoring without)
            legacy = self._module_spec[1].get("encoding") == "code"
            span = self._module_spec[1].get("feature_span", False)
            novelty = self._module_spec[1].get("span_novelty", False)
            zero_mean = self._module_spec[1].get("ppv_zero_mean", False)
            share_axes = self._module_spec[1].get("share_axes", 0)
            patch_values = self._module_spec[1].get("patch_values", 0)
        else:
            legacy, span, novelty, zero_mean = False, True, True, True
            # the affine span of at most _SHARE_AXES + 1 training sequences
            share_axes = max(0, min(len(inputs["x"]) - 1, _SHARE_AXES))
            patch_values = _PATCH_VALUES
            pool = self._input_pool(batch.n_timesteps)
            strides = self._architecture(-(-batch.n_timesteps // pool))["conv_strides"]
            fitted = batch.input_attributes()
            fitted["conv_strides_"] = strides
            fitted["input_pool_"] = pool
            dilations = self._ppv_dilations(inputs.get("lengths"), n_timesteps)
            fitted["ppv_dilations_"] = dilations
            if self.scaling == "standard":
                mean, scale = batch.feature_statistics()
                buffers = {"input_mean": mean, "input_scale": scale}
        fitted.update(n_timesteps_=n_timesteps, n_future_=n_future)
        module_kwargs = self._module_kwargs(
            batch.n_features,
            strides,
            dilations,
            legacy_code=legacy,
            feature_span=span,
            input_pool=pool,
            span_novelty=novelty,
            ppv_zero_mean=zero_mean,
            share_axes=share_axes,
            patch_values=patch_values,
        )
        return self._make_plan(
            SequenceAutoencoder,
            module_kwargs,
            inputs,
            fitted,
            seed=seed,
            continuing=continuing,
            incremental=incremental,
            valid_inputs=valid_inputs,
            schedule=None if self.lr_schedule == "constant" else self.lr_schedule,
            buffers=buffers,
        )

    def _commit(self, plan, net, outcome) -> None:
        super()._commit(plan, net, outcome)
        module = net.module_
        module.__dict__.pop("_noise_bank", None)  # (training's scratch memory)
        arrays = {k: plan.inputs.get(k) for k in ("x", "lengths")}
        if module.ppv_quantiles:  # the thresholds of the pooled features' shares
            t = self._tensors(arrays)
            module.eval()
            with torch.inference_mode(), self._threads(module):
                module.fit_ppv_thresholds(t["x"], t.get("lengths"))
        principal = module.encoding == "principal"
        # every training sequence's pooled encoding with its shares, where one
        # step below computes it for every sequence
        every_row = None
        if principal or module.feature_span:
            # after the thresholds (the principal components read the shares;
            # the span, the bottleneck's input alone); of many sequences every k-th
            every = -(-len(arrays["x"]) // _PRINCIPAL_ROWS)
            rows = {k: v[::every] for k, v in arrays.items() if v is not None}
            f = self._batched(
                lambda m, **b: m.pooled_encoding(**b, shares=principal),
                rows,
                rows["x"].shape[1],
            )
            every_row = f if principal and every == 1 else None
            f = torch.as_tensor(f)
            p = module.pooled_size
            with torch.inference_mode():
                if principal:
                    module.fit_principal(f.to(module.principal_mean))
                if module.feature_span:  # the bottleneck's input: the first P
                    module.fit_feature_span(f[:, :p].to(module.span_weight))
        if module.share_axes:  # after the thresholds too; of every k-th sequence,
            # as many as the basis holds
            every = -(-len(arrays["x"]) // (module.share_axes + 1))
            if every == 1 and every_row is not None:
                s = every_row  # (the principal components' rows: the same)
            else:
                rows = {k: v[::every] for k, v in arrays.items() if v is not None}
                s = self._batched(
                    lambda m, **b: m.pooled_encoding(**b), rows, rows["x"].shape[1]
                )
                every_row = s if every == 1 else None
            s = torch.as_tensor(s)[:, module.pooled_size :]  # (rows, S)
            with torch.inference_mode():
                module.fit_share_novelty(s.to(module.share_basis))
        if getattr(self, "_keep_fit_encodings", False) and module.encoding == "pooled":
            # (fit_transform returns them: what transform would compute again)
            self._fit_encodings = every_row
        self.n_components_ = module.encoding_size
        self.anomaly_reference_ = None
        if self.anomaly_score == "combined":
            arrays = {k: v for k, v in plan.inputs.items() if k != "sample_weight"}
            self.anomaly_reference_ = self._anomaly_reference(arrays)

    # -- anomaly scores -------------------------------------------------------------
    def _errors(self, arrays: dict, n_timesteps: int, features: bool = False):
        """Each sequence's mean absolute reconstruction (or forecast) error in the
        input's units, times 1 + its features' novelty and times 1 + its
        shares' novelty (N,), float64; with ``features`` also its pooled
        encoder features, then its shares where the model measures their
        novelty (N, P [+ S]), float32."""

        def err(module, **b):
            d = {k: v.double() if v.is_floating_point() else v for k, v in b.items()}
            total = 0.0
            lengths = b.get("lengths")
            # (a model fitted before the share novelty has no share_axes; one
            # whose training shares had no spread has no typical: nothing to do)
            shares = bool(getattr(module, "share_axes", 0)) and bool(
                module.share_typical > 0
            )
            # the encoder runs once; both views decode from its features
            fs = module.pooled_encoding(b["x"], lengths, shares=shares)
            f = fs[:, : module.pooled_size]  # (N, P)
            # the mean over the codes of the training features' span in its two
            # metrics (a model fitted before them: the plain code)
            views = (0, 1) if module.feature_span else (None,)
            for view in views:
                # in float64: float32 errors overflow for |X| > ~1e38
                out = module(**b, span=view, pooled_features=f)
                out = {k: None if v is None else v.double() for k, v in out.items()}
                if out["reconstruction"] is not None:
                    total = total + masked_mae(
                        out["reconstruction"], d["x"], d.get("lengths"), "none"
                    ) / len(views)
                if out["forecast"] is not None:
                    total = total + masked_mae(
                        out["forecast"], d["future"], d.get("future_lengths"), "none"
                    ) / len(views)
            # weighed by how far the features lie outside the training span
            # (0 inside it; a model fitted before the novelty has none)
            if getattr(module, "span_novelty", False):
                total = total * (1 + module.feature_novelty(f))
            if shares:  # and by how far its shares lie outside the training ones'
                total = total * (1 + module.share_novelty(fs[:, module.pooled_size :]))
            return (total, fs) if features else total

        return self._batched(err, arrays, n_timesteps)

    def _anomaly_reference(self, arrays: dict) -> dict:
        """What anomaly_score="combined" compares with (see
        ``anomaly_reference_``), from the training sequences ``arrays``."""
        errors, feats = self._errors(arrays, arrays["x"].shape[1], features=True)
        feats = feats[:, : self.net_.module_.pooled_size].astype(np.float64)
        mean = feats.mean(axis=0)
        scale = feats.std(axis=0)
        scale = np.where(scale > 1e-6, scale, 1.0)
        z = (feats - mean) / scale  # (n, P)
        if len(z) > 1:
            distance = float(np.median(_nearest_distance(z, z, exclude_self=True)))
        else:  # one training sequence: no typical distance to compare with
            distance = 1.0
        return {
            "features": z.astype(np.float32),
            "mean": mean,
            "scale": scale,
            "error": float(np.median(errors)),
            "distance": distance,
        }

    @property
    def _n_features_out(self):
        return self.n_components_

    def transform(self, X):
        """Encode each sequence as a fixed-length vector.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features) or list of arrays
            Sequences of any length (not necessarily the training length).

        Returns
        -------
        Z : ndarray of shape (n_samples, n_components_), float32
        """
        batch = self._inputs(X)
        return self._batched(
            lambda m, **b: m.encode(**b), batch.inputs(), batch.n_timesteps
        )

    def inverse_transform(self, Z, n_timesteps=None):
        """Decode encodings back into sequences.

        Parameters
        ----------
        Z : array-like of shape (n_samples, n_components_)
        n_timesteps : int or array-like of shape (n_samples,), default=None
            Length of the decoded sequences; None uses ``n_timesteps_``. One length
            per row of ``Z`` (e.g. ``[len(s) for s in X]`` for the ragged ``X``
            that was encoded) decodes each sequence at its own length and returns
            a list. A decode that would need more than 4 GiB of memory is refused
            with a ValueError.

        Returns
        -------
        X : ndarray of shape (n_samples, n_timesteps, n_features_in_), float32, or \
list of ndarray of shape (n_timesteps_i, n_features_in_)
            A list when ``n_timesteps`` gives one length per row.
        """
        check_is_fitted(self, "net_")
        if self.objective == "predict":
            raise ValueError(
                "inverse_transform needs a reconstruction decoder, which "
                "objective='predict' does not train. Use objective='reconstruct' or "
                "'composite', or forecast() to decode the continuation."
            )
        Zc = check_encodings(Z, self.n_components_, estimator=self)
        steps, lengths = check_decode_lengths(
            n_timesteps, len(Zc), default=self.n_timesteps_
        )
        check_decode_memory(
            len(Zc),
            steps,
            n_features=self.n_features_in_,
            batch_rows=min(len(Zc), self._inference_batch_size(steps)),
            step_width=self.n_components_ + 2 * self.hidden_size * self.num_layers,
            estimator=self,
        )
        if lengths is None:
            return self._batched(lambda m, z: m.reconstruct(z, steps), {"z": Zc}, steps)
        # decoding is causal: the first T_i of ``steps`` decoded steps are the
        # sequence decoded at length T_i (reversed within T_i with reverse_target)
        out = self._batched(
            lambda m, z, lengths: m.reconstruct(z, steps, lengths=lengths),
            {"z": Zc, "lengths": lengths},
            steps,
        )
        return [out[i, :n] for i, n in enumerate(lengths)]

    def forecast(self, X, n_steps=None):
        """Forecast the continuation of each sequence ("predict"/"composite" only).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features) or list of arrays
            The observed sequences.
        n_steps : int, default=None
            Steps to forecast; None uses ``n_future_``.

        Returns
        -------
        ndarray of shape (n_samples, n_steps, n_features_in_)
        """
        check_is_fitted(self, "net_")
        if self.objective == "reconstruct":
            raise ValueError(
                "forecast needs a prediction decoder: fit with objective='predict' or "
                "'composite'."
            )
        batch = self._inputs(X)
        steps = (
            self.n_future_
            if n_steps is None
            else check_positive_int(n_steps, "n_steps")
        )
        return self._batched(
            lambda m, **b: m.forecast(m.encode(**b), steps),
            batch.inputs(),
            batch.n_timesteps,
        )

    def score_samples(self, X):
        """Anomaly score of each sequence: higher means more normal.

        With ``anomaly_score="reconstruction"`` (default), the negative of
        ``error * (1 + novelty) * (1 + share_novelty)``:

        - ``error``: the mean absolute error, in the input's units, over each
          sequence's valid steps and features, of the objective the model was
          trained on (sum of both for "composite"), with the decoders feeding
          back their own outputs. The decoders read the code of the sequence's
          pooled encoder features projected onto the affine span of the
          training sequences' (fitted at the end of ``fit`` on at most 2,048
          training sequences), and the error is the mean of two such
          reconstructions: with each feature standardised over the training
          sequences, and in the features' own units. A training sequence is
          rebuilt as by ``inverse_transform(transform(X))``, while what an
          unusual sequence has outside that span does not reach the decoders,
          so its error grows.
        - ``novelty``: ``d / d_typical``, ``d`` the Euclidean distance of the
          sequence's standardised pooled features to that span and
          ``d_typical`` the median over the training sequences of each one's
          distance to the span of the others. A training sequence scores its
          plain reconstruction error (d = 0); a sequence as far from the span
          as a typical unseen normal one about twice that; one the encoder
          tells apart from every training sequence far more, even where the
          decoders rebuild it well.
        - ``share_novelty``: the same for the sequence's shares (the values of
          the default ``transform`` after the pooled features: the share of
          steps where each kernel's output is above each of its thresholds),
          each standardised over the training sequences, and the span of at
          most 257 training sequences' shares (of more, every k-th: the model
          keeps the span's axes, at most 256 x the number of shares). Scoring
          computes the shares too, which costs about what :meth:`transform`
          does.

        With more varied training sequences than pooled features (576 with the
        default architecture) the span is usually every direction: the novelty
        is then 0.

        With ``anomaly_score="combined"``, ``-(log(error * (1 + novelty) * (1 +
        share_novelty) / anomaly_reference_["error"])
        + log(distance / anomaly_reference_["distance"]))``, where ``distance``
        is the Euclidean distance of the sequence's standardised pooled encoder
        features to the nearest training sequence's (each ratio counts as at
        least 0.001, so that a training sequence's own score is finite).

        Returns
        -------
        scores : ndarray of shape (n_samples,)
        """
        batch = self._inputs(X)
        arrays = self._module_inputs(batch)
        ref = getattr(self, "anomaly_reference_", None)
        if self.anomaly_score == "reconstruction" or ref is None:
            if self.anomaly_score != "reconstruction":
                raise ValueError(
                    'anomaly_score="combined" needs the training sequences\' '
                    "features, which fit keeps only when anomaly_score is "
                    '"combined": fit again with anomaly_score="combined".'
                )
            return -np.asarray(
                self._errors(arrays, batch.n_timesteps), dtype=np.float64
            )
        errors, feats = self._errors(arrays, batch.n_timesteps, features=True)
        feats = feats[:, : self.net_.module_.pooled_size].astype(np.float64)
        z = (feats - ref["mean"]) / ref["scale"]
        distance = _nearest_distance(z, ref["features"].astype(np.float64))
        return -(
            _log_ratio(errors, ref["error"]) + _log_ratio(distance, ref["distance"])
        )

    def _left_out_scores(self, X, leave_out=None) -> np.ndarray:
        """:meth:`score_samples` of the training sequences ``X`` of the last fit
        as if each had been left out of the training features' span: its error
        weighed by ``1 + `` the novelty it would then have had (``module.
        training_novelty``) instead of its own, 0, and likewise for the shares'
        novelty (``module.training_share_novelty``; where the shares' span is
        that of every k-th sequence of ``X``, as ``fit`` took it, each
        sequence's distance to the span of those others). What
        an unseen normal sequence scores, for calibrating thresholds on the
        training sequences (``SlidingWindowAnomalyDetector``). With
        ``anomaly_score="combined"``, or a model fitted before the novelty,
        :meth:`score_samples` itself.
        ``leave_out`` (n, n) bool: also leave out, for sequence i, the
        sequences j where it is True (e.g. the windows that overlap window
        i)."""
        module = self.net_.module_
        if self.anomaly_score != "reconstruction" or not getattr(
            module, "span_novelty", False
        ):
            return self.score_samples(X)
        batch = self._inputs(X)
        arrays = self._module_inputs(batch)
        errors, feats = self._errors(arrays, batch.n_timesteps, features=True)
        feats = torch.as_tensor(feats, device=module.span_center.device)
        f, s = feats[:, : module.pooled_size], feats[:, module.pooled_size :]
        errors = np.asarray(errors, dtype=np.float64)
        with torch.no_grad():
            own = module.feature_novelty(f).cpu().numpy()
            left_out = module.training_novelty(f, leave_out).cpu().numpy()
            errors = errors / (1 + own) * (1 + left_out)
            if getattr(module, "share_axes", 0):
                every = -(-len(s) // (module.share_axes + 1))  # as fit took them
                # (in chunks: n x S values in float64 would be large)
                own = (
                    torch.cat([module.share_novelty(c) for c in s.split(_SHARE_CHUNK)])
                    .cpu()
                    .numpy()
                )
                left_out = module.training_share_novelty(s, leave_out, every)
                errors = errors / (1 + own) * (1 + left_out.cpu().numpy())
        return -errors

    def score(self, X, y=None):
        """Mean of :meth:`score_samples` (higher is better)."""
        return float(np.mean(self.score_samples(X)))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags


def _log_ratio(values: np.ndarray, typical: float) -> np.ndarray:
    """``log(values / typical)``, each ratio at least ``_MIN_RATIO`` (a training
    sequence itself is at distance 0)."""
    typical = max(float(typical), np.finfo(np.float64).tiny)
    return np.log(np.maximum(values / typical, _MIN_RATIO))


def _nearest_distance(a: np.ndarray, ref: np.ndarray, exclude_self: bool = False):
    """Mean Euclidean distance of each row of ``a`` (n, P) to its ``_NEIGHBORS``
    nearest rows of ``ref`` (m, P) (without the row itself when ``a`` is ``ref``),
    in chunks of rows."""
    k = min(_NEIGHBORS, len(ref) - 1 if exclude_self else len(ref))
    sq_ref = (ref**2).sum(axis=1)
    out = np.empty(len(a))
    for lo in range(0, len(a), _DISTANCE_CHUNK):
        rows = a[lo : lo + _DISTANCE_CHUNK]
        d = (rows**2).sum(axis=1)[:, None] - 2 * rows @ ref.T + sq_ref[None, :]
        d = np.sqrt(np.maximum(d, 0.0))  # (chunk, m)
        if exclude_self:
            d[np.arange(len(rows)), lo + np.arange(len(rows))] = np.inf
        out[lo : lo + len(rows)] = np.sort(d, axis=1)[:, :k].mean(axis=1)
    return out
