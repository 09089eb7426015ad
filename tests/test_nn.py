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
