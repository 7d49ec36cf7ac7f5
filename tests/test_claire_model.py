"""Encoder architecture, MoCo queue and momentum update, symmetric InfoNCE."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from claire.model import Dropout, Encoder, MoCo, info_nce, symmetric_info_nce


def unit(*shape: int, seed: int) -> torch.Tensor:
    return F.normalize(torch.randn(*shape, generator=torch.Generator().manual_seed(seed)), dim=-1)


def test_encoder_layers_follow_the_paper():
    enc = Encoder(2000, latent_dim=128, dropout=0.3)
    linears = [m for m in enc.net if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [
        (2000, 500),
        (500, 250),
        (250, 128),
    ]
    dropouts = [m.p for m in enc.net if isinstance(m, Dropout)]
    assert dropouts == [0.3, 0.3]
    assert not isinstance(enc.net[-1], torch.nn.ReLU)
    out = enc(torch.rand(7, 2000))
    torch.testing.assert_close(out.norm(dim=1), torch.ones(7))


def test_dropout_zeroes_a_share_p_and_keeps_the_expectation():
    drop = Dropout(0.3)
    x = torch.ones(400, 500)
    torch.manual_seed(0)
    out = drop(x)
    assert abs(float((out == 0).float().mean()) - 0.3) < 0.01
    assert abs(float(out.mean()) - 1.0) < 0.01
    torch.testing.assert_close(out[out > 0], torch.full_like(out[out > 0], 1 / 0.7))
    assert torch.equal(drop.eval()(x), x)


def test_encoder_dropout_is_off_at_inference_and_relu_option():
    enc = Encoder(64, latent_dim=16, relu_before_norm=True).eval()
    x = torch.rand(5, 64)
    out = enc(x)
    assert torch.equal(out, enc(x))
    assert torch.all(out >= 0)
    with pytest.raises(ValueError, match="at least 8 genes"):
        Encoder(4)


def test_info_nce_against_hand_computation():
    q, k, negatives = unit(3, 4, seed=0), unit(3, 4, seed=1), unit(5, 4, seed=2)
    tau = 0.1
    expected = 0.0
    for n in range(3):
        pos = math.exp(float(q[n] @ k[n]) / tau)
        neg = sum(math.exp(float(q[n] @ negatives[m]) / tau) for m in range(5))
        expected += -math.log(pos / (pos + neg))
    assert float(info_nce(q, k, negatives, tau)) == pytest.approx(expected / 3, rel=1e-5)


def test_symmetric_loss_against_hand_computation():
    q1, q2, k1, k2 = (unit(4, 6, seed=s) for s in range(4))
    negatives = unit(8, 6, seed=9)
    tau = 0.07

    def hand(q: torch.Tensor, k: torch.Tensor) -> float:
        total = 0.0
        for n in range(q.shape[0]):
            logits = [float(q[n] @ k[n]) / tau] + [
                float(q[n] @ negatives[m]) / tau for m in range(negatives.shape[0])
            ]
            top = max(logits)
            log_sum = top + math.log(sum(math.exp(v - top) for v in logits))
            total += log_sum - logits[0]
        return total / q.shape[0]

    expected = 0.5 * (hand(q1, k2) + hand(q2, k1))
    got = float(symmetric_info_nce(q1, q2, k1, k2, negatives, tau))
    assert got == pytest.approx(expected, rel=1e-5)
    # the pairing matters: swapping the keys gives another value
    assert float(symmetric_info_nce(q1, q2, k2, k1, negatives, tau)) != pytest.approx(got)


def test_queue_starts_as_random_unit_vectors():
    model = MoCo(64, latent_dim=16, queue_size=32, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(model.queue.norm(dim=1), torch.ones(32))
    assert torch.unique(model.queue, dim=0).shape[0] == 32
    same = MoCo(64, latent_dim=16, queue_size=32, generator=torch.Generator().manual_seed(0))
    assert torch.equal(model.queue, same.queue)


def test_queue_is_fifo_with_wraparound():
    model = MoCo(64, latent_dim=4, queue_size=10)
    initial = model.queue.clone()
    first = unit(6, 4, seed=1)
    model.enqueue(first)
    assert torch.equal(model.queue[:6], first) and torch.equal(model.queue[6:], initial[6:])
    assert int(model.queue_ptr) == 6
    second = unit(6, 4, seed=2)
    model.enqueue(second)  # fills slots 6..9 then wraps to 0..1
    assert torch.equal(model.queue[6:], second[:4])
    assert torch.equal(model.queue[:2], second[4:])
    assert torch.equal(model.queue[2:6], first[2:6])  # the oldest surviving keys
    assert int(model.queue_ptr) == 2
    model.enqueue(unit(25, 4, seed=3))  # more keys than slots: the newest 10 stay
    assert int(model.queue_ptr) == (2 + 10) % 10


def test_momentum_update_is_an_ema_of_the_online_encoder():
    model = MoCo(64, latent_dim=8, momentum=0.9)
    for p in model.encoder_q.parameters():
        p.data.add_(1.0)  # online encoder moves away from the key encoder
    before_k = [p.clone() for p in model.encoder_k.parameters()]
    online = [p.clone() for p in model.encoder_q.parameters()]
    model.momentum_update()
    for k_old, q, k_new in zip(before_k, online, model.encoder_k.parameters(), strict=True):
        torch.testing.assert_close(k_new, 0.9 * k_old + 0.1 * q)
    assert all(not p.requires_grad for p in model.encoder_k.parameters())


def test_forward_trains_only_the_online_encoder_and_enqueues_both_key_sets():
    torch.manual_seed(0)
    model = MoCo(64, latent_dim=8, queue_size=64, temperature=0.1)
    v1, v2 = torch.rand(5, 64), torch.rand(5, 64)
    loss = model(v1, v2)
    loss.backward()
    assert all(p.grad is not None for p in model.encoder_q.parameters())
    assert all(p.grad is None for p in model.encoder_k.parameters())
    assert int(model.queue_ptr) == 10
    assert loss.item() > 0


def test_invalid_hyper_parameters_raise():
    with pytest.raises(ValueError, match="momentum"):
        MoCo(64, momentum=1.0)
    with pytest.raises(ValueError, match="temperature"):
        MoCo(64, temperature=0)
