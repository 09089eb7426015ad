"""Export a fitted estimator's inference path to ONNX.

Supported: ``LSTMAutoencoderTransformer.transform`` (output ``encoding``) and
``SequenceClassifier.predict`` / ``predict_proba`` (outputs ``probabilities`` and
``label_index``; the class labels are stored in the model's metadata as
``classes`` (JSON), so ``predict`` is ``classes[label_index]``).

The graph takes one float32 input ``x`` of shape (n_samples, n_timesteps,
n_features) with dynamic n_samples and n_timesteps: equal-length sequences (pad
variable-length ones yourself and run them in groups of equal length, since the ONNX
graph has no packing).

Example
-------
Export a fitted autoencoder's ``transform`` and run it with onnxruntime (``pip
install ".[onnx]"``); the encodings match ``transform``:

>>> import tempfile
>>> import numpy as np
>>> import onnxruntime as ort
>>> from sksequence import LSTMAutoencoderTransformer
>>> from sksequence.export import export_onnx
>>> X = np.random.RandomState(0).randn(20, 8, 2).astype("float32")
>>> ae = LSTMAutoencoderTransformer(n_components=4, hidden_size=8, max_epochs=2,
...                                 random_state=0).fit(X)
>>> with tempfile.TemporaryDirectory() as folder:
...     export_onnx(ae, f"{folder}/encoder.onnx")
...     session = ort.InferenceSession(f"{folder}/encoder.onnx")
>>> (Z,) = session.run(None, {"x": X})
>>> Z.shape
(20, 4)
>>> bool(np.allclose(Z, ae.transform(X), atol=1e-5))
True
"""

from __future__ import annotations

import inspect
import json
import warnings

import torch
from sklearn.utils.validation import check_is_fitted
from torch import nn

__all__ = ["export_onnx"]


class _Encode(nn.Module):
    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x):  # (N, L, F) -> (N, C)
        return self.model.encode(x)


class _Classify(nn.Module):
    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x):  # (N, L, F) -> (N, K), (N,)
        proba = torch.softmax(self.model(x), dim=-1)
        return proba, proba.argmax(dim=-1)


def _graph(estimator):
    name = type(estimator).__name__
    module = estimator.net_.module_
    if name == "LSTMAutoencoderTransformer":
        return _Encode(module), ["encoding"], {}
    if name == "SequenceClassifier":
        classes = [c.item() if hasattr(c, "item") else c for c in estimator.classes_]
        return (
            _Classify(module),
            ["probabilities", "label_index"],
            {"classes": json.dumps(classes)},
        )
    raise NotImplementedError(
        f"ONNX export supports LSTMAutoencoderTransformer and SequenceClassifier, not "
        f"{name}. Use save()/load() or pickle for other estimators."
    )


def export_onnx(estimator, path, *, opset_version: int = 17) -> None:
    """Write the estimator's inference graph to ``path`` (see module docstring).

    Parameters
    ----------
    estimator : fitted LSTMAutoencoderTransformer or SequenceClassifier
    path : str or Path
    opset_version : int, default=17
    """
    check_is_fitted(estimator, "net_")
    graph, outputs, metadata = _graph(estimator)
    graph = graph.cpu().eval()
    # (steps enough for every traced branch, as the front end reads them)
    steps = 3 * getattr(estimator.net_.module_, "input_pool", 1)
    example = torch.zeros(2, steps, estimator.n_features_in_)
    axes = {"x": {0: "n_samples", 1: "n_timesteps"}}
    axes.update({name: {0: "n_samples"} for name in outputs})
    kwargs = {}
    if "dynamo" in inspect.signature(torch.onnx.export).parameters:
        kwargs["dynamo"] = False  # the TorchScript exporter: fast, no onnxscript needed
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # deprecation / LSTM batch-size notes
            torch.onnx.export(
                graph,
                (example,),
                str(path),
                input_names=["x"],
                output_names=outputs,
                dynamic_axes=axes,
                opset_version=opset_version,
                **kwargs,
            )
    finally:
        estimator.net_.module_.to(estimator._torch_device())
    if metadata:
        import onnx

        model = onnx.load(str(path))
        for key, value in metadata.items():
            model.metadata_props.add(key=key, value=value)
        onnx.save(model, str(path))
