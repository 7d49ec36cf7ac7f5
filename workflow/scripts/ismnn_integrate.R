#!/usr/bin/env Rscript
# iSMNN (Yang et al., Brief Bioinform 2021): iterative supervised MNN integration on Seurat 4.3.
#
# Usage: Rscript ismnn_integrate.R EXCHANGE_DIR
#
# EXCHANGE_DIR is written by claire.bench.competitors.ismnn (the rscript exchange format):
#   counts.mtx, logcounts.mtx  genes x cells Matrix Market (raw counts, log-normalised HVGs)
#   genes.csv                  column "gene", one row per matrix row
#   cells.csv                  columns "cell", "batch", "cluster" (the cell's cluster label:
#                              the true cell type, or a label-free clustering)
#   params.json                seed, dims, npcs, k_anchor, k_filter, k_score, k_weight,
#                              sd_weight, max_features, iterations, vst_features,
#                              anchor_features, umap_dims, anchor_filter, min_cells (optional)
# Writes EXCHANGE_DIR/embedding.csv (column "cell", then PC_1..PC_npcs of the accepted round),
# EXCHANGE_DIR/uns.json ({"ismnn": {rounds, anchors and F per round, matched clusters}}) and
# EXCHANGE_DIR/anchors_round<r>.csv (each round's anchors: cell1, cell2, score, batch1, batch2).
#
# A clean-room implementation of the package (yycunc/iSMNN v1.20, which does not run on
# Seurat >= 4.0 unpatched) from its description in ../shared/specs/competitors-deep.md
# section 1; on Kang it reproduces the patched package's embedding exactly
# (docs/parity-competitors.md, iSMNN):
#   per batch: LogNormalize (the exchange's log-normalised data, the same formula), vst
#   variable features; SelectIntegrationFeatures; per-batch ScaleData.
#   Round 1, every batch pair (in Seurat's order, see batch_pairs): CCA (num.cc = max(dims))
#   of the two scaled matrices, rows
#   L2-normalised; for every matched cluster, exact kNN (RANN) inside that cluster's cells
#   only: mutual nearest neighbours (k.anchor), anchor filter (k.filter), shared-neighbour
#   score (k.score, 1%/90% quantile rescaling). Seurat's IntegrateData on the anchors, then
#   joint ScaleData, RunPCA (npcs), RunUMAP (dims 1:umap_dims), and the Pillai approx-F of
#   batch in manova(UMAP ~ cluster + batch) over the matched clusters' cells.
#   Rounds 2..iterations: the same anchor search on the integrated assay of the best round
#   so far (its rows as features, its joint scale.data, no per-batch rescaling); the new
#   anchors are integrated into the ORIGINAL per-batch data; the loop stops at the first
#   round whose F rises above the best one, and that round is discarded.
# Anchor filter (anchor_filter):
#   "ismnn"  the package's actual behaviour: its L2Norm copy zeroes every finite value, so
#            its exact kNN runs on all-zero rows and returns the last k.filter cells; an
#            anchor survives iff its batch-j cell is among the last k.filter cells of the
#            cluster's batch-j subset in cell order. Default: this is what the CLAIRE
#            authors' numbers came from.
#   "seurat" the intended Seurat v3/v4 filter: keep an anchor iff its batch-j cell is among
#            the k.filter nearest batch-j cells of the cluster (exact kNN on L2-normalised
#            expression of the top CCA-loading features); all kept when a subset is smaller.
# Matched clusters: present in every batch with >= min_cells cells (default k.weight, the
# CLAIRE authors' rule), and never fewer than the search needs, max(k.anchor, k.score) + 1
# (and k.filter with the "ismnn" filter); the package crashes on smaller or absent clusters,
# here they are dropped with a log line. Other guards (each logged): dims and k.weight are
# lowered when the data is too small; a round whose anchors leave a batch unconnected is
# rejected (round 1: error).
# Seeds: set.seed(seed); CCA, PCA and UMAP use the seed (the package fixes 42); RANN is exact.

suppressPackageStartupMessages(library(Seurat))
# the exchange-format reader (and Matrix, jsonlite), beside this script, run or sourced
here <- if (sys.nframe() > 0L) sys.frame(1)$ofile else
  sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE)[1])
source(file.path(dirname(normalizePath(here)), "r_exchange.R"))

log_line <- function(...) message(format(Sys.time(), "%Y-%m-%d %H:%M:%S"), " ismnn: ", ...)

REQUIRED <- c("seed", "dims", "npcs", "k_anchor", "k_filter", "k_score", "k_weight",
              "sd_weight", "max_features", "iterations", "vst_features", "anchor_features",
              "umap_dims", "anchor_filter")
FILTERS <- c("ismnn", "seurat")

# ---- input ---------------------------------------------------------------------------------

read_exchange <- function(dir) {
  data <- read_exchange_files(dir, cell_columns = c("cell", "batch", "cluster"),
                              required = REQUIRED)
  if (!data$params$anchor_filter %in% FILTERS) {
    stop("anchor_filter must be one of ", paste(FILTERS, collapse = ", "),
         "; got ", data$params$anchor_filter)
  }
  data
}

# ---- preprocessing and cluster matching ------------------------------------------------------

# Per-batch objects: exchange log-normalised data, vst features, integration features, ScaleData.
prepare_batches <- function(data) {
  p <- data$params
  obj <- CreateSeuratObject(counts = data$counts, project = "ismnn", min.cells = 0,
                            min.features = 0)
  obj <- SetAssayData(obj, slot = "data", new.data = data$logcounts)
  obj$batch_id <- data$cells$batch
  batches <- SplitObject(obj, split.by = "batch_id")
  n_vst <- min(p$vst_features, nrow(obj))
  batches <- lapply(batches, FindVariableFeatures, selection.method = "vst",
                    nfeatures = n_vst, verbose = FALSE)
  features <- SelectIntegrationFeatures(batches, nfeatures = p$anchor_features, verbose = FALSE)
  batches <- lapply(batches, ScaleData, features = features, verbose = FALSE)
  log_line(sprintf("%d cells, %d genes, %d batches (%s); %d integration features",
                   ncol(obj), nrow(obj), length(batches),
                   paste(sprintf("%s: %d", names(batches), vapply(batches, ncol, 1L)),
                         collapse = ", "),
                   length(features)))
  list(batches = batches, features = features)
}

# Smallest cluster size an anchor search can run on (the package crashes below it).
search_minimum <- function(p) {
  k <- max(p$k_anchor, p$k_score)
  max(k + 1, if (p$anchor_filter == "ismnn") p$k_filter else 0)
}

# Clusters present in every batch with at least `minimum` cells; the others are logged.
match_clusters <- function(cluster, batch, minimum) {
  counts <- table(factor(cluster), factor(batch, levels = unique(batch)))
  matched <- character()
  dropped <- character()
  for (label in rownames(counts)) {
    row <- counts[label, ]
    if (all(row >= minimum)) {
      matched <- c(matched, label)
      next
    }
    dropped <- c(dropped, label)
    absent <- names(row)[row == 0]
    small <- names(row)[row > 0 & row < minimum]
    why <- c(if (length(absent)) paste0("absent from ", paste(absent, collapse = ", ")),
             if (length(small)) paste0("only ", paste(sprintf("%d in %s", row[small], small),
                                                     collapse = ", ")))
    log_line(sprintf("cluster '%s' not matched (needs >= %d cells in every batch): %s",
                     label, minimum, paste(why, collapse = "; ")))
  }
  list(matched = matched, dropped = dropped)
}

# ---- anchors within matched clusters ---------------------------------------------------------

knn <- function(data, query, k) {
  RANN::nn2(data = data, query = query, k = k, searchtype = "standard", eps = 0)$nn.idx
}

l2_rows <- function(x) {
  out <- x / sqrt(rowSums(x^2))
  out[!is.finite(out)] <- 0
  out
}

# Mutual pairs among the first k.anchor cross neighbours, in the package's order: by cell1,
# then by the rank of cell1 in cell2's list, then by the rank of cell2 in cell1's list.
mutual_pairs <- function(nnab, nnba, k_anchor) {
  n1 <- nrow(nnab)
  cell1 <- rep(seq_len(n1), times = k_anchor)
  cell2 <- as.vector(nnab[, seq_len(k_anchor), drop = FALSE])
  back <- nnba[cell2, seq_len(k_anchor), drop = FALSE]
  hit <- back == cell1
  mutual <- rowSums(hit) > 0
  rank_back <- max.col(hit, ties.method = "first")
  rank_ab <- rep(seq_len(k_anchor), each = n1)
  keep <- which(mutual)
  keep <- keep[order(cell1[keep], rank_back[keep], rank_ab[keep])]
  cbind(cell1 = cell1[keep], cell2 = cell2[keep])
}

# Shared neighbours of the two cells of each pair, rescaled by the 1% and 90% quantiles.
score_pairs <- function(pairs, nn, k_score, n1) {
  ks <- seq_len(k_score)
  raw <- vapply(seq_len(nrow(pairs)), function(r) {
    a <- pairs[r, 1]
    b <- pairs[r, 2]
    length(intersect(c(nn$aa[a, ks], nn$ab[a, ks] + n1), c(nn$ba[b, ks], nn$bb[b, ks] + n1)))
  }, numeric(1))
  top <- quantile(raw, 0.9)
  bottom <- quantile(raw, 0.01)
  if (top == bottom) {
    log_line(sprintf("all %d anchor scores equal (%g): every anchor gets score 1", length(raw),
                     top))
    return(rep(1, length(raw)))
  }
  pmin(pmax((raw - bottom) / (top - bottom), 0), 1)
}

# Anchor filter; `expr1`, `expr2` are cells x features (only read by the "seurat" filter).
filter_pairs <- function(pairs, n2, p, expr1 = NULL, expr2 = NULL) {
  if (p$anchor_filter == "ismnn") {
    return(pairs[pairs[, 2] > n2 - p$k_filter, , drop = FALSE])
  }
  if (min(nrow(expr1), nrow(expr2)) < p$k_filter) return(pairs)
  nn <- knn(l2_rows(expr2), l2_rows(expr1), p$k_filter)
  keep <- vapply(seq_len(nrow(pairs)), function(r) any(nn[pairs[r, 1], ] == pairs[r, 2]),
                 logical(1))
  pairs[keep, , drop = FALSE]
}

# Anchors of one matched cluster between batches i and j; indices within the two subsets.
cluster_anchors <- function(emb1, emb2, p, expr1, expr2) {
  k <- max(p$k_anchor, p$k_score)
  nn <- list(aa = knn(emb1, emb1, k + 1), bb = knn(emb2, emb2, k + 1),
             ab = knn(emb2, emb1, k), ba = knn(emb1, emb2, k))
  pairs <- mutual_pairs(nn$ab, nn$ba, p$k_anchor)
  found <- nrow(pairs)
  pairs <- filter_pairs(pairs, nrow(emb2), p, expr1, expr2)
  score <- if (nrow(pairs)) score_pairs(pairs, nn, p$k_score, nrow(emb1)) else numeric()
  list(anchors = cbind(pairs, score = score), found = found)
}

# Features with non-zero variance in both scaled matrices (Seurat's CheckFeatures).
varying_features <- function(features, scaled1, scaled2) {
  var_ok <- function(m) apply(m[features, , drop = FALSE], 1, var) > 0
  features[var_ok(scaled1) & var_ok(scaled2)]
}

# Top CCA-loading features (Seurat's TopDimFeatures, 100 features per dimension).
top_dim_features <- function(reduction, dims, max_features) {
  max_features <- max(length(dims) * 2, max_features)
  top <- function(n) {
    unique(as.vector(unlist(lapply(dims, function(d) {
      unlist(TopFeatures(reduction, dim = d, nfeatures = n, balanced = TRUE, projected = FALSE))
    }))))
  }
  sizes <- vapply(seq_len(100), function(n) length(top(n)), integer(1))
  top(which.max(sizes[sizes < max_features]))
}

# CCA of one batch pair on `features`: L2-normalised canonical vectors and, for the
# "seurat" filter, the top-loading features.
pair_cca <- function(b1, b2, features, p) {
  features <- varying_features(features, b1$scaled, b2$scaled)
  x1 <- as.matrix(b1$scaled[features, , drop = FALSE])
  x2 <- as.matrix(b2$scaled[features, , drop = FALSE])
  cca <- RunCCA(object1 = x1, object2 = x2, standardize = TRUE, num.cc = max(p$dims),
                seed.use = p$seed)
  top <- NULL
  if (p$anchor_filter == "seurat") {
    loadings <- cbind(x1, x2) %*% cca$ccv
    reduction <- CreateDimReducObject(embeddings = cca$ccv, loadings = loadings, key = "CC_",
                                      assay = "RNA")
    top <- top_dim_features(reduction, p$dims, p$max_features)
  }
  list(emb = l2_rows(cca$ccv)[, p$dims, drop = FALSE], top = top)
}

# Batch pairs (i < j) in the order of Seurat's and the package's anchor search,
# expand.grid's: j outer, i inner -- (1,2), (1,3), (2,3), (1,4), ... The order of the anchor
# table's rows changes IntegrateData's result (its anchor-weight kNN is order-dependent).
batch_pairs <- function(n) {
  grid <- expand.grid(i = seq_len(n), j = seq_len(n))
  grid[grid$i < grid$j, , drop = FALSE]
}

# Anchors of all batch pairs within the matched clusters, as Seurat's anchor table.
find_anchors <- function(batches, matched, p) {
  sizes <- vapply(batches, function(b) ncol(b$scaled), 1)
  offsets <- c(0, cumsum(sizes))[seq_along(batches)]
  rows <- list()
  found <- 0
  pairs <- batch_pairs(length(batches))
  for (row in seq_len(nrow(pairs))) {
    i <- pairs$i[row]
    j <- pairs$j[row]
    b1 <- batches[[i]]
    b2 <- batches[[j]]
    cca <- pair_cca(b1, b2, rownames(b1$scaled), p)
    pair_found <- 0
    pair_rows <- list()
    for (label in matched) {
      idx1 <- which(b1$cluster == label)
      idx2 <- which(b2$cluster == label)
      expr1 <- expr2 <- NULL
      if (!is.null(cca$top)) {
        expr1 <- t(as.matrix(b1$data[cca$top, idx1, drop = FALSE]))
        expr2 <- t(as.matrix(b2$data[cca$top, idx2, drop = FALSE]))
      }
      res <- cluster_anchors(cca$emb[colnames(b1$scaled)[idx1], , drop = FALSE],
                             cca$emb[colnames(b2$scaled)[idx2], , drop = FALSE], p,
                             expr1, expr2)
      pair_found <- pair_found + res$found
      a <- res$anchors
      pair_rows[[label]] <- cbind(idx1[a[, 1]] + offsets[i], idx2[a[, 2]] + offsets[j],
                                  a[, 3])
    }
    pair_table <- do.call(rbind, pair_rows)
    log_line(sprintf("  %s - %s: %d MNN pairs in %d matched clusters, %d kept by the %s filter",
                     names(batches)[i], names(batches)[j], pair_found, length(matched),
                     nrow(pair_table), p$anchor_filter))
    found <- found + pair_found
    rows[[length(rows) + 1]] <- pair_table
  }
  anchors <- do.call(rbind, rows)
  anchors <- rbind(anchors, anchors[, c(2, 1, 3), drop = FALSE])
  dataset <- rep(seq_along(batches), times = sizes)
  table <- data.frame(cell1 = anchors[, 1] - offsets[dataset[anchors[, 1]]],
                      cell2 = anchors[, 2] - offsets[dataset[anchors[, 2]]],
                      score = anchors[, 3],
                      dataset1 = dataset[anchors[, 1]],
                      dataset2 = dataset[anchors[, 2]])
  list(table = table, found = found, kept = nrow(table) / 2)
}

# ---- integration, embedding, F statistic ----------------------------------------------------

# Batches that no anchor connects to the others (IntegrateData cannot merge them).
unconnected_batches <- function(table, n_batches) {
  reached <- 1
  repeat {
    linked <- unique(table$dataset2[table$dataset1 %in% reached])
    grown <- union(reached, linked)
    if (length(grown) == length(reached)) break
    reached <- grown
  }
  setdiff(seq_len(n_batches), reached)
}

# k.weight: the package's rule (half the mirrored anchor count minus one), then at most the
# fewest distinct anchor cells of a query batch in any batch pair (FindWeights' kNN limit).
weight_k <- function(table, p) {
  k <- p$k_weight
  if (nrow(table) / 2 <= k) k <- nrow(table) / 2 - 1
  per_pair <- aggregate(cell2 ~ dataset1 + dataset2, data = table,
                        FUN = function(x) length(unique(x)))
  limit <- min(per_pair$cell2)
  if (k > limit) {
    log_line(sprintf("k.weight %g lowered to %d: a batch pair has only %d distinct anchor cells",
                     k, limit, limit))
    k <- limit
  }
  max(1, floor(k))
}

integrate_round <- function(objects, features, table, p) {
  command <- new("SeuratCommand", name = "iSMNN", time.stamp = Sys.time(), assay.used = "RNA",
                 call.string = "ismnn_integrate.R", params = list())
  offsets <- c(0, cumsum(vapply(objects, ncol, 1L)))[seq_along(objects)]
  anchorset <- new("IntegrationAnchorSet", object.list = objects,
                   reference.objects = seq_along(objects), anchors = table, offsets = offsets,
                   anchor.features = features, command = command)
  k_weight <- weight_k(table, p)
  combined <- IntegrateData(anchorset = anchorset, dims = p$dims, k.weight = k_weight,
                            sd.weight = p$sd_weight, verbose = FALSE)
  DefaultAssay(combined) <- "integrated"
  combined <- ScaleData(combined, verbose = FALSE)
  combined <- RunPCA(combined, npcs = p$npcs, seed.use = p$seed, verbose = FALSE)
  combined <- RunUMAP(combined, reduction = "pca", dims = seq_len(p$umap_dims),
                      seed.use = p$seed, verbose = FALSE)
  list(object = combined, k_weight = k_weight)
}

# Pillai approx-F of the batch term in manova(y ~ cluster + batch) (sequential sums of squares).
pillai_f <- function(y, cluster, batch) {
  frame <- data.frame(cluster = factor(cluster), batch = factor(batch))
  fit <- if (nlevels(frame$cluster) > 1) {
    manova(y ~ cluster + batch, data = frame)
  } else {
    manova(y ~ batch, data = frame)
  }
  unname(summary(fit, test = "Pillai")$stats["batch", "approx F"])
}

# The stop rule's statistic: pillai_f on the UMAP of the matched clusters' cells.
batch_f <- function(object, cluster, matched) {
  labels <- cluster[colnames(object)]
  keep <- labels %in% matched
  pillai_f(Embeddings(object, "umap")[keep, , drop = FALSE], labels[keep],
           object$batch_id[keep])
}

# Per-batch matrices of the anchor search.
search_input <- function(batches, cluster, assay, source = NULL) {
  lapply(batches, function(b) {
    cells <- colnames(b)
    if (is.null(source)) {
      scaled <- GetAssayData(b, assay = assay, slot = "scale.data")
      data <- GetAssayData(b, assay = assay, slot = "data")[rownames(scaled), , drop = FALSE]
    } else {
      scaled <- GetAssayData(source, assay = assay, slot = "scale.data")[, cells, drop = FALSE]
      data <- GetAssayData(source, assay = assay, slot = "data")[rownames(scaled), cells,
                                                                 drop = FALSE]
    }
    list(scaled = scaled, data = data, cluster = unname(cluster[cells]))
  })
}

# ---- main loop -------------------------------------------------------------------------------

clamp_params <- function(p, batches) {
  smallest <- min(vapply(batches, ncol, 1L))
  if (max(p$dims) >= smallest) {
    log_line(sprintf("dims 1:%d needs more cells than the smallest batch (%d); using 1:%d",
                     max(p$dims), smallest, smallest - 1))
    p$dims <- seq_len(smallest - 1)
  }
  if (p$umap_dims > p$npcs) p$umap_dims <- p$npcs
  p
}

# The anchor table of a round with cell and batch names (the exchange folder keeps it).
write_anchors <- function(table, batches, round, dir) {
  names_of <- lapply(batches, colnames)
  cell_name <- function(dataset, index) {
    vapply(seq_along(index), function(r) names_of[[dataset[r]]][index[r]], character(1))
  }
  out <- data.frame(cell1 = cell_name(table$dataset1, table$cell1),
                    cell2 = cell_name(table$dataset2, table$cell2), score = table$score,
                    batch1 = names(batches)[table$dataset1],
                    batch2 = names(batches)[table$dataset2])
  write.csv(out, file.path(dir, sprintf("anchors_round%d.csv", round)), row.names = FALSE)
}

run_ismnn <- function(data, dir) {
  p <- data$params
  set.seed(p$seed)
  p$dims <- seq_len(p$dims)
  prepared <- prepare_batches(data)
  batches <- prepared$batches
  p <- clamp_params(p, batches)
  cluster <- setNames(data$cells$cluster, data$cells$cell)
  minimum <- max(search_minimum(p), if (is.null(p$min_cells)) p$k_weight else p$min_cells)
  matching <- match_clusters(data$cells$cluster, data$cells$batch, minimum)
  if (!length(matching$matched)) {
    stop(sprintf("no cluster has >= %d cells in every batch; nothing to anchor on", minimum))
  }
  log_line(sprintf("%d matched clusters (>= %d cells in every batch): %s",
                   length(matching$matched), minimum,
                   paste(matching$matched, collapse = ", ")))

  history <- list()
  best <- NULL
  best_f <- Inf
  for (round in seq_len(p$iterations)) {
    log_line(sprintf("round %d: anchors within matched clusters (%s data)", round,
                     if (round == 1) "per-batch" else "corrected"))
    input <- if (round == 1) {
      search_input(batches, cluster, "RNA")
    } else {
      search_input(batches, cluster, "integrated", best)
    }
    anchors <- find_anchors(input, matching$matched, p)
    write_anchors(anchors$table, batches, round, dir)
    lonely <- unconnected_batches(anchors$table, length(batches))
    if (anchors$kept == 0 || length(lonely)) {
      why <- sprintf("round %d: anchors leave batch(es) %s unconnected", round,
                     paste(names(batches)[lonely], collapse = ", "))
      if (round == 1) stop(why)
      log_line(why, "; stopping, round rejected")
      history[[round]] <- list(round = round, found = anchors$found, kept = anchors$kept,
                               k_weight = 0, f = NA_real_, accepted = FALSE)
      break
    }
    result <- integrate_round(batches, prepared$features, anchors$table, p)
    f <- batch_f(result$object, cluster, matching$matched)
    accepted <- f <= best_f
    log_line(sprintf("round %d: %d anchors (of %d MNN pairs), k.weight %d, F(batch) = %.4f%s",
                     round, anchors$kept, anchors$found, result$k_weight, f,
                     if (accepted) "" else sprintf(" > %.4f: round rejected, stopping", best_f)))
    history[[round]] <- list(round = round, found = anchors$found, kept = anchors$kept,
                             k_weight = result$k_weight, f = f, accepted = accepted)
    if (!accepted) break
    best <- result$object
    best_f <- f
  }
  list(object = best, history = history, matching = matching, minimum = minimum, p = p)
}

# ---- output ----------------------------------------------------------------------------------

write_atomic <- function(write, dir, name) {
  tmp <- file.path(dir, paste0(".", name, ".tmp"))
  write(tmp)
  if (!file.rename(tmp, file.path(dir, name))) stop("cannot rename ", tmp)
}

write_outputs <- function(run, cells, dir) {
  emb <- Embeddings(run$object, "pca")[cells, , drop = FALSE]
  write_atomic(function(path) {
    write.csv(data.frame(cell = rownames(emb), emb, check.names = FALSE), path, row.names = FALSE)
  }, dir, "embedding.csv")
  column <- function(name) I(vapply(run$history, function(h) as.numeric(h[[name]]), numeric(1)))
  accepted <- vapply(run$history, function(h) h$accepted, logical(1))
  f <- column("f")
  stats <- list(
    rounds_computed = length(run$history),
    rounds_accepted = sum(accepted),
    round = column("round"),
    anchors = column("kept"),
    anchors_found = column("found"),
    k_weight = column("k_weight"),
    f_batch = f,
    accepted = I(accepted),
    anchor_filter = run$p$anchor_filter,
    min_cells = run$minimum,
    matched_clusters = I(run$matching$matched),
    dropped_clusters = I(run$matching$dropped),
    dims = max(run$p$dims),
    seurat_version = as.character(packageVersion("Seurat"))
  )
  write_atomic(function(path) {
    writeLines(toJSON(list(ismnn = stats), auto_unbox = TRUE, digits = NA, na = "null"), path)
  }, dir, "uns.json")
  emb
}

main <- function() {
  args <- commandArgs(trailingOnly = TRUE)
  if (length(args) != 1) stop("usage: Rscript ismnn_integrate.R EXCHANGE_DIR")
  dir <- args[[1]]
  log_line("Seurat ", as.character(packageVersion("Seurat")), ", reading ", dir)
  data <- read_exchange(dir)
  run <- run_ismnn(data, dir)
  emb <- write_outputs(run, data$cells$cell, dir)
  log_line(sprintf("wrote a %d x %d embedding: %d round(s) accepted of %d computed",
                   nrow(emb), ncol(emb), sum(vapply(run$history, `[[`, TRUE, "accepted")),
                   length(run$history)))
}

# Run as a script; source() only defines the functions (the tests check them against Seurat's).
if (sys.nframe() == 0L) main()
