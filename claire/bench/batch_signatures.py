"""Measurable signatures of a dataset's batch effect, to compare simulated and real data.

A batch effect is described by what an integration method meets: how much of the
principal-component variance batch explains (overall and within cell types), how far
apart batches sit in the unintegrated PCA (batch silhouette and kBET), how large the
batch shift is next to the distances between cell types and whether it is the same for
every type, how library size and detection rate move between batches, and how many
genes carry the effect. Every within-type quantity compares cells of the same cell type
only, so that batches with different compositions (partial overlap) are not mistaken
for a batch effect, and kBET and bASW come with their values for the same cells with
batch labels shuffled within types (what a perfect integration could reach).
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, fields

import anndata as ad
import numpy as np
import pandas as pd
import scipy.sparse as sp

from claire.bench.contract import BATCH, LABEL
from claire.bench.methods.pca import scaled_pca
from claire.bench.metrics import batch_asw, kbet
from claire.bench.preprocess import preprocess

log = logging.getLogger(__name__)

REAL_DATASETS = {  # ../shared/data: file, batch and label columns, HVGs as the tests use them
    "kang": {
        "file": "kang_pbmc_4samples.h5ad",
        "batch": "sample_id",
        "label": "cluster_id",
        "n_hvg": 1000,
    },
    "cellbench": {
        "file": "cellbench_5cl_3plates.h5ad",
        "batch": "batch",
        "label": "celltype",
        "n_hvg": 2000,
    },
}
# The real datasets' signatures as measured by this module (seed 0); the tests check that
# they still come out so and that the default simulated scenarios sit inside their range.
REAL_SIGNATURES = {
    "kang": {
        "pc_batch_r2": 0.0897, "pc_batch_r2_within": 0.1319, "pc_batch_r2_max": 0.8117,
        "pca_basw": 0.9612, "basw_gap": 0.0125, "basw_gap_pairs": 0.0944,
        "pca_kbet": 0.1228, "kbet_ceiling": 0.9229, "kbet_relative": 0.133,
        "batch_to_type": 0.3649, "shift_consistency": 0.6442, "library_shift": 0.1371,
        "detection_shift": 0.137, "genes_affected": 0.232, "genes_half_effect": 0.071,
    },
    "cellbench": {
        "pc_batch_r2": 0.0149, "pc_batch_r2_within": 0.0169, "pc_batch_r2_max": 0.2053,
        "pca_basw": 0.9482, "basw_gap": 0.0178, "basw_gap_pairs": 0.0243,
        "pca_kbet": 0.7778, "kbet_ceiling": 0.9043, "kbet_relative": 0.8601,
        "batch_to_type": 0.0927, "shift_consistency": 0.6411, "library_shift": 0.7308,
        "detection_shift": 0.2682, "genes_affected": 0.0265, "genes_half_effect": 0.0345,
    },
}  # fmt: skip
# Two real datasets give a narrow range; a simulated scenario counts as inside it within
# twice the seed-to-seed standard deviation of the signature (simulator_vs_real.py
# --seeds 1 2 3 4 5 on sim_2batch and sim_partial5 at 3,000 cells, larger of the two; kBET's
# is wide because one seed of sim_2batch draws very unequal batches, where kBET is lenient).
TOLERANCE = {
    "pc_batch_r2": 0.012, "pc_batch_r2_within": 0.015, "pc_batch_r2_max": 0.131,
    "pca_basw": 0.016, "basw_gap": 0.015, "basw_gap_pairs": 0.015, "pca_kbet": 0.49,
    "kbet_ceiling": 0.239, "kbet_relative": 0.582, "batch_to_type": 0.079,
    "shift_consistency": 0.061, "library_shift": 0.084, "detection_shift": 0.062,
    "genes_affected": 0.012, "genes_half_effect": 0.007,
}  # fmt: skip
# Not properties of the batch effect, so not held to the real range: the kBET ceiling
# measures how much the types' shares differ between batches (partial overlap lowers it by
# design), and bASW's gap sees only the nearest other batch (a 2x2 donor x condition
# design such as Kang's hides its condition effect); basw_gap_pairs compares like with like.
NOT_COMPARED = ("kbet_ceiling", "basw_gap")
MIN_GROUP = 10  # cells a (type, batch) group needs to enter a within-type comparison
EFFECT_OMEGA2 = 0.05  # a gene "carries" the batch effect when batch explains this much


@dataclass(frozen=True)
class BatchSignature:
    """Signatures of one dataset's batch effect (see :func:`batch_signature`)."""

    pc_batch_r2: float  # batch R^2 of the PCs, weighted by PC variance (scIB's PCR)
    pc_batch_r2_within: float  # the same within cell types (batch | type partial R^2)
    pc_batch_r2_max: float  # largest within-type batch R^2 of a single PC
    pca_basw: float  # label-aware batch silhouette of the unintegrated PCA
    basw_gap: float  # bASW with batches shuffled within types (no effect) minus pca_basw
    basw_gap_pairs: float  # the same per pair of batches, averaged over the pairs
    pca_kbet: float  # kBET acceptance of the unintegrated PCA
    kbet_ceiling: float  # kBET of the PCA with batches shuffled within types
    kbet_relative: float  # pca_kbet / kbet_ceiling
    batch_to_type: float  # batch shift in PCA space / mean distance between type centres
    shift_consistency: float  # mean cosine of one batch's shift across cell types
    library_shift: float  # log2 range of the batches' median library size (within types)
    detection_shift: float  # log2 range of the batches' median detected genes (within types)
    genes_affected: float  # share of HVGs whose within-type batch omega^2 >= EFFECT_OMEGA2
    genes_half_effect: float  # smallest share of HVGs carrying half of the batch effect

    def as_dict(self) -> dict[str, float]:
        return asdict(self)

    @staticmethod
    def names() -> list[str]:
        return [f.name for f in fields(BatchSignature)]


def real_range(signatures: dict[str, dict[str, float]]) -> tuple[pd.Series, pd.Series]:
    """Per signature, the minimum and maximum over the given datasets' signatures."""
    table = pd.DataFrame(signatures).T
    return table.min(axis=0), table.max(axis=0)


def outside_range(
    signature: dict[str, float],
    low: pd.Series,
    high: pd.Series,
    tolerance: dict[str, float] | None = None,
) -> list[str]:
    """Names of the signatures outside [low - tol, high + tol] (tol 0 unless given)."""
    tolerance = tolerance or {}
    return [
        name
        for name, value in signature.items()
        if name in low.index
        and not low[name] - tolerance.get(name, 0.0)
        <= value
        <= high[name] + tolerance.get(name, 0.0)
    ]


def outside_real_range(signature: dict[str, float]) -> list[str]:
    """Signatures of a (simulated) dataset outside the recorded real range + TOLERANCE."""
    low, high = real_range(REAL_SIGNATURES)
    names = [n for n in outside_range(signature, low, high, TOLERANCE) if n not in NOT_COMPARED]
    return names


def group_codes(values) -> np.ndarray:
    """Integer codes 0..G-1 of a label vector (sorted unique values)."""
    return np.unique(np.asarray(values), return_inverse=True)[1].ravel()


def anova_r2(values: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Per column, the share of variance explained by the group means (one-way ANOVA R^2)."""
    values = np.asarray(values, dtype=np.float64)
    centred = values - values.mean(axis=0)
    total = (centred**2).sum(axis=0)
    return _between_ss(centred, groups) / np.maximum(total, 1e-300)


def partial_batch_r2(values: np.ndarray, batches: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Per column, variance explained by batch within cell types over the total variance.

    (SS of the (type, batch) group means - SS of the type means) / total SS: the part of
    the variance that batch explains beyond the cell types (0 when batches differ only in
    their composition).
    """
    values = np.asarray(values, dtype=np.float64)
    centred = values - values.mean(axis=0)
    total = (centred**2).sum(axis=0)
    cells = _pair_codes(labels, batches)
    extra = _between_ss(centred, cells) - _between_ss(centred, group_codes(labels))
    return np.maximum(extra, 0.0) / np.maximum(total, 1e-300)


def within_type_omega2(values: np.ndarray, batches: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Per column, the noise-corrected share of within-type variance that batch explains.

    omega^2 = (SS(batch | type) - df * MSE) / (SS(within types) + MSE), with df the
    (type, batch) groups minus the types and MSE the residual mean square: about 0 for
    columns without a batch effect whatever the number of cells and groups. Not clipped at
    0: noise-only columns scatter around 0, so sums over columns stay unbiased.
    """
    values = np.asarray(values, dtype=np.float64)
    type_codes, pair_codes = group_codes(labels), _pair_codes(labels, batches)
    within = values - _group_means(values, type_codes)[type_codes]
    within_ss = (within**2).sum(axis=0)
    batch_ss = _between_ss(within, pair_codes)
    df = pair_codes.max() - type_codes.max()
    mse = (within_ss - batch_ss) / max(values.shape[0] - pair_codes.max() - 1, 1)
    return (batch_ss - df * mse) / np.maximum(within_ss + mse, 1e-300)


def half_effect_share(effects: np.ndarray) -> float:
    """Smallest share of genes, taken from the largest effect down, that carry half of the
    summed effect (effects may be noise-corrected and slightly negative; 0 if none)."""
    effects = np.sort(np.asarray(effects, dtype=np.float64))[::-1]
    total = effects.sum()
    if total <= 0:
        return 0.0
    reached = np.flatnonzero(np.cumsum(effects) >= 0.5 * total)
    return float((reached[0] + 1) / effects.size)


def log_shift(values: np.ndarray, batches: np.ndarray, labels: np.ndarray) -> float:
    """log2 range of per-batch medians of ``values`` after removing per-type medians."""
    logged = np.log2(np.maximum(np.asarray(values, dtype=np.float64), 1e-12))
    type_codes = group_codes(labels)
    type_median = np.array(
        [np.median(logged[type_codes == t]) for t in range(type_codes.max() + 1)]
    )
    residual = logged - type_median[type_codes]
    batch_codes = group_codes(batches)
    medians = [np.median(residual[batch_codes == b]) for b in range(batch_codes.max() + 1)]
    return float(np.max(medians) - np.min(medians))


def batch_shifts(
    pcs: np.ndarray, batches: np.ndarray, labels: np.ndarray, min_group: int = MIN_GROUP
) -> dict[str, np.ndarray]:
    """Shifts of the (type, batch) groups from their type centre.

    Only groups of >= ``min_group`` cells of a type seen in >= 2 such groups count. Returns
    ``shift`` (groups x dims), ``type``, ``batch``, ``size`` and ``noise``: the expected
    squared length a shift has from sampling alone, trace(cov) * (1/n_group - 1/n_type).
    """
    pcs = np.asarray(pcs, dtype=np.float64)
    type_codes, batch_codes = group_codes(labels), group_codes(batches)
    rows: dict[str, list] = {"shift": [], "type": [], "batch": [], "size": [], "noise": []}
    for t in range(type_codes.max() + 1):
        members = [
            (b, (type_codes == t) & (batch_codes == b)) for b in range(batch_codes.max() + 1)
        ]
        members = [(b, m) for b, m in members if m.sum() >= min_group]
        if len(members) < 2:
            continue
        sizes = np.array([m.sum() for _, m in members], dtype=np.float64)
        means = np.stack([pcs[m].mean(axis=0) for _, m in members])
        centre = (sizes[:, None] * means).sum(axis=0) / sizes.sum()
        for (b, m), n, mean in zip(members, sizes, means, strict=True):
            rows["shift"].append(mean - centre)
            rows["type"].append(t)
            rows["batch"].append(b)
            rows["size"].append(n)
            rows["noise"].append(pcs[m].var(axis=0, ddof=1).sum() * (1 / n - 1 / sizes.sum()))
    out = {key: np.array(value) for key, value in rows.items()}
    out["shift"] = out["shift"].reshape(-1, pcs.shape[1])
    return out


def batch_to_type_ratio(pcs: np.ndarray, batches: np.ndarray, labels: np.ndarray) -> float:
    """Size-weighted mean length of the batch shifts / mean distance between type centres.

    Shift lengths are corrected for sampling noise (see :func:`batch_shifts`).
    """
    groups = batch_shifts(pcs, batches, labels)
    centres = _group_means(np.asarray(pcs, dtype=np.float64), group_codes(labels))
    pair = np.linalg.norm(centres[:, None, :] - centres[None, :, :], axis=-1)
    between = pair[np.triu_indices(len(centres), k=1)].mean()
    if groups["size"].size == 0 or between <= 0:
        return float("nan")
    squared = np.maximum((groups["shift"] ** 2).sum(axis=1) - groups["noise"], 0.0)
    return float(np.average(np.sqrt(squared), weights=groups["size"]) / between)


def shift_consistency(pcs: np.ndarray, batches: np.ndarray, labels: np.ndarray) -> float:
    """Mean cosine between the shifts of one batch in two different cell types.

    1: every type moves the same way (a global shift); near 0: the effect depends on type.
    """
    groups = batch_shifts(pcs, batches, labels)
    shifts, bats = groups["shift"], groups["batch"]
    cosines = []
    for b in np.unique(bats):
        rows = shifts[bats == b]
        if rows.shape[0] < 2:
            continue
        unit = rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-300)
        sim = unit @ unit.T
        cosines.extend(sim[np.triu_indices(len(rows), k=1)])
    return float(np.mean(cosines)) if cosines else float("nan")


def shuffle_within(batches: np.ndarray, labels: np.ndarray, seed: int) -> np.ndarray:
    """Batch labels permuted among the cells of each cell type (composition kept).

    Scored on the same embedding, they give what a perfect integration could reach:
    every type keeps its share per batch, but no batch effect is left.
    """
    rng = np.random.default_rng(seed)
    batches = np.asarray(batches).copy()
    type_codes = group_codes(labels)
    for t in range(type_codes.max() + 1):
        members = np.flatnonzero(type_codes == t)
        batches[members] = batches[rng.permutation(members)]
    return batches


def mixing_reference(
    embedding: np.ndarray, batches: np.ndarray, labels: np.ndarray, seed: int = 0
) -> dict[str, float]:
    """kBET and bASW of ``embedding`` and of the same cells with batches shuffled within types."""
    shuffled = shuffle_within(batches, labels, seed)
    return {
        "kbet": kbet(embedding, batches),
        "basw": batch_asw(embedding, batches, labels),
        "kbet_ceiling": kbet(embedding, shuffled),
        "basw_floor": batch_asw(embedding, shuffled, labels),
    }


def pairwise_basw_gap(
    embedding: np.ndarray, batches: np.ndarray, labels: np.ndarray, seed: int = 0
) -> float:
    """Mean over batch pairs of the bASW gap (shuffled-within-type bASW - bASW) of that pair.

    bASW compares each cell's batch with the nearest other batch only, so with three or
    more batches it sees the two most similar ones (e.g. two donors under one condition);
    pairs compare datasets with different numbers of batches on the same footing.
    """
    batches, labels = np.asarray(batches), np.asarray(labels)
    names = np.unique(batches)
    gaps = []
    for i, first in enumerate(names):
        for second in names[i + 1 :]:
            keep = np.isin(batches, [first, second])
            shared = _types_in_both(batches[keep], labels[keep])
            keep &= np.isin(labels, shared)
            if len(shared) == 0 or keep.sum() < 4:
                continue
            shuffled = shuffle_within(batches[keep], labels[keep], seed)
            floor = batch_asw(embedding[keep], shuffled, labels[keep])
            gaps.append(floor - batch_asw(embedding[keep], batches[keep], labels[keep]))
    return float(np.mean(gaps)) if gaps else float("nan")


def _types_in_both(batches: np.ndarray, labels: np.ndarray) -> list:
    """Cell types with at least MIN_GROUP cells in each of the (two) batches present."""
    names = np.unique(batches)
    return [
        t
        for t in np.unique(labels)
        if all(np.count_nonzero((labels == t) & (batches == b)) >= MIN_GROUP for b in names)
    ]


def batch_signature(
    raw: ad.AnnData, n_hvg: int = 2000, n_comps: int = 50, seed: int = 0, pcs=None
) -> BatchSignature:
    """Signatures of the batch effect of ``raw`` (raw contract: counts, batch, cell_type).

    Library size and detected genes are counted on all genes of ``raw``; the gene-level
    and PCA signatures use the preprocessed HVGs (as every method sees them) and the
    scaled PCA of the baseline (``n_comps`` components, ``seed``).
    """
    data = preprocess(raw, n_hvg=n_hvg, name="signature")
    batches = data.obs[BATCH].to_numpy()
    labels = data.obs[LABEL].to_numpy()
    if pcs is None:
        pcs = scaled_pca(data, n_comps=n_comps, seed=seed)
    pcs = np.asarray(pcs, dtype=np.float64)
    pc_var = pcs.var(axis=0)
    pc_within = partial_batch_r2(pcs, batches, labels)
    counts = sp.csr_matrix(raw.X)
    raw_batches, raw_labels = raw.obs[BATCH].to_numpy(), raw.obs[LABEL].to_numpy()
    expression = data.X.toarray() if sp.issparse(data.X) else np.asarray(data.X)
    omega2 = within_type_omega2(expression, batches, labels)
    mixing = mixing_reference(pcs, batches, labels, seed)
    signature = BatchSignature(
        pc_batch_r2=float(np.average(anova_r2(pcs, group_codes(batches)), weights=pc_var)),
        pc_batch_r2_within=float(np.average(pc_within, weights=pc_var)),
        pc_batch_r2_max=float(pc_within.max()),
        pca_basw=mixing["basw"],
        basw_gap=mixing["basw_floor"] - mixing["basw"],
        basw_gap_pairs=pairwise_basw_gap(pcs, batches, labels, seed),
        pca_kbet=mixing["kbet"],
        kbet_ceiling=mixing["kbet_ceiling"],
        kbet_relative=mixing["kbet"] / max(mixing["kbet_ceiling"], 1e-12),
        batch_to_type=batch_to_type_ratio(pcs, batches, labels),
        shift_consistency=shift_consistency(pcs, batches, labels),
        library_shift=log_shift(np.asarray(counts.sum(axis=1)).ravel(), raw_batches, raw_labels),
        detection_shift=log_shift(np.diff(counts.indptr), raw_batches, raw_labels),
        genes_affected=float(np.mean(omega2 >= EFFECT_OMEGA2)),
        genes_half_effect=half_effect_share(omega2),
    )
    log.info("batch signature: %s", signature)
    return signature


def _pair_codes(labels: np.ndarray, batches: np.ndarray) -> np.ndarray:
    type_codes, batch_codes = group_codes(labels), group_codes(batches)
    return group_codes(type_codes * (batch_codes.max() + 1) + batch_codes)


def _group_means(values: np.ndarray, codes: np.ndarray) -> np.ndarray:
    counts = np.bincount(codes)
    sums = np.zeros((counts.size, values.shape[1]))
    np.add.at(sums, codes, values)
    return sums / counts[:, None]


def _between_ss(centred: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Between-group sum of squares of columns with zero overall mean."""
    means = _group_means(centred, codes)
    return (np.bincount(codes)[:, None] * means**2).sum(axis=0)
