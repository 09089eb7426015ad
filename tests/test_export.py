"""ONNX export checked against onnxruntime."""

import json

import numpy as np
import pytest

from sksequence import LSTMAutoencoderTransformer, Seq2SeqRegressor, SequenceClassifier

ort = pytest.importorskip("onnxruntime")
onnx = pytest.importorskip("onnx")
from sksequence.export import export_onnx  # noqa: E402


def assert_encodings_match(z, ae, batch):
    """onnxruntime's encodings ``z`` of ``batch`` against ``ae.transform``: the
    pooled features to 1e-5; the shares of steps above thresholds exactly,
    except where a value lies within float error of its threshold (the two
    runtimes' convolutions differ by ~1e-6): such a step flips, which moves a
    share by one step of its map, in a handful of the many elements."""
    expected = ae.transform(batch)
    p = ae.net_.module_.pooled_size
    np.testing.assert_allclose(z[:, :p], expected[:, :p], atol=1e-5)
    diff = np.abs(z[:, p:] - expected[:, p:])
    flipped = diff > 1e-5
    assert flipped.sum() <= max(2, 1e-4 * diff.size), flipped.sum()
    steps = batch.shape[1] // ae.input_pool_  # the longest map's steps
    assert diff.max() <= 1.0 / max(1, steps // 8) + 1e-5


@pytest.fixture(scope="module")
def X():
    return np.random.RandomState(0).rand(30, 7, 3)


@pytest.mark.parametrize("n_components", [4, None])
def test_autoencoder_transform_matches_onnxruntime(X, tmp_path, n_components):
    # the default model: scaling, front end, pooled features (n_components=None)
    ae = LSTMAutoencoderTransformer(
        n_components=n_components,
        hidden_size=6,
        num_layers=2,
        max_epochs=2,
        random_state=0,
    ).fit(X)
    export_onnx(ae, tmp_path / "ae.onnx")
    session = ort.InferenceSession(str(tmp_path / "ae.onnx"))
    for batch in (X[:5], X[:1, :4]):  # another batch size and length than exported
        (z,) = session.run(None, {"x": batch.astype(np.float32)})
        if n_components is None:
            assert_encodings_match(z, ae, batch)
        else:
            np.testing.assert_allclose(z, ae.transform(batch), atol=1e-5)


def test_strided_autoencoder_matches_onnxruntime(tmp_path):
    X = np.random.RandomState(1).randn(12, 150, 1)
    ae = LSTMAutoencoderTransformer(hidden_size=4, max_epochs=1, random_state=0)
    ae.fit(X)
    assert ae.conv_strides_ == (1, 2, 2)
    export_onnx(ae, tmp_path / "ae.onnx")
    session = ort.InferenceSession(str(tmp_path / "ae.onnx"))
    for batch in (X, X[:3, :101]):
        (z,) = session.run(None, {"x": batch.astype(np.float32)})
        assert_encodings_match(z, ae, batch)


@pytest.mark.parametrize("features", [20, 40])
def test_wide_autoencoder_matches_onnxruntime(tmp_path, features):
    # 20 features: the first block and the dilated maps read the input in place
    # (channels last); 40: in PyTorch the dilated maps are sums of the taps'
    # products, in the export (traced) the convolutions
    X = np.random.RandomState(2).randn(10, 40, features)
    ae = LSTMAutoencoderTransformer(hidden_size=4, max_epochs=1, random_state=0)
    ae.fit(X)
    export_onnx(ae, tmp_path / "ae.onnx")
    session = ort.InferenceSession(str(tmp_path / "ae.onnx"))
    for batch in (X, X[:3, :33]):
        (z,) = session.run(None, {"x": batch.astype(np.float32)})
        assert_encodings_match(z, ae, batch)


def test_pooled_autoencoder_matches_onnxruntime(tmp_path):
    X = np.random.RandomState(1).randn(12, 150, 1)
    ae = LSTMAutoencoderTransformer(
        hidden_size=4, max_epochs=1, input_pool=3, random_state=0
    )
    ae.fit(X)
    export_onnx(ae, tmp_path / "ae.onnx")
    session = ort.InferenceSession(str(tmp_path / "ae.onnx"))
    for batch in (X, X[:3, :101]):  # a last group of 2 steps
        (z,) = session.run(None, {"x": batch.astype(np.float32)})
        assert_encodings_match(z, ae, batch)


def test_classifier_with_a_pooled_encoder_matches_onnxruntime(tmp_path):
    X = np.random.RandomState(1).randn(20, 150, 1)
    ae = LSTMAutoencoderTransformer(hidden_size=4, max_epochs=1, input_pool=3)
    clf = SequenceClassifier(encoder=ae.fit(X), hidden_size=4, max_epochs=2)
    clf.fit(X, np.arange(20) % 2)
    export_onnx(clf, tmp_path / "clf.onnx")
    session = ort.InferenceSession(str(tmp_path / "clf.onnx"))
    for batch in (X, X[:3, :101]):
        proba, _ = session.run(None, {"x": batch.astype(np.float32)})
        np.testing.assert_allclose(proba, clf.predict_proba(batch), atol=1e-5)


def test_classifier_predict_matches_onnxruntime(X, tmp_path):
    y = np.where(X[:, :, 0].mean(axis=1) > 0.5, "high", "low")
    clf = SequenceClassifier(hidden_size=6, max_epochs=2, random_state=0).fit(X, y)
    path = tmp_path / "clf.onnx"
    export_onnx(clf, path)
    session = ort.InferenceSession(str(path))
    proba, index = session.run(None, {"x": X.astype(np.float32)})
    np.testing.assert_allclose(proba, clf.predict_proba(X), atol=1e-5)
    classes = np.array(json.loads(onnx.load(str(path)).metadata_props[0].value))
    np.testing.assert_array_equal(classes[index], clf.predict(X))


def test_unsupported_estimator_is_a_clear_error(X, tmp_path):
    reg = Seq2SeqRegressor(hidden_size=4, max_epochs=1).fit(X, X[:, :2, 0])
    with pytest.raises(
        NotImplementedError, match="supports LSTMAutoencoderTransformer"
    ):
        export_onnx(reg, tmp_path / "r.onnx")
