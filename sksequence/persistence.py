"""Pickle-free persistence: one ``.safetensors`` file per fitted estimator.

The file holds the torch module's weights as safetensors tensors and, in the
safetensors header's metadata, JSON for everything else: the estimator's class name
and parameters, its fitted attributes, the module's class name and constructor
arguments, the training history, a format version and a SHA-256 checksum. Loading
parses JSON and raw tensors only, so a file from elsewhere can never execute code;
classes are looked up by name among the registered sksequence estimators (and the
module class each of them declares), never imported from a name in the file.

When to use which:

- ``pickle`` / ``joblib``: scikit-learn's convention; any estimator, also inside
  pipelines, exactly as it was (custom callbacks included). Only load pickles you
  trust: unpickling runs code.
- ``est.save(path)`` / ``sksequence.load(path)``: for sharing or deploying a single
  fitted sksequence estimator, loading files you did not write, or long-term
  storage (a versioned, documented format).

What is stored
--------------
Every parameter except ``callbacks`` (a loaded estimator has ``callbacks=None``):
numbers, strings, None, tuples, lists, dicts with keys of any of these types (such
as ``class_weight={0: 1.0, 1: 2.0}``), numpy arrays and scalars, ``bytes``,
``datetime``/``date``/``timedelta`` values, and sksequence estimators
(``SequenceClassifier(encoder=...)``: the encoder, fitted or not, is stored in the
same file, as is one wrapped in :class:`sklearn.frozen.FrozenEstimator`). Of the
fitted state, the attributes each estimator declares (``classes_``,
``n_features_in_``, ...; any other attribute set on the instance is not stored),
the module's weights and arguments, and ``history_``. Class labels may be of any
type numpy stores in a plain array (numbers, booleans, strings, bytes,
``datetime64``) or Python strings, numbers, bytes and datetimes in an object array.
A subclass of an sksequence estimator is stored under its module path and class
name, and loads in a program that has imported that module (nothing is imported
from a name in a file). A :class:`~sksequence.SlidingWindowAnomalyDetector`,
which has no module of its own, is stored with its parameters, its declared
fitted attributes (``offset_``, the standardisation...) and its fitted
autoencoder as a nested estimator in the same file; ``load`` checks that they fit
together.
``save`` raises a ``TypeError`` naming the parameter or attribute for anything else
(a custom optimizer class, a ``RandomState`` instance as ``random_state``, other
objects): use pickle or joblib for those.

What ``load`` checks
--------------------
A file that fails any check raises ``ValueError`` ("... is not a valid sksequence
model file: <why>"), before any module is built:

- the format and version: a file of another format version (such as format 1,
  whose checksum covered the weights only) is refused with a message naming the
  sksequence version that wrote it, which reads it;
- the SHA-256 checksum, which covers every metadata entry and every tensor: an
  edited parameter, attribute (``classes_``, ``y_mean_``), module argument or
  history entry fails it as edited weights do. It detects corruption and careless
  edits; it is not a signature (anyone can recompute it), so the checks below hold
  for files crafted with a matching checksum too;
- parameters: a mapping of the class's own parameter names to values that pass the
  class's parameter validation; a known device (a device this machine lacks, such
  as CUDA on a CPU-only machine, becomes ``"cpu"``);
- attributes: only the class's declared fitted attributes (a file cannot set
  methods, parameters or private state);
- the module: the class the estimator declares, with arguments of its signature,
  whose parameters and buffers have exactly the stored tensors' names and shapes.
  This is checked on torch's ``meta`` device (no memory) while counting the layers
  being built, so a small file cannot make ``load`` allocate or build more than the
  tensors it holds;
- JSON values: nested at most 32 levels; arrays of plain dtypes only (numbers,
  booleans, strings, bytes, datetimes, Python objects listed one by one), whose
  stored bytes or items match their shape, so no array is larger than the file.

The file is read once, into memory, and parsed from there: a save that replaces it
meanwhile cannot mix two files.

Writing
-------
``save`` writes a hidden temporary file in the target's folder and moves it over
the target only when complete (a crash keeps any previous file). The file gets the
permissions the umask gives a new file, or keeps the mode of the file it replaces.
A temporary file left by a killed save is removed by the next save of the same
path (once no process holds it open and it is 10 s old).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import datetime
import hashlib
import inspect
import json
import math
import os
import re
import secrets
import stat
import struct
import threading
import time
from pathlib import Path

import numpy as np
import torch

from ._registry import ESTIMATORS, estimator_name

FORMAT = "sksequence"
#: 2: the checksum covers the metadata; arrays are stored as bytes; nested estimators.
FORMAT_VERSION = 2

__all__ = ["save", "load", "FORMAT_VERSION"]

_SKIP_PARAMS = {"callbacks"}
_MAX_DEPTH = 32  # nesting of stored values
_MAX_NDIM = 32
_MAX_ESTIMATORS = 16  # estimators in one file (the saved one and e.g. its encoder)
_STALE_AFTER_S = 10  # a temporary file this old that no process holds is an orphan
# numpy dtypes stored in arrays: bool, ints, floats, complex, datetime64,
# timedelta64, bytes, str (e.g. "<f8", "|S3", "<U5", "<M8[ns]")
_PLAIN_DTYPE = re.compile(r"[<>|=]?[biufcmMSU][1-9][0-9]{0,4}(\[[0-9]*[A-Za-z]+\])?")


class _Malformed(ValueError):
    """A file's content is not what this format allows (the text says why)."""


# -- values <-> JSON --------------------------------------------------------------------
# Plain JSON values stay as they are; anything else is an object with one key that
# starts with "__" (the tag). A dict with str keys none of which starts with "__"
# is stored as a JSON object, any other dict as a list of [key, value] pairs.
def _encode(value, where: str, writer=None, depth: int = 0):
    """``value`` as JSON-able data (raises TypeError naming ``where``)."""
    if depth > _MAX_DEPTH:
        raise TypeError(
            f"Cannot save {where}: it is nested more than {_MAX_DEPTH} levels deep."
        )
    deeper = depth + 1
    if value is None or isinstance(value, (bool, np.bool_)):
        return None if value is None else bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, bytes):
        return {"__bytes__": base64.b64encode(bytes(value)).decode("ascii")}
    if type(value) is datetime.datetime:
        return {"__datetime__": value.isoformat()}
    if type(value) is datetime.date:
        return {"__date__": value.isoformat()}
    if type(value) is datetime.timedelta:
        return {"__timedelta__": [value.days, value.seconds, value.microseconds]}
    if isinstance(value, np.generic) and value.dtype.kind in "mMc":
        array = _encode_array(np.asarray(value), where, writer, deeper)
        return {"__scalar__": array["__ndarray__"]}
    if isinstance(value, np.ndarray):
        return _encode_array(value, where, writer, deeper)
    if isinstance(value, torch.Tensor):
        array = value.detach().cpu().numpy()
        array = _encode_array(array, where, writer, deeper)
        return {"__tensor__": array["__ndarray__"]}
    if isinstance(value, torch.device):
        return str(value)
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v, where, writer, deeper) for v in value]}
    if isinstance(value, list):
        return [_encode(v, where, writer, deeper) for v in value]
    if isinstance(value, dict):
        if all(isinstance(k, str) and not k.startswith("__") for k in value):
            return {
                str(k): _encode(v, f"{where}[{k!r}]", writer, deeper)
                for k, v in value.items()
            }
        return {
            "__dict__": [
                [
                    _encode(k, f"a key of {where}", writer, deeper),
                    _encode(v, f"{where}[{k!r}]", writer, deeper),
                ]
                for k, v in value.items()
            ]
        }
    if writer is not None and isinstance(value, _frozen_estimator_class()):
        return {"__frozen__": _encode(value.estimator, where, writer, deeper)}
    if writer is not None and type(value) in ESTIMATORS.values():
        return {"__estimator__": writer.add(value, where)}
    raise TypeError(
        f"Cannot save {where} of type {type(value).__name__} in the pickle-free "
        "format; use pickle or joblib for this estimator."
    )


def _encode_array(array: np.ndarray, where: str, writer, depth: int) -> dict:
    if array.dtype.kind == "O":
        items = [_encode(v, f"an item of {where}", writer, depth) for v in array.flat]
        return {
            "__ndarray__": {
                "dtype": "object",
                "shape": list(array.shape),
                "items": items,
            }
        }
    dtype = array.dtype
    if not _PLAIN_DTYPE.fullmatch(dtype.str) or dtype.fields or dtype.subdtype:
        raise TypeError(
            f"Cannot save {where}: arrays of dtype {dtype} are not stored in the "
            "pickle-free format; use pickle or joblib for this estimator."
        )
    data = np.ascontiguousarray(array).tobytes()
    return {
        "__ndarray__": {
            "dtype": dtype.str,
            "shape": list(array.shape),
            "data": base64.b64encode(data).decode("ascii"),
        }
    }


def _decode(value, reader=None, depth: int = 0):
    """The inverse of :func:`_encode`; raises :class:`_Malformed` (a ValueError)
    for anything :func:`_encode` does not write."""
    if depth > _MAX_DEPTH:
        raise _Malformed(f"its values are nested more than {_MAX_DEPTH} levels deep")
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, list):
        return [_decode(v, reader, depth + 1) for v in value]
    if not isinstance(value, dict):
        raise _Malformed(f"it holds a value of type {type(value).__name__}")
    tags = [k for k in value if k.startswith("__")]
    if not tags:
        return {k: _decode(v, reader, depth + 1) for k, v in value.items()}
    if len(value) != 1 or tags[0] not in _DECODERS:
        keys = ", ".join(repr(k) for k in list(value)[:4])
        raise _Malformed(f"it holds a value with unknown tags ({keys})")
    tag, payload = tags[0], value[tags[0]]
    try:
        return _DECODERS[tag](payload, reader, depth + 1)
    except _Malformed:
        raise
    except (TypeError, ValueError, OverflowError, KeyError, binascii.Error) as exc:
        kind = tag.strip("_")
        raise _Malformed(f"it holds a malformed {kind} value ({exc})") from None


def _decode_tuple(payload, reader, depth):
    if not isinstance(payload, list):
        raise _Malformed("it holds a malformed tuple")
    return tuple(_decode(v, reader, depth) for v in payload)


def _decode_dict(payload, reader, depth):
    if not isinstance(payload, list) or not all(
        isinstance(p, list) and len(p) == 2 for p in payload
    ):
        raise _Malformed("it holds a malformed dict")
    out = {}
    for k, v in payload:
        key = _decode(k, reader, depth)
        try:
            hash(key)
        except TypeError:
            raise _Malformed(
                f"it holds a dict key of unhashable type {type(key).__name__}"
            ) from None
        out[key] = _decode(v, reader, depth)
    return out


def _decode_array(payload, reader, depth) -> np.ndarray:
    if not isinstance(payload, dict) or set(payload) not in (
        {"dtype", "shape", "data"},
        {"dtype", "shape", "items"},
    ):
        raise _Malformed("it holds a malformed array")
    shape = payload["shape"]
    if (
        not isinstance(shape, list)
        or len(shape) > _MAX_NDIM
        or not all(type(n) is int and n >= 0 for n in shape)
    ):
        raise _Malformed(f"it holds an array of shape {str(shape)[:80]}")
    size = math.prod(shape)
    if payload["dtype"] == "object":
        items = payload.get("items")
        if not isinstance(items, list) or len(items) != size:
            raise _Malformed(
                f"it holds an array of shape {tuple(shape)} whose items do not match it"
            )
        out = np.empty(size, dtype=object)
        for i, item in enumerate(items):
            out[i] = _decode(item, reader, depth)
        return out.reshape(shape)
    name = payload["dtype"]
    if not isinstance(name, str) or not _PLAIN_DTYPE.fullmatch(name):
        raise _Malformed(
            f"it holds an array of dtype {str(name)[:40]!r}; only plain numeric, "
            "boolean, datetime, bytes and string dtypes are stored"
        )
    dtype = np.dtype(name)
    data = payload.get("data")
    if not isinstance(data, str):
        raise _Malformed("it holds a malformed array")
    if len(data) != 4 * math.ceil(size * dtype.itemsize / 3):  # before decoding
        raise _Malformed(
            f"it holds an array of shape {tuple(shape)} and dtype {dtype.str} whose "
            "stored bytes do not match its size"
        )
    raw = base64.b64decode(data, validate=True)
    if len(raw) != size * dtype.itemsize:
        raise _Malformed(
            f"it holds an array of shape {tuple(shape)} and dtype {dtype.str} whose "
            "stored bytes do not match its size"
        )
    return np.frombuffer(raw, dtype=dtype).reshape(shape).copy()


def _decode_scalar(payload, reader, depth):
    array = _decode_array(payload, reader, depth)
    if array.ndim != 0:
        raise _Malformed("it holds a malformed numpy scalar")
    return array[()]


def _decode_timedelta(payload, reader, depth):
    if not isinstance(payload, list) or not all(type(n) is int for n in payload):
        raise _Malformed("it holds a malformed timedelta")
    days, seconds, microseconds = payload
    return datetime.timedelta(days=days, seconds=seconds, microseconds=microseconds)


def _decode_estimator(payload, reader, depth):
    if reader is None:
        raise _Malformed("it holds an estimator outside an estimator's parameters")
    return reader.estimator(payload)


def _decode_frozen(payload, reader, depth):
    inner = _decode(payload, reader, depth)
    if type(inner) not in ESTIMATORS.values():
        raise _Malformed("it holds a FrozenEstimator of something else")
    return _frozen_estimator_class()(inner)


def _text(payload) -> str:
    if not isinstance(payload, str):
        raise _Malformed("it holds a malformed text value")
    return payload


_DECODERS = {
    "__tuple__": _decode_tuple,
    "__dict__": _decode_dict,
    "__ndarray__": _decode_array,
    "__scalar__": _decode_scalar,
    "__tensor__": lambda p, r, d: torch.as_tensor(_decode_array(p, r, d)),
    "__bytes__": lambda p, r, d: base64.b64decode(_text(p), validate=True),
    "__datetime__": lambda p, r, d: datetime.datetime.fromisoformat(_text(p)),
    "__date__": lambda p, r, d: datetime.date.fromisoformat(_text(p)),
    "__timedelta__": _decode_timedelta,
    "__estimator__": _decode_estimator,
    "__frozen__": _decode_frozen,
}


def _frozen_estimator_class():
    from sklearn.frozen import FrozenEstimator

    return FrozenEstimator


# -- checksum ---------------------------------------------------------------------------
def _file_checksum(metadata: dict, tensors: dict) -> str:
    """SHA-256 over every metadata entry but the checksum and every tensor's name,
    dtype, shape and bytes."""
    h = hashlib.sha256(b"sksequence file checksum, format 2\n")

    def chunk(data: bytes) -> None:
        h.update(struct.pack("<Q", len(data)))
        h.update(data)

    for key in sorted(metadata):
        if key != "checksum":
            chunk(key.encode())
            chunk(str(metadata[key]).encode())
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        chunk(json.dumps([name, str(t.dtype), list(t.shape)]).encode())
        chunk(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


# -- save -------------------------------------------------------------------------------
_ENTRY_FIELDS = ("params", "attributes", "module_kwargs", "history")


class _Writer:
    """Collects the estimators of one file (the saved one first) and their tensors;
    an estimator met twice (``encoder`` and ``encoder_``) is stored once."""

    def __init__(self) -> None:
        self.entries: list = []
        self.tensors: dict = {}
        self._index: dict = {}
        self._seen: list = []  # keeps ids valid

    def add(self, estimator, where: str = "the estimator") -> int:
        if id(estimator) in self._index:
            return self._index[id(estimator)]
        cls = type(estimator)
        name = estimator_name(cls)
        if ESTIMATORS.get(name) is not cls:
            raise TypeError(
                f"Cannot save {where}: its class {cls.__qualname__} is not the "
                f"sksequence estimator registered as {name!r} (private classes are "
                "not registered, and a class defined again replaces the first); use "
                "pickle or joblib."
            )
        if len(self.entries) >= _MAX_ESTIMATORS:
            raise TypeError(
                f"Cannot save {where}: more than {_MAX_ESTIMATORS} estimators in one "
                "file; use pickle or joblib."
            )
        index = len(self.entries)
        self._index[id(estimator)] = index
        self._seen.append(estimator)
        self.entries.append(None)
        entry = {"estimator": name, "params": {}}
        for key, value in estimator.get_params(deep=False).items():
            if key in _SKIP_PARAMS:
                continue
            if key == "optimizer" and not isinstance(value, str):
                raise TypeError(
                    "Only optimizer names ('adam', 'adamw', 'sgd', 'rmsprop') can be "
                    "saved in the pickle-free format; use pickle or joblib for a "
                    "custom optimizer."
                )
            entry["params"][key] = _encode(value, f"parameter {key!r}", self)
        if not getattr(cls, "_holds_module", True):
            # a wrapper (SlidingWindowAnomalyDetector): fitted attributes only, its
            # fitted estimators stored as nested entries
            if _is_fitted(estimator):
                state = estimator._get_fitted_state()
                entry["attributes"] = {
                    k: _encode(v, f"attribute {k!r}", self)
                    for k, v in state["attributes"].items()
                }
        elif hasattr(estimator, "net_"):
            state = estimator._get_fitted_state()
            entry["attributes"] = {
                k: _encode(v, f"attribute {k!r}", self)
                for k, v in state["attributes"].items()
            }
            entry["module"] = state["module"]
            entry["module_kwargs"] = _encode(
                state["module_kwargs"], "module arguments", self
            )
            entry["history"] = _encode(state["history"], "history", self)
            prefix = _prefix(index)
            for key, tensor in state["weights"].items():
                self.tensors[prefix + key] = tensor
        self.entries[index] = entry
        return index


def _is_fitted(estimator) -> bool:
    from sklearn.utils.validation import check_is_fitted

    try:
        check_is_fitted(estimator)
    except Exception:  # NotFittedError
        return False
    return True


def _prefix(index: int) -> str:
    """Tensor names of the file's estimator ``index`` start with this."""
    return "" if index == 0 else f"@{index}/"


def save(estimator, path) -> None:
    """Write a fitted sksequence estimator to ``path`` (pickle-free, atomic).

    The file is written to a temporary file in the same folder and moved over
    ``path`` only when complete, so a crash mid-save leaves any previous file intact.
    It gets the mode the umask gives new files, or keeps the mode of the file it
    replaces.

    Raises
    ------
    TypeError
        If a parameter or fitted attribute cannot be stored (the message names it).
    """
    from safetensors.torch import save as safetensors_bytes
    from sklearn.utils.validation import check_is_fitted

    from . import __version__
    from .utils.validation import check_savable

    check_savable(estimator)  # a Pipeline, a search...: say what to use instead
    if getattr(type(estimator), "_holds_module", True):
        check_is_fitted(estimator, "net_")
    else:
        check_is_fitted(estimator)
    writer = _Writer()
    writer.add(estimator)
    root, nested = writer.entries[0], writer.entries[1:]
    metadata = {
        "format": FORMAT,
        "format_version": str(FORMAT_VERSION),
        "sksequence_version": __version__,
        "estimator": root["estimator"],
        "module": root.get("module", ""),
        **{field: json.dumps(root[field]) for field in _ENTRY_FIELDS if field in root},
        "nested": json.dumps(nested),
    }
    metadata["checksum"] = _file_checksum(metadata, writer.tensors)
    _write_atomically(Path(path), safetensors_bytes(writer.tensors, metadata))


def _write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file, then move it over ``path``."""
    _remove_orphans(path)
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        mode = None  # a new file: the umask applies (os.open's 0o666)
    tmp = path.parent / f".{path.name}.{secrets.token_hex(8)}.tmp"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    fd = os.open(tmp, flags, 0o666)
    try:
        try:
            _lock(fd, blocking=True)  # held while writing: not an orphan
            with open(fd, "wb", closefd=False) as f:
                f.write(data)
            if mode is not None:
                os.chmod(tmp, mode)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _lock(fd: int, blocking: bool) -> bool:
    """Take an exclusive lock on the open file ``fd``; False if another process or
    open file holds it. Without ``fcntl`` (Windows, where an open file cannot be
    deleted anyway) it always succeeds."""
    try:
        import fcntl
    except ImportError:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
    except BlockingIOError:
        return False
    except OSError:  # a file system without locks: age alone decides
        return True
    return True


def _remove_orphans(path: Path) -> None:
    """Delete the temporary files of killed saves of ``path``: named as
    :func:`_write_atomically` (or format 1's ``mkstemp``) names them, at least
    ``_STALE_AFTER_S`` old, and not held by a save in progress."""
    pattern = re.compile(re.escape(f".{path.name}.") + r"[A-Za-z0-9_]{6,32}\.tmp")
    try:
        names = os.listdir(path.parent)
    except OSError:
        return
    for name in names:
        if not pattern.fullmatch(name):
            continue
        candidate = path.parent / name
        try:
            if time.time() - os.stat(candidate).st_mtime < _STALE_AFTER_S:
                continue
            fd = os.open(candidate, os.O_RDONLY)
        except OSError:
            continue
        try:
            orphan = _lock(fd, blocking=False)
        finally:
            os.close(fd)
        if orphan:  # (its writer is gone: no new one can take this random name)
            with contextlib.suppress(OSError):
                os.unlink(candidate)


# -- load -------------------------------------------------------------------------------
def _bad(path, why: str) -> ValueError:
    return ValueError(f"{path} is not a valid sksequence model file: {why}.")


def _device_available(device: torch.device) -> bool:
    if device.type == "cpu":
        return True
    backend = {
        "cuda": torch.cuda,
        "mps": getattr(torch.backends, "mps", None),
        "xpu": getattr(torch, "xpu", None),
    }.get(device.type)
    if backend is None or not backend.is_available():
        return False
    if device.index is not None and hasattr(backend, "device_count"):
        return device.index < backend.device_count()
    return True


def _parse_device(value) -> torch.device | None:
    if not isinstance(value, str):
        return None
    try:
        device = torch.device(value)
    except (RuntimeError, ValueError, TypeError):
        return None
    return device if device.type in ("cpu", "cuda", "mps", "xpu") else None


class _TooLarge(Exception):
    pass


def _build_on_meta(module_cls, kwargs: dict, limit: int):
    """``module_cls(**kwargs)`` on torch's meta device (no memory), stopped with
    :class:`_TooLarge` once more than ``limit`` parameters, buffers and submodules
    have been registered in this thread."""
    from torch.nn.modules import module as nn_module

    count, thread = [0], threading.get_ident()

    def hook(*args):
        if threading.get_ident() == thread:
            count[0] += 1
            if count[0] > limit:
                raise _TooLarge

    handles = [
        nn_module.register_module_parameter_registration_hook(hook),
        nn_module.register_module_buffer_registration_hook(hook),
        nn_module.register_module_module_registration_hook(hook),
    ]
    try:
        with torch.device("meta"):
            return module_cls(**kwargs)
    finally:
        for handle in handles:
            handle.remove()


def _check_module(module_cls, kwargs, weights: dict) -> None:
    """Check the module's arguments against its signature and the stored weights'
    names and shapes, building it only on the meta device."""
    name = module_cls.__name__
    if not isinstance(kwargs, dict):
        raise _Malformed("its module arguments are not a mapping")
    signature = inspect.signature(module_cls.__init__).parameters
    if not any(p.kind is p.VAR_KEYWORD for p in signature.values()):
        for key in kwargs:
            if key not in signature or key == "self":
                raise _Malformed(
                    f"its module arguments hold an unknown argument {key!r} for {name}"
                )

    def out_of_bounds(value) -> bool:  # (how many layers is left to _build_on_meta)
        if isinstance(value, (list, tuple)):
            return any(map(out_of_bounds, value))
        return type(value) is int and abs(value) > 2**31

    for key, value in kwargs.items():
        if out_of_bounds(value):
            raise _Malformed(
                f"its module arguments are out of bounds ({key}={str(value)[:40]})"
            )
    limit = 4 * len(weights) + 64
    try:
        module = _build_on_meta(module_cls, kwargs, limit)
    except _TooLarge:
        raise _Malformed(
            f"its module arguments do not fit its weights: they ask for a {name} of "
            f"more than {limit} parameters, buffers and layers, for "
            f"{len(weights)} stored tensors"
        ) from None
    except Exception as exc:  # the module's own argument checks, torch's
        raise _Malformed(
            f"its module arguments are invalid for {name} ({type(exc).__name__}: "
            f"{str(exc)[:200]})"
        ) from None
    expected = module.state_dict()
    missing = sorted(set(expected) - set(weights))
    unexpected = sorted(set(weights) - set(expected))
    if missing or unexpected:
        raise _Malformed(
            f"its module arguments do not fit its weights: the {name} they build "
            f"has {len(missing)} tensor(s) the file lacks ({', '.join(missing[:3])}), "
            f"the file {len(unexpected)} it has not ({', '.join(unexpected[:3])})"
        )
    for key, want in expected.items():
        got = weights[key]
        if tuple(want.shape) != tuple(got.shape) or (
            want.is_floating_point() != got.is_floating_point()
        ):
            raise _Malformed(
                f"its module arguments do not fit its weights: {key} is "
                f"{tuple(want.shape)} for the arguments but {tuple(got.shape)} "
                f"{got.dtype} in the file"
            )


class _Reader:
    """Restores the estimators of one file (entry 0 is the saved one)."""

    def __init__(self, entries: list, tensors: dict, device) -> None:
        self.entries = entries
        self.tensors = tensors
        self.device = device
        self.done: dict = {}
        self.busy: set = set()
        self.used: set = set()

    def estimator(self, index):
        if type(index) is not int or not 0 <= index < len(self.entries):
            raise _Malformed("it refers to an estimator that is not in the file")
        if index in self.done:
            return self.done[index]
        if index in self.busy:
            raise _Malformed("its estimators refer to each other in a cycle")
        self.busy.add(index)
        self.done[index] = self._restore(index)
        self.busy.discard(index)
        return self.done[index]

    def _restore(self, index: int):
        entry = self.entries[index]
        if not isinstance(entry, dict):
            raise _Malformed("its estimator entries are not mappings")
        name = entry.get("estimator")
        cls = ESTIMATORS.get(name) if isinstance(name, str) else None
        if cls is None:
            raise _Malformed(f"unknown estimator class {str(name)[:80]!r}")
        holds_module = getattr(cls, "_holds_module", True)
        fitted = ("module" if holds_module else "attributes") in entry
        if index == 0 and not fitted:
            raise _Malformed("it holds no fitted model")
        if fitted and not holds_module:
            if set(entry) != {"estimator", "params", "attributes"}:
                raise _Malformed(f"its {name} entry has other entries")
        elif fitted:  # the module first: other checks would follow a wrong class
            module_cls = cls._module_class
            if module_cls is None:
                raise _Malformed(f"a {name} declares no module class to load")
            if entry["module"] != module_cls.__name__:
                raise _Malformed(
                    f"it names the module class {str(entry['module'])[:80]!r}, but "
                    f"a {name} is built on a {module_cls.__name__}"
                )
            fields = set(_ENTRY_FIELDS)
            if set(entry) != fields | {"estimator", "module"}:
                raise _Malformed(f"its {name} entry lacks some of {sorted(fields)}")
        elif set(entry) != {"estimator", "params"}:
            raise _Malformed(f"its unfitted {name} entry has other entries")
        estimator = cls(**self._params(cls, entry["params"]))
        try:
            estimator._validate_params()
        except (ValueError, TypeError) as exc:
            raise _Malformed(f"its parameters are invalid for {name} ({exc})") from None
        if not fitted:
            return estimator
        attributes = _decode(entry["attributes"], self)
        if not isinstance(attributes, dict):
            raise _Malformed("its fitted attributes are not a mapping")
        allowed = cls._fitted_attribute_names()
        for key in attributes:
            if key not in allowed:
                raise _Malformed(f"it holds an unknown fitted attribute {key!r}")
        if not holds_module:
            try:
                estimator._set_fitted_state({"attributes": attributes})
            except (ValueError, TypeError) as exc:
                raise _Malformed(
                    f"its fitted attributes do not fit a {name} ({exc})"
                ) from None
            return estimator
        history = _decode(entry["history"], self)
        if not isinstance(history, list) or not all(
            isinstance(row, dict) and all(isinstance(k, str) for k in row)
            for row in history
        ):
            raise _Malformed("its history is not a list of epochs")
        kwargs = _decode(entry["module_kwargs"], self)
        prefix = _prefix(index)
        weights = {
            k[len(prefix) :]: t
            for k, t in self.tensors.items()
            if k.startswith(prefix) and (prefix or not k.startswith("@"))
        }
        self.used.update(prefix + k for k in weights)
        _check_module(module_cls, kwargs, weights)
        state = {
            "attributes": attributes,
            "module": entry["module"],
            "module_kwargs": kwargs,
            "weights": weights,
            "history": history,
        }
        try:
            estimator._set_fitted_state(state)
        except (RuntimeError, ValueError, TypeError) as exc:
            raise _Malformed(
                f"its weights do not fit {module_cls.__name__} ({exc})"
            ) from None
        return estimator

    def _params(self, cls, raw) -> dict:
        params = _decode(raw, self)
        if not isinstance(params, dict):
            raise _Malformed("its parameters are not a mapping of names to values")
        names = cls._get_param_names()
        for key in params:
            if key not in names:
                raise _Malformed(
                    f"it holds an unknown parameter {key!r} for {cls.__name__}"
                )
        if "device" in params:
            device = _parse_device(params["device"])
            if device is None:
                raise _Malformed(
                    f"its parameters name an unknown device {str(params['device'])!r}"
                )
            if self.device is not None:
                params["device"] = self.device
            elif not _device_available(device):
                params["device"] = "cpu"
        return params


def load(path, *, device=None, expected_class=None):
    """Load an estimator written by :func:`save` (or ``est.save``).

    Parameters
    ----------
    path : str or Path
    device : str, optional
        Override the saved ``device`` (e.g. load a GPU-trained model on "cpu"). By
        default a model saved on a device this machine lacks (such as CUDA without
        a GPU) loads on the CPU.

    Raises
    ------
    ValueError
        If the file is truncated, tampered with, of an unknown format version, or
        not an sksequence file, or asks for a module its weights do not fit (see
        the checks listed in :mod:`sksequence.persistence`).
    TypeError
        If ``expected_class`` is given and the file holds another estimator.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load as load_tensors

    from ._registry import load_builtin

    load_builtin()  # (the package imports its estimators lazily)
    path = Path(path)
    if device is not None:
        parsed = _parse_device(str(device))
        if parsed is None or not _device_available(parsed):
            raise ValueError(
                f"device={device!r} is not a device available here; use 'cpu', or "
                "'cuda' on a machine with a GPU."
            )
        device = str(device)
    if not path.is_file():
        raise FileNotFoundError(f"No such model file: {path}")
    raw = path.read_bytes()  # once: a save that replaces the file cannot mix two
    try:
        tensors = load_tensors(raw)
        (n,) = struct.unpack("<Q", raw[:8])
        meta = json.loads(raw[8 : 8 + n]).get("__metadata__") or {}
    except (SafetensorError, OSError, ValueError, RuntimeError, struct.error) as exc:
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
    if _file_checksum(meta, tensors) != meta.get("checksum"):
        raise _bad(
            path,
            "its contents do not match their checksum (modified or corrupt)",
        )
    cls = ESTIMATORS.get(meta.get("estimator"))
    if cls is None:
        raise _bad(path, f"unknown estimator class {meta.get('estimator')!r}")
    if expected_class is not None and not issubclass(cls, expected_class):
        raise TypeError(
            f"{path} holds a {meta['estimator']}, not a {expected_class.__name__}."
        )
    try:
        root = {"estimator": meta["estimator"]}
        if getattr(cls, "_holds_module", True):
            root["module"] = meta["module"]
        for field in _ENTRY_FIELDS:
            if field in meta:
                root[field] = json.loads(meta[field])
        nested = json.loads(meta["nested"])
    except (KeyError, ValueError, RecursionError) as exc:
        raise _bad(path, f"its metadata is damaged ({exc})") from None
    if not isinstance(nested, list) or len(nested) >= _MAX_ESTIMATORS:
        raise _bad(path, "its list of nested estimators is damaged")
    reader = _Reader([root, *nested], tensors, device)
    try:
        estimator = reader.estimator(0)
        for index in range(1, len(reader.entries)):
            reader.estimator(index)
        unused = sorted(set(tensors) - reader.used)
        if unused:
            raise _Malformed(f"it holds tensors of no estimator ({unused[0]}, ...)")
    except _Malformed as exc:
        raise _bad(path, str(exc)) from None
    except RecursionError:
        raise _bad(path, "its values are nested too deeply") from None
    return estimator
