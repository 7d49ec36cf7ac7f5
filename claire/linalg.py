"""Randomised linear algebra on implicit matrices (no dense n1 x n2 product is formed).

``randomized_svd`` follows Halko, Martinsson & Tropp (2011, algorithm 4.4): a Gaussian
sketch, a few QR-stabilised power iterations and an exact SVD of the small projected
matrix. The matrix is given by its two products, so CCA can decompose ``Z1 @ Z2.T`` and
PCA can centre a sparse matrix without ever materialising either. Everything runs in
torch (float32, CPU); the thin QR/SVD factorisations run on one thread, which is both
faster for such small problems and immune to thread oversubscription on busy machines.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import numpy as np
import scipy.sparse as sp
import torch

MatMul = Callable[[torch.Tensor], torch.Tensor]


@contextlib.contextmanager
def single_thread() -> Iterator[None]:
    """Run torch CPU kernels on one thread inside the block."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _orthonormal_basis(y: torch.Tensor) -> torch.Tensor:
    with single_thread():
        return torch.linalg.qr(y).Q


def randomized_svd(
    matmul: MatMul,
    rmatmul: MatMul,
    shape: tuple[int, int],
    n_components: int,
    seed: int = 0,
    n_oversamples: int = 10,
    n_iter: int = 4,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Top ``n_components`` singular triplets of an implicit ``shape`` matrix ``A``.

    ``matmul(B)`` must return ``A @ B`` and ``rmatmul(B)`` must return ``A.T @ B`` for
    float32 tensors ``B``. Returns ``(U, s, Vt)``: ``U`` (m x k), ``s`` (k,) descending,
    ``Vt`` (k x n); signs are fixed so that the result is deterministic.
    """
    m, n = shape
    if not 1 <= n_components <= min(m, n):
        raise ValueError(f"n_components={n_components} must lie in [1, {min(m, n)}]")
    generator = torch.Generator().manual_seed(seed)
    width = min(n_components + n_oversamples, min(m, n))
    omega = torch.randn(n, width, generator=generator)
    q = _orthonormal_basis(matmul(omega))
    for _ in range(n_iter):
        q = _orthonormal_basis(matmul(_orthonormal_basis(rmatmul(q))))
    small = rmatmul(q).T  # (width x n) = Q.T @ A
    with single_thread():
        u_small, s, vt = torch.linalg.svd(small, full_matrices=False)
    u = q @ u_small[:, :n_components]
    vt = vt[:n_components]
    pivots = u.abs().argmax(dim=0)
    signs = torch.sign(u[pivots, torch.arange(u.shape[1])])
    signs[signs == 0] = 1.0
    return u * signs, s[:n_components], vt * signs[:, None]


def pca_scores(x: np.ndarray | sp.spmatrix, n_components: int, seed: int = 0) -> np.ndarray:
    """PCA scores (cells x components, float32) of ``x`` with implicit mean-centring.

    Sparse input stays sparse: the centred matrix is only ever applied to thin blocks.
    """
    n_obs, n_vars = x.shape
    n_components = min(n_components, n_obs - 1, n_vars)
    if n_components < 1:
        raise ValueError(f"PCA needs at least 2 cells and 1 gene, got {x.shape}")
    if sp.issparse(x):
        csr = sp.csr_matrix(x, dtype=np.float32)
        csc = csr.T.tocsr()  # genes x cells, for fast transposed products

        def raw(b: torch.Tensor) -> torch.Tensor:
            return torch.from_numpy(np.asarray(csr @ b.numpy(), dtype=np.float32))

        def raw_t(b: torch.Tensor) -> torch.Tensor:
            return torch.from_numpy(np.asarray(csc @ b.numpy(), dtype=np.float32))

        mean = torch.from_numpy(np.asarray(csr.mean(axis=0, dtype=np.float64), np.float32))
    else:
        dense = torch.as_tensor(np.asarray(x, dtype=np.float32))
        raw, raw_t = dense.__matmul__, dense.T.__matmul__
        mean = dense.mean(dim=0)
    mean = mean.reshape(1, -1)

    def matmul(b: torch.Tensor) -> torch.Tensor:
        return raw(b) - mean @ b

    def rmatmul(b: torch.Tensor) -> torch.Tensor:
        return raw_t(b) - mean.T * b.sum(dim=0, keepdim=True)

    u, s, _ = randomized_svd(matmul, rmatmul, (n_obs, n_vars), n_components, seed=seed)
    return (u * s).numpy().astype(np.float32)
