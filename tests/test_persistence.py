"""Pickle-free save/load: round trips, atomic writes, damaged and hostile files."""

import json
import pickle
import struct

import numpy as np
import pytest

import sksequence
from sksequence import (
    LSTMAutoencoderTransformer,
    Seq2SeqClassifier,
    Seq2SeqRegressor,
    SequenceClassifier,
    persistence,
)

FAST = dict(hidden_size=4, max_epochs=2, random_state=0)


@pytest.fixture(scope="module")
def data():
    rng = np.random.RandomState(0)
    X = rng.rand(24, 6, 2)
    return {
        "X": X,
        "labels": rng.choice(["cat", "dog"], 24),
        "y_seq": rng.rand(24, 3, 2),
        "tokens": rng.choice(["a", "b", "c"], (24, 3)),
    }


def _fitted(kind, data):
    X = data["X"]
    if kind == "autoencoder":
        return LSTMAutoencoderTransformer(n_components=3, **FAST).fit(X), "transform"
    if kind == "classifier":
        return SequenceClassifier(**FAST).fit(X, data["labels"]), "predict_proba"
    if kind == "regressor":
        return Seq2SeqRegressor(**FAST).fit(X, data["y_seq"]), "predict"
    return Seq2SeqClassifier(**FAST).fit(X, data["tokens"]), "predict"


@pytest.mark.parametrize("kind", ["autoencoder", "classifier", "regressor", "seq2seq"])
def test_round_trip_gives_identical_outputs(kind, data, tmp_path):
    est, method = _fitted(kind, data)
    path = tmp_path / "model.safetensors"
    est.save(path)
    loaded = sksequence.load(path)
    assert type(loaded) is type(est)
    assert loaded.get_params() == {**est.get_params(), "callbacks": None}
    out, expected = getattr(loaded, method)(data["X"]), getattr(est, method)(data["X"])
    np.testing.assert_array_equal(out, expected)
    assert len(loaded.history_) == len(est.history_)
    assert loaded.history_[-1, "train_loss"] == est.history_[-1, "train_loss"]
    assert type(est).load(path).n_features_in_ == 2


def test_load_checks_the_class(data, tmp_path):
    est, _ = _fitted("autoencoder", data)
    est.save(tmp_path / "ae.st")
    with pytest.raises(TypeError, match="holds a LSTMAutoencoderTransformer"):
        SequenceClassifier.load(tmp_path / "ae.st")


def test_crash_mid_save_keeps_the_previous_file(data, tmp_path, monkeypatch):
    est, _ = _fitted("autoencoder", data)
    path = tmp_path / "ae.st"
    est.save(path)
    before = path.read_bytes()

    import safetensors.torch

    def crash(tensors, filename, metadata=None):
        with open(filename, "wb") as f:
            f.write(b"half a file")
        raise KeyboardInterrupt  # e.g. Ctrl+C or a kill in the middle of the write

    monkeypatch.setattr(safetensors.torch, "save_file", crash)
    with pytest.raises(KeyboardInterrupt):
        est.save(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["ae.st"]  # no temp file left
    monkeypatch.undo()
    np.testing.assert_array_equal(
        sksequence.load(path).transform(data["X"]), est.transform(data["X"])
    )


def test_truncated_file_is_a_clear_error(data, tmp_path):
    est, _ = _fitted("autoencoder", data)
    path = tmp_path / "ae.st"
    est.save(path)
    path.write_bytes(path.read_bytes()[:-50])
    with pytest.raises(ValueError, match="not a valid sksequence model file"):
        sksequence.load(path)


def test_tampered_weights_fail_the_checksum(data, tmp_path):
    est, _ = _fitted("autoencoder", data)
    path = tmp_path / "ae.st"
    est.save(path)
    raw = bytearray(path.read_bytes())
    raw[-3] ^= 0xFF  # flip bits in the last tensor's data
    path.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match="checksum"):
        sksequence.load(path)


def _rewrite_metadata(path, **changes):
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    header["__metadata__"].update(changes)
    new = json.dumps(header).encode()
    new += b" " * (-len(new) % 8)
    path.write_bytes(struct.pack("<Q", len(new)) + new + raw[8 + n :])


@pytest.mark.parametrize(
    "changes, match",
    [
        ({"estimator": "os.system"}, "unknown estimator class"),
        ({"module": "subprocess.Popen"}, "unknown module class"),
        ({"format_version": "99"}, "format version 99"),
        ({"params": "{not json"}, "metadata is damaged"),
        ({"format": "other"}, "no sksequence metadata"),
    ],
)
def test_tampered_metadata_is_refused(changes, match, data, tmp_path):
    est, _ = _fitted("autoencoder", data)
    path = tmp_path / "ae.st"
    est.save(path)
    _rewrite_metadata(path, **changes)
    with pytest.raises(ValueError, match=match):
        sksequence.load(path)


class _Boom:
    def __reduce__(self):
        return (open, ("/tmp/sksequence-pwned", "w"))


def test_load_never_executes_code_from_the_file(tmp_path):
    path = tmp_path / "evil.st"
    path.write_bytes(pickle.dumps(_Boom()))
    with pytest.raises(ValueError, match="not a valid sksequence model file"):
        sksequence.load(path)
    import os

    assert not os.path.exists("/tmp/sksequence-pwned")


def test_cuda_model_loads_on_cpu_when_no_gpu(data, tmp_path):
    import torch

    est, _ = _fitted("autoencoder", data)
    est.device = "cuda"  # as if trained on a GPU: the saved parameters say cuda
    est.save(tmp_path / "gpu.st")
    loaded = sksequence.load(tmp_path / "gpu.st")
    if not torch.cuda.is_available():
        assert loaded.device == "cpu"
    est.device = "cpu"
    np.testing.assert_allclose(loaded.transform(data["X"]), est.transform(data["X"]))


def test_unsaveable_parameters_are_reported(data, tmp_path):
    import torch

    est = LSTMAutoencoderTransformer(optimizer=torch.optim.Adam, **FAST).fit(data["X"])
    with pytest.raises(TypeError, match="use pickle or joblib"):
        est.save(tmp_path / "x.st")
    assert persistence.FORMAT_VERSION == 1
