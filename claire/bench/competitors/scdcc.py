"""scDCC (Tian et al., Nat Commun 2021, doi:10.1038/s41467-021-22008-3): a PyTorch
reimplementation of ttgump/scDCC (code of 88dd5f3 / 56b600c; reference: the device-aware
``scDCC_estimating_number_of_clusters/scDCC.py``), whose scripts do not run on a current
CPU stack (hard-coded CUDA, removed scanpy/sklearn APIs, a wrong keyword).

Recipe (spec ``competitors-deep.md`` section 3):

1. DCA preprocessing of the HVGs' raw counts (``layers["counts"]``): genes without counts
   dropped; size factor = cell total / median total; counts scaled to the median total,
   ``log1p``, z-score per gene (unbiased SD, no clipping) = the encoder input; the raw counts
   are the ZINB target. scDCC has no batch handling: the batch is never used (except by
   the batch-conditional variant below).
2. ZINB autoencoder: encoder p-256-64 (ReLU) -> linear 32-d z; decoder 32-64-256 (ReLU) ->
   mean = clamp(exp, 1e-5, 1e6), dispersion = clamp(softplus, 1e-4, 1e4), dropout =
   sigmoid; PyTorch's default init. The reconstruction path encodes x + 2.5 N(0, 1); the
   clean path encodes x, and its z is the embedding and the input of the clustering layer.
   ZINB likelihood with the size factor times the decoded mean, averaged over cells x genes.
3. Pretraining: Adam(1e-3, amsgrad), batches of 256 shuffled each epoch, ZINB only, 300
   epochs (the wrappers' ``--pretrain_epochs``).
4. Initialisation: k-means (k clusters, n_init 20) on the clean latent -- or, when k is not
   given, Louvain on the clean latent (20 neighbours, resolution 0.8) whose cluster count is
   k and whose cluster means are the centres (the authors' estimating-k wrapper).
5. Clustering stage: Adadelta(lr 1, rho 0.95) over all weights and the centres. Each epoch:
   q (Student-t, alpha 1) and p on all cells, stop when an epoch after the first changed
   fewer than ``tol`` = 0.1 % of the labels, else one pass over batches of 256 in fixed
   order with loss gamma KL(p || q) + ZINB; with constraints, then a pass over must-link
   pairs (-log sum q1 q2 + both cells' ZINB) and one over cannot-link pairs
   (-log(1 - sum q1 q2)). At most ``maxiter`` = 2000 epochs.

The embedding is the clean-path 32-d z after the clustering stage (``final_latent_file``).

Label use. ``label_informed=False`` (default) reads no cell type: no constraints, k from
Louvain. **``label_informed=True`` READS THE TRUE CELL TYPES (obs["cell_type"])**: k = the
number of true types (k-means initialisation) and ``n_pairwise`` must-link / cannot-link
pairs drawn from the true labels of a random 10 % of the cells, as the authors'
``scDCC_pairwise.py`` does; it is supervised and flagged so in ``uns["scdcc"]``. The
wrappers default to ``--n_pairwise 0``; the paper's constraint counts could not be read
(abstract only), so ``n_pairwise=1000`` is this project's choice. The benchmark scores all
cells, including the labelled 10 % (the authors score the other 90 %).

Batch-conditional variant (``batch_conditional=True``, off by default, a separate method
entry): the predecessor's ``scDeepClusterBatch`` (ttgump/scDeepCluster_pytorch 537cab7),
the one-hot batch concatenated to the encoder's and the decoder's input, otherwise the same
training (float32 here; upstream went float64 in 2023). It reads the batch, not the types.

Snapshots (``snapshot_epochs``) follow ``snapshot_stage``: "clustering" (default; epoch 0
= the pretrained model at the initialisation, epoch e = after e clustering epochs) or
"pretrain" (epoch e = after e pretraining epochs). Epochs not reached get the final
embedding. Randomness (weights, noise, shuffles, k-means, Louvain, constraints) comes from
``seed``; same seed -> identical embedding on CPU.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import anndata as ad
import numpy as np
import scipy.sparse as sp
import torch
import torch.nn.functional as F
from torch import nn

from claire.bench.competitors._contrastive import batch_codes
from claire.bench.competitors._deep_clustering import (
    SeededTrainer,
    Snapshots,
    cluster_means,
    encode_all,
    epoch_permutation,
    louvain_clusters,
    minibatches,
    refresh_targets,
    rows,
    soft_assign,
)
from claire.bench.contract import LABEL, AdapterResult, InputError
from claire.device import resolve_device, seeded

log = logging.getLogger(__name__)

METHOD = "scdcc"
ZINB_EPS = 1e-10
LABEL_USE_WARNING = (
    "LABEL-INFORMED: scDCC read the true cell types (obs['cell_type']) for k and for "
    "must-link/cannot-link constraints; not an unsupervised result"
)


# ---------------------------------------------------------------- preprocessing (DCA)


@dataclass(frozen=True)
class DcaInput:
    """The three inputs of scDCC: z-scored log expression, raw counts, size factors."""

    x: np.ndarray
    counts: np.ndarray
    size_factors: np.ndarray
    genes_kept: np.ndarray
    empty_cells: int


def dca_normalize(counts: np.ndarray | sp.spmatrix) -> DcaInput:
    """DCA's ``normalize`` (filter, size factors, log1p, z-score) on a cells x genes matrix.

    Genes without counts are dropped. Cells without counts cannot be dropped here (every
    cell needs an embedding): their normalised expression is 0 and their size factor 0,
    which makes their ZINB term 0 (logged). The z-score uses the unbiased SD, a constant
    gene gets SD 1 (``sc.pp.scale``).
    """
    raw = counts.toarray() if sp.issparse(counts) else np.asarray(counts)
    raw = np.asarray(raw, dtype=np.float64)
    genes_kept = raw.sum(axis=0) > 0
    raw = raw[:, genes_kept]
    totals = raw.sum(axis=1)
    nonzero = totals > 0
    empty = int((~nonzero).sum())
    if empty:
        log.warning(
            "%s: %d cells have no counts on the genes; kept with size factor 0", METHOD, empty
        )
    median = float(np.median(totals[nonzero]))
    size_factors = totals / median
    norm = np.zeros_like(raw)
    norm[nonzero] = raw[nonzero] / size_factors[nonzero, None]
    logged = np.log1p(norm)
    n = logged.shape[0]
    mean = logged.mean(axis=0)
    var = ((logged * logged).mean(axis=0) - mean**2) * (n / (n - 1))
    sd = np.sqrt(np.maximum(var, 0.0))
    sd[sd == 0] = 1.0
    x = (logged - mean) / sd
    return DcaInput(
        x.astype(np.float32),
        raw.astype(np.float32),
        size_factors.astype(np.float32),
        genes_kept,
        empty,
    )


# ---------------------------------------------------------------- model and losses


def zinb_nll(
    x: torch.Tensor,
    mean: torch.Tensor,
    disp: torch.Tensor,
    pi: torch.Tensor,
    scale_factor: torch.Tensor,
    ridge_lambda: float = 0.0,
    lgamma_x1: torch.Tensor | None = None,
    is_zero: torch.Tensor | None = None,
) -> torch.Tensor:
    """scDCC's ``ZINBLoss``: mean over cells x genes of the ZINB negative log-likelihood of
    counts ``x`` with mean ``mean * scale_factor``, dispersion ``disp``, dropout ``pi``.

    ``lgamma_x1`` = lgamma(x + 1) and ``is_zero`` = (x <= 1e-8) may be passed precomputed
    (:class:`CountTerms`); they depend on the counts only, and the result is the same."""
    eps = ZINB_EPS
    if lgamma_x1 is None:
        lgamma_x1 = torch.lgamma(x + 1.0)
    if is_zero is None:
        is_zero = x <= 1e-8
    mu = mean * scale_factor[:, None]
    t1 = torch.lgamma(disp + eps) + lgamma_x1 - torch.lgamma(x + disp + eps)
    t2 = (disp + x) * torch.log(1.0 + mu / (disp + eps)) + x * (
        torch.log(disp + eps) - torch.log(mu + eps)
    )
    nb_case = t1 + t2 - torch.log(1.0 - pi + eps)
    zero_nb = torch.pow(disp / (disp + mu + eps), disp)
    zero_case = -torch.log(pi + (1.0 - pi) * zero_nb + eps)
    result = torch.where(is_zero, zero_case, nb_case)
    if ridge_lambda > 0:
        result = result + ridge_lambda * pi**2
    return torch.mean(result)


def dec_kld(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """scDCC's clustering loss mean_i sum_j p log(p / (q + 1e-6)); a p of exactly 0
    contributes 0 (the authors' formula would give NaN there)."""
    return torch.mean(torch.sum(torch.xlogy(p, p) - p * torch.log(q + 1e-6), dim=1))


def pairwise_loss(q1: torch.Tensor, q2: torch.Tensor, must_link: bool) -> torch.Tensor:
    """Must-link: mean -log sum_k q1k q2k; cannot-link: mean -log(1 - sum_k q1k q2k)."""
    same = torch.sum(q1 * q2, dim=1)
    return torch.mean(-torch.log(same if must_link else 1.0 - same))


def _mlp(widths: Sequence[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for a, b in zip(widths[:-1], widths[1:], strict=True):
        layers += [nn.Linear(a, b), nn.ReLU()]
    return nn.Sequential(*layers)


class ScDCCNet(nn.Module):
    """scDCC's ZINB autoencoder; :meth:`encode` is the clean path, :meth:`reconstruct` the
    noisy one (Gaussian noise of SD ``sigma`` on the expression input).

    ``n_batch > 0`` is scDeepCluster_pytorch's ``scDeepClusterBatch``: the one-hot batch
    ``b`` is concatenated to the encoder's input and to the decoder's input (no noise on it).
    """

    def __init__(
        self,
        n_genes: int,
        z_dim: int = 32,
        encode_layers: Sequence[int] = (256, 64),
        decode_layers: Sequence[int] = (64, 256),
        sigma: float = 2.5,
        n_batch: int = 0,
    ) -> None:
        super().__init__()
        self.sigma = sigma
        self.n_batch = n_batch
        self.encoder = _mlp([n_genes + n_batch, *encode_layers])
        self.enc_mu = nn.Linear(encode_layers[-1], z_dim)
        self.decoder = _mlp([z_dim + n_batch, *decode_layers])
        self.dec_mean = nn.Linear(decode_layers[-1], n_genes)
        self.dec_disp = nn.Linear(decode_layers[-1], n_genes)
        self.dec_pi = nn.Linear(decode_layers[-1], n_genes)

    def _with_batch(self, h: torch.Tensor, b: torch.Tensor | None) -> torch.Tensor:
        if self.n_batch == 0:
            return h
        if b is None:
            raise ValueError("the batch-conditional network needs the one-hot batch b")
        return torch.cat([h, b], dim=-1)

    def encode(self, x: torch.Tensor, b: torch.Tensor | None = None) -> torch.Tensor:
        """Clean-path latent z0 (no noise)."""
        return self.enc_mu(self.encoder(self._with_batch(x, b)))

    def reconstruct(
        self, x: torch.Tensor, b: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """ZINB parameters decoded from the noisy input x + sigma N(0, 1)."""
        z = self.encode(x + torch.randn_like(x) * self.sigma, b)
        h = self.decoder(self._with_batch(z, b))
        mean = torch.clamp(torch.exp(self.dec_mean(h)), 1e-5, 1e6)
        disp = torch.clamp(F.softplus(self.dec_disp(h)), 1e-4, 1e4)
        return mean, disp, torch.sigmoid(self.dec_pi(h))

    def forward(self, x: torch.Tensor, b: torch.Tensor | None = None):
        """(clean z0, mean, dispersion, dropout), as the authors' ``forwardAE``."""
        mean, disp, pi = self.reconstruct(x, b)
        return self.encode(x, b), mean, disp, pi


# ---------------------------------------------------------------- constraints (labels)


@dataclass(frozen=True)
class Constraints:
    """Must-link and cannot-link cell pairs (index arrays of equal length per kind)."""

    ml1: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    ml2: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    cl1: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    cl2: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))


def label_cells(n_cells: int, share: float, rng: np.random.Generator) -> np.ndarray:
    """The 'labelled' cells: the first ceil(share * n) of a random permutation."""
    return rng.permutation(n_cells)[: int(math.ceil(share * n_cells))]


def random_pairs(
    labels: np.ndarray, labelled: np.ndarray, n_pairs: int, rng: np.random.Generator
) -> Constraints:
    """The authors' ``generate_random_pair`` (error rate 0): draw two labelled cells,
    skip identical cells and pairs already drawn as must-link; same label -> must-link,
    else cannot-link; each list then permuted."""
    if np.unique(labelled).size < 2:
        raise InputError(f"{METHOD}: fewer than 2 labelled cells to draw constraints from")
    ml: list[tuple[int, int]] = []
    cl: list[tuple[int, int]] = []
    seen_ml: set[tuple[int, int]] = set()
    while n_pairs > 0:
        a, b = (int(v) for v in rng.choice(labelled, 2))
        if a == b or (a, b) in seen_ml:
            continue
        if labels[a] == labels[b]:
            ml.append((a, b))
            seen_ml.add((a, b))
        else:
            cl.append((a, b))
        n_pairs -= 1
    ml_arr = np.asarray(ml, dtype=np.int64).reshape(-1, 2)[rng.permutation(len(ml))]
    cl_arr = np.asarray(cl, dtype=np.int64).reshape(-1, 2)[rng.permutation(len(cl))]
    return Constraints(ml_arr[:, 0], ml_arr[:, 1], cl_arr[:, 0], cl_arr[:, 1])


# ---------------------------------------------------------------- training


@dataclass(frozen=True)
class CountTerms:
    """The per-cell parts of the ZINB loss that depend on the counts only, computed once
    per run instead of once per minibatch: counts, size factors, lgamma(counts + 1) and
    the zero mask (bit-identical to computing them per batch; elementwise)."""

    counts: torch.Tensor
    sf: torch.Tensor
    lgamma_x1: torch.Tensor
    is_zero: torch.Tensor

    @classmethod
    def of(cls, counts: torch.Tensor, sf: torch.Tensor) -> CountTerms:
        return cls(counts, sf, torch.lgamma(counts + 1.0), counts <= 1e-8)

    def zinb(
        self, idx: torch.Tensor, mean: torch.Tensor, disp: torch.Tensor, pi: torch.Tensor
    ) -> torch.Tensor:
        """:func:`zinb_nll` of cells ``idx`` given their decoded ZINB parameters."""
        return zinb_nll(
            rows(self.counts, idx),
            mean,
            disp,
            pi,
            rows(self.sf, idx),
            lgamma_x1=rows(self.lgamma_x1, idx),
            is_zero=rows(self.is_zero, idx),
        )


@dataclass
class ScDCCTrainer(SeededTrainer):
    """Data on the device, the network, and the run's generator for shuffles."""

    model: ScDCCNet
    x: torch.Tensor
    counts: torch.Tensor
    sf: torch.Tensor
    onehot: torch.Tensor | None = None  # batch one-hot, batch-conditional variant only
    terms: CountTerms = field(init=False)

    def __post_init__(self) -> None:
        super().__post_init__()
        self.terms = CountTerms.of(self.counts, self.sf)

    def _b(self, idx: torch.Tensor) -> torch.Tensor | None:
        return None if self.onehot is None else rows(self.onehot, idx)

    def encode(self, idx: torch.Tensor) -> torch.Tensor:
        """Clean latent of cells ``idx``."""
        return self.model.encode(rows(self.x, idx), self._b(idx))

    def forward(self, idx: torch.Tensor):
        """(clean z0, mean, dispersion, dropout) of cells ``idx``."""
        return self.model(rows(self.x, idx), self._b(idx))

    def latent(self) -> torch.Tensor:
        """Clean latent of all cells, without gradients."""
        return encode_all(self.encode, torch.arange(self.n, device=self.x.device))

    def embed(self) -> np.ndarray:
        return self.latent().cpu().numpy().astype(np.float32)

    def zinb(self, idx: torch.Tensor) -> torch.Tensor:
        """ZINB loss of cells ``idx`` through the noisy reconstruction path."""
        mean, disp, pi = self.model.reconstruct(rows(self.x, idx), self._b(idx))
        return self.terms.zinb(idx, mean, disp, pi)

    def pretrain(self, epochs: int, lr: float, snaps: Snapshots) -> list[float]:
        """Adam(amsgrad) on the ZINB loss; the epochs' mean losses."""
        # foreach: the same update as the per-tensor loop (bit-identical), fewer passes
        opt = torch.optim.Adam(self.model.parameters(), lr=lr, amsgrad=True, foreach=True)
        losses: list[float] = []
        bar = self.progress_bar("scDCC pretraining", epochs)
        snaps.at(0)
        self.model.train()
        for epoch in range(epochs):
            total = 0.0
            for idx in minibatches(epoch_permutation(self.n, self.generator), self.batch_size):
                idx = idx.to(self.x.device)
                loss = self.zinb(idx)
                opt.zero_grad()
                loss.backward()
                opt.step()
                total = total + loss.detach().double() * len(idx)
            losses.append(float(total) / self.n)
            log.info("%s: pretrain epoch %d/%d ZINB %.5f", METHOD, epoch + 1, epochs, losses[-1])
            bar.update(1)
            bar.set_postfix(zinb=f"{losses[-1]:.4f}")
            snaps.at(epoch + 1)
        bar.close()
        return losses


@dataclass
class ClusterStage:
    """scDCC's clustering stage: the centres, Adadelta over everything, the constraints."""

    trainer: ScDCCTrainer
    mu: nn.Parameter
    constraints: Constraints
    alpha: float = 1.0
    gamma: float = 1.0
    ml_weight: float = 1.0
    cl_weight: float = 1.0
    lr: float = 1.0
    optimizer: torch.optim.Optimizer = field(init=False)

    def __post_init__(self) -> None:
        params = [*self.trainer.model.parameters(), self.mu]
        self.optimizer = torch.optim.Adadelta(params, lr=self.lr, rho=0.95)

    def q(self, z: torch.Tensor) -> torch.Tensor:
        return soft_assign(z, self.mu, self.alpha)

    @torch.no_grad()
    def assign(self) -> torch.Tensor:
        return self.q(self.trainer.latent())

    def _step(self, loss: torch.Tensor) -> None:
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()

    def train_epoch(self, p: torch.Tensor) -> dict[str, float]:
        """One pass in fixed cell order (KL + ZINB), then the constraint passes."""
        t = self.trainer
        kl_sum = zinb_sum = 0.0
        order = torch.arange(t.n, device=t.x.device)
        for idx in minibatches(order, t.batch_size):
            z0, mean, disp, pi = t.forward(idx)
            kl = self.gamma * dec_kld(rows(p, idx), self.q(z0))
            zinb = t.terms.zinb(idx, mean, disp, pi)
            self._step(kl + zinb)
            kl_sum = kl_sum + kl.detach().double() * len(idx)
            zinb_sum = zinb_sum + zinb.detach().double() * len(idx)
        stats = {"kl": float(kl_sum) / t.n, "zinb": float(zinb_sum) / t.n}
        stats["loss"] = stats["kl"] + stats["zinb"]
        stats["ml_loss"] = self._must_link_pass()
        stats["cl_loss"] = self._cannot_link_pass()
        return stats

    def _pair_batches(self, first: np.ndarray, second: np.ndarray):
        device = self.trainer.x.device
        a = torch.as_tensor(first, dtype=torch.long, device=device)
        b = torch.as_tensor(second, dtype=torch.long, device=device)
        if a.numel() == 0:
            return iter(())
        size = self.trainer.batch_size
        return zip(minibatches(a, size), minibatches(b, size), strict=True)

    def _must_link_pass(self) -> float:
        t, total = self.trainer, 0.0
        for i1, i2 in self._pair_batches(self.constraints.ml1, self.constraints.ml2):
            z1, m1, d1, p1 = t.forward(i1)
            z2, m2, d2, p2 = t.forward(i2)
            loss = (
                self.ml_weight * pairwise_loss(self.q(z1), self.q(z2), must_link=True)
                + t.terms.zinb(i1, m1, d1, p1)
                + t.terms.zinb(i2, m2, d2, p2)
            )
            self._step(loss)
            total += float(loss.detach())
        return total

    def _cannot_link_pass(self) -> float:
        t, total = self.trainer, 0.0
        for i1, i2 in self._pair_batches(self.constraints.cl1, self.constraints.cl2):
            loss = self.cl_weight * pairwise_loss(
                self.q(t.encode(i1)), self.q(t.encode(i2)), must_link=False
            )
            self._step(loss)
            total += float(loss.detach())
        return total


@dataclass
class StageResult:
    labels: np.ndarray
    deltas: list[float]
    history: list[dict[str, float]]
    converged: bool


def fit_clusters(
    stage: ClusterStage,
    init_labels: np.ndarray,
    maxiter: int,
    tol: float,
    update_interval: int,
    snaps: Snapshots,
) -> StageResult:
    """The authors' ``fit`` loop: update p every ``update_interval`` epochs, stop when an
    epoch after the first changed fewer than ``tol`` of the labels."""
    last = np.asarray(init_labels)
    labels, deltas, history, converged = last, [], [], False
    p = None
    bar = stage.trainer.progress_bar("scDCC clustering", maxiter)
    snaps.at(0)
    stage.trainer.model.train()
    for epoch in range(maxiter):
        if epoch % update_interval == 0:
            p, labels, delta = refresh_targets(stage.assign(), last)
            deltas.append(delta)
            last = labels
            if epoch > 0 and delta < tol:
                log.info("%s: delta_label %.5f < tol %g, stopping", METHOD, delta, tol)
                converged = True
                break
        tick = time.perf_counter()
        stats = stage.train_epoch(p)
        stats.update(epoch=epoch + 1, delta_label=deltas[-1], seconds=time.perf_counter() - tick)
        history.append(stats)
        log.info(
            "%s: clustering epoch %d total %.5f KL %.5f ZINB %.5f delta_label %.5f",
            METHOD,
            epoch + 1,
            stats["loss"],
            stats["kl"],
            stats["zinb"],
            deltas[-1],
        )
        bar.update(1)
        bar.set_postfix(loss=f"{stats['loss']:.4f}", delta=f"{deltas[-1]:.4f}")
        snaps.at(epoch + 1)
    bar.close()
    return StageResult(labels, deltas, history, converged)


# ---------------------------------------------------------------- initialisation


@dataclass(frozen=True)
class Init:
    labels: np.ndarray
    centroids: np.ndarray
    k_source: str
    method: str


def initialise(
    latent: np.ndarray,
    n_clusters: int | None,
    init: str,
    knn: int,
    resolution: float,
    seed: int,
    k_source: str,
) -> Init:
    """Centres for the clustering stage: Louvain (k estimated) or k-means (n_init 20)."""
    from sklearn.cluster import KMeans

    if init == "auto":
        init = "louvain" if n_clusters is None else "kmeans"
    if init == "louvain":
        if n_clusters is not None:
            raise InputError(f"{METHOD}: init='louvain' estimates k; do not also set n_clusters")
        labels = louvain_clusters(latent, knn, resolution, seed)
        centroids = cluster_means(latent, labels)
        k_source = f"louvain (knn {knn}, resolution {resolution})"
    elif init == "kmeans":
        if n_clusters is None:
            n_clusters = louvain_init_k(latent, knn, resolution, seed)
            k_source = f"louvain (knn {knn}, resolution {resolution})"
        km = KMeans(n_clusters, n_init=20, random_state=seed).fit(latent)
        labels, centroids = km.labels_, km.cluster_centers_
    else:
        raise InputError(f"{METHOD}: init must be 'auto', 'louvain' or 'kmeans', got {init!r}")
    if centroids.shape[0] < 2:
        raise InputError(f"{METHOD}: the initialisation found a single cluster")
    log.info("%s: %s initialisation, k=%d (%s)", METHOD, init, centroids.shape[0], k_source)
    return Init(np.asarray(labels), np.asarray(centroids, dtype=np.float32), k_source, init)


def louvain_init_k(latent: np.ndarray, knn: int, resolution: float, seed: int) -> int:
    return int(np.unique(louvain_clusters(latent, knn, resolution, seed)).size)


# ---------------------------------------------------------------- adapter


def _check_input(adata: ad.AnnData, batch_key: str, label_informed: bool) -> None:
    if batch_key not in adata.obs.columns:
        raise InputError(
            f"{METHOD}: batch column obs[{batch_key!r}] is missing; "
            f"obs has {list(adata.obs.columns)}"
        )
    if "counts" not in adata.layers:
        raise InputError(f"{METHOD}: layers['counts'] with the raw counts of the HVGs is missing")
    if label_informed and LABEL not in adata.obs.columns:
        raise InputError(f"{METHOD}: label_informed=True needs obs[{LABEL!r}]")


@dataclass(frozen=True)
class Supervision:
    """What the cell types contribute: k, constraints, labelled cells (none when label-free)."""

    n_clusters: int | None
    k_source: str
    constraints: Constraints = field(default_factory=Constraints)
    n_labelled: int = 0


def supervision(
    adata: ad.AnnData,
    label_informed: bool,
    n_clusters: int | None,
    label_cells_share: float,
    n_pairwise: int,
    rng: np.random.Generator,
) -> Supervision:
    """Label-free: k from ``n_clusters`` or Louvain, no constraints. Label-informed: READS
    obs["cell_type"] for k and for the pairs, as the authors' ``scDCC_pairwise.py``."""
    if not label_informed:
        source = "louvain" if n_clusters is None else "n_clusters parameter"
        return Supervision(n_clusters, source)
    log.warning("%s: %s", METHOD, LABEL_USE_WARNING)
    truth = adata.obs[LABEL].astype(str).to_numpy()
    labelled = label_cells(adata.n_obs, label_cells_share, rng)
    pairs = random_pairs(truth, labelled, n_pairwise, rng) if n_pairwise > 0 else Constraints()
    k = int(np.unique(truth).size)
    return Supervision(k, "number of true cell types (label-informed)", pairs, int(labelled.size))


def batch_onehot(adata: ad.AnnData, batch_key: str) -> np.ndarray:
    """One-hot batch matrix (cells x batches, float32), batches in order of appearance."""
    codes, names = batch_codes(adata, batch_key, METHOD)
    return np.eye(len(names), dtype=np.float32)[codes]


def run(
    adata: ad.AnnData,
    batch_key: str,
    seed: int,
    label_informed: bool = False,
    batch_conditional: bool = False,
    n_clusters: int | None = None,
    init: str = "auto",
    knn: int = 20,
    resolution: float = 0.8,
    label_cells_share: float = 0.1,
    n_pairwise: int = 1000,
    z_dim: int = 32,
    encode_layers: Sequence[int] = (256, 64),
    decode_layers: Sequence[int] = (64, 256),
    sigma: float = 2.5,
    alpha: float = 1.0,
    gamma: float = 1.0,
    ml_weight: float = 1.0,
    cl_weight: float | None = None,
    batch_size: int = 256,
    pretrain_epochs: int = 300,
    pretrain_lr: float = 1e-3,
    maxiter: int = 2000,
    update_interval: int = 1,
    tol: float = 1e-3,
    clustering_lr: float = 1.0,
    device: str = "auto",
    snapshot_epochs: Sequence[int] = (),
    snapshot_stage: str = "clustering",
    progress: bool | None = None,
) -> AdapterResult:
    """Train scDCC on the HVGs' raw counts; return the clean-path latent (``z_dim``-d).

    Label-free by default (k from Louvain, no constraints). ``label_informed=True`` reads
    obs["cell_type"] (see the module docstring). ``batch_conditional=True`` is the
    predecessor's ``scDeepClusterBatch`` network (one-hot batch into encoder and decoder),
    a separate variant: scDCC itself has no batch input. ``n_clusters`` sets k without
    labels (k-means initialisation). ``cl_weight=None`` uses ``ml_weight``, as the
    authors' wrappers pass ``cl_weight=args.ml_weight``. Shorter runs: ``pretrain_epochs``,
    ``maxiter``.
    """
    if snapshot_stage not in ("clustering", "pretrain"):
        raise InputError(f"{METHOD}: snapshot_stage must be 'clustering' or 'pretrain'")
    tick = time.perf_counter()
    _check_input(adata, batch_key, label_informed)
    data = dca_normalize(adata.layers["counts"])
    onehot = batch_onehot(adata, batch_key) if batch_conditional else None
    rng = np.random.default_rng(seed)
    sup = supervision(adata, label_informed, n_clusters, label_cells_share, n_pairwise, rng)
    dev = resolve_device(device)
    log.info("%s: %d cells x %d genes, device %s", METHOD, *data.x.shape, dev)
    with seeded(seed, dev):
        n_batch = 0 if onehot is None else onehot.shape[1]
        net = ScDCCNet(data.x.shape[1], z_dim, encode_layers, decode_layers, sigma, n_batch)
        trainer = ScDCCTrainer(
            net.to(dev),
            torch.from_numpy(data.x).to(dev),
            torch.from_numpy(data.counts).to(dev),
            torch.from_numpy(data.size_factors).to(dev),
            None if onehot is None else torch.from_numpy(onehot).to(dev),
            seed=seed,
            batch_size=batch_size,
            progress=progress,
        )
        pre_snaps, clu_snaps = Snapshots.per_stage(
            snapshot_epochs, snapshot_stage, trainer.embed, METHOD
        )
        pretrain_losses = trainer.pretrain(pretrain_epochs, pretrain_lr, pre_snaps)
        latent = trainer.embed()
        pre_taken = pre_snaps.finish(latent)
        start = initialise(latent, sup.n_clusters, init, knn, resolution, seed, sup.k_source)
        stage = ClusterStage(
            trainer,
            nn.Parameter(torch.as_tensor(start.centroids, device=dev)),
            sup.constraints,
            alpha,
            gamma,
            ml_weight,
            ml_weight if cl_weight is None else cl_weight,
            clustering_lr,
        )
        result = fit_clusters(stage, start.labels, maxiter, tol, update_interval, clu_snaps)
        embedding = trainer.embed()
    snapshots = pre_taken if snapshot_stage == "pretrain" else clu_snaps.finish(embedding)
    stats = {
        "label_informed": bool(label_informed),
        "uses_cell_type_labels": bool(label_informed),
        "label_use": LABEL_USE_WARNING if label_informed else "none (label-free)",
        "batch_conditional": bool(batch_conditional),
        **_run_stats(start, sup, pretrain_losses, result),
        "n_genes_used": int(data.genes_kept.sum()),
        "cells_without_counts": data.empty_cells,
        "snapshot_stage": snapshot_stage,
        "device": str(dev),
        "seconds": time.perf_counter() - tick,
    }
    log.info(
        "%s: k=%d (%s), %d pretraining + %d clustering epochs, final delta_label %.5f",
        METHOD,
        stats["n_clusters"],
        start.k_source,
        len(pretrain_losses),
        len(result.history),
        stats["final_delta_label"],
    )
    return AdapterResult(embedding, snapshots=snapshots, uns={METHOD: stats})


def _run_stats(
    start: Init, sup: Supervision, pretrain_losses: list[float], result: StageResult
) -> dict:
    k = int(start.centroids.shape[0])
    return {
        "n_clusters": k,
        "k_source": start.k_source,
        "init": start.method,
        "n_label_cells": sup.n_labelled,
        "n_must_link": int(sup.constraints.ml1.size),
        "n_cannot_link": int(sup.constraints.cl1.size),
        "pretrain_epochs": len(pretrain_losses),
        "pretrain_loss": np.asarray(pretrain_losses, dtype=np.float64),
        "clustering_epochs": len(result.history),
        "delta_label": np.asarray(result.deltas, dtype=np.float64),
        "final_delta_label": float(result.deltas[-1]) if result.deltas else float("nan"),
        "converged": bool(result.converged),
        "cluster_sizes": np.bincount(result.labels, minlength=k).astype(np.int64),
        "clustering_history": _history_table(result.history),
    }


def _history_table(history: list[dict[str, float]]) -> dict[str, np.ndarray]:
    if not history:
        return {}
    return {key: np.asarray([row[key] for row in history], dtype=np.float64) for key in history[0]}
