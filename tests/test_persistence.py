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


def test_round_trip_keeps_the_combined_anomaly_reference(data, tmp_path):
    est = LSTMAutoencoderTransformer(anomaly_score="combined", **FAST).fit(data["X"])
    est.save(tmp_path / "ae.st")
    loaded = sksequence.load(tmp_path / "ae.st")
    np.testing.assert_array_equal(
        loaded.anomaly_reference_["features"], est.anomaly_reference_["features"]
    )
    np.testing.assert_array_equal(
        loaded.score_samples(data["X"]), est.score_samples(data["X"])
    )


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

    import os

    def crash(fd):
        raise KeyboardInterrupt  # e.g. Ctrl+C after the data, before the move

    monkeypatch.setattr(os, "fsync", crash)
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


def _read_metadata(path) -> dict:
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    return json.loads(raw[8 : 8 + n])["__metadata__"]


def _rewrite_metadata(path, resign=False, **changes):
    """Change metadata entries in place; ``resign`` recomputes the file's checksum
    (as someone crafting a file would), so the loader's own checks are tested."""
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    header["__metadata__"].update(changes)
    sign = getattr(persistence, "_file_checksum", None)
    if resign and sign is not None:  # (before format 2 only the weights were summed)
        from safetensors.torch import load as load_tensors

        header["__metadata__"]["checksum"] = sign(
            header["__metadata__"], load_tensors(raw)
        )
    new = json.dumps(header).encode()
    new += b" " * (-len(new) % 8)
    path.write_bytes(struct.pack("<Q", len(new)) + new + raw[8 + n :])


def _edit_json(path, field, edit, resign=False):
    """Apply ``edit`` to the decoded JSON of one metadata entry."""
    value = json.loads(_read_metadata(path)[field])
    value = edit(value)
    _rewrite_metadata(path, resign=resign, **{field: json.dumps(value)})


@pytest.mark.parametrize(
    "changes, match",
    [
        ({"estimator": "os.system"}, "unknown estimator class"),
        ({"module": "subprocess.Popen"}, "module class 'subprocess.Popen'"),
        ({"format_version": "99"}, "format version 99"),
        ({"params": "{not json"}, "metadata is damaged"),
        ({"format": "other"}, "no sksequence metadata"),
    ],
)
def test_tampered_metadata_is_refused(changes, match, data, tmp_path):
    est, _ = _fitted("autoencoder", data)
    path = tmp_path / "ae.st"
    est.save(path)
    _rewrite_metadata(path, resign=True, **changes)  # past the checksum
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


def test_cuda_model_loads_on_the_cpu(data, tmp_path):
    import torch

    est, _ = _fitted("autoencoder", data)
    est.device = "cuda"  # as if trained on a GPU: the saved parameters say cuda
    est.save(tmp_path / "gpu.st")
    loaded = sksequence.load(tmp_path / "gpu.st")
    if torch.cuda.is_available():
        # where there is a GPU the model goes back to it; device="cpu" asks for the
        # CPU (the GPU's features could differ from the CPU's by a share flipping
        # at its threshold, so the exact comparison below reads a CPU copy)
        assert loaded.device == "cuda" and loaded.net_.device == "cuda"
        loaded = sksequence.load(tmp_path / "gpu.st", device="cpu")
    assert loaded.device == "cpu" and loaded.net_.device == "cpu"
    est.device = "cpu"
    np.testing.assert_allclose(loaded.transform(data["X"]), est.transform(data["X"]))


def test_unsaveable_parameters_are_reported(data, tmp_path):
    import torch

    est = LSTMAutoencoderTransformer(optimizer=torch.optim.Adam, **FAST).fit(data["X"])
    with pytest.raises(TypeError, match="use pickle or joblib"):
        est.save(tmp_path / "x.st")
    assert [p.name for p in tmp_path.iterdir()] == []  # nothing written


def test_parameters_that_cannot_be_stored_are_named_at_save_time(data, tmp_path):
    est, _ = _fitted("autoencoder", data)
    est.random_state = np.random.RandomState(0)
    with pytest.raises(TypeError, match="parameter 'random_state' of type RandomState"):
        est.save(tmp_path / "x.st")
    assert [p.name for p in tmp_path.iterdir()] == []


# -- format 2: what the checksum covers, reading once, bounds ------------------------
def test_older_format_versions_get_a_clear_error(data, tmp_path):
    est, _ = _fitted("autoencoder", data)
    est.save(tmp_path / "ae.st")
    assert persistence.FORMAT_VERSION == 2
    _rewrite_metadata(tmp_path / "ae.st", format_version="1")
    with pytest.raises(ValueError, match="format version 1, but this sksequence"):
        sksequence.load(tmp_path / "ae.st")


def _reverse(name):
    def edit(attributes):
        value = persistence._decode(attributes[name])
        attributes[name] = persistence._encode(value[::-1].copy(), name)
        return attributes

    return edit


def _scale(name):
    def edit(attributes):
        value = persistence._decode(attributes[name])
        attributes[name] = persistence._encode(value * 10.0, name)
        return attributes

    return edit


def _set(key, value):
    def edit(obj):
        obj[key] = value
        return obj

    return edit


@pytest.mark.parametrize(
    "kind, field, edit",
    [
        ("classifier", "attributes", _reverse("classes_")),  # flips every prediction
        ("regressor", "attributes", _scale("y_mean_")),  # shifts every prediction
        ("regressor", "attributes", _scale("y_scale_")),
        ("autoencoder", "params", _set("lr", 1.0)),
        ("autoencoder", "module_kwargs", _set("reverse_target", False)),
        ("autoencoder", "history", lambda h: h[:1]),
    ],
)
def test_checksum_covers_everything_that_is_loaded(kind, field, edit, data, tmp_path):
    # issue 15 item 3: editing the metadata without the checksum loaded and changed
    # every prediction
    est, _ = _fitted(kind, data)
    path = tmp_path / "m.st"
    est.save(path)
    _edit_json(path, field, edit)
    with pytest.raises(ValueError, match="do not match their checksum"):
        sksequence.load(path)


def test_load_reads_the_file_once(data, tmp_path, monkeypatch):
    # issue 15 item 4: a file replaced between two reads gave spurious checksum errors
    import builtins
    import pathlib

    import safetensors.torch

    one, method = _fitted("classifier", data)
    other = SequenceClassifier(**{**FAST, "random_state": 1}).fit(
        data["X"], data["labels"]
    )
    path, spare = tmp_path / "m.st", tmp_path / "spare.st"
    one.save(path)
    other.save(spare)
    swapped = []

    def swap_after(fn):
        def wrapper(*args, **kwargs):
            out = fn(*args, **kwargs)
            if not swapped and str(path) in {str(a) for a in args}:
                swapped.append(True)  # a concurrent save replaces the file now
                spare.replace(path)
            return out

        return wrapper

    for owner, name in [
        (safetensors.torch, "safe_open"),
        (safetensors.torch, "load_file"),
        (builtins, "open"),
        (pathlib.Path, "read_bytes"),
    ]:
        monkeypatch.setattr(owner, name, swap_after(getattr(owner, name)))
    loaded = sksequence.load(path)
    monkeypatch.undo()
    assert swapped  # the file was replaced while load was under way
    np.testing.assert_array_equal(  # and load answered for the file it read
        loaded.predict_proba(data["X"]), one.predict_proba(data["X"])
    )


def _cpu_and_peak():
    import resource
    import time

    return time.process_time(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


@pytest.mark.parametrize(
    "changes, match",
    [
        ({"hidden_size": 20000}, "do not fit"),  # tried to allocate 6.4 GB
        ({"num_layers": 100000}, "do not fit"),  # built layers for minutes
        ({"input_size": 10**12}, "out of bounds"),
        ({"hidden_size": -4}, "module arguments"),
        ({"hidden_size": "4"}, "module arguments"),
        ({"n_heads": 2}, "unknown argument 'n_heads'"),
    ],
)
def test_module_arguments_are_checked_before_any_module_is_built(
    changes, match, data, tmp_path
):
    # issue 15 item 2: load built the module from the file's arguments first
    est, _ = _fitted("autoencoder", data)
    path = tmp_path / "ae.st"
    est.save(path)
    _edit_json(path, "module_kwargs", lambda kw: {**kw, **changes}, resign=True)
    cpu, peak = _cpu_and_peak()
    with pytest.raises(ValueError, match=match):
        sksequence.load(path)
    cpu_after, peak_after = _cpu_and_peak()
    assert cpu_after - cpu < 2.0
    assert peak_after - peak < 200_000  # KiB: nothing near the requested size


_HUGE_SUBARRAY = [
    # format 2's layout, and format 1's (the file is refused either way)
    {"__ndarray__": {"dtype": "(16000,16000)f8", "shape": [3], "data": ""}},
    {"__ndarray__": [0.0, 0.0, 0.0], "dtype": "(16000,16000)f8", "shape": [3]},
    {"__ndarray__": {"dtype": "<f8", "shape": [10**6, 10**6], "data": ""}},
    {"__ndarray__": {"dtype": "V8", "shape": [1], "data": "AAAAAAAAAAA="}},
    {"__ndarray__": {"dtype": "object", "shape": [10**9], "items": []}},
]


@pytest.mark.parametrize("array", _HUGE_SUBARRAY)
def test_arrays_in_the_metadata_have_plain_dtypes_and_their_stored_size(
    array, data, tmp_path
):
    # issue 15 item 7: "(16000,16000)f8" allocated 2 GB per element
    est, _ = _fitted("autoencoder", data)
    path = tmp_path / "ae.st"
    est.save(path)
    _edit_json(path, "attributes", _set("n_future_", array), resign=True)
    cpu, peak = _cpu_and_peak()
    with pytest.raises(ValueError, match="not a valid sksequence model file.*array"):
        sksequence.load(path)
    cpu_after, peak_after = _cpu_and_peak()
    assert cpu_after - cpu < 2.0
    assert peak_after - peak < 200_000


def _deep(depth):
    return json.dumps(json.loads("[" * depth + "]" * depth))


@pytest.mark.parametrize(
    "field, edit, match",
    [
        ("params", lambda p: [1, 2], "parameters are not a mapping"),
        ("params", _set("bogus", 1), "unknown parameter 'bogus'"),
        ("params", _set("optimizer", "torch.optim.Adam"), "parameter"),
        ("params", _set("hidden_size", -3), "parameter"),
        ("params", _set("device", "quantum:0"), "device 'quantum:0'"),
        ("history", lambda h: 3, "history"),
        ("history", lambda h: json.loads(_deep(600)), "nested"),
        ("attributes", lambda a: 7, "attributes are not a mapping"),
    ],
)
def test_malformed_but_checksummed_metadata_is_a_clear_error(
    field, edit, match, data, tmp_path
):
    # issue 15 (low): these raised raw AttributeError / TypeError / KeyError /
    # RecursionError / torch errors, or loaded
    est, _ = _fitted("autoencoder", data)
    path = tmp_path / "ae.st"
    est.save(path)
    _edit_json(path, field, edit, resign=True)
    with pytest.raises(ValueError, match=f"not a valid sksequence model file.*{match}"):
        sksequence.load(path)


def test_estimator_and_module_must_belong_together(data, tmp_path):
    est, _ = _fitted("autoencoder", data)
    path = tmp_path / "ae.st"
    est.save(path)
    _rewrite_metadata(path, resign=True, module="RecurrentClassifier")
    with pytest.raises(ValueError, match="LSTMAutoencoderTransformer.*SequenceAutoenc"):
        sksequence.load(path)
    _rewrite_metadata(path, resign=True, module="SequenceAutoencoder")
    _rewrite_metadata(path, resign=True, estimator="SequenceClassifier")
    with pytest.raises(ValueError, match="SequenceClassifier.*RecurrentClassifier"):
        sksequence.load(path)


@pytest.mark.parametrize(
    "name, value", [("transform", "x"), ("hidden_size", 999), ("net_", 1)]
)
def test_attributes_in_the_file_cannot_replace_methods_or_parameters(
    name, value, data, tmp_path
):
    est, _ = _fitted("autoencoder", data)
    path = tmp_path / "ae.st"
    est.save(path)
    _edit_json(path, "attributes", _set(name, value), resign=True)
    with pytest.raises(ValueError, match=f"unknown fitted attribute '{name}'"):
        sksequence.load(path)


def test_only_declared_fitted_attributes_are_stored(data, tmp_path):
    # issue 13 bug 2: save wrote every instance attribute, e.g. private state that a
    # failed fit left behind
    est, _ = _fitted("classifier", data)
    est._steps_per_epoch = 3
    est._scratch = np.zeros(2)
    est.save(tmp_path / "c.st")
    loaded = sksequence.load(tmp_path / "c.st")
    assert not hasattr(loaded, "_steps_per_epoch")
    assert not hasattr(loaded, "_scratch")
    assert "_scratch" not in _read_metadata(tmp_path / "c.st")["attributes"]


@pytest.mark.parametrize("kind", ["autoencoder", "classifier", "regressor", "seq2seq"])
def test_every_fitted_attribute_is_declared(kind, data, tmp_path):
    # a fitted attribute added to an estimator must be declared to be stored
    est, _ = _fitted(kind, data)
    est.save(tmp_path / "m.st")
    loaded = sksequence.load(tmp_path / "m.st")
    params = est.get_params(deep=False)
    transient = {"_net_params"}  # partial_fit bookkeeping, not model state
    expected = set(vars(est)) - set(params) - transient
    assert expected <= set(vars(loaded))
    for name in expected - {"net_", "history_"}:
        np.testing.assert_equal(getattr(loaded, name), getattr(est, name))


# -- values of every kind -------------------------------------------------------------
@pytest.mark.parametrize(
    "labels",
    [
        np.array([b"cat", b"dog"]),
        np.array(["2020-01-01", "2021-06-01"], dtype="datetime64[D]"),
        np.array(["2020-01-01", "2021-06-01"], dtype="datetime64[ns]"),
        np.array([np.datetime64("2020-01-01"), np.datetime64("2021-06-01")], "O"),
        np.array([1.0, -2.0]),
        np.array([True, False]),
    ],
    ids=["bytes", "datetime64-D", "datetime64-ns", "datetime-objects", "float", "bool"],
)
def test_labels_of_every_kind_save_and_load(labels, data, tmp_path):
    import datetime

    if labels.dtype == object:
        labels = np.array(
            [datetime.datetime(2020, 1, 1), datetime.datetime(2021, 6, 1, 12, 30)]
        )
    y = labels[np.arange(24) % 2]
    est = SequenceClassifier(class_weight={labels[1]: 2.0}, **FAST).fit(data["X"], y)
    est.save(tmp_path / "c.st")
    loaded = sksequence.load(tmp_path / "c.st")
    assert loaded.classes_.dtype == est.classes_.dtype
    np.testing.assert_array_equal(loaded.classes_, est.classes_)
    np.testing.assert_array_equal(loaded.predict(data["X"]), est.predict(data["X"]))
    assert loaded.class_weight == est.class_weight


def test_class_weight_with_integer_keys_saves_and_loads(data, tmp_path):
    # issue 13 bug 3: a dict with non-string keys raised TypeError in save
    y = np.arange(24) % 3
    est = SequenceClassifier(class_weight={0: 1.0, 2: 2.5}, **FAST).fit(data["X"], y)
    est.save(tmp_path / "c.st")
    loaded = sksequence.load(tmp_path / "c.st")
    assert loaded.class_weight == {0: 1.0, 2: 2.5}
    assert type(next(iter(loaded.class_weight))) is int
    np.testing.assert_array_equal(loaded.class_weight_, est.class_weight_)
    np.testing.assert_array_equal(loaded.predict(data["X"]), est.predict(data["X"]))


def test_dict_keys_of_any_json_type_round_trip():
    import datetime

    value = {
        0: 1,
        2.5: "a",
        None: [1, 2],
        True: (1, "x"),
        (1, "b"): None,
        b"\x00\xff": 3,
        "__ndarray__": "a string key that looks like a tag",
        "plain": {"nested": np.int64(4)},
        datetime.date(2020, 1, 1): datetime.timedelta(days=2),
    }
    text = json.dumps(persistence._encode(value, "value"))
    back = persistence._decode(json.loads(text))
    assert back == value
    assert [type(k) for k in back] == [type(k) for k in value]
    tagged = {"__tuple__": [1], "x": {"__dict__": 2}}  # keys that look like tags
    text = json.dumps(persistence._encode(tagged, "v"))
    assert persistence._decode(json.loads(text)) == tagged
    with pytest.raises(TypeError, match="Cannot save value.*of type complex"):
        persistence._encode({1: 1j}, "value")


def test_encoder_parameter_saves_and_loads(data, tmp_path):
    # issue 13 bug 3: save raised TypeError with encoder=; now the encoder is stored
    # as an estimator in the same file (once, though it is also encoder_)
    from sklearn.frozen import FrozenEstimator

    X, y = data["X"], data["labels"]
    ae = LSTMAutoencoderTransformer(**FAST).fit(X)
    FAST_BI = FAST  # (both default to a bidirectional encoder)
    clf = SequenceClassifier(encoder=ae, freeze_encoder=True, **FAST_BI).fit(X, y)
    clf.save(tmp_path / "c.st")
    loaded = sksequence.load(tmp_path / "c.st")
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    assert isinstance(loaded.encoder, LSTMAutoencoderTransformer)
    assert loaded.encoder_ is loaded.encoder
    np.testing.assert_array_equal(loaded.encoder.transform(X), ae.transform(X))
    # a continued fit keeps the encoder frozen, as the saved one would
    before = {k: v.clone() for k, v in loaded.net_.module_.encoder.state_dict().items()}
    loaded.set_params(warm_start=True, max_epochs=1).fit(X, y)
    after = loaded.net_.module_.encoder.state_dict()
    assert all((before[k] == after[k]).all() for k in before)

    # an unfitted encoder (fitted on X inside fit) and a frozen one
    unfitted = LSTMAutoencoderTransformer(**{**FAST, "max_epochs": 1})
    clf = SequenceClassifier(encoder=unfitted, **FAST_BI).fit(X, y)
    clf.save(tmp_path / "u.st")
    loaded = sksequence.load(tmp_path / "u.st")
    assert not hasattr(loaded.encoder, "net_")
    assert loaded.encoder.get_params() == {**unfitted.get_params(), "callbacks": None}
    np.testing.assert_array_equal(
        loaded.encoder_.transform(X), clf.encoder_.transform(X)
    )
    clf = SequenceClassifier(encoder=FrozenEstimator(ae), **FAST_BI).fit(X, y)
    clf.save(tmp_path / "f.st")
    loaded = sksequence.load(tmp_path / "f.st")
    assert isinstance(loaded.encoder, FrozenEstimator)
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))


# -- files on disk: modes and temporary files ----------------------------------------
def test_saved_files_follow_the_umask_and_keep_an_existing_mode(data, tmp_path):
    # issue 15 item 6: files were always 0600 (mkstemp), also over a 0644 file
    import os
    import stat

    est, _ = _fitted("autoencoder", data)
    path = tmp_path / "ae.st"
    old = os.umask(0o022)
    try:
        est.save(path)
        assert stat.S_IMODE(path.stat().st_mode) == 0o644
        path.chmod(0o640)
        est.save(path)  # overwriting keeps the file's mode
        assert stat.S_IMODE(path.stat().st_mode) == 0o640
        os.umask(0o077)
        est.save(tmp_path / "private.st")
        assert stat.S_IMODE((tmp_path / "private.st").stat().st_mode) == 0o600
    finally:
        os.umask(old)


_KILL_MID_SAVE = """
import os, signal, sys
import sksequence

est = sksequence.load(sys.argv[1])
os.fsync = lambda fd: os.kill(os.getpid(), signal.SIGKILL)  # data written, not moved
est.save(sys.argv[1])
"""


def test_a_killed_save_leaves_no_temporary_file_for_ever(data, tmp_path):
    # issue 15 (low): SIGKILL during save left a hidden .tmp file behind; the next
    # save of the same file removes it (once no process holds it)
    import os
    import subprocess
    import sys
    import time

    est, _ = _fitted("autoencoder", data)
    path = tmp_path / "ae.st"
    est.save(path)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    run = subprocess.run(
        [sys.executable, "-c", _KILL_MID_SAVE, str(path)], env=env, timeout=120
    )
    assert run.returncode == -9
    orphans = [p for p in tmp_path.iterdir() if p.name != "ae.st"]
    assert len(orphans) == 1 and orphans[0].name.startswith(".ae.st.")
    (tmp_path / ".other.st.x.tmp").write_bytes(b"another file's")  # not ours
    old = time.time() - 3600
    for p in tmp_path.iterdir():
        os.utime(p, (old, old))
    est.save(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".other.st.x.tmp", "ae.st"]
    np.testing.assert_array_equal(
        sksequence.load(path).transform(data["X"]), est.transform(data["X"])
    )


def test_a_save_in_progress_keeps_its_temporary_file(data, tmp_path, monkeypatch):
    # the clean-up must not remove the temporary file of a save that is running
    import os
    import time

    est, _ = _fitted("autoencoder", data)
    path = tmp_path / "ae.st"
    real_fsync = os.fsync
    calls = []

    def fsync(fd):
        calls.append(fd)
        if len(calls) == 1:  # the first save has written its data; it is old now,
            (tmp,) = [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
            old = time.time() - 3600
            os.utime(tmp, (old, old))
            est.save(path)  # and another save of the same file runs meanwhile
            assert tmp.exists()
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    est.save(path)
    monkeypatch.undo()
    assert len(calls) == 2
    assert [p.name for p in tmp_path.iterdir()] == ["ae.st"]


def test_persistence_and_the_base_do_not_import_each_other():
    # issue 13: _base.py and persistence.py imported each other; persistence now
    # finds estimator classes in the registry that the base fills
    import ast
    from pathlib import Path

    root = Path(sksequence.__file__).parent

    def imported(name, module_level_only=False):
        tree = ast.parse((root / name).read_text())
        nodes = tree.body if module_level_only else ast.walk(tree)
        found = set()
        for node in nodes:
            if isinstance(node, ast.ImportFrom):
                found.add(node.module or "")
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
        return found

    assert not {"_base", "sksequence._base", "sksequence"} & imported("persistence.py")
    assert not {"persistence", "sksequence.persistence"} & imported(
        "_base.py", module_level_only=True
    )
    from sksequence._registry import ESTIMATORS

    assert ESTIMATORS["SequenceClassifier"] is SequenceClassifier


class MyClassifier(SequenceClassifier):
    """A user's subclass: registered under its module path when defined."""


def test_subclasses_save_and_load_under_their_module_path(data, tmp_path):
    est = MyClassifier(**FAST).fit(data["X"], data["labels"])
    est.save(tmp_path / "mine.st")
    assert _read_metadata(tmp_path / "mine.st")["estimator"] == (
        f"{__name__}.MyClassifier"
    )
    loaded = sksequence.load(tmp_path / "mine.st")
    assert type(loaded) is MyClassifier
    np.testing.assert_array_equal(
        loaded.predict_proba(data["X"]), est.predict_proba(data["X"])
    )


def test_module_arguments_longer_than_the_weights_are_fine(tmp_path):
    # 40 class weights in the module's arguments, 12 stored tensors
    rng = np.random.RandomState(0)
    X, y = rng.rand(80, 6, 2), np.arange(80) % 40
    est = SequenceClassifier(class_weight="balanced", conv_channels=None, **FAST)
    est.fit(X, y)
    assert len(est._module_spec[1]["class_weight"]) == 40
    assert len(est.net_.module_.state_dict()) < 40
    est.save(tmp_path / "c.st")
    loaded = sksequence.load(tmp_path / "c.st")
    np.testing.assert_array_equal(loaded.predict_proba(X), est.predict_proba(X))


def test_calibrated_regressor_keeps_its_intervals(data, tmp_path):
    """The calibration (interval_scores_) is fitted state: a loaded model gives
    the same intervals."""
    X, y = data["X"], data["y_seq"]
    reg = Seq2SeqRegressor(**FAST).fit(X[:12], y[:12]).calibrate(X[12:], y[12:])
    path = tmp_path / "model.safetensors"
    reg.save(path)
    loaded = sksequence.load(path)
    for a, b in zip(loaded.predict_interval(X, 0.9), reg.predict_interval(X, 0.9)):
        np.testing.assert_array_equal(a, b)
