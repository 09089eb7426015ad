"""Seq2Seq's forecasting options: per-window scaling and the linear skip path."""

import numpy as np
import pytest
import torch

from sksequence.nn.seq2seq import Seq2Seq

KINDS = [
    dict(pattern="direct"),
    dict(pattern="recursive"),
    dict(pattern="recursive", teacher_forcing_ratio=0.0),
    dict(pattern="direct", attention="general"),
    dict(pattern="recursive", attention="bahdanau"),
]


def _model(f=1, o=1, **kw):
    torch.manual_seed(0)
    kw = {"hidden_size": 8, "max_length": 10, "horizon": 4, **kw}
    return Seq2Seq(f, o, **kw).eval()


def _windows(n=6, length=10, f=1, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, length, f, generator=g).cumsum(dim=1)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("scaling", ["last", "mean"])
def test_scaling_makes_forecasts_equivariant_to_level_and_scale(kind, scaling):
    model = _model(scaling=scaling, skip=True, **kind)
    x = _windows()
    with torch.no_grad():
        out = model(x, n_steps=4)[0]
        moved = model(250.0 * x + 1e4, n_steps=4)[0]
    torch.testing.assert_close(moved, 250.0 * out + 1e4, rtol=1e-4, atol=1e-2)
    # without scaling the same model is not equivariant
    plain = _model(skip=True, **kind)
    with torch.no_grad():
        a, b = plain(x, n_steps=4)[0], plain(250.0 * x + 1e4, n_steps=4)[0]
    assert not torch.allclose(b, 250.0 * a + 1e4, rtol=1e-2)


def test_loss_is_in_window_units():
    model = _model(scaling="last")
    x, y = _windows(), _windows(length=4, seed=1)
    loss = model.loss(model(x, target=y), y, x=x)
    big = model.loss(model(1e3 * x - 7, target=1e3 * y - 7), 1e3 * y - 7, x=1e3 * x - 7)
    torch.testing.assert_close(big, loss, rtol=1e-3, atol=1e-6)
    per_sample = model.loss(model(x, target=y), y, reduction="none", x=x)
    assert per_sample.shape == (6,)


def test_window_weight_weighs_each_window_by_its_scale_to_the_power():
    """window_weight p: each window's squared error in window units weighs its
    scale ** p / window_weight_norm; p = 2 is the squared error in the input's
    units (over the norm), p = 0 the window units."""
    x, y = _windows(), _windows(length=4, seed=1)
    x = x * torch.tensor([0.5, 1.0, 2.0, 4.0, 8.0, 16.0])[:, None, None]  # scales
    plain = _model(scaling="mean")
    per_window = plain.loss(plain(x, target=y), y, reduction="none", x=x)
    _, scale = plain.window_stats(x)  # (N, 1, 1)
    for power in (1.0, 2.0):
        model = _model(scaling="mean", window_weight=power)
        with torch.no_grad():
            model.window_weight_norm.fill_(3.0)
        out = model(x, target=y)
        assert torch.equal(out[0], plain(x, target=y)[0])  # the same forward
        weighted = model.loss(out, y, reduction="none", x=x)
        expected = per_window * scale[:, 0, 0] ** power / 3.0
        torch.testing.assert_close(weighted, expected)
        torch.testing.assert_close(model.loss(out, y, x=x), expected.mean())
    squared = ((out[0] - y) ** 2).mean(dim=(1, 2)) / 3.0  # p = 2: input units
    torch.testing.assert_close(weighted, squared)


def test_step_weight_takes_the_absolute_error_in_units_of_the_window_steps():
    """window_loss="absolute" with step_weight q: each window's absolute error in
    window units weighs (scale / d) ** q / window_weight_norm, d the mean absolute
    change between its valid steps; with q = 1 that is the absolute error over d
    (MASE's scale, within the window). Padding does not enter d."""
    x, y = _windows(), _windows(length=4, seed=1)
    x = x * torch.tensor([0.5, 1.0, 2.0, 4.0, 8.0, 16.0])[:, None, None]
    model = _model(scaling="mean", window_loss="absolute", step_weight=1.0)
    with torch.no_grad():
        model.window_weight_norm.fill_(2.0)
    out = model(x, target=y)
    d = (x[:, 1:] - x[:, :-1]).abs().mean(dim=(1, 2))  # (N,)
    expected = (out[0] - y).abs().mean(dim=(1, 2)) / d / 2.0
    torch.testing.assert_close(model.loss(out, y, reduction="none", x=x), expected)
    model.step_weight = 2.0
    _, scale = model.window_stats(x)
    torch.testing.assert_close(
        model.loss(out, y, reduction="none", x=x), expected * scale[:, 0, 0] / d
    )
    lengths = torch.tensor([10, 7, 10, 4, 10, 10])  # padded windows: d over the
    padded = x.clone()  # valid steps only, whatever the padding holds
    padded[1, 7:], padded[3, 4:] = 1e3, -1e3
    weights = model.window_weights(padded, lengths, scale)
    for i, n in ((1, 7), (3, 4)):
        step = (x[i, 1:n] - x[i, : n - 1]).abs().mean()
        expected = (scale[i, 0, 0] / step) ** 2 / 2.0
        torch.testing.assert_close(weights[i, 0, 0], expected)
    with pytest.raises(ValueError, match="window_loss"):
        _model(scaling="mean", window_loss="l1")


def test_target_features_scale_outputs_by_their_own_feature():
    model = _model(f=2, o=1, scaling="last", target_features=[1])
    x = _windows(f=2)
    moved = x.clone()
    moved[..., 1] = 10 * x[..., 1] - 3
    moved[..., 0] = 0.5 * x[..., 0] + 40  # another feature's units do not matter
    with torch.no_grad():
        out, out_moved = model(x, n_steps=4)[0], model(moved, n_steps=4)[0]
    torch.testing.assert_close(out_moved, 10 * out - 3, rtol=1e-4, atol=1e-3)


def test_outputs_that_are_not_input_features_stay_unscaled():
    model = _model(f=3, o=2, scaling="last")  # O != F: no mapping
    assert model.target_features is None
    x = _windows(f=3)
    with torch.no_grad():
        a, b = model(x, n_steps=4)[0], model(5 * x + 2, n_steps=4)[0]
    torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)  # inputs are scale-free


def test_constant_window_forecasts_its_level():
    model = _model(scaling="last", skip=True, min_scale=1e-2)
    x = torch.full((2, 10, 1), 123.0)
    with torch.no_grad():
        out = model(x, n_steps=4)[0]
    assert (out - 123.0).abs().max() < 0.1  # corrections are at most min_scale-sized


@pytest.mark.parametrize("skip", [False, True])
def test_padded_windows_equal_unpadded(skip):
    model = _model(scaling="last", skip=skip, attention="dot")
    x = _windows(n=3)
    lengths = torch.tensor([10, 7, 4])
    padded = x.clone()
    for i, n in enumerate(lengths):
        padded[i, n:] = 99.0  # padding must not matter
    with torch.no_grad():
        out = model(padded, lengths, n_steps=4)[0]
        for i, n in enumerate(lengths):
            alone = model(x[i : i + 1, :n], n_steps=4)[0]
            torch.testing.assert_close(out[i : i + 1], alone, rtol=1e-4, atol=1e-4)


def test_skip_learns_a_trend_that_leaves_the_training_range():
    """A rising line with a cycle: trained on the first levels, forecast far above.

    With per-window scaling and the linear path the forecast error is small; a model
    on the same data without them extrapolates the level badly.
    """
    t = np.arange(160, dtype=np.float32)
    series = 0.3 * t + np.sin(2 * np.pi * t / 12)
    n_in, h = 24, 6
    starts = np.arange(0, 100 - n_in - h)
    x = torch.tensor(np.stack([series[s : s + n_in] for s in starts]))[:, :, None]
    y = torch.tensor(np.stack([series[s + n_in : s + n_in + h] for s in starts]))
    y = y[:, :, None]
    test_x = torch.tensor(series[130 : 130 + n_in])[None, :, None]
    truth = torch.tensor(series[130 + n_in : 130 + n_in + h])[None, :, None]
    errors = {}
    for name, kw in {"scaled": dict(scaling="last", skip=True), "plain": {}}.items():
        torch.manual_seed(0)
        model = Seq2Seq(
            1, 1, hidden_size=16, pattern="direct", max_length=n_in, horizon=h, **kw
        )
        opt = torch.optim.Adam(model.parameters(), lr=1e-2)
        for _ in range(150):
            loss = model.loss(model(x, target=y), y, x=x)
            opt.zero_grad()
            loss.backward()
            opt.step()
        model.eval()
        with torch.no_grad():
            errors[name] = float((model(test_x, n_steps=h)[0] - truth).abs().mean())
    assert errors["scaled"] < 0.3
    assert errors["plain"] > 3 * errors["scaled"]


@pytest.mark.parametrize("skip", ["scaled", "raw"])
def test_fit_linear_path_is_the_least_squares_forecast(skip):
    """On a noisy sine the closed-form linear path alone forecasts almost exactly
    (the recurrent part's output layer is zeroed)."""
    rng = np.random.default_rng(0)
    series = 50.0 + np.sin(0.5 * np.arange(300)) + 0.01 * rng.normal(size=300)
    starts = np.arange(0, 290)
    x = torch.tensor(np.stack([series[s : s + 6] for s in starts]), dtype=torch.float32)
    y = torch.tensor(
        np.stack([series[s + 6 : s + 10] for s in starts]), dtype=torch.float32
    )
    model = _model(scaling="mean", skip=skip, max_length=6, horizon=4)
    torch.nn.init.zeros_(model.out.weight)
    torch.nn.init.zeros_(model.out.bias)
    model.fit_linear_path(x[:, :, None], y[:, :, None], alpha=1e-6)
    with torch.no_grad():
        pred = model(x[:, :, None], n_steps=4)[0][:, :, 0]
    naive = (x[:, -1:] - y).abs().mean()
    assert (pred - y).abs().mean() < 0.1 * naive


def test_fit_linear_path_sample_weight_is_repeated_windows():
    """Integer window weights give the fit of the windows repeated that many
    times (the penalty counts against a mean weight of 1, so alpha is scaled by
    the repeated set's size over the original's); all-equal weights change
    nothing."""
    x, y = _windows(n=12, seed=2), _windows(n=12, length=4, seed=3)
    counts = torch.tensor([1, 2, 3, 1, 1, 4, 1, 2, 1, 1, 3, 1])
    weighted, repeated, equal, plain = (
        _model(scaling="mean", skip=True) for _ in range(4)
    )
    alpha = 0.5
    weighted.fit_linear_path(x, y, alpha=alpha, sample_weight=counts.float())
    ratio = counts.sum() / len(counts)  # repeated rows: alpha per mean weight
    repeated.fit_linear_path(
        x.repeat_interleave(counts, dim=0),
        y.repeat_interleave(counts, dim=0),
        alpha=alpha * float(ratio),
    )
    equal.fit_linear_path(x, y, alpha=alpha, sample_weight=torch.full((12,), 7.0))
    plain.fit_linear_path(x, y, alpha=alpha)
    for a, b in ((weighted, repeated), (equal, plain)):
        torch.testing.assert_close(a.skip.weight, b.skip.weight, rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(a.skip.bias, b.skip.bias, rtol=1e-4, atol=1e-5)
    assert not torch.allclose(weighted.skip.weight, plain.skip.weight, atol=1e-3)


def test_raw_skip_keeps_the_level():
    """A raw linear path sees the level that window scaling removes: with weights
    that forecast the constant 5, any window gives 5."""
    model = _model(scaling="last", skip="raw")
    torch.nn.init.zeros_(model.out.weight)
    torch.nn.init.zeros_(model.out.bias)
    with torch.no_grad():
        model.skip.bias.fill_(5.0)
        out = model(_windows() * 3 + 40, n_steps=4)[0]
    torch.testing.assert_close(out, torch.full_like(out, 5.0), rtol=1e-4, atol=1e-4)


def _level_model(**kw):
    """The linear path reads only the level, with weight 1: its forecast in window
    units is the level, -loc / scale, so loc - loc = 0 in standardised units (the
    outputs' units under ``standardize``): the input mean, as far as the bound lets
    it."""
    model = _model(scaling="mean", skip=True, level=True, standardize=True, **kw)
    torch.nn.init.zeros_(model.out.weight)
    torch.nn.init.zeros_(model.out.bias)
    with torch.no_grad():
        model.input_mean.fill_(50.0)
        model.input_scale.fill_(10.0)
        model.skip.weight[:, -1] = 1.0  # the level's column
    return model


def test_level_pulls_the_forecast_to_the_input_mean():
    """Windows 2-3 window standard deviations from the input mean: with the level
    read by the linear path (unit weight, wide bound) the forecast is the mean;
    with a weight 0 (no level) it is the window's mean."""
    x = 50.0 + _windows(n=4) * 0.5 + torch.tensor([-8.0, -4.0, 4.0, 8.0])[:, None, None]
    with torch.no_grad():
        out = _level_model(level_bound=1e3)(x, n_steps=4)[0]
    torch.testing.assert_close(out, torch.zeros_like(out), rtol=0, atol=1e-4)


def test_level_is_bounded_far_from_the_mean():
    """A constant window 1e3 input units above the mean (scale min_scale, so
    -loc / scale = -1e4 window units): the level moves the forecast by at most
    level_bound window scales, not back to the mean (standardised units: the
    window is at 100, its scale min_scale)."""
    with torch.no_grad():
        out = _level_model(min_scale=1e-2)(torch.full((2, 10, 1), 1050.0), n_steps=4)
    shift = out[0] - 100.0
    bound = 3.0 * 1e-2  # level_bound * min_scale
    assert (shift < 0).all() and (shift.abs() <= bound + 1e-3).all()
    assert (shift.abs() > 0.9 * bound).all()


def test_option_errors():
    with pytest.raises(ValueError, match="needs max_length"):
        Seq2Seq(1, 1, skip=True, horizon=3)
    with pytest.raises(ValueError, match="categorical"):
        Seq2Seq(4, 4, categorical=True, scaling="last")
    with pytest.raises(ValueError, match="skip must be False, True"):
        Seq2Seq(1, 1, skip="window", max_length=3, horizon=2)
    with pytest.raises(ValueError, match="level=True is an input of the linear"):
        Seq2Seq(1, 1, scaling="mean", skip="raw", level=True, max_length=3, horizon=2)
    with pytest.raises(ValueError, match="scaling must be one of"):
        Seq2Seq(1, 1, scaling="window")
    with pytest.raises(ValueError, match="target_features"):
        Seq2Seq(2, 1, scaling="last", target_features=[2])
    model = _model(skip=True)
    with pytest.raises(ValueError, match="predicts 4 steps, got n_steps=5"):
        model(_windows(), n_steps=5)


@pytest.mark.parametrize("scaling", [None, "mean"])
def test_standardize_reads_inputs_in_the_units_of_its_buffers(scaling):
    """With standardize, x is read as (x - input_mean) / input_scale everywhere:
    forward, the loss's window statistics and hidden_states; outputs and targets
    are in the standardised units."""
    model = _model(scaling=scaling, skip=True, standardize=True)
    plain = _model(scaling=scaling, skip=True)  # the same weights (same seed)
    model.input_mean.fill_(100.0)
    model.input_scale.fill_(10.0)
    x, y = _windows(), _windows(length=4, seed=1)
    raw = 10.0 * x + 100.0
    with torch.no_grad():
        torch.testing.assert_close(model(raw, n_steps=4)[0], plain(x, n_steps=4)[0])
        loss = model.loss(model(raw, target=y), y, x=raw)
        torch.testing.assert_close(loss, plain.loss(plain(x, target=y), y, x=x))
        torch.testing.assert_close(
            model.hidden_states(raw)[0], plain.hidden_states(x)[0]
        )
    assert "input_mean" in model.state_dict() and "input_mean" not in plain.state_dict()


def test_linear_path_starts_at_zero_after_a_seeded_reset():
    """The estimators redraw every parameter from the fit's generator; the linear
    path must still start at zero (a random start cost 0.17 MASE on sunspots)."""
    from sksequence.nn import reset_parameters

    model = _model(scaling="mean", skip=True)
    reset_parameters(model, torch.Generator().manual_seed(0))
    assert model.skip.weight.abs().max() == 0 and model.skip.bias.abs().max() == 0
    assert model.out.weight.abs().max() > 0  # the others are drawn
