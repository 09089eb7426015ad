"""SequenceScaler, pad_sequences / unpad_sequences and from_long_dataframe."""

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sksequence import LSTMAutoencoderTransformer
from sksequence.preprocessing import (
    SequenceScaler,
    from_long_dataframe,
    pad_sequences,
    unpad_sequences,
)


@pytest.fixture
def X3():
    rng = np.random.RandomState(0)
    return rng.randn(6, 5, 3) * [1.0, 10.0, 100.0] + [0.0, 5.0, -50.0]


# -- SequenceScaler -------------------------------------------------------------------


def test_per_feature_equals_standard_scaler_on_stacked_timesteps(X3):
    Xt = SequenceScaler().fit_transform(X3)
    expected = StandardScaler().fit_transform(X3.reshape(-1, 3)).reshape(X3.shape)
    np.testing.assert_allclose(Xt, expected, rtol=1e-10, atol=1e-12)
    assert Xt.dtype == np.float64


def test_per_series_standardises_each_sequence(X3):
    Xt = SequenceScaler(per="series").fit_transform(X3)
    np.testing.assert_allclose(Xt.mean(axis=1), 0, atol=1e-12)
    np.testing.assert_allclose(Xt.std(axis=1), 1, rtol=1e-12)


@pytest.mark.parametrize("per", ["feature", "series"])
def test_inverse_transform_round_trips(X3, per):
    scaler = SequenceScaler(per=per).fit(X3)
    Xt = scaler.transform(X3)
    reference = X3 if per == "series" else None
    np.testing.assert_allclose(scaler.inverse_transform(Xt, reference=reference), X3)


def test_series_inverse_restores_forecasts_with_the_inputs_statistics(X3):
    # A forecast of other length gets each input window's level and scale back.
    scaler = SequenceScaler(per="series").fit(X3)
    future = np.ones((6, 2, 3))
    out = scaler.inverse_transform(future, reference=X3)
    np.testing.assert_allclose(out[:, 0], X3.mean(axis=1) + X3.std(axis=1))
    with pytest.raises(ValueError, match="reference="):
        scaler.inverse_transform(future)
    with pytest.raises(ValueError, match="reference has 5 sequences, but X has 6"):
        scaler.inverse_transform(future, reference=X3[:5])


def test_ragged_list_in_ragged_list_out_padding_ignored():
    rng = np.random.RandomState(1)
    seqs = [rng.randn(n, 2) * 3 + 1 for n in (4, 9, 1, 6)]
    scaler = SequenceScaler().fit(seqs)
    stacked = np.concatenate(seqs)
    np.testing.assert_allclose(scaler.mean_, stacked.mean(axis=0))
    np.testing.assert_allclose(scaler.scale_, stacked.std(axis=0))
    assert scaler.n_timesteps_seen_ == len(stacked)
    out = scaler.transform(seqs)
    assert isinstance(out, list) and [len(s) for s in out] == [4, 9, 1, 6]
    np.testing.assert_allclose(np.concatenate(out).mean(axis=0), 0, atol=1e-12)
    back = scaler.inverse_transform(out)
    for a, b in zip(back, seqs):
        np.testing.assert_allclose(a, b)
    # per series: a one-step sequence has zero spread and keeps scale 1
    per_series = SequenceScaler(per="series").fit_transform(seqs)
    np.testing.assert_allclose(per_series[2], 0)
    np.testing.assert_allclose(per_series[1].std(axis=0), 1)


def test_layouts_dtypes_and_input_untouched():
    X2 = np.arange(12, dtype=np.float32).reshape(3, 4)
    copy = X2.copy()
    out = SequenceScaler().fit_transform(X2)
    assert out.shape == (3, 4) and out.dtype == np.float32
    np.testing.assert_array_equal(X2, copy)
    uni = [np.arange(3.0), np.arange(5.0)]  # 1-D sequences stay 1-D
    assert [s.shape for s in SequenceScaler().fit_transform(uni)] == [(3,), (5,)]
    df = pd.DataFrame(X2, columns=["t0", "t1", "t2", "t3"])
    scaler = SequenceScaler().set_output(transform="pandas").fit(df)
    out = scaler.transform(df)
    assert isinstance(out, pd.DataFrame) and list(out.columns) == list(df.columns)


def test_errors_name_what_is_wrong(X3):
    scaler = SequenceScaler().fit(X3)
    with pytest.raises(ValueError, match="X has 2 features per timestep, but Seq"):
        scaler.transform(X3[:, :, :2])
    with pytest.raises(ValueError, match="contains NaN"):
        scaler.transform(np.full((2, 3, 3), np.nan))
    with pytest.raises(ValueError, match="per"):
        SequenceScaler(per="sample").fit(X3)
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        SequenceScaler().transform(X3)


def test_in_a_pipeline_before_an_estimator(X3):
    pipe = make_pipeline(
        SequenceScaler(),
        LSTMAutoencoderTransformer(
            n_components=2, hidden_size=4, max_epochs=2, random_state=0
        ),
    )
    Z = clone(pipe).fit_transform(X3)
    assert Z.shape == (6, 2) and np.isfinite(Z).all()


# -- padding ------------------------------------------------------------------------


def test_pad_and_unpad_round_trip_both_sides():
    seqs = [np.arange(6.0).reshape(3, 2), np.array([[7.0, 8.0]])]
    X, lengths = pad_sequences(seqs, value=-1.0)
    assert X.shape == (2, 3, 2) and lengths.tolist() == [3, 1]
    assert (X[1, 1:] == -1).all()
    for a, b in zip(unpad_sequences(X, lengths), seqs):
        np.testing.assert_array_equal(a, b)
    Xp, lengths = pad_sequences(seqs, padding="pre", max_length=4)
    assert Xp.shape == (2, 4, 2) and (Xp[1, :3] == 0).all()
    for a, b in zip(unpad_sequences(Xp, lengths, padding="pre"), seqs):
        np.testing.assert_array_equal(a, b)


def test_pad_never_truncates_silently():
    seqs = [np.arange(5.0), np.arange(2.0)]
    with pytest.raises(ValueError, match="longest sequence has 5 timesteps"):
        pad_sequences(seqs, max_length=3)
    X, lengths = pad_sequences(seqs, max_length=3, truncating="pre")
    assert X[0, :, 0].tolist() == [2.0, 3.0, 4.0] and lengths.tolist() == [3, 2]
    X, _ = pad_sequences(seqs, max_length=3, truncating="post")
    assert X[0, :, 0].tolist() == [0.0, 1.0, 2.0]
    with pytest.raises(ValueError, match="only 3 timesteps"):
        unpad_sequences(X, [4, 1])


# -- long DataFrames ------------------------------------------------------------------


def test_from_long_dataframe_groups_and_orders():
    df = pd.DataFrame(
        {
            "id": [2, 2, 1, 2, 1],
            "time": pd.to_datetime(
                ["2024-01-01", "2024-01-02", "2024-01-05", "2024-01-03", "2024-01-06"]
            ),
            "a": [1.0, 2.0, 10.0, 3.0, 20.0],
            "b": [0, 0, 1, 0, 1],
        }
    )
    seqs, ids = from_long_dataframe(df, "id", "time")
    assert ids.tolist() == [2, 1]
    assert seqs[0].tolist() == [[1.0, 0.0], [2.0, 0.0], [3.0, 0.0]]
    assert seqs[1].shape == (2, 2)
    seqs, _ = from_long_dataframe(df, "id", "time", "a")
    assert seqs[1].ravel().tolist() == [10.0, 20.0]


def test_from_long_dataframe_errors_and_sort():
    df = pd.DataFrame({"id": [1, 1, 1], "t": [0, 2, 1], "v": [1.0, 3.0, 2.0]})
    with pytest.raises(ValueError, match=r"series 1 are not increasing: t=2 .* 1"):
        from_long_dataframe(df, "id", "t")
    seqs, _ = from_long_dataframe(df, "id", "t", sort=True)
    assert seqs[0].ravel().tolist() == [1.0, 2.0, 3.0]
    dup = pd.DataFrame({"id": [1, 1, 2], "t": [0, 0, 0], "v": [1.0, 2.0, 3.0]})
    with pytest.raises(ValueError, match="Series 1 has 2 rows that share a time"):
        from_long_dataframe(dup, "id", "t")
    with pytest.raises(ValueError, match=r"Columns \['w'\] are not in"):
        from_long_dataframe(df, "id", "t", ["w"])
    with pytest.raises(ValueError, match="not numeric"):
        from_long_dataframe(df.assign(v=["x", "y", "z"]), "id", "t")


def test_docstring_examples_run():
    import doctest

    import sksequence.preprocessing as module

    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


def test_table_output_of_3d_or_list_input_is_refused_not_ignored(X3):
    scaler = SequenceScaler().set_output(transform="pandas")
    with pytest.raises(ValueError, match=r"cannot return pandas output.*3-D array"):
        scaler.fit_transform(X3)
    with pytest.raises(ValueError, match="cannot return pandas output.*a list of 2"):
        scaler.fit_transform([np.ones((3, 2)), np.ones((5, 2))])
    # the global setting too (as scikit-learn refuses a sparse output under it)
    import sklearn

    with sklearn.config_context(transform_output="pandas"):
        with pytest.raises(ValueError, match="set_output\\(transform='default'\\)"):
            SequenceScaler().fit_transform(X3)
        # which an explicit setting on the scaler overrides
        out = SequenceScaler().set_output(transform="default").fit_transform(X3)
        assert isinstance(out, np.ndarray) and out.shape == X3.shape
    # 2-D univariate series still give a DataFrame
    out = scaler.fit_transform(X3[:, :, 0])
    assert isinstance(out, pd.DataFrame) and out.shape == X3.shape[:2]
