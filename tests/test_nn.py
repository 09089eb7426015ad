"""Pure torch modules: shapes, padding, truncated BPTT."""

import pytest
import torch

from sksequence.nn import (
    ConditionalDecoder,
    RecurrentEncoder,
    RepeatDecoder,
    SequenceAutoencoder,
    masked_mse,
    reverse_padded,
)
from sksequence.nn.functional import length_mask
from sksequence.nn.pooling import masked_mean


def test_reverse_padded_reverses_within_each_length():
    x = torch.arange(1.0, 6.0).repeat(2, 1)[:, :, None]  # (2, 5, 1)
    out = reverse_padded(x, torch.tensor([5, 3]))
    assert out[0, :, 0].tolist() == [5, 4, 3, 2, 1]
    assert out[1, :, 0].tolist() == [3, 2, 1, 4, 5]  # padding stays in place
    torch.testing.assert_close(reverse_padded(out, torch.tensor([5, 3])), x)


def test_masked_mse_ignores_padding():
    pred = torch.zeros(2, 4, 1)
    target = torch.ones(2, 4, 1)
    target[1, 2:] = 1000.0  # padding of sequence 1
    lengths = torch.tensor([4, 2])
    assert masked_mse(pred, target, lengths).item() == pytest.approx(1.0)
    assert masked_mse(pred, target, lengths, reduction="none").tolist() == [1.0, 1.0]


def test_masked_mae_ignores_padding_and_is_absolute():
    from sksequence.nn.functional import masked_mae

    pred = torch.zeros(2, 4, 1)
    target = torch.full((2, 4, 1), -2.0)
    target[1, 2:] = 1000.0  # padding of sequence 1
    lengths = torch.tensor([4, 2])
    assert masked_mae(pred, target, lengths).item() == pytest.approx(2.0)
    assert masked_mae(pred, target, lengths, reduction="none").tolist() == [2.0, 2.0]
    assert masked_mae(pred, target).item() == pytest.approx((6 * 2 + 2 * 1000) / 8)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("cell_state", [True, False], ids=["packed", "reversed"])
def test_encoder_padding_does_not_leak(cell, bidirectional, cell_state):
    torch.manual_seed(0)
    enc = RecurrentEncoder(3, 5, num_layers=2, cell=cell, bidirectional=bidirectional)
    x = torch.randn(2, 6, 3)
    lengths = torch.tensor([6, 3])
    garbage = x.clone()
    garbage[1, 3:] = 99.0
    out_a, (h_a, _) = enc(x, lengths, cell_state=cell_state)
    out_b, (h_b, _) = enc(garbage, lengths, cell_state=cell_state)
    torch.testing.assert_close(h_a, h_b)
    torch.testing.assert_close(out_a, out_b)
    alone, (h_alone, _) = enc(x[1:2, :3])
    torch.testing.assert_close(enc.final_hidden(h_a)[1], enc.final_hidden(h_alone)[0])
    assert out_a.shape == (2, 6, enc.output_size)
    assert torch.all(out_a[1, 3:] == 0)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("num_layers", [1, 3])
def test_encoder_cpu_reversed_path_equals_packing(cell, bidirectional, num_layers):
    """cell_state=False runs the padded batch (backward direction reversed within
    each length) instead of packing: same outputs, final states and gradients."""
    torch.manual_seed(0)
    enc = RecurrentEncoder(4, 6, num_layers, cell, bidirectional)
    lengths = torch.tensor([9, 1, 4, 9, 2, 7])
    x = torch.randn(6, 9, 4) * (torch.arange(9)[None, :, None] < lengths[:, None, None])
    results = []
    for cell_state in (True, False):
        enc.zero_grad()
        out, (h_n, c_n) = enc(x, lengths, cell_state=cell_state)
        assert (c_n is None) == (not cell_state or cell == "gru")
        (out.square().sum() + h_n.square().sum()).backward()
        grads = [p.grad.clone() for p in enc.parameters()]
        results.append((out, h_n, grads))
    (out_a, h_a, g_a), (out_b, h_b, g_b) = results
    torch.testing.assert_close(out_b, out_a)
    torch.testing.assert_close(h_b, h_a)
    for a, b in zip(g_a, g_b):
        torch.testing.assert_close(b, a, rtol=1e-4, atol=1e-5)


def test_decoders_shapes_and_teacher_forcing():
    z = torch.randn(4, 7)
    rep = RepeatDecoder(7, 2, 5)
    y, (h, c) = rep(z, 6)
    assert y.shape == (4, 6, 2) and h.shape == (1, 4, 5)
    cond = ConditionalDecoder(7, 2, 5)
    target = torch.randn(4, 6, 2)
    y_tf, _ = cond(z, 6, target=target)
    # step-by-step with the true previous value fed in equals the one-call version
    state, prev, steps = None, None, []
    for t in range(6):
        y_t, state = cond(z, 1, target=target[:, t : t + 1], state=state, prev=prev)
        prev = target[:, t]
        steps.append(y_t)
    torch.testing.assert_close(torch.cat(steps, dim=1), y_tf)
    y_free, _ = cond(z, 6)  # feeds back its own outputs
    assert y_free.shape == (4, 6, 2)


@pytest.mark.parametrize("objective", ["reconstruct", "composite"])
@pytest.mark.parametrize("conditional", [False, True])
@pytest.mark.parametrize("ragged", [False, True])
def test_truncated_bptt_with_one_chunk_equals_full_backprop(
    objective, conditional, ragged
):
    torch.manual_seed(0)
    model = SequenceAutoencoder(
        2, hidden_size=4, objective=objective, conditional=conditional, n_components=3
    )
    batch = {"x": torch.randn(3, 8, 2)}
    if ragged:
        batch["lengths"] = torch.tensor([8, 5, 2])
    if objective == "composite":
        batch["future"] = torch.randn(3, 4, 2)
    model.zero_grad()
    loss = model.loss(model(**batch), **batch)
    loss.backward()
    full = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    loss_tbptt = model.truncated_backward(100, **batch)
    torch.testing.assert_close(loss_tbptt, loss.detach())
    for g_full, p in zip(full, model.parameters()):
        torch.testing.assert_close(p.grad, g_full)


@pytest.mark.parametrize("ragged", [False, True])
def test_truncated_bptt_chunks_give_the_same_loss(ragged):
    torch.manual_seed(0)
    model = SequenceAutoencoder(2, hidden_size=4, objective="reconstruct")
    batch = {"x": torch.randn(3, 9, 2)}
    if ragged:
        batch["lengths"] = torch.tensor([9, 4, 7])
    loss = model.loss(model(**batch), **batch)
    # gradients are truncated, but the forward pass (and so the loss) is exact
    torch.testing.assert_close(model.truncated_backward(2, **batch), loss.detach())


# -- SequenceAutoencoder's feature options (front end, pooling, scaling, patches) ----

FEATURE_AE = dict(
    hidden_size=8,
    bidirectional=True,
    pooling="mean_max",
    conv_channels=(6, 6),
    conv_kernel_sizes=(5, 3),
    conv_strides=(2, 2),
    conv_skip=True,
    scaling="standard",
)


def test_patchify_round_trip():
    from sksequence.nn.autoencoder import patchify, unpatchify

    x = torch.randn(3, 10, 2)
    p = patchify(x, 4)
    assert p.shape == (3, 3, 8)
    torch.testing.assert_close(p[:, 0].reshape(3, 4, 2), x[:, :4])
    torch.testing.assert_close(unpatchify(p, 4, 10), x)


def test_pool_steps_averages_each_sequences_own_steps():
    from sksequence.nn.functional import pool_steps

    x = torch.randn(2, 10, 3)
    x[1, 7:] = 99.0  # after the second sequence's end: never read
    p, lens = pool_steps(x, torch.tensor([10, 7]), 4)
    assert p.shape == (2, 3, 3) and lens.tolist() == [3, 2]
    torch.testing.assert_close(p[0, 2], x[0, 8:].mean(0))  # a shorter last group
    torch.testing.assert_close(p[1, 0], x[1, :4].mean(0))
    torch.testing.assert_close(p[1, 1], x[1, 4:7].mean(0))
    alone, none = pool_steps(x[1:, :7], None, 4)
    assert none is None
    torch.testing.assert_close(alone[0], p[1, :2])


def test_autoencoder_input_pool_feeds_the_front_end_means_and_decodes_every_step():
    torch.manual_seed(0)
    model = SequenceAutoencoder(2, n_components=5, input_pool=3, **FEATURE_AE)
    assert model.decoder_stride == 3 * 4  # the pool times the strides
    x = torch.randn(4, 14, 2)
    out = model(x)  # training: a sample of the patches, standardised
    assert out["reconstruction"] is None
    assert out["reconstruction_patches"].shape == (4, 1, 12 * 2)
    model.eval()
    assert model(x)["reconstruction"].shape == (4, 14, 2)
    with torch.no_grad():
        pooled = model.features(x)
        means = torch.stack([x[:, i : i + 3].mean(1) for i in range(0, 14, 3)], 1)
        model.input_pool = 1
        torch.testing.assert_close(model.features(means), pooled)
    with pytest.raises(ValueError, match="input_pool must be >= 1"):
        SequenceAutoencoder(2, n_components=5, input_pool=0, **FEATURE_AE)


@pytest.mark.parametrize("wide", [False, True])
@pytest.mark.parametrize("reverse", [True, False])
@pytest.mark.parametrize("lengths", [None, [13, 9, 11, 5], [9, 5, 7, 9]])
def test_pooled_training_loss_is_the_reconstruction_error_computed_the_long_way(
    reverse, lengths, wide
):
    # in training a pooled model pools before scaling and compares a random
    # 1 / input_pool of the decoder's patches with the standardised input: the
    # same patches of every sequence with lengths None, each sequence's own with
    # lengths (each sum weighed by its patches over its sampled ones). The loss
    # must be the error of the reconstruction in the input's units on exactly
    # those steps, and with lengths, over many draws, the whole error.
    # ``wide``: no pooling, but sequences of more than patch_values values (40
    # steps x 2 features > 30: 1 / 3 of the patches) are sampled alike
    torch.manual_seed(0)
    model = SequenceAutoencoder(
        2,
        n_components=5,
        input_pool=1 if wide else 3,
        patch_values=30 if wide else 0,
        decoder_stride=12 if wide else None,
        reverse_target=reverse,
        shape_basis=4,
        **FEATURE_AE,
    )
    with torch.no_grad():
        model.input_mean.copy_(torch.tensor([1.0, -2.0]))
        model.input_scale.copy_(torch.tensor([3.0, 0.5]))
        for p in model.shape_decoder.parameters():  # (zero at initialisation)
            p.normal_()
    n_steps, s = 40, model.decoder_stride  # 12-step patches: 4, the last of 4 steps
    x = torch.randn(4, n_steps, 2) * 2 + 1
    lens = None if lengths is None else torch.tensor(lengths) * 3
    out = model(x, lens, generator=torch.Generator().manual_seed(1))
    assert out["reconstruction"] is None
    xs = model.scale(x, lens)
    c = model.norm(model.bottleneck(model.features(xs, lens)))
    recon = model.unscale(model._reconstruct_scaled(c, n_steps, lens))
    full = {"reconstruction": recon, "forecast": None}
    if lens is None:
        index = out["patch_index"]
        assert index.tolist() == sorted(set(index.tolist())) and len(index) == 2
        steps = (index[:, None] * s + torch.arange(s)).reshape(-1)
        steps = steps[steps < n_steps]  # in the decoder's order
        if reverse:
            steps = n_steps - 1 - steps
        err = ((recon - x) / model.input_scale).pow(2)[:, steps]  # (N, S, F)
        expected, expected_per = err.mean(), err.mean(dim=(1, 2))
    else:  # each sequence a sample of its own patches, weighed by P_i / S_i
        index = out["patch_index"]
        err = ((recon - x) / model.input_scale).pow(2)  # (N, L, F)
        totals = []
        for i, length in enumerate(lens.tolist()):
            own = [p for p in index[i].tolist() if p >= 0]
            patches = -(-length // s)
            divisor = model._patch_divisor(length)  # its own length's
            assert len(own) == -(-patches // divisor) == len(set(own))
            assert max(own) < patches
            steps = [p * s + j for p in own for j in range(s) if p * s + j < length]
            if reverse:
                steps = [length - 1 - k for k in steps]
            totals.append(err[i, steps].sum() * patches / len(own))
        totals = torch.stack(totals)
        expected = totals.sum() / (lens.sum() * 2)
        expected_per = totals / (lens * 2)
        # and over many draws, the loss of the whole reconstruction
        draws = [
            model.loss(
                model(x, lens, generator=torch.Generator().manual_seed(g)), x, lens
            )
            for g in range(400)
        ]
        whole = model.loss(full, x, lens)
        torch.testing.assert_close(torch.stack(draws).mean(), whole, rtol=0.03, atol=0)
    torch.testing.assert_close(model.loss(out, x, lens), expected, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(
        model.loss(out, x, lens, reduction="none"), expected_per, rtol=1e-5, atol=1e-6
    )


def test_pooled_training_noise_is_what_a_mean_of_noisy_steps_carries():
    model = SequenceAutoencoder(
        1, n_components=3, input_pool=4, input_noise=0.5, **FEATURE_AE
    )
    x = torch.zeros(4000, 10, 1)
    gen = torch.Generator().manual_seed(0)
    noisy, lens = model._pooled_training_input(x, None, gen)
    assert noisy.shape == (4000, 3, 1) and lens is None
    # groups of 4, 4 and 2 steps: 0.5 / sqrt(count)
    std = noisy[:, :, 0].std(dim=0)
    torch.testing.assert_close(
        std, torch.tensor([0.25, 0.25, 0.5 / 2**0.5]), rtol=0.05, atol=0
    )
    lengths = torch.full((4000,), 5)
    noisy, lens = model._pooled_training_input(x, lengths, gen)
    assert lens.tolist() == [2] * 4000
    assert noisy[:, 2].abs().max() == 0  # after each sequence's end: zero
    torch.testing.assert_close(
        noisy[:, :2, 0].std(dim=0), torch.tensor([0.25, 0.5]), rtol=0.05, atol=0
    )


@pytest.mark.parametrize("conditional", [False, True])
def test_autoencoder_front_end_shapes_and_patch_decoding(conditional):
    torch.manual_seed(0)
    model = SequenceAutoencoder(
        3, n_components=5, conditional=conditional, **FEATURE_AE
    )
    assert model.decoder_stride == 4  # product of the strides
    assert model.pooled_size == 2 * 2 * 8 + 2 * 6
    out = model(torch.randn(4, 13, 3))
    assert out["encoding"].shape == (4, 5)
    assert out["reconstruction"].shape == (4, 13, 3)
    model.eval()
    assert model.reconstruct(out["encoding"], 9).shape == (4, 9, 3)


def test_autoencoder_pooled_encoding_ignores_padding():
    torch.manual_seed(0)
    model = SequenceAutoencoder(2, **FEATURE_AE).eval()
    x = torch.randn(3, 20, 2)
    lengths = torch.tensor([20, 11, 6])
    padded = x * (torch.arange(20)[None, :, None] < lengths[:, None, None])
    padded[1, 11:] = 7.0  # garbage after the end must not matter
    z = model.encode(padded, lengths)
    for i in range(3):
        alone = model.encode(x[i : i + 1, : lengths[i]])
        torch.testing.assert_close(z[i : i + 1], alone, rtol=1e-5, atol=1e-6)
    # extra padding after the longest sequence changes nothing either
    longer = torch.cat([padded, torch.zeros(3, 9, 2)], dim=1)
    torch.testing.assert_close(model.encode(longer, lengths), z)


def test_autoencoder_scaling_loss_in_standard_units_outputs_in_input_units():
    torch.manual_seed(0)
    x = 100.0 + 50.0 * torch.randn(8, 12, 2)
    model = SequenceAutoencoder(2, hidden_size=8, scaling="standard")
    model.fit_scaling(x)
    torch.testing.assert_close(model.input_mean, x.mean(dim=(0, 1)))
    out = model(x)
    assert abs(float(out["reconstruction"].detach().mean()) - 100.0) < 20.0  # units
    expected = (((out["reconstruction"] - x) / model.input_scale) ** 2).mean()
    torch.testing.assert_close(model.loss(out, x), expected)
    assert float(model.loss(out, x)) < 5.0  # standardised units, not 50**2


def test_autoencoder_feature_model_learns_to_reconstruct():
    torch.manual_seed(0)
    t = torch.linspace(0, 6.28, 32)
    x = torch.stack([torch.sin(t * f + p) for f, p in torch.rand(64, 2) * 3])[..., None]
    model = SequenceAutoencoder(1, n_components=4, code_norm="layer", **FEATURE_AE)
    model.fit_scaling(x)
    opt = torch.optim.AdamW(model.parameters(), lr=5e-3)
    model.eval()
    before = float(model.loss(model(x), x))
    model.train()
    for _ in range(150):
        opt.zero_grad()
        loss = model.loss(model(x), x)
        loss.backward()
        opt.step()
    model.eval()
    after = float(model.loss(model(x), x))
    assert after < 0.6 * before
    z = model.encode(x)
    # layer-normalised codes: zero mean, unit variance per sequence
    torch.testing.assert_close(z.mean(dim=1), torch.zeros(64), atol=1e-5, rtol=0)


def test_autoencoder_corruption_only_in_training():
    torch.manual_seed(0)
    model = SequenceAutoencoder(
        1, hidden_size=4, scaling="standard", input_noise=0.5, mask_fraction=0.3
    )
    x = torch.randn(4, 40, 1)
    a, b = model(x)["encoding"], model(x)["encoding"]
    assert not torch.allclose(a, b)  # a new corruption each call
    model.eval()
    torch.testing.assert_close(model(x)["encoding"], model(x)["encoding"])
    torch.testing.assert_close(model(x)["encoding"], model.encode(x))


def test_autoencoder_step_errors_match_the_loss():
    torch.manual_seed(0)
    model = SequenceAutoencoder(2, **FEATURE_AE).eval()
    model.fit_scaling(torch.randn(5, 17, 2) * 3)
    x = torch.randn(3, 17, 2)
    lengths = torch.tensor([17, 9, 4])
    err = model.step_errors(x, lengths)
    assert err.shape == (3, 17) and float(err[2, 4:].abs().sum()) == 0.0
    per_seq = model.loss(model(x, lengths), x, lengths, reduction="none")
    torch.testing.assert_close(err.sum(dim=1) / lengths, per_seq)


def test_truncated_bptt_refuses_a_pooled_encoder():
    model = SequenceAutoencoder(2, hidden_size=4, pooling="mean")
    with pytest.raises(ValueError, match="pooling='last'"):
        model.truncated_backward(3, torch.randn(2, 6, 2))


def test_autoencoder_pooled_encoding_decodes_through_the_bottleneck():
    torch.manual_seed(0)
    model = SequenceAutoencoder(
        2, n_components=3, code_norm="layer", encoding="pooled", **FEATURE_AE
    ).eval()
    x = torch.randn(4, 16, 2)
    z = model.encode(x)
    assert z.shape == (4, model.pooled_size) and model.encoding_size == z.shape[1]
    out = model(x)
    torch.testing.assert_close(out["encoding"], z)
    # reconstruct(encode(x)) is the forward pass's reconstruction
    torch.testing.assert_close(model.reconstruct(z, 16), out["reconstruction"])
    # the decoders read the 3-value code only
    assert model.reconstructor.init_state.in_features == 3
    torch.testing.assert_close(model.code(z), model.norm(model.bottleneck(z)))


def test_autoencoder_feature_loss_is_a_training_term_of_the_code():
    torch.manual_seed(0)
    kw = dict(n_components=3, code_norm="batch", **FEATURE_AE)
    model = SequenceAutoencoder(2, feature_loss=2.0, **kw)
    x = torch.randn(6, 16, 2)
    out = model(x)
    # a linear read-out of the code predicts the standardised, detached features
    f = model.features(x).detach()
    std = f.std(0, unbiased=False)
    target = (f - f.mean(0)) / torch.where(std > 1e-4, std, torch.ones_like(std))
    per_seq = 2.0 * (model.feature_head(out["encoding"]) - target).pow(2).mean(1)
    torch.testing.assert_close(out["code_loss"], per_seq)
    recon = masked_mse(out["reconstruction"], x)
    torch.testing.assert_close(model.loss(out, x), recon + per_seq.mean())
    model.loss(out, x).backward()
    assert float(model.bottleneck.weight.grad.abs().sum()) > 0
    assert float(model.feature_head.weight.grad.abs().sum()) > 0
    # not in evaluation (validation loss, anomaly scores), nor without a bottleneck
    model.eval()
    assert "code_loss" not in model(x)
    assert SequenceAutoencoder(2, feature_loss=1.0, **FEATURE_AE).feature_head is None


def test_autoencoder_feature_loss_targets_the_sampled_dilated_shares():
    """feature_loss_steps: the feature loss's target also holds the share of
    positive values of the first block's kernels at each dilation, on the input
    and its differences, estimated at random valid steps; the estimate matches the
    exact shares of the full maps and ignores the batch's padding."""
    kw = dict(n_components=3, code_norm="batch", feature_loss=2.0, **FEATURE_AE)
    kw.update(ppv_dilations=(1, 4), ppv_differences=True)
    torch.manual_seed(0)
    model = SequenceAutoencoder(2, feature_loss_steps=20000, **kw)
    c1 = model.front.convs[0].out_channels
    assert model.feature_head.out_features == model.pooled_size + 2 * 2 * c1
    # without the steps (or without a bottleneck) nothing is added
    plain = SequenceAutoencoder(2, **kw)
    assert plain.feature_head.out_features == plain.pooled_size
    assert plain.ppv_dilations == () and plain.feature_loss_steps == 0
    lengths = torch.tensor([30, 17, 9, 30])
    x = torch.randn(4, 30, 2).cumsum(1) / 4
    x = x * length_mask(lengths, 30)[:, :, None]  # zero after each end
    with torch.no_grad():
        maps = list(model._threshold_maps(x, lengths))[len(model.front.convs) :]
        exact = torch.cat([masked_mean((m > 0).float(), n) for m, n in maps], -1)
        got = model._sampled_shares(x, lengths, torch.Generator().manual_seed(1))
        # the same steps drawn: extra padding changes nothing
        padded = torch.nn.functional.pad(x, (0, 0, 0, 11))
        again = model._sampled_shares(padded, lengths, torch.Generator().manual_seed(1))
    assert got.shape == exact.shape == (4, 2 * 2 * c1)
    assert float((got - exact).abs().max()) < 0.03
    torch.testing.assert_close(again, got)
    # the loss: the read-out of the code against the standardised targets
    model.train()
    out = model(x, lengths, generator=torch.Generator().manual_seed(5))
    f = model.features(x, lengths).detach()
    with torch.no_grad():
        shares = model._sampled_shares(x, lengths, torch.Generator().manual_seed(5))
    t = torch.cat([f, shares], -1)
    std = t.std(0, unbiased=False)
    t = (t - t.mean(0)) / torch.where(std > 1e-4, std, torch.ones_like(std))
    per_seq = 2.0 * (model.feature_head(out["encoding"]) - t).pow(2).mean(1)
    torch.testing.assert_close(out["code_loss"], per_seq)


def test_autoencoder_shape_path_starts_at_zero_and_reads_relative_time():
    from sksequence.nn.init import reset_parameters

    torch.manual_seed(0)
    kw = dict(n_components=3, code_norm="layer", **FEATURE_AE)
    model = SequenceAutoencoder(1, shape_basis=8, **kw)
    plain = SequenceAutoencoder(1, shape_basis=0, **kw)
    reset_parameters(model, torch.Generator().manual_seed(0))
    reset_parameters(plain, torch.Generator().manual_seed(0))
    model.eval()
    plain.eval()
    x = torch.randn(3, 12, 1)
    # a zero start: the same reconstruction as without the shape path
    torch.testing.assert_close(model(x)["reconstruction"], plain(x)["reconstruction"])
    # coefficient 1 on the first cosine, cos(pi * (t + 0.5) / L_i), per sequence
    with torch.no_grad():
        model.shape_decoder.bias[1] = 1.0
    c = torch.zeros(2, 3)
    lengths = torch.tensor([12, 6])
    shape = model._shape(c, 12, lengths)  # (2, 12, 1)
    for i, n in enumerate([12, 6]):
        t = torch.arange(n) + 0.5
        torch.testing.assert_close(shape[i, :n, 0], torch.cos(torch.pi * t / n))
    # sequences of one length: the same path, through one matrix product above
    # 4096 steps (a broadcast batched product up to it)
    with torch.no_grad():
        model.shape_decoder.weight.normal_()
        model.shape_decoder.bias.normal_()
        c = torch.randn(2, 3)
        for steps in (12, 5000):
            t = (torch.arange(steps) + 0.5) / steps
            phi = torch.cos(t[:, None] * torch.arange(8) * torch.pi)  # (L, K)
            coef = model.shape_decoder(c).view(2, 8, 1)
            expected = torch.einsum("lk,nkf->nlf", phi, coef)
            got = model._shape(c, steps, None)
            torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-4)


def test_leave_one_out_distances_match_least_squares():
    """Each row's distance to the affine span of the other rows, and, with
    ``leave_out``, of the rows not marked for it: the Schur complements of
    the bordered Gram inverse equal the least-squares residuals."""
    from sksequence.nn.autoencoder import _leave_one_out_distances

    g = torch.Generator().manual_seed(0)
    u = torch.randn(9, 20, generator=g, dtype=torch.float64)
    leave_out = torch.zeros(9, 9, dtype=torch.bool)
    for i in range(9):  # each row's neighbours, as overlapping windows
        leave_out[i, max(0, i - 2) : i + 3] = True

    def distance(i, others):
        base = u[others[0]]
        a = (u[others[1:]] - base).T  # (P, k): the affine span's directions
        r = u[i] - base
        coef = torch.linalg.lstsq(a, r[:, None]).solution
        return float((r[:, None] - a @ coef).norm())

    plain = _leave_one_out_distances(u)
    blocked = _leave_one_out_distances(u, leave_out)
    for i in range(9):
        others = [j for j in range(9) if j != i]
        kept = [j for j in others if not leave_out[i, j]]
        assert abs(float(plain[i]) - distance(i, others)) < 1e-6
        assert abs(float(blocked[i]) - distance(i, kept)) < 1e-6
    assert bool((blocked >= plain - 1e-9).all())


@pytest.mark.parametrize("features", [3, 16, 40])
@pytest.mark.parametrize("stride, dilation", [(1, 1), (3, 1), (1, 5)])
def test_conv1d_steps_last_is_conv1d_of_the_transposed_input(
    features, stride, dilation
):
    from sksequence.nn.functional import conv1d_steps_last

    torch.manual_seed(0)
    x = torch.randn(5, 37, features)
    w, b = torch.randn(8, features, 7), torch.randn(8)
    pad = 3 * dilation
    got = conv1d_steps_last(x, w, b, stride, pad, dilation)
    expected = torch.nn.functional.conv1d(
        x.transpose(1, 2), w, b, stride, pad, dilation
    )
    assert got.shape == expected.shape
    if features < 16:  # narrow inputs: conv1d itself, bit for bit
        assert torch.equal(got, expected)
    else:  # wide ones read in place, channels last: equal up to rounding
        torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)
        assert got.stride(1) == 1  # (the channels-last result, not a copy)


@pytest.mark.parametrize("features", [3, 31, 32, 70])
def test_dilated_maps_are_the_dilated_convolutions(features):
    """Each map is the "same" convolution at its dilation: conv1d itself for
    narrow inputs, shifted sums of the taps' products for 32 or more
    features (dilations as long as the sequence too), and the convolutions
    when traced."""
    from sksequence.nn.functional import conv1d_steps_last, dilated_maps_steps_last

    torch.manual_seed(0)
    x = torch.randn(5, 37, features)
    w, b = torch.randn(8, features, 7), torch.randn(8)
    dilations = (1, 2, 5, 12, 40)

    def expected(d):
        y = torch.nn.functional.conv1d(x.transpose(1, 2), w, b, 1, 3 * d, d)
        return y.transpose(1, 2)  # (5, 37, 8)

    got = list(dilated_maps_steps_last(x, w, b, dilations))
    assert len(got) == len(dilations)
    for y, d in zip(got, dilations):
        assert y.shape == (5, 37, 8)
        if features < 32:  # the convolution as before, bit for bit
            assert torch.equal(y, conv1d_steps_last(x, w, b, 1, 3 * d, d).mT)
        else:
            torch.testing.assert_close(y, expected(d), rtol=1e-5, atol=1e-4)
    no_bias = next(dilated_maps_steps_last(x, w, None, (5,)))
    torch.testing.assert_close(no_bias + b, expected(5), rtol=1e-5, atol=1e-4)
    traced = torch.jit.trace(
        lambda h: torch.stack(list(dilated_maps_steps_last(h, w, b, dilations))), x
    )
    torch.testing.assert_close(
        traced(x), torch.stack([expected(d) for d in dilations]), rtol=1e-5, atol=1e-4
    )
    assert list(dilated_maps_steps_last(x, w, b, ())) == []


@pytest.mark.parametrize("lengths", [None, [900, 411, 650, 777, 520, 900]])
@pytest.mark.parametrize("features", [2, 20])
def test_thresholds_of_many_steps_computed_only_where_kept(
    monkeypatch, lengths, features
):
    # of many steps fit_ppv_thresholds keeps every k-th valid step of a dilated
    # map; with k >= 8 it computes the map at those steps only: the thresholds
    # must be those of the full maps, up to float rounding
    import sksequence.nn.autoencoder as ae

    torch.manual_seed(0)
    kw = dict(FEATURE_AE, conv_skip=True, conv_ppv=True)
    model = SequenceAutoencoder(
        features,
        encoding="pooled",
        ppv_quantiles=(0.25, 0.5, 0.75),
        ppv_dilations=(1, 3, 8),
        ppv_differences=True,
        ppv_zero_mean=True,
        **kw,
    ).eval()
    x = torch.randn(6, 900, features).cumsum(1) / 10
    lens = None if lengths is None else torch.tensor(lengths)
    if lens is not None:
        x = x * length_mask(lens, 900)[:, :, None]
    model.fit_ppv_thresholds(x, lens, max_rows=500)  # k = 10 or more
    gathered = model.ppv_thresholds.clone()
    monkeypatch.setattr(ae, "_THRESHOLD_GATHER_EVERY", 10**9)
    model.fit_ppv_thresholds(x, lens, max_rows=500)
    full = model.ppv_thresholds.clone()
    torch.testing.assert_close(gathered, full, rtol=1e-5, atol=1e-5)
    blocks = sum(c.out_channels for c in model.front.convs)
    assert float((full[:, blocks:] - full[:, blocks:].roll(1, 0)).abs().max()) > 0
    # and the kept steps are the ones a smaller chunk keeps too
    model.fit_ppv_thresholds(x, lens, chunk=1, max_rows=500)
    torch.testing.assert_close(model.ppv_thresholds, full)


def test_patch_values_samples_only_wide_sequences_in_training():
    torch.manual_seed(0)
    model = SequenceAutoencoder(2, n_components=4, patch_values=60, **FEATURE_AE)
    assert model._patch_divisor(30) == 1  # 60 values: every patch
    assert model._patch_divisor(31) == 2 and model._patch_divisor(100) == 4
    narrow = model(torch.randn(3, 30, 2))
    assert narrow["reconstruction"].shape == (3, 30, 2)
    wide = model(torch.randn(3, 100, 2))
    assert wide["reconstruction"] is None
    assert len(wide["patch_index"]) == 7  # 25 patches of 4 steps, 1 / 4
    model.eval()  # inference rebuilds every step
    assert model(torch.randn(3, 100, 2))["reconstruction"].shape == (3, 100, 2)
    with pytest.raises(ValueError, match="patch_values must be >= 0"):
        SequenceAutoencoder(2, patch_values=-1, **FEATURE_AE)


def test_wide_batches_draw_their_noise_from_a_bank():
    """The denoising noise of a batch whose sequences hold more than
    patch_values values is a copy of a random slice of a bank drawn once;
    narrower batches draw it afresh, exactly as torch.randn."""
    model = SequenceAutoencoder(
        2, n_components=4, patch_values=60, input_noise=0.1, **FEATURE_AE
    )
    gen, ref = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    narrow = model._noise(torch.Size((3, 30, 2)), gen, torch.float32)
    assert torch.equal(narrow, torch.randn((3, 30, 2), generator=ref))
    assert "_noise_bank" not in model.__dict__
    shape = torch.Size((5, 100, 2))  # 200 values a sequence
    draws = [model._noise(shape, gen, torch.float32) for _ in range(300)]
    bank = model.__dict__["_noise_bank"]
    assert bank.shape == (2 * shape.numel(),)
    kept = bank.clone()
    for d in draws:  # each a slice of the bank, a new tensor
        assert d.shape == shape and d._base is None
        start = int(torch.nonzero(bank == d.flatten()[0])[0])
        assert torch.equal(bank[start : start + shape.numel()], d.flatten())
    assert len({float(d[0, 0, 0]) for d in draws}) > 200  # random slices (of 1,001)
    values = torch.stack(draws)
    assert abs(float(values.mean())) < 0.05 and abs(float(values.std()) - 1) < 0.05
    # the noisy input leaves the bank alone
    model.train()
    x = torch.randn(shape)
    noisy = model._corrupt(x, gen)
    assert torch.equal(bank, kept)
    assert 0.05 < float((noisy - x).std()) < 0.15
    # a larger batch draws a larger bank
    model._noise(torch.Size((20, 100, 2)), gen, torch.float32)
    assert model.__dict__["_noise_bank"].numel() == 2 * 20 * 100 * 2
    # scratch: neither pickled nor copied with the model
    import copy
    import pickle

    assert "_noise_bank" not in pickle.loads(pickle.dumps(model)).__dict__
    assert "_noise_bank" not in copy.deepcopy(model).__dict__
    assert "_noise_bank" in model.__dict__
