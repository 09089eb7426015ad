"""scikit-learn's estimator checks on every public estimator.

Tiny models and few epochs keep this fast. Every expected failure has a reason; the
list should only shrink.
"""

from sklearn.utils.estimator_checks import parametrize_with_checks

from sksequence import LSTMAutoencoderTransformer

FAST = dict(hidden_size=4, max_epochs=2, batch_size=16, random_state=0)

ESTIMATORS = [
    LSTMAutoencoderTransformer(n_components=3, **FAST),
]

# A 2-D X is a set of univariate series (API.md): its columns are timesteps, and
# n_features_in_ counts features per timestep, so it is 1 where sklearn expects
# X.shape[1].
_UNIVARIATE_2D = (
    "API.md: 2-D X is (n_samples, n_timesteps) univariate series, so n_features_in_ "
    "is the number of features per timestep (1), not X.shape[1]"
)

EXPECTED_FAILED = {
    "LSTMAutoencoderTransformer": {
        "check_n_features_in": _UNIVARIATE_2D,
        "check_n_features_in_after_fitting": _UNIVARIATE_2D,
    },
}


def _expected_failed_checks(estimator):
    return EXPECTED_FAILED.get(type(estimator).__name__, {})


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=_expected_failed_checks)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
