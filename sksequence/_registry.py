"""The estimator classes model files may name, filled as the classes are defined.

``BaseSequenceEstimator.__init_subclass__`` registers every public subclass here, so
:mod:`sksequence.persistence` finds classes by name without importing the package or
the base (and never imports a name read from a file).
"""

from __future__ import annotations

__all__ = ["ESTIMATORS", "estimator_name", "register_estimator"]

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
