"""SlidingWindowAnomalyDetector: per-timestep anomaly scores of long series."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

import sksequence
from sksequence import LSTMAutoencoderTransformer, SlidingWindowAnomalyDetector
from sksequence.anomaly import _steps, sliding_windows

AE = dict(hidden_size=16)


def _series(n=400, period=20, seed=0):
    rng = np.random.RandomState(seed)
    t = np.arange(n)
    return np.sin(2 * np.pi * t / period) + 0.05 * rng.randn(n)


@pytest.fixture(scope="module")
def fitted():
    det = SlidingWindowAnomalyDetector(
        LSTMAutoencoderTransformer(random_state=0, **AE), window_size=40, stride=5
    )
    return det.fit(_series())


def test_sliding_windows_cover_every_step():
    starts = sliding_windows(103, 20, 8)
    assert starts[0] == 0 and starts[-1] == 83
    covered = np.zeros(103, bool)
    for s in starts:
        covered[s : s + 20] = True
    assert covered.all()
    with pytest.raises(ValueError, match="no window of 20"):
        sliding_windows(10, 20, 1)


@pytest.mark.parametrize("how", ["mean", "median", "max"])
def test_step_aggregates_match_a_loop(how):
    rng = np.random.RandomState(0)
    starts = sliding_windows(37, 10, 3)
    errors = rng.rand(len(starts), 10)
    per_step = [[] for _ in range(37)]
    for j, s in enumerate(starts):
        for o in range(10):
            per_step[s + o].append(errors[j, o])
    want = [getattr(np, how)(v) for v in per_step]
    np.testing.assert_allclose(_steps(errors, starts, 37, how), want)


def test_one_score_per_step_and_the_anomaly_scores_highest(fitted):
    test = _series(seed=1)
    test[250:270] = 0.0  # a flat stretch where a cycle should be
    scores = -fitted.score_samples(test)
    assert scores.shape == (400,)
    assert fitted.n_windows_ == len(sliding_windows(400, 40, 5))
    assert scores[250:270].mean() > 3 * np.median(scores)
    assert 240 <= np.argmax(scores) < 280
    # the threshold learnt in fit flags the anomaly and little else
    flags = fitted.predict(test)
    assert set(np.unique(flags)) <= {-1, 1}
    assert (flags[250:270] == -1).mean() > 0.5
    assert (flags[:200] == -1).mean() < 0.05
    np.testing.assert_allclose(
        fitted.decision_function(test), fitted.score_samples(test) - fitted.offset_
    )


def test_a_larger_anomaly_scores_higher(fitted):
    test = _series(seed=5)
    spikes = []
    for height in (0.5, 2.0):
        x = test.copy()
        x[200:205] += height
        spikes.append(-fitted.score_samples(x)[200:205].mean())
    assert spikes[1] > spikes[0] > -fitted.score_samples(test)[200:205].mean()


def test_scores_do_not_depend_on_the_batch(fitted, monkeypatch):
    test = _series(seed=2)
    alone = fitted.score_samples(test)
    other = 3 * _series(n=333, seed=3)
    together = fitted.score_samples([other, test, test[:100]])
    assert isinstance(together, list) and [len(s) for s in together] == [333, 400, 100]
    # the test series' windows now sit elsewhere in the batches the model sees
    np.testing.assert_allclose(together[1], alone, rtol=1e-5, atol=1e-6)
    # other batch sizes and chunks of windows
    monkeypatch.setattr(fitted.estimator_, "_inference_batch_size", lambda n: 3)
    monkeypatch.setattr(sksequence.anomaly, "_CHUNK_WINDOWS", 5)
    np.testing.assert_allclose(fitted.score_samples(test), alone, rtol=1e-5, atol=1e-6)
    # a step gets the same score inside a shorter series when the same windows
    # cover it (windows start every 5 steps from the first)
    np.testing.assert_allclose(
        fitted.score_samples(test[:120])[:75],
        alone[:75],
        rtol=1e-5,
        atol=1e-6,
    )


def test_layouts(fitted):
    a, b = _series(seed=6), _series(seed=7)
    one = fitted.score_samples(a)
    two = fitted.score_samples(np.stack([a, b]))  # 2-D: univariate series per row
    three = fitted.score_samples(np.stack([a, b])[:, :, None])  # 3-D
    listed = fitted.score_samples([a, b[:, None]])  # list of (T,) and (T, 1)
    assert one.shape == (400,) and two.shape == (2, 400) and three.shape == (2, 400)
    assert isinstance(listed, list) and listed[1].shape == (400,)
    for other in (two[0], three[0], listed[0]):
        np.testing.assert_allclose(other, one, rtol=1e-5, atol=1e-6)
    assert fitted.predict([a]).__class__ is list
    assert fitted.predict(a).dtype.kind == "i"
    # a plain list of numbers is one series
    np.testing.assert_allclose(fitted.score_samples(list(a)), one, rtol=1e-5, atol=1e-6)


def test_multivariate_series_are_standardised_per_feature():
    rng = np.random.RandomState(0)
    x = np.stack([_series(300), 1000 + 500 * _series(300, period=15, seed=1)], 1)
    det = SlidingWindowAnomalyDetector(
        LSTMAutoencoderTransformer(random_state=0, **AE), window_size=30, stride=5
    ).fit([x])
    np.testing.assert_allclose(det.mean_, x.mean(0))
    np.testing.assert_allclose(det.scale_, x.std(0))
    y = x + rng.randn(*x.shape) * [0.01, 5.0]
    y[150:160, 0] = 1.5  # an anomaly in the feature of small units
    scores = det.score_samples(y[None])
    assert scores.shape == (1, 300)
    assert np.argmin(scores[0]) in range(140, 170)


def test_input_is_not_modified_and_clone_works(fitted):
    x = _series(seed=4)
    before = x.copy()
    fitted.score_samples(x)
    np.testing.assert_array_equal(x, before)
    params = clone(fitted).get_params()
    assert params["window_size"] == 40 and params["stride"] == 5


def test_errors_say_what_is_wrong(fitted):
    with pytest.raises(NotFittedError):
        SlidingWindowAnomalyDetector().score_samples(_series())
    with pytest.raises(ValueError, match="has 30 timesteps, but .* at least 40"):
        fitted.score_samples(_series(n=30))
    # one multivariate series as a 2-D array reads as many short univariate series
    with pytest.raises(ValueError, match=r"\(n_series, n_timesteps\).*X\[None\]"):
        fitted.score_samples(np.zeros((100, 2)))
    with pytest.raises(
        ValueError, match="2 features per timestep, but .*fitted with 1"
    ):
        fitted.score_samples(np.zeros((100, 2))[None])
    with pytest.raises(ValueError, match="contains NaN"):
        fitted.score_samples(np.full(100, np.nan))
    with pytest.raises(ValueError, match="same number of features"):
        fitted.score_samples([np.zeros(100), np.zeros((100, 2))])
    with pytest.raises(ValueError, match="empty"):
        fitted.score_samples([])
    with pytest.raises(TypeError, match="generator"):
        fitted.score_samples(s for s in [_series()])
    with pytest.raises(ValueError, match="reconstruction decoder"):
        SlidingWindowAnomalyDetector(
            LSTMAutoencoderTransformer(objective="predict"), window_size=10
        ).fit(_series())
    with pytest.raises(ValueError, match="window_size"):
        SlidingWindowAnomalyDetector(window_size=1).fit(_series())
    with pytest.raises(ValueError, match="contamination"):
        SlidingWindowAnomalyDetector(contamination=0.7).fit(_series())


@pytest.mark.parametrize("error", ["step", "auto"])
def test_contamination_sets_the_share_of_flagged_training_steps(error):
    """A float flags that share of the training steps: with per-step errors
    as they score; with "auto" as they would score if their windows (and those
    overlapping them) had been left out, which a training series scores above
    and new normal series of the same kind score about as."""
    det = SlidingWindowAnomalyDetector(
        LSTMAutoencoderTransformer(random_state=0, hidden_size=8, max_epochs=3),
        window_size=20,
        contamination=0.1,
        error=error,
    ).fit(_series())
    share = (det.predict(_series()) == -1).mean()
    if error == "step":
        assert 0.08 <= share <= 0.12
    else:
        assert share <= 0.12
        new = [(det.predict(_series(seed=s)) == -1).mean() for s in range(1, 6)]
        assert 0.01 <= np.mean(new) <= 0.2


def test_more_training_windows_than_the_share_basis_holds():
    """With more training windows than the autoencoder's share basis holds
    (its span is then that of every k-th window), the shares' factor is on and
    the calibration leaves each window, and those overlapping it, out of that
    span: new normal series are flagged about as often as the contamination
    says, and a window with an anomaly scores above every normal one."""
    ae = LSTMAutoencoderTransformer(random_state=0, hidden_size=4, max_epochs=2)
    det = SlidingWindowAnomalyDetector(ae, window_size=20, stride=1)
    det.set_params(contamination=0.05).fit(_series(n=600))
    module = det.estimator_.net_.module_
    assert det.n_windows_ > module.share_axes + 1 == 257
    assert float(module.share_typical) > 0
    new = [(det.predict(_series(n=600, seed=s)) == -1).mean() for s in range(1, 4)]
    assert 0.005 <= np.mean(new) <= 0.15
    test = _series(n=600, seed=5)
    test[300:310] += 3.0
    scores = -det.score_samples(test)
    assert 280 <= np.argmax(scores) < 330


def test_save_and_load_round_trip(fitted, tmp_path):
    path = tmp_path / "detector.safetensors"
    fitted.save(path)
    loaded = sksequence.load(path)
    assert type(loaded) is SlidingWindowAnomalyDetector
    assert loaded.get_params()["window_size"] == 40
    assert type(loaded.estimator_) is LSTMAutoencoderTransformer
    x = _series(seed=9)
    np.testing.assert_array_equal(loaded.score_samples(x), fitted.score_samples(x))
    np.testing.assert_array_equal(loaded.predict(x), fitted.predict(x))
    assert SlidingWindowAnomalyDetector.load(path).offset_ == fitted.offset_
    with pytest.raises(TypeError, match="not a LSTMAutoencoderTransformer"):
        LSTMAutoencoderTransformer.load(path)
    with pytest.raises(NotFittedError):
        SlidingWindowAnomalyDetector().save(tmp_path / "unfitted.safetensors")


def test_load_refuses_inconsistent_attributes(fitted, tmp_path, monkeypatch):
    """A file whose attributes do not fit together is refused, not half loaded."""
    broken = clone(fitted)
    for key in fitted._fitted_attributes:
        setattr(broken, key, getattr(fitted, key))
    broken.mean_ = np.zeros(3)  # 3 features, but the autoencoder has 1
    path = tmp_path / "broken.safetensors"
    broken.save(path)
    with pytest.raises(ValueError, match="not a valid sksequence model file.*mean_"):
        sksequence.load(path)


def test_window_errors_give_every_step_of_a_window_its_mean(fitted):
    import copy

    by_window = copy.copy(fitted).set_params(error="window")  # scoring-time option
    test = _series(seed=1)
    test[250:270] = 0.0
    scores = -by_window.score_samples(test)
    # steps 0-4 are in window 0 only: they share its mean squared error
    assert np.ptp(scores[:5]) == 0
    first = ((test[:40] - fitted.mean_) / fitted.scale_)[None, :, None]  # window 0
    first = first - first.mean()  # (centred: center_windows=True)
    est = fitted.estimator_
    recon = est.inverse_transform(est.transform(first), n_timesteps=40)
    np.testing.assert_allclose(scores[:5], ((recon - first) ** 2).mean(), rtol=1e-5)
    assert 230 <= np.argmax(scores) < 290


def _level_by_hand(det, series):
    """The level part of every step of one series, recomputed from the public
    attributes: each window's mean against the training windows' means, RMS
    over features, the mean over the windows that contain the step."""
    z = ((series - det.mean_) / det.scale_).reshape(len(series), -1)
    starts = sliding_windows(len(z), det.window_size, det._stride())
    total, count = np.zeros(len(z)), np.zeros(len(z))
    for s in starts:
        m = z[s : s + det.window_size].mean(axis=0)
        d = np.sqrt((((m - det.level_mean_) / det.level_scale_) ** 2).mean())
        total[s : s + det.window_size] += d
        count[s : s + det.window_size] += 1
    return total / count


def test_auto_error_is_the_largest_of_step_window_score_and_level(fitted):
    """error="auto" (default): each step's squared error, the autoencoder's
    own anomaly score of its windows (``score_samples``) and, on centred
    windows, the windows' level part, each divided by its 99th percentile over
    the training steps, and the largest of the three."""
    import copy

    assert fitted.error == "auto"
    step = copy.copy(fitted).set_params(error="step")
    score = copy.copy(fitted).set_params(error="score")
    test = _series(seed=1)
    test[250:270] = 0.0
    a, b = -step.score_samples(test), -score.score_samples(test)
    s0, s1, s2 = fitted.error_scales_
    level = _level_by_hand(fitted, test)
    np.testing.assert_allclose(
        -fitted.score_samples(test),
        np.maximum(np.maximum(a / s0, b / s1), level / s2),
        rtol=1e-6,
    )
    # "score": steps 0-4 are in window 0 only, which scores its score_samples
    first = ((test[:40] - fitted.mean_) / fitted.scale_)[None, :, None]
    own = -fitted.estimator_.score_samples(first - first.mean())[0]
    np.testing.assert_allclose(b[:5], own, rtol=1e-5)
    # the scales: the step errors' 99th percentile over the training steps; the
    # window scores' over the training windows as if left out, above their own
    train = _series()
    np.testing.assert_allclose(s0, np.percentile(-step.score_samples(train), 99))
    assert s1 > np.percentile(-score.score_samples(train), 99)
    assert 240 <= np.argmax(-fitted.score_samples(test)) < 280


def test_a_detector_saved_before_error_scales_loads():
    """A file of a detector saved before error="auto" and centred windows
    existed has neither error_scales_ nor center_windows_: it loads with None
    and False (whatever its center_windows parameter says) and scores as it
    did."""
    det = SlidingWindowAnomalyDetector(
        LSTMAutoencoderTransformer(random_state=0, hidden_size=4, max_epochs=2),
        window_size=20,
        error="step",
        center_windows=False,
    ).fit(_series())
    assert det.error_scales_ is None and det.center_windows_ is False
    state = det._get_fitted_state()
    del state["attributes"]["error_scales_"], state["attributes"]["center_windows_"]
    loaded = clone(det).set_params(center_windows=True)  # the new default
    loaded._set_fitted_state(state)
    assert loaded.error_scales_ is None and loaded.center_windows_ is False
    x = _series(seed=3)
    np.testing.assert_array_equal(loaded.score_samples(x), det.score_samples(x))


def test_auto_error_on_a_short_training_series_and_after_set_params():
    """Where every training window overlaps every other (no span is left to
    leave them out of), each is left out alone: the scales and the threshold
    stay finite. Switching a "step" detector to "auto" without fitting again
    is refused with a clear message."""
    det = SlidingWindowAnomalyDetector(
        LSTMAutoencoderTransformer(random_state=0, hidden_size=4, max_epochs=2),
        window_size=30,
        stride=3,
    ).fit(_series(n=50))
    assert np.isfinite(det.error_scales_).all() and np.isfinite(det.offset_)
    # the windows' own scores are of the scale's order (no window left out of
    # an empty span)
    windows = det._windows((_series(n=50)[:, None] - det.mean_) / det.scale_)[0]
    own = -det.estimator_.score_samples(windows)
    assert det.error_scales_[1] < 100 * own.max()
    assert np.isfinite(det.score_samples(_series(seed=2))).all()
    step = SlidingWindowAnomalyDetector(
        LSTMAutoencoderTransformer(random_state=0, hidden_size=4, max_epochs=2),
        window_size=30,
        error="step",
    ).fit(_series(n=100))
    with pytest.raises(ValueError, match='fit the detector again with error="auto"'):
        step.set_params(error="auto").score_samples(_series())


def test_centred_windows_score_shapes_not_levels():
    """center_windows=True (default): every window loses its mean before the
    autoencoder reads it, so a series shifted away from the training level
    scores as the series itself; without it the shift is what scores."""
    train, test = _series(), _series(seed=4)
    shifted = test + 3.0  # about four standard deviations
    kw = dict(window_size=20, error="step")
    ae = LSTMAutoencoderTransformer(random_state=0, hidden_size=4, max_epochs=3)
    centred = SlidingWindowAnomalyDetector(ae, **kw).fit(train)
    assert centred.center_windows_ is True
    np.testing.assert_allclose(
        centred.score_samples(shifted),
        centred.score_samples(test),
        rtol=1e-4,
        atol=1e-6,
    )
    plain = SlidingWindowAnomalyDetector(ae, center_windows=False, **kw).fit(train)
    assert (-plain.score_samples(shifted)).mean() > 10 * (
        -plain.score_samples(test)
    ).mean()


def test_auto_level_part_flags_a_level_shift_longer_than_a_window(fitted):
    """Centred windows cannot see a stretch at a wrong level that is longer
    than a window; error="auto"'s level part does: inside such a stretch every
    step is flagged, where the step and score parts alone flag none."""
    import copy

    test = _series(seed=1)
    test[150:330] += 2.0  # 180 steps, four and a half windows of 40
    inside = slice(200, 280)  # steps whose every window lies in the stretch
    assert (fitted.predict(test)[inside] == -1).all()
    assert (fitted.predict(_series(seed=1))[inside] == 1).all()  # not shifted
    # the same detector without the level part flags none of them
    no_level = copy.copy(fitted)
    no_level.level_mean_ = no_level.level_scale_ = None
    assert (no_level.predict(test)[inside] == 1).all()


def test_level_part_of_training_windows_leaves_out_the_near_ones():
    """Each training window's level part (which sets its scale and, with the
    others, the threshold) is its distance to the windows of its series that
    start four window lengths or more away and to those of the other series;
    where fewer than two remain, to every training window. Checked against a
    direct computation on two series of different lengths."""
    from sksequence.anomaly import _LEVEL_GAP_WINDOWS, _LEVEL_MIN_SCALE

    det = SlidingWindowAnomalyDetector(window_size=10, stride=3)
    rng = np.random.RandomState(0)
    series = [np.cumsum(rng.randn(n, 2), axis=0) * 0.1 for n in (120, 61)]
    per = []
    for x in series:
        starts = sliding_windows(len(x), 10, 3)
        per.append((starts, np.stack([x[s : s + 10].mean(axis=0) for s in starts])))
    got = det._fit_level(per)
    means = np.concatenate([m for _, m in per])
    owner = np.concatenate([np.full(len(st), i) for i, (st, _) in enumerate(per)])
    at = np.concatenate([st for st, _ in per])
    gap = _LEVEL_GAP_WINDOWS * 10
    expected, n_few = [], 0
    for i in range(len(means)):
        keep = (owner != owner[i]) | (np.abs(at - at[i]) >= gap)
        if keep.sum() < 2:
            keep[:], n_few = True, n_few + 1
        ref = means[keep]
        sd = np.maximum(ref.std(axis=0), _LEVEL_MIN_SCALE)
        expected.append(np.sqrt((((means[i] - ref.mean(0)) / sd) ** 2).mean()))
    np.testing.assert_allclose(np.concatenate(got), expected, rtol=1e-8)
    np.testing.assert_allclose(det.level_mean_, means.mean(axis=0))
    np.testing.assert_allclose(det.level_scale_, means.std(axis=0))
    assert n_few == 0
    # one short series: every window is near every other, all are the reference
    short = per[1][0][:5], per[1][1][:5]
    got = det._fit_level([short])[0]
    sd = np.maximum(short[1].std(axis=0), _LEVEL_MIN_SCALE)
    direct = np.sqrt((((short[1] - short[1].mean(0)) / sd) ** 2).mean(axis=1))
    np.testing.assert_allclose(got, direct, rtol=1e-8)


def test_level_part_scale_follows_the_training_part_drift():
    """A training part that drifts through its levels gets a level scale of
    that drift's order (each window measured against the far ones), so the
    level part of a stretch that keeps drifting stays within three times its
    scale; a shift of half the drift after a stationary training part goes
    far beyond it."""
    t = np.arange(600)
    ae = LSTMAutoencoderTransformer(random_state=0, hidden_size=4, max_epochs=2)
    drift = _series(n=600) + 3.0 * t / 600
    steady = _series(n=600)
    kw = dict(window_size=40, stride=5)
    d = SlidingWindowAnomalyDetector(ae, **kw).fit(drift[:400])
    s = SlidingWindowAnomalyDetector(ae, **kw).fit(steady[:400])
    assert d.error_scales_[2] > 3 * s.error_scales_[2]
    # the continuation of the drift, 200 steps past the training part
    assert (_level_by_hand(d, drift)[400:] / d.error_scales_[2]).max() < 3.0
    shifted = steady.copy()
    shifted[400:] += 1.5
    assert (_level_by_hand(s, shifted)[460:540] / s.error_scales_[2]).min() > 3.0


def test_a_detector_saved_before_the_level_part_loads():
    """A file of a detector saved before error="auto" had a level part has
    two error scales and no level attributes: it loads with None and scores
    with the two parts as it did; a level part without its scale is refused."""
    import copy

    det = SlidingWindowAnomalyDetector(
        LSTMAutoencoderTransformer(random_state=0, hidden_size=4, max_epochs=2),
        window_size=20,
    ).fit(_series())
    state = det._get_fitted_state()
    attrs = state["attributes"]
    assert attrs["error_scales_"].shape == (3,)
    bad = {**attrs, "error_scales_": attrs["error_scales_"][:2]}
    with pytest.raises(ValueError, match="error_scales_ is not 3 positive"):
        clone(det)._set_fitted_state({"attributes": bad})
    del attrs["level_mean_"], attrs["level_scale_"]
    attrs["error_scales_"] = attrs["error_scales_"][:2].copy()
    old = clone(det)
    old._set_fitted_state(state)
    assert old.level_mean_ is None
    x = _series(seed=3)
    x[100:300] += 2.0
    a = -copy.copy(det).set_params(error="step").score_samples(x)
    b = -copy.copy(det).set_params(error="score").score_samples(x)
    s0, s1, _ = det.error_scales_
    np.testing.assert_allclose(
        -old.score_samples(x), np.maximum(a / s0, b / s1), rtol=1e-6
    )
    assert (-det.score_samples(x) > -old.score_samples(x) * 2)[150:250].all()


def test_auto_threshold_is_capped_at_three_times_the_training_q99():
    """error="auto" with contamination="auto": the threshold is the training
    steps' largest score, but at most 3 (the parts are in units of their
    training q99), so one outlying training window does not set it. Without
    the outlier the training maximum is below 3 and is the threshold."""
    train = _series(n=3000)
    outlier = train.copy()
    outlier[1500] += 8.0  # one spike: its windows hold under 1% of the steps
    ae = LSTMAutoencoderTransformer(random_state=0, hidden_size=4, max_epochs=3)
    kw = dict(window_size=10, stride=2)
    plain = SlidingWindowAnomalyDetector(ae, **kw).fit(train)
    assert -3.0 < plain.offset_ < 0
    capped = SlidingWindowAnomalyDetector(ae, **kw).fit(outlier)
    assert capped.offset_ == -3.0
    # the training part scores above 3 near the spike only (its windows)
    over = -capped.score_samples(outlier) > 3.0
    assert over[1500] and not over[:1490].any() and not over[1511:].any()
    # "step" keeps the training maximum, in its own units
    step = SlidingWindowAnomalyDetector(ae, error="step", **kw).fit(outlier)
    assert step.offset_ == step.score_samples(outlier).min() < -3.0
