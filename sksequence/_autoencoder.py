"""LSTMAutoencoderTransformer: fixed-length encodings of sequences."""

from __future__ import annotations

from numbers import Integral

import numpy as np
from sklearn.base import ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ._base import BaseSequenceEstimator
from ._params import Param
from .nn.autoencoder import SequenceAutoencoder
from .utils.validation import (
    check_decode_lengths,
    check_decode_memory,
    check_encodings,
    check_positive_int,
    split_future,
)

__all__ = ["LSTMAutoencoderTransformer"]


class LSTMAutoencoderTransformer(
    ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseSequenceEstimator
):
    """Recurrent autoencoder that encodes each sequence as a fixed-length vector.

    An encoder LSTM (or GRU) reads each sequence; its final hidden state, optionally
    projected to ``n_components``, is the encoding. During ``fit`` one or two decoders
    learn to unroll the encoding (Srivastava et al. 2015):

    - ``objective="reconstruct"``: rebuild the input sequence (by default in reverse
      order, which makes the first decoded step depend on the last encoded one);
    - ``objective="predict"``: the encoder reads the first part of each training
      sequence and a decoder forecasts its last ``n_future`` steps;
    - ``objective="composite"``: both decoders on one encoder.

    ``transform`` gives the encodings for any downstream scikit-learn model,
    ``inverse_transform`` decodes encodings back into sequences, and
    ``score_samples`` (negative reconstruction or forecast error) is an anomaly score.

    Parameters
    ----------
    %(parameters)s

    Attributes
    ----------
    n_features_in_ : int
        Features per timestep seen in fit.
    n_components_ : int
        Size of the encodings.
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
            Size of the encoding. None: the encoder's final hidden size
            (``hidden_size``, twice that if ``bidirectional``); an int adds a linear
            bottleneck.""",
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
            False: unconditioned decoders that receive the encoding at every step.
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
    }
    _positional_first = True
    _supports_truncate_bptt = True
    _module_class = SequenceAutoencoder
    _fitted_attributes = ("n_components_", "n_timesteps_", "n_future_")
    # An autoencoder first sits on a plateau (it outputs the mean): the plateau rule
    # may end a fit only after this many optimizer updates.
    _min_updates = 500
    _shared_defaults = {
        "max_epochs": 200,
        "lr": 5e-3,
        "n_iter_no_change": 20,
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

    def _plan(self, data, *, continuing, incremental, seed):
        batch = data.batch
        inputs = self._module_inputs(batch)
        inputs["sample_weight"] = data.sample_weight
        valid_inputs = None
        if data.valid is not None:
            valid_inputs = self._module_inputs(data.valid)
        module_kwargs = dict(
            input_size=batch.n_features,
            hidden_size=self.hidden_size,
            num_layers=self.num_layers,
            cell=self.cell,
            bidirectional=self.bidirectional,
            dropout=self.dropout,
            n_components=self.n_components,
            objective=self.objective,
            conditional=self.conditional,
            reverse_target=self.reverse_target,
        )
        n_timesteps = inputs["x"].shape[1]
        n_future = inputs["future"].shape[1] if "future" in inputs else None
        if continuing:  # the longest seen over every fit (partial_fit chunks too)
            n_timesteps = max(n_timesteps, self.n_timesteps_)
            if n_future is not None and self.n_future_ is not None:
                n_future = max(n_future, self.n_future_)
        fitted = {} if continuing else batch.input_attributes()
        fitted.update(n_timesteps_=n_timesteps, n_future_=n_future)
        return self._make_plan(
            SequenceAutoencoder,
            module_kwargs,
            inputs,
            fitted,
            seed=seed,
            continuing=continuing,
            incremental=incremental,
            valid_inputs=valid_inputs,
        )

    def _commit(self, plan, net, outcome) -> None:
        super()._commit(plan, net, outcome)
        self.n_components_ = net.module_.encoding_size

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
        """Negative reconstruction (or forecast) error of each sequence.

        The mean squared error over each sequence's valid steps and features, of the
        objective the model was trained on (sum of both for "composite"), with the
        decoders feeding back their own outputs. Higher means more normal: use it as
        an anomaly score.

        Returns
        -------
        scores : ndarray of shape (n_samples,)
        """
        batch = self._inputs(X)
        arrays = self._module_inputs(batch)

        def err(module, **b):
            # in float64: float32 squared errors overflow for |X| > ~1e19 (X=1e30)
            out = {k: None if v is None else v.double() for k, v in module(**b).items()}
            b = {k: v.double() if v.is_floating_point() else v for k, v in b.items()}
            return module.loss(out, **b, reduction="none")

        return -self._batched(err, arrays, batch.n_timesteps).astype(np.float64)

    def score(self, X, y=None):
        """Mean of :meth:`score_samples` (higher is better)."""
        return float(np.mean(self.score_samples(X)))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags
