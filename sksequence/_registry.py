"""The estimator classes model files may name, filled as the classes are defined.

``BaseSequenceEstimator.__init_subclass__`` registers every public subclass here, so
:mod:`sksequence.persistence` finds classes by name without importing the package or
the base (and never imports a name read from a file).
"""

from __future__ import annotations

import importlib

__all__ = ["ESTIMATORS", "estimator_name", "load_builtin", "register_estimator"]

# sksequence's own estimator modules (the package imports them lazily)
_BUILTIN = ("._autoencoder", "._classifier", "._seq2seq", ".anomaly")

#: name in a model file -> class
ESTIMATORS: dict[str, type] = {}


def estimator_name(cls: type) -> str:
    """The name files use for ``cls``: the bare class name for sksequence's own
    estimators, the dotted module path and qualified name for any other subclass."""
    if cls.__module__.split(".")[0] == "sksequence":
        return cls.__name__
    return f"{cls.__module__}.{cls.__qualname__}"


def register_estimator(cls: type) -> None:
    """Register ``cls`` under :func:`estimator_name` (private classes are skipped)."""
    if not cls.__name__.startswith("_"):
        ESTIMATORS[estimator_name(cls)] = cls


def load_builtin() -> dict[str, type]:
    """The registry, with sksequence's own estimators in it (their modules are
    imported by these fixed names, never by a name read from a file)."""
    for module in _BUILTIN:
        importlib.import_module(module, __package__)
    return ESTIMATORS
