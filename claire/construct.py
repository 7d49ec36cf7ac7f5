"""Positive-pair generation (paper 2.2, eq. 1-2), vectorised on the training device.

Every minibatch draws anchors (cells that have seeds), one random seed partner per
anchor, one random intra-batch KNN of each, and fresh mixing weights
``lambda ~ U(alpha, 1)``::

    v1 = lambda1 * x_i + (1 - lambda1) * x_i'      v2 = lambda2 * x_j + (1 - lambda2) * x_j'

The ablation ``construction=False`` (CLAIRE-var1, as INSCT) uses every cell as anchor,
pairs it with a random seed partner, or with a random KNN when it has no seed, and does
not mix. Expression rows are gathered from a CSR matrix held on the device, so the full
matrix is never densified.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import scipy.sparse as sp
import torch


class DeviceCSR:
    """A CSR matrix on a torch device from which dense row blocks can be gathered."""

    def __init__(self, x: np.ndarray | sp.spmatrix, device: torch.device | str = "cpu") -> None:
        csr = sp.csr_matrix(x, dtype=np.float32, copy=True)
        csr.sum_duplicates()
        self.shape = csr.shape
        self.device = torch.device(device)
        self.indptr = torch.as_tensor(csr.indptr.astype(np.int64), device=self.device)
        self.indices = torch.as_tensor(csr.indices.astype(np.int64), device=self.device)
        self.data = torch.as_tensor(csr.data, device=self.device)

    def rows(self, idx: torch.Tensor) -> torch.Tensor:
        """Dense (len(idx) x n_cols) float32 block of the rows ``idx`` (repeats allowed)."""
        idx = idx.to(self.device)
        starts = self.indptr[idx]
        lengths = self.indptr[idx + 1] - starts
        total = int(lengths.sum())
        slot = torch.repeat_interleave(
            torch.arange(idx.shape[0], device=self.device), lengths, output_size=total
        )
        first = torch.cumsum(lengths, 0) - lengths
        pos = starts[slot] + torch.arange(total, device=self.device) - first[slot]
        out = torch.zeros(idx.shape[0], self.shape[1], device=self.device)
        out[slot, self.indices[pos]] = self.data[pos]
        return out


class PositivePairSampler:
    """Draws the two views of each positive pair for one minibatch of anchors."""

    def __init__(
        self,
        seeds: np.ndarray,
        knn: np.ndarray,
        alpha: float = 0.5,
        construction: bool = True,
        device: torch.device | str = "cpu",
    ) -> None:
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"alpha must lie in [0, 1], got {alpha}")
        knn = np.asarray(knn)
        if knn.ndim != 2 or knn.shape[1] < 1:
            raise ValueError(f"knn must be an (n_cells x k) index array, got {knn.shape}")
        self.alpha = alpha
        self.construction = construction
        self.device = torch.device(device)
        self.n_cells = knn.shape[0]
        self.knn = torch.as_tensor(knn, dtype=torch.long, device=self.device)
        self.set_seeds(seeds)

    def set_seeds(self, seeds: np.ndarray) -> None:
        """Use ``seeds`` (n x 2 cell indices) from now on; anchors follow them."""
        seeds = np.asarray(seeds, dtype=np.int64).reshape(-1, 2)
        if seeds.size and (seeds.min() < 0 or seeds.max() >= self.n_cells):
            raise ValueError("seed indices out of range")
        both = np.concatenate([seeds, seeds[:, ::-1]])
        graph = sp.csr_matrix(
            (np.ones(len(both), dtype=np.int8), (both[:, 0], both[:, 1])),
            shape=(self.n_cells, self.n_cells),
        )
        graph.sum_duplicates()
        degree = np.diff(graph.indptr)
        self.seed_ptr = torch.as_tensor(graph.indptr.astype(np.int64), device=self.device)
        self.seed_nbr = torch.as_tensor(graph.indices.astype(np.int64), device=self.device)
        self.degree = torch.as_tensor(degree, dtype=torch.long, device=self.device)
        anchors = np.flatnonzero(degree) if self.construction else np.arange(self.n_cells)
        self.anchors = torch.as_tensor(anchors, dtype=torch.long, device=self.device)

    @property
    def n_anchors(self) -> int:
        return int(self.anchors.shape[0])

    def n_steps(self, batch_size: int) -> int:
        """Minibatches per epoch: full batches only, but at least one."""
        return max(1, self.n_anchors // batch_size) if self.n_anchors else 0

    def epoch(self, batch_size: int, generator: torch.Generator) -> Iterator[torch.Tensor]:
        """Anchor minibatches of one epoch, in a fresh random order."""
        order = self.anchors[
            torch.randperm(self.n_anchors, generator=generator, device=self.device)
        ]
        for step in range(self.n_steps(batch_size)):
            yield order[step * batch_size : (step + 1) * batch_size]

    def _uniform(self, n: int, generator: torch.Generator) -> torch.Tensor:
        return torch.rand(n, generator=generator, device=self.device)

    def _random_knn(self, cells: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        k = self.knn.shape[1]
        col = (self._uniform(cells.shape[0], generator) * k).long().clamp_(max=k - 1)
        return self.knn[cells, col]

    def partners(self, anchors: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """A random seed partner per anchor (a random KNN for anchors without seeds)."""
        degree = self.degree[anchors]
        offset = (self._uniform(anchors.shape[0], generator) * degree).long()
        offset = torch.minimum(offset, (degree - 1).clamp(min=0))
        position = (self.seed_ptr[anchors] + offset).clamp_(max=max(len(self.seed_nbr) - 1, 0))
        by_seed = self.seed_nbr[position] if len(self.seed_nbr) else anchors
        by_knn = self._random_knn(anchors, generator)
        return torch.where(degree > 0, by_seed, by_knn)

    def draw(
        self, anchors: torch.Tensor, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Cell indices of both views: (rows (4 x N), lambda1, lambda2, partners).

        ``rows`` stacks i, i', j, j' for the mixup; with ``construction=False`` the
        neighbour rows equal i and j and both lambdas are 1.
        """
        partner = self.partners(anchors, generator)
        n = anchors.shape[0]
        if not self.construction:
            ones = torch.ones(n, device=self.device)
            return torch.stack([anchors, anchors, partner, partner]), ones, ones, partner
        nb_anchor = self._random_knn(anchors, generator)
        nb_partner = self._random_knn(partner, generator)
        span = 1.0 - self.alpha
        lam1 = self.alpha + span * self._uniform(n, generator)
        lam2 = self.alpha + span * self._uniform(n, generator)
        return torch.stack([anchors, nb_anchor, partner, nb_partner]), lam1, lam2, partner

    def views(
        self, data: DeviceCSR, anchors: torch.Tensor, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The two dense views (N x G each) of the positive pairs of ``anchors``."""
        rows, lam1, lam2, _ = self.draw(anchors, generator)
        n = anchors.shape[0]
        if not self.construction:
            block = data.rows(torch.cat([rows[0], rows[2]]))
            return block[:n], block[n:]
        x_i, x_in, x_j, x_jn = data.rows(rows.reshape(-1)).reshape(4, n, -1)
        lam1, lam2 = lam1[:, None], lam2[:, None]
        return lam1 * x_i + (1 - lam1) * x_in, lam2 * x_j + (1 - lam2) * x_jn
