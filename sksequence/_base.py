"""What every sksequence estimator shares: parameters, the fit path, inference.

The fit path, as in scikit-learn's MLP and skorch's ``initialize`` / ``fit_loop``::

    fit(X, y) -> _fit: validate the parameters and the data once
              -> an immutable FitPlan (module and its arguments, module inputs,
                 input statistics, budget, stopping, policy callbacks, seed)
              -> a net built (or reused by partial_fit) for the plan
              -> training
              -> commit: ``net_``, ``history_`` and every fitted attribute are set
                 only now, when training has succeeded

Estimators declare their parameters (:mod:`sksequence._params`), implement ``_plan``
(validation and the estimator's own choices) and their prediction methods, which
validate X once with :meth:`_inputs` and run the module with :meth:`_batched`.
"""

from __future__ import annotations

import contextlib
import copy
import math
import os
import sys
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted
from skorch.callbacks import Callback, LRScheduler
from skorch.helper import predefined_split

from ._net import Diverged, ModuleLoss, PlateauStopping, SequenceNet, TensorDictDataset
from ._params import OPTIMIZERS, constraints, fill_docstring, make_init
from ._registry import register_estimator
from .utils.validation import SequenceBatch, check_sample_weight, check_sequences

__all__ = [
    "BaseSequenceEstimator",
    "DivergenceWarning",
    "FitPlan",
    "TrainingInterrupted",
]


class DivergenceWarning(UserWarning):
    """Training stopped because the loss or the gradients became non-finite."""


class TrainingInterrupted(UserWarning):
    """Training was stopped by KeyboardInterrupt (Ctrl+C); the model is usable."""


# Inference batches get at least this many rows. CPU float32 kernels take other
# paths for 1-3 row matrices (matrix-vector products) than for larger ones and round
# differently (1e-5 apart after a trained decoder); padding tiny batches by repeating
# their last row makes each answer independent of the batch it is computed in, so
# predict(X[i:i + 1]) == predict(X)[i] (scikit-learn's subset-invariance check).
_MIN_ROWS = 8

# Models with fewer parameters than this train and predict on one CPU thread by
# default (n_threads=None): their matrix products are too small to share out, and on
# a busy machine extra threads spin at barriers.
_SMALL_MODEL = 1_000_000


def _frozen(mapping: Mapping | None) -> Mapping:
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True)
class FitPlan:
    """Everything one training run needs, decided before it starts.

    Attributes
    ----------
    module : type
        A module class of :mod:`sksequence.nn`; built as ``module(**module_kwargs)``.
    inputs : mapping of str to ndarray or None
        The module's keyword inputs, one row per training sample (None dropped).
    fitted : mapping
        The fitted attributes to set when training succeeds.
    seed : int
        Seeds initialisation, shuffling, training-time randomness and the split.
    epochs : int
        Passes over the training data (the budget).
    buffers : mapping
        Module buffers to set before training (e.g. input statistics).
    transfer : mapping
        State-dict entries loaded into the fresh module before training.
    frozen : tuple of str
        Parameter-name prefixes kept fixed in training.
    valid_inputs : mapping or None
        Explicit validation data (``X_val``); otherwise ``valid_fraction`` of the
        inputs is held out when it is not None.
    schedule : {"onecycle", "cosine"} or None
        The learning-rate schedule over ``epochs`` (None: constant).
    stopping : PlateauStopping or None
    policies : tuple of (name, callback)
        The estimator's own training callbacks (schedules, probes).
    continuing : bool
        Start from the fitted weights (warm_start / partial_fit).
    incremental : bool
        partial_fit: one epoch, no split, no stopping, no schedule.
    fallback : FitPlan or None
        A second plan, trained instead when ``accept(plan, net, outcome)`` refuses
        the first run (an explicit model-selection step, e.g. augmentation on or
        off).
    output_fn : callable or None
        Module output -> predictions, for skorch's scoring callbacks.
    """

    module: type
    module_kwargs: Mapping[str, Any]
    inputs: Mapping[str, Any]
    fitted: Mapping[str, Any]
    seed: int
    epochs: int
    buffers: Mapping[str, Any] = field(default_factory=dict)
    transfer: Mapping[str, Any] = field(default_factory=dict)
    frozen: tuple = ()
    valid_inputs: Mapping[str, Any] | None = None
    valid_fraction: float | None = None
    schedule: str | None = None
    stopping: PlateauStopping | None = None
    policies: tuple = ()
    continuing: bool = False
    incremental: bool = False
    fallback: FitPlan | None = None
    accept: Callable | None = None
    output_fn: Callable | None = None

    @property
    def n_samples(self) -> int:
        return len(next(v for v in self.inputs.values() if v is not None))

    @property
    def n_train(self) -> int:
        """Samples trained on (after holding out a validation fraction)."""
        n = self.n_samples
        if self.valid_inputs is None and self.valid_fraction:
            n -= math.ceil(self.valid_fraction * n)
        return max(n, 1)


@dataclass(frozen=True)
class FitData:
    """The input of one fit, validated once: the training sequences (``batch``),
    their raw targets (checked by the estimator, which knows their kind), the
    sample weights, and the validation sequences and targets, if any."""

    batch: SequenceBatch
    y: Any
    sample_weight: np.ndarray | None = None
    valid: SequenceBatch | None = None
    y_val: Any = None


@dataclass
class Outcome:
    """How a training run ended: warnings to give when it is committed, fitted
    attributes found in training (set at commit after the plan's), whether it
    diverged, and the reason a policy stopped it (None when it ran its budget)."""

    warnings: list = field(default_factory=list)
    fitted: dict = field(default_factory=dict)
    diverged: bool = False
    interrupted: bool = False
    stopped: str | None = None


class BaseSequenceEstimator(BaseEstimator):
    """Shared machinery; not an estimator by itself.

    Subclasses declare ``_own_params`` (name -> :class:`~sksequence._params.Param`),
    ``_shared_defaults`` (their defaults for the shared parameters),
    ``_supports_truncate_bptt``, ``_module_class`` and ``_fitted_attributes`` (the
    fitted attributes they add, which ``save`` stores), and get their ``__init__``,
    ``_parameter_constraints`` and the parameter part of their docstring generated
    from them.
    """

    _own_params: dict = {}
    _shared_defaults: dict = {}
    _shared_docs: dict = {}
    _positional_first = False
    _supports_truncate_bptt = False
    # the module input that holds the targets (read by skorch's scoring callbacks)
    _target_key: str | None = None
    # the fewest optimizer updates before the plateau rule may end a fit
    _min_updates = 0
    # the budget of max_epochs="auto", in optimizer updates
    _auto_updates = 1000

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        register_estimator(cls)  # model files name estimator classes
        if "_own_params" in cls.__dict__:
            if "__init__" not in cls.__dict__:
                cls.__init__ = make_init(cls)
            cls._parameter_constraints = constraints(cls)
            fill_docstring(cls)

    # -- the fit path -------------------------------------------------------------
    def _fit(
        self,
        X,
        y=None,
        *,
        incremental: bool = False,
        sample_weight=None,
        X_val=None,
        y_val=None,
        **fit_args,
    ):
        """validate -> plan -> net -> train -> commit (see the module docstring)."""
        self._validate_params()
        if self.dropout > 0 and self.num_layers == 1:
            warnings.warn(
                f"dropout={self.dropout} has no effect with num_layers=1: "
                f"{type(self).__name__} applies dropout between stacked recurrent "
                "layers, as torch.nn.LSTM does. Use num_layers >= 2"
                + (
                    ", output_dropout (dropout before the output layer)"
                    if "output_dropout" in self.get_params(deep=False)
                    else ""
                )
                + ", or dropout=0.0 to silence this warning.",
                UserWarning,
                stacklevel=3,
            )
        device = self._resolve_device()
        continuing = (incremental or self.warm_start) and hasattr(self, "net_")
        batch = check_sequences(X, estimator=self, reset=not continuing)
        valid = None
        if X_val is not None or y_val is not None:
            if X_val is None:
                raise ValueError("y_val was given without X_val; pass both.")
            valid = check_sequences(X_val, estimator=self)
            if valid.n_features != batch.n_features:
                raise ValueError(
                    f"X_val has {valid.n_features} features per timestep, but X has "
                    f"{batch.n_features}."
                )
        data = FitData(
            batch, y, check_sample_weight(sample_weight, batch), valid, y_val
        )
        plan = self._plan(
            data,
            continuing=continuing,
            incremental=incremental,
            seed=self._fit_seed(continuing),
            **fit_args,
        )
        # (training needs autograd, also when the caller is in inference mode)
        with torch.inference_mode(False), torch.enable_grad():
            net, outcome = self._train_plan(plan, device)
            while plan.fallback is not None and not plan.accept(plan, net, outcome):
                found = outcome.fitted  # (what the refused run measured)
                plan = plan.fallback
                net, outcome = self._train_plan(plan, device)
                outcome.fitted = {**found, **outcome.fitted}
        self._commit(plan, net, outcome)
        return self

    def _plan(self, data, *, continuing, incremental, seed, **fit_args) -> FitPlan:
        """The estimator's plan for the validated ``data`` (:class:`FitData`)."""
        raise NotImplementedError

    def _fit_seed(self, continuing: bool) -> int:
        """The fit's seed, from ``random_state``; a continuation gets a fresh one
        (new shuffles and splits) derived from the epochs trained so far."""
        seed = int(check_random_state(self.random_state).randint(2**31 - 1))
        if continuing:
            seed = (seed + 7919 * len(self.history_)) % (2**31 - 1)
        return seed

    def _make_plan(
        self,
        module,
        module_kwargs: dict,
        inputs: dict,
        fitted: dict,
        *,
        seed: int,
        continuing: bool,
        incremental: bool,
        valid_inputs: dict | None = None,
        schedule: str | None = None,
        **extra,
    ) -> FitPlan:
        """A plan with the shared choices made: budget, validation, stopping."""
        if incremental:
            valid_inputs, schedule = None, None
        fraction = None
        if self.early_stopping and valid_inputs is None and not incremental:
            fraction = self.validation_fraction
        plan = FitPlan(
            module=module,
            module_kwargs=_frozen(module_kwargs),
            inputs=_frozen(inputs),
            fitted=_frozen(fitted),
            seed=seed,
            epochs=1,
            valid_inputs=None if valid_inputs is None else _frozen(valid_inputs),
            valid_fraction=fraction,
            schedule=schedule,
            continuing=continuing,
            incremental=incremental,
            **{
                k: _frozen(v) if k in ("buffers", "transfer") else v
                for k, v in extra.items()
            },
        )
        if fraction is not None:
            n = plan.n_samples
            n_valid = math.ceil(fraction * n)
            if n_valid < 1 or n - n_valid < 1:
                raise ValueError(
                    "early_stopping needs at least 2 samples to hold out a validation "
                    f"set of validation_fraction={fraction}, got {n}."
                )
        epochs = 1 if incremental else self._epochs(plan.n_train, plan)
        steps = math.ceil(plan.n_train / self.batch_size)
        validated = plan.valid_inputs is not None or fraction is not None
        stopping = None
        if not incremental and (validated or schedule is None):
            stopping = PlateauStopping(
                monitor="valid_loss" if validated else "train_loss",
                patience=self.n_iter_no_change,
                tol=self.tol,
                min_epochs=max(1, math.ceil(self._min_updates / steps)),
                restore_best=validated,
            )
        return _replace(plan, epochs=epochs, stopping=stopping)

    def _epochs(self, n_train: int, plan: FitPlan | None = None) -> int:
        """The training budget in epochs for ``n_train`` samples: ``max_epochs``,
        or for ``max_epochs="auto"`` the epochs that give :meth:`_budget`'s
        optimizer updates (at least one epoch)."""
        if self.max_epochs != "auto":
            return self.max_epochs
        steps = math.ceil(n_train / self.batch_size)
        return max(1, math.ceil(self._budget(plan) / steps))

    def _budget(self, plan: FitPlan | None) -> int:
        """``max_epochs="auto"``'s optimizer updates for ``plan``."""
        return self._auto_updates

    def _train_plan(self, plan: FitPlan, device: str):
        """Train a net for ``plan``: returns ``(net, outcome)``."""
        data = TensorDictDataset(self._tensors(plan.inputs, device), self._target_key)
        valid = None
        if plan.valid_inputs is not None:
            valid = TensorDictDataset(
                self._tensors(plan.valid_inputs, device), self._target_key
            )
        elif plan.valid_fraction:
            n = len(data)
            perm = torch.as_tensor(np.random.RandomState(plan.seed).permutation(n))
            n_valid = math.ceil(plan.valid_fraction * n)
            valid, data = data.subset(perm[:n_valid]), data.subset(perm[n_valid:])
        net = self._prepare_net(plan, valid, device)
        reused = net is getattr(self, "net_", None)
        outcome = Outcome()
        dropout_rng = contextlib.nullcontext()
        # torch's dropout draws from the global rng
        drops = any(plan.module_kwargs.get(k) for k in ("dropout", "output_dropout"))
        if drops:
            dropout_rng = torch.random.fork_rng(
                devices=[torch.device(device).index or 0]
                if device.startswith("cuda")
                else []
            )
        try:
            with self._threads(net.module_), dropout_rng:
                if drops:
                    torch.manual_seed(plan.seed)
                net.partial_fit(data, None, epochs=plan.epochs)
        except Diverged as exc:
            where = net.restore_last_finite(exc)
            net.history.record("diverged", True)
            outcome.diverged = True
            message = self._divergence_message(exc, where)
            outcome.warnings.append((message, DivergenceWarning))
        except BaseException:
            if reused:  # a failed partial_fit leaves the fitted weights as they were
                net.restore_initial()
                net.module_.eval()
            raise
        if outcome.diverged:
            pass
        elif len(net.history) and "train_loss" not in net.history[-1]:
            # skorch swallows KeyboardInterrupt: an epoch without a train_loss is
            # the one a Ctrl+C cut short.
            del net.history[-1]
            outcome.interrupted = True
            outcome.warnings.append(
                (
                    f"{type(self).__name__} training was interrupted "
                    f"(KeyboardInterrupt) during epoch {len(net.history) + 1}. The "
                    "model is usable: it keeps the weights reached so far, and "
                    f"history_ holds the {len(net.history)} finished epoch(s).",
                    TrainingInterrupted,
                )
            )
        elif len(net.history) and "stopped" in net.history[-1]:
            outcome.stopped = net.history[-1, "stopped"]
        return net, outcome

    def _divergence_message(self, exc: Diverged, where: str) -> str:
        remedies = "Try a smaller lr, keep clip_grad_norm on, scale your data"
        if self._supports_truncate_bptt:
            remedies += ", or use truncate_bptt for long sequences"
        return (
            f"{type(self).__name__} stopped training: {exc}. Restored {where}, so "
            f"the model stays usable but may be under-trained. {remedies}; to go on "
            "from the restored weights, call partial_fit or set warm_start=True and "
            "fit again."
        )

    def _prepare_net(self, plan: FitPlan, valid, device: str) -> SequenceNet:
        """The net to train: the fitted one (partial_fit after partial_fit with the
        same parameters, which keeps the optimizer's running statistics), or a new
        one initialised from the plan's seed, its buffers, transferred weights and,
        when continuing, the fitted weights."""
        previous = self.net_ if plan.continuing else None
        spec = (plan.module.__name__, dict(plan.module_kwargs))
        params = self.get_params(deep=False)
        last = getattr(self, "_net_params", None)
        if (
            plan.incremental
            and previous is not None
            and last is not None
            and spec == self._module_spec
            and _same_params(params, last)
        ):
            previous.seed = plan.seed
            return previous
        net = self._build_net(
            plan.module, plan.module_kwargs, plan=plan, valid=valid, device=device
        )
        net.initialize()
        module = net.module_
        with torch.no_grad():
            for name, value in plan.buffers.items():
                module.get_buffer(name).copy_(torch.as_tensor(value))
        if previous is not None:
            self._load_previous_weights(module, previous.module_)
        if plan.transfer:
            module.load_state_dict(dict(plan.transfer), strict=False)
        for name, p in module.named_parameters():
            if any(name.startswith(prefix) for prefix in plan.frozen):
                p.requires_grad_(False)
        if plan.incremental and last is not None and previous is not None:
            _carry_optimizer_state(previous.optimizer_, net.optimizer_)
        return net

    def _build_net(
        self,
        module_cls,
        module_kwargs,
        *,
        plan: FitPlan | None = None,
        valid=None,
        device: str | None = None,
        training: bool = True,
    ) -> SequenceNet:
        """The (uninitialised) skorch net for ``module_cls(**module_kwargs)``; with
        no ``plan`` (loading a saved model) it has no training callbacks."""
        callbacks = self._callbacks(plan) if plan is not None and training else []
        return SequenceNet(
            module=module_cls,
            criterion=ModuleLoss,
            optimizer=self._optimizer(),
            lr=self.lr,
            optimizer__weight_decay=self.weight_decay,
            max_epochs=plan.epochs if plan is not None else 1,
            batch_size=self.batch_size,
            train_split=predefined_split(valid) if valid is not None else None,
            callbacks=callbacks,
            device=device or self._resolve_device(),
            verbose=0,
            clip_grad_norm=self.clip_grad_norm,
            truncate_bptt=getattr(self, "truncate_bptt", None),
            seed=plan.seed if plan is not None else 0,
            output_fn=plan.output_fn if plan is not None else None,
            callbacks__print_log=None,
            **{f"module__{k}": v for k, v in module_kwargs.items()},
        )

    def _callbacks(self, plan: FitPlan) -> list:
        """The learning-rate schedule, the epoch log (verbose), the user's callbacks
        (copied), the estimator's policies and the stopping rule."""
        cbs = []
        steps = math.ceil(plan.n_train / self.batch_size)
        if plan.schedule == "onecycle":
            policy = dict(
                policy=torch.optim.lr_scheduler.OneCycleLR,
                max_lr=self.lr,
                total_steps=plan.epochs * steps,
            )
            cbs.append(("lr_scheduler", LRScheduler(step_every="batch", **policy)))
        elif plan.schedule == "cosine":
            policy = dict(
                policy=torch.optim.lr_scheduler.CosineAnnealingLR,
                T_max=plan.epochs * steps,
            )
            cbs.append(("lr_scheduler", LRScheduler(step_every="batch", **policy)))
        if self.verbose:
            cbs.append(("epoch_log", EpochLog(type(self).__name__, plan.epochs)))
        for i, cb in enumerate(copy.deepcopy(self.callbacks or [])):
            cbs.append(
                cb if isinstance(cb, tuple) else (f"user_{i}_{type(cb).__name__}", cb)
            )
        # last, so that every other callback sees the end of the epoch they stop at
        cbs += list(plan.policies)
        if plan.stopping is not None:
            cbs.append(("stopping", copy.deepcopy(plan.stopping)))
        return cbs

    def _optimizer(self):
        if isinstance(self.optimizer, str):
            return OPTIMIZERS[self.optimizer]
        return self.optimizer  # an optimizer class or callable(params, lr=..., ...)

    def _load_previous_weights(self, module, previous) -> None:
        """Copy the fitted module's weights into the freshly built one (warm start)."""
        try:
            module.load_state_dict(previous.state_dict())
        except RuntimeError as exc:
            detail = str(exc).strip().splitlines()
            raise ValueError(
                f"{type(self).__name__} cannot continue training from its fitted "
                "weights (warm_start=True or partial_fit): they do not fit the model "
                "the current parameters build "
                f"({detail[-1].strip() if detail else exc}). Keep the architecture "
                "parameters (hidden_size, num_layers, cell, bidirectional, ...) as "
                "they were, or set warm_start=False to train from scratch."
            ) from None

    def _commit(self, plan: FitPlan, net: SequenceNet, outcome: Outcome) -> None:
        """Set the fitted state: only here, once training has succeeded."""
        previous = self.net_ if plan.continuing else None
        if not plan.continuing:
            self._clear_fitted()
        net.module_.eval()  # a fitted module is in eval mode; inference never flips it
        if previous is not None and net is not previous:
            net.history = _joined_history(previous.history, net.history)
        for name, value in {**plan.fitted, **outcome.fitted}.items():
            setattr(self, name, value)
        self.net_ = net
        self.history_ = net.history
        self.n_epochs_ = self.n_iter_ = len(net.history)
        self.diverged_ = outcome.diverged
        rows = list(net.history)
        self.loss_curve_ = [row["train_loss"] for row in rows if "train_loss" in row]
        self.best_loss_ = min(self.loss_curve_) if self.loss_curve_ else None
        valid = [row["valid_loss"] for row in rows if "valid_loss" in row]
        self.validation_loss_curve_ = valid or None
        self._module_spec = (plan.module.__name__, dict(plan.module_kwargs))
        # partial_fit bookkeeping: a next partial_fit with these parameters reuses
        # the net (and its optimizer's running statistics)
        self.__dict__.pop("_net_params", None)
        if plan.incremental:
            self._net_params = self.get_params(deep=False)
        for message, category in outcome.warnings:
            warnings.warn(message, category, stacklevel=4)

    def _clear_fitted(self) -> None:
        """Forget a previous fit (a fresh fit starts from nothing)."""
        private = ("_module_spec", "_net_params", *self._fitted_attribute_names())
        for name in list(vars(self)):
            if (name.endswith("_") and not name.startswith("__")) or name in private:
                delattr(self, name)

    # -- devices, threads, tensors ------------------------------------------------
    def _resolve_device(self) -> str:
        """The torch device to use, checked: a ValueError in the package's words
        when torch cannot use it on this machine."""
        device = self.device
        if isinstance(device, str) and device == "auto":
            return "cuda" if torch.cuda.is_available() else "cpu"
        try:
            d = torch.device(device)
        except (RuntimeError, TypeError, ValueError) as exc:
            raise ValueError(
                f"device={device!r} is not a device torch knows ({exc}). Use 'cpu', "
                "'cuda', 'cuda:<index>', 'mps', or 'auto'."
            ) from None
        if d.type == "cuda":
            if not torch.cuda.is_available():
                raise ValueError(
                    f"device={device!r} asks for a CUDA GPU, but torch sees none on "
                    "this machine (torch.cuda.is_available() is False: there is no "
                    "GPU, or this torch build is CPU-only). Use device='cpu', or "
                    "device='auto' to take a GPU only when there is one."
                )
            if d.index is not None and d.index >= torch.cuda.device_count():
                raise ValueError(
                    f"device={device!r}, but torch sees {torch.cuda.device_count()} "
                    "CUDA GPU(s) (indices from 0)."
                )
        if d.type == "mps" and not (
            getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()
        ):
            raise ValueError(
                f"device={device!r}, but the MPS backend is not available here. Use "
                "device='cpu' or 'auto'."
            )
        return str(d)

    def _device(self) -> str:
        return self.net_.device if hasattr(self, "net_") else self._resolve_device()

    def _torch_device(self) -> torch.device:
        return torch.device(self._device())

    def _tensors(self, arrays: Mapping, device: str | None = None) -> dict:
        """numpy arrays -> tensors on the device (None entries dropped)."""
        device = device or self._device()
        return {
            k: torch.as_tensor(v).to(device) for k, v in arrays.items() if v is not None
        }

    @contextlib.contextmanager
    def _threads(self, module):
        """torch's CPU threads for work on ``module``: ``n_threads``, or 1 for a
        small model (n_threads=None), at most a parallel worker's share; the
        caller's setting is restored afterwards."""
        before = torch.get_num_threads()
        n = self.n_threads
        if n is None:
            n_params = sum(p.numel() for p in module.parameters())
            n = 1 if n_params < _SMALL_MODEL else before
        n = min(n, _worker_share(before))
        if n == before:
            yield
            return
        torch.set_num_threads(n)
        try:
            yield
        finally:
            torch.set_num_threads(before)

    # -- inference ------------------------------------------------------------------
    def _inputs(self, X) -> SequenceBatch:
        """Validate X once against the fitted estimator (inference methods)."""
        check_is_fitted(self, "net_")
        batch = check_sequences(X, estimator=self, reset=False)
        self._check_inference_batch(batch)
        return batch

    def _check_inference_batch(self, batch: SequenceBatch) -> None:
        """Hook: estimator-specific checks of validated inference input."""

    def _inference_batch_size(self, n_timesteps: int) -> int:
        return max(self.batch_size, min(1024, 2**20 // max(1, n_timesteps)))

    def _batched(self, fn, arrays: Mapping, n_timesteps: int):
        """Apply ``fn(module, **batch)`` to batches of ``arrays`` with the fitted
        module (in eval mode) and concatenate the numpy results along the first
        axis (one array or a tuple)."""
        check_is_fitted(self, "net_")
        return self._apply(self.net_.module_, fn, arrays, n_timesteps)

    def _apply(self, module, fn, arrays: Mapping, n_timesteps: int, device=None):
        """:meth:`_batched` for any module of this estimator's (e.g. a candidate
        fit's). Shared state is only read: the module must be in eval mode."""
        if module.training:
            module.eval()  # (a module fresh from training; never set back)
        data = TensorDictDataset(self._tensors(arrays, device))
        bs = self._inference_batch_size(n_timesteps)
        outs = []
        with torch.inference_mode(), self._threads(module):
            for start in range(0, len(data), bs):
                rows = min(bs, len(data) - start)
                if rows < _MIN_ROWS:  # see _MIN_ROWS: repeat the last row
                    index = torch.arange(start, start + _MIN_ROWS).clamp(
                        max=len(data) - 1
                    )
                    batch, _ = data.take(index)
                else:
                    batch, _ = data.take(slice(start, start + bs))
                out = fn(module, **batch)
                if isinstance(out, tuple):
                    outs.append(tuple(o[:rows].detach().cpu().numpy() for o in out))
                else:
                    outs.append(out[:rows].detach().cpu().numpy())
        if isinstance(outs[0], tuple):
            return tuple(_concat([o[i] for o in outs]) for i in range(len(outs[0])))
        return _concat(outs)

    def hidden_states(self, X, *, return_state: bool = False):
        """Every timestep's encoder hidden state, and optionally the final states.

        The equivalent of Keras' ``return_sequences=True`` / ``return_state=True`` for
        the fitted encoder (after any input scaling and convolutional front end the
        model has, so a strided front end gives fewer steps than the input).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features), or a list of
            arrays of shape (n_timesteps_i, n_features)
        return_state : bool, default=False
            Also return the final hidden and cell states.

        Returns
        -------
        outputs : ndarray of shape (n_samples, n_steps, D * hidden_size)
            The last layer's hidden state at each step (D = 2 if bidirectional);
            zero after the end of a shorter sequence.
        h_n : ndarray of shape (n_samples, num_layers * D, hidden_size)
            Final hidden state of every layer and direction (if ``return_state``).
        c_n : ndarray of shape (n_samples, num_layers * D, hidden_size) or None
            Final cell state (LSTM only; None for a GRU) (if ``return_state``).
        """
        batch = self._inputs(X)

        def run(module, x, lengths=None):
            out, (h_n, c_n) = module.hidden_states(x, lengths)
            if c_n is None:
                c_n = torch.full_like(h_n, float("nan"))
            return out, h_n.transpose(0, 1), c_n.transpose(0, 1)  # (N, K*D, H)

        outputs, h_n, c_n = self._batched(run, batch.inputs(), batch.n_timesteps)
        if not return_state:
            return outputs
        return outputs, h_n, (None if self.cell == "gru" else c_n)

    # -- persistence ----------------------------------------------------------------
    def save(self, path) -> None:
        """Save the fitted estimator to ``path`` without pickle (safetensors + JSON).

        The write is atomic: a crash mid-save leaves a previous file intact. Load it
        with ``type(est).load(path)`` or ``sksequence.load(path)``; loading never
        executes code from the file. See :mod:`sksequence.persistence` for when to
        prefer pickle/joblib.
        """
        from .persistence import save

        save(self, path)

    @classmethod
    def load(cls, path, *, device=None):
        """Load an estimator saved with :meth:`save`.

        Parameters
        ----------
        path : str or Path
        device : str, optional
            Where to put the model (default: the saved device, or "cpu" when the
            model was trained on CUDA and no GPU is available).
        """
        from .persistence import load

        return load(path, device=device, expected_class=cls)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.non_deterministic = False
        return tags

    # -- fitted state: what save() stores and load() restores --------------------------
    # sksequence.persistence reads and writes a fitted estimator only through
    # _get_fitted_state / _set_fitted_state and the two declarations below. Each
    # class lists the fitted attributes it adds in ``_fitted_attributes`` (the stored
    # set is the union over the class and its bases; anything else on the instance
    # is not stored); ``_module_class`` is the sksequence.nn module ``fit`` trains.
    _fitted_attributes: tuple = (
        "n_features_in_",
        "feature_names_in_",
        "_n_columns_2d",
        "_max_timesteps_fit",
        "n_epochs_",
        "n_iter_",
        "diverged_",
        "loss_curve_",
        "best_loss_",
        "validation_loss_curve_",
    )
    _module_class: type | None = None

    @classmethod
    def _fitted_attribute_names(cls) -> tuple:
        names: dict = {}
        for klass in reversed(cls.__mro__):
            names.update(dict.fromkeys(vars(klass).get("_fitted_attributes", ())))
        return tuple(names)

    def _get_fitted_state(self) -> dict:
        """The fitted state: the declared attributes that are set, the module's
        class name and keyword arguments, its weights (CPU tensors) and the history
        (without per-batch rows)."""
        check_is_fitted(self, "net_")
        module_name, module_kwargs = self._module_spec
        return {
            "attributes": {
                name: getattr(self, name)
                for name in self._fitted_attribute_names()
                if hasattr(self, name)
            },
            "module": module_name,
            "module_kwargs": dict(module_kwargs),
            "weights": {
                k: v.detach().cpu().contiguous().clone()
                for k, v in self.net_.module_.state_dict().items()
            },
            "history": [
                {k: v for k, v in row.items() if k != "batches"}
                for row in self.history_
            ],
        }

    def _set_fitted_state(self, state: dict) -> None:
        """Make this unfitted estimator the fitted one ``state`` describes (as given
        by :meth:`_get_fitted_state`; persistence checks a file's state against
        ``_fitted_attributes`` and the weights' shapes before it gets here)."""
        from skorch.history import History

        for name, value in state["attributes"].items():
            setattr(self, name, value)
        kwargs = dict(state["module_kwargs"])
        net = self._build_net(self._module_class, kwargs, training=False)
        with torch.random.fork_rng(devices=[]):
            net.initialize()
        net.module_.load_state_dict(state["weights"])
        net.module_.to(self._torch_device())
        net.module_.eval()  # a fitted module is in eval mode (see _commit)
        net.history = History(state["history"])
        self.net_, self.history_ = net, net.history
        self._module_spec = (state["module"], kwargs)


class EpochLog(Callback):
    """``verbose=1``: one plain line per epoch, prefixed with the estimator's name
    (and the process id in a parallel worker, so that a search's lines can be told
    apart); no colour codes, no table."""

    def __init__(self, name: str, epochs: int) -> None:
        self.name = name
        self.epochs = epochs

    def on_train_begin(self, net, **kwargs) -> None:
        self.offset_ = len(net.history)
        self.label_ = self.name
        if _worker_share(0) != 0 or os.getpid() != _MAIN_PID:
            self.label_ = f"{self.name} pid={os.getpid()}"

    def on_epoch_end(self, net, **kwargs) -> None:
        row = net.history[-1]
        k = len(net.history) - self.offset_
        parts = [f"[{self.label_}] epoch {k}/{self.epochs}"]
        first = [k for k in ("train_loss", "valid_loss") if k in row]
        others = [
            k
            for k, v in row.items()
            if k not in first
            and k not in ("epoch", "dur", "batches")
            and not k.endswith(("_best", "_batch_count"))
            and isinstance(v, (int, float))
            and not isinstance(v, bool)
        ]
        parts += [f"{k}={row[k]:.5g}" for k in first + others]
        parts.append(f"({row.get('dur', 0.0):.2f}s)")
        print("  ".join(parts), file=sys.stdout, flush=True)


_MAIN_PID = os.getpid()


def _worker_share(default: int) -> int:
    """In a joblib worker, its share of the CPUs (``OMP_NUM_THREADS``, which loky,
    Dask's nanny and Ray set to cpu_count // n_jobs, else 1); ``default`` outside
    one. joblib's threading and multiprocessing backends give no share."""
    from joblib.parallel import get_active_backend

    backend, _ = get_active_backend()
    if getattr(backend, "nesting_level", 0) >= 1:
        declared = os.environ.get("OMP_NUM_THREADS", "")
        return int(declared) if declared.isdigit() and int(declared) > 0 else 1
    return default


def _replace(plan: FitPlan, **changes) -> FitPlan:
    from dataclasses import replace

    return replace(plan, **changes)


def _same_params(a: dict, b: dict) -> bool:
    """Whether two ``get_params(deep=False)`` dicts hold the same values."""
    if a.keys() != b.keys():
        return False
    for key in a:
        x, y = a[key], b[key]
        if x is y:
            continue
        try:
            if type(x) is not type(y) or not bool(x == y):
                return False
        except Exception:  # e.g. arrays, objects without a plain ==
            return False
    return True


def _carry_optimizer_state(source, target) -> None:
    """Give a rebuilt ``partial_fit`` optimizer the running statistics of the last
    one (same parameters in the same order) while keeping its own settings (a
    changed lr or weight_decay). Nothing is carried if the two do not match."""
    if type(source) is not type(target):
        return
    groups = [dict(g) for g in target.param_groups]
    try:
        target.load_state_dict(source.state_dict())
    except (ValueError, KeyError, RuntimeError):
        return
    for group, settings in zip(target.param_groups, groups):
        group.update({k: v for k, v in settings.items() if k != "params"})


def _joined_history(before, after):
    """``before``'s epochs followed by ``after``'s, renumbered to run on."""
    from skorch.history import History

    joined = History()
    for row in list(before) + list(after):
        row = dict(row)
        row["epoch"] = len(joined) + 1
        joined.append(row)
    return joined


def _concat(parts: list) -> np.ndarray:
    """Concatenate batches along axis 0, padding axis 1 where batch lengths differ."""
    if parts[0].ndim >= 2 and len({p.shape[1] for p in parts}) > 1:
        width = max(p.shape[1] for p in parts)
        parts = [
            np.pad(p, [(0, 0), (0, width - p.shape[1])] + [(0, 0)] * (p.ndim - 2))
            for p in parts
        ]
    return np.concatenate(parts, axis=0)
