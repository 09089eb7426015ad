"""The parameters every sksequence estimator shares, declared once.

Each estimator class declares its own parameters (``_own_params``), its defaults for
the shared ones (``_shared_defaults``) and whether it offers truncated BPTT
(``_supports_truncate_bptt``); :func:`make_init` turns that into the ``__init__``
scikit-learn reads the parameters from (an explicit signature; the body only stores
the arguments), and :func:`params_doc` into the numpydoc ``Parameters`` entries.
"""

from __future__ import annotations

import inspect
import textwrap
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any

import torch
from sklearn.utils._param_validation import Interval, StrOptions

__all__ = ["SHARED", "Param", "make_init", "params_doc", "OPTIMIZERS"]

OPTIMIZERS = {
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
    "sgd": torch.optim.SGD,
    "rmsprop": torch.optim.RMSprop,
}


@dataclass(frozen=True)
class Param:
    """One parameter: its default, its scikit-learn constraints and its doc entry.

    ``doc`` is the numpydoc body (indented by :func:`params_doc`); ``{default}`` in
    ``type_doc`` is replaced by the class's default.
    """

    default: Any
    constraints: list
    type_doc: str
    doc: str = ""


_OPT_TYPE = (
    '{{"adam", "adamw", "sgd", "rmsprop"}} or torch optimizer class, default={default}'
)

SHARED: dict[str, Param] = {
    "hidden_size": Param(
        64,
        [Interval(Integral, 1, None, closed="left")],
        "int, default={default}",
        "Units per recurrent layer (and direction).",
    ),
    "num_layers": Param(
        1, [Interval(Integral, 1, None, closed="left")], "int, default={default}"
    ),
    "cell": Param(
        "lstm", [StrOptions({"lstm", "gru"})], '{{"lstm", "gru"}}, default={default}'
    ),
    "bidirectional": Param(False, ["boolean"], "bool, default={default}"),
    "dropout": Param(
        0.0,
        [Interval(Real, 0, 1, closed="left")],
        "float, default={default}",
        "Dropout between stacked recurrent layers (``num_layers > 1``); with "
        "``num_layers=1`` it has no effect, and fit warns.",
    ),
    "max_epochs": Param(
        100,
        [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        'int or "auto", default={default}',
        'Upper bound on the passes over the training data. "auto": the '
        "estimator's budget of optimizer updates (see its description) turned into "
        "epochs for the data at hand, so that a small data set gets as many "
        "updates as a large one (at least one epoch).",
    ),
    "batch_size": Param(
        32, [Interval(Integral, 1, None, closed="left")], "int, default={default}"
    ),
    "lr": Param(
        1e-3,
        [Interval(Real, 0, None, closed="neither")],
        "float, default={default}",
        "Learning rate (the peak of the schedule, if there is one).",
    ),
    "optimizer": Param("adam", [StrOptions(set(OPTIMIZERS)), callable], _OPT_TYPE),
    "weight_decay": Param(
        0.0, [Interval(Real, 0, None, closed="left")], "float, default={default}"
    ),
    "clip_grad_norm": Param(
        1.0,
        [Interval(Real, 0, None, closed="neither"), None],
        "float or None, default={default}",
        "Clip the global gradient norm to this value before every optimizer step "
        "(the exploding-gradient defence); None turns clipping off. The per-epoch "
        "pre-clipping norm is in ``history_`` as ``grad_norm`` and "
        "``grad_norm_max``.",
    ),
    "early_stopping": Param(
        False,
        ["boolean"],
        "bool, default={default}",
        "Hold out ``validation_fraction`` of the sequences (or use ``X_val`` given "
        "to ``fit``), monitor the validation loss, stop when it has not improved by "
        "``tol`` (relative) for ``n_iter_no_change`` epochs, and restore the best "
        "weights.",
    ),
    "validation_fraction": Param(
        0.1, [Interval(Real, 0, 1, closed="neither")], "float, default={default}"
    ),
    "n_iter_no_change": Param(
        10, [Interval(Integral, 1, None, closed="left")], "int, default={default}"
    ),
    "tol": Param(
        1e-4, [Interval(Real, 0, None, closed="left")], "float, default={default}"
    ),
    "device": Param(
        "cpu",
        [str, torch.device],
        "str or torch.device, default={default}",
        'Where to train and predict: "cpu", "cuda", "cuda:1", "mps", ... or "auto" '
        '("cuda" when a GPU is available to torch, else "cpu"). Checked at fit: '
        "a device torch cannot use here is a ValueError.",
    ),
    "n_threads": Param(
        None,
        [Interval(Integral, 1, None, closed="left"), None],
        "int or None, default={default}",
        "CPU threads torch may use inside ``fit`` and prediction, at most the "
        "caller's setting (``torch.get_num_threads()``) and a parallel worker's "
        "share; the caller's setting is restored afterwards. None: 1 for models "
        "under a million parameters, where more threads gain little and, on a busy "
        "machine, spin; the caller's setting for larger ones. See :ref:`threads` in "
        "the user guide.",
    ),
    "random_state": Param(
        None,
        ["random_state"],
        "int, RandomState instance or None, default={default}",
        "Seeds weight initialisation, shuffling, training-time randomness and the "
        "validation split through generators of the fit's own; the global torch "
        "generator is left untouched. The same value and data give the same model "
        "on CPU. (torch's dropout takes no generator: with ``dropout > 0`` the "
        "masks come from torch's global generator, seeded for the fit, so fits run "
        "in parallel *threads* with dropout may differ from serial ones; process "
        "workers are unaffected.)",
    ),
    "verbose": Param(
        0,
        ["verbose"],
        "int, default={default}",
        "0: silent. 1: one line per epoch (epoch k/max_epochs, losses, time), "
        "prefixed with the estimator's name.",
    ),
    "callbacks": Param(
        None,
        [list, None],
        "list of skorch callbacks, default={default}",
        "Extra skorch callbacks, copied at each fit (see the user guide for which "
        "skorch callbacks apply).",
    ),
    "warm_start": Param(
        False,
        ["boolean"],
        "bool, default={default}",
        "When fitted already, ``fit`` continues from the fitted weights (another "
        "training budget; ``history_`` runs on), keeping what the first fit learnt "
        "from its data. The way to go on after a ``DivergenceWarning``, e.g. with a "
        "smaller ``lr``. See also ``partial_fit``.",
    ),
}

TRUNCATE_BPTT = Param(
    None,
    [Interval(Integral, 1, None, closed="left"), None],
    "int or None, default={default}",
    "Truncated backpropagation through time: run the recurrences this many steps at "
    "a time, carrying the state across chunks but cutting gradients at chunk "
    "borders, so training memory does not grow with sequence length.",
)


def all_params(cls) -> dict[str, Param]:
    """The class's parameters in signature order: its own, then the shared ones
    (with the class's defaults and doc overrides), then ``truncate_bptt`` if
    offered."""
    out = dict(cls._own_params)
    overrides = getattr(cls, "_shared_defaults", {})
    docs = getattr(cls, "_shared_docs", {})
    for name, param in SHARED.items():
        default = overrides.get(name, param.default)
        doc = docs.get(name, param.doc)
        out[name] = Param(default, param.constraints, param.type_doc, doc)
    if getattr(cls, "_supports_truncate_bptt", False):
        out["truncate_bptt"] = Param(
            None, TRUNCATE_BPTT.constraints, TRUNCATE_BPTT.type_doc, TRUNCATE_BPTT.doc
        )
    return out


def make_init(cls):
    """An ``__init__`` that stores every parameter, with an explicit signature.

    The first own parameter may be positional when the class says so
    (``_positional_first``); all others are keyword-only, as in scikit-learn.
    """
    params = all_params(cls)
    first = next(iter(cls._own_params), None) if cls._positional_first else None
    sig_params = [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    for name, param in params.items():
        kind = (
            inspect.Parameter.POSITIONAL_OR_KEYWORD
            if name == first
            else inspect.Parameter.KEYWORD_ONLY
        )
        sig_params.append(inspect.Parameter(name, kind, default=param.default))
    signature = inspect.Signature(sig_params)

    def __init__(self, *args, **kwargs):
        bound = signature.bind(self, *args, **kwargs)
        bound.apply_defaults()
        for name, value in list(bound.arguments.items())[1:]:
            setattr(self, name, value)

    __init__.__signature__ = signature
    __init__.__qualname__ = f"{cls.__name__}.__init__"
    __init__.__doc__ = f"Store the parameters of {cls.__name__} (see the class)."
    return __init__


def constraints(cls) -> dict:
    """``_parameter_constraints`` for scikit-learn's parameter validation."""
    out = {name: param.constraints for name, param in all_params(cls).items()}
    out.update(getattr(cls, "_extra_constraints", {}))
    return out


def params_doc(cls) -> str:
    """The numpydoc ``Parameters`` entries of every parameter of ``cls``.

    A doc written on several lines keeps its lines (dedented); a one-line doc is
    wrapped.
    """
    lines = []
    for name, param in all_params(cls).items():
        lines.append(
            f"    {name} : {param.type_doc.format(default=repr(param.default))}"
        )
        doc = inspect.cleandoc(param.doc)
        body = doc.splitlines() if "\n" in doc else textwrap.wrap(doc, 78)
        lines += [f"        {line}".rstrip() for line in body]
    return "\n".join(lines)


PARAMETERS_MARKER = "    %(parameters)s"


def fill_docstring(cls) -> None:
    """Put the generated parameter entries where the class docstring has the
    marker line ``%(parameters)s``."""
    if cls.__doc__ and PARAMETERS_MARKER in cls.__doc__:
        cls.__doc__ = cls.__doc__.replace(PARAMETERS_MARKER, params_doc(cls))
