"""Decoding strategies on fake step functions whose best sequences are known."""

import itertools

import numpy as np
import pytest
import torch

from sksequence.nn.decoding import (
    beam_search,
    greedy_decode,
    sample_decode,
    select_state,
)


def markov_step(log_table):
    """A step function over a per-sample Markov chain.

    ``log_table`` (N, C + 1, C): log-probabilities of the next token given the
    previous one; row C is the start token. The state carries each sample's table
    (batch first), so beam search must reorder it correctly.
    """

    def step(inputs, state):
        table = state["table"]  # (N, C + 1, C)
        rows = table[torch.arange(len(inputs)), inputs]  # (N, C)
        return rows, {"table": table, "steps": state["steps"] + 1}

    return step


def random_tables(n, n_classes, seed):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(n, n_classes + 1, n_classes, generator=g) * 2
    return torch.log_softmax(logits, dim=-1)


def brute_force_best(table, n_steps):
    """Exhaustive search of the most probable sequence of one sample."""
    n_classes = table.shape[-1]
    best, best_score = None, -np.inf
    for seq in itertools.product(range(n_classes), repeat=n_steps):
        prev, score = n_classes, 0.0
        for tok in seq:
            score += float(table[prev, tok])
            prev = tok
        if score > best_score:
            best, best_score = seq, score
    return list(best), best_score


def start_state(tables):
    n, start = tables.shape[0], tables.shape[1] - 1
    inputs = torch.full((n,), start, dtype=torch.long)
    return inputs, {"table": tables, "steps": torch.zeros(n)}


def test_beam_search_beats_greedy_on_a_garden_path():
    # From the start, token 0 looks best (0.6 vs 0.4) but leads to a flat
    # distribution; token 1 leads to a near-certain token 2: 0.4 * 0.99 > 0.6 * 0.34.
    table = torch.full((4, 3), 1e-6)
    table[3] = torch.tensor([0.6, 0.4, 1e-6])
    table[0] = torch.tensor([0.34, 0.33, 0.33])
    table[1] = torch.tensor([0.005, 0.005, 0.99])
    table[2] = torch.tensor([0.34, 0.33, 0.33])
    tables = torch.log(table / table.sum(-1, keepdim=True))[None]
    step = markov_step(tables)

    greedy, _ = greedy_decode(step, *start_state(tables), 2)
    assert greedy.tolist() == [[0, 0]]
    beam, score = beam_search(step, *start_state(tables), 2, beam_width=2)
    assert beam.tolist() == [[1, 2]]
    assert float(score) == pytest.approx(np.log(0.4 * 0.99), abs=1e-4)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_wide_beam_is_exact_and_batch_independent(seed):
    n, n_classes, n_steps = 5, 3, 4
    tables = random_tables(n, n_classes, seed)
    # A beam as wide as all prefixes of length T - 1 makes the search exhaustive.
    tokens, scores = beam_search(
        markov_step(tables),
        *start_state(tables),
        n_steps,
        beam_width=n_classes ** (n_steps - 1),
    )
    for i in range(n):
        best, best_score = brute_force_best(tables[i], n_steps)
        assert tokens[i].tolist() == best
        assert float(scores[i]) == pytest.approx(best_score, abs=1e-4)


def test_beam_scores_never_below_greedy():
    tables = random_tables(64, 6, seed=3)
    step = markov_step(tables)
    greedy, outputs = greedy_decode(step, *start_state(tables), 5)
    greedy_score = outputs.gather(2, greedy[..., None]).sum(dim=(1, 2))
    for width in (2, 4):
        _, scores = beam_search(step, *start_state(tables), 5, beam_width=width)
        assert (scores >= greedy_score - 1e-5).all()
    tokens, _ = beam_search(step, *start_state(tables), 5, beam_width=1)
    assert torch.equal(tokens, greedy)


def test_beam_search_end_token_freezes_finished_hypotheses():
    # Token 0 is the end symbol. Ending at once has probability 0.5; every other
    # continuation has at most 0.45 at the first step and loses more afterwards.
    table = torch.tensor(
        [
            [1.0, 0.0, 0.0],  # after the end symbol (never used: frozen)
            [0.3, 0.35, 0.35],
            [0.3, 0.35, 0.35],
            [0.5, 0.45, 0.05],  # start
        ]
    )
    tables = torch.log(table.clamp_min(1e-9))[None]
    tokens, score = beam_search(
        markov_step(tables), *start_state(tables), 4, beam_width=3, end_token=0
    )
    assert tokens.tolist() == [[0, 0, 0, 0]]
    assert float(score) == pytest.approx(np.log(0.5), abs=1e-4)


def test_greedy_end_token_pads_after_end():
    table = torch.tensor([[0.1, 0.9], [0.2, 0.8], [0.1, 0.9]])  # start row last
    tables = torch.log(table)[None].expand(2, -1, -1)
    # Greedy picks 1 forever; with end_token=1 everything after the first is 1 too.
    tokens, _ = greedy_decode(markov_step(tables), *start_state(tables), 3, end_token=1)
    assert tokens.tolist() == [[1, 1, 1], [1, 1, 1]]
    table = torch.tensor([[0.9, 0.1], [0.9, 0.1], [0.1, 0.9]])
    tables = torch.log(table)[None]
    # The start emits 1 = end; the chain would then emit 0, but the end sticks.
    tokens, _ = greedy_decode(markov_step(tables), *start_state(tables), 3, end_token=1)
    assert tokens.tolist() == [[1, 1, 1]]


def test_greedy_feeds_back_values_for_regression():
    def step(inputs, state):  # doubles its input: x, 2x, 4x, ...
        return inputs * 2, state

    values, outputs = greedy_decode(step, torch.ones(3, 2), None, 4, choose=None)
    assert values.shape == (3, 4, 2)
    assert values[0, :, 0].tolist() == [2, 4, 8, 16]
    assert torch.equal(values, outputs)


def test_sampling_follows_the_distribution_and_the_seed():
    probs = torch.tensor([0.7, 0.2, 0.1])
    table = torch.log(probs).expand(4, 3).clone()  # every row the same
    tables = table[None].expand(20_000, -1, -1)
    step = markov_step(tables)
    gen = torch.Generator().manual_seed(0)
    tokens = sample_decode(step, *start_state(tables), 2, generator=gen)
    freq = torch.bincount(tokens[:, 0], minlength=3).double() / len(tokens)
    assert torch.allclose(freq, probs.double(), atol=0.015)
    # temperature 2 flattens: p ~ sqrt(probs)
    flat = probs.sqrt() / probs.sqrt().sum()
    gen = torch.Generator().manual_seed(0)
    tokens = sample_decode(
        step, *start_state(tables), 1, temperature=2.0, generator=gen
    )
    freq = torch.bincount(tokens[:, 0], minlength=3).double() / len(tokens)
    assert torch.allclose(freq, flat.double(), atol=0.015)
    # same seed, same samples; near-zero temperature is greedy
    small = tables[:50]
    a = sample_decode(
        markov_step(small),
        *start_state(small),
        3,
        generator=torch.Generator().manual_seed(5),
    )
    b = sample_decode(
        markov_step(small),
        *start_state(small),
        3,
        generator=torch.Generator().manual_seed(5),
    )
    assert torch.equal(a, b)
    cold = sample_decode(markov_step(small), *start_state(small), 3, temperature=1e-4)
    assert (cold == 0).all()


def test_sampling_rejects_bad_temperature():
    tables = random_tables(2, 3, seed=0)
    with pytest.raises(ValueError, match="temperature must be positive"):
        sample_decode(markov_step(tables), *start_state(tables), 2, temperature=0.0)


def test_select_state_nested():
    state = {"a": (torch.arange(3), None), "b": [torch.arange(6).view(3, 2)]}
    out = select_state(state, torch.tensor([2, 2, 0]))
    assert out["a"][0].tolist() == [2, 2, 0]
    assert out["a"][1] is None
    assert out["b"][0].tolist() == [[4, 5], [4, 5], [0, 1]]
    with pytest.raises(TypeError, match="Cannot index a decoder state"):
        select_state({"x": 3}, torch.tensor([0]))
