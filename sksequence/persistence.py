"""Pickle-free persistence: one ``.safetensors`` file per fitted estimator.

The file holds the torch module's weights as safetensors tensors and, in the
safetensors header's metadata, JSON for everything else: the estimator's class name
and parameters, its fitted attributes, the module's class name and constructor
arguments, the training history, a format version and a SHA-256 checksum of the
weights. Loading parses JSON and raw tensors only, so a file from elsewhere can never
execute code; classes are looked up by name among sksequence's own estimators and
modules, never imported from a name in the file.

When to use which:

- ``pickle`` / ``joblib``: scikit-learn's convention; any estimator, also inside
  pipelines, exactly as it was (custom callbacks included). Only load pickles you
  trust: unpickling runs code.
- ``est.save(path)`` / ``sksequence.load(path)``: for sharing or deploying a single
  fitted sksequence estimator, loading files you did not write, or long-term
  storage (a versioned, documented format). Training-only parameters that are not
  plain values (user ``callbacks``, a custom optimizer class) are not stored.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import pkgutil
import tempfile
from pathlib import Path

import numpy as np
import torch

FORMAT = "sksequence"
FORMAT_VERSION = 1

__all__ = ["save", "load", "FORMAT_VERSION"]


# -- JSON for numpy / torch values ----------------------------------------------------
def _encode(value, where: str):
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (np.bool_, np.integer, np.floating)):
        return value.item()
    if isinstance(value, np.ndarray):
        if value.dtype.kind == "O":
            return {
                "__ndarray__": [_encode(v, where) for v in value.tolist()],
                "dtype": "object",
                "shape": list(value.shape),
            }
        return {
            "__ndarray__": value.ravel().tolist(),
            "dtype": value.dtype.str,
            "shape": list(value.shape),
        }
    if isinstance(value, torch.Tensor):
        return {"__tensor__": _encode(value.detach().cpu().numpy(), where)}
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v, where) for v in value]}
    if isinstance(value, list):
        return [_encode(v, where) for v in value]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {k: _encode(v, f"{where}[{k!r}]") for k, v in value.items()}
    raise TypeError(
        f"Cannot save {where} of type {type(value).__name__} in the pickle-free format; "
        "use pickle or joblib for this estimator."
    )


def _decode(value):
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if isinstance(value, dict):
        if "__ndarray__" in value:
            data = [_decode(v) for v in value["__ndarray__"]]
            if value["dtype"] == "object":
                out = np.empty(len(data), dtype=object)
                out[:] = data
                return out.reshape(value["shape"])
            return np.asarray(data, dtype=np.dtype(value["dtype"])).reshape(
                value["shape"]
            )
        if "__tensor__" in value:
            return torch.as_tensor(_decode(value["__tensor__"]))
        if "__tuple__" in value:
            return tuple(_decode(v) for v in value["__tuple__"])
        return {k: _decode(v) for k, v in value.items()}
    return value


def _checksum(tensors: dict) -> str:
    h = hashlib.sha256()
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        h.update(name.encode())
        h.update(str(t.dtype).encode())
        h.update(str(tuple(t.shape)).encode())
        h.update(t.numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


def _registry():
    import sksequence
    from sksequence import nn as sknn
    from sksequence._base import BaseSequenceEstimator

    estimators = {
        name: obj
        for name in sksequence.__all__
        if isinstance(obj := getattr(sksequence, name), type)
        and issubclass(obj, BaseSequenceEstimator)
    }
    modules = {}
    for info in pkgutil.iter_modules(sknn.__path__):
        mod = importlib.import_module(f"{sknn.__name__}.{info.name}")
        for name, obj in vars(mod).items():
            if (
                isinstance(obj, type)
                and issubclass(obj, torch.nn.Module)
                and obj.__module__.startswith(sknn.__name__)
            ):
                modules[name] = obj
    return estimators, modules


_SKIP_PARAMS = {"callbacks"}


# -- save -------------------------------------------------------------------------------
def save(estimator, path) -> None:
    """Write a fitted sksequence estimator to ``path`` (pickle-free, atomic).

    The file is written to a temporary file in the same folder and moved over
    ``path`` only when complete, so a crash mid-save leaves any previous file intact.
    """
    from safetensors.torch import save_file
    from sklearn.utils.validation import check_is_fitted

    from .utils.validation import check_savable

    check_savable(estimator)  # a Pipeline, a search...: say what to use instead
    check_is_fitted(estimator, "net_")
    params = {}
    for name, value in estimator.get_params(deep=False).items():
        if name in _SKIP_PARAMS:
            continue
        if name == "optimizer" and not isinstance(value, str):
            raise TypeError(
                "Only optimizer names ('adam', 'adamw', 'sgd', 'rmsprop') can be saved "
                "in the pickle-free format; use pickle or joblib for a custom optimizer."
            )
        params[name] = _encode(value, f"parameter {name!r}")
    attributes = {
        name: _encode(value, f"attribute {name!r}")
        for name, value in vars(estimator).items()
        if name not in params
        and name not in _SKIP_PARAMS
        and name not in ("net_", "history_", "_module_spec", "_incremental_params")
    }
    module_name, module_kwargs = estimator._module_spec
    history = [
        {k: v for k, v in row.items() if k != "batches"} for row in estimator.history_
    ]
    tensors = {
        k: v.detach().cpu().contiguous().clone()
        for k, v in estimator.net_.module_.state_dict().items()
    }
    import sksequence

    metadata = {
        "format": FORMAT,
        "format_version": str(FORMAT_VERSION),
        "sksequence_version": sksequence.__version__,
        "estimator": type(estimator).__name__,
        "params": json.dumps(params),
        "attributes": json.dumps(attributes),
        "module": module_name,
        "module_kwargs": json.dumps(_encode(module_kwargs, "module arguments")),
        "history": json.dumps(_encode(history, "history")),
        "checksum": _checksum(tensors),
    }
    path = Path(path)
    fd, tmp = tempfile.mkstemp(
        prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or "."
    )
    os.close(fd)
    try:
        save_file(tensors, tmp, metadata=metadata)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


# -- load -------------------------------------------------------------------------------
def _bad(path, why: str) -> ValueError:
    return ValueError(f"{path} is not a valid sksequence model file: {why}.")


def load(path, *, device=None, expected_class=None):
    """Load an estimator written by :func:`save` (or ``est.save``).

    Parameters
    ----------
    path : str or Path
    device : str, optional
        Override the saved ``device`` (e.g. load a GPU-trained model on "cpu"). By
        default a CUDA model loads on the CPU when CUDA is not available.

    Raises
    ------
    ValueError
        If the file is truncated, tampered with, of an unknown format version, or not
        an sksequence file.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file, safe_open
    from skorch.history import History

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No such model file: {path}")
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
        tensors = load_file(str(path))
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise _bad(path, f"it could not be read as safetensors ({exc})") from None
    if meta.get("format") != FORMAT:
        raise _bad(path, "it has no sksequence metadata")
    version = meta.get("format_version")
    if version != str(FORMAT_VERSION):
        raise ValueError(
            f"{path} uses sksequence file format version {version}, but this sksequence "
            f"reads version {FORMAT_VERSION}; load it with the sksequence version that "
            f"wrote it ({meta.get('sksequence_version', 'unknown')})."
        )
    if _checksum(tensors) != meta.get("checksum"):
        raise _bad(
            path, "the weights do not match their checksum (modified or corrupt)"
        )
    estimators, modules = _registry()
    cls_name, module_name = meta.get("estimator"), meta.get("module")
    if cls_name not in estimators:
        raise _bad(path, f"unknown estimator class {cls_name!r}")
    if module_name not in modules:
        raise _bad(path, f"unknown module class {module_name!r}")
    cls = estimators[cls_name]
    if expected_class is not None and not issubclass(cls, expected_class):
        raise TypeError(f"{path} holds a {cls_name}, not a {expected_class.__name__}.")
    try:
        params = _decode(json.loads(meta["params"]))
        attributes = _decode(json.loads(meta["attributes"]))
        module_kwargs = _decode(json.loads(meta["module_kwargs"]))
        history = _decode(json.loads(meta["history"]))
    except (KeyError, json.JSONDecodeError, TypeError, ValueError) as exc:
        raise _bad(path, f"its metadata is damaged ({exc})") from None
    if device is None and str(params.get("device", "cpu")).startswith("cuda"):
        if not torch.cuda.is_available():
            device = "cpu"
    if device is not None:
        params["device"] = device
    estimator = cls(**params)
    for name, value in attributes.items():
        setattr(estimator, name, value)
    net = estimator._build_net(modules[module_name], module_kwargs, training=False)
    with torch.random.fork_rng(devices=[]):
        net.initialize()
    try:
        net.module_.load_state_dict(tensors)
    except RuntimeError as exc:
        raise _bad(path, f"its weights do not fit {module_name} ({exc})") from None
    net.module_.to(estimator._torch_device())
    net.history = History(history)
    estimator.net_ = net
    estimator.history_ = net.history
    estimator._module_spec = (module_name, module_kwargs)
    return estimator
