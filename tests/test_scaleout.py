"""Hyper-parameter search across processes through joblib backends.

The Dask test starts a real ``LocalCluster`` of two worker processes on loopback
(skipped where dask.distributed is not installed; the ``test`` extra installs it).
"""

import numpy as np
import pytest
import torch
from joblib import parallel_backend
from sklearn.model_selection import GridSearchCV, cross_validate
from skorch.callbacks import Callback

from sksequence import LSTMAutoencoderTransformer


def _data():
    rng = np.random.RandomState(0)
    t = np.linspace(0, 4 * np.pi, 12)
    return np.sin(t[None, :, None] + rng.uniform(0, 6, (24, 1, 1))) + 0.05 * rng.randn(
        24, 12, 1
    )


def _search(n_jobs):
    est = LSTMAutoencoderTransformer(hidden_size=4, max_epochs=3, random_state=0)
    return GridSearchCV(est, {"n_components": [1, 2]}, cv=2, n_jobs=n_jobs)


@pytest.mark.slow
def test_grid_search_on_a_dask_cluster_equals_the_serial_one():
    distributed = pytest.importorskip("dask.distributed")
    X = _data()
    serial = _search(None).fit(X)
    with (
        distributed.LocalCluster(
            n_workers=2,
            processes=True,
            threads_per_worker=1,
            host="127.0.0.1",
            dashboard_address=None,
        ) as cluster,
        distributed.Client(cluster),
    ):
        with parallel_backend("dask"):
            remote = _search(2).fit(X)
    for key in ("params", "rank_test_score"):
        np.testing.assert_array_equal(remote.cv_results_[key], serial.cv_results_[key])
    # Workers may run torch on another thread count than this process, so float32
    # sums can differ in their last bits (seen: 2e-8 on scores of about -0.6).
    for key in ("split0_test_score", "split1_test_score"):
        np.testing.assert_allclose(
            remote.cv_results_[key], serial.cv_results_[key], rtol=1e-6
        )
    assert remote.best_params_ == serial.best_params_
    np.testing.assert_allclose(remote.transform(X), serial.transform(X), rtol=1e-5)


class _RecordThreads(Callback):
    def on_epoch_end(self, net, **kwargs):
        net.history.record("torch_threads", torch.get_num_threads())


def test_thread_workers_limit_torch_threads_and_leave_the_caller_alone():
    # joblib's threading backend declares no per-worker share: each fit then runs
    # torch on 1 thread instead of every core (no oversubscription), and the
    # caller's own setting is untouched.
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        est = LSTMAutoencoderTransformer(
            hidden_size=4, max_epochs=2, random_state=0, callbacks=[_RecordThreads()]
        )
        X = _data()
        with parallel_backend("threading"):
            out = cross_validate(est, X, cv=2, n_jobs=2, return_estimator=True)
        threads = [e.history_[:, "torch_threads"] for e in out["estimator"]]
        assert threads == [[1, 1], [1, 1]]
        assert torch.get_num_threads() == 2
        # not in a worker: n_threads, or 1 for a model this small (n_threads=None)
        assert est.fit(X).history_[:, "torch_threads"] == [1, 1]
        est.set_params(n_threads=2)
        assert est.fit(X).history_[:, "torch_threads"] == [2, 2]
        with parallel_backend("threading"):  # a worker's share caps n_threads
            out = cross_validate(est, X, cv=2, n_jobs=2, return_estimator=True)
        assert [e.history_[:, "torch_threads"] for e in out["estimator"]] == [
            [1, 1],
            [1, 1],
        ]
    finally:
        torch.set_num_threads(before)
