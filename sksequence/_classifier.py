"""SequenceClassifier: one label per sequence."""

from __future__ import annotations

import math
import warnings
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import ClassifierMixin
from sklearn.exceptions import NotFittedError
from sklearn.frozen import FrozenEstimator
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.validation import check_is_fitted
from skorch.callbacks import Callback, LRScheduler

from ._base import BaseSequenceEstimator, TrainingInterrupted
from .nn.classifier import RecurrentClassifier
from .nn.pooling import POOLINGS
from .utils.validation import (
    check_labels,
    check_partial_fit_classes,
    check_sequences,
    encode_labels,
)

__all__ = ["SequenceClassifier"]

# The recurrent layer reads at most about this many steps: longer series are
# shortened by the strided convolutional front end ("auto" strides), with stride 2
# per block. Stride 4 (which loses detail: 7 points on ACSF1, see
# benchmarks/RESULTS.md) only shortens series that stride 2 leaves longer than
# _AUTO_MAX_STEPS_STRIDE4.
_AUTO_MAX_STEPS = 64
_AUTO_MAX_STEPS_STRIDE4 = 256
_DEFAULT_CONV = (64, 64, 64)
# crop="auto" on variable-length input (window slicing; see benchmarks/RESULTS.md)
_AUTO_CROP = 0.8
# window_warp="auto" for up to _AUTO_WARP_MAX_SAMPLES training sequences, kept when
# the warped fit still classifies at least _WARP_MIN_TRAIN_ACCURACY of its
# (unwarped) training sequences (see benchmarks/RESULTS.md)
_AUTO_WARP = 0.1
_AUTO_WARP_MAX_SAMPLES = 1000
_WARP_MIN_TRAIN_ACCURACY = 0.98
# ... and stopped at _WARP_PROBE_AT of its epochs if it is then below
# _WARP_PROBE_MIN_ACCURACY (ACSF1: at most 0.77 there; the other archive problems at
# least 0.98)
_WARP_PROBE_AT = 0.6
_WARP_PROBE_MIN_ACCURACY = 0.9
_DEFAULT_KERNELS = (7, 5, 3)


def _auto_strides(
    n_timesteps: int,
    kernel_sizes,
    max_steps: int = _AUTO_MAX_STEPS,
    max_steps_stride4: int = _AUTO_MAX_STEPS_STRIDE4,
) -> tuple:
    """Strides that shorten ``n_timesteps`` to at most ``max_steps`` (if they can).

    First stride 2 in the blocks from the last one backwards (the first block keeps
    the full resolution as long as possible); if the sequence is then still longer
    than ``max_steps_stride4``, stride 4 from the first block on, where the kernel
    is at least 4 wide (so that no input step is skipped), until it is not.
    """
    strides = [1] * len(kernel_sizes)
    length = n_timesteps
    for i in reversed(range(len(strides))):
        if length <= max_steps:
            return tuple(strides)
        strides[i] = 2
        length = math.ceil(length / 2)
    for i, k in enumerate(kernel_sizes):
        if length <= max_steps_stride4:
            break
        if k >= 4:
            strides[i] = 4
            length = math.ceil(length / 2)
    return tuple(strides)


def _unwrap(encoder):
    return encoder.estimator if isinstance(encoder, FrozenEstimator) else encoder


class SequenceClassifier(ClassifierMixin, BaseSequenceEstimator):
    """Sequence classifier: a convolutional front end, a recurrent encoder and
    pooling over the valid timesteps, trained with a one-cycle learning rate.

    Each sequence (fixed or variable length, univariate or multivariate) gets one
    label. The defaults are a recipe that is strong out of the box on time-series
    classification archives (see ``benchmarks/RESULTS.md``): features are
    standardised, three length-aware convolution blocks (64 channels, kernels 7, 5,
    3, with stride 2 where the recurrent layer would otherwise read more than 64
    steps) feed a bidirectional LSTM; its outputs max-pooled over the valid steps (and its final
    states, for variable-length input), next to the mean and max of the
    convolutional features (a skip connection), are classified by a linear layer;
    AdamW with a one-cycle learning-rate schedule.
    For variable-length input, training sees random windows of 80% of each
    sequence (window slicing) and a prediction averages the whole sequence and
    three such windows (``crop``). Training sets of up to 1000 sequences are
    also augmented by window warping, unless the warped fit fails to fit its
    training sequences (``window_warp``).
    Variable-length input is packed (on CPU: run padded, with the backward direction
    reversed within each sequence's length) and masked, so padding never changes a
    prediction.

    Parameters
    ----------
    pooling : {"auto", "max", "last_max", "mean", "mean_max", "last", "attention"}, \
default="auto"
        How the per-step encoder outputs become one vector: the final recurrent
        state ("last"; both directions when bidirectional), the mean and/or maximum
        over each sequence's valid steps, a concatenation of two of them
        ("last_max", "mean_max"), or attention pooling (a learned weighted mean).
        The maximum finds a pattern wherever it occurs; the final state also keeps
        the order and length of the sequence. "auto": "max" when the training
        sequences share one length, "last_max" when their lengths differ (on the
        archive problems the final state cost 9 points on OSULeaf, whose series
        start at arbitrary points, and gained 13 on PickupGestureWiimoteZ, whose
        gestures differ in length and order).
    conv_channels : "auto", tuple of int or None, default="auto"
        Channels of each convolution block before the recurrent encoder; None (or
        ``()``) reads the input directly. "auto": ``(64, 64, 64)``, or None when
        ``encoder`` is given (the transferred encoder reads the raw features).
    conv_kernel_sizes : tuple of int, default=(7, 5, 3)
        Odd kernel width of each block (one entry per entry of ``conv_channels``).
    conv_strides : "auto" or tuple of int, default="auto"
        Stride of each block. "auto": shorten the longest training sequence towards
        64 steps with stride 2 in the blocks from the last one backwards; only if
        that leaves more than 256 steps, stride 4 from the first block on (where
        the kernel is at least 4 wide) until at most 256 remain.
    conv_skip : bool, default=True
        Also feed the mean and maximum of the front end's features over the valid
        steps to the final layer, next to the pooled recurrent encoding: a skip
        connection around the recurrent encoder (as in LSTM-FCN, Karim et al. 2017).
        Ignored without a front end.
    scaling : {"auto", "standard", "series", "none"}, default="auto"
        Input scaling inside the model (applied at predict time too).
        "standard": per feature, with the mean and standard deviation of the
        training timesteps; "series": z-normalise each sequence and feature over its
        own valid steps (amplitude and offset then carry no information); "auto":
        "standard", or "none" when ``encoder`` is given (the autoencoder saw raw
        input).
    crop : "auto", float or None, default="auto"
        Window slicing (Le Guennec et al. 2016): in training, each sequence is
        replaced by a window of this fraction of its valid length at a random
        offset (a new one each batch); predictions (``decision_function``,
        ``predict_proba``, ``predict``, ONNX export) average the logits of the whole
        sequence and of three such windows, at its start, middle and end
        (``transform_features`` and ``hidden_states`` read the whole sequence;
        prediction costs 4 passes instead of 1). None or 1.0: off. "auto": 0.8 when
        the training sequences differ in length, else off. On the archive problems
        (``benchmarks/RESULTS.md``) 0.8 gained 11 points on the variable-length
        PickupGestureWiimoteZ (0.733 -> 0.847) and changed JapaneseVowels by none;
        on equal-length series it gained 6 points on ArrowHead and 2 on OSULeaf but
        lost 18 on ACSF1, 3 on ItalyPowerDemand and 2 on GunPoint, whence "auto".
    window_warp : "auto", float or None, default="auto"
        Window warping (Le Guennec et al. 2016) in training: in each batch, a
        window of this fraction of every sequence (at a random offset) is played at
        half or double speed; prediction is unaffected. None or 0: off. "auto": 0.1
        for training sets of at most 1000 sequences (augmentation matters most
        with few), kept only if the warped fit still classifies at least 98% of
        its training sequences (read unwarped) correctly; otherwise the fit is
        repeated without warping, because the warping has hidden what tells the
        classes apart, such as how long a pattern lasts. A warped fit that gets
        fewer than 90% right at 60% of its epochs is stopped there (so a rejected
        warped fit costs 0.6 to 1 fit).
        Off for larger training sets and for :meth:`partial_fit`. On the archive
        problems (``benchmarks/RESULTS.md``) it gained 9 points on ArrowHead
        (0.724 -> 0.815) and 2.6 on PickupGestureWiimoteZ, cost 1 on
        ItalyPowerDemand, and was repeated without warping on ACSF1 (where how
        long a cycle lasts is the class). Set None when you know the timing
        matters, or when the model cannot fit its training data anyway (noisy
        labels), to save the second fit.
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes in the loss, as in scikit-learn's linear models.
        "balanced" uses ``n_samples / (n_classes * np.bincount(y))``.
    encoder : LSTMAutoencoderTransformer or None, default=None
        A fitted autoencoder whose encoder weights initialise this classifier's
        recurrent encoder (Srivastava et al. 2015); it is read, never modified.
        ``hidden_size``, ``num_layers``, ``cell`` and ``bidirectional`` must match
        it, and the input must have its ``n_features_in_``. An unfitted
        autoencoder is cloned and fitted on ``X`` first (unsupervised pre-training
        on the training sequences; this is what grid search passes on, since it
        clones parameter values). Wrap autoencoders in
        :class:`sklearn.frozen.FrozenEstimator` to grid-search over several
        pre-trained ones.
    freeze_encoder : bool, default=False
        Keep the transferred encoder weights fixed and train only the layers after
        it (requires ``encoder``).
    lr_schedule : {"onecycle", "cosine", "constant"}, default="onecycle"
        Learning rate over training: one-cycle (warm-up to ``lr``, then annealed
        towards zero at ``max_epochs``), cosine annealing from ``lr``, or constant.
    hidden_size : int, default=64
        Units per recurrent layer (and direction).
    num_layers : int, default=1
    cell : {"lstm", "gru"}, default="lstm"
    bidirectional : bool, default=True
    dropout : float, default=0.0
        Dropout between stacked recurrent layers.
    max_epochs : int, default=100
        Training epochs; the learning-rate schedule ends here. With
        ``early_stopping=True`` training stops earlier when the validation loss has
        not improved by ``tol`` (relative) for ``n_iter_no_change`` epochs; without
        it, only ``lr_schedule="constant"`` stops on a training-loss plateau (a
        schedule needs all its epochs).
    batch_size : int, default=16
    lr : float, default=3e-3
        Peak learning rate.
    optimizer : {"adamw", "adam", "sgd", "rmsprop"} or torch optimizer class, \
default="adamw"
    weight_decay : float, default=1e-2
    clip_grad_norm : float or None, default=1.0
        Clip the global gradient norm before each step; None turns clipping off.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the sequences, monitor the validation
        loss, and restore the best weights at the end. False monitors the training
        loss.
    validation_fraction : float, default=0.1
    n_iter_no_change : int, default=20
    tol : float, default=1e-4
    truncate_bptt : int, default=None
        Truncated backpropagation through time is not available for classifiers
        (the label depends on the whole sequence); leave it None.
    device : str, default="cpu"
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, shuffling and the validation split; the same
        value and data give the same model on CPU.
    verbose : int, default=0
    callbacks : list of skorch callbacks, default=None
    warm_start : bool, default=False
        When fitted already, ``fit`` continues from the fitted weights (another
        ``max_epochs``, with a fresh learning-rate schedule; ``history_`` runs on),
        keeping what the first fit learnt from its data (classes, input scaling,
        strides, pooling): the way to go on after a ``DivergenceWarning``, e.g.
        with a smaller ``lr``. See also :meth:`partial_fit`.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels (any hashable type).
    n_features_in_ : int
        Features per timestep seen in fit.
    n_timesteps_ : int
        Length of the longest training sequence.
    conv_strides_ : tuple of int
        The strides used (resolved from "auto").
    pooling_ : str
        The pooling used (resolved from "auto").
    crop_ : float or None
        The window fraction used (resolved from "auto"; None: off).
    window_warp_ : float or None
        The window-warping fraction of the kept fit (None: off).
    train_accuracy_warped_ : float or None
        With ``window_warp="auto"``: the warped fit's accuracy on its own training
        sequences, which decided whether it was kept (at 60% of the epochs if it
        was stopped there; None when not checked).
    class_weight_ : ndarray of shape (n_classes,) or None
    encoder_ : LSTMAutoencoderTransformer or None
        The fitted autoencoder whose weights were transferred.
    net_ : SequenceNet
        The trained skorch net (``net_.module_`` is the torch module).
    history_ : skorch History
        Per-epoch ``train_loss`` (``valid_loss`` with early stopping), ``grad_norm``.
    n_epochs_ : int
    diverged_ : bool

    Examples
    --------
    >>> import numpy as np
    >>> from sksequence import SequenceClassifier
    >>> rng = np.random.RandomState(0)
    >>> t = np.linspace(0, 4 * np.pi, 30)
    >>> y = rng.randint(0, 2, size=40)
    >>> X = np.where(y[:, None], np.sign(np.sin(t)), np.sin(t)) + 0.1 * rng.randn(40, 30)
    >>> clf = SequenceClassifier(max_epochs=20, random_state=0).fit(X, y)
    >>> clf.predict_proba(X[:3]).shape
    (3, 2)
    >>> clf.score(X, y) > 0.9
    True
    """

    _parameter_constraints: dict = {
        **BaseSequenceEstimator._parameter_constraints,
        "pooling": [StrOptions({"auto", *POOLINGS})],
        "conv_channels": [StrOptions({"auto"}), tuple, list, None],
        "conv_kernel_sizes": [tuple, list],
        "conv_strides": [StrOptions({"auto"}), tuple, list],
        "conv_skip": ["boolean"],
        "scaling": [StrOptions({"auto", "standard", "series", "none"})],
        "crop": [StrOptions({"auto"}), Interval(Real, 0, 1, closed="right"), None],
        "window_warp": [
            StrOptions({"auto"}),
            Interval(Real, 0, 1, closed="both"),
            None,
        ],
        "class_weight": [dict, StrOptions({"balanced"}), None],
        "encoder": "no_validation",
        "freeze_encoder": ["boolean"],
        "lr_schedule": [StrOptions({"onecycle", "cosine", "constant"})],
        "truncate_bptt": [None],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
    }

    _module_class = RecurrentClassifier
    _fitted_attributes = (
        "classes_",
        "n_timesteps_",
        "class_weight_",
        "encoder_",
        "conv_strides_",
        "pooling_",
        "crop_",
        "window_warp_",
        "train_accuracy_warped_",
    )

    def __init__(
        self,
        *,
        pooling="auto",
        conv_channels="auto",
        conv_kernel_sizes=_DEFAULT_KERNELS,
        conv_strides="auto",
        conv_skip=True,
        scaling="auto",
        crop="auto",
        window_warp="auto",
        class_weight=None,
        encoder=None,
        freeze_encoder=False,
        lr_schedule="onecycle",
        hidden_size=64,
        num_layers=1,
        cell="lstm",
        bidirectional=True,
        dropout=0.0,
        max_epochs=100,
        batch_size=16,
        lr=3e-3,
        optimizer="adamw",
        weight_decay=1e-2,
        clip_grad_norm=1.0,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=20,
        tol=1e-4,
        truncate_bptt=None,
        device="cpu",
        random_state=None,
        verbose=0,
        callbacks=None,
        warm_start=False,
    ):
        self.pooling = pooling
        self.conv_channels = conv_channels
        self.conv_kernel_sizes = conv_kernel_sizes
        self.conv_strides = conv_strides
        self.conv_skip = conv_skip
        self.scaling = scaling
        self.crop = crop
        self.window_warp = window_warp
        self.class_weight = class_weight
        self.encoder = encoder
        self.freeze_encoder = freeze_encoder
        self.lr_schedule = lr_schedule
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.cell = cell
        self.bidirectional = bidirectional
        self.dropout = dropout
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.optimizer = optimizer
        self.weight_decay = weight_decay
        self.clip_grad_norm = clip_grad_norm
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.truncate_bptt = truncate_bptt
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.callbacks = callbacks
        self.warm_start = warm_start

    # -- cloning --------------------------------------------------------------------
    def __sklearn_clone__(self):
        # clone() would replace a fitted `encoder` by an unfitted copy; the encoder
        # is only read, so a clone shares the fitted one.
        new = super().__sklearn_clone__()
        if self.encoder is not None and _is_fitted(_unwrap(self.encoder)):
            new.encoder = self.encoder
        return new

    # -- fitting --------------------------------------------------------------------
    def _resolve_architecture(self, n_timesteps: int) -> dict:
        """Module keyword arguments for the front end and scaling ("auto" resolved)."""
        transfer = self.encoder is not None
        channels = self.conv_channels
        if isinstance(channels, str):  # "auto"
            channels = None if transfer else _DEFAULT_CONV
        channels = tuple(int(c) for c in channels or ())
        if transfer and channels:
            raise ValueError(
                "encoder= initialises the recurrent encoder that reads the input "
                f"features, so it cannot follow a convolutional front end, but "
                f"conv_channels={self.conv_channels!r}. Use conv_channels='auto' or "
                "None with an encoder."
            )
        if any(c < 1 for c in channels):
            raise ValueError(
                f"conv_channels must hold positive integers, got {self.conv_channels!r}."
            )
        kernels = tuple(int(k) for k in self.conv_kernel_sizes)
        if channels and (
            len(kernels) != len(channels) or any(k < 1 or k % 2 == 0 for k in kernels)
        ):
            raise ValueError(
                "conv_kernel_sizes needs one odd positive width per convolution block: "
                f"conv_channels={channels} has {len(channels)} blocks, but got "
                f"conv_kernel_sizes={self.conv_kernel_sizes!r}."
            )
        if isinstance(self.conv_strides, str):  # "auto"
            strides = _auto_strides(
                n_timesteps, kernels[: len(channels)], _AUTO_MAX_STEPS
            )
        else:
            strides = tuple(int(s) for s in self.conv_strides)
            if channels and (len(strides) != len(channels) or min(strides) < 1):
                raise ValueError(
                    "conv_strides needs one positive stride per convolution block: "
                    f"conv_channels={channels} has {len(channels)} blocks, but got "
                    f"conv_strides={self.conv_strides!r}."
                )
        scaling = self.scaling
        if scaling == "auto":
            scaling = "none" if transfer else "standard"
        if not channels:
            kernels, strides = (), ()
        self.conv_strides_ = strides
        return dict(
            conv_channels=channels,
            conv_kernel_sizes=kernels[: len(channels)],
            conv_strides=strides,
            conv_skip=self.conv_skip,
            scaling=scaling,
        )

    def _class_weights(self, ids: np.ndarray):
        if self.class_weight is None:
            return None
        n_classes = len(self.classes_)
        if self.class_weight == "balanced":
            return compute_class_weight("balanced", classes=np.arange(n_classes), y=ids)
        weights = np.ones(n_classes)
        for label, w in self.class_weight.items():
            pos = np.flatnonzero(self.classes_ == label)
            if not len(pos):
                raise ValueError(
                    f"class_weight has a weight for class {label!r}, which is not in "
                    f"y (classes: {list(self.classes_)})."
                )
            weights[pos[0]] = w
        return weights

    def _pretrained_encoder(self, X, batch):
        """The fitted autoencoder to transfer from (fitting a clone if needed)."""
        if self.encoder is None:
            if self.freeze_encoder:
                raise ValueError(
                    "freeze_encoder=True needs an encoder to transfer; pass a fitted "
                    "LSTMAutoencoderTransformer as encoder=."
                )
            return None
        encoder = _unwrap(self.encoder)
        source = getattr(getattr(encoder, "net_", None), "module_", None)
        if not hasattr(encoder, "get_params") or (
            _is_fitted(encoder) and not hasattr(source, "encoder")
        ):
            raise TypeError(
                "encoder must be an LSTMAutoencoderTransformer (fitted, or unfitted to "
                f"be fitted on X first), got {type(encoder).__name__}."
            )
        if not _is_fitted(encoder):
            from sklearn.base import clone

            encoder = clone(encoder).fit(X)
        src = encoder.net_.module_.encoder
        mine = dict(
            hidden_size=self.hidden_size,
            num_layers=self.num_layers,
            cell=self.cell,
            bidirectional=self.bidirectional,
        )
        theirs = dict(
            hidden_size=src.hidden_size,
            num_layers=src.num_layers,
            cell=src.cell,
            bidirectional=src.num_directions == 2,
        )
        if src.input_size != batch.n_features:
            raise ValueError(
                f"X has {batch.n_features} features per timestep, but the encoder was "
                f"fitted with {src.input_size}."
            )
        diff = [k for k in mine if mine[k] != theirs[k]]
        if diff:
            got = ", ".join(f"{k}={theirs[k]!r}" for k in diff)
            have = ", ".join(f"{k}={mine[k]!r}" for k in diff)
            raise ValueError(
                f"The encoder has {got}, but {type(self).__name__} has {have}. The "
                "recurrent layers must have the same sizes to take the encoder's "
                f"weights: set {got} on the classifier."
            )
        return encoder

    def fit(self, X, y):
        """Fit the classifier.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features)
            Or (n_samples, n_timesteps) for univariate series, or a list of arrays of
            shape (n_timesteps_i, n_features) of different lengths.
        y : array-like of shape (n_samples,)
            Class labels of any hashable type.

        Returns
        -------
        self
        """
        return self._fit(X, y, incremental=False)

    def partial_fit(self, X, y, classes=None):
        """Train one epoch on ``(X, y)``, starting from the current weights.

        As in scikit-learn, the first call must list every class in ``classes``
        (later calls may omit it); it also fixes the input scaling, strides and
        pooling from its ``X``. Each call is one pass over the data in shuffled
        mini-batches at the constant learning rate ``lr`` (no one-cycle schedule),
        with no validation split or early stopping; the optimizer's state carries
        over from call to call. Use it for data that arrives in chunks, or to go on
        training after ``fit`` (e.g. after a ``DivergenceWarning``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features)
            Or (n_samples, n_timesteps) for univariate series, or a list of arrays of
            shape (n_timesteps_i, n_features) of different lengths.
        y : array-like of shape (n_samples,)
        classes : array-like of shape (n_classes,), default=None
            Every label that can occur; required on the first call.

        Returns
        -------
        self
        """
        if self.class_weight == "balanced":
            raise ValueError(
                "class_weight='balanced' is not supported by partial_fit: one chunk's "
                "class counts are not the data's. Compute the weights on all labels "
                "(sklearn.utils.class_weight.compute_class_weight) and pass them as a "
                "dict."
            )
        fitted = self.classes_ if hasattr(self, "net_") else None
        self.classes_ = check_partial_fit_classes(classes, fitted, estimator=self)
        return self._fit(X, y, incremental=True)

    def _fit(self, X, y, *, incremental: bool):
        self._validate_params()
        continuing = self._continuing(incremental)
        batch = check_sequences(X, estimator=self, reset=not continuing)
        labels = check_labels(y, batch, estimator=self)
        if continuing or incremental:  # classes_ from the first fit or `classes`
            ids = encode_labels(labels, self.classes_, estimator=self)
        else:
            self.classes_, ids = np.unique(labels, return_inverse=True)
        if not continuing:
            self.class_weight_ = self._class_weights(ids)
            self.encoder_ = self._pretrained_encoder(X, batch)
        previous = self._module_spec[1] if continuing else {}
        arch = self._resolve_architecture(batch.n_timesteps)
        if continuing:  # keep what was resolved from the first fit's data
            arch["conv_strides"] = previous["conv_strides"]
            self.conv_strides_ = previous["conv_strides"]
        else:
            self.pooling_ = self.pooling
            if self.pooling == "auto":
                self.pooling_ = "last_max" if batch.ragged else "max"
        if not continuing:  # (continuing keeps the fitted module's scaling buffers)
            mask = np.arange(batch.n_timesteps)[None, :] < batch.lengths[:, None]
            valid = batch.X[mask]  # (total valid steps, F)
            # float64 statistics: float32 ones overflow for |X| > ~1e19 (X=-3e38)
            mean = valid.mean(axis=0, dtype=np.float64)
            std = valid.std(axis=0, dtype=np.float64)
            self._input_stats = (mean, np.where(std > 1e-8 * (1 + abs(mean)), std, 1.0))
        module_kwargs = dict(
            input_size=batch.n_features,
            n_classes=len(self.classes_),
            hidden_size=self.hidden_size,
            num_layers=self.num_layers,
            cell=self.cell,
            bidirectional=self.bidirectional,
            dropout=self.dropout,
            pooling=self.pooling_,
            class_weight=(
                None if self.class_weight_ is None else self.class_weight_.tolist()
            ),
            **arch,
        )
        if continuing:  # the first fit's windows and warping
            augment = {k: previous[k] for k in ("crop", "warp") if k in previous}
            check_warp = False
        else:
            augment, check_warp = self._resolve_augmentation(batch, incremental)
        module_kwargs.update(augment)
        arrays = {
            "x": batch.X,
            "lengths": batch.lengths if batch.ragged else None,
            "y": ids.astype(np.int64),
        }
        n_train = batch.n_samples
        if self.early_stopping:
            n_train -= int(math.ceil(self.validation_fraction * batch.n_samples))
        self._steps_per_epoch = max(1, math.ceil(max(n_train, 1) / self.batch_size))
        if check_warp:
            self._fit_warp_checked(module_kwargs, arrays, X, ids)
        else:
            self._fit_module(
                RecurrentClassifier,
                module_kwargs,
                arrays,
                continuing=continuing,
                incremental=incremental,
            )
        del self._steps_per_epoch
        self.n_timesteps_ = (
            max(batch.n_timesteps, self.n_timesteps_)
            if continuing
            else batch.n_timesteps
        )
        return self

    def _resolve_augmentation(self, batch, incremental: bool) -> tuple[dict, bool]:
        """Set ``crop_`` and ``window_warp_`` (resolving "auto"); return the module's
        keyword arguments for them and whether the warping is to be checked."""
        crop = self.crop
        if crop == "auto":
            crop = _AUTO_CROP if batch.ragged else None
        self.crop_ = None if crop is None or crop >= 1.0 else float(crop)
        warp, check = self.window_warp, False
        if warp == "auto":  # (partial_fit cannot check it: off)
            small = batch.n_samples <= _AUTO_WARP_MAX_SAMPLES
            warp = _AUTO_WARP if small and not incremental else None
            check = warp is not None
        self.window_warp_ = float(warp) if warp else None
        self.train_accuracy_warped_ = None
        augment = {"crop": self.crop_, "warp": self.window_warp_}
        return {k: v for k, v in augment.items() if v}, check

    def _fit_warp_checked(self, module_kwargs: dict, arrays: dict, X, ids) -> None:
        """``window_warp="auto"``: fit with window warping, and keep that fit only
        if it still classifies at least ``_WARP_MIN_TRAIN_ACCURACY`` of its training
        sequences (read unwarped) correctly. Otherwise the warping has hidden what
        tells the classes apart (e.g. how long a pattern lasts): fit again without
        it (``window_warp_`` None). A warped fit far below that at
        ``_WARP_PROBE_AT`` of its epochs is stopped there, to save the rest of it.
        A fit cut short by Ctrl+C is kept as it is."""
        stats = self._input_stats  # (taken by the first fit's _before_training)

        def train_accuracy() -> float:
            self.train_accuracy_warped_ = float(
                np.mean(np.argmax(self._scores(X), axis=1) == ids)
            )
            return self.train_accuracy_warped_

        epoch = max(1, math.ceil(_WARP_PROBE_AT * self.max_epochs))
        self._warp_probe = _WarpProbe(epoch, train_accuracy)
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                self._fit_module(RecurrentClassifier, module_kwargs, arrays)
            accuracy = train_accuracy()
            interrupted = any(
                issubclass(w.category, TrainingInterrupted) for w in caught
            )
            if interrupted or accuracy >= _WARP_MIN_TRAIN_ACCURACY:
                for w in caught:
                    warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
                return
        except _WarpRejected:
            pass
        finally:  # the probe holds the training data: not part of the fitted net
            del self._warp_probe
            net = getattr(self, "net_", None)
            for name in ("callbacks", "callbacks_"):
                if getattr(net, name, None) is not None:
                    kept = [cb for cb in getattr(net, name) if cb[0] != "warp_probe"]
                    setattr(net, name, kept)
        self.window_warp_ = None
        self._input_stats = stats
        unwarped = {k: v for k, v in module_kwargs.items() if k != "warp"}
        self._fit_module(RecurrentClassifier, unwarped, arrays)

    def _callbacks(self, has_valid: bool) -> list:
        cbs = super()._callbacks(has_valid)
        if not has_valid and self.lr_schedule != "constant":
            # The schedule sets the length of training: stopping on a training-loss
            # plateau would cut it off at a high learning rate.
            cbs = [cb for cb in cbs if cb[0] != "early_stopping"]
        if self.lr_schedule == "onecycle":
            sched = LRScheduler(
                policy=torch.optim.lr_scheduler.OneCycleLR,
                max_lr=self.lr,
                total_steps=self.max_epochs * self._steps_per_epoch,
                step_every="batch",
            )
        elif self.lr_schedule == "cosine":
            sched = LRScheduler(
                policy=torch.optim.lr_scheduler.CosineAnnealingLR,
                T_max=self.max_epochs * self._steps_per_epoch,
                step_every="batch",
            )
        else:
            return cbs + self._probe_callbacks()
        return [("lr_scheduler", sched)] + cbs + self._probe_callbacks()

    def _probe_callbacks(self) -> list:
        probe = getattr(self, "_warp_probe", None)
        return [] if probe is None else [("warp_probe", probe)]

    def _before_training(self, module) -> None:
        stats = self.__dict__.pop("_input_stats", None)
        if stats is not None:  # a first fit (else the fitted buffers are loaded)
            module.input_mean.copy_(torch.as_tensor(stats[0]))
            module.input_scale.copy_(torch.as_tensor(stats[1]))
        if self.encoder_ is not None:
            source = self.encoder_.net_.module_.encoder.state_dict()
            module.encoder.load_state_dict(source)  # copies: the source is untouched
            if self.freeze_encoder:
                module.encoder.requires_grad_(False)

    # -- prediction -----------------------------------------------------------------
    def _inputs(self, X):
        check_is_fitted(self, "net_")
        batch = check_sequences(X, estimator=self, reset=False)
        arrays = {"x": batch.X, "lengths": batch.lengths if batch.ragged else None}
        return batch, arrays

    def _scores(self, X) -> np.ndarray:
        """Logits (n_samples, n_classes), float64."""
        batch, arrays = self._inputs(X)
        scores = self._batched(lambda m, **b: m(**b), arrays, batch.n_timesteps)
        return scores.astype(np.float64)

    def decision_function(self, X):
        """Class scores (logits) of each sequence.

        Returns
        -------
        scores : ndarray of shape (n_samples, n_classes), or (n_samples,) for two
            classes (the score of ``classes_[1]`` relative to ``classes_[0]``, as in
            scikit-learn's linear models)
        """
        scores = self._scores(X)
        if scores.shape[1] == 2:
            return scores[:, 1] - scores[:, 0]
        return scores

    def predict_proba(self, X):
        """Class probabilities of each sequence.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features) or list of arrays

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Columns in the order of ``classes_``.
        """
        batch, arrays = self._inputs(X)
        proba = self._batched(
            lambda m, **b: torch.softmax(m(**b).double(), dim=-1),
            arrays,
            batch.n_timesteps,
        )
        return proba

    def predict_log_proba(self, X):
        """Log of :meth:`predict_proba`."""
        batch, arrays = self._inputs(X)
        return self._batched(
            lambda m, **b: torch.log_softmax(m(**b).double(), dim=-1),
            arrays,
            batch.n_timesteps,
        )

    def predict(self, X):
        """The most probable class of each sequence.

        Returns
        -------
        y : ndarray of shape (n_samples,)
        """
        scores = self.decision_function(X)  # checks that the model is fitted
        if scores.ndim == 1:
            return self.classes_[(scores > 0).astype(int)]
        return self.classes_[np.argmax(scores, axis=1)]

    def transform_features(self, X):
        """The pooled encoding the final linear layer reads, one row per sequence.

        Returns
        -------
        ndarray of shape (n_samples, n_pooled)
        """
        batch, arrays = self._inputs(X)
        return self._batched(lambda m, **b: m.features(**b), arrays, batch.n_timesteps)

    def hidden_states(self, X, *, return_state: bool = False):
        """Every step's recurrent-encoder output (after scaling and the front end).

        With a strided convolutional front end the encoder reads
        ``ceil(n_timesteps / prod(conv_strides_))`` steps; otherwise one per input
        timestep. See :meth:`BaseSequenceEstimator.hidden_states` for the layout.
        """
        batch, arrays = self._inputs(X)

        def run(module, x, lengths=None):
            x = module.scale(x, lengths)
            if module.front is not None:
                x, lengths = module.front(x, lengths)
            out, (h_n, c_n) = module.encoder(x, lengths)
            if c_n is None:
                c_n = torch.full_like(h_n, float("nan"))
            return out, h_n.transpose(0, 1), c_n.transpose(0, 1)  # (N, K*D, H)

        outputs, h_n, c_n = self._batched(run, arrays, batch.n_timesteps)
        if not return_state:
            return outputs
        return outputs, h_n, (None if self.cell == "gru" else c_n)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = True
        return tags


class _WarpRejected(Exception):
    """A warped fit stopped by its _WarpProbe."""


class _WarpProbe(Callback):
    """At the end of epoch ``epoch``, stop training (raise :class:`_WarpRejected`)
    if ``accuracy()`` is below ``_WARP_PROBE_MIN_ACCURACY``."""

    def __init__(self, epoch: int, accuracy) -> None:
        self.epoch = epoch
        self.accuracy = accuracy

    def on_epoch_end(self, net, **kwargs) -> None:
        if len(net.history) == self.epoch:
            if self.accuracy() < _WARP_PROBE_MIN_ACCURACY:
                raise _WarpRejected


def _is_fitted(estimator) -> bool:
    try:
        check_is_fitted(estimator)
    except (NotFittedError, TypeError):
        return False
    return True
