"""Shared data fixtures: small, learnable, deterministic."""

import numpy as np
import pytest
import torch

# scikit-learn's checks that train to an accuracy (seconds each) run with the slow
# tests
_SLOW_CHECKS = ("check_classifiers_train", "check_regressors_train")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if any(check in item.nodeid for check in _SLOW_CHECKS):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(autouse=True, scope="session")
def _torch_threads():
    # Tiny test models run fastest on one thread (and CI has only 2 cores).
    torch.set_num_threads(1)


@pytest.fixture
def tutorial_sequence():
    """The classic LSTM-autoencoder tutorial input: 0.1, 0.2, ..., 0.9 (1, 9, 1)."""
    return np.linspace(0.1, 0.9, 9).reshape(1, 9, 1)


def make_waves(n=80, n_timesteps=24, n_features=2, seed=0):
    """Two classes of noisy multivariate sequences: sines (0) and saw-tooths (1)."""
    rng = np.random.RandomState(seed)
    t = np.linspace(0, 4 * np.pi, n_timesteps)
    y = rng.randint(0, 2, size=n)
    X = np.empty((n, n_timesteps, n_features))
    for i in range(n):
        phase = rng.uniform(0, 2 * np.pi, size=n_features)
        if y[i] == 0:
            X[i] = np.sin(t[:, None] + phase)
        else:
            X[i] = ((t[:, None] + phase) % (2 * np.pi)) / np.pi - 1
    X += 0.05 * rng.randn(*X.shape)
    return X, y


@pytest.fixture
def waves():
    return make_waves()


@pytest.fixture
def ragged():
    rng = np.random.RandomState(1)
    return [rng.randn(n, 3) for n in (7, 3, 12, 5, 9, 1, 4)]
