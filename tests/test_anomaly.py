"""SlidingWindowAnomalyDetector: per-timestep anomaly scores of long series."""

import numpy as np
import pytest
from sklearn.base import clone

from sksequence import LSTMAutoencoderTransformer
from sksequence.anomaly import SlidingWindowAnomalyDetector, sliding_windows

AE = dict(hidden_size=16, lr=1e-2, max_epochs=40, n_iter_no_change=1000)


def _series(n=400, period=20, seed=0):
    rng = np.random.RandomState(seed)
    t = np.arange(n)
    return (np.sin(2 * np.pi * t / period) + 0.05 * rng.randn(n))[:, None]


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


def test_one_score_per_step_and_the_anomaly_scores_highest(fitted):
    test = _series(seed=1)
    test[250:270] = 0.0  # a flat stretch where a cycle should be
    scores = fitted.score_steps(test)
    assert scores.shape == (400,)
    assert fitted.n_windows_ == len(sliding_windows(400, 40, 5))
    assert scores[250:270].mean() > 3 * np.median(scores)
    assert 240 <= np.argmax(scores) < 280


def test_scores_do_not_depend_on_the_batch(fitted):
    test = _series(seed=2)
    alone = fitted.score_steps(test)
    other = 3 * _series(n=333, seed=3)
    together = fitted.score_steps([other, test, test[:100]])
    assert isinstance(together, list) and len(together) == 3
    # the test series' windows now sit elsewhere in the batches the model sees
    np.testing.assert_allclose(together[1], alone, rtol=1e-5, atol=1e-7)
    # a window's steps get the same score inside a shorter series
    np.testing.assert_allclose(
        fitted.score_steps(test[:120])[:40],
        fitted.score_steps(test[:200])[:40],
        rtol=1e-4,
        atol=1e-6,
    )


def test_input_is_not_modified_and_clone_works(fitted):
    x = _series(seed=4)
    before = x.copy()
    fitted.score_steps(x)
    np.testing.assert_array_equal(x, before)
    params = clone(fitted).get_params()
    assert params["window_size"] == 40 and params["stride"] == 5


def test_errors_say_what_is_wrong(fitted):
    with pytest.raises(ValueError, match="at least 40"):
        fitted.score_steps(_series(n=30))
    with pytest.raises(ValueError, match="fitted with 1"):
        fitted.score_steps(np.zeros((100, 2)))
    with pytest.raises(ValueError, match="reconstruction decoder"):
        SlidingWindowAnomalyDetector(
            LSTMAutoencoderTransformer(objective="predict"), window_size=10
        ).fit(_series())
