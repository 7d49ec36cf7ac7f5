"""SMILE (Xu et al., Bioinformatics 2022): a PyTorch reimplementation of the authors'
``SMILE.SMILE`` / ``SMILE_trainer`` (rpmccordlab/SMILE, unchanged since b99d9b0) as the
CLAIRE authors ran it (their patched copy in CLAIRE-release ``reproducibility/SMILE``).

Input: the log-normalised HVGs z-scored per gene (sklearn's StandardScaler). Two views of
each cell add independent N(0, 1) noise; an encoder G -> 1000 -> 512 -> 128 (Linear, BN,
ReLU) feeds a 32-d feature head (NT-Xent between the views, temperature 0.05) and a
softmax cluster head whose assignment columns are contrasted (NT-Xent, temperature
0.15). SGD (momentum 0.9, weight decay 5e-4, constant lr), batches of 512 from a fresh
permutation each epoch, the remainder dropped; Linear layers Xavier-uniform, biases 0.
No batch label or cell type is used. The embedding is the encoder's 128-d output.

Quirk behind a named option, default as in the CLAIRE paper's numbers: ``bn_eval=False``
embeds the cells with BatchNorm left in training mode over consecutive 512-cell chunks
in dataset order, so each chunk is normalised with its own statistics (with cells stored
batch by batch this acts as a hidden per-batch normalisation). ``bn_eval=True`` is the
standard embedding with BatchNorm's running statistics. A 1-cell remainder chunk, which
train-mode BatchNorm cannot normalise (the authors' loop would fail), joins the chunk
before it.

``lr`` is per dataset: the CLAIRE authors used 1e-4 for Pancreas, ImmHuman and Lung and
1e-2 for MCA and Muris (no PBMC notebook exists). The default is upstream's hard-coded
1e-2: with 1e-4 and 80 epochs a small dataset (Kang, 1.5k cells, 3 steps per epoch)
stays near its initialisation and its NMI collapses (0.55 against PCA's 0.73).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import anndata as ad
import numpy as np
import scipy.sparse as sp
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from claire.bench.contract import AdapterResult, InputError
from claire.device import resolve_device, seeded

log = logging.getLogger(__name__)

HIDDEN = (1000, 512, 128)
EVAL_CHUNK = 4096  # cells per forward pass in eval mode (any size gives the same output)


class SmileNet(nn.Module):
    """SMILE's network: BN-ReLU encoder, linear feature head, softmax cluster head."""

    def __init__(self, n_genes: int, n_clusters: int = 25, feature_dim: int = 32) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width = n_genes
        for out in HIDDEN:
            layers += [nn.Linear(width, out), nn.BatchNorm1d(out), nn.ReLU()]
            width = out
        self.encoder = nn.Sequential(*layers)
        self.feature = nn.Linear(width, feature_dim)
        self.cluster = nn.Sequential(nn.Linear(width, n_clusters), nn.Softmax(dim=1))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.encoder(x)
        return self.feature(h), self.cluster(h)


def xavier_init(module: nn.Module) -> None:
    """The authors' notebook init: Xavier-uniform Linear weights, zero biases."""
    if isinstance(module, nn.Linear):
        nn.init.xavier_uniform_(module.weight)
        nn.init.zeros_(module.bias)


def nt_xent(u: torch.Tensor, v: torch.Tensor, temperature: float) -> torch.Tensor:
    """SimCLR NT-Xent as SMILE's ContrastiveLoss: rows of u and v (N each) are positive
    pairs; l_i = -log(exp(s_i,pos / t) / sum_{k != i} exp(s_ik / t)) over the 2N
    L2-normalised rows (the denominator includes the positive); returns sum(l_i) / 2N."""
    n = u.shape[0]
    z = F.normalize(torch.cat([u, v]), dim=1)
    logits = (z @ z.T) / temperature
    eye = torch.eye(2 * n, dtype=torch.bool, device=z.device)
    logits = logits.masked_fill(eye, float("-inf"))
    positive = torch.arange(2 * n, device=z.device).roll(n)
    return (logits.logsumexp(dim=1) - logits[torch.arange(2 * n), positive]).mean()


def smile_loss(
    f1: torch.Tensor,
    f2: torch.Tensor,
    y1: torch.Tensor,
    y2: torch.Tensor,
    f_temp: float = 0.05,
    p_temp: float = 0.15,
) -> torch.Tensor:
    """Instance NT-Xent on the features plus cluster NT-Xent on the assignment columns."""
    return nt_xent(f1, f2, f_temp) + nt_xent(y1.T, y2.T, p_temp)


def zscore(x: np.ndarray | sp.spmatrix) -> np.ndarray:
    """Per-gene z-scores with the population std (StandardScaler; constant genes -> 0)."""
    dense = np.asarray(x.toarray() if sp.issparse(x) else x, dtype=np.float64)
    std = dense.std(axis=0)
    return ((dense - dense.mean(axis=0)) / np.where(std > 0, std, 1.0)).astype(np.float32)


def inference_chunks(n_cells: int, size: int) -> list[slice]:
    """Consecutive chunks of ``size`` cells; a 1-cell remainder joins the previous chunk."""
    bounds = list(range(0, n_cells, size)) + [n_cells]
    if len(bounds) > 2 and bounds[-1] - bounds[-2] == 1:
        del bounds[-2]
    return [slice(a, b) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


@torch.no_grad()
def embed(net: SmileNet, x: torch.Tensor, bn_eval: bool, chunk: int = 512) -> np.ndarray:
    """The encoder's 128-d output of every cell (see the module doc for ``bn_eval``).

    Train-mode inference would update BatchNorm's running statistics; they are restored,
    so embedding a snapshot does not change the training run.
    """
    was_training = net.training
    buffers = {k: b.clone() for k, b in net.encoder.state_dict().items()}
    net.train(not bn_eval)
    chunks = inference_chunks(x.shape[0], EVAL_CHUNK if bn_eval else chunk)
    out = torch.cat([net.encoder(x[c]) for c in chunks]).cpu().numpy()
    net.encoder.load_state_dict(buffers)
    net.train(was_training)
    return out


@dataclass(frozen=True)
class SmileSettings:
    """SMILE's parameters (the adapter's ``method_params``); defaults as upstream."""

    epochs: int = 80
    lr: float = 1e-2
    batch_size: int = 512
    n_clusters: int = 25
    feature_dim: int = 32
    f_temp: float = 0.05
    p_temp: float = 0.15
    noise_sd: float = 1.0
    momentum: float = 0.9
    weight_decay: float = 5e-4
    bn_eval: bool = False
    snapshot_epochs: Sequence[int] = ()
    device: str = "auto"
    progress: bool | None = None


PARAMETERS = SmileSettings  # the parse-time config check reads its fields


@dataclass
class SmileFit:
    """A trained SMILE network with its per-epoch losses and snapshots."""

    net: SmileNet
    losses: list[float] = field(default_factory=list)  # mean loss per step, per epoch
    loss_sums: list[float] = field(default_factory=list)  # upstream's "Total loss" per epoch
    snapshots: dict[int, np.ndarray] = field(default_factory=dict)
    embedding: np.ndarray | None = None  # after the last epoch, embedded with ``bn_eval``
    data: torch.Tensor | None = None  # the training input on the training device


def _train_epoch(
    net: SmileNet,
    x: torch.Tensor,
    opt: torch.optim.Optimizer,
    rng: np.random.Generator,
    noise: torch.Generator,
    settings: SmileSettings,
) -> list[float]:
    """One epoch over n // batch_size full batches of a fresh permutation."""
    batch_size, noise_sd = settings.batch_size, settings.noise_sd
    order = torch.from_numpy(rng.permutation(x.shape[0])).to(x.device)
    step_losses = []
    for j in range(x.shape[0] // batch_size):
        inputs = x[order[j * batch_size : (j + 1) * batch_size]]
        views = [
            inputs + noise_sd * torch.randn(inputs.shape, generator=noise, device=x.device)
            for _ in range(2)
        ]
        (f1, y1), (f2, y2) = net(views[0]), net(views[1])
        loss = smile_loss(f1, f2, y1, y2, settings.f_temp, settings.p_temp)
        opt.zero_grad()
        loss.backward()
        opt.step()
        step_losses.append(float(loss.detach()))
    return step_losses


def train_smile(x: np.ndarray, settings: SmileSettings, *, seed: int) -> SmileFit:
    """Train SMILE on ``x`` (cells x genes, already z-scored); seeded and, on CPU,
    bit-identical for the same seed. Snapshots are embedded with ``bn_eval``."""
    if x.shape[0] < settings.batch_size:
        raise InputError(
            f"smile: {x.shape[0]} cells < batch_size {settings.batch_size}: upstream SMILE trains "
            "only full batches and would not train at all; lower batch_size"
        )
    dev = resolve_device(settings.device)
    with seeded(seed, dev):
        net = SmileNet(x.shape[1], settings.n_clusters, settings.feature_dim)
        net.apply(xavier_init)
        net.to(dev).train()
        data = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)).to(dev)
        opt = torch.optim.SGD(
            net.parameters(),
            lr=settings.lr,
            momentum=settings.momentum,
            weight_decay=settings.weight_decay,
        )
        rng = np.random.default_rng(seed)
        noise = torch.Generator(device=dev).manual_seed(seed + 1)
        fit = SmileFit(net)
        wanted = {int(e) for e in settings.snapshot_epochs if 0 <= int(e) <= settings.epochs}
        if 0 in wanted:
            fit.snapshots[0] = embed(net, data, settings.bn_eval, settings.batch_size)
        disable = None if settings.progress is None else not settings.progress
        bar = tqdm(range(1, settings.epochs + 1), desc="smile", disable=disable)
        for epoch in bar:
            steps = _train_epoch(net, data, opt, rng, noise, settings)
            fit.losses.append(float(np.mean(steps)))
            fit.loss_sums.append(float(np.sum(steps)))
            bar.set_postfix(loss=f"{fit.losses[-1]:.4f}")
            log.info(
                "smile: epoch %d/%d, loss %.4f per step (total %.4f over %d steps)",
                epoch,
                settings.epochs,
                fit.losses[-1],
                fit.loss_sums[-1],
                len(steps),
            )
            if epoch in wanted:
                fit.snapshots[epoch] = embed(net, data, settings.bn_eval, settings.batch_size)
        fit.embedding = embed(net, data, settings.bn_eval, settings.batch_size)
    fit.data = data
    return fit


def run(adata: ad.AnnData, batch_key: str, seed: int, **params: Any) -> AdapterResult:
    """Train SMILE on the z-scored HVGs of ``adata.X`` and embed every cell in the order
    of ``adata``; ``params`` are :class:`SmileSettings`' fields. SMILE uses neither the
    batch (``batch_key`` is only checked) nor labels.
    """
    settings = SmileSettings(**params)
    if batch_key not in adata.obs.columns:
        raise InputError(f"smile: obs[{batch_key!r}] is missing")
    fit = train_smile(zscore(adata.X), settings, seed=seed)
    stats = {
        "loss": np.asarray(fit.losses, dtype=np.float64),
        "loss_sum": np.asarray(fit.loss_sums, dtype=np.float64),
        "steps_per_epoch": adata.n_obs // settings.batch_size,
        "bn_eval": bool(settings.bn_eval),
        "device": str(fit.data.device),
    }
    return AdapterResult(fit.embedding, snapshots=fit.snapshots, uns={"smile": stats})
