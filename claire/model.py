"""CLAIRE's network (paper 2.4-2.5): an MLP encoder inside a MoCo framework.

The online encoder f is trained by a symmetric InfoNCE loss; the momentum encoder g is
an exponential moving average of f and fills a FIFO queue of negative keys.
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn

QUEUE_INITS = ("random", "zeros")  # random unit vectors (ours) or zeros (reference code)


class Dropout(nn.Module):
    """Inverted dropout whose keep mask comes from ``rand >= p``: the same distribution as
    ``nn.Dropout`` but about twice as fast on CPU (torch's ``bernoulli_`` is slow there)."""

    def __init__(self, p: float) -> None:
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"dropout must lie in [0, 1), got {p}")
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        keep = torch.rand_like(x) >= self.p
        return x * keep * (1.0 / (1.0 - self.p))

    def extra_repr(self) -> str:
        return f"p={self.p}"


class Encoder(nn.Module):
    """G -> G/4 -> G/8 -> latent MLP with ReLU and dropout, L2-normalised output.

    ``relu_before_norm`` adds the ReLU that the reference code applies to the last
    layer before normalising (the paper does not describe it).
    """

    def __init__(
        self,
        n_genes: int,
        latent_dim: int = 128,
        dropout: float = 0.3,
        relu_before_norm: bool = False,
    ) -> None:
        super().__init__()
        h1, h2 = n_genes // 4, n_genes // 8
        if h2 < 1:
            raise ValueError(f"the encoder needs at least 8 genes, got {n_genes}")
        layers: list[nn.Module] = [
            nn.Linear(n_genes, h1),
            nn.ReLU(),
            Dropout(dropout),
            nn.Linear(h1, h2),
            nn.ReLU(),
            Dropout(dropout),
            nn.Linear(h2, latent_dim),
        ]
        if relu_before_norm:
            layers.append(nn.ReLU())
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.net(x), dim=1)


def info_nce(
    query: torch.Tensor, key: torch.Tensor, negatives: torch.Tensor, temperature: float
) -> torch.Tensor:
    """Mean InfoNCE loss of queries against their positive keys and shared negatives.

    ``query`` and ``key`` are (N x d), ``negatives`` is (Q x d); all rows L2-normalised.
    """
    positive = (query * key).sum(dim=1, keepdim=True)
    negative = query @ negatives.T
    logits = torch.cat([positive, negative], dim=1) / temperature
    target = torch.zeros(query.shape[0], dtype=torch.long, device=query.device)
    return F.cross_entropy(logits, target)


def symmetric_info_nce(
    q1: torch.Tensor,
    q2: torch.Tensor,
    k1: torch.Tensor,
    k2: torch.Tensor,
    negatives: torch.Tensor,
    temperature: float,
) -> torch.Tensor:
    """0.5 * (InfoNCE(f(v1), g(v2)) + InfoNCE(f(v2), g(v1))), the loss of paper eq. 6."""
    return 0.5 * (
        info_nce(q1, k2, negatives, temperature) + info_nce(q2, k1, negatives, temperature)
    )


def initial_queue(
    size: int, dim: int, init: str = "random", generator: torch.Generator | None = None
) -> torch.Tensor:
    """The queue before training: random unit vectors (``"random"``) or zeros."""
    device = generator.device if generator is not None else torch.device("cpu")
    if init == "zeros":
        return torch.zeros(size, dim, device=device)
    return F.normalize(torch.randn(size, dim, generator=generator, device=device), dim=1)


class MoCo(nn.Module):
    """Online encoder, momentum encoder and queue of negative keys.

    With ``queue_init="random"`` the queue starts as random unit vectors drawn from
    ``generator``; ``"zeros"`` starts it at zeros as the reference code does (every
    negative logit is then 0 until the queue has been filled once).
    """

    def __init__(
        self,
        n_genes: int,
        *,
        latent_dim: int = 128,
        queue_size: int = 2048,
        momentum: float = 0.999,
        temperature: float = 0.1,
        dropout: float = 0.3,
        relu_before_norm: bool = False,
        queue_init: str = "random",
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"momentum must lie in [0, 1), got {momentum}")
        if temperature <= 0:
            raise ValueError(f"temperature must be positive, got {temperature}")
        if queue_size < 1:
            raise ValueError(f"queue_size must be positive, got {queue_size}")
        if queue_init not in QUEUE_INITS:
            raise ValueError(f"queue_init must be one of {QUEUE_INITS}, got {queue_init!r}")
        self.n_genes = n_genes
        self.momentum = momentum
        self.temperature = temperature
        self.encoder_q = Encoder(n_genes, latent_dim, dropout, relu_before_norm)
        self.encoder_k = copy.deepcopy(self.encoder_q)
        for param in self.encoder_k.parameters():
            param.requires_grad_(False)
        self.register_buffer("queue", initial_queue(queue_size, latent_dim, queue_init, generator))
        self.register_buffer("queue_ptr", torch.zeros((), dtype=torch.long))

    @torch.no_grad()
    def momentum_update(self) -> None:
        """g <- m * g + (1 - m) * f, parameter by parameter."""
        params_k = list(self.encoder_k.parameters())
        params_q = [p.detach() for p in self.encoder_q.parameters()]
        torch._foreach_mul_(params_k, self.momentum)
        torch._foreach_add_(params_k, params_q, alpha=1.0 - self.momentum)

    @torch.no_grad()
    def enqueue(self, keys: torch.Tensor) -> None:
        """Overwrite the oldest queue entries with ``keys`` (first in, first out)."""
        size = self.queue.shape[0]
        keys = keys[-size:]
        slots = (self.queue_ptr + torch.arange(keys.shape[0], device=keys.device)) % size
        self.queue[slots] = keys.to(self.queue.dtype)
        self.queue_ptr.copy_((self.queue_ptr + keys.shape[0]) % size)

    def forward(self, view1: torch.Tensor, view2: torch.Tensor) -> torch.Tensor:
        """One training step's loss; updates g and the queue as side effects."""
        self.momentum_update()
        n = view1.shape[0]
        both = torch.cat([view1, view2])
        q = self.encoder_q(both)
        with torch.no_grad():
            k = self.encoder_k(both)
        loss = symmetric_info_nce(
            q[:n], q[n:], k[:n], k[n:], self.queue.clone().detach(), self.temperature
        )
        self.enqueue(k)
        return loss

    @torch.no_grad()
    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Online-encoder embedding of ``x`` (dropout off)."""
        was_training = self.encoder_q.training
        self.encoder_q.eval()
        try:
            return self.encoder_q(x)
        finally:
            self.encoder_q.train(was_training)
